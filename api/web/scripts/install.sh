#!/usr/bin/env bash
# Installs what the web app's build and browser tests need: Node.js >= 20.19 (refused clearly when
# older), the exact packages of package-lock.json (`npm ci`, only when the lockfile changed since
# the last install; npm's cache under $HOME/.cache/consentry-npm), and Debian's Chromium at
# /usr/bin/chromium for Playwright (which never downloads a browser here: playwright-core only).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  ../../scripts/apt-install.sh nodejs npm
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "error: Node.js $(node --version) is too old for Vite 8; install Node.js 20.19 or later" >&2
  exit 1
fi

# --no-browser: only what the build needs (scripts/start.sh).
# (scripts/apt-install.sh goes through sudo when not root, as for Node.js above.)
if [ "${1:-}" != --no-browser ] && [ ! -x /usr/bin/chromium ]; then
  ../../scripts/apt-install.sh chromium
fi

export npm_config_cache="${npm_config_cache:-$HOME/.cache/consentry-npm}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
stamp=node_modules/.consentry-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # --ignore-scripts: no dependency runs code at install time (supply chain); none needs to.
  npm ci --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
echo "web: node $(node --version), $(/usr/bin/chromium --version 2>/dev/null || echo 'no chromium')" >&2
