"""Peer of bench/tracking.ts: the same tracking workload through MLflow's own Python client.

Usage:
    MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python bench/peers/tracking_peer.py \
        --mode per-point|batch --experiment NAME --artifact PATH [--repeats N] [--no-warmup]

Workload per repeat, in a fresh run: 100 params, 50 tags, 10,000 metric points (10 keys x 1000 steps,
deterministic values, fixed timestamps), one artifact (the file given with --artifact), then termination.
  per-point: log_param / set_tag / log_metric, one call (one request) per item.
  batch:     one client.log_batch(...) call with every metric, param and tag (the client chunks it).

Prints one JSON line per repeat on stdout and nothing else. Seconds are wall-clock (perf_counter):
  wall_s        run creation .. termination, artifact included
  log_s         params + tags + metrics
  metrics_s     the metric-logging part (batch mode: the single log_batch call, params and tags included)
  params_tags_s params and tags alone (per-point mode; 0 in batch mode, where they ride in log_batch)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

# set_terminated would otherwise fetch the run again and print "View run ..." to stdout: keep stdout for
# JSON and spare the peer that extra request.
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402

N_KEYS = 10
N_STEPS = 1000
N_PARAMS = 100
N_TAGS = 50
BASE_TIMESTAMP_MS = 1_700_000_000_000


def workload():
    """The workload shared with bench/tracking.ts (keep the two in step)."""
    params = [(f"param_{i:03d}", f"value-{i}") for i in range(N_PARAMS)]
    tags = [(f"tag_{i:03d}", f"tag-value-{i}") for i in range(N_TAGS)]
    metrics = [
        (f"metric_{k}", k + step / 1000, BASE_TIMESTAMP_MS + step, step)
        for step in range(N_STEPS)
        for k in range(N_KEYS)
    ]
    return params, tags, metrics


def one_repeat(client: MlflowClient, experiment_id: str, mode: str, artifact: str, run_name: str) -> dict:
    params, tags, metrics = workload()
    if mode == "batch":
        # Entities are built before the clock starts, like the TS side builds its arrays beforehand.
        metric_entities = [Metric(key, value, ts, step) for key, value, ts, step in metrics]
        param_entities = [Param(key, value) for key, value in params]
        tag_entities = [RunTag(key, value) for key, value in tags]

    t0 = time.perf_counter()
    run = client.create_run(experiment_id, run_name=run_name)
    run_id = run.info.run_id
    t1 = time.perf_counter()
    if mode == "per-point":
        for key, value in params:
            client.log_param(run_id, key, value)
        for key, value in tags:
            client.set_tag(run_id, key, value)
        t2 = time.perf_counter()
        for key, value, ts, step in metrics:
            client.log_metric(run_id, key, value, timestamp=ts, step=step)
    else:
        t2 = time.perf_counter()
        client.log_batch(run_id, metrics=metric_entities, params=param_entities, tags=tag_entities)
    t3 = time.perf_counter()
    client.log_artifact(run_id, artifact)
    t4 = time.perf_counter()
    client.set_terminated(run_id)
    t5 = time.perf_counter()
    return {
        "run_id": run_id,
        "wall_s": t5 - t0,
        "create_s": t1 - t0,
        "params_tags_s": t2 - t1,
        "metrics_s": t3 - t2 if mode == "per-point" else t3 - t1,
        "log_s": t3 - t1,
        "artifact_s": t4 - t3,
        "end_s": t5 - t4,
        "points": len(metrics),
    }


def warm_up(client: MlflowClient, experiment_id: str) -> None:
    """Exercises every call once, untimed, so lazy imports and the HTTP session are not measured."""
    run_id = client.create_run(experiment_id, run_name="warmup").info.run_id
    client.log_param(run_id, "warmup", "1")
    client.set_tag(run_id, "warmup", "1")
    client.log_metric(run_id, "warmup", 1.0, timestamp=BASE_TIMESTAMP_MS, step=0)
    client.log_batch(
        run_id,
        metrics=[Metric("warmup_batch", 1.0, BASE_TIMESTAMP_MS, 0)],
        params=[Param("warmup_batch", "1")],
        tags=[RunTag("warmup_batch", "1")],
    )
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "warmup.bin")
        with open(small, "wb") as f:
            f.write(b"\0" * 1024)
        client.log_artifact(run_id, small)
    client.set_terminated(run_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["per-point", "batch"], required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args()
    # Whatever MLflow itself prints goes to stderr; stdout carries the JSON lines only.
    json_out, sys.stdout = sys.stdout, sys.stderr
    if not args.tracking_uri:
        parser.error("set MLFLOW_TRACKING_URI or pass --tracking-uri")

    client = MlflowClient(tracking_uri=args.tracking_uri)
    experiment = client.get_experiment_by_name(args.experiment)
    experiment_id = (
        experiment.experiment_id if experiment is not None else client.create_experiment(args.experiment)
    )
    if not args.no_warmup:
        warm_up(client, experiment_id)
    variant = "python-per-point" if args.mode == "per-point" else "python-log-batch"
    for repeat in range(args.repeats):
        result = one_repeat(client, experiment_id, args.mode, args.artifact, f"{variant}-{repeat}")
        print(json.dumps({"variant": variant, "repeat": repeat, **result}), file=json_out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
