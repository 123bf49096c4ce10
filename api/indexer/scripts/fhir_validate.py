#!/usr/bin/env python3
"""Validates FHIR R4 (4.0.1) JSON resources against the official structure definitions, as
generated into the `fhir.resources` 6.4.0 models (required elements, cardinalities, choice types,
primitive formats such as `instant`).

Usage: fhir_validate.py FILE.json...   (exit 0 when every file is valid; errors on stderr)
Set up: scripts/fhir-venv.sh prints a python with the models installed.
"""
import json
import sys

import fhir.resources
from fhir.resources import construct_fhir_element

if fhir.resources.__fhir_version__ != "4.0.1":
    sys.exit(f"fhir.resources models are FHIR {fhir.resources.__fhir_version__}, not R4 4.0.1")

failed = False
for path in sys.argv[1:]:
    with open(path) as f:
        data = json.load(f)
    try:
        construct_fhir_element(data["resourceType"], data)
    except Exception as e:  # pydantic.ValidationError, LookupError
        failed = True
        print(f"{path}: {e}", file=sys.stderr)
sys.exit(1 if failed else 0)
