#!/usr/bin/env bash
# Installs what building Consentry needs on a fresh Debian/Ubuntu machine with rustup:
# the wasm target and rust-src (runtime), protoc (libp2p), and a C toolchain for the few -sys crates.
set -euo pipefail

need_apt=()
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# python3 (+ pip, venv): xgboost interop, the FHIR R4 validator, pg.sh's free-port probe, and
# scripts/source-times.py (a fresh clone reusing the build cache).
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  "$(dirname "$0")/apt-install.sh" "${need_apt[@]}"
fi

# Rust itself, on a machine that has none (rustup's official installer, stable toolchain); the
# calling scripts pick it up through scripts/env.sh.
if ! command -v rustup >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/rustup" ]; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
export PATH="$HOME/.cargo/bin:$PATH"
rustup target list --installed | grep -qx wasm32v1-none || rustup target add wasm32v1-none
rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src

# The inference tests check our GBDT files load in the real XGBoost, and the twin's MAP fit is
# checked against scipy's optimiser (independent implementations). xgboost pulls numpy and scipy;
# scipy is pinned here because a test uses it directly.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import xgboost, scipy" >/dev/null 2>&1; then
  python3 -m pip install -q "xgboost==3.2.0" "scipy==1.17.1" || python3 -m pip install -q --break-system-packages "xgboost==3.2.0" "scipy==1.17.1" || echo "warning: could not install xgboost and scipy; their interop tests will fail" >&2
fi
