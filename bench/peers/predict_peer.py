"""Peer of bench/predict.ts: batch scoring of a CSV file with pandas and scikit-learn.

Usage:
    python bench/peers/predict_peer.py --data DIR --input FILE.csv --output FILE.csv [--columns all|predictions]
        [--seed 42]

DIR is written by bench/predict.ts and holds
  meta.json   {"dataset", "target", "classes", "numeric": [...], "categorical": [...]}
              (classes in our order; for a binary task classes[1] is the positive class)
  train.csv   the raw validated rows our models were trained on (train split, after the manifest's recodes,
              before any preprocessing): the feature columns and the target; numeric empty = missing,
              categorical values are strings ("" = missing).

The model is the `sklearn-hgb` peer of bench/train.ts (bench/peers/train_peer.py): ordinal-encoded categoricals
(unknown and missing → NaN) passed as categorical_features + raw numerics, HistGradientBoostingClassifier with its
defaults, fitted on train.csv. Fitting is not timed.

Both files are read with pandas' defaults (its type inference: credit-default's columns are all int64, and the
categorical codes are ordinal-encoded as numbers).

Timed (time.perf_counter, one run), as `npm run predict` does it: pandas.read_csv of the whole input (every column
kept), predict_proba through the fitted pipeline, then
the input columns plus label (arg-max, or probability of classes[1] >= 0.5 for a binary task), one probability
column per class and model_version written with DataFrame.to_csv (--columns all, the default: what ours writes);
with --columns predictions only the label and probability columns are written (a lighter output than ours). No
row validation (ours checks every field of every row, quarantines bad ones and names their line).

Memory: resource.getrusage(RUSAGE_SELF).ru_maxrss after the fit (rss_after_fit_mb) and at the end (peak_rss_mb);
the data is read after the fit, so the peak is the scoring's unless the fit needed more.

Prints one JSON line on stdout and nothing else; progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder


def progress(message: str) -> None:
    print(f"[predict_peer] {message}", file=sys.stderr, flush=True)


def max_rss_mb() -> float:
    # Linux reports kilobytes (macOS bytes; the bench runs on Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def omp_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info

        counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "openmp"]
        return max(counts) if counts else None
    except Exception:  # noqa: BLE001 - threadpoolctl is optional information
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--columns", choices=["all", "predictions"], default="all")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    meta = json.loads((args.data / "meta.json").read_text())
    numeric, categorical, target, classes = meta["numeric"], meta["categorical"], meta["target"], meta["classes"]
    # pandas' own type inference, as a practitioner reads a file (credit-default: every column int64).
    train = pd.read_csv(args.data / "train.csv", dtype={target: str})
    unknown = set(train[target]) - set(classes)
    if unknown:
        raise SystemExit(f"train.csv: target values {sorted(unknown)} are not among the classes {classes}")
    y = train[target].map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=np.int64)
    transformers = []
    if categorical:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
        transformers.append(("categorical", encoder, categorical))
    if numeric:
        transformers.append(("numeric", "passthrough", numeric))
    mask = [True] * len(categorical) + [False] * len(numeric)
    model = Pipeline(
        [
            ("prep", ColumnTransformer(transformers)),
            (
                "model",
                HistGradientBoostingClassifier(
                    categorical_features=mask if categorical else None, random_state=args.seed
                ),
            ),
        ]
    )
    progress(f"fitting HistGradientBoostingClassifier on {len(train)} rows")
    model.fit(train[numeric + categorical], y)
    iterations = int(model.named_steps["model"].n_iter_)
    del train, y
    rss_after_fit = max_rss_mb()

    progress(f"scoring {args.input}")
    started = time.perf_counter()
    cpu_started = time.process_time()
    frame = pd.read_csv(args.input)
    read_s = time.perf_counter() - started
    proba = model.predict_proba(frame[numeric + categorical])
    predict_s = time.perf_counter() - started - read_s
    if len(classes) == 2:
        labels = np.where(proba[:, 1] >= 0.5, classes[1], classes[0])
    else:
        labels = np.asarray(classes)[proba.argmax(axis=1)]
    predictions = {"label": labels, **{f"probability_{c}": proba[:, i] for i, c in enumerate(classes)}}
    if args.columns == "all":
        for name, column in predictions.items():
            frame[name] = column
        frame["model_version"] = "peer"
        frame.to_csv(args.output, index=False)
    else:
        pd.DataFrame(predictions).to_csv(args.output, index=False)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    rows = len(frame)
    print(
        json.dumps(
            {
                "variant": "peer-pandas-sklearn-hgb",
                "columns": args.columns,
                "rows": rows,
                "seconds": round(seconds, 3),
                "rows_per_s": round(rows / seconds),
                "read_csv_s": round(read_s, 3),
                "predict_proba_s": round(predict_s, 3),
                "to_csv_s": round(seconds - read_s - predict_s, 3),
                "cpu_s": round(cpu_seconds, 3),
                "rss_after_fit_mb": round(rss_after_fit, 1),
                "peak_rss_mb": round(max_rss_mb(), 1),
                "output_bytes": os.path.getsize(args.output),
                "hgb_iterations": iterations,
                "omp_threads": omp_threads(),
                "versions": {
                    "python": sys.version.split()[0],
                    "pandas": pd.__version__,
                    "numpy": np.__version__,
                    "scikit-learn": sklearn.__version__,
                },
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
