"""MLflow ``python_function`` loader for tfjs-mlops-workbench model packages.

Every model package the workbench writes carries this file in ``code/`` and names it as the ``loader_module``
of its ``python_function`` flavor, so ``mlflow.pyfunc.load_model``, ``mlflow models serve`` and ``mlflow models
predict`` score the model without Node.js. It reimplements, in numpy, exactly what the TypeScript side does:

* input reading (src/serving/input.ts, src/data/csv-value.ts): numbers, categories as strings, missing values
  (None, NaN, and in number columns the text tokens NA, N/A, null, NULL, None, NaN and "") go to the
  preprocessor's imputation or a category's unknown bucket; a required column without a value is an error;
* the preprocessor (src/features/preprocessor.ts): engineered features, median imputation, signed log,
  scaling, clipping in float64, stored as float32, then one-hot categories with an unknown bucket;
* every tabular model kind (src/models/kinds/*): TensorFlow.js dense networks (model.json + weights.bin), the
  tree ensembles (trees.json + trees.bin), k-nearest neighbours (knn.json + knn.bin) and the linear SVM
  (linear-svm.json), in the same precision and order of operations;
* the tfidf-linear text kind (src/models/text/tfidf-linear-model.ts): text columns read as the service reads them
  (serving/input.ts: empty or whitespace-only text refused unless the column is nullable, over maxLength cut or
  refused), normalised (src/features/text/normalize.ts), TF-IDF (src/features/text/tfidf.ts: tfidf.json) and the
  linear weights (tfidf-linear.json). The other text kinds (tokenizers, embedding bags, CNNs, recurrent
  networks) have no loader here: their packages carry no python_function flavor.

Why numpy and not an ONNX export: numpy (and pandas) are already dependencies of MLflow itself, so the package
needs nothing MLflow does not bring; and numpy lets the arithmetic be the same as ours operation for operation
(float32 where we use Float32Array, float64 where we use numbers, the same summation order), which is what
makes the probabilities agree to 1e-5 (in practice to float32 rounding) — an ONNX graph would add onnxruntime
and would have to encode the kNN search and tree walks in operators that round differently.

``predict`` answers what the workbench's own /invocations answers: a DataFrame with a ``label`` column and one
``probability_<class>`` column per class. The label is the arg-max class, or for a binary model with a decision
threshold in model-meta.json the positive class when its probability is at least the threshold.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import numpy as np
import pandas as pd

#: Package formats this loader reads, and where each keeps the kind's own files (see model-package.ts).
MODEL_DIRS = {1: "tfjs", 2: "estimator"}
#: CSV field values read as missing (after trimming), as src/data/csv-value.ts.
MISSING_TOKENS = frozenset(["", "NA", "N/A", "null", "NULL", "None", "NaN"])
_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: Problems listed in an input error (all are counted).
_MAX_LISTED = 20


class WorkbenchModelError(Exception):
    """A package this loader cannot read (wrong format, unknown kind, damaged files)."""


class WorkbenchInputError(ValueError):
    """Input rows the model cannot score: every problem is listed (up to 20) and counted."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        listed = "; ".join(problems[:_MAX_LISTED])
        more = f" (the first {_MAX_LISTED} listed)" if len(problems) > _MAX_LISTED else ""
        plural = "" if len(problems) == 1 else "s"
        super().__init__(f"{len(problems)} problem{plural} in the input{more}: {listed}")


# --- JavaScript number semantics ------------------------------------------------------------------------------


def _js_number(text: str) -> float:
    """JavaScript's Number(text) for a category code (engineered features read codes this way; "" is 0)."""
    s = text.strip()
    if s == "":
        return 0.0
    if _DECIMAL.match(s):
        return float(s)
    if re.match(r"^[+-]?Infinity$", s):
        return -math.inf if s.startswith("-") else math.inf
    for prefix, base in (("0x", 16), ("0b", 2), ("0o", 8)):
        if s[:2].lower() == prefix:
            try:
                return float(int(s[2:], base))
            except ValueError:
                return math.nan
    return math.nan


def _js_string(value: float) -> str:
    """JavaScript's String(number): how a numeric category value becomes its category key (2.0 → "2")."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    # The shortest digits that round-trip (as JavaScript picks them), in plain notation for 1e-7 < |x| < 1e21.
    mantissa, exponent = np.format_float_scientific(value, unique=True, trim="-").split("e")
    power = int(exponent)
    if -7 < power < 21:
        return np.format_float_positional(value, unique=True, trim="-")
    return f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"


def _parse_number_text(text: str) -> float | None:
    """The number a text field holds (plain decimal notation, finite), else None (csv-value.ts)."""
    s = text.strip()
    if not _DECIMAL.match(s):
        return None
    value = float(s)
    return value if math.isfinite(value) else None


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


# --- Input rows → columns (src/serving/input.ts) --------------------------------------------------------------


def _number_of(value: Any, name: str, r: int, problems: list[str]) -> float | None:
    """One cell of a numeric column: its number, None when missing; a problem when it is not a finite number."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        if value.strip() in MISSING_TOKENS:
            return None
        number = _parse_number_text(value)
        if number is None:
            problems.append(f"row {r}, '{name}': not a number: {value!r}")
        return number
    if _is_number(value):
        if math.isfinite(float(value)):
            return float(value)
        problems.append(f"row {r}, '{name}': not a finite number")
        return None
    problems.append(f"row {r}, '{name}': expected a number, got {type(value).__name__}")
    return None


def _numbers(series: pd.Series, name: str, problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A column as float64 and its missing mask; numeric dtypes (what MLflow's schema enforcement gives) at once."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        for r in np.flatnonzero(np.isinf(values)):
            problems.append(f"row {r}, '{name}': not a finite number")
        return values, np.isnan(values)
    values = np.full(len(series), np.nan)
    missing = np.zeros(len(series), dtype=bool)
    for r, value in enumerate(series.tolist()):
        reported = len(problems)
        number = _number_of(value, name, r, problems)
        if number is not None:
            values[r] = number
        elif len(problems) == reported:  # missing, not wrong
            missing[r] = True
    return values, missing


def _read_columns(
    frame: pd.DataFrame, inputs: list[dict[str, Any]], categorical: set[str]
) -> tuple[int, dict[str, np.ndarray], dict[str, list[str]]]:
    """Numeric columns as float64 (NaN = missing) and categorical ones as strings ("" = missing).

    As src/serving/input.ts reads rows: every problem is collected; a required column without a value is one;
    a category column of type string takes strings as they are, one of type long/double takes numbers (or their
    text) and keys them as JavaScript's String(number) does, so 2 and "2.0" are category "2"; a column's recode
    map (model-meta.json) then maps raw codes to the category training saw.
    """
    rows = len(frame)
    numeric: dict[str, np.ndarray] = {}
    categories: dict[str, list[str]] = {}
    problems: list[str] = []
    for column in inputs:
        name, kind, required = column["name"], column["type"], bool(column["required"])
        if name not in frame.columns:
            if required:
                problems.append(f"column '{name}' is missing (required)")
            series = pd.Series([None] * rows, dtype=object)
        else:
            series = frame[name]
        if name in categorical and kind == "string":
            out = []
            for r, value in enumerate(series.tolist()):
                if _is_missing(value):
                    out.append("")
                    if required:
                        problems.append(f"row {r}, '{name}': missing (required)")
                elif isinstance(value, str):
                    out.append(value)
                else:
                    out.append("")
                    problems.append(f"row {r}, '{name}': expected a string, got {type(value).__name__} {value}")
            categories[name] = out
            continue
        values, missing = _numbers(series, name, problems)
        if required and name in frame.columns:
            for r in np.flatnonzero(missing):
                problems.append(f"row {r}, '{name}': missing (required)")
        if name in categorical:
            keys = {v: _js_string(v) for v in np.unique(values[~missing])}
            categories[name] = ["" if m else keys[v] for v, m in zip(values.tolist(), missing.tolist())]
        else:
            numeric[name] = values
    if problems:
        raise WorkbenchInputError(problems)
    for column in inputs:  # the manifest's raw codes, as training recoded them (recodeCategory in signature.ts)
        recode = column.get("recode") or {}
        if recode and column["name"] in categories:
            categories[column["name"]] = [recode.get(v, v) if v != "" else v for v in categories[column["name"]]]
    return rows, numeric, categories


# --- The preprocessor (src/features/preprocessor.ts) ----------------------------------------------------------


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


class _Table:
    def __init__(self, rows: int, numeric: dict[str, np.ndarray], categorical: dict[str, list[str]]):
        self.rows = rows
        self.numeric = numeric
        self.categorical = categorical

    def source(self, column: str) -> np.ndarray:
        """A raw column as numbers: numeric as it is, category codes through Number() ("" is 0)."""
        if column in self.numeric:
            return self.numeric[column]
        if column in self.categorical:
            return np.array([_js_number(v) for v in self.categorical[column]], dtype=np.float64)
        return np.full(self.rows, np.nan)


def _engineered(spec: dict[str, Any], table: _Table) -> np.ndarray:
    kind = spec["kind"]
    with np.errstate(all="ignore"):
        if kind == "ratio":
            a = table.source(spec["numerator"])
            d = table.source(spec["denominator"])
            out = np.where(np.abs(d) < 1e-9, 0.0, a / np.where(d == 0, 1.0, d))
            return np.where(np.isnan(a) | np.isnan(d), np.nan, out)
        if kind in ("sum", "mean"):
            acc = np.zeros(table.rows)
            for column in spec["columns"]:
                acc = acc + table.source(column)
            return acc / len(spec["columns"]) if kind == "mean" else acc
        if kind == "code":
            v = table.source(spec["column"]).copy()
            if spec.get("min") is not None:
                v = np.where(np.isnan(v), np.nan, np.maximum(spec["min"], v))
            if spec.get("max") is not None:
                v = np.where(np.isnan(v), np.nan, np.minimum(spec["max"], v))
            return v
    raise WorkbenchModelError(f"preprocessor.json: unknown engineered feature kind '{kind}'")


def transform(state: dict[str, Any], table: _Table) -> np.ndarray:
    """The feature matrix (rows × features, float32) the model reads."""
    cols = len(state["featureNames"])
    out = np.zeros((table.rows, cols), dtype=np.float32)
    engineered = {e["name"]: e for e in state["engineered"]}
    clip = float(state["clip"])
    offset = 0
    for step in state["numeric"]:
        name = step["name"]
        if name in table.numeric:
            column = table.numeric[name]
        elif name in engineered:
            column = _engineered(engineered[name], table)
        else:
            raise WorkbenchInputError([f"feature '{name}' is not in the data"])
        with np.errstate(all="ignore"):
            v = _signed_log(column) if step["signedLog"] else column
            v = np.where(np.isnan(column), float(step["fill"]), v)
            v = (v - float(step["center"])) / float(step["scale"])
            out[:, offset] = np.maximum(-clip, np.minimum(clip, v))
        offset += 1
    for step in state["categorical"]:
        name = step["name"]
        if name not in table.categorical:
            raise WorkbenchInputError([f"column '{name}' is missing from the input"])
        position = {c: k for k, c in enumerate(step["categories"])}
        unknown = len(step["categories"])
        index = np.array([position.get(v, unknown) for v in table.categorical[name]], dtype=np.int64)
        out[np.arange(table.rows), offset + index] = 1
        offset += unknown + 1
    return out


# --- The kinds -----------------------------------------------------------------------------------------------


def _binary_from_positive(p: np.ndarray) -> np.ndarray:
    """[1 − p, p] per row, computed in float64 and stored as float32 (as the TypeScript kinds do)."""
    p64 = p.astype(np.float64)
    return np.stack([1.0 - p64, p64], axis=1).astype(np.float32)


def _softmax_f32(raw: np.ndarray) -> np.ndarray:
    """Softmax in float64 (max-shifted, summed in class order), stored as float32."""
    shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
    total = np.zeros(raw.shape[0])
    for k in range(raw.shape[1]):
        total = total + shifted[:, k]
    return (shifted / total[:, None]).astype(np.float32)


class _Network:
    """A TensorFlow.js layers model (model.json + weights.bin): dense, batch-norm and dropout layers.

    Every operation reads float32 tensors, computes in float64 and stores float32, as TensorFlow.js's CPU
    backend does (its WebAssembly backend accumulates in float32: a difference far below 1e-5).
    """

    ACTIVATIONS = {
        "linear": lambda x: x,
        "relu": lambda x: np.maximum(x, 0.0),
        "elu": lambda x: np.where(x >= 0, x, np.expm1(np.minimum(x, 0))),
        "selu": lambda x: np.where(x >= 0, 1.0507009873554805 * x, 1.7580993408473769 * np.expm1(np.minimum(x, 0))),
        "tanh": np.tanh,
        "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
        # tfjs: mul(sigmoid(x), x), the sigmoid stored as float32 first.
        "swish": lambda x: (1.0 / (1.0 + np.exp(-x))).astype(np.float32).astype(np.float64) * x,
    }

    def __init__(self, directory: str, classes: int):
        try:
            with open(os.path.join(directory, "model.json"), encoding="utf-8") as f:
                model = json.load(f)
            weights: dict[str, np.ndarray] = {}
            for group in model["weightsManifest"]:
                blob = b"".join(_read_bytes(os.path.join(directory, p)) for p in group["paths"])
                at = 0
                for spec in group["weights"]:
                    if spec.get("dtype", "float32") != "float32" or spec.get("quantization"):
                        raise WorkbenchModelError(f"weight {spec['name']}: only float32 weights are supported")
                    size = int(np.prod(spec["shape"])) if spec["shape"] else 1
                    weights[spec["name"]] = np.frombuffer(blob, dtype="<f4", count=size, offset=at).reshape(
                        spec["shape"]
                    )
                    at += size * 4
        except (OSError, KeyError, ValueError) as error:
            raise WorkbenchModelError(f"{directory}: unreadable TensorFlow.js model ({error})") from error
        topology = model["modelTopology"]
        topology = topology.get("model_config", topology)
        if topology.get("class_name") != "Sequential":
            raise WorkbenchModelError(f"model.json: a {topology.get('class_name')} model, not Sequential")
        self.layers: list[tuple[str, dict[str, Any], dict[str, np.ndarray]]] = []
        for layer in topology["config"]["layers"]:
            name = layer["config"]["name"]
            own = {k.split("/", 1)[1]: v for k, v in weights.items() if k.split("/", 1)[0] == name}
            kind = layer["class_name"]
            if kind not in ("Dense", "BatchNormalization", "Dropout"):
                raise WorkbenchModelError(f"model.json: layer {name} is a {kind}, which this loader cannot run")
            activation = layer["config"].get("activation", "linear")
            if kind == "Dense" and activation not in {*self.ACTIVATIONS, "softmax"}:
                raise WorkbenchModelError(f"model.json: layer {name} has the unknown activation {activation}")
            self.layers.append((kind, layer["config"], own))
        self.classes = classes

    def predict(self, x: np.ndarray) -> np.ndarray:
        f32 = lambda a: np.asarray(a).astype(np.float32).astype(np.float64)  # noqa: E731 (store as float32)
        h = f32(x)
        for kind, config, w in self.layers:
            if kind == "Dense":
                h = f32(h @ w["kernel"].astype(np.float64))
                if config.get("use_bias", True):
                    h = f32(h + w["bias"])
                activation = config.get("activation", "linear")
                if activation == "softmax":
                    e = f32(np.exp(f32(h - h.max(axis=1, keepdims=True))))
                    total = np.zeros(h.shape[0])
                    for k in range(e.shape[1]):
                        total = total + e[:, k]
                    h = f32(e / f32(total)[:, None])
                else:
                    h = f32(self.ACTIVATIONS[activation](h))
            elif kind == "BatchNormalization":
                eps = float(config.get("epsilon", 1e-3))
                gamma = w["gamma"].astype(np.float64) if config.get("scale", True) else 1.0
                beta = w["beta"].astype(np.float64) if config.get("center", True) else 0.0
                h = f32(beta + (h - w["moving_mean"]) * gamma / np.sqrt(w["moving_variance"] + eps))
        if self.classes == 2:
            return _binary_from_positive(h[:, 0])
        return h.astype(np.float32)


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _read_sections(directory: str, header_file: str, arrays_file: str) -> tuple[dict[str, Any], bytes]:
    try:
        with open(os.path.join(directory, header_file), encoding="utf-8") as f:
            header = json.load(f)
        with open(os.path.join(directory, arrays_file), "rb") as f:
            blob = f.read()
    except OSError as error:
        raise WorkbenchModelError(f"{directory}: missing or unreadable {header_file}/{arrays_file} ({error})")
    return header, blob


class _Trees:
    """A tree ensemble (trees.json + trees.bin, src/models/trees/ensemble.ts), format versions 1 and 2.

    Version 2 adds native categorical features (gbdt): `groups` in trees.json name the one-hot blocks of the input
    that the trees read as one column each (src/models/trees/categorical.ts: the other columns in order, then per
    group the index of its first column > 0.5, NaN if none), and categorical split nodes send category c left when
    its bit is set in the node's words of `catBits` (NaN follows missingLeft; anything else goes right).
    """

    DTYPES = {"float64": "<f8", "int32": "<i4", "uint8": "u1", "uint32": "<u4"}

    def __init__(self, directory: str):
        header, blob = _read_sections(directory, "trees.json", "trees.bin")
        if header.get("format") != "workbench-trees" or header.get("version", 99) not in (1, 2):
            raise WorkbenchModelError(f"{directory}/trees.json: not a version-1 or version-2 workbench-trees header")
        arrays = {}
        for s in header["sections"]:
            dtype = self.DTYPES[s["dtype"]]
            arrays[s["name"]] = np.frombuffer(blob, dtype=dtype, count=s["length"], offset=s["offset"])
        self.objective = header["objective"]
        self.classes = int(header["classes"])
        self.base = np.array(header["baseScores"], dtype=np.float64)
        self.roots = arrays["roots"].astype(np.int64)
        self.output = arrays["treeOutput"].astype(np.int64)
        self.feature = arrays["feature"].astype(np.int64)
        self.threshold = arrays["threshold"]
        self.left = arrays["left"].astype(np.int64)
        self.missing_left = arrays["missingLeft"].astype(bool)
        self.value = arrays["value"]
        features = int(header["features"])
        nodes = len(self.feature)
        self.categories = arrays.get("categories", np.zeros(features, dtype="<i4")).astype(np.int64)
        self.cat_offset = arrays.get("catOffset", np.full(nodes, -1, dtype="<i4")).astype(np.int64)
        self.cat_bits = arrays.get("catBits", np.zeros(0, dtype="<u4")).astype(np.int64)
        self.groups = [(int(g["start"]), int(g["size"])) for g in header.get("groups") or []]
        words = (self.categories + 31) // 32
        for node in np.flatnonzero(self.cat_offset >= 0):
            f = self.feature[node]
            if f < 0 or self.categories[f] == 0 or self.cat_offset[node] + words[f] > len(self.cat_bits):
                raise WorkbenchModelError(f"{directory}/trees.bin: node {node} has a category set out of range")
        # Per node: the number of categories its bitset covers (0 for numeric nodes and leaves).
        self.cat_span = np.where(self.cat_offset >= 0, 32 * words[np.maximum(self.feature, 0)], 0)

    def categorical_input(self, x: np.ndarray) -> np.ndarray:
        """X → X': the columns outside the groups, then one category index per group (NaN when none is hot)."""
        if not self.groups:
            return x
        in_group = np.zeros(x.shape[1], dtype=bool)
        indices = []
        for start, size in self.groups:
            in_group[start : start + size] = True
            hot = x[:, start : start + size] > 0.5
            index = np.argmax(hot, axis=1).astype(x.dtype)
            indices.append(np.where(hot.any(axis=1), index, np.nan).astype(x.dtype))
        return np.column_stack([x[:, ~in_group], *indices])

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """The leaf every row reaches in every tree (rows × trees): x ≤ threshold (numeric) or the category's bit
        (categorical) goes left, NaN per node."""
        rows = x.shape[0]
        node = np.broadcast_to(self.roots, (rows, len(self.roots))).copy()
        row = np.arange(rows)[:, None]
        categorical = len(self.cat_bits) > 0
        while True:
            f = self.feature[node]
            inner = f >= 0
            if not inner.any():
                return node
            v = x[row, np.where(inner, f, 0)].astype(np.float64)
            nan = np.isnan(v)
            with np.errstate(invalid="ignore"):
                left = v <= self.threshold[node]
            if categorical:
                span = self.cat_span[node]
                is_cat = span > 0
                with np.errstate(invalid="ignore"):
                    valid = is_cat & ~nan & (v >= 0) & (v < span) & (v == np.floor(v))
                c = np.where(valid, v, 0).astype(np.int64)
                word = self.cat_bits[np.where(valid, self.cat_offset[node] + (c >> 5), 0)]
                in_set = valid & (((word >> (c & 31)) & 1) == 1)
                left = np.where(is_cat, in_set, left)
            left = np.where(nan, self.missing_left[node], left)
            node = np.where(inner, self.left[node] + (~left), node)

    def predict(self, x: np.ndarray) -> np.ndarray:
        leaves = self.leaves(self.categorical_input(x))
        rows, trees = leaves.shape
        if self.objective == "mean":
            sums = np.zeros((rows, self.classes))
            for t in range(trees):  # tree by tree, as TypeScript sums them
                sums += self.value.reshape(-1, self.classes)[leaves[:, t]]
            return (sums / trees if trees > 0 else sums).astype(np.float32)
        width = 1 if self.objective == "logistic" else self.classes
        raw = np.tile(self.base, (rows, 1)).reshape(rows, width)
        for t in range(trees):
            raw[:, self.output[t]] += self.value[leaves[:, t]]
        if self.objective == "logistic":
            return _binary_from_positive(1.0 / (1.0 + np.exp(-raw[:, 0])))
        return _softmax_f32(raw)


class _Knn:
    """k-nearest neighbours (knn.json + knn.bin, src/models/neighbors/), the search reproduced bit for bit."""

    def __init__(self, directory: str):
        header, blob = _read_sections(directory, "knn.json", "knn.bin")
        if header.get("format") != "workbench-knn" or header.get("version", 99) > 1:
            raise WorkbenchModelError(f"{directory}/knn.json: not a version-1 workbench-knn header")
        rows, cols = int(header["rows"]), int(header["cols"])
        self.settings = header["settings"]
        self.mean = np.array(header["mean"], dtype=np.float64)
        self.scale = np.array(header["scale"], dtype=np.float64)
        self.class_weights = np.array(header["classWeights"], dtype=np.float64)
        self.stride = max(4, -(-cols // 4) * 4)
        stored = np.frombuffer(blob, dtype="<f4", count=rows * cols).reshape(rows, cols)
        self.stored = np.zeros((rows, self.stride), dtype=np.float32)
        self.stored[:, :cols] = stored
        self.labels = np.frombuffer(blob, dtype="<i4", count=rows, offset=rows * cols * 4).astype(np.int64)
        self.cols = cols

    def _queries(self, x: np.ndarray) -> np.ndarray:
        v = x.astype(np.float64)
        z = np.where(np.isfinite(v), (v - self.mean) * self.scale, 0.0)
        out = np.zeros((x.shape[0], self.stride), dtype=np.float32)
        out[:, : self.cols] = z
        return out

    def _keys(self, q: np.ndarray) -> np.ndarray:
        """float32 distances as the WebAssembly SIMD kernel sums them: 4 lanes, then (l0 + l1) + (l2 + l3)."""
        manhattan = self.settings["metric"] == "manhattan"
        qs = q.reshape(q.shape[0], 1, -1, 4)
        ss = self.stored.reshape(1, self.stored.shape[0], -1, 4)
        acc = np.zeros((q.shape[0], self.stored.shape[0], 4), dtype=np.float32)
        for t in range(qs.shape[2]):
            diff = qs[:, :, t, :] - ss[:, :, t, :]
            acc += np.abs(diff) if manhattan else diff * diff
        return (acc[:, :, 0] + acc[:, :, 1]) + (acc[:, :, 2] + acc[:, :, 3])

    def predict(self, x: np.ndarray) -> np.ndarray:
        k = int(self.settings["k"])
        classes = len(self.class_weights)
        out = np.zeros((x.shape[0], classes), dtype=np.float32)
        chunk = max(1, 4_000_000 // max(1, self.stored.shape[0] * 4))
        for start in range(0, x.shape[0], chunk):
            q = self._queries(x[start : start + chunk])
            keys = self._keys(q)
            # The k smallest keys, ties to the lower stored index (the search's heap rule).
            order = np.argsort(keys, axis=1, kind="stable")[:, :k]
            out[start : start + len(q)] = self._votes(q, order)
        return out

    def _votes(self, q: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        rows, k = chosen.shape
        manhattan = self.settings["metric"] == "manhattan"
        # Re-measured in float64, summed feature by feature, then ordered by (distance, index).
        exact = np.zeros((rows, k))
        for t in range(self.stride):
            diff = q[:, t : t + 1].astype(np.float64) - self.stored[chosen, t].astype(np.float64)
            exact += np.abs(diff) if manhattan else diff * diff
        if not manhattan:
            exact = np.sqrt(exact)
        order = np.lexsort((chosen, exact), axis=1)
        chosen = np.take_along_axis(chosen, order, axis=1)
        exact = np.take_along_axis(exact, order, axis=1)
        classes = len(self.class_weights)
        distance = self.settings["weights"] == "distance"
        exact_hit = (exact == 0).any(axis=1, keepdims=True) if distance else np.zeros((rows, 1), bool)
        with np.errstate(divide="ignore"):
            w = np.where(exact_hit, (exact == 0).astype(np.float64), 1.0 / exact) if distance else np.ones((rows, k))
        labels = self.labels[chosen]
        votes = np.zeros((rows, classes))
        every = np.arange(rows)
        for j in range(k):
            votes[every, labels[:, j]] += w[:, j] * self.class_weights[labels[:, j]]
        total = np.zeros(rows)
        for c in range(classes):
            total = total + votes[:, c]
        with np.errstate(all="ignore"):
            share = np.where(total[:, None] > 0, votes / total[:, None], 1.0 / classes)
        smoothing = float(self.settings["smoothing"])
        if smoothing != 0:
            share = (k * share + smoothing) / (k + classes * smoothing)
        return share.astype(np.float32)


class _LinearSvm:
    """The linear SVM (linear-svm.json): w·x + b per binary problem, Platt sigmoids, softmax of their logs."""

    def __init__(self, directory: str):
        try:
            with open(os.path.join(directory, "linear-svm.json"), encoding="utf-8") as f:
                model = json.load(f)
        except OSError as error:
            raise WorkbenchModelError(f"{directory}: missing or unreadable linear-svm.json ({error})")
        if model.get("format") != "workbench-linear-svm" or model.get("version", 99) > 1:
            raise WorkbenchModelError(f"{directory}/linear-svm.json: not a version-1 workbench-linear-svm file")
        self.classes = int(model["classes"])
        self.cols = int(model["cols"])
        self.weights = np.array(model["weights"], dtype=np.float64)
        self.platt = [(float(p["a"]), float(p["b"])) for p in model["platt"]]

    def predict(self, x: np.ndarray) -> np.ndarray:
        v = x.astype(np.float64)
        v = np.where(np.isfinite(v), v, 0.0)
        m = len(self.weights)
        f = np.zeros((x.shape[0], m))
        for p in range(m):
            s = np.full(x.shape[0], self.weights[p, self.cols])  # the bias feature is 1
            for j in range(self.cols):  # summed feature by feature, as dcd.ts does
                s = s + self.weights[p, j] * v[:, j]
            f[:, p] = s
        with np.errstate(over="ignore"):
            if self.classes == 2:
                a, b = self.platt[0]
                z = f[:, 0] * a + b
                p1 = np.where(z >= 0, np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))), 1 / (1 + np.exp(np.minimum(z, 0))))
                return _binary_from_positive(p1)
            logs = np.zeros_like(f)
            for c, (a, b) in enumerate(self.platt):
                z = f[:, c] * a + b
                logs[:, c] = np.where(
                    z > 0, -z - np.log1p(np.exp(-np.abs(z))), -np.log1p(np.exp(np.minimum(z, 0)))
                )
        return _softmax_f32(logs)


# --- Text (src/features/text/normalize.ts, tfidf.ts; src/models/text/tfidf-linear-model.ts) -------------------

#: JavaScript's \s (and String.prototype.trim's set): Python's differs (\x1c-\x1f are spaces there, U+FEFF is not).
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_SPACE_CHARS = "".join(
    chr(c)
    for c in [9, 10, 11, 12, 13, 32, 0xA0, 0x1680, *range(0x2000, 0x200B)]
    + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF]
)
# The JavaScript patterns have no u flag: \b and \d are ASCII there.
_MASKED_DATE = re.compile(r"\b(?:XX|\d{1,2})/(?:XX|\d{1,2})/(?:XXXX|XX|\d{4}|\d{2})\b", re.ASCII)
_MASKED_AMOUNT = re.compile(r"\{\$[" + _JS_SPACE + r"]*[0-9,]*(?:\.[0-9]+)?\}")
_MASKED_WORD = re.compile(r"\bX{2,}\b", re.ASCII)
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
# [^\p{L}\p{N}_\s]: Python's \w is letters, digits (all numeric characters) and the underscore.
_PUNCTUATION = re.compile(r"[^\w" + _JS_SPACE + r"]+")
_WHITESPACE = re.compile(r"[" + _JS_SPACE + r"]+")
_WORD = re.compile(r"\w{2,}")


def _normalize_text(text: str, o: dict[str, str | bool]) -> str:
    """normalize.ts normalizeText: CFPB masks, numbers, case, punctuation, whitespace."""
    out = text
    if o["masks"] != "keep":
        token = (lambda name: f" __{name}__ ") if o["masks"] == "token" else (lambda name: " ")
        out = _MASKED_DATE.sub(token("date"), out)
        out = _MASKED_AMOUNT.sub(token("amount"), out)
        out = _MASKED_WORD.sub(token("mask"), out)
    if o["numbers"] == "token":
        out = _NUMBER.sub(" __num__ ", out)
    if o["lowercase"]:
        out = out.lower()
    if o["punctuation"] == "strip":
        out = _PUNCTUATION.sub(" ", out)
    return _WHITESPACE.sub(" ", out).strip(_JS_SPACE_CHARS)


def _word_ngrams(text: str, lo: int, hi: int) -> list[str]:
    tokens = _WORD.findall(text)
    out = list(tokens) if lo == 1 else []
    for i in range(len(tokens)):
        gram = tokens[i]
        for n in range(2, hi + 1):
            if i + n > len(tokens):
                break
            gram = f"{gram} {tokens[i + n - 1]}"
            if n >= lo:
                out.append(gram)
    return out


def _char_wb_ngrams(text: str, lo: int, hi: int) -> list[str]:
    out: list[str] = []
    for word in _WHITESPACE.split(text):
        if word == "":
            continue
        w = f" {word} "
        for n in range(lo, hi + 1):
            offset = 0
            out.append(w[0:n])
            while offset + n < len(w):
                offset += 1
                out.append(w[offset : offset + n])
            if offset == 0:
                break
    return out


class _Tfidf:
    """tfidf.ts TfidfVectorizer.transform: per block, tf (or 1 + ln tf) × idf, l2-normalised; blocks side by side."""

    def __init__(self, state: dict[str, Any]):
        if state.get("format") != "workbench-tfidf" or state.get("version") != 1:
            raise WorkbenchModelError("tfidf.json is not a workbench-tfidf version 1 file")
        self.sublinear = bool(state["sublinearTf"])
        self.blocks = []
        offset = 0
        for b in state["blocks"]:
            columns = {t: offset + i for i, t in enumerate(b["terms"])}
            idf = np.asarray(b["idf"], dtype=np.float64)
            analyze = _word_ngrams if b["analyzer"] == "word" else _char_wb_ngrams
            self.blocks.append((analyze, int(b["ngramRange"][0]), int(b["ngramRange"][1]), columns, idf, offset))
            offset += len(b["terms"])
        self.size = offset

    def rows(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text: its column indices (ascending) and values (float32, as the CSR matrix stores them)."""
        out = []
        for text in texts:
            indices: list[np.ndarray] = []
            values: list[np.ndarray] = []
            for analyze, lo, hi, columns, idf, offset in self.blocks:
                counts: dict[int, int] = {}
                for term in analyze(text, lo, hi):
                    c = columns.get(term)
                    if c is not None:
                        counts[c] = counts.get(c, 0) + 1
                cols = np.array(sorted(counts), dtype=np.int64)
                tf = np.array([counts[c] for c in cols.tolist()], dtype=np.float64)
                v = (1 + np.log(tf) if self.sublinear else tf) * idf[cols - offset]
                norm = math.sqrt(float(np.sum(v * v))) if len(v) else 0.0
                indices.append(cols)
                values.append((v / norm).astype(np.float32) if len(v) else v.astype(np.float32))
            out.append((np.concatenate(indices), np.concatenate(values)))
        return out


class _TfidfLinear:
    """tfidf-linear-model.ts: decision values w·x + b over the TF-IDF columns (dense features after them), then
    softmax (loss softmax) or softmax(T · class scores) (the one-vs-rest SVMs)."""

    def __init__(self, directory: str, classes: int):
        self.tfidf = _Tfidf(_read_json(directory, "tfidf.json"))
        model = _read_json(directory, "tfidf-linear.json")
        if model.get("format") != "workbench-tfidf-linear" or int(model.get("version", 0)) > 1:
            raise WorkbenchModelError("tfidf-linear.json is not a workbench-tfidf-linear version 1 file")
        self.loss = model["settings"]["loss"]
        self.classes = classes
        self.cols = int(model["cols"])
        self.weights = np.asarray(model["weights"], dtype=np.float64)  # outputs × (cols + 1), bias last
        self.temperature = float(model["temperature"])
        if self.weights.shape[1] != self.cols + 1 or self.cols < self.tfidf.size:
            raise WorkbenchModelError("tfidf-linear.json does not fit tfidf.json's vocabulary")

    def predict(self, texts: list[str], dense: np.ndarray) -> np.ndarray:
        rows = len(texts)
        m = self.weights.shape[0]
        decisions = np.empty((rows, m), dtype=np.float64)
        bias = self.weights[:, self.cols]
        for r, (idx, val) in enumerate(self.tfidf.rows(texts)):
            if dense.shape[1] > 0:
                d = dense[r]
                keep = np.flatnonzero((d != 0) & np.isfinite(d))
                idx = np.concatenate([idx, self.tfidf.size + keep])
                val = np.concatenate([val, d[keep].astype(np.float32)])
            decisions[r] = bias + self.weights[:, idx] @ val.astype(np.float64)
        if self.loss == "softmax":
            z = decisions - decisions.max(axis=1, keepdims=True)
            e = np.exp(z)
            return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        scores = decisions if m == self.classes else np.column_stack([np.zeros(rows), decisions[:, 0]])
        t = scores * self.temperature
        e = np.exp(t - t.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _read_json(directory: str, name: str) -> dict[str, Any]:
    try:
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise WorkbenchModelError(f"{name} is missing or unreadable ({error})")


def _read_texts(frame: pd.DataFrame, inputs: list[dict[str, Any]], names: list[str]) -> dict[str, list[str]]:
    """Text columns as serving/input.ts reads them (the text rule of model-meta.json; MLflow's schema enforcement
    has already made numbers in a string column text)."""
    problems: list[str] = []
    out: dict[str, list[str]] = {}
    for column in inputs:
        name = column["name"]
        if name not in names:
            continue
        rule = column.get("text") or {"maxLength": 20000, "overLength": "truncate"}
        required = bool(column["required"])
        values = frame[name].tolist() if name in frame.columns else [None] * len(frame)
        if name not in frame.columns and required:
            problems.append(f"column '{name}' is missing (required)")
        texts = []
        for r, value in enumerate(values):
            if _is_missing(value) or (isinstance(value, str) and value.strip(_JS_SPACE_CHARS) == ""):
                texts.append("")
                if required and name in frame.columns:
                    problems.append(
                        f"row {r}, '{name}': no text (empty, whitespace only or missing; the column is not nullable)"
                    )
            elif not isinstance(value, str):
                texts.append("")
                problems.append(f"row {r}, '{name}': expected a text (a string), got {type(value).__name__}")
            else:
                # maxLength counts UTF-16 code units, as JavaScript's length does.
                units = value.encode("utf-16-le", "surrogatepass")
                limit = int(rule["maxLength"])
                if len(units) // 2 <= limit:
                    texts.append(value)
                elif rule["overLength"] == "reject":
                    texts.append("")
                    problems.append(f"row {r}, '{name}': {len(units) // 2} characters, more than its maxLength {limit}")
                else:
                    texts.append(units[: 2 * limit].decode("utf-16-le", "surrogatepass"))
        out[name] = texts
    if problems:
        raise WorkbenchInputError(problems)
    return out


def _load_kind(kind: str, directory: str, classes: int):
    if kind == "tfidf-linear":
        return _TfidfLinear(directory, classes)
    if kind in ("logistic", "mlp"):
        return _Network(directory, classes)
    if kind in ("gbdt", "random-forest", "decision-tree"):
        return _Trees(directory)
    if kind == "knn":
        return _Knn(directory)
    if kind == "linear-svm":
        return _LinearSvm(directory)
    raise WorkbenchModelError(
        f"the package holds a model of kind '{kind}', which this loader does not know "
        "(known: logistic, mlp, gbdt, random-forest, decision-tree, knn, linear-svm, tfidf-linear)"
    )


# --- The pyfunc model ----------------------------------------------------------------------------------------


class WorkbenchModel:
    """A loaded workbench package: ``predict(DataFrame)`` → label and class probabilities."""

    def __init__(self, path: str):
        try:
            with open(os.path.join(path, "model-meta.json"), encoding="utf-8") as f:
                self.meta = json.load(f)
            with open(os.path.join(path, "preprocessor.json"), encoding="utf-8") as f:
                self.preprocessor = json.load(f)
        except OSError as error:
            raise WorkbenchModelError(f"{path} is not a workbench model package ({error})")
        version = self.meta.get("formatVersion")
        if version not in MODEL_DIRS:
            raise WorkbenchModelError(
                f"{path} is a format {version} model package; this loader reads formats 1 to {max(MODEL_DIRS)}"
            )
        self.classes: list[str] = list(self.meta["classes"])
        self.inputs: list[dict[str, Any]] = list(self.meta["inputs"])
        self.threshold: float | None = self.meta.get("threshold")
        self.model = _load_kind(self.meta["kind"], os.path.join(path, MODEL_DIRS[version]), len(self.classes))
        self._categorical = {s["name"] for s in self.preprocessor["categorical"]}
        self._text = list(self.preprocessor.get("text") or [])
        names = [t["name"] for t in self._text]
        self._text_inputs = [c["name"] for c in self.inputs if c.get("text") is not None or c["name"] in names]

    def predict_proba(self, model_input: Any) -> np.ndarray:
        """Class probabilities (rows × classes, float32) of raw input rows."""
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        dense_inputs = [c for c in self.inputs if c["name"] not in self._text_inputs]
        rows, numeric, categorical = _read_columns(frame, dense_inputs, self._categorical)
        x = transform(self.preprocessor, _Table(len(frame), numeric, categorical))
        if not self._text:
            return self.model.predict(x)
        raw = _read_texts(frame, self.inputs, self._text_inputs)
        columns = [[_normalize_text(t, step["normalize"]) for t in raw[step["name"]]] for step in self._text]
        texts = columns[0] if len(columns) == 1 else ["\n".join(parts) for parts in zip(*columns, strict=True)]
        return self.model.predict(texts, x)

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """``label`` and ``probability_<class>`` per row, as the workbench's /invocations answers."""
        p = self.predict_proba(model_input)
        if len(self.classes) == 2 and self.threshold is not None:
            index = (p[:, 1].astype(np.float64) >= self.threshold).astype(np.int64)
        else:
            index = np.argmax(p, axis=1)  # the first of equal maxima, as in TypeScript
        out = pd.DataFrame({"label": [self.classes[i] for i in index]})
        for c, name in enumerate(self.classes):
            out[f"probability_{name}"] = p[:, c].astype(np.float64)
        return out


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> WorkbenchModel:
    """MLflow's entry point: ``path`` is the model package directory."""
    return WorkbenchModel(path)
