"""Reference splits of scikit-learn's HistGradientBoostingClassifier on a categorical feature, for
tests/unit/models/trees/categorical.test.ts (our gbdt with categorical: "native" must choose the same category
sets, counts and leaf values).

Each case: a numeric column `num` and a categorical column with categories 0 … m − 1 (every one present, so
scikit-learn's bin of a category is the category itself), labels drawn from per-category rates in which the
high-rate categories are not contiguous ({0, 2, 5}), so the best split is a set, not a threshold. Fitted with
categorical_features=[1], learning_rate 1, l2 0, no early stopping, max_bins 255. Written per case: the data
(NaN = missing category as null), the parameters, the first tree (per node: feature name, categorical, left set of
categories from raw_left_cat_bitsets, missing_go_to_left, children, count, value) and the probabilities.

Run from the repository root: .venv/bin/python bench/peers/categorical_split_fixtures.py
"""

import json
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "trees" / "categorical-sklearn.json"


def dataset(seed: int, n: int, m: int, missing: int):
    rng = np.random.default_rng(seed)
    cat = rng.integers(0, m, size=n).astype(np.float64)
    cat[:m] = np.arange(m)  # every category present
    num = np.round(rng.uniform(-1, 1, size=n), 2)
    rate = np.where(np.isin(cat, [0, 2, 5]), 0.85, 0.2) + 0.1 * num
    y = (rng.uniform(size=n) < rate).astype(np.int64)
    if missing:
        cat[m : m + missing] = np.nan
    return np.column_stack([num, cat]), y


# scikit-learn puts the categorical columns first in the matrix its trees see (its ColumnTransformer), so a node's
# feature_idx 0 is `cat` and 1 is `num`.
TREE_COLUMNS = ["cat", "num"]


def tree_nodes(model, k: int):
    predictor = model._predictors[0][k]
    bitsets = predictor.raw_left_cat_bitsets
    out = []
    for node in predictor.nodes:
        categorical = bool(node["is_categorical"]) and not node["is_leaf"]
        left_set = []
        if categorical:
            words = bitsets[node["bitset_idx"]]
            left_set = [c for c in range(256) if (int(words[c >> 5]) >> (c & 31)) & 1]
        out.append(
            {
                "leaf": bool(node["is_leaf"]),
                "feature": None if node["is_leaf"] else TREE_COLUMNS[int(node["feature_idx"])],
                "categorical": categorical,
                "leftSet": left_set,
                "threshold": None if categorical or node["is_leaf"] else float(node["num_threshold"]),
                "missingLeft": bool(node["missing_go_to_left"]),
                "left": int(node["left"]),
                "right": int(node["right"]),
                "count": int(node["count"]),
                "value": float(node["value"]),
            }
        )
    return out


def case(name: str, seed: int, n: int, m: int, missing: int, rounds: int, leaves: int, min_leaf: int):
    x, y = dataset(seed, n, m, missing)
    model = HistGradientBoostingClassifier(
        categorical_features=[1],
        max_iter=rounds,
        learning_rate=1.0,
        max_leaf_nodes=leaves,
        min_samples_leaf=min_leaf,
        l2_regularization=0.0,
        max_bins=255,
        early_stopping=False,
        random_state=0,
    ).fit(x, y)
    return {
        "name": name,
        "categories": m,
        "params": {"rounds": rounds, "maxLeaves": leaves, "minSamplesLeaf": min_leaf},
        "num": x[:, 0].tolist(),
        "cat": [None if np.isnan(v) else int(v) for v in x[:, 1]],
        "y": y.tolist(),
        "firstTree": tree_nodes(model, 0),
        "probabilities": model.predict_proba(x)[:, 1].tolist(),
    }


def main() -> None:
    cases = [
        case("stump on a category set", seed=1, n=400, m=8, missing=0, rounds=1, leaves=2, min_leaf=20),
        case("3 leaves, missing categories", seed=2, n=600, m=10, missing=30, rounds=1, leaves=3, min_leaf=15),
        case("4 rounds, 4 leaves", seed=3, n=800, m=12, missing=20, rounds=4, leaves=4, min_leaf=10),
    ]
    OUT.write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    for c in cases:
        root = c["firstTree"][0]
        print(c["name"], "root:", "categorical" if root["categorical"] else "numeric", root["leftSet"])


if __name__ == "__main__":
    main()
