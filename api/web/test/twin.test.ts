// The page's twin (src/twin.ts): states in the worker's shape (stream/mod.rs `Session::state`,
// stream/twin.rs `Twin::view`), reconnects that repeat a state, the series the charts draw.
import { describe, expect, it } from 'vitest';
import { applyEvent, empty, newAlerts, readingText, timeAxis, type Live, type Reading } from '../src/twin';
import type { SseEvent } from '../src/sse';

const T0 = 1_765_051_200_000;

function state(version: number, latest: Record<string, Reading>, extra: { open?: boolean; alerts?: unknown[]; ended?: unknown } = {}) {
  return {
    job: 'job-1',
    open: extra.open ?? true,
    ended: extra.ended ?? null,
    version,
    updated_ms: T0 + version * 1000,
    twin: {
      samples: version,
      last_seq: version || null,
      latest,
      news2: { parameters: { pulse: 0 }, partial_score: 0, single_parameter_3: false, alerting: false },
      prediction: null,
      alerts: extra.alerts ?? [],
    },
    model_error: null,
  };
}
const ev = (type: string, s: unknown): SseEvent => ({ type, id: String((s as { version: number }).version), data: JSON.stringify(s) });
const hr = (seq: number, value: number, dt = seq * 1000): Reading => ({ value, t_ms: T0 + dt, seq });

describe('live twin state', () => {
  it('adds each new reading to its kind’s series, once', () => {
    let live: Live = empty();
    live = applyEvent(live, ev('twin', state(0, {})));
    expect(live.state?.open).toBe(true);
    live = applyEvent(live, ev('twin', state(1, { heart_rate: hr(1, 72) })));
    live = applyEvent(live, ev('twin', state(2, { heart_rate: hr(1, 72), spo2: { value: 97, t_ms: T0 + 1500, seq: 2 } })));
    live = applyEvent(live, ev('twin', state(3, { heart_rate: hr(3, 120), spo2: { value: 97, t_ms: T0 + 1500, seq: 2 }, blood_pressure: { systolic: 121, diastolic: 79, t_ms: T0 + 3000, seq: 4 } })));
    expect(live.series.heart_rate.map((p) => [p.seq, p.value])).toEqual([[1, 72], [3, 120]]);
    expect(live.series.spo2).toHaveLength(1);
    expect(live.series.blood_pressure).toEqual([{ t_ms: T0 + 3000, seq: 4, value: 121, diastolic: 79 }]);
    expect(live.state?.version).toBe(3);
  });

  it('a reconnect’s first state (the state now, again) changes nothing; an older one is dropped', () => {
    let live = applyEvent(empty(), ev('twin', state(2, { heart_rate: hr(2, 80) })));
    const again = applyEvent(live, ev('twin', state(2, { heart_rate: hr(2, 80) })));
    expect(again.series).toEqual(live.series);
    live = applyEvent(live, ev('twin', state(3, { heart_rate: hr(3, 81) })));
    expect(applyEvent(live, ev('twin', state(2, { heart_rate: hr(2, 80) })))).toBe(live);
  });

  it('`closed` ends it for good, with why; a later open state does not reopen it', () => {
    let live = applyEvent(empty(), ev('twin', state(1, { heart_rate: hr(1, 70) })));
    live = applyEvent(live, ev('closed', state(1, { heart_rate: hr(1, 70) }, { open: false, ended: { reason: 'closed', detail: null, at_block: null } })));
    expect(live.state?.open).toBe(false);
    expect(live.state?.ended?.reason).toBe('closed');
    expect(applyEvent(live, ev('twin', state(1, { heart_rate: hr(1, 70) })))).toBe(live);
  });

  it('ignores other event types and refuses what is not a session state', () => {
    const live = applyEvent(empty(), ev('twin', state(1, {})));
    expect(applyEvent(live, { type: 'message', id: '', data: 'hello' })).toBe(live);
    expect(() => applyEvent(live, { type: 'twin', id: '2', data: '{"version":2' })).toThrow(/not JSON/);
    expect(() => applyEvent(live, { type: 'twin', id: '2', data: '{"version":2,"open":true}' })).toThrow(/not a session state/);
  });

  it('reports the alerts a state adds', () => {
    const a = { seq: 4, t_ms: T0 + 4000, kind: 'news2', value: 3, threshold: 5 };
    const b = { seq: 5, t_ms: T0 + 5000, kind: 'hypoglycaemia', value: 62, threshold: 70 };
    const one = applyEvent(empty(), ev('twin', state(4, {}, { alerts: [a] })));
    const two = applyEvent(one, ev('twin', state(5, {}, { alerts: [a, b] })));
    expect(newAlerts(empty(), one)).toEqual([a]);
    expect(newAlerts(one, two)).toEqual([b]);
    expect(newAlerts(two, two)).toEqual([]);
  });

  it('draws time since the first reading in seconds, minutes or hours', () => {
    const pts = (dts: number[]) => dts.map((dt, i) => ({ t_ms: T0 + dt, seq: i, value: 1 }));
    expect(timeAxis(pts([0, 1000, 30_000]))).toEqual({ xs: [0, 1, 30], unit: 's' });
    expect(timeAxis(pts([0, 60_000, 600_000]))).toEqual({ xs: [0, 1, 10], unit: 'min' });
    expect(timeAxis(pts([0, 3 * 3_600_000]))).toEqual({ xs: [0, 3], unit: 'h' });
  });

  it('writes readings with the kind’s unit, and none for glucose (the state does not say)', () => {
    expect(readingText('heart_rate', { value: 72 })).toBe('72 /min');
    expect(readingText('blood_pressure', { systolic: 121, diastolic: 79 })).toBe('121/79 mm Hg');
    expect(readingText('glucose', { value: 62 })).toBe('62');
  });
});
