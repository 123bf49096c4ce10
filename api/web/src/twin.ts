// A stream session's live twin as the page keeps it: the worker's state (each `twin` event
// carries all of it, `closed` the final one) and the series of readings drawn so far. Pure, so
// it is unit-tested without a browser. The shapes are the worker's
// (`off-chain-workers/worker/src/stream/mod.rs` `Session::state`, `stream/twin.rs` `Twin::view`);
// the API's document types these routes as `Object`, so they are declared here.
import type { SseEvent } from './sse';

/** The latest reading of one kind: `value`, or `systolic` and `diastolic` for blood pressure. */
export interface Reading {
  value?: number;
  systolic?: number;
  diastolic?: number;
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
}

export interface Live {
  state: SessionState | null;
  /** Readings by kind, oldest first, as the states showed them. */
  series: Record<string, Point[]>;
}

/** Points kept per kind: a day of one reading a minute. */
export const MAX_POINTS = 1440;

export const empty = (): Live => ({ state: null, series: {} });

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

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
 * reopens. The states show only the latest reading of each kind, so samples sent in one batch
 * between two states reach the chart only as the batch's last one of each kind.
 */
export function applyEvent(live: Live, e: SseEvent): Live {
  if (e.type !== 'twin' && e.type !== 'closed') return live;
  const next = parseState(e.data);
  if (e.type === 'closed') next.open = false;
  const cur = live.state;
  if (cur && (next.version < cur.version || (!cur.open && next.open))) return live;
  const series = { ...live.series };
  for (const [kind, r] of Object.entries(next.twin.latest)) {
    const value = r.value ?? r.systolic;
    if (!isNum(value) || !isNum(r.t_ms) || !isNum(r.seq)) continue;
    const pts = series[kind] ?? [];
    const last = pts[pts.length - 1];
    // The worker accepts each kind only in measurement order, so a reading not after the last
    // one drawn is one already drawn.
    if (last && (last.seq === r.seq || r.t_ms <= last.t_ms)) continue;
    const p: Point = { t_ms: r.t_ms, seq: r.seq, value };
    if (isNum(r.diastolic)) p.diastolic = r.diastolic;
    series[kind] = [...pts, p].slice(-MAX_POINTS);
  }
  return { state: next, series };
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

/** What a vital kind is called on the page, and its unit where the kind has only one. */
export const KINDS: Record<string, { label: string; unit: string | null }> = {
  heart_rate: { label: 'Heart rate', unit: '/min' },
  spo2: { label: 'SpO2', unit: '%' },
  blood_pressure: { label: 'Blood pressure', unit: 'mm Hg' },
  // mg/dL or mmol/L: the device chooses, and the state does not say which.
  glucose: { label: 'Glucose', unit: null },
};

/** NEWS2's sub-score 0 ranges (RCP 2017, chart 1; the worker's `stream/twin.rs`). */
export const NEWS2_NORMAL: Record<string, { lower: number; upper: number }> = {
  heart_rate: { lower: 51, upper: 90 },
  spo2: { lower: 96, upper: 100 },
  blood_pressure: { lower: 111, upper: 219 },
};

/** A reading as text, with its unit where the kind has one. */
export function readingText(kind: string, r: { value?: number; systolic?: number; diastolic?: number }): string {
  const unit = KINDS[kind]?.unit;
  const v = r.systolic !== undefined && r.diastolic !== undefined ? `${r.systolic}/${r.diastolic}` : String(r.value ?? '—');
  return unit ? `${v} ${unit}` : v;
}
