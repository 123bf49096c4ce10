// The auditor's dashboard: per-institution summaries (a chart with its table), a paged ledger
// search with exports, and the in-browser verification of any record against a node the auditor
// picks. Signs in with the auditor institution's service key, kept as the wallet page keeps keys.
import { append, download, field, h, localTime, replace } from './dom';
import { ApiProblem, getJson, hasToken, request } from './http';
import { label, type Names } from './names';
import type { AccessRow } from './patient';
import { signIn } from './session';
import { bars } from './svgchart';
import { busy, clearErrors, showError, type Ctx } from './ui';
import { verify, type ProofDoc } from './verify';
import * as wallet from './wallet';

interface Counts { total: number; granted: number; denied: number; completed: number; failed: number; aborted: number; emergency: number }
// Per institution the counts are flattened beside its id (api/indexer's InstitutionSummary).
interface Summary { total: Counts; institutions: (Counts & { institution: number })[] }

const STATES = ['granted', 'denied', 'emergency', 'completed', 'failed', 'aborted'];

export async function render(root: HTMLElement, ctx: Ctx): Promise<void> {
  document.title = 'Auditor — Consentry';
  replace(root, h('h1', {}, 'Audit the ledger'));
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
    append(root, h('p', {}, 'This key is a patient’s; the ledger is audited with an auditor institution’s service key.'));
    return;
  }
  append(root, h('p', {}, `Signed in for institution #${ctx.identity.institution} (${ctx.identity.role}).`));
  const names = await ctx.names();
  const summary = h('section', { 'aria-labelledby': 'summary-h' });
  append(root, summary, searchView(ctx, names));
  try {
    const s = await getJson<Summary>('/v1/summary');
    renderSummary(summary, s);
    append(summary, overTimeView(s.institutions.map((i) => i.institution)));
  } catch (e) {
    showError(summary, e);
  }
}

/** The over-time chart of every institution's records, or of the one the auditor picks. */
function overTimeView(institutions: number[]): HTMLElement {
  const pick = h('select', { id: 'over-time-institution', 'data-field': 'institution' }, h('option', { value: '' }, 'every institution'), ...institutions.map((i) => h('option', { value: String(i) }, `institution #${i}`)));
  const chart = h('div', {});
  const load = async () => {
    const q = new URLSearchParams({ limit: '1000' });
    if (pick.value) q.set('institution', pick.value);
    try {
      const recent = await getJson<{ items: AccessRow[] }>(`/v1/access?${q}`);
      replace(chart, overTime(recent.items, pick.value ? `institution #${pick.value}` : 'every institution'));
    } catch (e) {
      replace(chart);
      showError(chart, e);
    }
  };
  pick.addEventListener('change', () => void load());
  void load();
  return h('div', {}, field('Records over time of', pick), chart);
}

/** Accesses, denials and emergency accesses per hour (per day over spans of two days or more) of
 *  the latest records of `whose`, as a chart and its table. */
function overTime(rows: AccessRow[], whose: string): HTMLElement {
  if (rows.length === 0) return h('p', { id: 'over-time' }, `No access record of ${whose} yet.`);
  const times = rows.map((r) => r.requested_at_ms);
  const daily = Math.max(...times) - Math.min(...times) >= 2 * 86_400_000;
  const bucket = (ms: number) => {
    const d = new Date(ms);
    return daily ? d.toLocaleDateString() : `${d.toLocaleDateString()} ${String(d.getHours()).padStart(2, '0')}:00`;
  };
  const keys: string[] = [];
  const counts = new Map<string, { accesses: number; denied: number; emergency: number }>();
  for (const r of [...rows].sort((a, b) => a.requested_at_ms - b.requested_at_ms)) {
    const k = bucket(r.requested_at_ms);
    if (!counts.has(k)) {
      counts.set(k, { accesses: 0, denied: 0, emergency: 0 });
      keys.push(k);
    }
    const c = counts.get(k)!;
    if (r.state === 'denied') c.denied += 1;
    else c.accesses += 1;
    if (r.emergency) c.emergency += 1;
  }
  const col = (f: 'accesses' | 'denied' | 'emergency') => keys.map((k) => counts.get(k)![f]);
  return h(
    'div',
    { id: 'over-time' },
    h('h3', {}, `Over time: ${whose} (the latest ${rows.length} records, per ${daily ? 'day' : 'hour'}, local time)`),
    bars(`Accesses, denials and emergency accesses of ${whose} per ${daily ? 'day' : 'hour'}`, keys, [
      { name: 'accesses', values: col('accesses'), cls: 'series-ok' },
      { name: 'denied', values: col('denied'), cls: 'series-denied' },
      { name: 'emergency', values: col('emergency'), cls: 'series-emergency' },
    ]),
    h(
      'table',
      {},
      h('caption', {}, 'The same counts as a table'),
      h('thead', {}, h('tr', {}, ...['Period', 'accesses', 'denied', 'emergency'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...keys.map((k) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, counts.get(k)!.accesses), h('td', {}, counts.get(k)!.denied), h('td', {}, counts.get(k)!.emergency)))),
    ),
  );
}

function renderSummary(el: HTMLElement, s: Summary): void {
  const cols: (keyof Counts)[] = ['total', 'granted', 'completed', 'denied', 'emergency', 'failed', 'aborted'];
  replace(
    el,
    h('h2', { id: 'summary-h' }, 'Accesses per institution'),
    bars(
      'Access records per institution: completed, denied and emergency',
      s.institutions.map((i) => `#${i.institution}`),
      [
        { name: 'completed', values: s.institutions.map((i) => i.completed), cls: 'series-ok' },
        { name: 'denied', values: s.institutions.map((i) => i.denied), cls: 'series-denied' },
        { name: 'emergency', values: s.institutions.map((i) => i.emergency), cls: 'series-emergency' },
      ],
    ),
    h(
      'table',
      { id: 'summary-table' },
      h('caption', {}, 'The same counts as a table'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Institution'), ...cols.map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        ...s.institutions.map((i) => h('tr', {}, h('th', { scope: 'row' }, `#${i.institution}`), ...cols.map((c) => h('td', {}, i[c])))),
        h('tr', {}, h('th', { scope: 'row' }, 'All'), ...cols.map((c) => h('td', {}, s.total[c]))),
      ),
    ),
  );
}

function searchView(ctx: Ctx, names: Names): HTMLElement {
  const pseudonym = h('input', { type: 'text', autocomplete: 'off', class: 'mono', id: 'q-pseudonym', 'data-field': 'pseudonym' });
  const institution = h('input', { type: 'number', min: 0, id: 'q-institution', 'data-field': 'institution' });
  const purpose = h('select', { id: 'q-purpose', 'data-field': 'purpose' }, h('option', { value: '' }, 'any'), ...names.purposes.map((p) => h('option', { value: p }, label(p))));
  const state = h('select', { id: 'q-state', 'data-field': 'state' }, h('option', { value: '' }, 'any'), ...STATES.map((s) => h('option', { value: s }, s)));
  const from = h('input', { type: 'date', id: 'q-from', 'data-field': 'from_ms' });
  const to = h('input', { type: 'date', id: 'q-to', 'data-field': 'to_ms' });
  const go = h('button', { type: 'submit', id: 'search' }, 'Search');
  const err = h('div');
  const results = h('div', { id: 'results' });
  const verifyPanel = h('section', { 'aria-labelledby': 'verify-h', class: 'card', id: 'verify' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'search-h', role: 'search' },
    h('h2', { id: 'search-h' }, 'Search the ledger'),
    h('div', { class: 'grid' }, field('Patient pseudonym (64 hex digits)', pseudonym), field('Institution id', institution), field('Purpose', purpose), field('State', state), field('Requested from (local date)', from), field('Requested before (local date)', to)),
    go,
    err,
  );
  const query = (): URLSearchParams => {
    const q = new URLSearchParams();
    const p = pseudonym.value.trim();
    if (p) {
      if (!/^(0x)?[0-9a-fA-F]{64}$/.test(p)) throw new ApiProblem(0, '', 'a pseudonym is 64 hexadecimal digits', 'pseudonym');
      q.set('pseudonym', p);
    }
    if (institution.value) q.set('institution', institution.value);
    if (purpose.value) q.set('purpose', purpose.value);
    if (state.value) q.set('state', state.value);
    if (from.value) q.set('from_ms', String(new Date(`${from.value}T00:00:00`).getTime()));
    if (to.value) q.set('to_ms', String(new Date(`${to.value}T00:00:00`).getTime() + 86_400_000));
    return q;
  };
  const load = async (cursor?: string) => {
    const q = query();
    q.set('limit', '25');
    if (cursor) q.set('cursor', cursor);
    const page = await getJson<{ items: AccessRow[]; next_cursor: string | null }>(`/v1/access?${q}`);
    renderResults(results, ctx, page.items, verifyPanel, cursor !== undefined);
    if (page.next_cursor) {
      const more = h('button', { type: 'button', id: 'next-page' }, 'Next page');
      more.addEventListener('click', () => void busy(more, () => load(page.next_cursor!).catch((e) => showError(err, e, form))));
      append(results, more);
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(go, async () => {
      clearErrors(err, form);
      try {
        await load();
      } catch (e) {
        showError(err, e, form);
      }
    });
  });
  const exp = (fmt: string, name: string) => {
    const b = h('button', { type: 'button', id: `export-${fmt}` }, `Export ${fmt.toUpperCase()} (UTC)`);
    b.addEventListener('click', () =>
      void busy(b, async () => {
        clearErrors(err, form);
        try {
          const q = query();
          q.set('format', fmt);
          download(name, await (await request('GET', `/v1/export/access?${q}`)).blob());
        } catch (e) {
          showError(err, e, form);
        }
      }),
    );
    return b;
  };
  append(form, h('div', { class: 'row' }, exp('csv', 'ledger.csv'), exp('fhir', 'ledger.fhir.json')));
  return h('div', {}, form, results, verifyPanel);
}

function renderResults(el: HTMLElement, ctx: Ctx, rows: AccessRow[], panel: HTMLElement, paged: boolean): void {
  replace(
    el,
    rows.length === 0
      ? h('p', {}, 'No record matches.')
      : h(
          'table',
          { class: 'ledger' },
          h('caption', {}, `${rows.length} record(s)${paged ? ' (later page)' : ''}, newest first; times are local`),
          h('thead', {}, h('tr', {}, ...['Id', 'When', 'Institution', 'Purpose', 'Data', 'State', 'Block', ''].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            {},
            ...rows.map((r) => {
              const v = h('button', { type: 'button', 'data-verify': r.id }, `Verify #${r.id}`);
              v.addEventListener('click', () => void verifyView(panel, ctx, r.id));
              return h(
                'tr',
                { class: `state-${r.state}${r.emergency ? ' emergency' : ''}`, 'data-record': r.id },
                h('td', {}, r.id),
                h('td', {}, localTime(r.requested_at_ms)),
                h('td', {}, `#${r.institution}`),
                h('td', {}, label(r.purpose)),
                h('td', {}, r.categories.map(label).join(', ')),
                h('td', {}, r.state === 'denied' && r.deny_reason ? `denied (${label(r.deny_reason)})` : r.state, r.emergency ? ' — emergency' : ''),
                h('td', {}, r.block_number),
                h('td', {}, v),
              );
            }),
          ),
        ),
  );
}

let configNodes: string[] | null = null;
async function nodes(): Promise<string[]> {
  if (!configNodes) {
    const c = (await (await fetch('/app/config.json')).json()) as { verify_nodes?: string[] };
    configNodes = c.verify_nodes ?? [];
  }
  return configNodes;
}

async function verifyView(panel: HTMLElement, ctx: Ctx, id: number): Promise<void> {
  // The allowed nodes are known before the field is shown: filled in later, the first one would
  // land in the middle of what the auditor is typing.
  let ns: string[] = [];
  try {
    ns = await nodes();
  } catch {
    // No list: the auditor types the node.
  }
  const node = h('input', { type: 'url', id: 'verify-node', 'data-field': 'node', list: 'verify-nodes', value: ns[0] ?? '' });
  const list = h('datalist', { id: 'verify-nodes' }, ...ns.map((n) => h('option', { value: n })));
  const go = h('button', { type: 'button', id: 'verify-go' }, `Check record #${id}`);
  const out = h('div', { id: 'verify-result', role: 'status', 'aria-live': 'polite' });
  replace(
    panel,
    h('h2', { id: 'verify-h' }, `Verify record #${id} in this browser`),
    h('p', { class: 'hint' }, 'The proof comes from the API; the block header comes from the node you choose here. This page checks that the block is final on that node, that the proof holds against the header’s state root, and that the proven value is record #', String(id), '. Trust the node you choose, not the API.'),
    field('Node (its HTTP JSON-RPC URL)', node, 'Nodes this page may reach are listed; a node not allowed by the page’s policy cannot be reached.'),
    list,
    go,
    out,
  );
  go.addEventListener('click', () =>
    void busy(go, async () => {
      clearErrors(out, panel);
      try {
        const n = node.value.trim();
        if (!n) throw new ApiProblem(0, '', 'choose a node', 'node');
        const doc = await getJson<ProofDoc>(`/v1/access/${id}/proof`);
        const v = await verify(await ctx.api(), doc, id, n);
        replace(
          out,
          h('p', { class: 'verified', 'data-verified': 'true' }, `Verified: record #${v.id} is in the state of finalized block #${v.block} (${v.blockHash}), whose header came from ${v.node}.`),
          h('pre', { class: 'mono small' }, JSON.stringify(v.record, null, 2)),
        );
      } catch (e) {
        replace(out);
        showError(out, e, panel);
        out.firstElementChild?.setAttribute('data-verified', 'false');
      }
    }),
  );
  node.focus();
}
