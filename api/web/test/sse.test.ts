// The event-stream adapter (src/sse.ts, over `eventsource-parser`) against the HTML standard's
// framing rules, and on the bytes the worker's axum server writes (relayed unchanged by the API).
// Each case goes through the adapter as the app uses it: decoded text pushed chunk by chunk and
// the stream's end, and (`everySplit`) bytes read from a real ReadableStream by `readEvents`.
import { describe, expect, it } from 'vitest';
import { readEvents, SseParser, type SseEvent } from '../src/sse';

/** Decoded text in `chunks`, then the end of the stream. */
const all = (chunks: string[]) => {
  const p = new SseParser();
  return [...chunks.flatMap((c) => p.push(c)), ...p.end()];
};

function bytes(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const x of chunks) c.enqueue(typeof x === 'string' ? enc.encode(x) : x);
      c.close();
    },
  });
}

/** `readEvents` over `chunks` of bytes. */
async function read(chunks: (string | Uint8Array)[]): Promise<SseEvent[]> {
  const got: SseEvent[] = [];
  await readEvents(bytes(chunks), (e) => got.push(e));
  return got;
}

/**
 * Every way of cutting `text` in two, as decoded text and as bytes read from a stream (a cut
 * inside a UTF-8 character included), must give the same events as the whole.
 */
async function everySplit(text: string): Promise<SseEvent[]> {
  const whole = all([text]);
  for (let i = 1; i < text.length; i++) expect(all([text.slice(0, i), text.slice(i)]), `text split at ${i}`).toEqual(whole);
  const enc = new TextEncoder().encode(text);
  expect(await read([enc]), 'bytes whole').toEqual(whole);
  for (let i = 1; i < enc.length; i++) expect(await read([enc.slice(0, i), enc.slice(i)]), `byte split at ${i}`).toEqual(whole);
  return whole;
}

/** What axum's `Event::default().event(..).id(..).json_data(..)` writes, and its keep-alive. */
const axum = (type: string, id: number, data: unknown) => `event: ${type}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
const KEEP_ALIVE = ':\n\n';

describe('SSE adapter over eventsource-parser', () => {
  it('reads the worker’s events: type, id, JSON data; keep-alive comments are skipped and counted', async () => {
    const text = KEEP_ALIVE + axum('twin', 1, { version: 1, note: 'SpO₂ — 97 %' }) + KEEP_ALIVE + axum('closed', 1, { open: false });
    const evs = await everySplit(text);
    expect(evs).toEqual([
      { type: 'twin', id: '1', data: '{"version":1,"note":"SpO₂ — 97 %"}' },
      { type: 'closed', id: '1', data: '{"open":false}' },
    ]);
    const p = new SseParser();
    p.push(text);
    expect(p.comments).toBe(2);
  });

  it('joins multi-line data with LF and keeps an empty data line', async () => {
    expect(await everySplit('data: first\ndata:second\ndata\ndata:  two spaces\n\n')).toEqual([{ type: 'message', id: '', data: 'first\nsecond\n\n two spaces' }]);
    expect(all(['data:\n\n'])).toEqual([{ type: 'message', id: '', data: '' }]);
  });

  it('takes CRLF, CR and LF line ends, a CRLF split between chunks being one line end', async () => {
    const crlf = await everySplit('event: twin\r\ndata: a\r\n\r\nevent: twin\rdata: b\r\rdata: c\n\n');
    expect(crlf).toEqual([
      { type: 'twin', id: '', data: 'a' },
      { type: 'twin', id: '', data: 'b' },
      { type: 'message', id: '', data: 'c' },
    ]);
    // A CR ending a chunk, its LF starting the next: still one event, not an early dispatch.
    expect(all(['data: x\r', '\ndata: y\r', '\n\r', '\n'])).toEqual([{ type: 'message', id: '', data: 'x\ny' }]);
    // ...and a CR at a chunk's end followed by a chunk without LF is a line end of its own: the
    // event comes once the next chunk shows no LF follows, or the stream ends.
    const p = new SseParser();
    expect([...p.push('data: x\r'), ...p.push('data: y\r'), ...p.push('\r')]).toEqual([]);
    expect(p.push(':\n')).toEqual([{ type: 'message', id: '', data: 'x\ny' }]);
    expect(all(['data: x\r', 'data: y\r', '\r'])).toEqual([{ type: 'message', id: '', data: 'x\ny' }]);
    expect(await read(['data: x\r', 'data: y\r', '\r'])).toEqual([{ type: 'message', id: '', data: 'x\ny' }]);
  });

  it('ignores comments, unknown fields and retry; forgets an event type with no data', async () => {
    expect(await everySplit(': hello\nevent: lonely\n\nfoo: bar\nretry: 10\ndata: d\n\n')).toEqual([{ type: 'message', id: '', data: 'd' }]);
  });

  it('keeps the last id across events; an id with NUL is ignored', async () => {
    expect((await everySplit('id: 7\ndata: a\n\ndata: b\n\nid: 8\u0000\ndata: c\n\nid\ndata: d\n\n')).map((e) => e.id)).toEqual(['7', '7', '7', '']);
  });

  it('a field without a colon has an empty value; only one leading space is dropped', () => {
    expect(all(['event\ndata:no space\n\n'])).toEqual([{ type: 'message', id: '', data: 'no space' }]);
    expect(all(['event:  twin\ndata: x\n\n'])[0].type).toBe(' twin');
  });

  it('drops an event the stream ends in the middle of', async () => {
    expect(all(['data: complete\n\ndata: cut off\n'])).toEqual([{ type: 'message', id: '', data: 'complete' }]);
    expect(await read(['data: complete\n\ndata: cut off\r'])).toEqual([{ type: 'message', id: '', data: 'complete' }]);
  });

  it('strips a byte-order mark at the start of the stream only', async () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
    const enc = new TextEncoder();
    expect(await read([bom, 'data: a\n\n'])).toEqual([{ type: 'message', id: '', data: 'a' }]);
    expect(await read([new Uint8Array([...bom, ...enc.encode('data: a\n\n')])])).toEqual([{ type: 'message', id: '', data: 'a' }]);
    // Later, U+FEFF is part of the line: `\ufeffdata` is an unknown field.
    expect(await read(['data: a\n\n', bom, 'data: b\n\n'])).toEqual([{ type: 'message', id: '', data: 'a' }]);
  });

  it('decodes a UTF-8 character split between chunks, over a real ReadableStream', async () => {
    const text = axum('twin', 3, { note: 'SpO₂ — 97 %' });
    const enc = new TextEncoder().encode(text);
    const cut = enc.indexOf(0xe2) + 1; // inside the em dash's three bytes
    const got: SseEvent[] = [];
    let chunks = 0;
    const parser = await readEvents(bytes([enc.slice(0, cut), enc.slice(cut), KEEP_ALIVE]), (e) => got.push(e), () => chunks++);
    expect(chunks).toBe(3);
    expect(parser.comments).toBe(1);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0].data)).toEqual({ note: 'SpO₂ — 97 %' });
  });

  it('one byte at a time gives the same events', async () => {
    const text = `${KEEP_ALIVE}${axum('twin', 1, { a: 'é' })}\r\n${axum('closed', 1, { b: 1 })}`;
    const enc = new TextEncoder().encode(text);
    const got = await read([...enc].map((b) => new Uint8Array([b])));
    expect(got).toEqual(all([text]));
    expect(got.map((e) => e.type)).toEqual(['twin', 'closed']);
  });

  it('passes a read error through', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(axum('twin', 1, {})));
        c.error(new Error('connection reset'));
      },
    });
    const got: SseEvent[] = [];
    await expect(readEvents(body, (e) => got.push(e))).rejects.toThrow('connection reset');
  });
});
