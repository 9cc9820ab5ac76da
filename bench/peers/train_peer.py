"""Peer of bench/train.ts: scikit-learn and LightGBM baselines trained on exactly the split our pipeline uses.

Usage (bench/train.ts starts one process per model, so that each peak RSS is the model's own):
    python bench/peers/train_peer.py --data DIR --model logistic|hgb|hgb-ours-params|lightgbm|rf [--repeats N]
        [--fit-on train+validation|train] [--class-weight none|balanced] [--seed 42] [--threads N]
        [--ours-params JSON] [--selection-metric roc_auc] [--patience 6] [--min-delta 0.0002]
        [--predict-rows 100000] [--predict-repeats 3]

DIR is written by bench/train.ts and holds
  meta.json        {"dataset", "target", "classes", "numeric": [...], "categorical": [...]}
                   (classes in our order; for a binary task classes[1] is the positive class)
  train.csv, validation.csv, test.csv
                   the raw validated rows of each split (after the manifest's recodes, before any
                   preprocessing): the feature columns and the target; numeric empty = missing,
                   categorical values are strings ("" = missing).

Models (each a Pipeline, so its preprocessing is fitted, timed and applied at predict time with the model):
  sklearn-logistic  one-hot categoricals (unknown ignored) + median-imputed, StandardScaler'd numerics,
                    LogisticRegression (lbfgs, C=1, max_iter=5000). Fits on --fit-on.
  sklearn-hgb       ordinal-encoded categoricals passed as categorical_features + raw numerics,
                    HistGradientBoostingClassifier with its defaults: early_stopping "auto" (on above 10,000
                    rows) on its own stratified 10% of the rows it fits on, scored by its loss. It cannot take
                    an explicit validation set, so it fits on --fit-on (default train + validation: it sees the
                    same rows as ours, which trains on train and stops early on validation). This is the
                    reference of issue 10's goals.
  sklearn-hgb-ours-params
                    the same, with our gbdt trial's parameters where HGB has them (rounds→max_iter,
                    learningRate→learning_rate, maxLeaves→max_leaf_nodes, maxDepth→max_depth,
                    minSamplesLeaf→min_samples_leaf, l2→l2_regularization, maxBins→max_bins, colsample→
                    max_features (HGB samples per split, ours per tree); no subsample or min hessian) and early
                    stopping as close to ours as HGB allows: fitted on train + validation with
                    validation_fraction = validation / (train + validation) — as many rows to fit and to stop on
                    as ours, but HGB's own random stratified holdout, not our validation rows — scored by our
                    selection metric, n_iter_no_change = the trial's earlyStoppingRounds or --patience,
                    tol = --min-delta (HGB keeps the rounds up to the stop, not only up to the best one).
                    A like-for-like engine comparison; --fit-on does not apply.
  lightgbm          the same ordinal-encoded categoricals as LightGBM categorical features + raw numerics,
                    LGBMClassifier(n_jobs=--threads) with our gbdt trial's parameters (--ours-params, mapped:
                    rounds→n_estimators, learningRate→learning_rate, maxLeaves→num_leaves, maxDepth→max_depth
                    (null→-1), minSamplesLeaf→min_child_samples, minHessianLeaf→min_child_weight,
                    l2→reg_lambda, maxBins→max_bin, subsample→subsample (with subsample_freq=1 below 1),
                    colsample→colsample_bytree). Fits on train and stops early on our validation split exactly as
                    ours does: eval_X/eval_y = validation, the config's selection metric (AUC for binary roc_auc,
                    otherwise computed by the same rules as ours), patience = the trial's earlyStoppingRounds or
                    --patience, --min-delta; the best iteration is kept. --fit-on does not apply.
  sklearn-rf        one-hot categoricals (as ours sees them; unknown ignored) + raw numerics (NaN supported),
                    RandomForestClassifier(n_jobs=--threads) with our random-forest trial's parameters:
                    n_estimators = the trees our forest kept (`keptTrees`, else `trees`), criterion, max_depth,
                    max_leaf_nodes (maxLeaves), min_samples_leaf, min_samples_split, max_features
                    (sqrt|log2|all→None|fraction), bootstrap. Fits on --fit-on (it has no early stopping).

Class weights: the config's training.classWeight (`balanced` → class_weight="balanced" for every model).

Metrics on test: ROC AUC (binary: positive-class probability; multiclass: one-vs-rest, macro) and
macro-F1 (binary: probability of classes[1] >= 0.5; multiclass: arg-max) — the rules of
src/evaluation/metrics.ts with its default threshold 0.5.

Timing (perf_counter, medians over the repeats, each a fresh fit):
  fit_s           Pipeline fit (preprocessing included; for lightgbm also transforming the validation set)
  predict_rows_s  predict_proba of --predict-rows raw rows (the test rows repeated) through the fitted
                  pipeline (its transform included), median of --predict-repeats runs after the last fit
CPU time (time.process_time: every thread of the process, user + system) of the same spans: fit_cpu_s,
predict_rows_cpu_s — less distorted than wall time when other jobs share the machine.
Memory: resource.getrusage(RUSAGE_SELF).ru_maxrss after reading the data (rss_baseline_mb), after the fits
(rss_after_fit_mb) and at the end (peak_rss_mb).

Prints one JSON line on stdout and nothing else; progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

VARIANTS = {
    "logistic": "sklearn-logistic",
    "hgb": "sklearn-hgb",
    "hgb-ours-params": "sklearn-hgb-ours-params",
    "lightgbm": "lightgbm",
    "rf": "sklearn-rf",
}

# Our selection metrics as scikit-learn scorer names (binary, multiclass).
SCORERS = {
    "roc_auc": ("roc_auc", "roc_auc_ovr"),
    "f1_macro": ("f1_macro", "f1_macro"),
    "f1": ("f1", None),
    "pr_auc": ("average_precision", None),
    "accuracy": ("accuracy", "accuracy"),
    "balanced_accuracy": ("balanced_accuracy", "balanced_accuracy"),
    "log_loss": ("neg_log_loss", "neg_log_loss"),
}


def progress(message: str) -> None:
    print(f"[train_peer] {message}", file=sys.stderr, flush=True)


def max_rss_mb() -> float:
    # Linux reports kilobytes (macOS bytes; the bench runs on Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def ordinal_prep(meta: dict) -> tuple[ColumnTransformer, list[bool]]:
    """Categoricals as ordinal codes (unknown and missing → NaN) first, then the raw numerics."""
    categorical = meta["categorical"]
    transformers = []
    if categorical:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
        transformers.append(("categorical", encoder, categorical))
    if meta["numeric"]:
        transformers.append(("numeric", "passthrough", meta["numeric"]))
    mask = [True] * len(categorical) + [False] * len(meta["numeric"])
    return ColumnTransformer(transformers), mask


def logistic(meta: dict, args: argparse.Namespace, ours: dict) -> Pipeline:
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
            ("model", LogisticRegression(max_iter=5000, class_weight=args.class_weight, random_state=args.seed)),
        ]
    )


def hgb(meta: dict, args: argparse.Namespace, ours: dict) -> Pipeline:
    prep, mask = ordinal_prep(meta)
    model = HistGradientBoostingClassifier(
        categorical_features=mask if meta["categorical"] else None,
        class_weight=args.class_weight,
        random_state=args.seed,
    )
    return Pipeline([("prep", prep), ("model", model)])


def hgb_ours_params(meta: dict, args: argparse.Namespace, ours: dict) -> Pipeline:
    prep, mask = ordinal_prep(meta)
    binary = len(meta["classes"]) == 2
    scorer = SCORERS[args.selection_metric][0 if binary else 1]
    if scorer is None:
        raise SystemExit(f"selection metric {args.selection_metric} has no multiclass scorer")
    fit_rows = args.fit_rows
    model = HistGradientBoostingClassifier(
        categorical_features=mask if meta["categorical"] else None,
        max_iter=int(ours.get("rounds", 300)),
        learning_rate=float(ours.get("learningRate", 0.1)),
        max_leaf_nodes=int(ours.get("maxLeaves", 31)),
        max_depth=ours.get("maxDepth"),
        min_samples_leaf=int(ours.get("minSamplesLeaf", 20)),
        l2_regularization=float(ours.get("l2", 0)),
        max_bins=int(ours.get("maxBins", 255)),
        max_features=float(ours.get("colsample", 1)),
        early_stopping=True,
        scoring=scorer,
        validation_fraction=args.validation_rows / fit_rows,
        n_iter_no_change=int(ours.get("earlyStoppingRounds") or args.patience),
        tol=args.min_delta,
        class_weight=args.class_weight,
        random_state=args.seed,
    )
    return Pipeline([("prep", prep), ("model", model)])


def rf(meta: dict, args: argparse.Namespace, ours: dict) -> Pipeline:
    transformers = []
    if meta["numeric"]:
        transformers.append(("numeric", "passthrough", meta["numeric"]))
    if meta["categorical"]:
        transformers.append(
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), meta["categorical"])
        )
    max_features = ours.get("maxFeatures", "sqrt")
    model = RandomForestClassifier(
        n_estimators=int(ours.get("keptTrees") or ours.get("trees", 100)),
        criterion=ours.get("criterion", "gini"),
        max_depth=ours.get("maxDepth"),
        max_leaf_nodes=ours.get("maxLeaves"),
        min_samples_leaf=ours.get("minSamplesLeaf", 1),
        min_samples_split=ours.get("minSamplesSplit", 2),
        max_features=None if max_features == "all" else max_features,
        bootstrap=ours.get("bootstrap", True),
        class_weight=args.class_weight,
        n_jobs=args.threads,
        random_state=args.seed,
    )
    return Pipeline([("prep", ColumnTransformer(transformers)), ("model", model)])


def lightgbm_model(args: argparse.Namespace, ours: dict, builtin_metric: str | None):
    from lightgbm import LGBMClassifier

    subsample = float(ours.get("subsample", 1))
    max_depth = ours.get("maxDepth")
    return LGBMClassifier(
        n_estimators=int(ours.get("rounds", 300)),
        learning_rate=float(ours.get("learningRate", 0.1)),
        num_leaves=int(ours.get("maxLeaves", 31)),
        max_depth=-1 if max_depth is None else int(max_depth),
        min_child_samples=int(ours.get("minSamplesLeaf", 20)),
        min_child_weight=float(ours.get("minHessianLeaf", 1e-3)),
        reg_lambda=float(ours.get("l2", 0)),
        max_bin=int(ours.get("maxBins", 255)),
        subsample=subsample,
        subsample_freq=1 if subsample < 1 else 0,
        colsample_bytree=float(ours.get("colsample", 1)),
        class_weight=args.class_weight,
        n_jobs=args.threads,
        random_state=args.seed,
        # Only the early-stopping metric is evaluated on the validation set: LightGBM's own when it has ours,
        # else none here and ours as a Python eval_metric.
        metric=builtin_metric or "None",
        verbose=-1,
    )


def predicted_classes(proba: np.ndarray) -> np.ndarray:
    if proba.shape[1] == 2:
        return (proba[:, 1] >= 0.5).astype(np.int64)
    return np.argmax(proba, axis=1)


def metric_value(name: str, y: np.ndarray, proba: np.ndarray) -> float:
    """Our selection metrics by the rules of src/evaluation/metrics.ts."""
    k = proba.shape[1]
    predicted = predicted_classes(proba)
    if name == "roc_auc":
        if k == 2:
            return float(roc_auc_score(y, proba[:, 1]))
        return float(roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=list(range(k))))
    if name == "f1_macro":
        return float(f1_score(y, predicted, average="macro", labels=list(range(k))))
    if name == "f1":
        return float(f1_score(y, predicted))
    if name == "pr_auc":
        return float(average_precision_score(y, proba[:, 1]))
    if name == "accuracy":
        return float(accuracy_score(y, predicted))
    if name == "balanced_accuracy":
        return float(balanced_accuracy_score(y, predicted))
    if name == "log_loss":
        return float(log_loss(y, proba, labels=list(range(k))))
    raise SystemExit(f"unknown selection metric '{name}'")


def lightgbm_fit(meta: dict, args: argparse.Namespace, ours: dict, x_train, y_train, x_val, y_val, k: int):
    """Fits prep on train and LightGBM on train with early stopping on our validation split."""
    import lightgbm

    prep, mask = ordinal_prep(meta)
    metric = args.selection_metric
    builtin = {"roc_auc": "auc" if k == 2 else None, "log_loss": "binary_logloss" if k == 2 else "multi_logloss"}
    builtin_metric = builtin.get(metric)
    model = lightgbm_model(args, ours, builtin_metric)
    higher = metric != "log_loss"

    def evaluate(y_true: np.ndarray, y_pred: np.ndarray):
        proba = y_pred if y_pred.ndim == 2 else np.column_stack([1 - y_pred, y_pred])
        return metric, metric_value(metric, y_true, proba), higher

    t0, c0 = time.perf_counter(), time.process_time()
    train = prep.fit_transform(x_train)
    val = prep.transform(x_val)
    categorical = [i for i, c in enumerate(mask) if c]
    patience = ours.get("earlyStoppingRounds") or args.patience
    model.fit(
        train,
        y_train,
        eval_X=(val,),
        eval_y=(y_val,),
        eval_metric=None if builtin_metric else evaluate,
        categorical_feature=categorical if categorical else "auto",
        callbacks=[
            lightgbm.early_stopping(
                int(patience), first_metric_only=True, verbose=False, min_delta=args.min_delta
            )
        ],
    )
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return Pipeline([("prep", prep), ("model", model)]), seconds, cpu


BUILDERS = {"logistic": logistic, "hgb": hgb, "hgb-ours-params": hgb_ours_params, "rf": rf}


def iterations(model) -> int | None:
    best = getattr(model, "best_iteration_", None)
    if best:
        return int(best)
    n_iter = getattr(model, "n_iter_", None)
    if n_iter is not None:
        return int(np.max(n_iter))
    n_estimators = getattr(model, "n_estimators", None)
    return None if n_estimators is None else int(n_estimators)


def omp_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info

        counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "openmp"]
        return max(counts) if counts else None
    except Exception:  # noqa: BLE001 - informational only
        return None


def versions(name: str) -> dict:
    out = {"sklearn": sklearn.__version__}
    if name == "lightgbm":
        import lightgbm

        out["lightgbm"] = lightgbm.__version__
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--model", required=True, choices=sorted(VARIANTS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-on", choices=["train+validation", "train"], default="train+validation")
    parser.add_argument("--class-weight", choices=["none", "balanced"], default="none")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="n_jobs of LightGBM and the forest")
    parser.add_argument("--ours-params", default="{}", help="our trial's parameters (JSON, our names)")
    parser.add_argument("--selection-metric", default="roc_auc")
    parser.add_argument("--patience", type=int, default=6)
    parser.add_argument("--min-delta", type=float, default=0.0)
    parser.add_argument("--predict-rows", type=int, default=100_000)
    parser.add_argument("--predict-repeats", type=int, default=3)
    args = parser.parse_args()
    for flag in ("repeats", "threads", "patience", "predict_rows", "predict_repeats"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be >= 1")
    args.class_weight = None if args.class_weight == "none" else "balanced"
    ours = json.loads(args.ours_params)
    variant = VARIANTS[args.model]

    meta = json.loads((args.data / "meta.json").read_text())
    k = len(meta["classes"])
    x_train, y_train = read_split(args.data, "train", meta)
    x_val, y_val = read_split(args.data, "validation", meta)
    x_test, y_test = read_split(args.data, "test", meta)
    fit_on = {
        "lightgbm": "train (early stopping on validation)",
        "hgb-ours-params": "train+validation (early stopping on a random stratified share of validation's size)",
    }.get(args.model, args.fit_on)
    if args.model == "hgb-ours-params" or (args.model != "lightgbm" and args.fit_on == "train+validation"):
        x_fit = pd.concat([x_train, x_val], ignore_index=True)
        y_fit = np.concatenate([y_train, y_val])
    else:
        x_fit, y_fit = x_train, y_train
    args.fit_rows, args.validation_rows = len(y_fit), len(y_val)
    big = x_test.iloc[np.resize(np.arange(len(x_test)), args.predict_rows)].reset_index(drop=True)
    rss_baseline = max_rss_mb()
    progress(
        f"{variant} on {meta['dataset']}: fit on {fit_on} ({len(y_fit)} rows), test {len(y_test)} rows, "
        f"{len(meta['numeric'])} numeric + {len(meta['categorical'])} categorical columns, {k} classes"
    )

    fits, fit_cpus, aucs, f1s, iters = [], [], [], [], []
    pipeline = None
    for repeat in range(args.repeats):
        pipeline = None  # the previous repeat's model is freed before the next fit
        if args.model == "lightgbm":
            pipeline, fit_s, fit_cpu = lightgbm_fit(meta, args, ours, x_train, y_train, x_val, y_val, k)
        else:
            pipeline = BUILDERS[args.model](meta, args, ours)
            t0, c0 = time.perf_counter(), time.process_time()
            pipeline.fit(x_fit, y_fit)
            fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        proba = pipeline.predict_proba(x_test)
        auc = metric_value("roc_auc", y_test, proba)
        f1 = metric_value("f1_macro", y_test, proba)
        fits.append(fit_s)
        fit_cpus.append(fit_cpu)
        aucs.append(auc)
        f1s.append(f1)
        iters.append(iterations(pipeline.named_steps["model"]))
        progress(
            f"{variant} repeat {repeat + 1}/{args.repeats}: fit {fit_s:.3f} s, "
            f"test roc_auc {auc:.4f}, f1_macro {f1:.4f}"
        )
    rss_after_fit = max_rss_mb()

    predicts, predict_cpus = [], []
    for _ in range(args.predict_repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        pipeline.predict_proba(big)
        predicts.append(time.perf_counter() - t0)
        predict_cpus.append(time.process_time() - c0)
    progress(f"{variant} predict_proba of {args.predict_rows} rows: {statistics.median(predicts):.3f} s")

    print(
        json.dumps(
            {
                "impl": "lightgbm" if args.model == "lightgbm" else "sklearn",
                "model": args.model,
                "variant": variant,
                **versions(args.model),
                "omp_threads": omp_threads(),
                "n_jobs": args.threads if args.model in ("lightgbm", "rf") else None,
                "repeats": args.repeats,
                "fit_on": fit_on,
                "fit_rows": int(len(y_fit)),
                "early_stopping_rows": int(len(y_val)) if args.model in ("lightgbm", "hgb-ours-params") else None,
                "test_rows": int(len(y_test)),
                "class_weight": args.class_weight or "none",
                "n_iter": iters[-1],
                "test_roc_auc": round(statistics.median(aucs), 5),
                "test_f1_macro": round(statistics.median(f1s), 5),
                "fit_s_median": round(statistics.median(fits), 3),
                "fit_s_all": [round(s, 3) for s in fits],
                "fit_s_min": round(min(fits), 3),
                "fit_cpu_s_median": round(statistics.median(fit_cpus), 3),
                "predict_rows": args.predict_rows,
                "predict_rows_s_median": round(statistics.median(predicts), 3),
                "predict_rows_s_all": [round(s, 3) for s in predicts],
                "predict_rows_s_min": round(min(predicts), 3),
                "predict_rows_cpu_s_median": round(statistics.median(predict_cpus), 3),
                "rss_baseline_mb": round(rss_baseline),
                "rss_after_fit_mb": round(rss_after_fit),
                "peak_rss_mb": round(max_rss_mb()),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
