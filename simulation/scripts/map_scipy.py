#!/usr/bin/env python3
"""Independent MAP estimate for the Rust fit's cross-check (simulation/tests/mipd_scipy.rs).

Reads cases as JSON on stdin and prints, per case, scipy's minimiser of the same objective:

    OFV(eta) = sum_j [(y_j - C_j)^2 / s_j^2 + ln s_j^2] + eta' Omega^-1 eta,
    s_j^2 = (prop * C_j)^2 + add^2,

with its own closed-form linear PK (written from the textbook equations, not from the Rust
code): one compartment (oral with lag, IV bolus, infusion) and two compartments (bolus,
infusion) by superposition. Parameters: theta = prior * exp(eta) on the indices in `idx`
(0 = CL, 1 = V, 2 = ka).
"""
import json
import sys

import numpy as np
from scipy.optimize import minimize


def disposition(p):
    """Unit-bolus central concentration as sum coef_i * exp(-lam_i t)."""
    cl, v = p["cl_l_h"], p["v_l"]
    if p.get("q_l_h", 0.0) > 0.0:
        k10, k12, k21 = cl / v, p["q_l_h"] / v, p["q_l_h"] / p["v2_l"]
        s = k10 + k12 + k21
        root = np.sqrt(s * s - 4.0 * k10 * k21)
        alpha, beta = (s + root) / 2.0, (s - root) / 2.0
        return [alpha, beta], [(alpha - k21) / (v * (alpha - beta)), (k21 - beta) / (v * (alpha - beta))]
    return [cl / v], [1.0 / v]


def conc(p, doses, t):
    lam, coef = disposition(p)
    total = 0.0
    for d in doses:
        dt = t - d["time_h"]
        route = d["route"]
        kind = route["kind"]
        amt = d["amount_mg"]
        if kind == "oral":
            dt -= p.get("tlag_h", 0.0)
            if dt <= 0:
                continue
            ka = p["ka_per_h"]
            for l, c in zip(lam, coef):
                total += p["f"] * amt * c * ka / (ka - l) * (np.exp(-l * dt) - np.exp(-ka * dt))
        elif kind == "iv_bolus":
            if dt < 0:
                continue
            for l, c in zip(lam, coef):
                total += amt * c * np.exp(-l * dt)
        elif kind == "infusion":
            if dt <= 0:
                continue
            dur = route["duration_h"]
            rate = amt / dur
            for l, c in zip(lam, coef):
                on = min(dt, dur)
                total += rate * c / l * (1.0 - np.exp(-l * on)) * np.exp(-l * max(dt - dur, 0.0))
        else:
            raise ValueError(f"unknown route {kind}")
    return total


def solve(case):
    idx = case["idx"]
    omega = np.array(case["omega"])
    omega_inv = np.linalg.inv(omega)
    names = ["cl_l_h", "v_l", "ka_per_h"]

    def ofv(eta):
        p = dict(case["prior"])
        for e, k in zip(eta, idx):
            p[names[k]] = case["prior"][names[k]] * np.exp(e)
        s = 0.0
        for lev in case["levels"]:
            c = conc(p, case["doses"], lev["time_h"])
            var = max((case["prop"] * c) ** 2 + case["add"] ** 2, 1e-18)
            s += (lev["conc_mg_l"] - c) ** 2 / var + np.log(var)
        return s + float(eta @ omega_inv @ eta)

    x0 = np.zeros(len(idx))
    r = minimize(ofv, x0, method="BFGS", options={"gtol": 1e-9})
    r = minimize(ofv, r.x, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    return {"eta": r.x.tolist(), "ofv": float(r.fun)}


if __name__ == "__main__":
    cases = json.load(sys.stdin)
    json.dump([solve(c) for c in cases], sys.stdout)
