// Server-sent events read from a fetch body. EventSource cannot send `Authorization`, and the
// API's session is a bearer token kept in memory (never a cookie), so the twin's event stream is
// fetched like any other call. The `text/event-stream` framing (the HTML standard's "event stream
// interpretation", §9.2.6: CRLF/LF/CR line ends, `:` comments, `field: value`, `data` lines
// joined by LF, an empty line dispatching, unknown fields and an `id` with NUL ignored, an event
// not ended by an empty line dropped) is parsed by `eventsource-parser`; this file only adapts it:
//
// - bytes are decoded here, streaming (`TextDecoder` with `stream: true`), so a UTF-8 character
//   split between chunks is decoded whole; the decoder also drops a byte-order mark at the very
//   start of the stream, and only there;
// - the library leaves `event` undefined when none was given (the type is then `message`) and
//   gives each event only its own `id:`, so the last id seen is carried across events here (an
//   `id:` in a block without `data:` dispatches nothing, so it is not seen);
// - the library holds back a CR that ends a chunk until it sees whether an LF follows (one CRLF,
//   not two line ends); when the stream ends on that CR, it is a line end, so `end()` completes it.
//
// `retry` and unknown fields are ignored: reconnecting is the caller's own backoff (`follow.ts`).
import { createParser, type EventSourceParser } from 'eventsource-parser';

export interface SseEvent {
  /** `event:`, or `message` when none was given. */
  type: string;
  /** The `data:` lines joined by LF. */
  data: string;
  /** The last event id seen on this stream (`id:`), empty when none. */
  id: string;
}

/** One stream's parser: decoded text in, the events it completed out. */
export class SseParser {
  private readonly parser: EventSourceParser;
  private ready: SseEvent[] = [];
  private lastId = '';
  private endsInCR = false;
  /** Comment lines seen (keep-alives). */
  comments = 0;

  constructor() {
    this.parser = createParser({
      onEvent: (e) => {
        if (e.id !== undefined) this.lastId = e.id;
        this.ready.push({ type: e.event ?? 'message', data: e.data, id: this.lastId });
      },
      onComment: () => {
        this.comments++;
      },
    });
  }

  /** Feeds decoded text; returns the events it completed, in order. */
  push(text: string): SseEvent[] {
    if (text.length > 0) {
      this.endsInCR = text.endsWith('\r');
      this.parser.feed(text);
    }
    return this.take();
  }

  /** The stream ended: a CR held back as a possible CRLF's first half was a line end. */
  end(): SseEvent[] {
    return this.endsInCR ? this.push('\n') : [];
  }

  private take(): SseEvent[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }
}

/**
 * Reads `body` to its end, calling `onEvent` for each event and `onChunk` for every chunk
 * (keep-alives included, so a caller can notice it is no longer wanted). Throws what the read
 * throws (a dropped connection, an abort).
 */
export async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (e: SseEvent) => void, onChunk?: () => void): Promise<SseParser> {
  const parser = new SseParser();
  // Streaming decode: a UTF-8 character split across two chunks is decoded whole.
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onChunk?.();
      for (const e of parser.push(decoder.decode(value, { stream: true }))) onEvent(e);
    }
    for (const e of parser.push(decoder.decode())) onEvent(e);
    for (const e of parser.end()) onEvent(e);
    return parser;
  } finally {
    reader.releaseLock();
  }
}
