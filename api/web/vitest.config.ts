import { defineConfig } from 'vitest/config';

// Unit tests (Node): keystore against the Rust wallet's files, sign-in message checks, names.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
