// Replaces @polkadot/wasm-crypto-asmjs (an asm.js build) in the browser bundle; see
// wasm-crypto-wasm.ts.
export const asmJsInit = null;
export const packageInfo = { name: '@polkadot/wasm-crypto-asmjs', path: 'stub', type: 'esm', version: 'stub' };
