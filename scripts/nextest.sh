#!/usr/bin/env bash
# Runs cargo-nextest (the pinned version, installed into the shared tool cache on first use from
# crates.io, built with the machine's own toolchain) with the arguments given:
#
#   scripts/nextest.sh run --release --locked --workspace
#
# Its settings are in .config/nextest.toml.
set -euo pipefail
CACHE="${CONSENTRY_CACHE:-$HOME/.cache}"
TOOLS="$CACHE/consentry-tools"
NEXTEST_VERSION=0.9.151
export PATH="$TOOLS/bin:$HOME/.cargo/bin:$PATH"
if ! cargo nextest --version 2>/dev/null | grep -qF "$NEXTEST_VERSION"; then
  # Its own build directory (not the workspace's), removed once installed; no self-updater. A
  # debug build: it only starts test processes and reads their output, and an optimised build
  # of it is minutes a cold run of the test command pays for nothing.
  CARGO_TARGET_DIR="$TOOLS/build-nextest" cargo install --locked --debug --root "$TOOLS" \
    cargo-nextest --version "$NEXTEST_VERSION" --no-default-features --features default-no-update
  rm -rf "$TOOLS/build-nextest"
fi
exec cargo nextest "$@"
