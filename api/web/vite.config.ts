import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Served by consentry-api at /app/ (api/server/src/web.rs). No inline script anywhere: the CSP
// is `script-src 'self'`.
const dev = process.env.CONSENTRY_DEV_API ? { api: process.env.CONSENTRY_DEV_API, node: process.env.CONSENTRY_DEV_NODE_HTTP ?? 'http://127.0.0.1:9944' } : null;

export default defineConfig({
  base: '/app/',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
  },
  worker: { format: 'es' },
  // `vite preview` against a running API (CONSENTRY_DEV_API) and node (CONSENTRY_DEV_NODE_HTTP),
  // for working on the app without rebuilding the API; start the API with --public-url set to
  // the preview's origin. The real thing is the API serving dist (api/server/src/web.rs).
  preview: dev
    ? {
        headers: { 'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'" },
        proxy: {
          '/v1': dev.api,
          '/openapi.json': dev.api,
          '/rpc': { target: dev.node, rewrite: () => '/' },
        },
      }
    : undefined,
  plugins: [
    {
      name: 'consentry-dev-config',
      configurePreviewServer(server) {
        server.middlewares.use('/app/config.json', (_req, res) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ rpc: '/rpc', api: '/v1' }));
        });
      },
    },
  ],
  resolve: {
    alias: [
      // @polkadot/util-crypto falls back to pure JS (@noble, @scure) when its WebAssembly is
      // not initialised, which the app never does (ApiPromise `initWasm: false`): no
      // 'wasm-unsafe-eval' in the CSP and ~1 MB less to download.
      { find: /^@polkadot\/wasm-crypto-wasm$/, replacement: fileURLToPath(new URL('./src/stub/wasm-crypto-wasm.ts', import.meta.url)) },
      { find: /^@polkadot\/wasm-crypto-asmjs$/, replacement: fileURLToPath(new URL('./src/stub/wasm-crypto-asmjs.ts', import.meta.url)) },
    ],
  },
});
