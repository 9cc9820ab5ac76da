"""Writes the Evidently parity fixtures of issue 12: synthetic reference/current CSVs and Evidently's verdict on them.

Usage (the bench venv, which holds Evidently; `npm run bench:monitor` creates it, see bench/monitor.ts):
    .venv-bench/monitor/bin/python bench/peers/monitor_parity_fixtures.py [--out tests/fixtures/monitoring]

Two seeded synthetic cases (no real dataset rows), each with numeric, integer-coded, binary and categorical
columns, some drifted and most not:
  a  reference 800 rows x current 600: reference <= 1,000 rows, so Evidently's default rule picks its tests
     (KS for numeric columns with > 5 distinct values in both samples together, chi-square for categorical columns
     or numeric ones with 3-5 such values, the Z-test for two; drift when p < 0.05, p <= 0.05 for KS).
  b  reference 5,000 x current 4,000: the distance path (Wasserstein distance normed by the reference std for
     numeric columns with > 5 distinct values, Jensen-Shannon distance otherwise; drift when >= 0.1).
Edge cases on purpose: missing values (dropped on both sides), a numeric column whose current sample adds a 6th
distinct value (so KS, not chi-square: the rule counts both samples), a categorical column with a category the
reference never saw (chi-square p = 0: drift however rare), a binary numeric column (Z-test).

Files written to --out (kept small: the whole set stays under 500 KB):
  evidently-parity-<case>-reference.csv, evidently-parity-<case>-current.csv
      plain CSV, no quoting; an empty cell is a missing value.
  evidently-parity.json
      {"generator", "versions": {evidently, pandas, numpy, scipy}, "cases": [{"name", "reference", "current",
       "reference_rows", "current_rows", "columns": [{"name", "type": "numeric"|"categorical",
       "test": ks|chi2|z|wasserstein|jensenshannon, "evidently_method", "score", "threshold", "drift"}],
       "drifted", "share", "dataset_drift", "drift_share"}]}
      "score" is what Evidently compares with the threshold (the p-value for tests, the distance for distances),
      "drift" the status of its per-column test (FAIL = drift). Column types are given to Evidently explicitly
      (DataDefinition), as the reference profile records them.

Evidently runs with its defaults: Report([DataDriftPreset()], include_tests=True). Its category order follows Python set
iteration (string hashing), so the last digits of a Jensen-Shannon score can vary between runs; PYTHONHASHSEED=0
makes the files byte-identical.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy

import evidently
from monitor_peer import parse_snapshot, run_preset

def progress(message: str) -> None:
    print(f"[monitor_parity_fixtures] {message}", file=sys.stderr, flush=True)


def with_missing(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    out = values.astype(float)
    out[rng.random(len(out)) < share] = np.nan
    return out


def categorical(rng: np.random.Generator, n: int, categories: list[str], p: list[float], missing: float = 0.0):
    values = rng.choice(np.array(categories, dtype=object), size=n, p=p)
    if missing > 0:
        values[rng.random(n) < missing] = None
    return values


def case_a(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """Reference 800 x current 600: Evidently's test path (KS, chi-square, Z)."""
    nr, nc = 800, 600
    ref, cur = {}, {}
    # Continuous, undrifted and drifted (KS).
    ref["income"] = np.round(rng.lognormal(10, 0.5, nr), 1)
    cur["income"] = np.round(rng.lognormal(10, 0.5, nc), 1)
    ref["score"] = np.round(rng.normal(50, 10, nr), 3)
    cur["score"] = np.round(rng.normal(53, 10, nc), 3)
    # Integer-valued with many ties and missing values (KS), undrifted.
    ref["visits"] = with_missing(rng, rng.poisson(6, nr), 0.05)
    cur["visits"] = with_missing(rng, rng.poisson(6, nc), 0.08)
    # Numeric with 4 distinct values (chi-square), undrifted and drifted.
    ref["rooms"] = rng.choice([1, 2, 3, 4], nr, p=[0.2, 0.4, 0.3, 0.1])
    cur["rooms"] = rng.choice([1, 2, 3, 4], nc, p=[0.2, 0.4, 0.3, 0.1])
    ref["tier"] = rng.choice([0, 1, 2], nr, p=[0.5, 0.3, 0.2])
    cur["tier"] = rng.choice([0, 1, 2], nc, p=[0.38, 0.37, 0.25])
    # Numeric with 5 distinct values in the reference, a 6th in the current: KS, not chi-square.
    ref["grade"] = rng.choice([1, 2, 3, 4, 5], nr, p=[0.1, 0.2, 0.4, 0.2, 0.1])
    cur["grade"] = rng.choice([1, 2, 3, 4, 5, 6], nc, p=[0.1, 0.2, 0.39, 0.2, 0.1, 0.01])
    # Binary numeric (Z-test), drifted.
    ref["flag"] = (rng.random(nr) < 0.30).astype(int)
    cur["flag"] = (rng.random(nc) < 0.40).astype(int)
    # Categorical (chi-square), undrifted with missing values, and drifted.
    colours = ["red", "green", "blue", "grey", "black"]
    ref["colour"] = categorical(rng, nr, colours, [0.3, 0.25, 0.2, 0.15, 0.1], missing=0.03)
    cur["colour"] = categorical(rng, nc, colours, [0.3, 0.25, 0.2, 0.15, 0.1], missing=0.03)
    regions = ["north", "south", "east", "west"]
    ref["region"] = categorical(rng, nr, regions, [0.4, 0.3, 0.2, 0.1])
    cur["region"] = categorical(rng, nc, regions, [0.3, 0.3, 0.25, 0.15])
    # Categorical with a category the reference never saw (chi-square: expected 0, p = 0).
    channels = ["web", "app", "branch"]
    ref["channel"] = categorical(rng, nr, channels, [0.5, 0.3, 0.2])
    cur["channel"] = categorical(rng, nc, [*channels, "phone"], [0.497, 0.3, 0.2, 0.003])
    # Binary categorical (Z-test), undrifted.
    ref["plan"] = categorical(rng, nr, ["basic", "premium"], [0.7, 0.3])
    cur["plan"] = categorical(rng, nc, ["basic", "premium"], [0.7, 0.3])
    numeric = ["income", "score", "visits", "rooms", "tier", "grade", "flag"]
    cats = ["colour", "region", "channel", "plan"]
    return pd.DataFrame(ref), pd.DataFrame(cur), numeric, cats


def case_b(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """Reference 5,000 x current 4,000: Evidently's distance path (Wasserstein, Jensen-Shannon)."""
    nr, nc = 5000, 4000
    ref, cur = {}, {}
    # Integer amounts (compact CSV, many distinct values): Wasserstein, undrifted and drifted.
    ref["amount"] = np.round(rng.gamma(2.0, 150.0, nr))
    cur["amount"] = np.round(rng.gamma(2.0, 150.0, nc))
    ref["balance"] = np.round(rng.normal(500, 120, nr))
    cur["balance"] = np.round(rng.normal(530, 130, nc))
    # Twelve distinct values with missing ones: Wasserstein, drifted by +1 on a third of the rows.
    ref["delay"] = with_missing(rng, rng.integers(-2, 10, nr), 0.04)
    shifted = rng.integers(-2, 10, nc) + (rng.random(nc) < 0.35)
    cur["delay"] = with_missing(rng, shifted, 0.04)
    # Numeric with 4 distinct values (Jensen-Shannon on the values), undrifted.
    ref["size"] = rng.choice([1, 2, 3, 4], nr, p=[0.25, 0.35, 0.25, 0.15])
    cur["size"] = rng.choice([1, 2, 3, 4], nc, p=[0.25, 0.35, 0.25, 0.15])
    # Categorical (Jensen-Shannon), undrifted and drifted; binary categorical drifted.
    letters = list("abcdefgh")
    p_letters = [0.22, 0.18, 0.15, 0.12, 0.11, 0.09, 0.08, 0.05]
    ref["segment"] = categorical(rng, nr, letters, p_letters, missing=0.02)
    cur["segment"] = categorical(rng, nc, letters, p_letters, missing=0.02)
    ref["product"] = categorical(rng, nr, ["x", "y", "z"], [0.6, 0.3, 0.1])
    cur["product"] = categorical(rng, nc, ["x", "y", "z", "w"], [0.4, 0.35, 0.15, 0.1])
    ref["online"] = categorical(rng, nr, ["yes", "no"], [0.5, 0.5])
    cur["online"] = categorical(rng, nc, ["yes", "no"], [0.72, 0.28])
    numeric = ["amount", "balance", "delay", "size"]
    cats = ["segment", "product", "online"]
    return pd.DataFrame(ref), pd.DataFrame(cur), numeric, cats


def csv_cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return str(int(f)) if f.is_integer() else repr(f)
    return str(value)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    lines = [",".join(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append(",".join(csv_cell(v) for v in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", default="tests/fixtures/monitoring")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cases = []
    for offset, (name, build) in enumerate((("a", case_a), ("b", case_b))):
        rng = np.random.default_rng(args.seed + offset)
        reference, current, numeric, cats = build(rng)
        ref_file, cur_file = f"evidently-parity-{name}-reference.csv", f"evidently-parity-{name}-current.csv"
        write_csv(reference, out / ref_file)
        write_csv(current, out / cur_file)
        # Evidently reads what the tests read: the CSVs (pandas' parsing of the written text).
        ref_read = pd.read_csv(out / ref_file, dtype={c: str for c in cats}, keep_default_na=False, na_values=[""])
        cur_read = pd.read_csv(out / cur_file, dtype={c: str for c in cats}, keep_default_na=False, na_values=[""])
        columns, summary = parse_snapshot(run_preset(ref_read, cur_read, numeric, cats), numeric)
        drifted = [c["name"] for c in columns if c["drift"]]
        progress(f"case {name}: {len(reference)} x {len(current)}; drifted {', '.join(drifted) or '-'}")
        cases.append(
            {
                "name": name,
                "reference": ref_file,
                "current": cur_file,
                "reference_rows": len(reference),
                "current_rows": len(current),
                "columns": columns,
                **summary,
            }
        )
    document = {
        "generator": "bench/peers/monitor_parity_fixtures.py",
        "seed": args.seed,
        "evidently_call": "Report([DataDriftPreset()], include_tests=True) with DataDefinition(numerical_columns, categorical_columns)",
        "versions": {
            "evidently": evidently.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "cases": cases,
    }
    (out / "evidently-parity.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in out.glob("evidently-parity*"))
    progress(f"wrote {out}/evidently-parity*.{{csv,json}} ({total / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
