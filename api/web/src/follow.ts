// Following a stream session's events for as long as the session is open: connect, read, and
// when the connection drops (a proxy, a laptop's sleep, the API restarting) connect again with a
// growing delay, asking the job first whether the session ended meanwhile (then the `closed`
// event was missed and there is nothing left to follow). The network, the job and the clock are
// passed in, so the loop is unit-tested with fakes.
import { readEvents, type SseEvent } from './sse';

export type Link =
  | { state: 'connecting' }
  | { state: 'live' }
  | { state: 'retrying'; inMs: number; why: string };

export interface FollowDeps {
  /** Opens the event stream; throws (e.g. 409 while the session is not open yet). */
  connect(signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /** The job's state now (`running` while the session is open). */
  jobState(): Promise<string>;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  onEvent(e: SseEvent): void;
  onLink(l: Link): void;
}

export const FIRST_RETRY_MS = 500;
export const MAX_RETRY_MS = 15_000;

/** Job states in which the session may still (or soon) be open. */
const BEFORE_END = new Set(['queued', 'requesting', 'granted', 'running']);

/**
 * Follows until the `closed` event (`closed`), the job shows the session ended without one
 * (`ended`), or `signal` aborts (`aborted`).
 */
export async function follow(deps: FollowDeps, signal: AbortSignal): Promise<'closed' | 'ended' | 'aborted'> {
  let delay = FIRST_RETRY_MS;
  for (;;) {
    if (signal.aborted) return 'aborted';
    let closed = false;
    let why: string;
    try {
      deps.onLink({ state: 'connecting' });
      const body = await deps.connect(signal);
      deps.onLink({ state: 'live' });
      await readEvents(body, (e) => {
        // The connection delivered: the next drop starts the backoff afresh.
        delay = FIRST_RETRY_MS;
        if (e.type === 'closed') closed = true;
        deps.onEvent(e);
      });
      if (closed) return 'closed';
      why = 'the event stream ended';
    } catch (e) {
      if (signal.aborted) return 'aborted';
      if (closed) return 'closed';
      why = e instanceof Error ? e.message : String(e);
    }
    try {
      if (!BEFORE_END.has(await deps.jobState())) return 'ended';
    } catch {
      // The API is unreachable too: keep trying, as for the stream.
    }
    if (signal.aborted) return 'aborted';
    deps.onLink({ state: 'retrying', inMs: delay, why });
    await deps.sleep(delay, signal);
    delay = Math.min(MAX_RETRY_MS, delay * 2);
  }
}

/** `setTimeout` as a promise that settles early when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // An abort before the listener is added would never fire it.
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
