// The app's shell: reads the API's configuration (/app/config.json), connects to the chain
// through the API's RPC proxy lazily, routes between the patient's wallet, the auditor's and the
// clinician's pages. Routes are paths (/app/, /app/audit, /app/clinic); nothing secret or
// identifying (no pseudonym, no key) is ever put in a URL.
import './styles.css';
import type { ApiPromise } from '@polkadot/api';
import { h, replace } from './dom';
import { chain } from './chain';
import { checkAgainstChain, loadNames, type Names } from './names';
import { renderPatient, stopPatient, takeClaimLink } from './patient';
import { showError, type Ctx } from './ui';
import { signOut } from './session';
import * as wallet from './wallet';

const AUTO_LOCK_MS = 15 * 60_000;

interface Config {
  rpc: string;
  api: string;
  verify_nodes?: string[];
}

async function boot(): Promise<void> {
  const main = document.getElementById('main')!;
  let config: Config;
  try {
    const r = await fetch('/app/config.json', { credentials: 'omit' });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    config = (await r.json()) as Config;
  } catch (e) {
    replace(main, h('h1', {}, 'Consentry'));
    showError(main, new Error(`the API's configuration cannot be read (${String(e)})`));
    return;
  }
  takeClaimLink();
  let names: Promise<Names> | null = null;
  let api: Promise<ApiPromise> | null = null;
  const ctx: Ctx = {
    rpc: config.rpc,
    api: () => (api ??= chain(config.rpc).catch((e) => { api = null; throw e; })),
    names: () =>
      (names ??= Promise.all([loadNames(), ctx.api()]).then(([n, a]) => {
        checkAgainstChain(a, n);
        return n;
      }).catch((e) => { names = null; throw e; })),
    identity: null,
    rerender: () => void render(),
  };
  const route = () => {
    const p = location.pathname.replace(/^\/app\/?/, '');
    return p.startsWith('audit') ? 'audit' : p.startsWith('clinic') ? 'clinic' : 'patient';
  };
  async function render(): Promise<void> {
    const r = route();
    document.querySelectorAll<HTMLAnchorElement>('nav a').forEach((a) => (a.dataset.route === r ? a.setAttribute('aria-current', 'page') : a.removeAttribute('aria-current')));
    stopPatient();
    try {
      if (r === 'patient') {
        document.title = 'My consent wallet — Consentry';
        await renderPatient(main, ctx);
      } else {
        const mod = r === 'audit' ? await import('./audit') : await import('./clinic');
        await mod.render(main, ctx);
      }
    } catch (e) {
      showError(main, e);
    }
  }
  document.querySelectorAll<HTMLAnchorElement>('nav a').forEach((a) =>
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      history.pushState(null, '', a.href);
      void render().then(() => main.focus());
    }),
  );
  window.addEventListener('popstate', () => void render());
  // Auto-lock: after AUTO_LOCK_MS without a key press or a click, the key is forgotten from
  // memory and the session ended; the passphrase unlocks it again.
  let last = Date.now();
  for (const ev of ['keydown', 'pointerdown']) window.addEventListener(ev, () => (last = Date.now()), { passive: true });
  window.setInterval(() => {
    if (Date.now() - last > AUTO_LOCK_MS && wallet.current()) {
      wallet.lock();
      ctx.identity = null;
      void signOut().catch(() => undefined).then(() => render());
    }
  }, 30_000);
  await render();
}

void boot();
