// The patient's wallet: create or import a key, claim an enrolment, sign in, see and change
// consents, see who accessed the data, guardians, `forget me`.
import type { ApiPromise } from '@polkadot/api';
import { append, download, field, h, localTime, replace } from './dom';
import { getJson, request, hasToken } from './http';
import { explainCategory, explainPurpose, label, mask, type Names } from './names';
import { send } from './chain';
import { signIn, signOut } from './session';
import { busy, clearErrors, showError, txView, type Ctx } from './ui';
import * as wallet from './wallet';
import { ApiProblem } from './http';
import { checkPseudonym, claimArg, pseudonymFromCode } from './claimcode';

export interface ConsentRow {
  id: number;
  subject: number;
  grantee: { Institution?: number; AnyWithRole?: string } | Record<string, unknown>;
  purposes: string[];
  categories: string[];
  valid_from_ms: number;
  valid_until_ms: number | null;
  max_uses: number | null;
  uses: number;
  status: string;
  granted_at_ms: number;
  block_number: number;
}

export interface AccessRow {
  id: number;
  institution: number;
  requested_by: string;
  subject: number | null;
  purpose: string;
  categories: string[];
  job_digest: string;
  consents: number[];
  emergency: string | null;
  state: string;
  deny_reason: string | null;
  result_digest: string | null;
  requested_at_ms: number;
  closed_at_ms: number | null;
  block_number: number;
  extrinsic_index: number | null;
}

// A pseudonym handed over as a link (`/app/#claim=<hex>`): read once, then removed from the
// address bar and history, so it is never in a URL the browser keeps or sends.
let handedPseudonym: string | null = null;
export function takeClaimLink(): void {
  const m = /^#claim=([0-9a-fA-Fx]+)$/.exec(location.hash);
  if (m) {
    handedPseudonym = m[1];
    history.replaceState(null, '', location.pathname);
  }
}

let institutionNames: Map<number, string> | null = null;
async function institutions(api: ApiPromise): Promise<Map<number, string>> {
  if (!institutionNames) {
    const entries = await api.query.identity.institutions.entries();
    institutionNames = new Map(
      entries.map(([k, v]) => {
        const inst = (v as unknown as { unwrap: () => { name: { toUtf8: () => string } } }).unwrap();
        return [Number(k.args[0].toString()), inst.name.toUtf8()];
      }),
    );
  }
  return institutionNames;
}
const instName = (m: Map<number, string>, id: number) => (m.has(id) ? `${m.get(id)} (#${id})` : `Institution #${id}`);

let poll: number | undefined;
const seenEmergencies = new Set<number>();
// The camera while the claim form reads a QR code: the page is re-rendered on every route change,
// lock and claim, each through stopPatient, so the camera never outlives the form showing it.
let scanning: AbortController | null = null;

function stopScan(): void {
  scanning?.abort();
  scanning = null;
}

export function stopPatient(): void {
  if (poll !== undefined) clearInterval(poll);
  poll = undefined;
  stopScan();
}

export async function renderPatient(root: HTMLElement, ctx: Ctx): Promise<void> {
  stopPatient();
  replace(root, h('h1', {}, 'My consent wallet'));
  const pair = wallet.current();
  if (!pair && !wallet.stored()) return void append(root, createOrImport(ctx));
  if (!pair) return void append(root, unlockView(ctx));
  append(root, keyPanel(ctx));
  if (!ctx.identity || !hasToken()) {
    const status = h('div');
    append(root, status);
    try {
      const api = await ctx.api();
      ctx.identity = await signIn(api, pair);
      ctx.rerender();
    } catch (e) {
      if (e instanceof ApiProblem && e.status === 403) {
        append(status, claimView(ctx));
      } else {
        showError(status, e);
      }
    }
    return;
  }
  if (ctx.identity.role !== 'patient') {
    append(root, h('p', {}, `This key signs for institution #${ctx.identity.institution} (${ctx.identity.role}); open the `, h('a', { href: '/app/clinic' }, 'clinician'), ' or ', h('a', { href: '/app/audit' }, 'auditor'), ' page.'));
    return;
  }
  const subject = ctx.identity.subject;
  const api = await ctx.api();
  const names = await ctx.names();
  const insts = await institutions(api);
  const alerts = h('div', { id: 'alerts' });
  const consents = h('section', { 'aria-labelledby': 'consents-h' });
  const timeline = h('section', { 'aria-labelledby': 'timeline-h' });
  append(root, alerts, consents, grantView(ctx, api, names, insts, subject, () => void refresh()), timeline, guardianView(api, subject), forgetView(ctx, api, subject));
  const refresh = async () => {
    try {
      const [c, a] = await Promise.all([
        getJson<{ items: ConsentRow[] }>('/v1/consents?limit=200'),
        getJson<{ items: AccessRow[] }>('/v1/access?limit=200'),
      ]);
      renderConsents(consents, ctx, api, names, insts, c.items, () => void refresh());
      renderTimeline(timeline, insts, a.items);
      renderAlerts(alerts, insts, a.items);
    } catch (e) {
      showError(timeline, e);
    }
  };
  await refresh();
  // Live: the index follows finalized blocks; ask again every few seconds.
  poll = window.setInterval(() => void refresh(), 3000);
}

function keyPanel(ctx: Ctx): HTMLElement {
  const pair = wallet.current()!;
  const err = h('div');
  const exportPass = h('input', { type: 'password', autocomplete: 'new-password' });
  const exportPjs = h('button', { type: 'button' }, 'Export for a browser extension (polkadot.js JSON)');
  exportPjs.addEventListener('click', () =>
    void busy(exportPjs, async () => {
      clearErrors(err);
      try {
        if (exportPass.value.length < 8) throw new Error('export passphrase: at least 8 characters');
        const json = await wallet.exportPolkadotJs(exportPass.value);
        download(`${pair.address}.json`, new Blob([json], { type: 'application/json' }));
      } catch (e) {
        showError(err, e);
      }
    }),
  );
  const exportCli = h('button', { type: 'button' }, 'Export for the consentry CLI (keystore file)');
  exportCli.addEventListener('click', () => {
    clearErrors(err);
    try {
      download('wallet.json', new Blob([wallet.exportConsentry()], { type: 'application/json' }));
    } catch (e) {
      showError(err, e);
    }
  });
  const lockBtn = h('button', { type: 'button' }, 'Lock');
  lockBtn.addEventListener('click', async () => {
    stopPatient();
    if (hasToken()) await signOut().catch(() => undefined);
    ctx.identity = null;
    wallet.lock();
    ctx.rerender();
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'key-h' },
    h('h2', { id: 'key-h' }, 'Your key'),
    h('p', {}, 'Address: ', h('span', { class: 'mono', id: 'address' }, pair.address)),
    pair.source === 'browser'
      ? h('p', { class: 'hint' }, 'The key stays in this browser, encrypted under your passphrase. Nothing but signatures leaves it.')
      : h('p', { class: 'hint', id: 'signer-source' }, `Signing with the ${pair.source} extension: it asks you to approve each signature.`),
    h('div', { class: 'row' }, lockBtn, pair.source === 'browser' ? exportCli : null),
    pair.source === 'browser' ? h('details', {}, h('summary', {}, 'Export to a browser extension'), field('Passphrase for the exported file', exportPass), exportPjs) : null,
    err,
  );
}

function createOrImport(ctx: Ctx): HTMLElement {
  // Create.
  const words = h('p', { class: 'mnemonic mono', id: 'mnemonic' });
  let mnemonic = '';
  const gen = h('button', { type: 'button', id: 'generate' }, 'Create a new key');
  const createErr = h('div');
  const p1 = h('input', { type: 'password', autocomplete: 'new-password', 'data-field': 'passphrase', id: 'new-pass' });
  const p2 = h('input', { type: 'password', autocomplete: 'new-password', id: 'new-pass2' });
  const wrote = h('input', { type: 'checkbox', id: 'wrote' });
  const save = h('button', { type: 'submit', id: 'save-key' }, 'Save the key in this browser');
  const createForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'create-h' },
    h('h2', { id: 'create-h' }, 'Create a key'),
    h('p', {}, 'A new key is 12 words. Write them down and keep them safe: they are the only way to recover your key.'),
    gen,
    words,
    h('div', { class: 'field check' }, wrote, h('label', { for: 'wrote' }, 'I have written the 12 words down')),
    field('Passphrase (to unlock the key in this browser)', p1, 'At least 8 characters.'),
    field('Passphrase again', p2),
    save,
    createErr,
  );
  gen.addEventListener('click', () => {
    mnemonic = wallet.newMnemonic();
    replace(words, mnemonic);
  });
  createForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(save, async () => {
      clearErrors(createErr, createForm);
      try {
        if (!mnemonic) throw new Error('press "Create a new key" first');
        if (!wrote.checked) throw new Error('confirm you have written the words down');
        if (p1.value !== p2.value) throw Object.assign(new ApiProblem(0, '', 'the two passphrases differ', 'passphrase'));
        await wallet.saveSecret(mnemonic, p1.value);
        ctx.rerender();
      } catch (e) {
        showError(createErr, e, createForm);
      }
    });
  });

  // Import a mnemonic.
  const secret = h('textarea', { rows: 2, autocomplete: 'off', spellcheck: 'false', 'data-field': 'mnemonic', id: 'import-secret' });
  const ip1 = h('input', { type: 'password', autocomplete: 'new-password', 'data-field': 'passphrase', id: 'import-pass' });
  const importBtn = h('button', { type: 'submit', id: 'import-key' }, 'Import');
  const importErr = h('div');
  const importForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'import-h' },
    h('h2', { id: 'import-h' }, 'Import a key'),
    field('Your 12 or 24 words (a secret URI with a //path is accepted too)', secret),
    field('New passphrase for this browser', ip1, 'At least 8 characters.'),
    importBtn,
    importErr,
  );
  importForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(importBtn, async () => {
      clearErrors(importErr, importForm);
      try {
        try {
          wallet.checkSecret(secret.value);
        } catch (e) {
          throw new ApiProblem(0, '', e instanceof Error ? e.message : String(e), 'mnemonic');
        }
        await wallet.saveSecret(secret.value, ip1.value);
        ctx.rerender();
      } catch (e) {
        showError(importErr, e, importForm);
      }
    });
  });

  // Import a file.
  const file = h('input', { type: 'file', accept: '.json,application/json', id: 'import-file' });
  const fp = h('input', { type: 'password', autocomplete: 'current-password', id: 'import-file-pass', 'data-field': 'passphrase' });
  const fileBtn = h('button', { type: 'submit', id: 'import-file-btn' }, 'Open the file');
  const fileErr = h('div');
  const fileForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'file-h' },
    h('h2', { id: 'file-h' }, 'Open a key file'),
    field('A keystore from `consentry wallet`, or a polkadot.js account file', file),
    field("The file's passphrase", fp),
    fileBtn,
    fileErr,
  );
  fileForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(fileBtn, async () => {
      clearErrors(fileErr, fileForm);
      try {
        const f = file.files?.[0];
        if (!f) throw new Error('choose a file');
        await wallet.importFile(await f.text(), fp.value);
        ctx.rerender();
      } catch (e) {
        showError(fileErr, e, fileForm);
      }
    });
  });
  const cards: HTMLElement[] = [createForm, importForm, fileForm];
  const exts = wallet.extensions();
  if (exts.length > 0) {
    const extErr = h('div');
    const buttons = exts.map((name) => {
      const b = h('button', { type: 'button', 'data-extension': name }, `Use ${name}`);
      b.addEventListener('click', () =>
        void busy(b, async () => {
          clearErrors(extErr);
          try {
            await wallet.connectExtension(name);
            ctx.rerender();
          } catch (e) {
            showError(extErr, e);
          }
        }),
      );
      return b;
    });
    cards.unshift(h('section', { class: 'card', 'aria-labelledby': 'ext-h' }, h('h2', { id: 'ext-h' }, 'Use your wallet extension'), h('p', {}, 'A wallet extension is installed in this browser. Its key signs; it never leaves the extension.'), h('div', { class: 'row' }, ...buttons), extErr));
  }
  return h('div', { class: 'grid' }, ...cards);
}

function unlockView(ctx: Ctx): HTMLElement {
  const pass = h('input', { type: 'password', autocomplete: 'current-password', id: 'unlock-pass', 'data-field': 'passphrase' });
  const btn = h('button', { type: 'submit', id: 'unlock' }, 'Unlock');
  const err = h('div');
  const remove = h('button', { type: 'button', class: 'danger' }, 'Remove the key from this browser');
  remove.addEventListener('click', () => {
    if (confirm('Remove the key from this browser? Without its words or an exported file it is lost.')) {
      wallet.forgetStoredKey();
      ctx.rerender();
    }
  });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'unlock-h' },
    h('h2', { id: 'unlock-h' }, 'Unlock your key'),
    h('p', {}, 'Address: ', h('span', { class: 'mono' }, wallet.storedAddress() ?? '')),
    field('Passphrase', pass),
    btn,
    err,
    remove,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(btn, async () => {
      clearErrors(err, form);
      try {
        await wallet.unlock(pass.value);
        ctx.rerender();
      } catch (e) {
        showError(err, new ApiProblem(0, '', e instanceof Error ? e.message : String(e), 'passphrase'), form);
      }
    });
  });
  return form;
}

function claimView(ctx: Ctx): HTMLElement {
  const pseudonym = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', id: 'pseudonym', 'data-field': 'pseudonym', class: 'mono' });
  if (handedPseudonym) pseudonym.value = handedPseudonym;
  const btn = h('button', { type: 'submit', id: 'claim' }, 'Claim');
  const err = h('div');
  const tx = txView();
  const camera = h('button', { type: 'button', id: 'scan-camera' }, 'Scan the QR code with the camera');
  const cancel = h('button', { type: 'button', id: 'scan-cancel', hidden: true }, 'Stop the camera');
  const video = h('video', { id: 'scan-video', class: 'scan-video', playsinline: true, 'aria-label': 'Camera view: hold the QR code in front of the camera', hidden: true });
  video.muted = true;
  const scanStatus = h('p', { class: 'hint', id: 'scan-status', role: 'status', 'aria-live': 'polite' });
  const image = h('input', { type: 'file', accept: 'image/*', id: 'claim-image', 'data-field': 'image file' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'claim-h' },
    h('h2', { id: 'claim-h' }, 'Claim your enrolment'),
    h('p', {}, 'The chain does not know this key yet. Your hospital enrolled you under a pseudonym and gave it to you (as a QR code, a link or 64 digits): scan it or enter it to link it to this key.'),
    field('Pseudonym (64 hexadecimal digits)', pseudonym),
    h('div', { class: 'row' }, camera, cancel),
    video,
    scanStatus,
    field('Or read the QR code from a photo or an image file', image),
    btn,
    tx.el,
    err,
  );
  // The code's content goes into the field only once it passes the typed path's check; it is
  // never put in a URL or logged.
  const fill = (text: string) => {
    pseudonym.value = pseudonymFromCode(text, location.origin);
    replace(scanStatus, 'Pseudonym read from the code. Check it, then press Claim.');
    btn.focus();
  };
  camera.addEventListener('click', () =>
    void busy(camera, async () => {
      clearErrors(err, form);
      stopScan();
      const ctl = new AbortController();
      scanning = ctl;
      try {
        const { scanCamera } = await import('./qrscan');
        if (ctl.signal.aborted) return;
        replace(scanStatus, 'Starting the camera…');
        video.hidden = false;
        cancel.hidden = false;
        const scan = await scanCamera(video, ctl.signal);
        replace(scanStatus, 'Hold the QR code in front of the camera.');
        const text = await scan.found;
        if (text === null) replace(scanStatus, 'Camera stopped.');
        else fill(text);
      } catch (e) {
        replace(scanStatus);
        showError(err, e, form);
      } finally {
        video.hidden = true;
        cancel.hidden = true;
        if (scanning === ctl) scanning = null;
      }
    }),
  );
  cancel.addEventListener('click', () => {
    stopScan();
    camera.focus();
  });
  image.addEventListener('change', () => {
    const file = image.files?.[0];
    if (!file) return;
    stopScan();
    clearErrors(err, form);
    replace(scanStatus);
    void import('./qrscan')
      .then(({ decodeFile }) => decodeFile(file))
      .then(fill)
      .catch((e) => showError(err, e, form));
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    stopScan();
    void busy(btn, async () => {
      clearErrors(err, form);
      try {
        const value = checkPseudonym(pseudonym.value);
        const api = await ctx.api();
        await send(api, api.tx.identity.claim(claimArg(value)), wallet.current()!, tx.update);
        handedPseudonym = null;
        ctx.rerender();
      } catch (e) {
        showError(err, e, form);
      }
    });
  });
  return form;
}

function scopeChecks(kind: 'purposes' | 'categories', all: string[], checked: string[], allowed?: string[]): { el: HTMLElement; value: () => string[] } {
  const explain = kind === 'purposes' ? explainPurpose : explainCategory;
  const boxes = all.map((n) => {
    const id = `${kind}-${n}-${Math.random().toString(36).slice(2, 7)}`;
    const box = h('input', { type: 'checkbox', id, value: n, name: kind, 'data-name': n });
    box.checked = checked.includes(n);
    if (allowed && !allowed.includes(n)) box.disabled = true;
    return { n, box, el: h('div', { class: 'check' }, box, h('label', { for: id }, h('strong', {}, label(n)), explain(n) ? ` — ${explain(n)}` : '')) };
  });
  const el = h('fieldset', { 'data-field': kind, tabindex: '-1' }, h('legend', {}, kind === 'purposes' ? 'For which purposes' : 'Which data'), ...boxes.map((b) => b.el));
  return { el, value: () => boxes.filter((b) => b.box.checked).map((b) => b.n) };
}

function grantView(ctx: Ctx, api: ApiPromise, names: Names, insts: Map<number, string>, subject: number, done: () => void): HTMLElement {
  const inst = h('select', { id: 'grant-institution', 'data-field': 'institution' }, ...[...insts.entries()].map(([id]) => h('option', { value: id }, instName(insts, id))));
  const purposes = scopeChecks('purposes', names.purposes, []);
  const categories = scopeChecks('categories', names.categories, []);
  const days = h('input', { type: 'number', min: 1, max: 3650, value: 30, id: 'grant-days', 'data-field': 'period' });
  const uses = h('input', { type: 'number', min: 1, id: 'grant-uses', 'data-field': 'max uses' });
  const btn = h('button', { type: 'submit', id: 'grant' }, 'Grant consent');
  const err = h('div');
  const tx = txView();
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'grant-h' },
    h('h2', { id: 'grant-h' }, 'Give consent'),
    field('Who may use your data', inst),
    purposes.el,
    categories.el,
    field('For how many days', days),
    field('At most this many uses (leave empty for no limit)', uses),
    btn,
    tx.el,
    err,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(btn, async () => {
      clearErrors(err, form);
      try {
        const p = purposes.value();
        const c = categories.value();
        if (p.length === 0) throw new ApiProblem(0, '', 'choose at least one purpose', 'purposes');
        if (c.length === 0) throw new ApiProblem(0, '', 'choose at least one category of data', 'categories');
        const d = Number(days.value);
        if (!Number.isInteger(d) || d < 1) throw new ApiProblem(0, '', 'a whole number of days, at least 1', 'period');
        const u = uses.value.trim() === '' ? null : Number(uses.value);
        if (u !== null && (!Number.isInteger(u) || u < 1)) throw new ApiProblem(0, '', 'a whole number, at least 1, or empty', 'max uses');
        const until = Date.now() + d * 86_400_000;
        const call = api.tx.consent.grant(subject, { Institution: Number(inst.value) }, mask(names.purposes, p), mask(names.categories, c), null, until, u);
        await send(api, call, wallet.current()!, tx.update);
        done();
      } catch (e) {
        showError(err, e, form);
      }
    });
  });
  void ctx;
  return form;
}

function renderConsents(el: HTMLElement, ctx: Ctx, api: ApiPromise, names: Names, insts: Map<number, string>, rows: ConsentRow[], done: () => void): void {
  // Keep an open amend form across refreshes.
  if (el.querySelector('form[data-open]')) return;
  const granteeName = (g: ConsentRow['grantee']) => ('Institution' in g && typeof g.Institution === 'number' ? instName(insts, g.Institution) : `Any ${JSON.stringify(g)}`);
  replace(
    el,
    h('h2', { id: 'consents-h' }, 'My consents'),
    rows.length === 0
      ? h('p', {}, 'No consent yet.')
      : h(
          'ul',
          { class: 'consents' },
          ...rows.map((c) =>
            h(
              'li',
              { class: `card consent status-${c.status}`, 'data-consent': c.id },
              h('h3', {}, `#${c.id} — ${granteeName(c.grantee)}`, h('span', { class: `badge ${c.status}` }, c.status)),
              h('p', {}, h('strong', {}, 'Purposes: '), c.purposes.map(label).join(', ')),
              h('p', {}, h('strong', {}, 'Data: '), c.categories.map(label).join(', ')),
              h('p', {}, h('strong', {}, 'Period: '), `${localTime(c.valid_from_ms)} – ${c.valid_until_ms ? localTime(c.valid_until_ms) : 'no end'}`),
              h('p', {}, h('strong', {}, 'Uses: '), c.max_uses === null ? `no limit` : `${c.uses} of ${c.max_uses}`),
              c.status === 'active' ? consentActions(ctx, api, names, c, done) : null,
            ),
          ),
        ),
  );
}

function consentActions(ctx: Ctx, api: ApiPromise, names: Names, c: ConsentRow, done: () => void): HTMLElement {
  const err = h('div');
  const tx = txView();
  const revoke = h('button', { type: 'button', class: 'danger', 'data-action': 'revoke' }, 'Revoke');
  revoke.addEventListener('click', () => {
    if (!confirm(`Revoke consent #${c.id}? Institutions lose access from the next block. This cannot be undone (grant anew instead).`)) return;
    void busy(revoke, async () => {
      clearErrors(err);
      try {
        await send(api, api.tx.consent.revoke(c.id), wallet.current()!, tx.update);
        done();
      } catch (e) {
        showError(err, e);
      }
    });
  });
  const amend = h('details', {}, h('summary', { 'data-action': 'amend' }, 'Narrow (amend)'));
  const purposes = scopeChecks('purposes', names.purposes, c.purposes, c.purposes);
  const categories = scopeChecks('categories', names.categories, c.categories, c.categories);
  const until = h('input', { type: 'date', 'data-field': 'period' });
  const uses = h('input', { type: 'number', min: 1, 'data-field': 'max uses', value: c.max_uses ?? '' });
  const apply = h('button', { type: 'submit' }, 'Apply the narrower consent');
  const form = h(
    'form',
    {},
    h('p', { class: 'hint' }, 'A consent can only be narrowed: fewer purposes or data, an earlier end, fewer uses. To widen it, grant a new one.'),
    purposes.el,
    categories.el,
    field('New end date (optional, earlier than the current end)', until),
    field('At most this many uses', uses),
    apply,
  );
  amend.addEventListener('toggle', () => (amend.open ? form.setAttribute('data-open', '') : form.removeAttribute('data-open')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(apply, async () => {
      clearErrors(err, form);
      try {
        const p = purposes.value();
        const k = categories.value();
        if (p.length === 0) throw new ApiProblem(0, '', 'keep at least one purpose (revoke instead)', 'purposes');
        if (k.length === 0) throw new ApiProblem(0, '', 'keep at least one category of data (revoke instead)', 'categories');
        let end: number | null = c.valid_until_ms;
        if (until.value) {
          end = new Date(`${until.value}T23:59:59`).getTime();
          if (c.valid_until_ms !== null && end > c.valid_until_ms) throw new ApiProblem(0, '', 'the new end must be earlier than the current one', 'period');
        }
        const u = uses.value.trim() === '' ? null : Number(uses.value);
        if (u !== null && (!Number.isInteger(u) || u < 1)) throw new ApiProblem(0, '', 'a whole number, at least 1', 'max uses');
        await send(api, api.tx.consent.amend(c.id, mask(names.purposes, p), mask(names.categories, k), end, u), wallet.current()!, tx.update);
        form.removeAttribute('data-open');
        amend.open = false;
        done();
      } catch (e) {
        showError(err, e, form);
      }
    });
  });
  append(amend, form);
  void ctx;
  return h('div', { class: 'actions' }, revoke, amend, tx.el, err);
}

function stateText(r: AccessRow): string {
  if (r.state === 'denied') return `denied${r.deny_reason ? ` (${label(r.deny_reason)})` : ''}`;
  return r.state;
}

function renderTimeline(el: HTMLElement, insts: Map<number, string>, rows: AccessRow[]): void {
  const exportCsv = h('button', { type: 'button', id: 'export-csv' }, 'Export CSV (UTC)');
  const exportFhir = h('button', { type: 'button', id: 'export-fhir' }, 'Export FHIR (UTC)');
  const err = h('div');
  const exp = (fmt: string, name: string) => async () => {
    try {
      const resp = await request('GET', `/v1/export/access?format=${fmt}`);
      download(name, await resp.blob());
    } catch (e) {
      showError(err, e);
    }
  };
  exportCsv.addEventListener('click', exp('csv', 'accesses.csv'));
  exportFhir.addEventListener('click', exp('fhir', 'accesses.fhir.json'));
  replace(
    el,
    h('h2', { id: 'timeline-h' }, 'Who accessed my data'),
    h('p', { class: 'hint' }, 'Every request for your data is on the ledger, granted or denied. Updated as blocks are finalized; times are local.'),
    h('div', { class: 'row' }, exportCsv, exportFhir),
    err,
    rows.length === 0
      ? h('p', {}, 'No access yet.')
      : h(
          'table',
          { class: 'timeline' },
          h('caption', {}, `${rows.length} access record(s), newest first`),
          h('thead', {}, h('tr', {}, ...['When', 'Who', 'Purpose', 'Data', 'Outcome', 'Record'].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            {},
            ...rows.map((r) =>
              h(
                'tr',
                { class: `state-${r.state}${r.emergency ? ' emergency' : ''}`, 'data-record': r.id },
                h('td', {}, localTime(r.requested_at_ms)),
                h('td', {}, instName(insts, r.institution)),
                h('td', {}, label(r.purpose)),
                h('td', {}, r.categories.map(label).join(', ')),
                h('td', {}, r.emergency ? h('strong', {}, `EMERGENCY — ${stateText(r)}`) : stateText(r), r.emergency ? h('div', { class: 'mono small' }, `justification ${r.emergency}`) : null),
                h('td', {}, `#${r.id}, block ${r.block_number}`),
              ),
            ),
          ),
        ),
  );
}

function renderAlerts(el: HTMLElement, insts: Map<number, string>, rows: AccessRow[]): void {
  const fresh = rows.filter((r) => r.emergency && !seenEmergencies.has(r.id));
  if (fresh.length === 0) return replace(el);
  const ack = h('button', { type: 'button' }, 'I have seen this');
  ack.addEventListener('click', () => {
    fresh.forEach((r) => seenEmergencies.add(r.id));
    replace(el);
  });
  replace(
    el,
    h(
      'div',
      { class: 'alert', role: 'alert' },
      h('h2', {}, 'Emergency access to your data'),
      h('ul', {}, ...fresh.map((r) => h('li', {}, `${localTime(r.requested_at_ms)}: ${instName(insts, r.institution)} read ${r.categories.map(label).join(', ')} without consent, citing an emergency (justification ${r.emergency}).`))),
      ack,
    ),
  );
}

function guardianView(api: ApiPromise, subject: number): HTMLElement {
  const who = h('input', { type: 'text', autocomplete: 'off', class: 'mono', 'data-field': 'guardian', id: 'guardian' });
  const add = h('button', { type: 'button' }, 'Appoint');
  const rm = h('button', { type: 'button' }, 'Remove');
  const err = h('div');
  const tx = txView();
  const form = h('form', { class: 'card', 'aria-labelledby': 'guardian-h' }, h('h2', { id: 'guardian-h' }, 'Guardian'), h('p', { class: 'hint' }, 'A guardian can manage your consents for you. Give their wallet address.'), field('Guardian address', who), h('div', { class: 'row' }, add, rm), tx.el, err);
  form.addEventListener('submit', (ev) => ev.preventDefault());
  const run = (btn: HTMLButtonElement, appoint: boolean) => () =>
    void busy(btn, async () => {
      clearErrors(err, form);
      try {
        const a = who.value.trim();
        try {
          api.createType('AccountId32', a);
        } catch {
          throw new ApiProblem(0, '', `'${a}' is not an account address`, 'guardian');
        }
        const call = appoint ? api.tx.identity.appointGuardian(a) : api.tx.identity.removeGuardian(subject, a);
        await send(api, call, wallet.current()!, tx.update);
      } catch (e) {
        showError(err, e, form);
      }
    });
  add.addEventListener('click', run(add, true));
  rm.addEventListener('click', run(rm, false));
  return form;
}

function forgetView(ctx: Ctx, api: ApiPromise, subject: number): HTMLElement {
  const confirmText = h('input', { type: 'text', autocomplete: 'off', id: 'forget-confirm', 'data-field': 'confirmation' });
  const btn = h('button', { type: 'submit', class: 'danger' }, 'Forget me');
  const err = h('div');
  const tx = txView();
  const form = h(
    'form',
    { class: 'card danger-zone', 'aria-labelledby': 'forget-h' },
    h('h2', { id: 'forget-h' }, 'Forget me'),
    h('p', {}, h('strong', {}, 'Warning: '), 'this ends every consent, unlinks your pseudonyms from this key (enrolments you have not claimed yet included) and marks you erased. Institutions can no longer be granted access to your data. It cannot be undone. The access history stays on the ledger.'),
    field('Type "forget me" to confirm', confirmText),
    btn,
    tx.el,
    err,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(btn, async () => {
      clearErrors(err, form);
      try {
        if (confirmText.value.trim() !== 'forget me') throw new ApiProblem(0, '', 'type "forget me" exactly', 'confirmation');
        await send(api, api.tx.identity.forget(subject), wallet.current()!, tx.update);
        stopPatient();
        await signOut().catch(() => undefined);
        ctx.identity = null;
        ctx.rerender();
      } catch (e) {
        showError(err, e, form);
      }
    });
  });
  return form;
}
