#!/usr/bin/env bash
# Starts the local Consentry system: a single-validator development chain with embedded
# ParityDB storage, RPC on ws://127.0.0.1:9944 and Prometheus metrics on :9615.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh

# Built exactly as scripts/test.sh builds it, so whichever command runs second reuses the first's build.
cargo test --release --locked --workspace --no-run
exec "$CONSENTRY_NODE" --dev --rpc-cors all --prometheus-external "$@"
