// The real system for the browser tests: a `--dev` node (its own temporary chain), the hospital's
// patient store with synthetic patients, its worker (//Bob, institution 0) and `consentry-api`
// serving the built app (`--web-dir dist`) with its indexer, all on free loopback ports, all from
// the workspace's release binaries (`$CARGO_TARGET_DIR/release`). Nothing is mocked.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
export const webRoot = path.resolve(here, '..');
const target = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache/consentry-target');
export const bin = (name) => path.join(target, 'release', name);

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what, probe, ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Runs the `consentry` CLI; returns stdout. */
export function consentry(args, env = {}) {
  return execFileSync(bin('consentry'), args, {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function startStack({ webDir = path.join(webRoot, 'dist'), log = process.env.CONSENTRY_STACK_LOG, publicUrl } = {}) {
  for (const b of ['consentry-node', 'consentry-api', 'consentry-worker', 'consentry']) {
    if (!fs.existsSync(bin(b))) throw new Error(`${bin(b)} is missing: build the workspace (cargo build --release --workspace)`);
  }
  if (webDir && !fs.existsSync(path.join(webDir, 'index.html'))) throw new Error(`${webDir} has no index.html: npm run build`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-web-'));
  const [rpcPort, apiPort, workerPort, p2pPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const out = log ? fs.openSync(log, 'a') : 'ignore';
  const children = [];
  const run = (name, args) => {
    const child = spawn(bin(name), args, { stdio: ['ignore', out, out] });
    children.push(child);
    return child;
  };
  const nodeWs = `ws://127.0.0.1:${rpcPort}`;
  const node = run('consentry-node', ['--dev', '--base-path', path.join(dir, 'chain'), '--rpc-port', String(rpcPort),
    '--port', String(p2pPort), '--no-prometheus', '--no-telemetry', '--rpc-cors', 'all']);
  await waitFor('the node', async () => {
    const r = await fetch(`http://127.0.0.1:${rpcPort}`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 1, jsonrpc: '2.0', method: 'chain_getFinalizedHead', params: [] }) });
    return r.ok;
  });

  const pepper = path.join(dir, 'pepper.key');
  consentry(['institution', 'pepper', 'new', pepper]);
  consentry(['synth', '--count', '4', '--seed', '1', '--out', path.join(dir, 'synth')]);
  const synthFiles = fs.readdirSync(path.join(dir, 'synth')).map((f) => path.join(dir, 'synth', f));
  consentry(['ingest', '--store', path.join(dir, 'patients.sqlite'), '--pepper-file', pepper, ...synthFiles]);
  const token = path.join(dir, 'worker.token');
  fs.writeFileSync(token, 'web-e2e-' + Math.random().toString(16).slice(2).padEnd(24, '0'), { mode: 0o600 });
  run('consentry-worker', ['--node', nodeWs, '--store', path.join(dir, 'patients.sqlite'), '--jobs', path.join(dir, 'jobs.sqlite'),
    '--listen', `127.0.0.1:${workerPort}`, '--dev', '--key-uri', '//Bob', '--api-token-file', token]);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  run('consentry-api', ['--node', nodeWs, '--database', `sqlite://${path.join(dir, 'index.db')}?mode=rwc`,
    '--listen', `127.0.0.1:${apiPort}`, '--public-url', publicUrl ?? apiUrl, ...(webDir ? ['--web-dir', webDir, '--web-verify-node', `http://127.0.0.1:${rpcPort}`] : []),
    '--worker-url', `http://127.0.0.1:${workerPort}`, '--worker-institution', '0', '--worker-token-file', token]);
  await waitFor('the API', async () => (await fetch(`${apiUrl}/ready`)).ok);

  // The hospital's key (//Bob on the dev chain) in a CLI keystore, for enrolments.
  const hospital = path.join(dir, 'hospital.json');
  consentry(['wallet', 'import', '--uri', '//Bob', '--keystore', hospital, '--json'], { CONSENTRY_PASSPHRASE: 'hospital' });

  return {
    dir, apiUrl, nodeWs, nodeHttp: `http://127.0.0.1:${rpcPort}`, pepper, hospital,
    /** Enrols the synthetic patient `index` for `address`; returns the pseudonym (hex). */
    enrol(index, address) {
      const outp = consentry(['institution', 'enrol', '--keystore', hospital, '--identifier', `SYN-1-${String(index).padStart(5, '0')}`,
        '--pepper-file', pepper, '--patient', address, '--node', nodeWs, '--json'], { CONSENTRY_PASSPHRASE: 'hospital' });
      return JSON.parse(outp);
    },
    /** Stops the node (SIGKILL), as if it went down. */
    stopNode() {
      node.kill('SIGKILL');
    },
    async stop() {
      for (const c of children.reverse()) c.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
