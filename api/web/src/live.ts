// The clinician's live twin: open a wearable stream session for a patient (`POST /v1/jobs`,
// workload `stream`), watch it pass the chain's decision, then follow the twin the worker keeps
// as the patient's devices send samples — the latest vital signs, NEWS2's partial score, the drug
// risk when the worker has a model, the alerts, a chart per vital — and close it, which closes
// its access record on the ledger (citing the Merkle root of the samples); the record is then
// read back from the finalized index. The pseudonym goes only in request bodies.
import { append, field, h, localTime, replace } from './dom';
import { ApiProblem, getJson, openEvents, postJson, request, type Schemas } from './http';
import { follow, sleep, type Link } from './follow';
import { label } from './names';
import type { AccessRow } from './patient';
import { line, type Band } from './svgchart';
import { addSamples, applyEvent, chartValues, empty, KINDS, NEWS2_NORMAL, newAlerts, readingText, timeAxis, unitText, type Alert, type Live, type Point, type SamplePage } from './twin';
import { busy, clearErrors, showError } from './ui';
import drugs from './drugs.json';

interface Job {
  id: string;
  state: string;
  decision?: { granted: boolean; reason?: string | null } | null;
  access_id?: number | null;
  outcome?: string | null;
  result?: { merkle_root?: string; samples?: number; ended?: string } | null;
  result_digest?: string | null;
  error?: string | null;
}

/** Job states after which the session is over for good. */
const FINAL = new Set(['completed', 'denied', 'refused', 'failed', 'aborted', 'error']);
/** Job states before the session opens (`running`). */
const BEFORE_OPEN = new Set(['queued', 'requesting', 'granted']);

const ENDED: Record<string, string> = {
  closed: 'closed by the clinician',
  idle: 'no sample within the idle timeout',
  consent_withdrawn: 'the patient withdrew consent',
  worker_restarted: 'the worker restarted',
};

const ALERTS: Record<string, string> = {
  news2: 'NEWS2: partial score 5 or more, or one parameter at 3',
  adr_risk: 'ADR risk at or above the threshold',
  hypoglycaemia: 'hypoglycaemia: glucose below 70 mg/dL',
  hyperglycaemia: 'hyperglycaemia: glucose above 250 mg/dL',
};

const NEWS2_PARAMETERS: Record<string, string> = { pulse: 'pulse', spo2: 'SpO2 (scale 1)', systolic_bp: 'systolic pressure' };

const jobPath = (id: string) => `/v1/jobs/${encodeURIComponent(id)}`;

/** The live-twin card of the clinician's page. */
export function liveTwin(): HTMLElement {
  const pseudonym = h('input', { type: 'text', autocomplete: 'off', class: 'mono', id: 'stream-pseudonym', 'data-field': 'pseudonym' });
  const drug = h('select', { id: 'stream-drug', 'data-field': 'params.drug' }, h('option', { value: '' }, 'none'), ...drugs.map((d) => h('option', { value: d.name }, d.name)));
  const threshold = h('input', { type: 'number', step: 'any', min: 0, max: 1, id: 'stream-threshold', 'data-field': 'params.risk_threshold' });
  const idle = h('input', { type: 'number', min: 1, max: 86400, id: 'stream-idle', 'data-field': 'params.idle_timeout_s', value: 300 });
  const go = h('button', { type: 'submit', id: 'open-stream' }, 'Open the session');
  const err = h('div');
  const view = h('section', { id: 'stream-view', 'aria-label': 'Live twin' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'stream-h' },
    h('h2', { id: 'stream-h' }, 'Live twin: a wearable stream session'),
    h('p', { class: 'hint' }, 'One access on the ledger (treatment, wearable data) that stays open while the patient’s devices send samples; the twin below updates as they arrive.'),
    h(
      'div',
      { class: 'grid' },
      field('Patient pseudonym at your institution (64 hex digits)', pseudonym),
      field('Drug for the ADR risk', drug, 'Only when the worker has a prediction model (it then requires one); “none” otherwise.'),
      field('ADR risk threshold (0–1)', threshold, 'Empty: the worker’s default, 0.5.'),
      field('Close after this many seconds without a sample', idle),
    ),
    go,
    err,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(go, async () => {
      clearErrors(err, form);
      replace(view);
      try {
        const p = pseudonym.value.trim();
        if (!/^(0x)?[0-9a-fA-F]{64}$/.test(p)) throw new ApiProblem(0, '', 'a pseudonym is 64 hexadecimal digits', 'pseudonym');
        // Empty fields are left out: the worker's defaults apply, and it checks the rest.
        const params: Record<string, unknown> = {};
        if (drug.value) params.drug = drug.value;
        if (threshold.value !== '') params.risk_threshold = Number(threshold.value);
        if (idle.value !== '') params.idle_timeout_s = Number(idle.value);
        const queued = await postJson<Schemas['JobQueued'], Schemas['JobRequest']>('/v1/jobs', { pseudonym: p, workload: 'stream', params });
        // The button stays disabled for as long as this session is followed: one at a time.
        await session(view, queued.id);
      } catch (e) {
        showError(err, e, form);
      }
    });
  });
  return h('div', {}, form, view);
}

/** The parts of the view one session updates. */
interface Parts {
  state: HTMLElement;
  link: HTMLElement;
  announce: HTMLElement;
  close: HTMLButtonElement;
  closeErr: HTMLElement;
  record: HTMLElement;
  twin: HTMLElement;
}

async function session(view: HTMLElement, id: string): Promise<void> {
  const parts: Parts = {
    state: h('p', { id: 'stream-state', 'data-stream-state': 'opening' }),
    link: h('p', { id: 'stream-link', class: 'hint' }),
    announce: h('p', { id: 'stream-announce', role: 'status', 'aria-live': 'polite' }),
    close: h('button', { type: 'button', id: 'close-stream', class: 'danger', disabled: true }, 'Close session'),
    closeErr: h('div'),
    record: h('div', { id: 'stream-record' }),
    twin: h('div', { id: 'stream-twin' }),
  };
  replace(view, h('h2', {}, `Session ${id}`), parts.state, parts.link, h('div', { class: 'row' }, parts.close), parts.closeErr, parts.announce, parts.record, parts.twin);
  // Leaving the page (another route renders over it) ends the following, not the session.
  const stop = new AbortController();
  const watchdog = setInterval(() => {
    if (!view.isConnected) stop.abort();
  }, 1000);
  try {
    await run(parts, id, stop.signal);
  } finally {
    clearInterval(watchdog);
  }
}

function setState(parts: Parts, state: string, ...text: (string | Node | null)[]): void {
  parts.state.dataset.streamState = state;
  replace(parts.state, h('strong', {}, `${state[0].toUpperCase()}${state.slice(1)}`), ' — ', ...text);
  parts.close.disabled = state !== 'open';
}

async function run(parts: Parts, id: string, signal: AbortSignal): Promise<void> {
  // Until the chain's grant is finalized and the worker has read the granted data, the session
  // is not open (the event stream answers 409): follow the job meanwhile.
  let job: Job = await getJson<Job>(jobPath(id));
  const deadline = Date.now() + 180_000;
  while (BEFORE_OPEN.has(job.state)) {
    setState(parts, 'opening', `the job is ${job.state}; the session opens once the chain’s grant is finalized.`);
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.state} after three minutes`);
    await sleep(800, signal);
    if (signal.aborted) return;
    job = await getJson<Job>(jobPath(id));
  }
  if (job.state !== 'running') return finish(parts, id, job, empty(), signal);
  const record = job.access_id;

  let live: Live = empty();
  // The samples between two states: fetched from where the chart's series end whenever a state
  // counts more accepted samples than that, one request at a time.
  let fetching = false;
  const catchUp = async () => {
    while (!fetching && !signal.aborted && live.state && live.state.version > live.fetched) {
      fetching = true;
      try {
        const page = await getJson<SamplePage>(`${jobPath(id)}/samples?from=${live.fetched}`);
        const before = live.fetched;
        live = addSamples(live, page);
        show();
        if (live.fetched === before) break;
      } catch (e) {
        showError(parts.closeErr, e);
        break;
      } finally {
        fetching = false;
      }
    }
  };
  const show = () => {
    const s = live.state;
    if (!s) return;
    if (s.open && parts.state.dataset.streamState !== 'closing') {
      setState(parts, 'open', `access record #${record ?? '?'} granted; ${s.twin.samples} sample${s.twin.samples === 1 ? '' : 's'} accepted; updated ${localTime(s.updated_ms)}.`);
      parts.state.dataset.accessId = String(record ?? '');
    }
    renderTwin(parts.twin, live);
  };
  parts.close.addEventListener('click', () =>
    void busy(parts.close, async () => {
      clearErrors(parts.closeErr);
      try {
        await request('POST', `${jobPath(id)}/close`);
        // The `closed` event may have come before this answer, and the page moved on.
        if (parts.state.dataset.streamState === 'open') setState(parts, 'closing', `access record #${record ?? '?'} is being closed on the ledger.`);
      } catch (e) {
        showError(parts.closeErr, e);
      }
    }).then(() => {
      parts.close.disabled = parts.state.dataset.streamState !== 'open';
    }),
  );
  setState(parts, 'open', `access record #${record ?? '?'} granted; waiting for the twin’s state.`);
  const how = await follow(
    {
      connect: (sig) => openEvents(`${jobPath(id)}/twin/events`, sig),
      jobState: async () => (await getJson<Job>(jobPath(id))).state,
      sleep,
      onEvent: (e) => {
        try {
          const before = live;
          live = applyEvent(live, e);
          show();
          const fresh = newAlerts(before, live);
          if (fresh.length) replace(parts.announce, h('span', { class: 'alert' }, fresh.map((a) => `Alert: ${alertLabel(a)} (sample #${a.seq}).`).join(' ')));
          void catchUp();
        } catch (err) {
          showError(parts.closeErr, err);
        }
      },
      onLink: (l) => showLink(parts.link, l),
    },
    signal,
  );
  if (how === 'aborted') return;
  replace(parts.link);
  await finish(parts, id, job, live, signal);
}

function showLink(el: HTMLElement, l: Link): void {
  el.dataset.link = l.state;
  if (l.state === 'connecting') replace(el, 'Connecting to the twin’s events…');
  else if (l.state === 'live') replace(el, 'Live: every new state appears as the worker computes it.');
  else replace(el, `The event stream dropped (${l.why}); reconnecting in ${(l.inMs / 1000).toFixed(1)} s.`);
}

/** The session has ended: wait for the worker to close the record, then read it from the ledger. */
async function finish(parts: Parts, id: string, job: Job, live: Live, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (!FINAL.has(job.state)) {
    setState(parts, 'closing', `the job is ${job.state}; access record #${job.access_id ?? '?'} is being closed on the ledger.`);
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.state} after three minutes`);
    await sleep(800, signal);
    if (signal.aborted) return;
    job = await getJson<Job>(jobPath(id));
  }
  parts.state.dataset.accessId = String(job.access_id ?? '');
  if (job.state === 'denied' || job.state === 'refused') {
    setState(parts, 'denied', `the chain denied the access: ${job.decision?.reason ? label(job.decision.reason) : 'no consent covers it'}. Nothing was read.`);
    return;
  }
  if (job.state === 'failed' || job.state === 'error') {
    setState(parts, 'failed', `the job ${job.state}: ${job.error ?? ''}`);
    return;
  }
  const ended = live.state?.ended?.reason ?? job.result?.ended;
  const why = ended ? ENDED[ended] ?? ended : job.state;
  setState(parts, 'closed', `${why}; access record #${job.access_id ?? '?'} closed ${job.outcome ?? job.state}; reading it from the ledger…`);
  if (live.state?.ended?.detail) append(parts.state, h('span', {}, ` (${live.state.ended.detail}${live.state.ended.at_block ? `, block ${live.state.ended.at_block}` : ''})`));
  if (job.access_id == null) return;
  // The index follows finalized blocks: the close may not be in it yet.
  let row: AccessRow | null = null;
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      row = await getJson<AccessRow>(`/v1/access/${job.access_id}`);
      if (row.state !== 'granted') break;
    } catch (e) {
      if (!(e instanceof ApiProblem && e.status === 404)) throw e;
    }
    if (Date.now() > until) break;
    await sleep(1000, signal);
    if (signal.aborted) return;
  }
  replace(parts.announce, `The session is closed; access record #${job.access_id} is ${row?.state ?? job.outcome ?? job.state}.`);
  const root = job.result?.merkle_root ?? job.result_digest ?? null;
  const norm = (s: string | null | undefined) => (s ?? '').replace(/^0x/, '').toLowerCase();
  setState(parts, 'closed', `${why}; access record #${job.access_id} ${row && row.state !== 'granted' ? `is ${row.state} on the ledger` : `closed ${job.outcome ?? job.state} (not in the index yet)`}.`);
  if (!row) return;
  replace(
    parts.record,
    h('table', { id: 'stream-record-table', 'data-record-state': row.state }, h('caption', {}, `Access record #${row.id} on the ledger`), h('tbody', {},
      h('tr', {}, h('th', { scope: 'row' }, 'state'), h('td', {}, row.state)),
      h('tr', {}, h('th', { scope: 'row' }, 'purpose'), h('td', {}, label(row.purpose))),
      h('tr', {}, h('th', { scope: 'row' }, 'data'), h('td', {}, row.categories.map(label).join(', '))),
      h('tr', {}, h('th', { scope: 'row' }, 'requested'), h('td', {}, localTime(row.requested_at_ms))),
      h('tr', {}, h('th', { scope: 'row' }, 'closed'), h('td', {}, row.closed_at_ms == null ? '—' : localTime(row.closed_at_ms))),
      h('tr', {}, h('th', { scope: 'row' }, 'samples'), h('td', {}, String(job.result?.samples ?? live.state?.version ?? '—'))),
      h('tr', {}, h('th', { scope: 'row' }, 'result digest'), h('td', { class: 'mono small', id: 'stream-record-digest' }, row.result_digest ?? '—')),
    )),
    root && row.result_digest
      ? h('p', { class: 'hint' }, norm(root) === norm(row.result_digest)
        ? 'The ledger’s result digest is the Merkle root of the samples the worker accepted.'
        : h('strong', { class: 'error' }, `The ledger’s result digest is not the session’s Merkle root (${root}).`))
      : null,
  );
}

function alertLabel(a: Alert): string {
  return ALERTS[a.kind] ?? a.kind;
}

function alertValue(a: Alert): string {
  return a.kind === 'adr_risk' ? `${a.value.toFixed(3)} (threshold ${a.threshold})` : `${a.value} (threshold ${a.threshold})`;
}

function renderTwin(el: HTMLElement, live: Live): void {
  const s = live.state;
  if (!s) return;
  const t = s.twin;
  const kinds = Object.keys(t.latest);
  // Every state redraws the view: tables the clinician opened stay open.
  const opened = new Set([...el.querySelectorAll<HTMLElement>('figure[data-kind]:has(details[open])')].map((f) => f.dataset.kind));
  const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
  replace(
    el,
    s.model_error ? h('p', { class: 'error' }, `The prediction model failed: ${s.model_error}`) : null,
    h('table', { id: 'stream-latest' }, h('caption', {}, 'Latest vital signs'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'vital'), h('th', { scope: 'col' }, 'reading'), h('th', { scope: 'col' }, 'measured (local time)'), h('th', { scope: 'col' }, 'sample'))),
      h('tbody', {}, ...(kinds.length ? kinds.map((k) => {
        const r = t.latest[k];
        return h('tr', { 'data-kind': k }, h('th', { scope: 'row' }, KINDS[k]?.label ?? k), h('td', {}, readingText(k, r)), h('td', {}, localTime(r.t_ms)), h('td', {}, `#${r.seq}`));
      }) : [h('tr', {}, h('td', { colspan: 4 }, 'No sample yet.'))])),
    ),
    h('table', { id: 'stream-news2', 'data-alerting': String(t.news2.alerting) }, h('caption', {}, 'NEWS2 early-warning score (partial: pulse, SpO2 and systolic pressure are what a wearable measures)'),
      h('tbody', {},
        ...Object.entries(t.news2.parameters).map(([p, v]) => h('tr', {}, h('th', { scope: 'row' }, NEWS2_PARAMETERS[p] ?? p), h('td', {}, String(v)))),
        h('tr', {}, h('th', { scope: 'row' }, 'partial score'), h('td', { id: 'stream-news2-score' }, String(t.news2.partial_score))),
        h('tr', {}, h('th', { scope: 'row' }, 'alerting'), h('td', {}, t.news2.alerting ? `yes${t.news2.single_parameter_3 ? ' (one parameter at 3)' : ''}` : 'no')),
      ),
    ),
    t.prediction
      ? h('table', { id: 'stream-prediction' }, h('caption', {}, `Predicted response to ${t.prediction.drug}, from the stored covariates and the streamed vital signs`), h('tbody', {},
        h('tr', {}, h('th', { scope: 'row' }, 'response'), h('td', {}, pct(t.prediction.response_probability))),
        h('tr', {}, h('th', { scope: 'row' }, 'adverse reaction'), h('td', {}, `${pct(t.prediction.adr_probability)} (alert at ${pct(t.prediction.adr_threshold)})`)),
        h('tr', {}, h('th', { scope: 'row' }, 'model'), h('td', { class: 'mono small' }, t.prediction.model_version)),
      ))
      : h('p', { class: 'hint', id: 'stream-no-prediction' }, t.latest.heart_rate || t.latest.blood_pressure
        ? 'No drug risk: the worker has no prediction model.'
        // With a model, the risk is first computed at a heart-rate or blood-pressure sample.
        : 'No drug risk yet: it comes with the first heart-rate or blood-pressure sample when the worker has a prediction model.'),
    h('table', { id: 'stream-alerts' }, h('caption', {}, `Alerts (${t.alerts.length})`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'alert'), h('th', { scope: 'col' }, 'value'), h('th', { scope: 'col' }, 'sample'), h('th', { scope: 'col' }, 'measured (local time)'))),
      h('tbody', {}, ...(t.alerts.length ? t.alerts.map((a) => h('tr', { 'data-alert': a.kind, 'data-seq': a.seq }, h('th', { scope: 'row' }, alertLabel(a)), h('td', {}, alertValue(a)), h('td', {}, `#${a.seq}`), h('td', {}, localTime(a.t_ms))))
        : [h('tr', {}, h('td', { colspan: 4 }, 'No alert.'))])),
    ),
    h('div', { id: 'stream-charts' }, ...Object.entries(live.series).map(([k, pts]) => chart(k, pts, opened.has(k)))),
  );
}

function chart(kind: string, pts: Point[], open: boolean): HTMLElement {
  const name = KINDS[kind]?.label ?? kind;
  const { unit, values } = chartValues(kind, pts);
  const bp = kind === 'blood_pressure';
  const normal = NEWS2_NORMAL[kind];
  const bands: Band[] = normal ? [{ ...normal, label: 'NEWS2 sub-score 0', cls: 'window' }] : [];
  const { xs, unit: tu } = timeAxis(pts);
  const yLabel = `${bp ? 'systolic pressure' : name.toLowerCase()}${unit ? ` (${unitText(unit)})` : ''}`;
  return h(
    'figure',
    { class: 'live-chart', 'data-kind': kind, 'data-points': pts.length },
    h('figcaption', {}, `${name}: ${pts.length} reading${pts.length === 1 ? '' : 's'} since ${localTime(pts[0].t_ms)}`),
    pts.length > 1
      ? line(`${name} over time${bp ? ' (systolic; diastolic in the table)' : ''}`, `time since the first reading (${tu})`, yLabel, xs, values, bands)
      : h('p', { class: 'hint' }, 'The curve starts at the second reading.'),
    h('details', { open }, h('summary', {}, 'The readings as a table'), h('table', {}, h('caption', {}, `${name} readings`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'measured (local time)'), h('th', { scope: 'col' }, 'reading'), h('th', { scope: 'col' }, 'sample'))),
      h('tbody', {}, ...pts.map((p) => h('tr', {}, h('td', {}, localTime(p.t_ms)), h('td', {}, readingText(kind, bp ? { systolic: p.value, diastolic: p.diastolic, unit: p.unit } : { value: p.value, unit: p.unit })), h('td', {}, `#${p.seq}`)))),
    )),
  );
}
