"""Peer of bench/train.ts: scikit-learn baselines trained on exactly the split our pipeline uses.

Usage:
    python bench/peers/train_peer.py --data DIR [--repeats N] [--fit-on train+validation|train]
        [--class-weight none|balanced] [--seed 42] [--models logistic,hgb]

DIR is written by bench/train.ts and holds
  meta.json        {"dataset", "target", "classes", "numeric": [...], "categorical": [...]}
                   (classes in our order; for a binary task classes[1] is the positive class)
  train.csv, validation.csv, test.csv
                   the raw validated rows of each split (after the manifest's recodes, before any
                   preprocessing): the feature columns and the target; numeric empty = missing,
                   categorical values are strings ("" = missing).

Models (each a Pipeline, so preprocessing is fitted and timed with the model):
  sklearn-logistic  one-hot categoricals (unknown ignored) + median-imputed, StandardScaler'd numerics,
                    LogisticRegression (lbfgs, C=1, max_iter=5000)
  sklearn-hgb       ordinal-encoded categoricals passed as categorical_features + raw numerics,
                    HistGradientBoostingClassifier (defaults; early_stopping "auto" = on above 10,000 rows,
                    with its own 10% internal validation split), random_state=--seed

Data: by default both fit on train + validation, since neither uses our validation split for early
stopping or selection (ours trains on train and uses validation for early stopping and trial selection,
so every model sees the same rows). `--fit-on train` fits on train alone.

Metrics on test: ROC AUC (binary: positive-class probability; multiclass: one-vs-rest, macro) and
macro-F1 of `predict` (binary: probability >= 0.5; multiclass: arg-max) — the same rules as
src/evaluation/metrics.ts with its default threshold 0.5.

Prints one JSON line per model on stdout (medians over the repeats) and nothing else; progress to stderr.
  wall_s = fit + predict_proba + predict on test, perf_counter, per repeat.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler


def progress(message: str) -> None:
    print(f"[train_peer] {message}", file=sys.stderr, flush=True)


def read_split(directory: Path, name: str, meta: dict) -> tuple[pd.DataFrame, np.ndarray]:
    numeric, categorical, target = meta["numeric"], meta["categorical"], meta["target"]
    frame = pd.read_csv(
        directory / f"{name}.csv",
        dtype={**{c: "float64" for c in numeric}, **{c: str for c in categorical}, target: str},
        keep_default_na=False,
        na_values={c: [""] for c in numeric},
    )
    classes = meta["classes"]
    unknown = set(frame[target]) - set(classes)
    if unknown:
        raise SystemExit(f"{name}.csv: target values {sorted(unknown)} are not among the classes {classes}")
    y = frame[target].map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=np.int64)
    return frame[numeric + categorical], y


def logistic(meta: dict, class_weight: str | None, seed: int) -> Pipeline:
    transformers = []
    if meta["numeric"]:
        numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
        transformers.append(("numeric", numeric, meta["numeric"]))
    if meta["categorical"]:
        transformers.append(
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), meta["categorical"])
        )
    return Pipeline(
        [
            ("prep", ColumnTransformer(transformers)),
            ("model", LogisticRegression(max_iter=5000, class_weight=class_weight, random_state=seed)),
        ]
    )


def hgb(meta: dict, class_weight: str | None, seed: int) -> Pipeline:
    categorical = meta["categorical"]
    transformers = []
    if categorical:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
        transformers.append(("categorical", encoder, categorical))
    if meta["numeric"]:
        transformers.append(("numeric", "passthrough", meta["numeric"]))
    # Categorical columns come first out of the ColumnTransformer.
    mask = [True] * len(categorical) + [False] * len(meta["numeric"])
    return Pipeline(
        [
            ("prep", ColumnTransformer(transformers)),
            (
                "model",
                HistGradientBoostingClassifier(
                    categorical_features=mask if categorical else None,
                    class_weight=class_weight,
                    random_state=seed,
                ),
            ),
        ]
    )


BUILDERS = {"logistic": logistic, "hgb": hgb}


def scores(y: np.ndarray, proba: np.ndarray, predicted: np.ndarray, k: int) -> tuple[float, float]:
    if k == 2:
        auc = roc_auc_score(y, proba[:, 1])
    else:
        auc = roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=list(range(k)))
    return float(auc), float(f1_score(y, predicted, average="macro"))


def iterations(model) -> int | None:
    n_iter = getattr(model, "n_iter_", None)
    if n_iter is None:
        return None
    return int(np.max(n_iter))


def threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info

        counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "openmp"]
        return max(counts) if counts else None
    except Exception:  # noqa: BLE001 - informational only
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-on", choices=["train+validation", "train"], default="train+validation")
    parser.add_argument("--class-weight", choices=["none", "balanced"], default="none")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--models", default="logistic,hgb")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in BUILDERS:
            parser.error(f"unknown model '{m}' (known: {', '.join(BUILDERS)})")

    meta = json.loads((args.data / "meta.json").read_text())
    k = len(meta["classes"])
    x_train, y_train = read_split(args.data, "train", meta)
    if args.fit_on == "train+validation":
        x_val, y_val = read_split(args.data, "validation", meta)
        x_fit = pd.concat([x_train, x_val], ignore_index=True)
        y_fit = np.concatenate([y_train, y_val])
    else:
        x_fit, y_fit = x_train, y_train
    x_test, y_test = read_split(args.data, "test", meta)
    class_weight = None if args.class_weight == "none" else "balanced"
    progress(
        f"{meta['dataset']}: fit on {args.fit_on} ({len(y_fit)} rows), test {len(y_test)} rows, "
        f"{len(meta['numeric'])} numeric + {len(meta['categorical'])} categorical columns, {k} classes"
    )

    for name in models:
        walls, fits, predicts, aucs, f1s, iters = [], [], [], [], [], []
        for repeat in range(args.repeats):
            pipeline = BUILDERS[name](meta, class_weight, args.seed)
            t0 = time.perf_counter()
            pipeline.fit(x_fit, y_fit)
            t1 = time.perf_counter()
            proba = pipeline.predict_proba(x_test)
            predicted = pipeline.predict(x_test)
            t2 = time.perf_counter()
            auc, f1 = scores(y_test, proba, predicted, k)
            walls.append(t2 - t0)
            fits.append(t1 - t0)
            predicts.append(t2 - t1)
            aucs.append(auc)
            f1s.append(f1)
            iters.append(iterations(pipeline.named_steps["model"]))
            progress(
                f"sklearn-{name} repeat {repeat + 1}/{args.repeats}: wall {t2 - t0:.3f} s, "
                f"test roc_auc {auc:.4f}, f1_macro {f1:.4f}"
            )
        print(
            json.dumps(
                {
                    "bench": "train",
                    "dataset": meta["dataset"],
                    "impl": "sklearn",
                    "model": name,
                    "variant": f"sklearn-{name}",
                    "sklearn": sklearn.__version__,
                    "omp_threads": threads(),
                    "repeats": args.repeats,
                    "fit_on": args.fit_on,
                    "fit_rows": int(len(y_fit)),
                    "test_rows": int(len(y_test)),
                    "class_weight": args.class_weight,
                    "n_iter": iters[-1],
                    "test_roc_auc": round(statistics.median(aucs), 5),
                    "test_f1_macro": round(statistics.median(f1s), 5),
                    "wall_s_median": round(statistics.median(walls), 3),
                    "wall_s_all": [round(w, 3) for w in walls],
                    "fit_s_median": round(statistics.median(fits), 3),
                    "predict_s_median": round(statistics.median(predicts), 3),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
