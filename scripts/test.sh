#!/usr/bin/env bash
# Runs every test of the workspace: pallet unit, property and benchmark tests, runtime, node,
# simulation, inference, the CLI, and the end-to-end tests under tests/ against real node processes.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh
export CONSENTRY_REQUIRE_XGBOOST=1

# One cargo invocation over the whole workspace, in release: the e2e tests need a release node,
# and building everything with one feature set means one copy of the dependency graph in the cache.
# (It also builds the `consentry-node` executable the e2e tests start: the node has integration tests.)
cargo test --release --locked --workspace
# The pallets' benchmarks, run as tests against their mocks (debug profile: small and fast).
cargo test --locked -p pallet-consentry-identity -p pallet-consentry-consent -p pallet-consentry-audit \
  --features runtime-benchmarks
