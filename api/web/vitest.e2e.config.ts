import { defineConfig } from 'vitest/config';

// The browser tests against the real stack (e2e/stack.mjs). Each file starts its own node, API
// and worker on free ports and its own browser, and its tests run in order; the files run side
// by side, since they mostly wait on the chain's blocks (76 s instead of 205 s here). Against one
// shared stack (CONSENTRY_WEB_E2E_STACK, e2e/dev-stack.mjs) they run one file at a time, as
// they would otherwise enrol the same synthetic patients at once.
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    fileParallelism: !process.env.CONSENTRY_WEB_E2E_STACK,
    maxWorkers: 3,
    sequence: { concurrent: false },
    reporters: ['verbose'],
  },
});
