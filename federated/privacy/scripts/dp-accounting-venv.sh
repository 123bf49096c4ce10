#!/usr/bin/env bash
# Creates (once) a Python virtual environment with Google's dp-accounting, used by
# federated/privacy/scripts/dp_epsilon.py to cross-check the Rust RDP accountant, and prints its
# python's path:
#
#   export CONSENTRY_DP_ACCOUNTING_PYTHON=$(federated/privacy/scripts/dp-accounting-venv.sh)
#   CONSENTRY_REQUIRE_DP_ACCOUNTING=1 cargo test -p consentry-privacy --test dp_accounting
#
# dp-accounting 0.6.0 is the latest release on PyPI (checked 2026-12-06); it pulls numpy, scipy,
# mpmath, attrs and dm-tree.
set -euo pipefail
dir=${CONSENTRY_DP_ACCOUNTING_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/consentry-dp-accounting}
if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c 'import dp_accounting' 2>/dev/null \
    || [ "$("$dir/bin/python" -c 'import importlib.metadata as m; print(m.version("dp-accounting"))' 2>/dev/null)" != "0.6.0" ]; then
    python3 -m venv "$dir" >&2
    "$dir/bin/pip" install -q "dp-accounting==0.6.0" >&2
fi
echo "$dir/bin/python"
