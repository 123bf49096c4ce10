"""Schemathesis hooks for the Consentry API's contract test (api/server/tests/integration/contract.rs).

The OpenAPI document names two string formats of its own:

- `ss58`: an SS58 account address. A pattern cannot say that its checksum holds, so values are
  generated here: random public keys, encoded with the generic Substrate prefix (42) and the
  checksum (the first two bytes of BLAKE2b-512 over "SS58PRE" + prefix + key).
- `extrinsic`: a signed extrinsic of this chain in hex. Only the chain can make one; the test
  writes real ones (some the pool admits, some it refuses) to the JSON list named by
  CONSENTRY_SCHEMATHESIS_EXTRINSICS, and values are drawn from it.
"""

import hashlib
import json
import os

import schemathesis
from hypothesis import strategies as st

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _ALPHABET[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def ss58(public_key: bytes, prefix: int = 42) -> str:
    body = bytes([prefix]) + public_key
    checksum = hashlib.blake2b(b"SS58PRE" + body, digest_size=64).digest()[:2]
    return _base58(body + checksum)


schemathesis.openapi.format("ss58", st.binary(min_size=32, max_size=32).map(ss58))

_extrinsics_file = os.environ.get("CONSENTRY_SCHEMATHESIS_EXTRINSICS")
if _extrinsics_file:
    with open(_extrinsics_file) as f:
        _extrinsics = json.load(f)
    schemathesis.openapi.format("extrinsic", st.sampled_from(_extrinsics))
