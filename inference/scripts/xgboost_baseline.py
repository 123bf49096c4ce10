#!/usr/bin/env python3
"""The real xgboost package on a cohort exported by `consentry inference cohort export`.

Trains one booster per task on every feature column (the tabular features and the flattened
vital-sign series; the `drug=` one-hot columns carry the drug) of the `train` rows, early-stopping
on the `valid` rows, and prints the test rows' probabilities as JSON for the caller to score
(`src/learning_curve.rs` scores them with the same metrics code as our models):

    {"version": "3.2.0", "rows": [row, ...], "runs": [{"seed": 1, "secs": 1.2,
      "response": [p, ...], "adr": [p, ...]}, ...]}

The settings are a reviewer's off-the-shelf choice, not tuned to our data: histogram trees of
depth 6 (xgboost's default), learning rate 0.05, row and column subsampling 0.8 (seeded, so seeds
differ), up to 2000 rounds with 50 rounds of early stopping on validation log-loss.
"""
import argparse
import csv
import json
import sys
import time

import numpy as np
import xgboost as xgb

NOT_FEATURES = {"row", "split", "drug", "y_response", "y_adr", "oracle_p_response", "oracle_p_adr"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", required=True, help="cohort CSV from `cohort export`")
    ap.add_argument("--seeds", default="1", help="comma-separated seeds")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",") if s.strip()]
    with open(a.csv, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        body = list(r)
    col = {name: i for i, name in enumerate(header)}
    feats = [i for i, name in enumerate(header) if name not in NOT_FEATURES]
    if not feats:
        sys.exit(f"{a.csv}: no feature columns")
    x = np.array([[float(row[i]) if row[i] != "" else np.nan for i in feats] for row in body], dtype=np.float32)
    split = np.array([row[col["split"]] for row in body])
    rows = np.array([int(row[col["row"]]) for row in body])
    y = {t: np.array([float(row[col[f"y_{t}"]]) for row in body]) for t in ("response", "adr")}
    tr, va, te = (split == "train"), (split == "valid"), (split == "test")
    runs = []
    for seed in seeds:
        t0 = time.perf_counter()
        out = {"seed": seed}
        for task in ("response", "adr"):
            dtrain = xgb.DMatrix(x[tr], label=y[task][tr], missing=np.nan)
            dvalid = xgb.DMatrix(x[va], label=y[task][va], missing=np.nan)
            params = {
                "objective": "binary:logistic",
                "eval_metric": "logloss",
                "tree_method": "hist",
                "max_depth": 6,
                "eta": 0.05,
                "subsample": 0.8,
                "colsample_bytree": 0.8,
                "seed": seed,
                "nthread": 2,
            }
            booster = xgb.train(
                params,
                dtrain,
                num_boost_round=2000,
                evals=[(dvalid, "valid")],
                early_stopping_rounds=50,
                verbose_eval=False,
            )
            best = (0, booster.best_iteration + 1)
            p = booster.predict(xgb.DMatrix(x[te], missing=np.nan), iteration_range=best)
            out[task] = p.astype(float).tolist()
        out["secs"] = time.perf_counter() - t0
        runs.append(out)
    json.dump({"version": xgb.__version__, "rows": rows[te].tolist(), "runs": runs}, sys.stdout)


if __name__ == "__main__":
    main()
