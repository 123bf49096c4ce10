// Replaces @polkadot/wasm-crypto-wasm (a base64 WebAssembly blob) in the browser bundle: the app
// never initialises @polkadot's WebAssembly crypto (see vite.config.ts), so the CSP needs no
// 'wasm-unsafe-eval'. Anything that did try to would get no bytes and fall back to JS.
export const wasmBytes = null;
export const packageInfo = { name: '@polkadot/wasm-crypto-wasm', path: 'stub', type: 'esm', version: 'stub' };
