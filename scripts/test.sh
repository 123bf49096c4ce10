#!/usr/bin/env bash
# Runs every test of the workspace: pallet unit, property and benchmark tests, runtime, node,
# simulation, inference, the CLI, the data store, the indexer (SQLite and PostgreSQL), the API,
# the wallet, the worker, and the end-to-end tests against real node processes (one of them through
# an unmodified @polkadot/api).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# Node.js and the pinned @polkadot/api for the standard-client test (tests/tests/integration/polkadot_js.rs).
# If they cannot be installed, that one test fails naming what is missing; the rest still run.
tests/polkadot-js/install.sh || echo "warning: could not install @polkadot/api; tests/tests/integration/polkadot_js.rs will fail" >&2
. scripts/env.sh
export CONSENTRY_REQUIRE_XGBOOST=1 CONSENTRY_REQUIRE_SCIPY=1
# A fresh clone dates its files as it was cloned, which makes cargo rebuild every workspace crate;
# files whose content is what the cache was last built from get that time back (see the script
# for when it does nothing). The record is sealed at the end, once everything built and passed.
python3 scripts/source-times.py restore
python3 scripts/source-times.py record

# A throwaway PostgreSQL server for the indexer's query suite, and the official FHIR R4 models
# for the export validation; the tests fail rather than skip when either is missing.
export CONSENTRY_PG_URL="$(api/indexer/scripts/pg.sh)" CONSENTRY_REQUIRE_PG=1
trap 'api/indexer/scripts/pg.sh stop "$CONSENTRY_PG_URL"' EXIT
export CONSENTRY_FHIR_PYTHON="$(api/indexer/scripts/fhir-venv.sh)" CONSENTRY_REQUIRE_FHIR_VALIDATOR=1
# The pinned schemathesis for the API's contract test (api/server/tests/integration/contract.rs: every check,
# stateful phase included, against the real API and node); it fails rather than skips without it.
export CONSENTRY_SCHEMATHESIS="$(api/server/scripts/schemathesis-venv.sh)" CONSENTRY_REQUIRE_SCHEMATHESIS=1
# Google's dp-accounting, which the privacy accountant (federated/privacy) is checked against on a
# grid of (q, sigma, steps, delta); the test fails rather than skips without it.
export CONSENTRY_DP_ACCOUNTING_PYTHON="$(federated/privacy/scripts/dp-accounting-venv.sh)"
export CONSENTRY_REQUIRE_DP_ACCOUNTING=1

# One build of the whole workspace, in release: the e2e tests need a release node, and building
# everything with one feature set means one copy of the dependency graph in the cache. (It also
# builds the `consentry-node` executable the e2e tests start: the node has integration tests.)
# cargo-nextest (pinned, installed into the tool cache by scripts/nextest.sh) builds exactly what
# `cargo test --release --locked --workspace` builds and runs each test in its own process,
# several at once (.config/nextest.toml: the CPU-heavy suites alone); then the doc tests, which
# nextest does not run.
scripts/nextest.sh run --release --locked --workspace
cargo test --release --locked --workspace --doc
# The web app (api/web): type-check, lint, build, unit tests, and its browser tests in Debian's
# headless Chromium against the release node, API and worker just built.
api/web/scripts/test.sh
# The benchmarks of the pallets (against their mocks) and of the runtime (its permission extension
# and the SDK's node-authorization pallet, which ships none), run as tests in the debug profile.
# One invocation, so the SDK graph is compiled once with one feature set (two invocations compiled
# it twice). Only the benchmark tests: the rest ran above, and the runtime's metadata test would
# fail against the committed metadata, which has no benchmark-only items. (The runtime's wasm is
# built by chain/runtime-wasm, which nothing here depends on: this graph has no wasm builder.)
cargo test --locked --lib \
  -p pallet-consentry-identity -p pallet-consentry-consent -p pallet-consentry-audit \
  -p pallet-consentry-validators -p consentry-runtime \
  --features runtime-benchmarks benchmark
# The fuzz targets of the decoders of outside input (fuzz/README.md), 20 s each from the committed
# seeds; any finding fails the run. Built instrumented into a folder of the same target directory,
# sharing the release build's build scripts and proc macros.
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" fuzz/run.sh
python3 scripts/source-times.py seal
