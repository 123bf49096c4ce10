#!/usr/bin/env bash
# Starts the local Consentry system: a single-validator development chain with embedded
# ParityDB storage, RPC on ws://127.0.0.1:9944 and Prometheus metrics on :9615.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh

cargo build --release --locked -p consentry-node
exec "$CONSENTRY_NODE" --dev --rpc-cors all --prometheus-external "$@"
