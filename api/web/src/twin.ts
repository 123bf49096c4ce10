// A stream session's live twin as the page keeps it: the worker's state (each `twin` event
// carries all of it, `closed` the final one) and the series of readings drawn so far, from the
// session's accepted samples (`GET /v1/jobs/{id}/samples`, paged by `from`). Pure, so it is
// unit-tested without a browser. The shapes are the worker's
// (`off-chain-workers/worker/src/stream/mod.rs` `Session::state`, `stream/twin.rs` `Twin::view`);
// the API's document types these routes as `Object`, so they are declared here.
import type { SseEvent } from './sse';

/** The latest reading of one kind: `value`, or `systolic` and `diastolic` for blood pressure. */
export interface Reading {
  value?: number;
  systolic?: number;
  diastolic?: number;
  /** The UCUM unit it was sent in (glucose: `mg/dL` or `mmol/L`). */
  unit?: string;
  t_ms: number;
  seq: number;
}

export interface Alert {
  seq: number;
  t_ms: number;
  /** `news2`, `adr_risk`, `hypoglycaemia` or `hyperglycaemia`. */
  kind: string;
  value: number;
  threshold: number;
}

/** With a model (`--model`) and a drug: the hybrid predictor's probabilities now. */
export interface Prediction {
  drug: string;
  response_probability: number;
  adr_probability: number;
  adr_threshold: number;
  model_version: string;
}

export interface TwinView {
  samples: number;
  last_seq: number | null;
  latest: Record<string, Reading>;
  news2: { parameters: Record<string, number>; partial_score: number; single_parameter_3: boolean; alerting: boolean };
  prediction: Prediction | null;
  alerts: Alert[];
}

export interface SessionState {
  job: string;
  open: boolean;
  /** Why it ended: `closed` (by the client), `idle` or `consent_withdrawn` (`at_block`). */
  ended: { reason: string; detail: string | null; at_block: string | null } | null;
  /** Samples accepted (the event's `id`). */
  version: number;
  updated_ms: number;
  twin: TwinView;
  model_error: string | null;
}

export interface Point {
  t_ms: number;
  seq: number;
  value: number;
  diastolic?: number;
  unit?: string;
}

export interface Live {
  state: SessionState | null;
  /** Readings by kind, oldest first. */
  series: Record<string, Point[]>;
  /** How many of the session's accepted samples (in the order accepted) are in `series`. */
  fetched: number;
}

/** A page of `GET /v1/jobs/{id}/samples?from=`: the accepted samples after the first `from`. */
export interface SamplePage {
  from: number;
  samples: unknown[];
}

/** Points kept per kind: a day of one reading a minute. */
export const MAX_POINTS = 1440;

export const empty = (): Live => ({ state: null, series: {}, fetched: 0 });

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A reading as a chart point, or null when it has no number to draw. */
function pointOf(r: { value?: unknown; systolic?: unknown; diastolic?: unknown; unit?: unknown; t_ms?: unknown; seq?: unknown }): Point | null {
  const value = r.value ?? r.systolic;
  if (!isNum(value) || !isNum(r.t_ms) || !isNum(r.seq)) return null;
  const p: Point = { t_ms: r.t_ms, seq: r.seq, value };
  if (isNum(r.diastolic)) p.diastolic = r.diastolic;
  if (typeof r.unit === 'string') p.unit = r.unit;
  return p;
}

/** `pts` with `p` in measurement order, unless a point with its `seq` is there already. */
function withPoint(pts: Point[], p: Point): Point[] {
  if (pts.some((q) => q.seq === p.seq)) return pts;
  const at = pts.findIndex((q) => q.t_ms > p.t_ms);
  const out = at < 0 ? [...pts, p] : [...pts.slice(0, at), p, ...pts.slice(at)];
  return out.slice(-MAX_POINTS);
}

/**
 * The page's twin with a page of the session's accepted samples merged into its series, so the
 * chart has every reading, not only the ones a state happened to show as latest. Samples already
 * merged are skipped; a page that starts after `fetched` would leave a gap and is ignored.
 */
export function addSamples(live: Live, page: SamplePage): Live {
  if (!isNum(page.from) || !Array.isArray(page.samples) || page.from > live.fetched) return live;
  const series = { ...live.series };
  page.samples.forEach((raw, i) => {
    if (page.from + i < live.fetched || typeof raw !== 'object' || raw === null) return;
    const s = raw as { kind?: unknown };
    const p = pointOf(raw);
    if (typeof s.kind !== 'string' || !p) return;
    series[s.kind] = withPoint(series[s.kind] ?? [], p);
  });
  return { ...live, series, fetched: Math.max(live.fetched, page.from + page.samples.length) };
}

function parseState(data: string): SessionState {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    throw new Error('the twin event is not JSON');
  }
  const s = v as Partial<SessionState> | null;
  const t = s?.twin as Partial<TwinView> | undefined;
  if (!s || typeof s.open !== 'boolean' || !isNum(s.version) || !t || typeof t.latest !== 'object' || t.latest === null || !Array.isArray(t.alerts) || typeof t.news2 !== 'object') {
    throw new Error('the twin event is not a session state (open, version, twin.latest, twin.news2, twin.alerts)');
  }
  return s as SessionState;
}

/**
 * The page's twin after event `e`. Unknown event types change nothing (as in EventSource).
 * A reconnect starts with the state now, which may repeat the one shown: readings are added
 * once (by `seq`), a state older than the one shown is dropped, and a closed session never
 * reopens. A state shows only the latest reading of each kind; the samples between two states
 * come from the sample list ([`addSamples`]) when the state's `version` is past `fetched`.
 */
export function applyEvent(live: Live, e: SseEvent): Live {
  if (e.type !== 'twin' && e.type !== 'closed') return live;
  const next = parseState(e.data);
  if (e.type === 'closed') next.open = false;
  const cur = live.state;
  if (cur && (next.version < cur.version || (!cur.open && next.open))) return live;
  const series = { ...live.series };
  for (const [kind, r] of Object.entries(next.twin.latest)) {
    const p = pointOf(r);
    if (p) series[kind] = withPoint(series[kind] ?? [], p);
  }
  return { ...live, state: next, series };
}

/** Alerts in `after` that `before` did not have (the list only grows). */
export function newAlerts(before: Live, after: Live): Alert[] {
  const n = before.state?.twin.alerts.length ?? 0;
  return after.state ? after.state.twin.alerts.slice(n) : [];
}

/** A time axis for `pts`: elapsed time since the first point, in a unit that suits the span. */
export function timeAxis(pts: Point[]): { xs: number[]; unit: string } {
  if (pts.length === 0) return { xs: [], unit: 's' };
  const t0 = pts[0].t_ms;
  const span = pts[pts.length - 1].t_ms - t0;
  const [div, unit] = span < 120_000 ? [1000, 's'] : span < 2 * 3_600_000 ? [60_000, 'min'] : [3_600_000, 'h'];
  return { xs: pts.map((p) => (p.t_ms - t0) / div), unit };
}

/** What a vital kind is called on the page, and its canonical UCUM unit. */
export const KINDS: Record<string, { label: string; unit: string }> = {
  heart_rate: { label: 'Heart rate', unit: '/min' },
  spo2: { label: 'SpO2', unit: '%' },
  blood_pressure: { label: 'Blood pressure', unit: 'mm[Hg]' },
  glucose: { label: 'Glucose', unit: 'mg/dL' },
};

/**
 * Factors to each kind's canonical unit, for the units a kind accepts besides it (the data
 * store's table, `consentry_datastore::wearable`: 1 mmol/L of glucose is 18.016 mg/dL).
 */
const TO_CANONICAL: Record<string, Record<string, number>> = {
  glucose: { 'mmol/L': 18.016 },
};

/** A UCUM unit as a reader writes it. */
export function unitText(ucum: string): string {
  return ucum === 'mm[Hg]' ? 'mm Hg' : ucum;
}

/**
 * The unit `kind`'s chart draws `pts` in: the one they were all sent in, else the kind's
 * canonical one (a device may change units mid-session); and each point's value in it.
 */
export function chartValues(kind: string, pts: Point[]): { unit: string | null; values: number[] } {
  const units = new Set(pts.map((p) => p.unit ?? KINDS[kind]?.unit ?? null));
  if (units.size === 1) return { unit: [...units][0], values: pts.map((p) => p.value) };
  const canonical = KINDS[kind]?.unit ?? null;
  const factor = (u: string | undefined) => (u && u !== canonical ? TO_CANONICAL[kind]?.[u] ?? NaN : 1);
  return { unit: canonical, values: pts.map((p) => p.value * factor(p.unit)) };
}

/** NEWS2's sub-score 0 ranges (RCP 2017, chart 1; the worker's `stream/twin.rs`). */
export const NEWS2_NORMAL: Record<string, { lower: number; upper: number }> = {
  heart_rate: { lower: 51, upper: 90 },
  spo2: { lower: 96, upper: 100 },
  blood_pressure: { lower: 111, upper: 219 },
};

/** A reading as text, with the unit it was sent in (else the kind's canonical one). */
export function readingText(kind: string, r: { value?: number; systolic?: number; diastolic?: number; unit?: string }): string {
  const ucum = r.unit ?? KINDS[kind]?.unit;
  const unit = ucum ? unitText(ucum) : null;
  const v = r.systolic !== undefined && r.diastolic !== undefined ? `${r.systolic}/${r.diastolic}` : String(r.value ?? '—');
  return unit ? `${v} ${unit}` : v;
}
