// `npm run bench:tracking [-- --repeats 3 --concurrency 4 --workers 2]`
//
// One workload — 10,000 metric points over 10 keys with steps, 100 params, 50 tags, one 10 MB artifact —
// sent to one throwaway local MLflow server through
//   (a) ts-client         this repo's MlflowClient: one runs.logBatch call + artifacts.uploadFile
//   (b) python-per-point  MLflow's Python client, log_param / set_tag / log_metric once per item
//   (c) python-log-batch  MLflow's Python client, one log_batch call (it chunks itself)
// Every variant creates a fresh run, logs, uploads and terminates it; variants are interleaved round by
// round against the same server. Each client is warmed up once (untimed) in its process.
//
// stdout: JSON lines only — one per variant (medians over the repeats), the ratios (peer / ts-client,
// >1 means ours is faster) and the goal check. Progress goes to stderr.
//   wall_s     run creation .. termination, artifact included
//   metrics_s  the metric-logging part: for ts-client and python-log-batch the one batch call (which also
//              carries the 150 params and tags), for python-per-point the log_metric loop alone
//   points_per_s           10,000 / metrics_s median
//   workload_points_per_s  10,000 / wall_s median (whole workload, artifact included)
//
// python-per-point sends ~10,150 requests per repeat: against a `--workers 2` server that is ~10 minutes a
// repeat on Linux, because uvicorn's multi-worker mode leaves Nagle on and every keep-alive request waits
// ~40 ms for a delayed ACK (Kludex/uvicorn#3149). `--variants ts-client,python-log-batch` skips it.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { projectRoot, venvExecutable } from "../src/shared/project.js";
import type { MetricPoint } from "../src/tracking/batch.js";
import { MlflowClient } from "../src/tracking/client.js";
import { type LocalServer, startLocalServer } from "../src/tracking/local-server.js";
import { collectStdout, integerFlag, median, progressLogger, round1, round3 } from "./lib.js";

const N_KEYS = 10;
const N_STEPS = 1000;
const N_PARAMS = 100;
const N_TAGS = 50;
const POINTS = N_KEYS * N_STEPS;
const BASE_TIMESTAMP_MS = 1_700_000_000_000;
const ARTIFACT_BYTES = 10 * 1024 * 1024;
const ARTIFACT_NAME = "payload.bin";

type Variant = "ts-client" | "python-per-point" | "python-log-batch";
const VARIANTS: readonly Variant[] = ["ts-client", "python-log-batch", "python-per-point"];

interface RepeatResult {
  run_id: string;
  wall_s: number;
  create_s: number;
  log_s: number;
  metrics_s: number;
  artifact_s: number;
  end_s: number;
}

const { values } = parseArgs({
  options: {
    repeats: { type: "string", default: "3" },
    /** The client's `concurrency` option (parallel metric-only log-batch chunks); default: the client's. */
    concurrency: { type: "string" },
    workers: { type: "string", default: "2" },
    /** Comma-separated subset of the variants, e.g. "ts-client,python-log-batch". */
    variants: { type: "string", default: VARIANTS.join(",") },
  },
});

const repeats = integerFlag("repeats", values.repeats);
const workers = integerFlag("workers", values.workers);
const concurrency =
  values.concurrency === undefined ? undefined : integerFlag("concurrency", values.concurrency);
const variants = values.variants.split(",").map((v) => v.trim()) as Variant[];
for (const v of variants) if (!VARIANTS.includes(v)) throw new Error(`Unknown variant '${v}'.`);

const progress = progressLogger("bench:tracking");

/** The workload shared with bench/peers/tracking_peer.py (keep the two in step). */
function workload() {
  const params: Record<string, string> = {};
  for (let i = 0; i < N_PARAMS; i++) params[`param_${String(i).padStart(3, "0")}`] = `value-${i}`;
  const tags: Record<string, string> = {};
  for (let i = 0; i < N_TAGS; i++) tags[`tag_${String(i).padStart(3, "0")}`] = `tag-value-${i}`;
  const metrics: MetricPoint[] = [];
  for (let step = 0; step < N_STEPS; step++) {
    for (let k = 0; k < N_KEYS; k++) {
      metrics.push({ key: `metric_${k}`, value: k + step / 1000, step, timestamp: BASE_TIMESTAMP_MS + step });
    }
  }
  return { params, tags, metrics };
}

async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  const chunk = 1024 * 1024;
  for (let written = 0; written < bytes; written += chunk) {
    if (!out.write(randomBytes(Math.min(chunk, bytes - written)))) {
      await new Promise<void>((resolve) => out.once("drain", resolve));
    }
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

/** Exercises every call once, untimed, as the Python peer does. */
async function warmUpTs(client: MlflowClient, experimentId: string, smallFile: string): Promise<void> {
  const run = await client.runs.create({ experimentId, runName: "warmup" });
  const runId = run.info.runId;
  await client.runs.logParam(runId, "warmup", "1");
  await client.runs.setTag(runId, "warmup", "1");
  await client.runs.logMetric(runId, "warmup", 1, { step: 0, timestamp: BASE_TIMESTAMP_MS });
  await client.runs.logBatch(runId, {
    metrics: [{ key: "warmup_batch", value: 1, step: 0, timestamp: BASE_TIMESTAMP_MS }],
    params: { warmup_batch: "1" },
    tags: { warmup_batch: "1" },
  });
  await client.artifacts.uploadFile(run.info.artifactUri, smallFile);
  await client.runs.end(runId);
}

async function repeatTs(client: MlflowClient, experimentId: string, artifact: string, runName: string) {
  const { params, tags, metrics } = workload(); // built before the clock starts, as in the peer
  const t0 = performance.now();
  const run = await client.runs.create({ experimentId, runName });
  const runId = run.info.runId;
  const t1 = performance.now();
  await client.runs.logBatch(runId, { metrics, params, tags });
  const t2 = performance.now();
  await client.artifacts.uploadFile(run.info.artifactUri, artifact);
  const t3 = performance.now();
  await client.runs.end(runId);
  const t4 = performance.now();
  const s = (ms: number) => ms / 1000;
  return {
    run_id: runId,
    wall_s: s(t4 - t0),
    create_s: s(t1 - t0),
    log_s: s(t2 - t1),
    metrics_s: s(t2 - t1),
    artifact_s: s(t3 - t2),
    end_s: s(t4 - t3),
  } satisfies RepeatResult;
}

/** Runs the Python peer once (`--repeats 1`) and returns its JSON lines. */
async function repeatPython(
  mode: "per-point" | "batch",
  uri: string,
  experiment: string,
  artifact: string,
): Promise<RepeatResult[]> {
  const peer = path.join(path.dirname(fileURLToPath(import.meta.url)), "peers", "tracking_peer.py");
  const args = [peer, "--mode", mode, "--experiment", experiment, "--artifact", artifact, "--repeats", "1"];
  const child = spawn(venvExecutable("python"), args, {
    cwd: projectRoot(),
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, MLFLOW_TRACKING_URI: uri, MLFLOW_DISABLE_TELEMETRY: "true", DO_NOT_TRACK: "true" },
  });
  const { code, stdout } = await collectStdout(child);
  if (code !== 0) throw new Error(`tracking_peer.py --mode ${mode} exited with code ${code}`);
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as RepeatResult);
}

/** Checks that a run holds the whole workload, so that no variant is timed doing less. */
async function verifyRun(client: MlflowClient, runId: string, variant: Variant): Promise<void> {
  const run = await client.runs.get(runId);
  const problems: string[] = [];
  const params = Object.keys(run.data.params).filter((k) => k.startsWith("param_")).length;
  const tags = Object.keys(run.data.tags).filter((k) => k.startsWith("tag_")).length;
  if (params !== N_PARAMS) problems.push(`${params} params`);
  if (tags !== N_TAGS) problems.push(`${tags} tags`);
  if (run.data.metrics.length !== N_KEYS) problems.push(`${run.data.metrics.length} metric keys`);
  if (run.info.status !== "FINISHED") problems.push(`status ${run.info.status}`);
  let points = 0;
  for await (const _ of client.runs.metricHistory(runId, `metric_${N_KEYS - 1}`)) points++;
  if (points !== N_STEPS) problems.push(`${points} points of metric_${N_KEYS - 1}`);
  const files = await client.artifacts.list(run.info.artifactUri);
  const payload = files.find((f) => f.path === ARTIFACT_NAME);
  if (payload?.fileSize !== ARTIFACT_BYTES) problems.push(`artifact size ${payload?.fileSize}`);
  if (problems.length > 0) throw new Error(`${variant} run ${runId} is incomplete: ${problems.join(", ")}`);
}

let server: LocalServer | undefined;
let tempDir: string | undefined;
let cleanedUp: Promise<void> | undefined;
const cleanup = () => {
  cleanedUp ??= (async () => {
    await server?.stop();
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
  })();
  return cleanedUp;
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping the server`);
    void cleanup().finally(() => process.exit(130));
  });
}

let client: MlflowClient | undefined;
try {
  tempDir = await mkdtemp(path.join(os.tmpdir(), "bench-tracking-"));
  const artifact = path.join(tempDir, ARTIFACT_NAME);
  const smallFile = path.join(tempDir, "warmup.bin");
  await writeRandomFile(artifact, ARTIFACT_BYTES);
  await writeRandomFile(smallFile, 1024);

  progress(`starting mlflow server (workers ${workers})`);
  server = await startLocalServer({
    storeDir: path.join(tempDir, "store"),
    port: 0,
    workers,
    env: { MLFLOW_DISABLE_TELEMETRY: "true", DO_NOT_TRACK: "true" },
  });
  progress(`server ${server.uri}, store ${server.storeDir}`);
  client = new MlflowClient({
    trackingUri: server.uri,
    env: {},
    ...(concurrency === undefined ? {} : { concurrency }),
  });
  const tsExperiment = await client.experiments.getOrCreate("bench-ts-client");
  if (variants.includes("ts-client")) await warmUpTs(client, tsExperiment, smallFile);

  const results = new Map<Variant, RepeatResult[]>(variants.map((v) => [v, []]));
  for (let round = 0; round < repeats; round++) {
    for (const variant of variants) {
      progress(`round ${round + 1}/${repeats} ${variant}: running`);
      let result: RepeatResult;
      if (variant === "ts-client") {
        result = await repeatTs(client, tsExperiment, artifact, `ts-client-${round}`);
      } else {
        const mode = variant === "python-per-point" ? "per-point" : "batch";
        const lines = await repeatPython(mode, server.uri, `bench-${variant}`, artifact);
        if (lines.length !== 1) throw new Error(`${variant}: expected 1 JSON line, got ${lines.length}`);
        result = lines[0]!;
      }
      await verifyRun(client, result.run_id, variant);
      results.get(variant)!.push(result);
      progress(
        `round ${round + 1}/${repeats} ${variant}: wall ${result.wall_s.toFixed(3)} s, metrics ${result.metrics_s.toFixed(3)} s, artifact ${result.artifact_s.toFixed(3)} s`,
      );
    }
  }

  const summary = new Map<Variant, { wall: number; metrics: number }>();
  for (const variant of variants) {
    const rs = results.get(variant)!;
    const wall = median(rs.map((r) => r.wall_s));
    const metrics = median(rs.map((r) => r.metrics_s));
    summary.set(variant, { wall, metrics });
    console.log(
      JSON.stringify({
        bench: "tracking",
        variant,
        repeats,
        ...(variant === "ts-client" ? { concurrency: concurrency ?? "default" } : {}),
        wall_s_median: round3(wall),
        wall_s_all: rs.map((r) => round3(r.wall_s)),
        metrics_s_median: round3(metrics),
        metrics_s_all: rs.map((r) => round3(r.metrics_s)),
        points_per_s: round1(POINTS / metrics),
        workload_points_per_s: round1(POINTS / wall),
        create_s_median: round3(median(rs.map((r) => r.create_s))),
        log_s_median: round3(median(rs.map((r) => r.log_s))),
        artifact_s_median: round3(median(rs.map((r) => r.artifact_s))),
        end_s_median: round3(median(rs.map((r) => r.end_s))),
      }),
    );
  }

  const ours = summary.get("ts-client");
  const ratios: Partial<Record<Variant, { wall: number; metrics: number }>> = {};
  if (ours !== undefined) {
    for (const peer of ["python-per-point", "python-log-batch"] as const) {
      const theirs = summary.get(peer);
      if (theirs === undefined) continue;
      const ratio = { wall: theirs.wall / ours.wall, metrics: theirs.metrics / ours.metrics };
      ratios[peer] = ratio;
      console.log(
        JSON.stringify({
          bench: "tracking",
          ratio: `${peer}/ts-client`,
          value: round3(ratio.wall),
          measure: "wall_s_median",
          metrics_value: round3(ratio.metrics),
        }),
      );
    }
  }
  const batch = ratios["python-log-batch"];
  const perPoint = ratios["python-per-point"];
  console.log(
    JSON.stringify({
      bench: "tracking",
      goal: "ts-client >= python-log-batch and >= 10x python-per-point (wall_s_median)",
      as_fast_as_log_batch: batch === undefined ? null : batch.wall >= 1,
      ten_x_per_point: perPoint === undefined ? null : perPoint.wall >= 10,
      metrics_as_fast_as_log_batch: batch === undefined ? null : batch.metrics >= 1,
      metrics_ten_x_per_point: perPoint === undefined ? null : perPoint.metrics >= 10,
    }),
  );
} finally {
  client?.close();
  await cleanup();
}
