#!/usr/bin/env bash
# Creates (once) a Python virtual environment with the pinned schemathesis CLI, used by the API's
# contract test (api/server/tests/integration/contract.rs), and prints the path of its `schemathesis`:
#
#   export CONSENTRY_SCHEMATHESIS=$(api/server/scripts/schemathesis-venv.sh)
#   CONSENTRY_REQUIRE_SCHEMATHESIS=1 cargo test --release --locked --workspace --test integration contract::
#
# The version is pinned: a new release may add checks, which should be a deliberate upgrade.
set -euo pipefail
version=4.32.5
dir=${CONSENTRY_SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/consentry-schemathesis-$version}
if [ ! -x "$dir/bin/schemathesis" ] || ! "$dir/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    python3 -m venv "$dir" >&2
    "$dir/bin/pip" install -q "schemathesis==$version" >&2
fi
echo "$dir/bin/schemathesis"
