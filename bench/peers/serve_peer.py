"""Peer of bench/serve.ts: a credit-default (or complaints text) scoring API as the Python systems this project
replaces built it.

FastAPI + pydantic + uvicorn serving a scikit-learn model trained at startup on the CSV that bench/serve.ts
writes (the raw train rows of the same split our model was trained on).

Usage:
    python bench/peers/serve_peer.py --train TRAIN.csv --target COLUMN [--host 127.0.0.1] [--port 8000]
        [--model hgb|logistic] [--handler async|def] [--access-log] [--seed 42]
    python bench/peers/serve_peer.py --train TRAIN.csv --target COLUMN --text-column NAME
        [--model tfidf-logistic|tfidf-linearsvc] [--max-length 20000] ...

Text mode (--text-column, the complaints system's recipe): TRAIN.csv holds the text column and the target.
Each record is {NAME: str}, validated by pydantic (a string; empty or whitespace-only refused with 422; longer
than --max-length cut to it, as our manifest's `overLength: truncate`), and scored by a Pipeline of
TfidfVectorizer (word 1-2-grams, sublinear tf, min_df 2, scikit-learn's default lowercasing and token pattern)
and LogisticRegression (`tfidf-logistic`, the default: it has predict_proba) or LinearSVC calibrated with
CalibratedClassifierCV (`tfidf-linearsvc`). Answers {"predictions": [{"label", "probability_<class>", ...}]}.

TRAIN.csv: the 23 credit-default feature columns (numbers; the categorical ones as their integer codes) and
the target column (class labels, e.g. 0/1).

Routes
  POST /invocations  MLflow's scoring protocol, records form: {"dataframe_records": [{column: value}, ...]}
                     -> {"predictions": [{"label", "probability_0", "probability_1"}, ...]}.
                     Every record is validated by a pydantic model (types, ranges, no unknown or missing
                     field): 422 with FastAPI's error list otherwise.
  GET  /health       200 once the model is fitted; says what serves (model, versions, event loop, parser).

Model (a Pipeline, preprocessing included, scored on a numpy array built from the validated records):
  hgb       ordinal-encoded categoricals as native categorical features + raw numerics,
            HistGradientBoostingClassifier (defaults, random_state=--seed) — the default: the best
            scikit-learn model on this data in bench/train.ts (ROC AUC 0.788 vs our MLP's 0.793)
  logistic  one-hot categoricals + standard-scaled numerics, LogisticRegression
The label is the arg-max class (threshold 0.5); the probabilities are predict_proba's.

Serving choices, each the peer's best on the bench's 2-core machine (1-row req/s, 16 connections):
  - one uvicorn worker process: our service is one Node process, so both sides get one process; a second
    worker would only contend for the same 2 cores with the load generator.
  - `--handler async` (default) scores in the event loop; `def` runs it in FastAPI's thread pool (the other
    idiomatic way): on CPU-bound scoring the thread hop only adds cost (222 vs 131 req/s).
  - OpenMP threads come from the environment: bench/serve.ts sets OMP_NUM_THREADS=1 by default
    (--peer-threads); 2 threads fight the load generator for the second core (164 vs 222 req/s).
  - uvicorn picks uvloop and httptools when they are installed ("uvicorn[standard]"), asyncio and h11
    otherwise; /health reports which. With them: 227 vs 222 req/s (the model's ~4.5 ms per call dominates).
  - no access log by default (our service runs without request logs too); `--access-log` turns it on.

stdout stays empty; logs go to stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import time
from operator import attrgetter
from typing import Annotated

import fastapi
import numpy as np
import pandas as pd
import pydantic
import sklearn
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from pydantic import field_validator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.svm import LinearSVC

log = logging.getLogger("serve_peer")

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Amount = Annotated[float, Field(allow_inf_nan=False)]
Repayment = Annotated[int, Field(ge=-2, le=9)]


class CreditRecord(BaseModel):
    """One client, as the credit-default dataset (UCI 350) describes it; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    LIMIT_BAL: NonNegative
    SEX: Annotated[int, Field(ge=1, le=2)]
    EDUCATION: Annotated[int, Field(ge=0, le=6)]
    MARRIAGE: Annotated[int, Field(ge=0, le=3)]
    AGE: Annotated[int, Field(ge=18, le=120)]
    PAY_0: Repayment
    PAY_2: Repayment
    PAY_3: Repayment
    PAY_4: Repayment
    PAY_5: Repayment
    PAY_6: Repayment
    BILL_AMT1: Amount
    BILL_AMT2: Amount
    BILL_AMT3: Amount
    BILL_AMT4: Amount
    BILL_AMT5: Amount
    BILL_AMT6: Amount
    PAY_AMT1: NonNegative
    PAY_AMT2: NonNegative
    PAY_AMT3: NonNegative
    PAY_AMT4: NonNegative
    PAY_AMT5: NonNegative
    PAY_AMT6: NonNegative


class InvocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataframe_records: list[CreditRecord] = Field(min_length=1, max_length=10_000)


class Prediction(BaseModel):
    label: str
    probability_0: float
    probability_1: float


class InvocationResponse(BaseModel):
    predictions: list[Prediction]


FIELDS = list(CreditRecord.model_fields)
CATEGORICAL = ["SEX", "EDUCATION", "MARRIAGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]
NUMERIC = [f for f in FIELDS if f not in CATEGORICAL]
CATEGORICAL_INDEX = [FIELDS.index(c) for c in CATEGORICAL]
NUMERIC_INDEX = [FIELDS.index(c) for c in NUMERIC]
row_values = attrgetter(*FIELDS)


def build_model(kind: str, seed: int) -> Pipeline:
    if kind == "hgb":
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
        prep = ColumnTransformer(
            [("categorical", encoder, CATEGORICAL_INDEX), ("numeric", "passthrough", NUMERIC_INDEX)]
        )
        # Categorical columns come first out of the ColumnTransformer.
        mask = [True] * len(CATEGORICAL) + [False] * len(NUMERIC)
        model = HistGradientBoostingClassifier(categorical_features=mask, random_state=seed)
        return Pipeline([("prep", prep), ("model", model)])
    prep = ColumnTransformer(
        [
            ("numeric", StandardScaler(), NUMERIC_INDEX),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                CATEGORICAL_INDEX,
            ),
        ]
    )
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=5000, random_state=seed))])


def fit(train_csv: str, target: str, kind: str, seed: int) -> tuple[Pipeline, list[str], dict]:
    frame = pd.read_csv(train_csv, dtype={target: str})
    missing = [f for f in FIELDS if f not in frame.columns]
    if missing:
        raise SystemExit(f"{train_csv}: columns {missing} are missing (credit-default's schema)")
    x = frame[FIELDS].to_numpy(dtype=np.float64)
    classes = sorted(frame[target].unique().tolist(), key=lambda c: (len(c), c))
    if len(classes) != 2:
        raise SystemExit(f"{train_csv}: expected 2 classes in '{target}', got {classes}")
    y = frame[target].map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=np.int64)
    started = time.perf_counter()
    model = build_model(kind, seed).fit(x, y)
    info = {
        "model": f"sklearn-{kind}",
        "fit_rows": int(len(frame)),
        "fit_s": round(time.perf_counter() - started, 3),
    }
    if kind == "hgb":
        info["n_iter"] = int(model.named_steps["model"].n_iter_)
    return model, classes, info


# --- text mode --------------------------------------------------------------------------------------------------


def build_text_model(kind: str, seed: int) -> Pipeline:
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32)
    if kind == "tfidf-logistic":
        model = LogisticRegression(max_iter=2000, C=10.0, random_state=seed)
    else:
        model = CalibratedClassifierCV(LinearSVC(C=0.5, random_state=seed), cv=3)
    return Pipeline([("tfidf", vectorizer), ("model", model)])


def fit_text(train_csv: str, target: str, column: str, kind: str, seed: int) -> tuple[Pipeline, list[str], dict]:
    frame = pd.read_csv(train_csv, dtype=str, keep_default_na=False)
    if column not in frame.columns or target not in frame.columns:
        raise SystemExit(f"{train_csv}: expected the columns '{column}' and '{target}'")
    started = time.perf_counter()
    model = build_text_model(kind, seed).fit(frame[column].tolist(), frame[target].tolist())
    classes = [str(c) for c in model.classes_]
    info = {
        "model": f"sklearn-{kind}",
        "fit_rows": int(len(frame)),
        "fit_s": round(time.perf_counter() - started, 3),
        "vocabulary": len(model.named_steps["tfidf"].vocabulary_),
    }
    return model, classes, info


def create_text_app(
    model: Pipeline, classes: list[str], info: dict, handler: str, column: str, max_length: int
) -> FastAPI:
    app = FastAPI(title="complaints text scoring (scikit-learn peer)")
    labels = np.array(classes, dtype=object)
    keys = [f"probability_{c}" for c in classes]

    class TextRecord(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True)

        text: str = Field(alias=column)

        @field_validator("text")
        @classmethod
        def not_blank(cls, value: str) -> str:
            if value.strip() == "":
                raise ValueError("the text is empty or whitespace only")
            return value[:max_length]

    class TextRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")

        dataframe_records: list[TextRecord] = Field(min_length=1, max_length=10_000)

    class TextResponse(BaseModel):
        predictions: list[dict[str, str | float]]

    def score(body: TextRequest) -> TextResponse:
        probabilities = model.predict_proba([r.text for r in body.dataframe_records])
        best = labels[probabilities.argmax(axis=1)]
        return TextResponse(
            predictions=[
                {"label": label, **dict(zip(keys, p, strict=True))}
                for label, p in zip(best, probabilities.tolist(), strict=True)
            ]
        )

    async def invocations_async(body: TextRequest) -> TextResponse:
        return score(body)

    def invocations_def(body: TextRequest) -> TextResponse:
        return score(body)

    invocations = invocations_async if handler == "async" else invocations_def
    # The request model is built here (its field is named by --text-column): with postponed annotations FastAPI
    # would look "TextRequest" up in the module and take the body for a query parameter.
    invocations.__annotations__ = {"body": TextRequest, "return": TextResponse}
    app.post("/invocations", response_model=TextResponse)(invocations)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", **info}

    return app


def create_app(model: Pipeline, classes: list[str], info: dict, handler: str) -> FastAPI:
    app = FastAPI(title="credit-default scoring (scikit-learn peer)")
    labels = np.array(classes, dtype=object)

    def score(body: InvocationRequest) -> InvocationResponse:
        x = np.array([row_values(r) for r in body.dataframe_records], dtype=np.float64)
        probabilities = model.predict_proba(x)
        best = labels[probabilities.argmax(axis=1)]
        return InvocationResponse(
            predictions=[
                Prediction(label=label, probability_0=p0, probability_1=p1)
                for label, (p0, p1) in zip(best, probabilities.tolist(), strict=True)
            ]
        )

    if handler == "async":

        @app.post("/invocations", response_model=InvocationResponse)
        async def invocations(body: InvocationRequest) -> InvocationResponse:
            return score(body)

    else:

        @app.post("/invocations", response_model=InvocationResponse)
        def invocations(body: InvocationRequest) -> InvocationResponse:
            return score(body)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", **info}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--model", choices=["hgb", "logistic", "tfidf-logistic", "tfidf-linearsvc"], default=None
    )
    parser.add_argument("--text-column", default=None, help="text mode: the column holding the text")
    parser.add_argument("--max-length", type=int, default=20_000, help="text mode: longer texts are cut")
    parser.add_argument("--handler", choices=["async", "def"], default="async")
    parser.add_argument("--access-log", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="[serve_peer] %(message)s")

    text = args.text_column is not None
    kind = args.model or ("tfidf-logistic" if text else "hgb")
    if text != kind.startswith("tfidf-"):
        raise SystemExit(f"--model {kind} does not fit {'text' if text else 'tabular'} mode")
    if text:
        model, classes, info = fit_text(args.train, args.target, args.text_column, kind, args.seed)
    else:
        model, classes, info = fit(args.train, args.target, kind, args.seed)
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    info.update(
        {
            "handler": args.handler,
            "workers": 1,
            "loop": loop,
            "http": http,
            "versions": {
                "python": sys.version.split()[0],
                "sklearn": sklearn.__version__,
                "fastapi": fastapi.__version__,
                "pydantic": pydantic.VERSION,
                "uvicorn": uvicorn.__version__,
            },
        }
    )
    log.info(
        "fitted %s on %d rows in %.2f s; serving on %s:%d (%s, %s)",
        *(info["model"], info["fit_rows"], info["fit_s"], args.host, args.port, loop, http),
    )
    app = (
        create_text_app(model, classes, info, args.handler, args.text_column, args.max_length)
        if text
        else create_app(model, classes, info, args.handler)
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        loop="auto",
        http="auto",
        # uvicorn's access log is at INFO: the level follows --access-log.
        log_level="info" if args.access_log else "warning",
        access_log=args.access_log,
    )


if __name__ == "__main__":
    main()
