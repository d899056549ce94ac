"""XGBoost or LightGBM on the bench's data files, single-threaded, for bench/vs-peers.ts.

Reads raw little-endian arrays written by the bench (features float64 row-major, labels float64,
query group sizes int32), trains, predicts the test rows, writes the predictions (raw margins for
ranking, probabilities for binary) as float64 and prints one JSON line with the timings.
"""
import argparse
import json
import os
import time

# One thread, waiting passively (set before the libraries load their OpenMP runtime).
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import numpy as np  # noqa: E402


def load(prefix, width):
    x = np.fromfile(prefix + ".x.f64", dtype=np.float64).reshape(-1, width)
    y = np.fromfile(prefix + ".y.f64", dtype=np.float64)
    groups = np.fromfile(prefix + ".g.i32", dtype=np.int32) if os.path.exists(prefix + ".g.i32") else None
    return x, y, groups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", choices=["xgboost", "lightgbm"], required=True)
    ap.add_argument("--task", choices=["binary", "lambdarank"], required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--max-depth", type=int, required=True)
    ap.add_argument("--eta", type=float, required=True)
    ap.add_argument("--lambda", dest="reg_lambda", type=float, required=True)
    ap.add_argument("--min-child-weight", type=float, required=True)
    ap.add_argument("--truncation", type=int, default=30)
    ap.add_argument("--batch", type=int, default=10000)
    args = ap.parse_args()

    x_train, y_train, g_train = load(os.path.join(args.dir, "train"), args.width)
    x_test, _, _ = load(os.path.join(args.dir, "test"), args.width)
    start = time.perf_counter()
    cpu_start = time.process_time()
    if args.library == "xgboost":
        import xgboost as lib

        params = {
            "tree_method": "hist",
            "max_depth": args.max_depth,
            "eta": args.eta,
            "lambda": args.reg_lambda,
            "min_child_weight": args.min_child_weight,
            "max_bin": 256,
            "nthread": 1,
            "seed": 0,
        }
        if args.task == "binary":
            params["objective"] = "binary:logistic"
        else:
            params.update({"objective": "rank:ndcg", "lambdarank_pair_method": "topk", "lambdarank_num_pair_per_sample": args.truncation})
        dtrain = lib.DMatrix(x_train, label=y_train, missing=np.nan, nthread=1)
        if g_train is not None:
            dtrain.set_group(g_train)
        model = lib.train(params, dtrain, num_boost_round=args.rounds)
        predict = lambda rows: model.inplace_predict(rows)  # noqa: E731
    else:
        import lightgbm as lib

        params = {
            "num_leaves": 2 ** args.max_depth,
            "max_depth": args.max_depth,
            "learning_rate": args.eta,
            "lambda_l2": args.reg_lambda,
            "min_sum_hessian_in_leaf": args.min_child_weight,
            "min_data_in_leaf": 1,
            "max_bin": 255,
            "num_threads": 1,
            "deterministic": True,
            "verbose": -1,
            "seed": 0,
        }
        if args.task == "binary":
            params["objective"] = "binary"
        else:
            params.update({"objective": "lambdarank", "lambdarank_truncation_level": args.truncation})
        dtrain = lib.Dataset(x_train, label=y_train, group=g_train, params={"max_bin": 255, "verbose": -1})
        model = lib.train(params, dtrain, num_boost_round=args.rounds)
        predict = lambda rows: model.predict(rows, num_threads=1)  # noqa: E731
    train_seconds = time.perf_counter() - start
    train_cpu = time.process_time() - cpu_start

    predictions = np.asarray(predict(x_test), dtype=np.float64)
    predictions.tofile(os.path.join(args.dir, f"pred-{args.library}.f64"))
    per_row = []
    for i in range(max(1, min(10, len(x_test) // args.batch))):
        rows = np.ascontiguousarray(x_test[i * args.batch : (i + 1) * args.batch])
        t0 = time.process_time_ns()
        predict(rows)
        per_row.append((time.process_time_ns() - t0) / 1000 / len(rows))
    print(
        json.dumps(
            {
                "version": lib.__version__,
                "trainSeconds": train_seconds,
                "trainCpuSeconds": train_cpu,
                "batchRowMicros": float(np.median(per_row)),
            }
        )
    )


if __name__ == "__main__":
    main()
