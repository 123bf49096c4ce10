// The reconnect loop (src/follow.ts) with a scripted network and clock: it waits while the
// session is not open yet, reconnects with a doubling delay after a drop (reset once events
// flow), stops at `closed`, when the job shows the session ended, or when aborted.
import { describe, expect, it } from 'vitest';
import { FIRST_RETRY_MS, follow, MAX_RETRY_MS, sleep, type FollowDeps, type Link } from '../src/follow';
import type { SseEvent } from '../src/sse';

type Attempt = Error | string[];

/** A stream that sends `chunks`, then ends (a drop, unless a `closed` event came). */
function body(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const x of chunks) c.enqueue(enc.encode(x));
      c.close();
    },
  });
}

function script(attempts: Attempt[], states: string[] = []) {
  const sleeps: number[] = [];
  const events: SseEvent[] = [];
  const links: Link[] = [];
  let connects = 0;
  const deps: FollowDeps = {
    async connect() {
      const a = attempts[connects++];
      if (a === undefined) throw new Error('no more scripted connections');
      if (a instanceof Error) throw a;
      return body(a);
    },
    async jobState() {
      return states.shift() ?? 'running';
    },
    async sleep(ms) {
      sleeps.push(ms);
    },
    onEvent: (e) => events.push(e),
    onLink: (l) => links.push(l),
  };
  return { deps, sleeps, events, links, connects: () => connects };
}

const twin = (v: number) => `event: twin\nid: ${v}\ndata: {"version":${v}}\n\n`;
const closed = (v: number) => `event: closed\nid: ${v}\ndata: {"version":${v},"open":false}\n\n`;

describe('following a session', () => {
  it('retries while the session is not open (409), then follows it to `closed`', async () => {
    const notOpen = new Error('the stream session is not open: the job is `running`');
    const s = script([notOpen, notOpen, [twin(0), ':\n\n', twin(1), closed(1)]]);
    expect(await follow(s.deps, new AbortController().signal)).toBe('closed');
    expect(s.sleeps).toEqual([FIRST_RETRY_MS, 2 * FIRST_RETRY_MS]);
    expect(s.events.map((e) => `${e.type}:${e.id}`)).toEqual(['twin:0', 'twin:1', 'closed:1']);
    expect(s.links.filter((l) => l.state === 'retrying')).toHaveLength(2);
    expect(s.links[s.links.length - 1]).toEqual({ state: 'live' });
  });

  it('reconnects after a drop; the delay doubles up to its cap and resets once events flow', async () => {
    const down = new Error('network error');
    const attempts: Attempt[] = [...Array(8).fill(down), [twin(3)], down, [twin(4), closed(4)]];
    const s = script(attempts);
    expect(await follow(s.deps, new AbortController().signal)).toBe('closed');
    const doubling = [500, 1000, 2000, 4000, 8000, MAX_RETRY_MS, MAX_RETRY_MS, MAX_RETRY_MS];
    // After the events of the ninth connection the next drop waits the first delay again.
    expect(s.sleeps).toEqual([...doubling, FIRST_RETRY_MS, 2 * FIRST_RETRY_MS]);
    expect(s.connects()).toBe(11);
    const retry = s.links.find((l) => l.state === 'retrying');
    expect(retry).toEqual({ state: 'retrying', inMs: FIRST_RETRY_MS, why: 'network error' });
  });

  it('a stream that ends without `closed` is a drop', async () => {
    const s = script([[twin(1)], [twin(1), closed(1)]]);
    expect(await follow(s.deps, new AbortController().signal)).toBe('closed');
    expect(s.links.find((l) => l.state === 'retrying')).toMatchObject({ why: 'the event stream ended' });
  });

  it('stops when the job shows the session ended while it was not listening', async () => {
    const s = script([[twin(1)]], ['completing']);
    expect(await follow(s.deps, new AbortController().signal)).toBe('ended');
    expect(s.sleeps).toEqual([]);
  });

  it('keeps trying when the job cannot be read either', async () => {
    const s = script([new Error('down'), [closed(0)]]);
    s.deps.jobState = async () => {
      throw new Error('the API cannot be reached');
    };
    expect(await follow(s.deps, new AbortController().signal)).toBe('closed');
    expect(s.sleeps).toEqual([FIRST_RETRY_MS]);
  });

  it('stops when aborted, also in the middle of a wait', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await follow(script([[twin(1)]]).deps, ac.signal)).toBe('aborted');
    const ac2 = new AbortController();
    const s = script([new Error('down'), new Error('down')]);
    s.deps.sleep = async (ms, signal) => {
      s.sleeps.push(ms);
      setTimeout(() => ac2.abort(), 20);
      await sleep(60_000, signal);
    };
    const t = Date.now();
    expect(await follow(s.deps, ac2.signal)).toBe('aborted');
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(s.sleeps).toEqual([FIRST_RETRY_MS]);
    // And an abort that came first does not wait at all.
    const t2 = Date.now();
    await sleep(60_000, ac2.signal);
    expect(Date.now() - t2).toBeLessThan(1_000);
  });
});
