"""XGBoost baseline for bench/vs-xgboost.ts: trains on a CSV, predicts another, reports timings.

Reads CSVs whose first row is a header and whose last column is the label (the bench writes them),
prints one JSON object on stdout and writes test-set probabilities, one per line.
"""
import argparse
import json
import time

import numpy as np
import xgboost as xgb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--predictions", required=True)
    ap.add_argument("--nthread", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--max-depth", type=int, default=6)
    ap.add_argument("--eta", type=float, default=0.1)
    ap.add_argument("--lambda", dest="reg_lambda", type=float, default=1.0)
    ap.add_argument("--min-child-weight", type=float, default=1.0)
    ap.add_argument("--max-bin", type=int, default=256)
    ap.add_argument("--single-row-samples", type=int, default=2000)
    args = ap.parse_args()

    train = np.loadtxt(args.train, delimiter=",", skiprows=1)
    test = np.loadtxt(args.test, delimiter=",", skiprows=1)
    x_train, y_train = train[:, :-1], train[:, -1]
    x_test, y_test = test[:, :-1], test[:, -1]

    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "max_depth": args.max_depth,
        "eta": args.eta,
        "lambda": args.reg_lambda,
        "min_child_weight": args.min_child_weight,
        "max_bin": args.max_bin,
        "nthread": args.nthread,
        "seed": 0,
    }
    start = time.perf_counter()
    cpu_start = time.process_time()
    dtrain = xgb.DMatrix(x_train, label=y_train, missing=np.nan, nthread=args.nthread)
    booster = xgb.train(params, dtrain, num_boost_round=args.rounds)
    train_seconds = time.perf_counter() - start
    train_cpu_seconds = time.process_time() - cpu_start

    probabilities = booster.inplace_predict(x_test)
    np.savetxt(args.predictions, probabilities, fmt="%.9g")

    single = []
    for i in range(min(args.single_row_samples, len(x_test))):
        row = x_test[i : i + 1]
        t0 = time.perf_counter_ns()
        booster.inplace_predict(row)
        single.append((time.perf_counter_ns() - t0) / 1000)
    batch = []
    for i in range(max(1, min(20, len(x_test) // 1000))):
        rows = x_test[i * 1000 : (i + 1) * 1000]
        t0 = time.process_time_ns()
        booster.inplace_predict(rows)
        batch.append((time.process_time_ns() - t0) / 1000 / len(rows))

    print(
        json.dumps(
            {
                "version": xgb.__version__,
                "trainSeconds": train_seconds,
                "trainCpuSeconds": train_cpu_seconds,
                "singleRowMicros": float(np.median(single)),
                "batchRowMicros": float(np.median(batch)),
                "testRows": int(len(y_test)),
            }
        )
    )


if __name__ == "__main__":
    main()
