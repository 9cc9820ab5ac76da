"""Peer of bench/monitor.ts: Evidently's DataDriftPreset on a reference and a current CSV.

Usage (the bench venv, .venv-bench/monitor, which bench/monitor.ts creates from requirements-monitor.txt):
    .venv-bench/monitor/bin/python bench/peers/monitor_peer.py --reference REF.csv --current CUR.csv
        --numeric a,b,... --categorical c,d,...

Steps, each timed with time.perf_counter:
  read      pandas.read_csv of the reference, then of the current file (pandas' defaults: credit-default's columns
            are all int64), reported separately (seconds_read_reference, seconds_read_current) and summed
            (seconds_read)
  compute   Dataset.from_pandas of both frames with DataDefinition(numerical_columns, categorical_columns) (the
            column types our reference profile records, from the dataset manifest) and
            Report([DataDriftPreset()], include_tests=True).run(current, reference): Evidently's defaults (test
            per column by its rule, thresholds 0.05 / 0.1, dataset drift when >= 50% of columns drift)
  total     read + compute (seconds_total); interpreter start and imports are not timed; rows_per_s = current
            rows / seconds_total
Memory: resource.getrusage(RUSAGE_SELF).ru_maxrss after reading (rss_after_read_mb) and at the end (peak_rss_mb).

Per column: the test Evidently chose (as our StatTestName), its display name, the score it compared with the
threshold (p-value for tests, distance for distances), the threshold, and the flag (its per-column test FAILed).

Prints one JSON line on stdout and nothing else; progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

# Evidently's display names of its stattests -> our StatTestName (src/monitoring/types.ts).
METHODS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chi2",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}


def progress(message: str) -> None:
    print(f"[monitor_peer] {message}", file=sys.stderr, flush=True)


def max_rss_mb() -> float:
    # Linux reports kilobytes (macOS bytes; the bench runs on Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_snapshot(snapshot: dict, numeric: list[str]) -> tuple[list[dict], dict]:
    """Per-column results and the dataset verdict of a DataDriftPreset snapshot run with include_tests=True."""
    status = {test["metric_config"]["metric_id"]: test["status"] for test in snapshot["tests"]}
    columns, summary = [], {}
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config["type"] == "evidently:metric_v2:DriftedColumnsCount":
            summary = {
                "drifted": int(metric["value"]["count"]),
                "share": metric["value"]["share"],
                "drift_share": config["drift_share"],
                # Its test is "share < drift_share"; a FAIL is Evidently's dataset drift.
                "dataset_drift": status[metric["id"]] == "FAIL",
            }
        elif config["type"] == "evidently:metric_v2:ValueDrift":
            columns.append(
                {
                    "name": config["column"],
                    "type": "numeric" if config["column"] in numeric else "categorical",
                    "test": METHODS.get(config["method"], config["method"]),
                    "evidently_method": config["method"],
                    "score": float(metric["value"]),
                    "threshold": config["threshold"],
                    "drift": status[metric["id"]] == "FAIL",
                }
            )
    if not summary:
        raise RuntimeError("the snapshot holds no DriftedColumnsCount metric")
    return columns, summary


def run_preset(reference, current, numeric: list[str], categorical: list[str]) -> dict:
    """Evidently's DataDriftPreset with its defaults on the two frames; the snapshot as a dict."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    report = Report([DataDriftPreset()], include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    return snapshot.dict()


def names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip() != ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reference", required=True)
    parser.add_argument("--current", required=True)
    parser.add_argument("--numeric", default="")
    parser.add_argument("--categorical", default="")
    args = parser.parse_args()
    numeric, categorical = names(args.numeric), names(args.categorical)
    if not numeric and not categorical:
        parser.error("give the columns to compare with --numeric and/or --categorical")

    import evidently
    import pandas as pd

    columns = numeric + categorical
    progress(f"reading {args.reference}")
    started = time.perf_counter()
    reference = pd.read_csv(args.reference, usecols=columns)
    read_reference = time.perf_counter() - started
    progress(f"reading {args.current}")
    started = time.perf_counter()
    current = pd.read_csv(args.current, usecols=columns)
    read_current = time.perf_counter() - started
    rss_after_read = max_rss_mb()
    progress(
        f"read {len(reference)} + {len(current)} rows in {read_reference + read_current:.1f} s; "
        f"DataDriftPreset on {len(columns)} columns"
    )
    started = time.perf_counter()
    snapshot = run_preset(reference, current, numeric, categorical)
    compute = time.perf_counter() - started
    per_column, summary = parse_snapshot(snapshot, numeric)
    progress(f"DataDriftPreset: {compute:.1f} s; drifted {summary['drifted']} of {len(per_column)}")
    line = {
        "variant": "evidently-data-drift-preset",
        "evidently": evidently.__version__,
        "pandas": pd.__version__,
        "reference_rows": len(reference),
        "current_rows": len(current),
        "columns_checked": len(per_column),
        "seconds_read_reference": round(read_reference, 3),
        "seconds_read_current": round(read_current, 3),
        "seconds_read": round(read_reference + read_current, 3),
        "seconds_compute": round(compute, 3),
        "seconds_total": round(read_reference + read_current + compute, 3),
        "rows_per_s": round(len(current) / (read_reference + read_current + compute)),
        "rss_after_read_mb": round(rss_after_read, 1),
        "peak_rss_mb": round(max_rss_mb(), 1),
        **summary,
        "columns": per_column,
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
