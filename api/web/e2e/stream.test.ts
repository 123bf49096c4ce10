// The clinician's live twin in a real Chromium against the real system (node, API with
// indexer, worker; e2e/stack.mjs): a patient consents to treatment over wearable data, the
// clinician opens a stream session, samples posted through the API with the clinician's own
// token (as a ward's device gateway would) appear on the page as the worker computed them
// (latest vitals, NEWS2, alerts, the chart), and closing the session closes its access record
// on the ledger, citing the Merkle root of the samples.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { axe, artifacts, cspViolations, launch, shot } from './browser';
import { consentry, startStack, type TestStack } from './stack.mjs';

type Stack = TestStack;

const PASS = 'correct horse battery';
let stack: Stack;
let patientCtx: BrowserContext;
let patient: Page;
let clinicCtx: BrowserContext;
let clinic: Page;
let pseudonym = '';
let token = '';
let jobId = '';
const urls: string[] = [];
const logs: string[] = [];
const a11y: Record<string, string[]> = {};

/** The API, as the device gateway calls it: the clinician's bearer token, JSON. */
async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${stack.app}${p}`, {
    method,
    headers: { authorization: token, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

let seq = 0;
const t0 = Date.now() - 60_000;
/** Posts one sample `dt` ms after `t0` (each kind in measurement order, none in the future). */
async function send(kind: string, reading: Record<string, number>, unit: string, dt: number) {
  seq += 1;
  const sample = { seq, patient: pseudonym.replace(/^0x/, ''), t_ms: t0 + dt, kind, ...reading, unit };
  const r = await api('POST', `/v1/jobs/${jobId}/samples`, [sample]);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return { answer: r.json as { accepted: number; refused: number; results: { status: string; reason?: string }[] }, sample };
}

const row = (kind: string) => clinic.locator(`#stream-latest tr[data-kind=${kind}]`).textContent();

beforeAll(async () => {
  if (process.env.CONSENTRY_WEB_E2E_STACK) {
    const s = JSON.parse(fs.readFileSync(process.env.CONSENTRY_WEB_E2E_STACK, 'utf8'));
    stack = { app: new URL(s.app).origin, nodeWs: s.node, pepper: s.pepper, hospital: s.hospital };
  } else {
    const s = await startStack();
    stack = { app: s.apiUrl, nodeWs: s.nodeWs, pepper: s.pepper, hospital: s.hospital, stop: () => s.stop() };
  }
  patientCtx = await launch();
  patient = await patientCtx.newPage();
  clinicCtx = await launch();
  clinic = await clinicCtx.newPage();
  clinic.on('request', (r) => urls.push(r.url()));
  clinic.on('console', (m) => logs.push(m.text()));
  clinic.on('pageerror', (e) => logs.push(e.message));
});

afterAll(async () => {
  fs.writeFileSync(path.join(artifacts, 'axe-stream.json'), JSON.stringify(a11y, null, 2));
  await clinicCtx?.close();
  await patientCtx?.close();
  await stack?.stop?.();
});

describe.sequential('clinician’s live twin', () => {
  it('a patient consents to treatment over wearable data for the hospital', async () => {
    await patient.goto(`${stack.app}/app/`);
    await patient.fill('#import-secret', `//StreamPatient/${Date.now()}`);
    await patient.fill('#import-pass', PASS);
    await patient.click('#import-key');
    await patient.waitForSelector('#address');
    const address = (await patient.textContent('#address'))!.trim();
    // The first synthetic patient not enrolled yet (a reused stack may have enrolled some).
    for (let i = 0; i < 4 && !pseudonym; i++) {
      try {
        pseudonym = JSON.parse(consentry(['institution', 'enrol', '--keystore', stack.hospital, '--identifier', `SYN-1-0000${i}`, '--pepper-file', stack.pepper,
          '--patient', address, '--node', stack.nodeWs, '--json'], { CONSENTRY_PASSPHRASE: 'hospital' })).pseudonym;
      } catch (e) {
        if (!String(e).includes('PseudonymTaken')) throw e;
      }
    }
    expect(pseudonym).toMatch(/^(0x)?[0-9a-f]{64}$/);
    await patient.fill('#pseudonym', pseudonym);
    await patient.click('#claim');
    await patient.waitForSelector('#grant', { timeout: 90_000 });
    await patient.check('input[name=purposes][data-name=treatment]');
    await patient.check('form:has(#grant) input[name=categories][data-name=wearable]');
    await patient.click('#grant');
    await patient.waitForSelector('[data-consent]', { timeout: 90_000 });
    expect(await patient.textContent('[data-consent]')).toContain('wearable');
  });

  it('the clinician signs in with the hospital’s service key; the live-twin form is there', async () => {
    await clinic.goto(`${stack.app}/app/`);
    await clinic.fill('#import-secret', '//Bob');
    await clinic.fill('#import-pass', PASS);
    await clinic.click('#import-key');
    await clinic.waitForSelector('text=institution #0', { timeout: 60_000 });
    await clinic.click('nav a[data-route=clinic]');
    await clinic.waitForSelector('#open-stream', { timeout: 60_000 });
  });

  it('a session the API refuses says which field, and opens nothing', async () => {
    const form = clinic.locator('form:has(#open-stream)');
    await clinic.fill('#stream-pseudonym', 'abc');
    await clinic.click('#open-stream');
    await expect.poll(() => form.locator('[role=alert]').textContent()).toContain('pseudonym');
    // This worker has no prediction model: the API relays the worker's refusal of a drug,
    // naming the parameter.
    await clinic.fill('#stream-pseudonym', pseudonym);
    await clinic.selectOption('#stream-drug', 'warfarin');
    await clinic.click('#open-stream');
    await expect.poll(() => form.locator('[role=alert]').textContent(), { timeout: 30_000 }).toContain('params.drug');
    expect(await form.locator('[role=alert]').textContent()).toContain('no model');
    expect(await clinic.getAttribute('#stream-drug', 'aria-invalid')).toBe('true');
    expect(await clinic.locator('#stream-state').count()).toBe(0);
  });

  it('opens a stream session: the chain grants it, and the page follows the twin live', async () => {
    await clinic.selectOption('#stream-drug', { label: 'none' });
    const posted = clinic.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/v1/jobs');
    const queued = clinic.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/jobs');
    await clinic.click('#open-stream');
    // The device gateway uses the clinician's own session token.
    token = (await (await posted).allHeaders()).authorization;
    expect(token).toMatch(/^Bearer /);
    jobId = ((await (await queued).json()) as { id: string }).id;
    await clinic.waitForSelector('[data-stream-state=open]', { timeout: 120_000 });
    await clinic.waitForSelector('#stream-link[data-link=live]', { timeout: 30_000 });
    await clinic.waitForSelector('#stream-latest', { timeout: 30_000 });
    expect(await clinic.textContent('#stream-latest')).toContain('No sample yet');
    const job = await api('GET', `/v1/jobs/${jobId}`);
    expect(job.json.state).toBe('running');
    expect(await clinic.getAttribute('#stream-state', 'data-access-id')).toBe(String(job.json.access_id));
    expect(await clinic.textContent('#stream-state')).toContain(`access record #${job.json.access_id} granted`);
    expect(await clinic.isEnabled('#close-stream')).toBe(true);
  });

  it('samples posted through the API appear as the worker computed them', async () => {
    const hr1 = await send('heart_rate', { value: 72 }, '/min', 0);
    expect(hr1.answer.accepted).toBe(1);
    await expect.poll(() => row('heart_rate'), { timeout: 30_000 }).toContain('72 /min');
    await send('spo2', { value: 97 }, '%', 1_000);
    await expect.poll(() => row('spo2'), { timeout: 30_000 }).toContain('97 %');
    await send('blood_pressure', { systolic: 121, diastolic: 79 }, 'mm[Hg]', 2_000);
    await expect.poll(() => row('blood_pressure'), { timeout: 30_000 }).toContain('121/79 mm Hg');
    // Pulse 135 scores 3 on NEWS2: one parameter at 3 raises an alert on this sample.
    const hr2 = await send('heart_rate', { value: 135 }, '/min', 10_000);
    await expect.poll(() => clinic.locator('#stream-alerts tr[data-alert=news2]').getAttribute('data-seq'), { timeout: 30_000 }).toBe(String(hr2.sample.seq));
    expect(await clinic.textContent('#stream-news2-score')).toBe('3');
    expect(await clinic.getAttribute('#stream-news2', 'data-alerting')).toBe('true');
    expect(await clinic.textContent('#stream-announce')).toContain('NEWS2');
    // Glucose 62 mg/dL: hypoglycaemia.
    const glucose = await send('glucose', { value: 62 }, 'mg/dL', 20_000);
    await expect.poll(() => clinic.locator('#stream-alerts tr[data-alert=hypoglycaemia]').getAttribute('data-seq'), { timeout: 30_000 }).toBe(String(glucose.sample.seq));
    const hr3 = await send('heart_rate', { value: 88 }, '/min', 30_000);
    await expect.poll(() => row('heart_rate'), { timeout: 30_000 }).toContain('88 /min');
    // A sample no living patient has is refused, and changes nothing.
    const bad = await send('heart_rate', { value: 400 }, '/min', 40_000);
    expect(bad.answer.results[0]).toMatchObject({ status: 'refused', reason: 'impossible' });

    // The page shows the worker's own state (read here through the API).
    const twin = (await api('GET', `/v1/jobs/${jobId}/twin`)).json as { version: number; twin: { news2: { partial_score: number }; alerts: { kind: string; seq: number; value: number }[] } };
    expect(twin.version).toBe(6);
    await expect.poll(() => clinic.textContent('#stream-state')).toContain('6 samples accepted');
    expect(await clinic.textContent('#stream-news2-score')).toBe(String(twin.twin.news2.partial_score));
    expect(twin.twin.news2.partial_score).toBe(0);
    expect(await clinic.locator('#stream-alerts tbody tr').evaluateAll((rs) => rs.map((r) => `${(r as HTMLElement).dataset.alert}@${(r as HTMLElement).dataset.seq}`)))
      .toEqual(twin.twin.alerts.map((a) => `${a.kind}@${a.seq}`));
    expect(twin.twin.alerts.map((a) => [a.kind, a.value])).toEqual([['news2', 3], ['hypoglycaemia', 62]]);
    expect(await clinic.textContent('#stream-alerts tr[data-alert=hypoglycaemia]')).toContain('62 (threshold 70)');
    // In the unit the device sent it in.
    expect(await row('glucose')).toContain('62 mg/dL');
    expect(await clinic.textContent('#stream-no-prediction')).toContain('no prediction model');
    // Times in the browser's local time.
    const local = await clinic.evaluate((t) => new Date(t).toLocaleString(), hr3.sample.t_ms);
    expect(await row('heart_rate')).toContain(local);

    // The heart-rate chart has the three readings, in order.
    const fig = clinic.locator('#stream-charts figure[data-kind=heart_rate]');
    expect(await fig.getAttribute('data-points')).toBe('3');
    const d = (await fig.locator('svg.chart path.curve').getAttribute('d'))!;
    expect(d.match(/[ML]/g)).toHaveLength(3);
    await fig.locator('summary').click();
    expect(await fig.locator('details tbody tr').allTextContents()).toEqual([
      expect.stringContaining('72 /min'), expect.stringContaining('135 /min'), expect.stringContaining('88 /min'),
    ]);
    // An opened table stays open while the twin updates.
    await send('spo2', { value: 98 }, '%', 41_000);
    await expect.poll(() => row('spo2'), { timeout: 30_000 }).toContain('98 %');
    expect(await fig.locator('details').getAttribute('open')).not.toBeNull();
    // Three heart rates in one request: the state the worker pushes shows only the last as
    // latest; the chart has all three, from the session's sample list.
    const batch = [50_000, 51_000, 52_000].map((dt, i) => {
      seq += 1;
      return { seq, patient: pseudonym.replace(/^0x/, ''), t_ms: t0 + dt, kind: 'heart_rate', value: 91 + i, unit: '/min' };
    });
    const r = await api('POST', `/v1/jobs/${jobId}/samples`, batch);
    expect(r.json.accepted).toBe(3);
    await expect.poll(() => fig.getAttribute('data-points'), { timeout: 30_000 }).toBe('6');
    expect(await fig.locator('details tbody tr').allTextContents()).toEqual(
      ['72', '135', '88', '91', '92', '93'].map((v) => expect.stringContaining(`${v} /min`)),
    );
    expect((await fig.locator('svg.chart path.curve').getAttribute('d'))!.match(/[ML]/g)).toHaveLength(6);
    await shot(clinic, 'clinician-stream-live');
    a11y['clinician-stream-live'] = await axe(clinic);
  });

  it('closing the session closes its access record on the ledger, citing the samples’ Merkle root', async () => {
    const record = await clinic.getAttribute('#stream-state', 'data-access-id');
    await clinic.click('#close-stream');
    await clinic.waitForSelector('[data-stream-state=closed]', { timeout: 120_000 });
    await clinic.waitForSelector('#stream-record-table[data-record-state=completed]', { timeout: 90_000 });
    const job = (await api('GET', `/v1/jobs/${jobId}`)).json as { state: string; access_id: number; result: { merkle_root: string; samples: number; ended: string } };
    expect(job.state).toBe('completed');
    expect(String(job.access_id)).toBe(record);
    expect(job.result.samples).toBe(10);
    expect(job.result.ended).toBe('closed');
    const state = (await clinic.textContent('#stream-state'))!;
    expect(state).toContain('closed by the clinician');
    expect(state).toContain(`access record #${job.access_id} is completed on the ledger`);
    expect((await clinic.textContent('#stream-record-digest'))!.replace(/^0x/, '')).toBe(job.result.merkle_root);
    expect(await clinic.textContent('#stream-record')).toContain('is the Merkle root of the samples');
    expect(await clinic.isDisabled('#close-stream')).toBe(true);
    // The worker takes nothing more for this session.
    const late = await api('POST', `/v1/jobs/${jobId}/samples`, [{ seq: 99, patient: pseudonym.replace(/^0x/, ''), t_ms: Date.now() - 1000, kind: 'spo2', value: 99, unit: '%' }]);
    expect(late.status).toBe(409);
    await shot(clinic, 'clinician-stream-closed');
    a11y['clinician-stream-closed'] = await axe(clinic);
  });

  it('no pseudonym in any URL or log of the page, no CSP violation, no serious accessibility violation', async () => {
    const p = pseudonym.replace(/^0x/, '').toLowerCase();
    expect(urls.filter((u) => u.toLowerCase().includes(p))).toEqual([]);
    expect(logs.filter((l) => l.toLowerCase().includes(p))).toEqual([]);
    expect(await cspViolations(clinic)).toEqual([]);
    expect(a11y).toEqual(Object.fromEntries(Object.keys(a11y).map((k) => [k, []])));
  });
});
