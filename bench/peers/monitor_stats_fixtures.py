"""Writes tests/fixtures/monitoring/stats.json: scipy's and Evidently 0.7.23's own outputs for the drift statistics of
issue 12 (src/monitoring/stats), so tests/unit/monitoring/stats*.test.ts compare against the reference
implementations rather than against a reading of them.

Usage (the bench venv, which holds Evidently, scipy, numpy, pandas, statsmodels):
    .venv-bench/monitor/bin/python bench/peers/monitor_stats_fixtures.py [--out tests/fixtures/monitoring/stats.json]

Inputs are kept small in the file:
  * numeric samples are either stored as arrays (small numpy-seeded cases, with NaN / inf that get dropped as
    Evidently drops them) or described by a generator spec that the TypeScript test regenerates bit for bit:
    Park-Miller "minstd" uniforms u = state / (2^31 - 1), state <- state * 48271 mod (2^31 - 1), and
      {"gen": "normal", seed, n, loc, scale, decimals?}: v = (u1 + u2 + u3 + u4 - 2) * scale + loc,
                                                          then floor(v * 10^decimals) / 10^decimals when given
      {"gen": "int", seed, n, k, offset}:                v = floor(u * k) + offset
    (only +, -, *, /, floor: IEEE-exact in both languages);
  * categorical samples are stored as counts per category.
Expected values come from calling Evidently's registered stattests (StatTest.__call__ with the default
threshold) on pandas Series, and scipy directly. Non-finite numbers are written as the strings "Infinity",
"-Infinity", "NaN". Evidently orders categories by Python set iteration (string hashing), so the last digits of a
categorical Jensen-Shannon / PSI score can vary between runs; PYTHONHASHSEED=0 makes the file byte-identical.
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
import statsmodels
from scipy import special, stats
from scipy.spatial import distance
from statsmodels.stats.multitest import multipletests

import evidently
from evidently.legacy.calculations.stattests import (
    chi_stat_test,
    jensenshannon_stat_test,
    ks_stat_test,
    psi_stat_test,
    wasserstein_stat_test,
    z_stat_test,
)
from evidently.legacy.calculations.stattests.registry import get_stattest
from evidently.legacy.calculations.stattests.utils import get_binned_data
from evidently.legacy.core import ColumnType

M31 = 2147483647


def progress(message: str) -> None:
    print(f"[monitor_stats_fixtures] {message}", file=sys.stderr, flush=True)


def minstd(seed: int):
    state = seed
    while True:
        state = (state * 48271) % M31
        yield state / M31


def generate(spec: dict) -> np.ndarray:
    """The inputs a spec describes (the TypeScript test has the same generator)."""
    if "values" in spec:
        return np.array([float(v) for v in spec["values"]], dtype=float)
    rng = minstd(spec["seed"])
    n = spec["n"]
    if spec["gen"] == "normal":
        out = np.empty(n)
        d = spec.get("decimals")
        for i in range(n):
            v = (next(rng) + next(rng) + next(rng) + next(rng) - 2) * spec["scale"] + spec["loc"]
            if d is not None:
                v = math.floor(v * 10**d) / 10**d
            out[i] = v
        return out
    if spec["gen"] == "int":
        return np.array([math.floor(next(rng) * spec["k"]) + spec["offset"] for _ in range(n)], dtype=np.int64)
    raise ValueError(spec["gen"])


def clean(values: np.ndarray) -> pd.Series:
    """What Evidently's get_one_column_drift hands a stattest: inf -> NaN, NaN dropped."""
    return pd.Series(values).replace([-np.inf, np.inf], np.nan).dropna()


def num(x) -> float | str:
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def evidently_score(test, ref: pd.Series, cur: pd.Series, column_type: ColumnType) -> dict:
    result = test(ref, cur, column_type, None)
    return {"score": num(result.drift_score), "drift": bool(result.drifted), "threshold": result.actual_threshold}


NAMES = {"ks": "ks", "chisquare": "chi2", "z": "z", "wasserstein": "wasserstein", "jensenshannon": "jensenshannon"}


def numeric_case(name: str, ref_spec: dict, cur_spec: dict, integer: bool = False) -> dict:
    ref_raw = generate(ref_spec)
    cur_raw = generate(cur_spec)
    if not integer:
        ref_raw = ref_raw.astype(float)
        cur_raw = cur_raw.astype(float)
    ref = clean(ref_raw)
    cur = clean(cur_raw)
    ks = stats.ks_2samp(ref.to_numpy(), cur.to_numpy())
    expected: dict = {
        "rows": [len(ref), len(cur)],
        "ks": {"statistic": num(ks.statistic), "pvalue": num(ks.pvalue)},
        "wassersteinRaw": num(stats.wasserstein_distance(ref, cur)),
        "referenceStd": num(np.std(ref.to_numpy())),
        "evidently": {
            "ks": evidently_score(ks_stat_test, ref, cur, ColumnType.Numerical),
            "wasserstein": evidently_score(wasserstein_stat_test, ref, cur, ColumnType.Numerical),
            "jensenshannon": evidently_score(jensenshannon_stat_test, ref, cur, ColumnType.Numerical),
            "psi": evidently_score(psi_stat_test, ref, cur, ColumnType.Numerical),
        },
    }
    distinct = pd.concat([ref, cur]).nunique()
    if distinct <= 5:
        expected["evidently"]["chi2"] = evidently_score(chi_stat_test, ref, cur, ColumnType.Numerical)
        expected["evidently"]["z"] = evidently_score(z_stat_test, ref, cur, ColumnType.Numerical)
    chosen = get_stattest(ref, cur, ColumnType.Numerical, None)
    expected["default"] = {"test": NAMES[chosen.name], **evidently_score(chosen, ref, cur, ColumnType.Numerical)}
    if ref.nunique() > 20:
        combined = np.asarray(pd.concat([ref, cur], axis=0).values)
        expected["edges"] = [num(e) for e in np.histogram_bin_edges(combined, bins="sturges")]
    ref_shares, cur_shares = get_binned_data(ref, cur, ColumnType.Numerical, 30, False)
    expected["binned"] = {"reference": [num(x) for x in ref_shares], "current": [num(x) for x in cur_shares]}
    if "edges" not in expected:
        expected["binned"]["keys"] = [num(k) for k in set(ref.dropna().unique()) | set(cur.dropna().unique())]
    progress(f"numeric {name}: default {expected['default']['test']} score {expected['default']['score']}")
    return {"name": name, "integer": integer, "reference": ref_spec, "current": cur_spec, "expected": expected}


def categorical_case(name: str, ref_counts: dict[str, int], cur_counts: dict[str, int]) -> dict:
    ref = pd.Series(np.repeat(np.array(list(ref_counts), dtype=object), list(ref_counts.values())))
    cur = pd.Series(np.repeat(np.array(list(cur_counts), dtype=object), list(cur_counts.values())))
    expected = {
        "evidently": {
            "chi2": evidently_score(chi_stat_test, ref, cur, ColumnType.Categorical),
            "z": evidently_score(z_stat_test, ref, cur, ColumnType.Categorical),
            "jensenshannon": evidently_score(jensenshannon_stat_test, ref, cur, ColumnType.Categorical),
            "psi": evidently_score(psi_stat_test, ref, cur, ColumnType.Categorical),
        }
    }
    keys = sorted(set(ref_counts) | set(cur_counts))
    k_norm = len(cur) / len(ref)
    f_exp = [ref_counts.get(k, 0) * k_norm for k in keys]
    f_obs = [cur_counts.get(k, 0) for k in keys]
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = stats.chisquare(f_obs, f_exp)
    expected["chi2Statistic"] = num(chi.statistic)
    chosen = get_stattest(ref, cur, ColumnType.Categorical, None)
    expected["default"] = {"test": NAMES[chosen.name], **evidently_score(chosen, ref, cur, ColumnType.Categorical)}
    progress(f"categorical {name}: default {expected['default']['test']} score {expected['default']['score']}")
    return {"name": name, "reference": ref_counts, "current": cur_counts, "expected": expected}


def default_rule_cases() -> list[dict]:
    """Evidently's get_default_stattest on its boundaries: 1000 vs 1001 reference rows, 5 vs 6 distinct, 2 -> z."""
    out = []
    for ref_rows in (1000, 1001):
        for distinct in (1, 2, 3, 5, 6):
            for column_type in (ColumnType.Numerical, ColumnType.Categorical):
                ref_values = np.arange(ref_rows) % max(distinct - 1, 1)
                cur_values = np.full(50, distinct - 1)  # the last distinct value only in current
                if column_type == ColumnType.Categorical:
                    ref = pd.Series([f"c{v}" for v in ref_values], dtype=object)
                    cur = pd.Series([f"c{v}" for v in cur_values], dtype=object)
                else:
                    ref = pd.Series(ref_values.astype(float))
                    cur = pd.Series(cur_values.astype(float))
                in_both = pd.concat([ref, cur]).nunique()
                chosen = get_stattest(ref, cur, column_type, None)
                out.append(
                    {
                        "referenceRows": ref_rows,
                        "type": "numeric" if column_type == ColumnType.Numerical else "categorical",
                        "distinctInBoth": int(in_both),
                        "test": NAMES[chosen.name],
                    }
                )
    return out


def special_cases() -> dict:
    chi2 = []
    for df in (1, 2, 3, 4, 7, 10, 29, 50, 99, 250, 999):
        for q in (0.001, 0.2, 0.5, 0.9, 0.99, 0.999999):
            x = float(stats.chi2.ppf(q, df))
            chi2.append([x, df, num(special.chdtrc(df, x))])
        chi2.append([0.0, df, num(special.chdtrc(df, 0.0))])
        chi2.append([df * 40.0, df, num(special.chdtrc(df, df * 40.0))])
    ndtr = [[x, num(special.ndtr(x))] for x in (-40, -9, -6.5, -3, -1.2, -0.3, 0, 0.2, 0.7071, 1, 1.5, 3, 8.2, 12)]
    kstwo = []
    for n in (1, 2, 5, 10, 37, 100, 140, 141, 300, 1000, 5000, 90909, 100001, 1200000):
        for x in (0.3 / n, 0.5 / n, 0.8 / n, 1.0 / n, 1.5 / n, 0.2 / math.sqrt(n), 0.6 / math.sqrt(n),
                  0.9 / math.sqrt(n), 1.3 / math.sqrt(n), 1.8 / math.sqrt(n), 2.5 / math.sqrt(n), 4 / math.sqrt(n),
                  0.45, 0.55, 0.8, 1 - 1.5 / n, 0.999):
            if 0 < x < 1:
                kstwo.append([x, n, num(stats.kstwo.sf(x, n))])
    # Random arguments around the typical KS statistic 1/sqrt(n) and the chi-square bulk, beyond the grid above.
    rng = np.random.default_rng(9)
    for _ in range(300):
        n = int(np.exp(rng.uniform(0, np.log(3e5))))
        x = float(np.exp(rng.uniform(np.log(0.1 / np.sqrt(n)), np.log(8 / np.sqrt(n)))))
        if x >= 1:
            x = float(rng.uniform(0.3, 0.999))
        kstwo.append([x, n, num(stats.kstwo.sf(x, n))])
    for _ in range(200):
        df = int(np.exp(rng.uniform(0, np.log(5000))))
        x = float(df * np.exp(rng.uniform(np.log(0.05), np.log(5))))
        chi2.append([x, df, num(special.chdtrc(df, x))])
    return {"chi2": chi2, "ndtr": ndtr, "kstwo": kstwo}


def correction_cases() -> list[dict]:
    rng = np.random.default_rng(12)
    vectors = [
        [0.01, 0.04, 0.03, 0.2, 0.5, 0.04, 0.9, 0.001],
        [0.5],
        [0.0, 1.0, 0.3, 0.3, 0.3],
        list(rng.uniform(0, 0.2, 23)),
        list(rng.uniform(0, 1, 40) ** 3),
    ]
    out = []
    for p in vectors:
        p = [float(x) for x in p]
        case = {"p": p}
        for ours, theirs in (("bonferroni", "bonferroni"), ("holm", "holm"), ("bh", "fdr_bh")):
            case[ours] = [float(x) for x in multipletests(p, method=theirs)[1]]
        case["bhScipy"] = [float(x) for x in stats.false_discovery_control(p)]
        out.append(case)
    return out


def arrays(rng: np.random.Generator) -> dict[str, list]:
    """Small numpy-seeded samples stored as arrays (round-trip floats), some with NaN / inf."""

    def store(a: np.ndarray) -> list:
        return [num(v) for v in a]

    lognormal_ref = rng.lognormal(0, 0.7, 180)
    lognormal_cur = rng.lognormal(0.05, 0.7, 140)
    lognormal_ref[[3, 50]] = np.nan
    lognormal_cur[[7]] = np.inf
    return {
        "lognormal_ref": store(lognormal_ref),
        "lognormal_cur": store(lognormal_cur),
        "lognormal_shift": store(rng.lognormal(0.6, 0.7, 150)),
        "tiny_ref": store(rng.normal(0, 1, 8)),
        "tiny_cur": store(rng.normal(0.3, 1, 11)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="tests/fixtures/monitoring/stats.json")
    args = parser.parse_args()
    rng = np.random.default_rng(20261201)
    stored = arrays(rng)

    def normal(seed, n, loc=0.0, scale=1.0, decimals=None):
        spec = {"gen": "normal", "seed": seed, "n": n, "loc": loc, "scale": scale}
        if decimals is not None:
            spec["decimals"] = decimals
        return spec

    def ints(seed, n, k, offset=0):
        return {"gen": "int", "seed": seed, "n": n, "k": k, "offset": offset}

    numeric = [
        numeric_case("lognormal-unshifted-with-nan-inf", {"values": stored["lognormal_ref"]},
                     {"values": stored["lognormal_cur"]}),
        numeric_case("lognormal-shifted", {"values": stored["lognormal_ref"]}, {"values": stored["lognormal_shift"]}),
        numeric_case("tiny", {"values": stored["tiny_ref"]}, {"values": stored["tiny_cur"]}),
        numeric_case("normal-300-vs-250-unshifted", normal(11, 300), normal(12, 250)),
        numeric_case("normal-300-vs-250-shifted", normal(13, 300), normal(14, 250, loc=0.35)),
        numeric_case("normal-500-vs-500-equal-n", normal(15, 500), normal(16, 500, loc=0.1)),
        numeric_case("ties-1-decimal-800-vs-600", normal(17, 800, decimals=1), normal(18, 600, decimals=1)),
        numeric_case("ties-shifted-scale", normal(19, 900, decimals=1), normal(20, 700, scale=1.3, decimals=1)),
        numeric_case("discrete-15-values", ints(21, 700, 15), ints(22, 650, 15)),
        numeric_case("discrete-15-values-shifted", ints(23, 700, 15), ints(24, 650, 15, offset=2)),
        numeric_case("ref-1000-cur-20000-asymptotic", normal(25, 1000), normal(26, 20000, decimals=3)),
        numeric_case(
            "ref-1000-cur-20000-asymptotic-shifted", normal(27, 1000), normal(28, 20000, loc=0.12, decimals=3)
        ),
        numeric_case("exact-limit-10000-vs-8000", normal(29, 10000, decimals=2), normal(30, 8000, decimals=2)),
        numeric_case("asymp-limit-10001-vs-8000", normal(31, 10001, decimals=2), normal(32, 8000, decimals=2)),
        numeric_case("large-distance-5000-vs-4000", normal(33, 5000, decimals=3), normal(34, 4000, decimals=3)),
        numeric_case("large-distance-shifted", normal(35, 5000, decimals=3), normal(36, 4000, loc=0.4, decimals=3)),
        numeric_case("constant-reference", ints(37, 1200, 1, offset=3), ints(38, 900, 2, offset=3)),
        numeric_case("four-values-chi2", ints(39, 600, 4), ints(40, 500, 4)),
        numeric_case("four-values-chi2-shifted", ints(41, 600, 4), ints(42, 500, 5)),
        numeric_case("binary-z", ints(43, 700, 2), ints(44, 640, 2)),
        numeric_case("binary-z-single-value-both", ints(45, 300, 1), ints(46, 200, 1)),
        numeric_case("integers-21-values-float", ints(47, 300000, 21), ints(48, 300000, 21)),
        numeric_case("integers-21-values-int64", ints(47, 300000, 21), ints(48, 300000, 21), integer=True),
        numeric_case(
            "large-offset-1e6", normal(51, 3000, loc=1e6, decimals=3), normal(52, 2500, loc=1e6 + 0.05, decimals=3)
        ),
        numeric_case("wide-range-100k", normal(49, 100000, scale=1000, decimals=2),
                     normal(50, 100000, loc=30, scale=1000, decimals=2)),
    ]
    abcd = {"a": 400, "b": 300, "c": 200, "d": 100}
    categorical = [
        categorical_case("same-shares", abcd, {"a": 200, "b": 150, "c": 100, "d": 50}),
        categorical_case("mild-change", abcd, {"a": 180, "b": 160, "c": 100, "d": 60}),
        categorical_case("unseen-category", {"a": 400, "b": 300, "c": 200}, {"a": 200, "b": 150, "c": 90, "new": 3}),
        categorical_case("missing-category-in-current", {"a": 500, "b": 300, "c": 5}, {"a": 260, "b": 140}),
        categorical_case("binary-same", {"yes": 300, "no": 700}, {"yes": 140, "no": 360}),
        categorical_case("binary-shifted", {"yes": 300, "no": 700}, {"yes": 200, "no": 300}),
        categorical_case("single-same", {"x": 50}, {"x": 20}),
        categorical_case("single-different", {"x": 50}, {"y": 20}),
        categorical_case("large-many", {f"k{i:02d}": 1000 + 37 * i for i in range(40)},
                         {f"k{i:02d}": 500 + 19 * i + (i % 3) for i in range(40)}),
    ]
    fixture = {
        "generator": "bench/peers/monitor_stats_fixtures.py",
        "versions": {
            "evidently": evidently.__version__,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "numeric": numeric,
        "categorical": categorical,
        "defaults": default_rule_cases(),
        "special": special_cases(),
        "corrections": correction_cases(),
        "jensenshannon": [
            {"p": p, "q": q, "value": num(distance.jensenshannon(p, q))}
            for p, q in (([0.2, 0.3, 0.5], [0.1, 0.6, 0.3]), ([1, 0, 0], [0, 0, 1]), ([3, 1, 0, 4], [2, 2, 2, 0]))
        ],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    progress(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
