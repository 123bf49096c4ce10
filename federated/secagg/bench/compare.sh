#!/usr/bin/env bash
# Secure aggregation per round, consentry-secagg vs Flower's SecAgg+ (flwr, pinned), in one run.
#
#   federated/secagg/bench/compare.sh [--sites N] [--len L[,L...]] [--dropped D[,D...]] [--reps R]
#
# Creates (once) a venv at ${XDG_CACHE_HOME:-$HOME/.cache}/consentry-flwr with flwr==$FLWR_VERSION,
# builds and runs the Rust bench (release, CARGO_TARGET_DIR or the shared cache), runs the Python
# script with the same N, L, t and dropouts, and prints one table per configuration with the ratio
# Flower / ours for every phase (> 1: ours is faster / smaller).
set -euo pipefail

FLWR_VERSION=1.42.0
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/consentry-flwr"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/consentry-target}"

SITES=10 LEN=100000,1000000 DROPPED=0,1 REPS=3 THRESHOLD=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sites) SITES="$2"; shift 2 ;;
    --len) LEN="$2"; shift 2 ;;
    --dropped) DROPPED="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --threshold) THRESHOLD="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
ARGS=(--sites "$SITES" --reps "$REPS" --json)
[ -n "$THRESHOLD" ] && ARGS+=(--threshold "$THRESHOLD")

if ! "$VENV/bin/python" -c "import flwr, sys; sys.exit(flwr.__version__ != '$FLWR_VERSION')" 2>/dev/null; then
  echo "== creating $VENV with flwr==$FLWR_VERSION" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "flwr==$FLWR_VERSION"
fi

echo "== building the Rust bench (release, $CARGO_TARGET_DIR)" >&2
cd "$ROOT"
cargo bench -p consentry-secagg --bench secagg --no-run >&2
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
# Interleaved, one configuration at a time, so both sides see the same machine load.
for L in ${LEN//,/ }; do
  for D in ${DROPPED//,/ }; do
    echo "== L = $L, dropped = $D: consentry-secagg, then Flower SecAgg+ (flwr $FLWR_VERSION)" >&2
    cargo bench -q -p consentry-secagg --bench secagg -- "${ARGS[@]}" --len "$L" --dropped "$D" \
      | grep '^{' >> "$OUT/rust.jsonl"
    "$VENV/bin/python" "$HERE/flower_secaggplus.py" "${ARGS[@]}" --len "$L" --dropped "$D" \
      >> "$OUT/flower.jsonl"
  done
done

python3 - "$OUT/rust.jsonl" "$OUT/flower.jsonl" <<'PY'
import json, os, platform, sys
rust = [json.loads(l) for l in open(sys.argv[1])]
flwr = [json.loads(l) for l in open(sys.argv[2])]
key = lambda r: (r["sites"], r["threshold"], r["len"], r["dropped"])
flwr = {key(r): r for r in flwr}
phases = [
    ("setup_per_site", "setup (key pairs), per site"),
    ("share_keys_per_site", "share keys, per site"),
    ("quantize_per_site", "quantize [n_k, n_k*w], per site"),
    ("mask_per_site", "mask, per site"),
    ("unmask_per_site", "unmask answer, per site"),
    ("aggregate_server", "aggregate masked, server"),
    ("unmask_server", "reconstruct + unmask, server"),
    ("round_critical_path", "round (one site + server)"),
]
print(f"# {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, "
      f"load average at the end {os.getloadavg()[0]:.2f} / {os.getloadavg()[1]:.2f} (1 / 5 min)")
for r in rust:
    f = flwr.get(key(r))
    if f is None:
        print(f"no Flower result for {key(r)}"); continue
    print(f"\nN = {r['sites']}, t = {r['threshold']}, L = {r['len']:,}, dropped after ShareKeys = {r['dropped']}, median of {r['reps']} rounds")
    print(f"| {'phase':<34} | {'consentry-secagg':>16} | {f['impl']:>16} | {'Flower / ours':>13} |")
    print(f"|{'-'*36}|{'-'*18}|{'-'*18}|{'-'*15}|")
    for k, label in phases:
        a, b = r[k], f[k]
        ratio = f"{b / a:.1f}x" if a > 0 else "-"
        print(f"| {label:<34} | {a*1e3:>13.3f} ms | {b*1e3:>13.3f} ms | {ratio:>13} |")
    a, b = r["bytes_per_site"], f["bytes_per_site"]
    print(f"| {'bytes sent per site':<34} | {a:>16,} | {b:>16,} | {b/a:>12.2f}x |")
    print(f"| {'max abs error vs float FedAvg':<34} | {r['max_abs_error']:>16.2e} | {f['max_abs_error']:>16.2e} | {'':>13} |")
PY
