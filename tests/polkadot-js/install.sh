#!/usr/bin/env bash
# Installs what tests/tests/integration/polkadot_js.rs needs: Node.js 18+ (Debian's `nodejs` package when none
# is installed) and the script's pinned @polkadot/api (`npm ci`, only when package-lock.json
# changed since the last install).
set -euo pipefail
cd "$(dirname "$0")"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  ../../scripts/apt-install.sh nodejs npm
fi
if [ "$(node_major)" -lt 18 ]; then
  echo "error: Node.js $(node --version) is too old for @polkadot/api; install Node.js 18 or later" >&2
  exit 1
fi

stamp=node_modules/.consentry-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # Tarballs npm already holds (~/.npm, outside any clone) need no network: a fresh clone on a
  # machine that installed once before works offline.
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
