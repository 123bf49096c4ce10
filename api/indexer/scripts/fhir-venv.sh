#!/usr/bin/env bash
# Creates (once) a Python virtual environment with the FHIR R4 models used by
# scripts/fhir_validate.py, and prints its python's path:
#
#   export CONSENTRY_FHIR_PYTHON=$(api/indexer/scripts/fhir-venv.sh)
#   CONSENTRY_REQUIRE_FHIR_VALIDATOR=1 cargo test -p consentry-indexer --test integration export::
#
# fhir.resources 6.4.0 is the last release whose models are FHIR R4 (4.0.1); it needs pydantic 1.
set -euo pipefail
dir=${CONSENTRY_FHIR_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/consentry-fhir-r4}
if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c 'import fhir.resources' 2>/dev/null; then
    python3 -m venv "$dir" >&2
    "$dir/bin/pip" install -q "fhir.resources==6.4.0" "pydantic>=1.10,<2" >&2
fi
echo "$dir/bin/python"
