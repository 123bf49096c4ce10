#!/usr/bin/env bash
# Regenerates the runtime's weights from benchmarks, with the node's `benchmark pallet` command on
# the dev runtime: every Consentry pallet's weights.rs, and the weights of FRAME's transaction
# extensions (nonce, mortality, ...) under this chain's ParityDB costs. Run on the reference
# hardware.
# Usage: scripts/weights.sh [name ...]
#   names: identity consent audit validators (the pallets), permission (the runtime's
#   CheckPermission extension), extension (the contracts' chain extension), node-authorization (the SDK pallet, benchmarked in the runtime),
#   system (frame_system's calls), system-extensions and overhead (block and extrinsic base
#   weights);
#   default: all of them. And `db` (not in the default): the runtime's DbWeight, measured on a
#   node's state; set DB_BASE to a *copy* of a `--dev` node's --base-path (docs/WEIGHTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh
# A separate target dir: the benchmark feature changes most of the dependency graph.
export CARGO_TARGET_DIR="$CARGO_TARGET_DIR-bench"
cargo build --release --locked -p consentry-node --features runtime-benchmarks
bench() {
  "$CARGO_TARGET_DIR/release/consentry-node" benchmark pallet \
    --runtime "$CARGO_TARGET_DIR/release/wbuild/consentry-runtime/consentry_runtime.compact.compressed.wasm" \
    --genesis-builder=runtime --genesis-builder-preset=development \
    --extrinsic '*' --steps "${STEPS:-50}" --repeat "${REPEAT:-20}" "$@"
}
for name in ${*:-identity consent audit validators permission extension node-authorization system system-extensions overhead}; do
  if [ "$name" = db ]; then
    # One read and one write of the state on this machine, writes committed as blocks commit
    # them: chain/runtime/src/weights/db_weights.rs.
    "$CARGO_TARGET_DIR/release/consentry-node" db-weights --dev \
      --base-path "${DB_BASE:?set DB_BASE to a copy of a --dev node base path (docs/WEIGHTS.md)}" \
      --weight-path chain/runtime/src/weights/db_weights.rs
  elif [ "$name" = overhead ]; then
    # The base weight of a block and of an extrinsic (blocks full of `System::remark`):
    # chain/runtime/src/weights/{block,extrinsic}_weights.rs.
    "$CARGO_TARGET_DIR/release/consentry-node" benchmark overhead \
      --runtime "$CARGO_TARGET_DIR/release/wbuild/consentry-runtime/consentry_runtime.compact.compressed.wasm" \
      --genesis-builder=runtime --genesis-builder-preset=development \
      --weight-path chain/runtime/src/weights
  elif [ "$name" = permission ]; then
    bench --pallet consentry_permission --template .maintain/frame-weight-template.hbs \
      --output chain/runtime/src/weights/check_permission.rs
  elif [ "$name" = extension ]; then
    bench --pallet consentry_contracts_extension --template .maintain/frame-weight-template.hbs \
      --output chain/runtime/src/weights/contracts_extension.rs
  elif [ "$name" = node-authorization ]; then
    # The CLI's built-in template implements the SDK pallet's own `WeightInfo`.
    bench --pallet pallet_node_authorization \
      --output chain/runtime/src/weights/pallet_node_authorization.rs
  elif [ "$name" = system ]; then
    # frame_system's own calls (remark, set_code, ...); the SDK's `()` prices them at RocksDB.
    bench --pallet frame_system --output chain/runtime/src/weights/frame_system.rs
  elif [ "$name" = system-extensions ]; then
    # The CLI's built-in template implements `frame_system::ExtensionsWeightInfo`.
    bench --pallet frame_system_extensions \
      --output chain/runtime/src/weights/frame_system_extensions.rs
  else
    bench --pallet "pallet_consentry_$name" \
      --template .maintain/frame-weight-template.hbs \
      --output "pallets/$name/src/weights.rs"
  fi
done
cargo fmt --all
