#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS each, default 30; FUZZ_JOBS at once,
# default one per core) and fails on any finding. Installs the pinned cargo-fuzz into the shared
# cache and builds with the machine's stable toolchain into the main workspace's target
# directory: the instrumented code lands in its own folder there (target/x86_64-unknown-linux-gnu),
# while the build scripts and proc macros the two graphs share are compiled once (README.md,
# "Build").
#
#   fuzz/run.sh                 # every target, FUZZ_SECONDS each
#   fuzz/run.sh fhir_bundle     # one target
#   fuzz/run.sh --build-only    # install and build, run nothing (scripts/test.sh builds ahead)
#
# New corpus entries go to a scratch folder; the committed seeds (fuzz/seeds/<target>) are read
# only. A crash is saved under $FUZZ_ARTIFACTS (default: a scratch folder; the path is printed);
# turn it into a regression test beside the decoder it broke.
set -euo pipefail
cd "$(dirname "$0")"
CACHE="${CONSENTRY_CACHE:-$HOME/.cache}"
TOOLS="$CACHE/consentry-tools"
CARGO_FUZZ_VERSION=0.12.0
export PATH="$TOOLS/bin:$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  # A debug build of the tool: it only drives cargo.
  CARGO_TARGET_DIR="$TOOLS/build-cargo-fuzz" cargo install --locked --debug --root "$TOOLS" \
    cargo-fuzz --version "$CARGO_FUZZ_VERSION"
  rm -rf "$TOOLS/build-cargo-fuzz"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/consentry-target}"
# Coverage instrumentation without a sanitizer: no -Z flag, so the stable toolchain builds it as
# it is (no RUSTC_BOOTSTRAP, which would also make shared build scripts rerun for the main
# build). cargo fuzz forces one codegen unit per crate and full debug info in release; these
# flags come after its own and win: every core compiles, and stack traces keep file and line.
export RUSTFLAGS="-Ccodegen-units=16 -Cdebuginfo=line-tables-only"
fuzz_flags=(-O -s none)
seconds="${FUZZ_SECONDS:-30}"
if [ "${1:-}" = --build-only ]; then
  exec cargo fuzz build "${fuzz_flags[@]}"
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
cargo fuzz build "${fuzz_flags[@]}"
scratch="$(mktemp -d)"
artifacts="${FUZZ_ARTIFACTS:-$scratch/artifacts}"
# Each fuzzer runs on one core: FUZZ_JOBS of them at once (default: one per core), each for its
# own FUZZ_SECONDS, so a target gets the same time as when they ran one after another.
jobs="${FUZZ_JOBS:-$(nproc)}"
fuzz_one() {
  local t=$1 status=0
  cargo fuzz run "${fuzz_flags[@]}" "$t" "$scratch/corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -artifact_prefix="$artifacts/$t/" -print_final_stats=1 \
    >"$scratch/$t.log" 2>&1 || status=$?
  echo "$status" >"$scratch/$t.status"
}
for t in "${targets[@]}"; do
  mkdir -p "$scratch/corpus/$t" "$artifacts/$t"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "fuzz: $t for ${seconds} s"
  fuzz_one "$t" &
done
wait
failed=0
for t in "${targets[@]}"; do
  status="$(cat "$scratch/$t.status")"
  echo "fuzz: $t"
  grep -E "^stat::(number_of_executed_units|new_units_added)" "$scratch/$t.log" || true
  if [ "$status" -ne 0 ] || [ -n "$(ls -A "$artifacts/$t")" ]; then
    tail -n 40 "$scratch/$t.log" >&2
    echo "fuzz: $t failed (exit $status); inputs that fail are in $artifacts/$t" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 1
rm -rf "$scratch"
