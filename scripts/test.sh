#!/usr/bin/env bash
# Runs every test of the workspace: pallet unit and property tests, runtime, simulation,
# inference, and the end-to-end tests under tests/ against real node processes.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh

# One profile for everything: the node must be a release build, and sharing it keeps the cache small.
cargo build --release --locked -p consentry-node
cargo test --release --locked --workspace
