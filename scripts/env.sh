# Shared environment for the start and test scripts (sourced, not run).
# Builds go to one cache outside the clone, so a fresh clone (CI) rebuilds only what changed.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/consentry-target}"
export CONSENTRY_NODE="${CONSENTRY_NODE:-$CARGO_TARGET_DIR/release/consentry-node}"
# The runtime's wasm build looks for Cargo.lock from its output directory; point it at the repo.
export WASM_BUILD_WORKSPACE_HINT="${WASM_BUILD_WORKSPACE_HINT:-$(pwd)}"
# Where rustup installs cargo (scripts/setup.sh installs it on a machine without Rust).
export PATH="$HOME/.cargo/bin:$PATH"
