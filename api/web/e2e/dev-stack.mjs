// For working on the app: the real stack (stack.mjs) plus `vite preview` in front of it.
// Usage: node e2e/dev-stack.mjs [previewPort]   (Ctrl-C stops everything)
import { spawn } from 'node:child_process';
import { startStack, webRoot } from './stack.mjs';

const port = Number(process.argv[2] ?? 4173);
const stack = await startStack({ webDir: null, publicUrl: `http://127.0.0.1:${port}`, log: process.env.CONSENTRY_STACK_LOG ?? '/tmp/consentry-dev-stack.log' });
const vite = spawn(`${webRoot}/node_modules/.bin/vite`, ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
  cwd: webRoot, stdio: 'inherit', env: { ...process.env, CONSENTRY_DEV_API: stack.apiUrl, CONSENTRY_DEV_NODE_HTTP: stack.nodeHttp },
});
console.warn(JSON.stringify({ app: `http://127.0.0.1:${port}/app/`, api: stack.apiUrl, node: stack.nodeWs, dir: stack.dir, pepper: stack.pepper, hospital: stack.hospital }));
const stop = async () => { vite.kill(); await stack.stop(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
