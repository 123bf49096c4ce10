#!/usr/bin/env bash
# Regenerates every Consentry pallet's weights.rs from its benchmarks, with the node's
# `benchmark pallet` command on the dev runtime. Run on the reference hardware.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh
# A separate target dir: the benchmark feature changes most of the dependency graph.
export CARGO_TARGET_DIR="$CARGO_TARGET_DIR-bench"
cargo build --release --locked -p consentry-node --features runtime-benchmarks
for pallet in identity consent audit validators; do
  "$CARGO_TARGET_DIR/release/consentry-node" benchmark pallet \
    --runtime "$CARGO_TARGET_DIR/release/wbuild/consentry-runtime/consentry_runtime.compact.compressed.wasm" \
    --genesis-builder=runtime --genesis-builder-preset=development \
    --pallet "pallet_consentry_$pallet" --extrinsic '*' \
    --steps "${STEPS:-50}" --repeat "${REPEAT:-20}" \
    --template .maintain/frame-weight-template.hbs \
    --output "pallets/$pallet/src/weights.rs"
done
cargo fmt --all
