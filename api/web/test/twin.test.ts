// The page's twin (src/twin.ts): states in the worker's shape (stream/mod.rs `Session::state`,
// stream/twin.rs `Twin::view`), reconnects that repeat a state, the series the charts draw.
import { describe, expect, it } from 'vitest';
import { addSamples, applyEvent, chartValues, empty, MAX_POINTS, newAlerts, readingText, timeAxis, type Live, type Reading } from '../src/twin';
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

  it('writes readings in the unit they were sent in, else the kind’s canonical one', () => {
    expect(readingText('heart_rate', { value: 72 })).toBe('72 /min');
    expect(readingText('blood_pressure', { systolic: 121, diastolic: 79, unit: 'mm[Hg]' })).toBe('121/79 mm Hg');
    expect(readingText('glucose', { value: 5.5, unit: 'mmol/L' })).toBe('5.5 mmol/L');
    expect(readingText('glucose', { value: 62, unit: 'mg/dL' })).toBe('62 mg/dL');
  });
});

// The worker's protocol (stream/sample.rs): what GET /v1/jobs/{id}/samples lists.
const P = 'ab'.repeat(32);
const sample = (seq: number, dt: number, kind: string, value: number, unit: string) => ({ seq, patient: P, t_ms: T0 + dt, kind, value, unit });

describe('the session’s sample list', () => {
  it('draws every accepted sample, including those no state showed as latest', () => {
    // Three heart rates in one batch: the state shows only the last.
    let live = applyEvent(empty(), ev('twin', state(4, { heart_rate: hr(3, 90, 3000), spo2: { value: 97, unit: '%', t_ms: T0 + 500, seq: 4 } })));
    expect(live.series.heart_rate.map((p) => p.seq)).toEqual([3]);
    live = addSamples(live, { from: 0, samples: [sample(1, 1000, 'heart_rate', 70, '/min'), sample(2, 2000, 'heart_rate', 80, '/min'), sample(3, 3000, 'heart_rate', 90, '/min'), sample(4, 500, 'spo2', 97, '%')] });
    expect(live.fetched).toBe(4);
    expect(live.series.heart_rate.map((p) => [p.seq, p.value])).toEqual([[1, 70], [2, 80], [3, 90]]);
    expect(live.series.spo2).toEqual([{ t_ms: T0 + 500, seq: 4, value: 97, unit: '%' }]);
    // The next page from where this one ended; a repeated page changes nothing.
    const next = { from: 4, samples: [sample(5, 4000, 'heart_rate', 100, '/min')] };
    live = addSamples(live, next);
    expect(live.series.heart_rate.map((p) => p.seq)).toEqual([1, 2, 3, 5]);
    expect(addSamples(live, next).series).toEqual(live.series);
    // A later state showing sample 5 as latest does not draw it twice.
    live = applyEvent(live, ev('twin', state(5, { heart_rate: hr(5, 100, 4000) })));
    expect(live.series.heart_rate).toHaveLength(4);
  });

  it('ignores a page that would leave a gap, and what is not a sample', () => {
    const live = addSamples(empty(), { from: 0, samples: [sample(1, 0, 'heart_rate', 70, '/min')] });
    expect(addSamples(live, { from: 3, samples: [sample(9, 9000, 'heart_rate', 99, '/min')] })).toBe(live);
    const odd = addSamples(live, { from: 1, samples: [null, 'x', { kind: 'spo2', seq: 2, t_ms: T0 }, sample(3, 2000, 'spo2', 98, '%')] });
    expect(odd.fetched).toBe(5);
    expect(odd.series.spo2.map((p) => p.seq)).toEqual([3]);
  });

  it('keeps the newest readings of a long session', () => {
    const samples = Array.from({ length: MAX_POINTS + 10 }, (_, i) => sample(i + 1, i * 1000, 'heart_rate', 60 + (i % 40), '/min'));
    const live = addSamples(empty(), { from: 0, samples });
    expect(live.series.heart_rate).toHaveLength(MAX_POINTS);
    expect(live.series.heart_rate[0].seq).toBe(11);
  });

  it('charts a kind in its one unit, or converts to the canonical one when a device changed units', () => {
    const mgdl = addSamples(empty(), { from: 0, samples: [sample(1, 0, 'glucose', 90, 'mg/dL'), sample(2, 1000, 'glucose', 100, 'mg/dL')] });
    expect(chartValues('glucose', mgdl.series.glucose)).toEqual({ unit: 'mg/dL', values: [90, 100] });
    const mmol = addSamples(empty(), { from: 0, samples: [sample(1, 0, 'glucose', 5, 'mmol/L')] });
    expect(chartValues('glucose', mmol.series.glucose)).toEqual({ unit: 'mmol/L', values: [5] });
    const mixed = addSamples(mgdl, { from: 2, samples: [sample(3, 2000, 'glucose', 5, 'mmol/L')] });
    const c = chartValues('glucose', mixed.series.glucose);
    expect(c.unit).toBe('mg/dL');
    // 1 mmol/L of glucose (180.16 g/mol) is 18.016 mg/dL.
    expect(c.values.slice(0, 2)).toEqual([90, 100]);
    expect(c.values[2]).toBeCloseTo(90.08, 9);
  });
});
