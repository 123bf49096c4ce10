// The clinician's page (an institution's service key): run a job for a patient through the API
// and watch it go through the chain's decision — queued, requested, granted or denied (with the
// reason), running, completed — then the simulation's concentration–time curve with the drug's
// therapeutic window, toxic threshold and population band and the key metrics, or a prediction's
// probabilities and top attributions; every chart with a table of the same numbers. Below it,
// the live twin of a wearable stream session (`live.ts`).
import { append, field, h, replace } from './dom';
import { ApiProblem, getJson, hasToken, postJson, type Schemas } from './http';
import { signIn } from './session';
import { bars, line, type Area, type Band, type Rule } from './svgchart';
import { label } from './names';
import { liveTwin } from './live';
import { busy, clearErrors, showError, type Ctx } from './ui';
import * as wallet from './wallet';
import drugs from './drugs.json';

interface Job {
  id: string;
  state: string;
  decision?: { granted: boolean; reason?: string | null } | null;
  error?: string | null;
  access_id?: number | null;
  result_digest?: string | null;
  result?: Record<string, unknown> | null;
}

interface PopulationBand {
  n: number;
  seed: number;
  p05_mg_l: number[];
  p50_mg_l: number[];
  p95_mg_l: number[];
  prob_target_attainment: number | null;
  prob_toxicity: number | null;
}

interface SimResult {
  drug: string;
  times_h: number[];
  concentration_mg_l: number[];
  metrics: Record<string, number | null>;
  population?: PopulationBand;
}

/** Virtual patients behind the population band the clinician sees. */
const BAND_PATIENTS = 500;

interface Attribution { feature: string; value: number }
interface Task { probability: number; hybrid_ig: Attribution[] }
interface Prediction { model_version: string; drug: string; response: Task; adr: Task }

const STEPS = ['queued', 'requesting', 'granted', 'running', 'completing', 'completed'];
const FINAL = new Set(['completed', 'denied', 'failed', 'aborted', 'error']);

export async function render(root: HTMLElement, ctx: Ctx): Promise<void> {
  document.title = 'Clinician — Consentry';
  replace(root, h('h1', {}, 'Run a digital-twin job'));
  const pair = wallet.current();
  if (!pair) {
    append(root, h('p', {}, 'Sign in with your institution’s service key: ', h('a', { href: '/app/' }, 'import or unlock it on the wallet page'), ', then come back.'));
    return;
  }
  if (!ctx.identity || !hasToken()) {
    const status = h('div');
    append(root, status);
    try {
      ctx.identity = await signIn(await ctx.api(), pair);
    } catch (e) {
      showError(status, e);
      return;
    }
  }
  if (ctx.identity.role === 'patient') {
    append(root, h('p', {}, 'This key is a patient’s; jobs are run with an institution’s service key.'));
    return;
  }
  append(root, h('p', {}, `Signed in for institution #${ctx.identity.institution}. The worker reads the patient’s data only after the chain grants the request.`));

  const pseudonym = h('input', { type: 'text', autocomplete: 'off', class: 'mono', id: 'job-pseudonym', 'data-field': 'pseudonym' });
  const workload = h('select', { id: 'job-workload', 'data-field': 'workload' }, h('option', { value: 'simulation' }, 'simulation (PK/PD twin)'), h('option', { value: 'inference' }, 'inference (drug-response prediction)'));
  const drug = h('select', { id: 'job-drug', 'data-field': 'drug' }, ...drugs.map((d) => h('option', { value: d.name }, d.name)));
  const dose = h('input', { type: 'number', step: 'any', min: 0, id: 'job-dose', 'data-field': 'dose_mg' });
  const interval = h('input', { type: 'number', step: 'any', min: 1, id: 'job-interval', 'data-field': 'interval_h' });
  const n = h('input', { type: 'number', min: 1, id: 'job-n', 'data-field': 'n_doses' });
  const setDefaults = () => {
    const d = drugs.find((x) => x.name === drug.value);
    dose.value = String(d?.regimen.dose_mg ?? '');
    interval.value = String(d?.regimen.interval_h ?? '');
    n.value = String(Math.min(d?.regimen.n_doses ?? 3, 7));
  };
  drug.addEventListener('change', setDefaults);
  drug.value = 'warfarin';
  setDefaults();
  const go = h('button', { type: 'submit', id: 'run-job' }, 'Run the job');
  const err = h('div');
  const progress = h('div', { id: 'job-progress', role: 'status', 'aria-live': 'polite' });
  const result = h('section', { id: 'job-result', 'aria-label': 'Result' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'job-h' },
    h('h2', { id: 'job-h' }, 'New job'),
    h('div', { class: 'grid' }, field('Patient pseudonym at your institution (64 hex digits)', pseudonym), field('Workload', workload), field('Drug', drug), field('Dose (mg)', dose), field('Dosing interval (h)', interval), field('Number of doses', n)),
    go,
    err,
  );
  append(root, form, progress, result, liveTwin());
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(go, async () => {
      clearErrors(err, form);
      replace(progress);
      replace(result);
      try {
        const p = pseudonym.value.trim();
        if (!/^(0x)?[0-9a-fA-F]{64}$/.test(p)) throw new ApiProblem(0, '', 'a pseudonym is 64 hexadecimal digits', 'pseudonym');
        const params = workload.value === 'simulation'
          ? { drug: drug.value, dose_mg: Number(dose.value), interval_h: Number(interval.value), n_doses: Number(n.value), population: BAND_PATIENTS }
          : { drug: drug.value };
        const queued = await postJson<Schemas['JobQueued'], Schemas['JobRequest']>('/v1/jobs', { pseudonym: p, workload: workload.value, params });
        let job: Job = { id: queued.id, state: queued.state };
        const deadline = Date.now() + 180_000;
        for (;;) {
          renderProgress(progress, job);
          if (FINAL.has(job.state)) break;
          if (Date.now() > deadline) throw new Error(`job ${job.id} is still ${job.state} after three minutes`);
          await new Promise((r) => setTimeout(r, 800));
          job = await getJson<Job>(`/v1/jobs/${encodeURIComponent(job.id)}`);
        }
        renderResult(result, job);
      } catch (e) {
        showError(err, e, form);
      }
    });
  });
}

function renderProgress(el: HTMLElement, job: Job): void {
  const denied = job.state === 'denied';
  const failed = ['failed', 'aborted', 'error'].includes(job.state);
  const at = STEPS.indexOf(job.state);
  replace(
    el,
    h('h2', {}, `Job ${job.id}`),
    h(
      'ol',
      { class: 'steps', 'aria-label': 'Progress' },
      ...STEPS.map((s, i) => {
        const cls = denied && s === 'granted' ? 'bad' : at >= i || job.state === 'completed' ? 'done' : '';
        return h('li', { class: cls }, denied && s === 'granted' ? 'denied by the chain' : s);
      }),
    ),
    h('p', { 'data-job-state': job.state }, `State: ${job.state}`, job.access_id != null ? ` — ledger record #${job.access_id}` : ''),
    denied ? h('p', { class: 'error', role: 'alert' }, `The chain denied the access: ${job.decision?.reason ? label(job.decision.reason) : 'no consent covers it'}. Nothing was read.`) : null,
    failed ? h('p', { class: 'error', role: 'alert' }, `The job ${job.state}: ${job.error ?? ''}`) : null,
  );
}

function renderResult(el: HTMLElement, job: Job): void {
  const r = job.result;
  if (!r || job.state !== 'completed') return;
  if (r.workload === 'simulation') return renderSimulation(el, r as unknown as SimResult, job);
  if (r.workload === 'inference') return renderPrediction(el, (r as { prediction: Prediction }).prediction, job);
  replace(el, h('pre', { class: 'mono small' }, JSON.stringify(r, null, 2)));
}

function renderSimulation(el: HTMLElement, s: SimResult, job: Job): void {
  const drug = drugs.find((d) => d.name === s.drug);
  const w = drug?.window;
  const bands: Band[] = w && w.lower_mg_l != null && w.upper_mg_l != null ? [{ lower: w.lower_mg_l, upper: w.upper_mg_l, label: `therapeutic window (${w.metric})`, cls: 'window' }] : [];
  const rules: Rule[] = w && w.toxic_mg_l != null ? [{ y: w.toxic_mg_l, label: `toxic above ${w.toxic_mg_l} mg/L (${w.toxic_metric})`, cls: 'toxic' }] : [];
  const step = Math.max(1, Math.floor(s.times_h.length / 24));
  const pop = s.population;
  const area: Area | undefined = pop ? { lower: pop.p05_mg_l, upper: pop.p95_mg_l, median: pop.p50_mg_l, label: `population 5th–95th percentile (${pop.n} virtual patients)`, cls: 'population' } : undefined;
  const rows = s.times_h.map((t, i) => [t, s.concentration_mg_l[i], pop?.p05_mg_l[i], pop?.p95_mg_l[i]] as const).filter((_, i) => i % step === 0);
  const fmt = (v: number | undefined) => (v === undefined ? '—' : v.toPrecision(4));
  const pct = (v: number | null | undefined) => (v == null ? '—' : `${(100 * v).toFixed(0)} %`);
  replace(
    el,
    h('h2', {}, `Concentration of ${s.drug} over time`),
    line(`Plasma concentration of ${s.drug} (mg/L) over ${Math.round(s.times_h[s.times_h.length - 1])} hours`, 'time (h)', 'concentration (mg/L)', s.times_h, s.concentration_mg_l, bands, rules, area),
    w ? null : h('p', { class: 'hint' }, `The drug file gives ${s.drug} no therapeutic window or toxic threshold.`),
    pop
      ? h('p', { class: 'hint', id: 'population-note' }, `Shaded: where ${pop.n} virtual patients with this patient’s covariates fall (5th to 95th percentile, dotted line the median), drawn with the drug’s between-patient variability; the solid line is this patient’s predicted curve.`)
      : h('p', { class: 'hint' }, 'No population band: the worker returned this patient’s curve only.'),
    h('table', { id: 'metrics' }, h('caption', {}, 'Key metrics'), h('tbody', {},
      ...Object.entries(s.metrics).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k.replace(/_/g, ' ')), h('td', {}, v === null ? '—' : Number(v).toPrecision(4)))),
      // Only for a drug with a window and threshold (the worker sends null otherwise).
      ...(pop?.prob_target_attainment != null ? [h('tr', {}, h('th', { scope: 'row' }, 'population: in the therapeutic window'), h('td', {}, pct(pop.prob_target_attainment)))] : []),
      ...(pop?.prob_toxicity != null ? [h('tr', {}, h('th', { scope: 'row' }, 'population: above the toxic threshold'), h('td', {}, pct(pop.prob_toxicity)))] : []),
    )),
    h('details', {}, h('summary', {}, 'The curve as a table'), h('table', {}, h('caption', {}, `Every ${step}th point`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'time (h)'), h('th', { scope: 'col' }, 'concentration (mg/L)'), ...(pop ? [h('th', { scope: 'col' }, 'population 5th percentile'), h('th', { scope: 'col' }, 'population 95th percentile')] : []))),
      h('tbody', {}, ...rows.map(([t, c, lo, hi]) => h('tr', {}, h('td', {}, t.toFixed(1)), h('td', {}, c.toPrecision(4)), ...(pop ? [h('td', {}, fmt(lo)), h('td', {}, fmt(hi))] : []))))),
    ),
    h('p', { class: 'mono small' }, `result digest ${job.result_digest ?? ''}`),
  );
}

function renderPrediction(el: HTMLElement, p: Prediction, job: Job): void {
  const top = p.response.hybrid_ig.slice(0, 10);
  replace(
    el,
    h('h2', {}, `Prediction for ${p.drug}`),
    bars('Predicted probabilities', ['response', 'adverse reaction'], [{ name: 'probability', values: [p.response.probability, p.adr.probability], cls: 'series-ok' }]),
    h('table', {}, h('caption', {}, 'Probabilities'), h('tbody', {}, h('tr', {}, h('th', { scope: 'row' }, 'response'), h('td', {}, p.response.probability.toFixed(3))), h('tr', {}, h('th', { scope: 'row' }, 'adverse reaction'), h('td', {}, p.adr.probability.toFixed(3))))),
    bars('Top feature attributions for the response (logit units)', top.map((a) => a.feature), [{ name: 'attribution', values: top.map((a) => Math.abs(a.value)), cls: 'series-emergency' }]),
    h('table', {}, h('caption', {}, 'Top attributions (positive raises the probability)'), h('tbody', {}, ...top.map((a) => h('tr', {}, h('th', { scope: 'row' }, a.feature), h('td', {}, a.value.toFixed(4)))))),
    h('p', { class: 'mono small' }, `model ${p.model_version}; result digest ${job.result_digest ?? ''}`),
  );
}
