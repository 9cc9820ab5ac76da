// `npm run bench:serve -- [--scenario tabular|text] [--repeats 3] [--connections 16] [--duration 10] [--warmup 2]
//                        [--rows 1,100] [--model DIR] [--config FILE] [--set key=value ...]
//                        [--peer-model hgb|logistic|tfidf-logistic|tfidf-linearsvc] [--peer-handler async|def]
//                        [--peer-threads 1] [--entry dist|tsx] [--request-logs] [--mirror DIR] [--keep]`
//
// Scenarios: `tabular` (default) serves credit-default (configs/credit-default.yaml) as described below; `text`
// serves the complaints narratives (configs/complaints.yaml): ours a tfidf-linear model trained by the pipeline
// (one candidate, its default params), the peer a scikit-learn TfidfVectorizer + LogisticRegression pipeline
// (`--peer-model tfidf-linearsvc`: LinearSVC, calibrated) fitted on the same train rows; each request is
// {"dataframe_records": [{"Consumer complaint narrative": "..."}, ...]} of test narratives, quality is the test
// split's macro-F1, and the refused record is a whitespace-only text.
//
// Our prediction service against the Python service it replaces, driven by the same load generator in the
// same run.
//
//   tfjs-fastify     scripts/serve.ts (the real service: Fastify, MLflow scoring protocol on /invocations,
//                    input validation against the signature, Prometheus metrics) serving a model package
//                    built by the real training pipeline: credit-default, one MLP candidate (hidden units
//                    [64, 32], 8 epochs) trained against a throwaway local MLflow server (`--model DIR`
//                    serves an existing package instead). One Node process, run as the Docker image runs it:
//                    compiled by tsc (tsconfig.build.json, into the temp dir) and started with
//                    `node dist/scripts/serve.js`; `--entry tsx` runs it as `npm run serve` does (through
//                    tsx's loader, which wraps every named closure in a `__name` call).
//   sklearn-fastapi  bench/peers/serve_peer.py: FastAPI + pydantic + uvicorn (one worker) serving a
//                    scikit-learn HistGradientBoostingClassifier fitted at startup on the same train rows
//                    (`--peer-model logistic`: a one-hot + LogisticRegression pipeline). See its docstring.
//
// Both are child processes (the load generator would otherwise compete with the service for one event loop),
// both answer the same body — {"dataframe_records": [...]} of the test split's rows (the 23 feature columns,
// numbers; categorical columns as their integer codes) — with {"predictions": [{label, probability_0,
// probability_1}]}, both validate every field, and neither logs per request (`--request-logs`: both do: our
// pino request logs at info, uvicorn's access log). The peer's OpenMP threads default to 1 (our backend is
// single-threaded WebAssembly, and the load generator needs the other core of a 2-core machine).
//
// Before measuring, one request of the whole test split goes to each side (ROC AUC of what each serves, and
// how often the labels agree), and a record with a wrong type must be refused by both.
//
// Load: autocannon in this process, fixed connections and duration, pipelining 1, one body per payload size
// (the first N test rows). Every measurement is preceded by a warm-up of --warmup seconds, and each repeat
// alternates which side goes first. Latency is taken per response (hrtime, sub-millisecond) rather than
// from autocannon's whole-millisecond histogram; req_per_s counts 2xx responses over the measured time.
// Any non-2xx response, socket error or timeout counts as an error (the bench fails if there is any).
//
// stdout: JSON lines only — one per implementation × payload (medians over the repeats), then per payload the
// ratios (req_per_s ours/peer: >1 means ours serves more; p99_ms peer/ours: >1 means ours has the lower p99)
// and the goal (at least 5x the peer's req/s at a lower p99). Progress goes to stderr.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadTrainConfig, type TrainConfig } from "../src/config/train-config.js";
import type { Table } from "../src/data/table.js";
import { evaluate } from "../src/evaluation/metrics.js";
import { initTf } from "../src/models/backend.js";
import { prepareData } from "../src/pipelines/prepare-data.js";
import { trainPipeline } from "../src/pipelines/train.js";
import type { ModelMeta } from "../src/registry/model-package.js";
import { silentLogger } from "../src/shared/logger.js";
import { projectRoot, venvExecutable } from "../src/shared/project.js";
import { MlflowClient } from "../src/tracking/client.js";
import { freePort, startLocalServer } from "../src/tracking/local-server.js";
import {
  buildService,
  integerFlag,
  median,
  mirrorDir,
  percentile,
  progressLogger,
  round1,
  round3,
} from "./lib.js";
import { csvField } from "./peer-data.js";

// autocannon ships no type declarations: the part of its API used here.
interface AutocannonOptions {
  url: string;
  method: "POST";
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  pipelining: number;
  timeout: number;
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  "2xx": number;
}
interface AutocannonInstance {
  on(
    event: "response",
    listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void,
  ): void;
}
type Autocannon = (
  options: AutocannonOptions,
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: "tabular" },
    repeats: { type: "string", default: "3" },
    connections: { type: "string", default: "16" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    /** Rows per request, one payload each. */
    rows: { type: "string", default: "1,100" },
    /** Serve this model package directory instead of training one. */
    model: { type: "string" },
    /** Default: configs/credit-default.yaml (tabular), configs/complaints.yaml (text). */
    config: { type: "string" },
    set: { type: "string", multiple: true, default: [] },
    /** Default: hgb (tabular), tfidf-logistic (text). */
    "peer-model": { type: "string" },
    "peer-handler": { type: "string", default: "async" },
    /** OpenMP/BLAS threads of the peer. */
    "peer-threads": { type: "string", default: "1" },
    "request-logs": { type: "boolean", default: false },
    /** How our service runs: compiled (`node dist/scripts/serve.js`, as in the Docker image) or through tsx. */
    entry: { type: "string", default: "dist" },
    mirror: { type: "string" },
    /** Keep the temp dir (model package, CSV, server logs); its path is printed on stderr. */
    keep: { type: "boolean", default: false },
  },
});

const repeats = integerFlag("repeats", values.repeats);
const connections = integerFlag("connections", values.connections);
const duration = integerFlag("duration", values.duration);
const warmup = integerFlag("warmup", values.warmup, 0);
const batchSizes = values.rows.split(",").map((s) => integerFlag("rows", s.trim()));
const peerThreads = integerFlag("peer-threads", values["peer-threads"]);
const scenario = values.scenario;
if (scenario !== "tabular" && scenario !== "text")
  throw new Error(`--scenario must be tabular or text (got '${scenario}').`);
const textScenario = scenario === "text";
const configFile =
  values.config ?? (textScenario ? "configs/complaints.yaml" : "configs/credit-default.yaml");
const peerModel = values["peer-model"] ?? (textScenario ? "tfidf-logistic" : "hgb");
const PEER_MODELS = textScenario ? ["tfidf-logistic", "tfidf-linearsvc"] : ["hgb", "logistic"];
if (!PEER_MODELS.includes(peerModel))
  throw new Error(
    `--peer-model must be ${PEER_MODELS.join(" or ")} for --scenario ${scenario} (got '${peerModel}').`,
  );
const peerHandler = values["peer-handler"];
if (peerHandler !== "async" && peerHandler !== "def")
  throw new Error(`--peer-handler must be async or def (got '${peerHandler}').`);
const requestLogs = values["request-logs"];
const entry = values.entry;
if (entry !== "dist" && entry !== "tsx") throw new Error(`--entry must be dist or tsx (got '${entry}').`);

/**
 * Overrides making the bench's model (after the user's --set, which win): all rows, one trial — an MLP for
 * credit-default, tfidf-linear with its default params for the complaints narratives.
 */
const MODEL_OVERRIDES = [
  "data.limit=null",
  textScenario
    ? "training.candidates=[{kind: tfidf-linear}]"
    : "training.candidates=[{kind: mlp, params: {epochs: 8, hiddenUnits: [64, 32]}}]",
];
/** What each side's answers to the whole test split are judged by. */
const QUALITY = textScenario ? "f1_macro" : "roc_auc";

const OURS = "tfjs-fastify";
const PEER = "sklearn-fastapi";
type Impl = typeof OURS | typeof PEER;

const progress = progressLogger("bench:serve");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile of sorted values. */

/** A record of the model's inputs for row `i`: numbers everywhere but string-typed categoricals and texts. */
function record(table: Table, meta: ModelMeta, i: number): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {};
  for (const column of meta.inputs) {
    const text = table.text[column.name];
    if (text !== undefined) {
      out[column.name] = text[i] === "" ? null : text[i]!;
      continue;
    }
    const numeric = table.numeric[column.name];
    if (numeric !== undefined) {
      const v = numeric[i]!;
      out[column.name] = Number.isNaN(v) ? null : v;
      continue;
    }
    const categorical = table.categorical[column.name];
    if (categorical === undefined) throw new Error(`column '${column.name}' of the model is not in the data`);
    const v = categorical[i]!;
    out[column.name] = v === "" ? null : column.type === "string" ? v : Number(v);
  }
  return out;
}

/** The peer's training data: the model's input columns (categoricals as their codes) and the target. */
async function writeTrainCsv(file: string, table: Table, meta: ModelMeta): Promise<void> {
  const names = meta.inputs.map((c) => c.name);
  const lines = [[...names, meta.target].map(csvField).join(",")];
  for (let i = 0; i < table.rowCount; i++) {
    const row = record(table, meta, i);
    lines.push([...names.map((c) => csvField(String(row[c] ?? ""))), csvField(table.target[i]!)].join(","));
  }
  await writeFile(file, `${lines.join("\n")}\n`);
}

/** Builds the model package with the real training pipeline against a throwaway MLflow server. */
async function trainModel(config: TrainConfig, dir: string, mirror: string | undefined): Promise<string> {
  const server = await startLocalServer({ storeDir: path.join(dir, "mlruns"), port: 0 });
  const client = new MlflowClient({ trackingUri: server.uri, env: {} });
  try {
    const result = await trainPipeline(
      {
        client,
        logger: silentLogger(),
        onEvent: (event) => {
          if (event.type === "data")
            progress(`  data: ${event.rows} rows, ${event.features} features, backend ${event.backend}`);
          if (event.type === "trial-end")
            progress(
              `  ${event.summary.id}: ${event.summary.seconds.toFixed(1)} s, best ${event.summary.unit} ${event.summary.bestIteration}/${event.summary.iterations}`,
            );
        },
      },
      config,
      { workDir: path.join(dir, "work"), ...(mirror === undefined ? {} : { mirror }) },
    );
    progress(`  model: ${result.best.id}, test ${QUALITY} ${result.metrics.test[QUALITY]?.toFixed(4)}`);
  } finally {
    client.close();
    await server.stop();
  }
  return path.join(dir, "work", "model");
}

interface Server {
  impl: Impl;
  port: number;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

function startServer(
  impl: Impl,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  log: string,
  port: number,
) {
  const fd = openSync(log, "a");
  const child = spawn(command, args, { cwd: projectRoot(), stdio: ["ignore", fd, fd], env });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(-1));
  });
  return { impl, port, child, log, exited } satisfies Server;
}

async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.split("\n").slice(-lines).join("\n");
}

/** Polls GET /health until it answers 200 (the service is ready only once its model is loaded). */
async function waitHealthy(server: Server, timeoutMs = 180_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/health`, {
        signal: AbortSignal.timeout(2000),
      });
      if (response.ok) return await response.json();
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(
    `${server.impl} did not become healthy (${exited ? "it exited" : "timed out"}); log ${server.log}:\n${await tail(server.log)}`,
  );
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill("SIGTERM");
  const stopped = await Promise.race([server.exited.then(() => true), sleep(5000).then(() => false)]);
  if (!stopped) {
    server.child.kill("SIGKILL");
    await server.exited;
  }
}

interface Predictions {
  status: number;
  predictions: ({ label: string } & Record<string, number | string>)[];
}

async function invoke(server: Server, body: string): Promise<Predictions> {
  const response = await fetch(`http://127.0.0.1:${server.port}/invocations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const json = (await response.json()) as { predictions?: Predictions["predictions"] };
  return { status: response.status, predictions: json.predictions ?? [] };
}

interface Measurement {
  reqPerS: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

function load(server: Server, body: string, seconds: number): Promise<Measurement> {
  const latencies: number[] = [];
  let ok = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${server.port}/invocations`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections,
        duration: seconds,
        pipelining: 1,
        timeout: 10,
      },
      (error, result) => {
        if (error) return reject(error);
        const sorted = Float64Array.from(latencies).sort();
        resolve({
          reqPerS: ok / result.duration,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          errors: result.non2xx + result.errors + result.timeouts,
          requests: latencies.length,
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      if (statusCode >= 200 && statusCode < 300) ok++;
    });
  });
}

let tempDir: string | undefined;
const servers: Server[] = [];
let cleanedUp: Promise<void> | undefined;
const cleanup = () => {
  cleanedUp ??= (async () => {
    await Promise.all(servers.map((s) => stopServer(s)));
    if (tempDir !== undefined && !values.keep) await rm(tempDir, { recursive: true, force: true });
  })();
  return cleanedUp;
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping the servers`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  tempDir = await mkdtemp(path.join(os.tmpdir(), "bench-serve-"));
  progress(`temp dir ${tempDir}${values.keep ? " (kept)" : ""}`);
  const config = await loadTrainConfig(configFile, [...MODEL_OVERRIDES, ...values.set]);
  const mirror = mirrorDir(values.mirror);
  const tf = await initTf();

  let modelDir: string;
  if (values.model !== undefined) {
    modelDir = path.resolve(values.model);
    progress(`model package ${modelDir}`);
  } else {
    progress(`training the model package (config ${configFile}, backend ${tf.backend})`);
    modelDir = await trainModel(config, tempDir, mirror);
  }
  const meta = JSON.parse(await readFile(path.join(modelDir, "model-meta.json"), "utf8")) as ModelMeta;

  const data = await prepareData(config, {
    workDir: path.join(tempDir, "data"),
    ...(mirror === undefined ? {} : { mirror }),
  });
  const test = data.splits.test;
  const trainCsv = path.join(tempDir, "train.csv");
  await writeTrainCsv(trainCsv, data.splits.train, meta);
  progress(`rows: train ${data.splits.train.rowCount} (peer CSV), test ${test.rowCount} (request payloads)`);
  const largest = Math.max(...batchSizes);
  if (largest > test.rowCount) throw new Error(`--rows ${largest} exceeds the ${test.rowCount} test rows.`);

  // Our service: the real serve entry, one Node process.
  let oursArgs: string[];
  if (entry === "dist") {
    progress("compiling the service (tsc -p tsconfig.build.json)");
    oursArgs = [await buildService(tempDir)];
  } else {
    oursArgs = ["--import", "tsx", "scripts/serve.ts"];
  }
  const oursPort = await freePort();
  const oursEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: requestLogs ? "info" : "warn" };
  delete oursEnv.MLFLOW_TRACKING_URI;
  delete oursEnv.WORKBENCH_SERVE_TOKEN;
  const ours = startServer(
    OURS,
    process.execPath,
    [...oursArgs, "--model", modelDir, "--port", String(oursPort), "--poll-seconds", "0"],
    oursEnv,
    path.join(tempDir, "ours.log"),
    oursPort,
  );
  servers.push(ours);

  const peerPort = await freePort();
  const threads = String(peerThreads);
  const peer = startServer(
    PEER,
    venvExecutable("python"),
    [
      path.join(projectRoot(), "bench", "peers", "serve_peer.py"),
      "--train",
      trainCsv,
      "--target",
      meta.target,
      "--port",
      String(peerPort),
      "--model",
      peerModel,
      "--handler",
      peerHandler,
      "--seed",
      String(config.seed),
      ...meta.inputs.filter((c) => c.text !== undefined).flatMap((c) => ["--text-column", c.name]),
      ...(requestLogs ? ["--access-log"] : []),
    ],
    {
      ...process.env,
      PYTHONUNBUFFERED: "1",
      OMP_NUM_THREADS: threads,
      OPENBLAS_NUM_THREADS: threads,
      MKL_NUM_THREADS: threads,
    },
    path.join(tempDir, "peer.log"),
    peerPort,
  );
  servers.push(peer);

  await waitHealthy(ours);
  const peerInfo = (await waitHealthy(peer)) as Record<string, unknown>;
  const oursLog = await readFile(ours.log, "utf8");
  const oursBackend = /backend (\w+)/.exec(oursLog)?.[1] ?? tf.backend;
  progress(`ours on :${oursPort} (backend ${oursBackend}); peer on :${peerPort} ${JSON.stringify(peerInfo)}`);

  // Sanity: the whole test split through both, scored the same way; a wrong type refused by both.
  const allRows = Array.from({ length: test.rowCount }, (_, i) => record(test, meta, i));
  const allBody = JSON.stringify({ dataframe_records: allRows });
  const labels = Int32Array.from(test.target, (t) => data.classes.indexOf(t));
  const quality: Record<Impl, number> = { [OURS]: Number.NaN, [PEER]: Number.NaN };
  const answers: Record<string, Predictions> = {};
  for (const server of [ours, peer]) {
    const answer = await invoke(server, allBody);
    if (answer.status !== 200 || answer.predictions.length !== test.rowCount)
      throw new Error(
        `${server.impl}: the test split got HTTP ${answer.status}, ${answer.predictions.length} predictions`,
      );
    answers[server.impl] = answer;
    const k = data.classes.length;
    const probabilities = new Float64Array(test.rowCount * k);
    answer.predictions.forEach((p, i) => {
      data.classes.forEach((c, j) => {
        probabilities[i * k + j] = Number(p[`probability_${c}`]);
      });
    });
    quality[server.impl] = evaluate(labels, probabilities, data.classes).metrics[QUALITY] ?? Number.NaN;
    const textColumn = meta.inputs.find((c) => c.text !== undefined)?.name;
    const [badField, badValue] = textColumn === undefined ? ["AGE", "forty"] : [textColumn, "   "];
    const bad = { ...allRows[0]!, [badField]: badValue };
    const refused = await invoke(server, JSON.stringify({ dataframe_records: [bad] }));
    if (refused.status < 400 || refused.status >= 500)
      throw new Error(
        `${server.impl} accepted a record with ${badField} ${JSON.stringify(badValue)} (HTTP ${refused.status})`,
      );
  }
  const agree = answers[OURS]!.predictions.filter(
    (p, i) => p.label === answers[PEER]!.predictions[i]!.label,
  ).length;
  progress(
    `test split (${test.rowCount} rows): ${QUALITY} ours ${quality[OURS].toFixed(4)}, peer ${quality[PEER].toFixed(4)}; labels agree on ${((100 * agree) / test.rowCount).toFixed(1)}%`,
  );

  const payloads = batchSizes.map((n) => ({
    name: `${n}-row`,
    rows: n,
    body: JSON.stringify({ dataframe_records: allRows.slice(0, n) }),
  }));
  const results = new Map<string, Measurement[]>();
  const key = (impl: Impl, payload: string) => `${impl} ${payload}`;
  for (let r = 0; r < repeats; r++) {
    for (const payload of payloads) {
      const order = r % 2 === 0 ? [ours, peer] : [peer, ours];
      for (const server of order) {
        if (warmup > 0) await load(server, payload.body, warmup);
        const m = await load(server, payload.body, duration);
        progress(
          `repeat ${r + 1}/${repeats} ${payload.name} ${server.impl}: ${m.reqPerS.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, errors ${m.errors}`,
        );
        const list = results.get(key(server.impl, payload.name)) ?? [];
        list.push(m);
        results.set(key(server.impl, payload.name), list);
      }
    }
  }

  const common = {
    bench: "serve",
    scenario,
    dataset: config.dataset,
    connections,
    duration_s: duration,
    repeats,
  };
  const summary = new Map<string, { reqPerS: number; p50: number; p99: number }>();
  let totalErrors = 0;
  for (const payload of payloads) {
    for (const impl of [OURS, PEER] as const) {
      const ms = results.get(key(impl, payload.name))!;
      const line = {
        reqPerS: median(ms.map((m) => m.reqPerS)),
        p50: median(ms.map((m) => m.p50)),
        p99: median(ms.map((m) => m.p99)),
      };
      summary.set(key(impl, payload.name), line);
      const errors = ms.reduce((a, m) => a + m.errors, 0);
      totalErrors += errors;
      const details =
        impl === OURS
          ? {
              backend: oursBackend,
              ...(tf.wasmSimd === undefined ? {} : { wasm_simd: tf.wasmSimd }),
              model: `tfjs-${meta.kind}`,
              model_params: meta.params,
              server: `${entry === "dist" ? "node dist/scripts/serve.js" : "tsx scripts/serve.ts"} (fastify), 1 node process`,
              request_logs: requestLogs,
            }
          : {
              backend: `sklearn ${(peerInfo.versions as Record<string, string> | undefined)?.sklearn ?? "?"}`,
              model: peerInfo.model,
              server: `uvicorn 1 worker (${peerInfo.loop}, ${peerInfo.http}), handler ${peerHandler}`,
              threads: peerThreads,
              request_logs: requestLogs,
            };
      console.log(
        JSON.stringify({
          ...common,
          impl,
          payload: payload.name,
          rows_per_request: payload.rows,
          req_per_s: round1(line.reqPerS),
          rows_per_s: round1(line.reqPerS * payload.rows),
          p50_ms: round3(line.p50),
          p99_ms: round3(line.p99),
          errors,
          requests: ms.reduce((a, m) => a + m.requests, 0),
          req_per_s_all: ms.map((m) => round1(m.reqPerS)),
          p99_ms_all: ms.map((m) => round3(m.p99)),
          [`test_${QUALITY}`]: round3(quality[impl]),
          ...details,
        }),
      );
    }
  }
  const goals: boolean[] = [];
  for (const payload of payloads) {
    const a = summary.get(key(OURS, payload.name))!;
    const b = summary.get(key(PEER, payload.name))!;
    const throughput = a.reqPerS / b.reqPerS;
    // Each repeat measures both sides back to back: its own ratio shows how steady the comparison is.
    const oursRuns = results.get(key(OURS, payload.name))!;
    const peerRuns = results.get(key(PEER, payload.name))!;
    console.log(
      JSON.stringify({
        ...common,
        ratio: "req_per_s ours/peer",
        payload: payload.name,
        value: round3(throughput),
        ours: round1(a.reqPerS),
        peer: round1(b.reqPerS),
        value_per_repeat: oursRuns.map((m, i) => round3(m.reqPerS / peerRuns[i]!.reqPerS)),
        meaning: ">1 means ours serves more requests per second (value: ratio of the medians)",
      }),
    );
    for (const [name, ours_, peer_] of [
      ["p50_ms", a.p50, b.p50],
      ["p99_ms", a.p99, b.p99],
    ] as const) {
      console.log(
        JSON.stringify({
          ...common,
          ratio: `${name} peer/ours`,
          payload: payload.name,
          value: round3(peer_ / ours_),
          ours: round3(ours_),
          peer: round3(peer_),
          meaning: `>1 means ours has the lower ${name.replace("_ms", "")} latency`,
        }),
      );
    }
    const met = throughput >= 5 && a.p99 < b.p99;
    goals.push(met);
    console.log(
      JSON.stringify({
        ...common,
        goal: "req_per_s >= 5x peer and lower p99",
        payload: payload.name,
        req_per_s_ratio: round3(throughput),
        p99_lower: a.p99 < b.p99,
        met,
      }),
    );
  }
  console.log(
    JSON.stringify({
      ...common,
      goal: "req_per_s >= 5x peer and lower p99",
      payload: "all",
      met: goals.every(Boolean),
    }),
  );
  if (totalErrors > 0) {
    progress(`${totalErrors} requests failed (non-2xx, socket errors or timeouts): logs in ${tempDir}`);
    values.keep = true;
    process.exitCode = 1;
  }
} finally {
  await cleanup();
}
