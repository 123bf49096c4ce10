import { defineConfig } from 'vitest/config';

// The browser tests: one file at a time, one browser, against the real stack (e2e/stack.mjs).
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    sequence: { concurrent: false },
    reporters: ['verbose'],
  },
});
