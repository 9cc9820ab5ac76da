"""Peer of bench/hpc-cv.ts: scikit-learn HistGradientBoosting and LightGBM on the same repeated-CV folds as ours.

Usage (bench/hpc-cv.ts writes DIR and starts this):
    python bench/peers/hpc_cv_peer.py --data DIR [--class-weight none|balanced] [--seed 7] [--threads 1]
        [--trials JSON] [--selection-metric f1_macro] [--patience 10] [--min-delta 0.0005] [--skip-lightgbm]

DIR holds
  meta.json   {"dataset", "target", "classes", "numeric": [...], "categorical": [...]} (classes in our order)
  rows.csv    every validated row, raw (after the manifest's recodes, before any preprocessing)
  folds.json  [{"repeat", "fold", "test": [...], "fit": [...], "validation": [...]}]: row indices into rows.csv;
              the fold's training part is fit + validation.

Models per fold (the preprocessing and models of bench/peers/train_peer.py, imported from it):
  sklearn-hgb           HistGradientBoostingClassifier with its defaults, ordinal categoricals as native
                        categorical features, --class-weight; fitted on the whole training part (fit + validation).
  sklearn-hgb-fit-part  the same, fitted on the fit rows only (the rows ours trains on).
  lightgbm-L<leaves>    LGBMClassifier with each of our trials' parameters (--trials, our names), fitted on the fit
                        rows with early stopping on the validation rows by --selection-metric, --patience (or the
                        trial's earlyStoppingRounds) and --min-delta; the best iteration kept.
  lightgbm              the trial among those with the best validation metric (ties: the first), as ours picks.

Scores on the fold's test rows: macro-F1 by arg-max and one-vs-rest macro ROC AUC (train_peer.metric_value, the
rules of src/evaluation/metrics.ts). Prints one JSON line per fold and model on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_peer  # noqa: E402  (the sibling module: same preprocessing, models and metrics as the bench)


def progress(message: str) -> None:
    print(f"[hpc_cv_peer] {message}", file=sys.stderr, flush=True)


def scores(y: np.ndarray, proba: np.ndarray) -> dict:
    return {
        "f1_macro": round(train_peer.metric_value("f1_macro", y, proba), 5),
        "roc_auc": round(train_peer.metric_value("roc_auc", y, proba), 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--class-weight", choices=["none", "balanced"], default="none")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=1, help="n_jobs of LightGBM")
    parser.add_argument("--trials", default="[]", help="our gbdt trials' parameters (JSON list, our names)")
    parser.add_argument("--selection-metric", default="f1_macro")
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--min-delta", type=float, default=0.0)
    parser.add_argument("--skip-lightgbm", action="store_true")
    args = parser.parse_args()
    if args.threads < 1 or args.patience < 1:
        parser.error("--threads and --patience must be >= 1")
    args.class_weight = None if args.class_weight == "none" else "balanced"
    trials = json.loads(args.trials)
    if not args.skip_lightgbm and not trials:
        parser.error("--trials lists no trial (LightGBM takes our trials' parameters; or pass --skip-lightgbm)")

    meta = json.loads((args.data / "meta.json").read_text())
    k = len(meta["classes"])
    x, y = train_peer.read_split(args.data, "rows", meta)
    folds = json.loads((args.data / "folds.json").read_text())
    progress(f"{len(y)} rows, {len(folds)} folds, {k} classes, lightgbm {'off' if args.skip_lightgbm else 'on'}")

    for fold in folds:
        at = {"repeat": fold["repeat"], "fold": fold["fold"]}
        test, fit, validation = (np.asarray(fold[name], dtype=np.int64) for name in ("test", "fit", "validation"))
        training = np.concatenate([fit, validation])
        x_test, y_test = x.iloc[test], y[test]
        started = time.perf_counter()

        for method, rows in (("sklearn-hgb", training), ("sklearn-hgb-fit-part", fit)):
            t0 = time.perf_counter()
            pipeline = train_peer.hgb(meta, args, {})
            pipeline.fit(x.iloc[rows], y[rows])
            fit_s = time.perf_counter() - t0
            line = {**at, "method": method, **scores(y_test, pipeline.predict_proba(x_test))}
            line["iterations"] = int(np.max(pipeline.named_steps["model"].n_iter_))
            line["fit_s"] = round(fit_s, 3)
            print(json.dumps(line), flush=True)

        if not args.skip_lightgbm:
            higher = args.selection_metric != "log_loss"
            best, best_validation = None, None
            for params in trials:
                pipeline, fit_s, _ = train_peer.lightgbm_fit(
                    meta, args, params, x.iloc[fit], y[fit], x.iloc[validation], y[validation], k
                )
                val = train_peer.metric_value(
                    args.selection_metric, y[validation], pipeline.predict_proba(x.iloc[validation])
                )
                line = {
                    **at,
                    "method": f"lightgbm-L{params.get('maxLeaves', 31)}",
                    **scores(y_test, pipeline.predict_proba(x_test)),
                    f"val_{args.selection_metric}": round(val, 5),
                    "max_leaves": params.get("maxLeaves", 31),
                    "best_iteration": int(pipeline.named_steps["model"].best_iteration_),
                    "fit_s": round(fit_s, 3),
                }
                print(json.dumps(line), flush=True)
                if best is None or (val > best_validation if higher else val < best_validation):
                    best, best_validation = line, val
            print(json.dumps({**best, "method": "lightgbm"}), flush=True)
        progress(f"repeat {fold['repeat'] + 1} fold {fold['fold'] + 1}: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
