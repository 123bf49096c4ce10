#!/usr/bin/env python3
"""Flower's SecAgg+ (flwr 1.42.0), the same round as benches/secagg.rs, in one process.

Runs the four stages of Flower's SecAgg+ with a complete neighbour graph (num_shares = N, i.e.
SecAgg) exactly as `flwr.client.mod.secure_aggregation.secaggplus_mod` (site side) and
`flwr.server.workflow.secure_aggregation.secaggplus_workflow` (server side) do, calling Flower's
own primitives: `flwr.supercore.primitives.asymmetric` (SECP384R1 key pairs, PEM bytes),
`flwr.common.secure_aggregation.crypto.symmetric_encryption` (ECDH + HKDF shared keys, Fernet),
`...crypto.shamir` (create_shares/combine_shares), `...secaggplus_utils` (plaintext packing,
pseudo_rand_gen), `...quantization` and `...ndarrays_arithmetic`. Message transport (gRPC,
protobuf) is left out, as it is on the Rust side; bytes per site count the payloads (public keys,
destination ids and ciphertexts, the masked arrays as `ndarray_to_bytes`, node ids and shares).

Usage: flower_secaggplus.py [--sites N] [--len L[,L...]] [--threshold T] [--dropped D[,D...]]
                            [--reps R] [--json]
"""

import argparse
import json
import os
import statistics
import time

import numpy as np

import flwr
from flwr.common import bytes_to_ndarray, ndarray_to_bytes
from flwr.common.secure_aggregation.crypto.shamir import combine_shares, create_shares
from flwr.common.secure_aggregation.crypto.symmetric_encryption import (
    decrypt,
    encrypt,
    generate_shared_key,
)
from flwr.common.secure_aggregation.ndarrays_arithmetic import (
    factor_combine,
    factor_extract,
    get_parameters_shape,
    parameters_addition,
    parameters_mod,
    parameters_multiply,
    parameters_subtraction,
)
from flwr.common.secure_aggregation.quantization import dequantize, quantize
from flwr.common.secure_aggregation.secaggplus_utils import (
    pseudo_rand_gen,
    share_keys_plaintext_concat,
    share_keys_plaintext_separate,
)
from flwr.supercore.primitives.asymmetric import (
    bytes_to_private_key,
    bytes_to_public_key,
    generate_key_pairs,
    private_key_to_bytes,
    public_key_to_bytes,
)

# Same encoding parameters as the Rust bench: clip 8.0, 2^16 levels, max weight 1000, mod 2^32.
CLIPPING_RANGE = 8.0
QUANTIZATION_RANGE = 1 << 16
MOD_RANGE = 1 << 32
MAX_WEIGHT = 1000.0


class SiteState:
    pass


def one_round(n, t, params, dropped, seed):
    rng = np.random.default_rng(seed)
    updates = [
        (int(rng.integers(50, 1001)), ((rng.random(params, dtype=np.float32) - 0.5) * 2.0).astype(np.float32))
        for _ in range(n)
    ]
    sites = [SiteState() for _ in range(n)]
    nids = list(range(1, n + 1))  # Flower node ids
    for nid, s in zip(nids, sites):
        s.nid = nid
    byts = {nid: 0 for nid in nids}
    tm = {}

    # Stage 0: setup (two key pairs per site), as secaggplus_mod._setup.
    t0 = time.perf_counter()
    for s in sites:
        sk1, pk1 = generate_key_pairs()
        sk2, pk2 = generate_key_pairs()
        s.sk1, s.pk1 = private_key_to_bytes(sk1), public_key_to_bytes(pk1)
        s.sk2, s.pk2 = private_key_to_bytes(sk2), public_key_to_bytes(pk2)
    tm["setup_per_site"] = (time.perf_counter() - t0) / n
    public_keys = {s.nid: (s.pk1, s.pk2) for s in sites}
    for s in sites:
        byts[s.nid] += len(s.pk1) + len(s.pk2)

    # Stage 1: share keys, as secaggplus_mod._share_keys.
    fwd = {nid: [] for nid in nids}  # dst -> [(src, ciphertext)]
    t1 = time.perf_counter()
    for s in sites:
        s.public_keys_dict = public_keys
        pk_list = [pk for pair in public_keys.values() for pk in pair]
        if len(set(pk_list)) != len(pk_list):
            raise ValueError("Some public keys are identical")
        s.rd_seed = os.urandom(32)
        b_shares = create_shares(s.rd_seed, t, n)
        sk1_shares = create_shares(s.sk1, t, n)
        s.rd_seed_share_dict, s.sk1_share_dict, s.ss2_dict = {}, {}, {}
        for idx, (nid, (_, pk2)) in enumerate(public_keys.items()):
            if nid == s.nid:
                s.rd_seed_share_dict[nid] = b_shares[idx]
                s.sk1_share_dict[nid] = sk1_shares[idx]
            else:
                shared_key = generate_shared_key(bytes_to_private_key(s.sk2), bytes_to_public_key(pk2))
                s.ss2_dict[nid] = shared_key
                ct = encrypt(shared_key, share_keys_plaintext_concat(s.nid, nid, b_shares[idx], sk1_shares[idx]))
                fwd[nid].append((s.nid, ct))
                byts[s.nid] += 8 + len(ct)  # destination id + ciphertext
    tm["share_keys_per_site"] = (time.perf_counter() - t1) / n

    # Stage 2: collect masked vectors, as secaggplus_mod._collect_masked_vectors. The last
    # `dropped` sites vanish after stage 1.
    survivors = sites[: n - dropped]
    active = {s.nid for s in survivors}
    tq = tmk = 0.0
    masked_wire = []
    for k, s in enumerate(survivors):
        a = time.perf_counter()
        available = []
        for src, ct in fwd[s.nid]:
            src_, dst, b_share, sk1_share = share_keys_plaintext_separate(decrypt(s.ss2_dict[src], ct))
            assert src_ == src and dst == s.nid
            available.append(src)
            s.rd_seed_share_dict[src] = b_share
            s.sk1_share_dict[src] = sk1_share
        b = time.perf_counter()
        num_examples, weights = updates[k]
        ratio = num_examples / MAX_WEIGHT
        q_ratio = round(ratio * QUANTIZATION_RANGE)
        dq_ratio = q_ratio / QUANTIZATION_RANGE
        parameters = parameters_multiply([weights], dq_ratio)
        quantized = quantize(parameters, CLIPPING_RANGE, QUANTIZATION_RANGE)
        quantized = factor_combine(q_ratio, quantized)
        c = time.perf_counter()
        dims = [arr.shape for arr in quantized]
        quantized = parameters_addition(quantized, pseudo_rand_gen(s.rd_seed, MOD_RANGE, dims))
        for nid in available:
            shared_key = generate_shared_key(
                bytes_to_private_key(s.sk1), bytes_to_public_key(s.public_keys_dict[nid][0])
            )
            pairwise = pseudo_rand_gen(shared_key, MOD_RANGE, dims)
            if s.nid > nid:
                quantized = parameters_addition(quantized, pairwise)
            else:
                quantized = parameters_subtraction(quantized, pairwise)
        quantized = parameters_mod(quantized, MOD_RANGE)
        wire = [ndarray_to_bytes(arr) for arr in quantized]
        d = time.perf_counter()
        tq += c - b
        tmk += (b - a) + (d - c)
        byts[s.nid] += sum(len(w) for w in wire)
        masked_wire.append(wire)
    tm["quantize_per_site"] = tq / len(survivors)
    tm["mask_per_site"] = tmk / len(survivors)

    # Server: sum the masked vectors, as secaggplus_workflow.collect_masked_vectors_stage.
    ta = time.perf_counter()
    masked_vector = None
    for wire in masked_wire:
        vec = [bytes_to_ndarray(b) for b in wire]
        masked_vector = vec if masked_vector is None else parameters_addition(masked_vector, vec)
    masked_vector = parameters_mod(masked_vector, MOD_RANGE)
    tm["aggregate_server"] = time.perf_counter() - ta

    # Stage 3: unmask, site side (secaggplus_mod._unmask) ...
    dead = [nid for nid in nids if nid not in active]
    active_l = sorted(active)
    tu = time.perf_counter()
    responses = []
    for s in survivors:
        if len(active_l) < t:
            raise ValueError("Available neighbours number smaller than threshold")
        all_nids = active_l + dead
        shares = [s.rd_seed_share_dict[nid] for nid in active_l] + [s.sk1_share_dict[nid] for nid in dead]
        responses.append((all_nids, shares))
    tm["unmask_per_site"] = (time.perf_counter() - tu) / len(survivors)
    for s, (all_nids, shares) in zip(survivors, responses):
        byts[s.nid] += 8 * len(all_nids) + sum(len(x) for x in shares)

    # ... and server side (secaggplus_workflow.unmask_stage).
    ts = time.perf_counter()
    collected = {nid: [] for nid in nids}
    for all_nids, shares in responses:
        for owner, share in zip(all_nids, shares):
            collected[owner].append(share)
    for nid, share_list in collected.items():
        if len(share_list) < t:
            raise ValueError("Not enough shares to recover secret")
        secret = combine_shares(share_list)
        if nid in active:
            masked_vector = parameters_subtraction(
                masked_vector, pseudo_rand_gen(secret, MOD_RANGE, get_parameters_shape(masked_vector))
            )
        else:
            for neighbour in nids:
                if neighbour == nid:
                    continue
                shared_key = generate_shared_key(
                    bytes_to_private_key(secret), bytes_to_public_key(public_keys[neighbour][0])
                )
                pairwise = pseudo_rand_gen(shared_key, MOD_RANGE, get_parameters_shape(masked_vector))
                if nid > neighbour:
                    masked_vector = parameters_addition(masked_vector, pairwise)
                else:
                    masked_vector = parameters_subtraction(masked_vector, pairwise)
    recon = parameters_mod(masked_vector, MOD_RANGE)
    q_total_ratio, recon = factor_extract(recon)
    inv_dq_total_ratio = QUANTIZATION_RANGE / q_total_ratio
    aggregated = dequantize(recon, CLIPPING_RANGE, QUANTIZATION_RANGE)
    offset = -(len(active) - 1) * CLIPPING_RANGE
    for vec in aggregated:
        vec += offset
        vec *= inv_dq_total_ratio
    tm["unmask_server"] = time.perf_counter() - ts

    # Check: Flower's result is the weighted mean of the survivors (with its rounded weights).
    ws = np.array([round(updates[k][0] / MAX_WEIGHT * QUANTIZATION_RANGE) for k in range(len(survivors))], float)
    exact = sum(w * updates[k][1].astype(float) for k, w in enumerate(ws)) / ws.sum()
    err = float(np.max(np.abs(aggregated[0] - exact)))
    tm["max_abs_error"] = err
    tm["bytes_per_site"] = int(sum(byts[s.nid] for s in survivors) / len(survivors))
    return tm


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sites", type=int, default=int(os.environ.get("SECAGG_SITES", 10)))
    p.add_argument("--len", default=os.environ.get("SECAGG_LEN", "100000,1000000"))
    p.add_argument("--threshold", type=int, default=os.environ.get("SECAGG_THRESHOLD"))
    p.add_argument("--dropped", default=os.environ.get("SECAGG_DROPPED", "0,1"))
    p.add_argument("--reps", type=int, default=int(os.environ.get("SECAGG_REPS", 3)))
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    n = a.sites
    t = int(a.threshold) if a.threshold else max(-(-2 * n // 3), n // 2 + 1)
    phases = ["setup_per_site", "share_keys_per_site", "quantize_per_site", "mask_per_site",
              "unmask_per_site", "aggregate_server", "unmask_server"]
    for length in [int(x.replace("_", "")) for x in a.len.split(",")]:
        for dropped in [int(x) for x in a.dropped.split(",")]:
            runs = [one_round(n, t, length, dropped, 1000 + r) for r in range(a.reps)]
            med = {k: statistics.median(r[k] for r in runs) for k in phases}
            out = {"impl": f"flwr-{flwr.__version__}", "sites": n, "threshold": t, "len": length,
                   "dropped": dropped, "reps": a.reps, **med,
                   "round_critical_path": sum(med.values()),
                   "bytes_per_site": runs[0]["bytes_per_site"],
                   "max_abs_error": max(r["max_abs_error"] for r in runs)}
            if a.json:
                print(json.dumps(out), flush=True)
            else:
                print(f"N = {n}, t = {t}, L = {length}, dropped = {dropped}, flwr {flwr.__version__}")
                for k in phases + ["round_critical_path"]:
                    print(f"  {k:<22} {out[k] * 1e3:>10.3f} ms")
                print(f"  {'sent per site':<22} {out['bytes_per_site']:>10} bytes")


if __name__ == "__main__":
    main()
