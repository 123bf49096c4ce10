#!/usr/bin/env python3
"""Epsilon (and delta) of DP-SGD by Google's dp-accounting, for cross-checking consentry-privacy.

Reads a JSON grid on stdin:

    {"points": [{"q": 0.01, "sigma": 1.1, "steps": 10000, "delta": 1e-5}, ...]}

and prints, one JSON object on stdout, dp-accounting's answer for each point:

    {"dp_accounting": "0.6.0", "results": [{"epsilon": 5.63, "order": 7.0}, ...]}

Each point is RdpAccountant() (default orders, add/remove-one neighbours) composed with
SelfComposedDpEvent(PoissonSampledDpEvent(q, GaussianDpEvent(sigma)), steps), and
get_epsilon_and_optimal_order(delta). A point may instead carry "epsilon" (no "delta") to ask for
get_delta_and_optimal_order(epsilon); it then gets {"delta": ..., "order": ...}. An optional
top-level "orders" list replaces the default orders. Infinite values are printed as the string
"inf" (JSON has no infinity).
"""
import importlib.metadata
import json
import math
import sys

import dp_accounting
from dp_accounting import rdp


def _num(x):
    x = float(x)
    return "inf" if math.isinf(x) else x


def main():
    grid = json.load(sys.stdin)
    orders = grid.get("orders")
    results = []
    for p in grid["points"]:
        accountant = rdp.RdpAccountant(orders) if orders else rdp.RdpAccountant()
        event = dp_accounting.SelfComposedDpEvent(
            dp_accounting.PoissonSampledDpEvent(
                float(p["q"]), dp_accounting.GaussianDpEvent(float(p["sigma"]))
            ),
            int(p["steps"]),
        )
        accountant.compose(event)
        if "delta" in p:
            eps, order = accountant.get_epsilon_and_optimal_order(float(p["delta"]))
            results.append({"epsilon": _num(eps), "order": _num(order)})
        else:
            delta, order = accountant.get_delta_and_optimal_order(float(p["epsilon"]))
            results.append({"delta": _num(delta), "order": _num(order)})
    json.dump(
        {"dp_accounting": importlib.metadata.version("dp-accounting"), "results": results},
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
