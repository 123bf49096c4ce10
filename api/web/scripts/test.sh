#!/usr/bin/env bash
# The web app's checks, run by scripts/test.sh after the workspace's release build: install (Node,
# the lockfile's packages, Debian's Chromium), type-check, lint, build, unit tests, then the
# browser tests in headless Chromium against a real node, API (serving this build) and worker
# started from $CARGO_TARGET_DIR/release. Fails, never skips, when anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npx tsc --noEmit
npx eslint .
node scripts/gen-api.mjs --check
npx vite build
npx vitest run --config vitest.config.ts
# The browser profiles and the stacks' chains go to a temporary folder of this run's own, removed
# afterwards (Chromium's helpers still write into a profile for a moment after it closes).
export TMPDIR="$(mktemp -d -t consentry-web-e2e-XXXXXX)"
trap 'rm -rf "$TMPDIR"' EXIT
npx vitest run --config vitest.e2e.config.ts
