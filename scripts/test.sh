#!/usr/bin/env bash
# Runs every test of the workspace: pallet unit, property and benchmark tests, runtime, node,
# simulation, inference, the CLI, the data store, the indexer (SQLite and PostgreSQL), the API,
# the wallet, the worker, and the end-to-end tests against real node processes (one of them through
# an unmodified @polkadot/api); the web app's checks and browser tests; the fuzz targets.
#
# On a 2-core machine the release build and the tests leave a core idle for minutes at a time
# (the build's single-crate stretches; tests waiting on 2-second blocks), while the benchmark and
# fuzz graphs are pure compilation. So the steps that do not feed the release build or the tests
# run beside them, in the background: set-up that waits on the network at normal priority, the
# two other builds at idle priority (SCHED_IDLE), so they take only the CPU the foreground
# leaves (the load and pool-flood suites, which judge speed, still run with no other test).
# Each background step logs to its own file, shown when it fails; the run stops at the first
# failure and stops the steps still running.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh
export CONSENTRY_REQUIRE_XGBOOST=1 CONSENTRY_REQUIRE_SCIPY=1
# A fresh clone dates its files as it was cloned, which makes cargo rebuild every workspace crate;
# files whose content is what the cache was last built from get that time back (see the script
# for when it does nothing). The record is sealed at the end, once everything built and passed.
python3 scripts/source-times.py restore
python3 scripts/source-times.py record

# --- Background steps ---------------------------------------------------------------------------
# Job control gives each background step its own process group, so a failure stops all of it.
set -m
logs="$(mktemp -d -t consentry-test-XXXXXX)"
declare -A steps=()
# `bg NAME CMD…`: runs CMD in the background, stdout to $logs/NAME.out, stderr to $logs/NAME.log.
bg() {
  local name=$1
  shift
  "$@" </dev/null >"$logs/$name.out" 2>"$logs/$name.log" &
  steps[$name]=$!
}
# `idle CMD…`: CMD at the lowest CPU and I/O priority; its children inherit it.
idle() { nice -n 19 ionice -c 3 chrt --idle 0 "$@"; }
# `await NAME`: waits for a background step; on failure shows its log and stops the run.
await() {
  local name=$1 status=0
  wait "${steps[$name]}" || status=$?
  unset "steps[$name]"
  if [ "$status" -ne 0 ]; then
    echo "error: the step '$name' failed (exit $status); the end of its log:" >&2
    tail -n 80 "$logs/$name.log" >&2
    exit 1
  fi
  echo "test.sh: $name done" >&2
}
stop() {
  local pid
  for pid in "${steps[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  if [ -s "$logs/pg.out" ]; then api/indexer/scripts/pg.sh stop "$(cat "$logs/pg.out")" || true; fi
  rm -rf "$logs"
}
trap stop EXIT

# cargo-nextest, pinned, built into the tool cache on first use (scripts/nextest.sh).
bg nextest scripts/nextest.sh --version
# A throwaway PostgreSQL server for the indexer's query suite, and the official FHIR R4 models
# for the export validation; the tests fail rather than skip when either is missing.
bg pg api/indexer/scripts/pg.sh
bg fhir api/indexer/scripts/fhir-venv.sh
# The pinned schemathesis for the API's contract test (api/server/tests/integration/contract.rs:
# every check, stateful phase included, against the real API and node).
bg schemathesis api/server/scripts/schemathesis-venv.sh
# Google's dp-accounting, which the privacy accountant (federated/privacy) is checked against on a
# grid of (q, sigma, steps, delta).
bg dp federated/privacy/scripts/dp-accounting-venv.sh
# Node.js and the pinned @polkadot/api for the standard-client test
# (tests/tests/integration/polkadot_js.rs). If they cannot be installed, that one test fails
# naming what is missing; the rest still run.
bg polkadot_js tests/polkadot-js/install.sh
# The web app's install, type-check, lint and build (its tests come after the release build).
bg web idle api/web/scripts/test.sh static
# The benchmarks of the pallets (against their mocks) and of the runtime (its permission extension
# and the SDK's node-authorization pallet, which ships none) are tests in the debug profile, with
# `runtime-benchmarks`: the SDK's graph a second time, built here and run at the end. One
# invocation, so that graph is compiled once with one feature set. (The runtime's wasm is built by
# chain/runtime-wasm, which nothing here depends on: this graph has no wasm builder.)
bench=(--locked --lib -p pallet-consentry-identity -p pallet-consentry-consent
  -p pallet-consentry-audit -p pallet-consentry-validators -p consentry-runtime
  --features runtime-benchmarks)
bg bench_build idle cargo test "${bench[@]}" --no-run

# --- The release build and the tests ------------------------------------------------------------
# One build of the whole workspace, in release: the e2e tests need a release node, and building
# everything with one feature set means one copy of the dependency graph in the cache. (It also
# builds the `consentry-node` executable the e2e tests start: the node has integration tests.)
# This is what `cargo nextest run --release --locked --workspace` would build; nextest then runs
# those binaries without calling cargo again (its binary list and the workspace's metadata), so
# the fuzz build below can hold the target directory meanwhile.
cargo test --release --locked --workspace --no-run
await nextest
scripts/nextest.sh list --release --locked --workspace --list-type binaries-only \
  --message-format json >"$logs/binaries.json"
cargo metadata --locked --format-version 1 --all-features >"$logs/cargo-metadata.json"
# The doc tests, which nextest does not run.
cargo test --release --locked --workspace --doc
# The fuzz targets of the decoders of outside input (fuzz/README.md), built instrumented into a
# folder of the same target directory (sharing the release build's build scripts and proc macros)
# beside the tests, and run at the end.
bg fuzz_build idle fuzz/run.sh --build-only

await pg
await fhir
await schemathesis
await dp
export CONSENTRY_PG_URL="$(cat "$logs/pg.out")" CONSENTRY_REQUIRE_PG=1
export CONSENTRY_FHIR_PYTHON="$(cat "$logs/fhir.out")" CONSENTRY_REQUIRE_FHIR_VALIDATOR=1
export CONSENTRY_SCHEMATHESIS="$(cat "$logs/schemathesis.out")" CONSENTRY_REQUIRE_SCHEMATHESIS=1
export CONSENTRY_DP_ACCOUNTING_PYTHON="$(cat "$logs/dp.out")" CONSENTRY_REQUIRE_DP_ACCOUNTING=1
if ! wait "${steps[polkadot_js]}"; then
  echo "warning: could not install @polkadot/api; tests/tests/integration/polkadot_js.rs will fail:" >&2
  tail -n 20 "$logs/polkadot_js.log" >&2
fi
unset "steps[polkadot_js]"

# Each test in its own process, several at once (.config/nextest.toml: the CPU-heavy suites alone).
scripts/nextest.sh run --binaries-metadata "$logs/binaries.json" \
  --cargo-metadata "$logs/cargo-metadata.json"

# The web app's unit tests, then its browser tests in Debian's headless Chromium against the
# release node, API and worker just built.
await web
api/web/scripts/test.sh tests
await bench_build
cargo test "${bench[@]}" benchmark
# The fuzz targets, 20 s each from the committed seeds; any finding fails the run.
await fuzz_build
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" fuzz/run.sh
python3 scripts/source-times.py seal
