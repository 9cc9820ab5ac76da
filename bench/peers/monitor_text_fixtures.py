"""Writes the text-drift fixture of issue 12: seeded synthetic reference/current texts and Evidently's verdict on them.

Usage (the bench venv, which holds Evidently 0.7.23; `npm run bench:monitor` creates it, see bench/monitor.ts):
    .venv-bench/monitor/bin/python bench/peers/monitor_text_fixtures.py [--out tests/fixtures/monitoring/text-drift.json]
    .venv-bench/monitor/bin/python bench/peers/monitor_text_fixtures.py --evaluate cases.json   (bench/monitor-text.ts)

The texts are short complaint-like sentences generated from word lists here (no dataset rows): a generic part
(verbs, time words, filler shared by every topic) and a topic part (each topic has its own nouns). Four cases:
  small-no-drift   one corpus of 500 texts from every topic, split at random into reference 250 / current 250
  small-drift      reference 250 texts about cards and bank accounts, current 250 about mortgages and student loans
  large-no-drift   one corpus of 2,100 texts, split at random into 1,050 / 1,050
  large-drift      reference 1,050 about cards and accounts, current 1,050 of which 60 % are about mortgages/loans
"small" references (<= 1,000 texts) get Evidently's percentile rule (AUC > the 95th percentile of random AUCs on the
held-out labels), "large" ones the absolute rule (AUC > 0.55).

Evidently runs with its defaults: Report([ValueDrift(column="text")]) with the column declared as text
(DataDefinition(text_columns=["text"])) gives the score (the domain classifier's ROC AUC) and the verdict; the
typical words are Evidently's own get_text_data_for_plots (what its column drift metric shows when drift is found),
and the rule's threshold is recomputed with its roc_auc_random_classifier_percentile for the record.

Output JSON: {"generator", "versions", "planted": {"reference": [...], "current": [...]}, "cases": [{"name",
"reference": [texts], "current": [texts], "rule": "absolute"|"percentile", "auc", "threshold", "drift",
"typical_words": {"current": [...], "reference": [...]}}]}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn

import evidently
from evidently import DataDefinition, Dataset, Report
from evidently.legacy.utils.data_drift_utils import (
    calculate_text_drift_score,
    get_text_data_for_plots,
    roc_auc_random_classifier_percentile,
)
from evidently.metrics import ValueDrift
from sklearn.model_selection import train_test_split

SUBJECTS = ["i", "my husband", "my wife", "we", "my father", "my mother", "the customer", "my family"]
VERBS = [
    "called", "contacted", "disputed", "reported", "paid", "emailed", "asked", "complained to", "wrote to",
    "visited", "phoned", "messaged", "notified", "warned", "told",
]
TIMES = [
    "yesterday", "last week", "last month", "twice", "several times", "again", "in january", "in march",
    "on friday", "this morning", "after the holidays", "before the deadline",
]
FILLER = [
    "but nobody helped", "and waited for an answer", "without any response", "and the problem continued",
    "and they promised a fix", "yet the issue remains", "and received a letter", "and the agent was rude",
    "but the balance was wrong", "and filed a complaint", "and asked for a manager", "without a resolution",
]
TOPICS = {
    "cards": ["credit card", "card limit", "annual fee", "rewards points", "card statement", "late fee", "chargeback"],
    "accounts": ["checking account", "savings account", "overdraft", "debit card", "deposit", "atm withdrawal", "wire transfer"],
    "mortgages": ["mortgage", "escrow", "refinance", "foreclosure", "loan modification", "home appraisal", "closing costs"],
    "loans": ["student loan", "loan servicer", "forbearance", "repayment plan", "deferment", "tuition", "navient"],
}
# The words the drifted cases plant on the current side, and the ones they take away (reference side).
PLANTED = {
    "current": sorted({w for t in ("mortgages", "loans") for p in TOPICS[t] for w in p.split()}),
    "reference": sorted({w for t in ("cards", "accounts") for p in TOPICS[t] for w in p.split()}),
}


def progress(message: str) -> None:
    print(f"[monitor_text_fixtures] {message}", file=sys.stderr, flush=True)


def sentence(rng: np.random.Generator, topics: list[str]) -> str:
    topic = TOPICS[topics[rng.integers(len(topics))]]
    noun = topic[rng.integers(len(topic))]
    parts = [SUBJECTS[rng.integers(len(SUBJECTS))], VERBS[rng.integers(len(VERBS))], "about the", noun]
    if rng.random() < 0.6:
        parts.append(TIMES[rng.integers(len(TIMES))])
    parts.append(FILLER[rng.integers(len(FILLER))])
    if rng.random() < 0.4:
        other = topic[rng.integers(len(topic))]
        parts += ["because of the", other]
    return " ".join(parts).capitalize() + "."


def corpus(rng: np.random.Generator, n: int, topics: list[str]) -> list[str]:
    return [sentence(rng, topics) for _ in range(n)]


def random_halves(rng: np.random.Generator, texts: list[str], n: int) -> tuple[list[str], list[str]]:
    order = rng.permutation(len(texts))
    return [texts[i] for i in order[:n]], [texts[i] for i in order[n : 2 * n]]


def evidently_case(name: str, reference: list[str], current: list[str]) -> dict:
    definition = DataDefinition(text_columns=["text"])
    ref = Dataset.from_pandas(pd.DataFrame({"text": reference}), data_definition=definition)
    cur = Dataset.from_pandas(pd.DataFrame({"text": current}), data_definition=definition)
    snapshot = Report([ValueDrift(column="text")]).run(current_data=cur, reference_data=ref)
    result = snapshot.dict()["metrics"][0]
    auc = float(result["value"])
    tests = snapshot.dict().get("tests", [])
    ref_s, cur_s = pd.Series(reference), pd.Series(current)
    absolute = len(reference) > 1000
    score, drift = calculate_text_drift_score(ref_s, cur_s, bootstrap=not absolute, p_value=0.05, threshold=0.55)
    if abs(score - auc) > 1e-12:
        raise SystemExit(f"{name}: the report's AUC {auc} differs from calculate_text_drift_score's {score}")
    if absolute:
        threshold = 0.55
    else:
        domain = pd.concat([pd.DataFrame({"text": ref_s, "target": 0}), pd.DataFrame({"text": cur_s, "target": 1})])
        _, _, _, y_test = train_test_split(domain["text"], domain["target"], test_size=0.5, random_state=42, shuffle=True)
        threshold = float(roc_auc_random_classifier_percentile(y_test, p_value=0.05))
    _, _, words_cur, words_ref = get_text_data_for_plots(ref_s, cur_s)
    progress(f"{name}: auc {auc:.4f} threshold {threshold:.4f} drift {bool(drift)} tests {len(tests)}")
    return {
        "name": name,
        "reference": reference,
        "current": current,
        "rule": "absolute" if absolute else "percentile",
        "auc": auc,
        "threshold": threshold,
        "drift": bool(drift),
        "typical_words": {"current": list(words_cur), "reference": list(words_ref)},
    }


def evaluate(path: str) -> None:
    """--evaluate cases.json: Evidently's text drift on given pairs (bench/monitor-text.ts), one JSON line each."""
    import time

    for case in json.loads(Path(path).read_text())["cases"]:
        started = time.perf_counter()
        result = evidently_case(case["name"], case["reference"], case["current"])
        seconds = time.perf_counter() - started
        del result["reference"], result["current"]
        print(json.dumps({**result, "seconds": seconds}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tests/fixtures/monitoring/text-drift.json")
    parser.add_argument("--evaluate", help="a JSON file {cases: [{name, reference, current}]}: print Evidently's results")
    args = parser.parse_args()
    if args.evaluate:
        evaluate(args.evaluate)
        return
    rng = np.random.default_rng(20261201)
    everything = list(TOPICS)
    cases = []

    small = corpus(rng, 500, everything)
    cases.append(evidently_case("small-no-drift", *random_halves(rng, small, 250)))
    cases.append(
        evidently_case("small-drift", corpus(rng, 250, ["cards", "accounts"]), corpus(rng, 250, ["mortgages", "loans"]))
    )
    large = corpus(rng, 2100, everything)
    cases.append(evidently_case("large-no-drift", *random_halves(rng, large, 1050)))
    shifted = corpus(rng, 420, ["cards", "accounts"]) + corpus(rng, 630, ["mortgages", "loans"])
    shifted = [shifted[i] for i in rng.permutation(len(shifted))]
    cases.append(evidently_case("large-drift", corpus(rng, 1050, ["cards", "accounts"]), shifted))

    out = {
        "generator": "bench/peers/monitor_text_fixtures.py",
        "versions": {
            "evidently": evidently.__version__,
            "scikit-learn": sklearn.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
        },
        "planted": PLANTED,
        "cases": cases,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    progress(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
