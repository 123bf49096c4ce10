#!/usr/bin/env bash
# The web app's checks, run by scripts/test.sh after the workspace's release build: install (Node,
# the lockfile's packages, Debian's Chromium), type-check, lint, build, unit tests, then the
# browser tests in headless Chromium against a real node, API (serving this build) and worker
# started from $CARGO_TARGET_DIR/release. Fails, never skips, when anything is missing.
#
#   api/web/scripts/test.sh          # everything
#   api/web/scripts/test.sh static   # install, type-check, lint, build: needs no Rust build
#   api/web/scripts/test.sh tests    # the unit and browser tests, after `static`
#
# (scripts/test.sh runs `static` beside the workspace's release build and `tests` after it.)
set -euo pipefail
cd "$(dirname "$0")/.."
phase="${1:-all}"
case "$phase" in all | static | tests) ;; *) echo "usage: $0 [static|tests]" >&2; exit 2 ;; esac
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ "$phase" != tests ]; then
  scripts/install.sh
  npx tsc --noEmit
  npx eslint .
  node scripts/gen-api.mjs --check
  npx vite build
fi
[ "$phase" != static ] || exit 0
npx vitest run --config vitest.config.ts
# The browser profiles and the stacks' chains go to a temporary folder of this run's own, removed
# afterwards (Chromium's helpers still write into a profile for a moment after it closes).
export TMPDIR="$(mktemp -d -t consentry-web-e2e-XXXXXX)"
trap 'rm -rf "$TMPDIR"' EXIT
npx vitest run --config vitest.e2e.config.ts
