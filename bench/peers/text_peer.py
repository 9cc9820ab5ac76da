"""Peer of bench/text.ts: scikit-learn TF-IDF baselines trained on exactly the split our pipeline uses.

Usage (bench/text.ts starts one process per model, so that each peak RSS is the model's own):
    python bench/peers/text_peer.py --data DIR --model linear-svc|logistic [--repeats N]
        [--fit-on train+validation|train] [--text raw|normalised] [--class-weight none|balanced] [--seed 42]
        [--c 1.0]

DIR is written by bench/text.ts and holds
  meta.json        {"dataset", "target", "classes", "text_columns": [...], "normalize": {...}}
                   (classes in our order)
  train.jsonl, validation.jsonl, test.jsonl
                   one object per row of the split, in our split's order: {"raw", "normalised", "label"}.
                   "raw" is the validated text (the manifest's maxLength truncation applied, as our pipeline reads
                   it); "normalised" is the same text through our features.text normalisation
                   (src/features/text/normalize.ts). With several text columns both are joined with "\\n", as our
                   text kinds join them.

Input text (--text): `raw` (default) hands the peer the raw text and lets TfidfVectorizer lower-case and
tokenise it itself — the standard scikit-learn recipe the published CFPB figures use; the CFPB masks (XXXX,
XX/XX/XXXX, {$…}) stay in as tokens ("xxxx"). `normalised` hands it our normalised text (lowercase=False then),
so both sides see the same tokens and only the models differ.

Models (each a Pipeline of the vectorizer and the classifier, so the vocabulary is fitted and timed with the model):
  TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, token_pattern=(?u)\\b\\w\\w+\\b (the default),
                  dtype float32) — word uni- and bigrams, no vocabulary cap
  linear-svc      LinearSVC(C=--c, class_weight, random_state=--seed): one-vs-rest squared hinge (liblinear);
                  predictions are the arg-max of decision_function (it has no probabilities)
  logistic        LogisticRegression(C=--c, solver lbfgs, max_iter=2000, class_weight, random_state=--seed):
                  multinomial (softmax)
Class weights: the config's training.classWeight (`balanced` → class_weight="balanced").
Rows: --fit-on (default train + validation: the rows ours sees — ours fits on train and selects / stops early on
validation; the peers have no early stopping and a fixed C, so they get the validation rows as training data).

Metrics on test: macro-F1 and weighted F1 over our classes (labels=all classes, so an absent class counts as 0,
as src/evaluation/metrics.ts does), accuracy.

Timing (perf_counter, medians over the repeats, each a fresh fit): fit_s (vectorizer + classifier on the fit rows),
predict_s (test rows through the fitted pipeline). CPU time (time.process_time) of the fit: fit_cpu_s.
Memory: resource.getrusage(RUSAGE_SELF).ru_maxrss after reading the data (rss_baseline_mb), after the fits
(rss_after_fit_mb) and at the end (peak_rss_mb).

Prints one JSON line on stdout and nothing else; progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

VARIANTS = {"linear-svc": "sklearn-tfidf-linear-svc", "logistic": "sklearn-tfidf-logistic"}


def progress(message: str) -> None:
    print(f"[text_peer] {message}", file=sys.stderr, flush=True)


def max_rss_mb() -> float:
    # Linux reports kilobytes (macOS bytes; the bench runs on Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_split(directory: Path, name: str, classes: list[str], field: str) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    index = {c: i for i, c in enumerate(classes)}
    with (directory / f"{name}.jsonl").open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            row = json.loads(line)
            label = row["label"]
            if label not in index:
                raise SystemExit(f"{name}.jsonl line {number}: label {label!r} is not among the classes {classes}")
            texts.append(row[field])
            labels.append(index[label])
    return texts, np.asarray(labels, dtype=np.int64)


def build(args: argparse.Namespace) -> Pipeline:
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=2,
        lowercase=args.text == "raw",
        dtype=np.float32,
    )
    if args.model == "linear-svc":
        model = LinearSVC(C=args.c, class_weight=args.class_weight, random_state=args.seed)
    else:
        model = LogisticRegression(C=args.c, max_iter=2000, class_weight=args.class_weight, random_state=args.seed)
    return Pipeline([("tfidf", vectorizer), ("model", model)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--model", required=True, choices=sorted(VARIANTS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-on", choices=["train+validation", "train"], default="train+validation")
    parser.add_argument("--text", choices=["raw", "normalised"], default="raw")
    parser.add_argument("--class-weight", choices=["none", "balanced"], default="balanced")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength C")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if not args.c > 0:
        parser.error("--c must be > 0")
    args.class_weight = None if args.class_weight == "none" else "balanced"
    variant = VARIANTS[args.model]

    meta = json.loads((args.data / "meta.json").read_text(encoding="utf-8"))
    classes = meta["classes"]
    k = len(classes)
    x_train, y_train = read_split(args.data, "train", classes, args.text)
    x_val, y_val = read_split(args.data, "validation", classes, args.text)
    x_test, y_test = read_split(args.data, "test", classes, args.text)
    if args.fit_on == "train+validation":
        x_fit, y_fit = x_train + x_val, np.concatenate([y_train, y_val])
    else:
        x_fit, y_fit = x_train, y_train
    rss_baseline = max_rss_mb()
    progress(
        f"{variant} on {meta['dataset']}: fit on {args.fit_on} ({len(y_fit)} rows), test {len(y_test)} rows, "
        f"{args.text} text, {k} classes"
    )

    fits, fit_cpus, predicts, macro, weighted, accuracy = [], [], [], [], [], []
    pipeline = None
    for repeat in range(args.repeats):
        pipeline = build(args)
        t0, c0 = time.perf_counter(), time.process_time()
        pipeline.fit(x_fit, y_fit)
        fits.append(time.perf_counter() - t0)
        fit_cpus.append(time.process_time() - c0)
        t0 = time.perf_counter()
        predicted = pipeline.predict(x_test)
        predicts.append(time.perf_counter() - t0)
        labels = list(range(k))
        macro.append(float(f1_score(y_test, predicted, average="macro", labels=labels, zero_division=0)))
        weighted.append(float(f1_score(y_test, predicted, average="weighted", labels=labels, zero_division=0)))
        accuracy.append(float(accuracy_score(y_test, predicted)))
        progress(
            f"{variant} repeat {repeat + 1}/{args.repeats}: fit {fits[-1]:.3f} s, "
            f"test f1_macro {macro[-1]:.4f}, f1_weighted {weighted[-1]:.4f}"
        )
    rss_after_fit = max_rss_mb()
    vocabulary = len(pipeline.named_steps["tfidf"].vocabulary_)

    print(
        json.dumps(
            {
                "impl": "sklearn",
                "model": args.model,
                "variant": variant,
                "sklearn": sklearn.__version__,
                "repeats": args.repeats,
                "fit_on": args.fit_on,
                "fit_rows": int(len(y_fit)),
                "test_rows": int(len(y_test)),
                "text": args.text,
                "class_weight": args.class_weight or "none",
                "C": args.c,
                "vectorizer": "TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)",
                "vocabulary": vocabulary,
                "test_f1_macro": round(statistics.median(macro), 5),
                "test_f1_weighted": round(statistics.median(weighted), 5),
                "test_accuracy": round(statistics.median(accuracy), 5),
                "fit_s_median": round(statistics.median(fits), 3),
                "fit_s_all": [round(s, 3) for s in fits],
                "fit_s_min": round(min(fits), 3),
                "fit_cpu_s_median": round(statistics.median(fit_cpus), 3),
                "predict_test_s_median": round(statistics.median(predicts), 4),
                "rss_baseline_mb": round(rss_baseline),
                "rss_after_fit_mb": round(rss_after_fit),
                "peak_rss_mb": round(max_rss_mb()),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
