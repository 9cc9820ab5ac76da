// `npm run bench:soak -- [--duration 30] [--connections 16] [--rows 10] [--swaps 2] [--warmup 3]
//                        [--entry dist|tsx] [--store DIR] [--config configs/credit-default.yaml] [--mirror DIR]
//                        [--keep]`
//
// A soak of the prediction service: fixed concurrency for a bounded time, with hot swaps of the served model
// in the middle of it, and the service's memory watched throughout.
//
//   Models     `--swaps` + 1 versions of a small credit-default model (one logistic candidate, 3,000 rows),
//              each trained by the real training pipeline and registered in a throwaway local MLflow server
//              (`--store DIR` keeps that store and reuses its versions on the next run).
//   Service    scripts/serve.ts in its own Node process, serving models:/<name>@challenger from that server,
//              compiled by tsc as the Docker image runs it (`--entry tsx`: through tsx, as `npm run serve`
//              does); alias polling off, bearer token set so that /admin/reload is open to the bench.
//   Load       autocannon in this process: `--connections` connections, pipelining 1, for `--duration`
//              seconds after a `--warmup`, every request a {"dataframe_records": [...]} of `--rows` test
//              rows. Latency is taken per response; any non-2xx answer, socket error or timeout is a failure.
//   Hot swaps  at evenly spaced moments of the run, the alias moves to the next version and the bench POSTs
//              /admin/reload (what a promotion does; the service's alias polling does the same on its own).
//   Memory     the service's resident memory and longest event-loop delay, scraped from its /metrics every
//              second: at the start of the measured run, at its end, the peak, and the growth.
//   Drain      at the end, SIGTERM with idle keep-alive clients connected: the time until the process exits.
//
// stdout: JSON lines only (load, each swap, memory, drain, then the goal: zero failed requests across the
// hot swaps); progress goes to stderr. Exit code 1 when any request failed or a swap did not happen.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadTrainConfig, type TrainConfig } from "../src/config/train-config.js";
import type { Table } from "../src/data/table.js";
import { initTf } from "../src/models/backend.js";
import { prepareData } from "../src/pipelines/prepare-data.js";
import { trainPipeline } from "../src/pipelines/train.js";
import type { SignatureColumn } from "../src/registry/model-package.js";
import { silentLogger } from "../src/shared/logger.js";
import { projectRoot } from "../src/shared/project.js";
import { MlflowClient } from "../src/tracking/client.js";
import { freePort, startLocalServer } from "../src/tracking/local-server.js";
import { buildService, integerFlag, mirrorDir, percentile, progressLogger, round1, round3 } from "./lib.js";

// autocannon ships no type declarations: the part of its API used here.
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}
interface AutocannonInstance {
  on(event: "response", listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (
  options: {
    url: string;
    method: "POST";
    headers: Record<string, string>;
    body: string;
    connections: number;
    duration: number;
    pipelining: number;
    timeout: number;
  },
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "30" },
    connections: { type: "string", default: "16" },
    rows: { type: "string", default: "10" },
    swaps: { type: "string", default: "2" },
    warmup: { type: "string", default: "3" },
    entry: { type: "string", default: "dist" },
    /** An MLflow store to keep and reuse (its registered versions are not trained again). */
    store: { type: "string" },
    config: { type: "string", default: "configs/credit-default.yaml" },
    mirror: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const duration = integerFlag("duration", values.duration);
const connections = integerFlag("connections", values.connections);
const rowsPerRequest = integerFlag("rows", values.rows);
const swaps = integerFlag("swaps", values.swaps, 0);
const warmup = integerFlag("warmup", values.warmup, 0);
const entry = values.entry;
if (entry !== "dist" && entry !== "tsx") throw new Error(`--entry must be dist or tsx (got '${entry}').`);

const MODEL = "soak-credit-default";
const MODEL_OVERRIDES = [
  "data.limit=3000",
  `experiment=${MODEL}`,
  `registry.modelName=${MODEL}`,
  "training.candidates=[{kind: logistic, params: {epochs: 8}}]",
];
const progress = progressLogger("bench:soak");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A record of the model's inputs for row `i` (numbers; categorical columns as their integer codes). */
function record(table: Table, inputs: readonly SignatureColumn[], i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of inputs) {
    const numeric = table.numeric[column.name];
    const v = numeric !== undefined ? numeric[i]! : table.categorical[column.name]?.[i];
    if (v === undefined) throw new Error(`column '${column.name}' of the model is not in the data`);
    out[column.name] =
      typeof v === "number"
        ? Number.isNaN(v)
          ? null
          : v
        : v === ""
          ? null
          : column.type === "string"
            ? v
            : Number(v);
  }
  return out;
}

/** The registered versions of the soak model, oldest first. */
async function versionsOf(client: MlflowClient): Promise<string[]> {
  const found: string[] = [];
  for await (const v of client.registry.searchVersions({ filter: `name = '${MODEL}'` }))
    found.push(v.version);
  return found.sort((a, b) => Number(a) - Number(b));
}

/** Trains versions until there are `count` (the real pipeline, one seed each). */
async function ensureVersions(client: MlflowClient, config: string, count: number, mirror?: string) {
  let versions = await versionsOf(client);
  for (let seed = versions.length + 1; versions.length < count; seed++) {
    const t = performance.now();
    const trainConfig = await loadTrainConfig(config, [...MODEL_OVERRIDES, `seed=${seed}`]);
    const result = await trainPipeline(
      { client, logger: silentLogger() },
      trainConfig,
      mirror ? { mirror } : {},
    );
    progress(
      `  trained version ${result.model.version} (seed ${seed}, test roc_auc ${result.metrics.test.roc_auc?.toFixed(4)}) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    versions = await versionsOf(client);
  }
  return versions.slice(0, count);
}

interface Service {
  child: ChildProcess;
  base: string;
  log: string;
  exited: Promise<number | null>;
}

async function startService(dir: string, trackingUri: string, token: string): Promise<Service> {
  const script = entry === "dist" ? [await buildService(dir)] : ["--import", "tsx", "scripts/serve.ts"];
  const port = await freePort();
  const log = path.join(dir, "service.log");
  const fd = openSync(log, "a");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MLFLOW_TRACKING_URI: trackingUri,
    WORKBENCH_SERVE_TOKEN: token,
    WORKBENCH_MODEL_CACHE: path.join(dir, "model-cache"),
    LOG_LEVEL: "warn",
  };
  const args = [
    ...script,
    "--model",
    `models:/${MODEL}@challenger`,
    "--port",
    String(port),
    "--poll-seconds",
    "0",
  ];
  const child = spawn(process.execPath, args, { cwd: projectRoot(), stdio: ["ignore", fd, fd], env });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(-1));
  });
  const service = { child, base: `http://127.0.0.1:${port}`, log, exited };
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const ok = await fetch(`${service.base}/health`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return service;
    await sleep(200);
  }
  const tail = (await readFile(log, "utf8").catch(() => "")).split("\n").slice(-30).join("\n");
  throw new Error(`the service did not become healthy; log ${log}:\n${tail}`);
}

/** The service's resident memory (bytes) and longest event-loop delay since the last scrape (seconds). */
async function scrape(base: string): Promise<{ rss: number; loopDelay: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return {
    rss: read("process_resident_memory_bytes"),
    loopDelay: read("workbench_event_loop_delay_max_seconds"),
  };
}

interface Load {
  reqPerS: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  statuses: Record<string, number>;
  failed: number;
  errors: number;
  timeouts: number;
}

function load(base: string, body: string, token: string, seconds: number): Promise<Load> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${base}/invocations`,
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
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
          max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
          requests: latencies.length,
          statuses,
          failed: result.non2xx + result.errors + result.timeouts,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      latencies.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 300) ok++;
    });
  });
}

let tempDir: string | undefined;
let service: Service | undefined;
let stopTracking: (() => Promise<void>) | undefined;
const cleanup = async () => {
  if (service !== undefined && service.child.exitCode === null) {
    service.child.kill("SIGKILL");
    await service.exited;
  }
  await stopTracking?.();
  if (tempDir !== undefined && !values.keep) await rm(tempDir, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));

try {
  tempDir = await mkdtemp(path.join(os.tmpdir(), "bench-soak-"));
  progress(`temp dir ${tempDir}${values.keep ? " (kept)" : ""}`);
  const mirror = mirrorDir(values.mirror);
  const tf = await initTf();
  const storeDir = path.resolve(values.store ?? path.join(tempDir, "mlruns"));
  const tracking = await startLocalServer({ storeDir, port: 0 });
  const client = new MlflowClient({ trackingUri: tracking.uri, env: {} });
  stopTracking = async () => {
    client.close();
    await tracking.stop();
  };
  progress(`MLflow at ${tracking.uri} (store ${storeDir}); backend ${tf.backend}`);
  const versions = await ensureVersions(client, values.config, swaps + 1, mirror);
  await client.registry.setAlias(MODEL, "challenger", versions[0]!);
  progress(`versions ${versions.join(", ")}; @challenger → ${versions[0]}`);

  const config: TrainConfig = await loadTrainConfig(values.config, MODEL_OVERRIDES);
  const data = await prepareData(config, {
    workDir: path.join(tempDir, "data"),
    ...(mirror ? { mirror } : {}),
  });
  const token = randomUUID();
  service = await startService(tempDir, tracking.uri, token);
  const meta = (await (await fetch(`${service.base}/model`)).json()) as {
    signature: { inputs: SignatureColumn[] };
  };
  const rows = Array.from({ length: rowsPerRequest }, (_, i) =>
    record(data.splits.test, meta.signature.inputs, i),
  );
  const body = JSON.stringify({ dataframe_records: rows });
  const check = await fetch(`${service.base}/invocations`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body,
  });
  if (check.status !== 200) throw new Error(`the soak body got HTTP ${check.status}: ${await check.text()}`);
  progress(`service ${entry} at ${service.base}; ${rowsPerRequest} rows per request`);

  if (warmup > 0) await load(service.base, body, token, warmup);
  const start = await scrape(service.base);
  const samples: { rss: number; loopDelay: number; at: number }[] = [{ ...start, at: performance.now() }];
  const base = service.base;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sleep(1000);
      if (sampling) samples.push({ ...(await scrape(base)), at: performance.now() });
    }
  })();

  // The swaps land at evenly spaced moments of the measured run (at 1/3 and 2/3 of it with 2 swaps).
  const swapResults: Record<string, unknown>[] = [];
  const swapWindows: [number, number][] = [];
  const loadStart = performance.now();
  const swapping = (async () => {
    for (let k = 1; k <= swaps; k++) {
      await sleep(loadStart + (k * duration * 1000) / (swaps + 1) - performance.now());
      const t = performance.now();
      await client.registry.setAlias(MODEL, "challenger", versions[k]!);
      const reload = await fetch(`${base}/admin/reload`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      });
      const answer = (await reload.json()) as { swapped?: boolean; model?: { version?: string } };
      swapWindows.push([t, performance.now()]);
      const result = {
        swap: k,
        from: versions[k - 1],
        to: versions[k],
        status: reload.status,
        swapped: answer.swapped === true && answer.model?.version === versions[k],
        at_s: round1((t - loadStart) / 1000),
        reload_ms: round1(performance.now() - t),
      };
      progress(`swap ${k}: ${JSON.stringify(result)}`);
      swapResults.push(result);
    }
  })();
  const measured = await load(base, body, token, duration);
  await swapping;
  sampling = false;
  await sampler;
  const end = await scrape(base);
  samples.push({ ...end, at: performance.now() });

  // Drain: idle keep-alive clients stay connected; SIGTERM must still stop the process promptly.
  await Promise.all(Array.from({ length: 4 }, () => fetch(`${base}/ping`).then((r) => r.text())));
  const t = performance.now();
  service.child.kill("SIGTERM");
  const exitCode = await service.exited;
  const exitMs = performance.now() - t;

  const common = {
    bench: "soak",
    entry,
    connections,
    duration_s: duration,
    rows_per_request: rowsPerRequest,
  };
  console.log(
    JSON.stringify({
      ...common,
      measure: "load",
      req_per_s: round1(measured.reqPerS),
      p50_ms: round3(measured.p50),
      p99_ms: round3(measured.p99),
      max_ms: round3(measured.max),
      requests: measured.requests,
      statuses: measured.statuses,
      failed: measured.failed,
      socket_errors: measured.errors,
      timeouts: measured.timeouts,
    }),
  );
  for (const s of swapResults) console.log(JSON.stringify({ ...common, measure: "swap", ...s }));
  const mb = (bytes: number) => round1(bytes / 1024 / 1024);
  const peak = Math.max(...samples.map((s) => s.rss));
  const delays = samples.slice(1).map((s, i) => ({
    delay: s.loopDelay,
    reloading: swapWindows.some(([from, to]) => from <= s.at && to >= samples[i]!.at),
  }));
  console.log(
    JSON.stringify({
      ...common,
      measure: "memory",
      rss_start_mb: mb(start.rss),
      rss_end_mb: mb(end.rss),
      rss_peak_mb: mb(peak),
      rss_growth_mb: mb(end.rss - start.rss),
      rss_growth_pct: round1((100 * (end.rss - start.rss)) / start.rss),
      event_loop_delay_max_ms: round1(1000 * Math.max(...delays.map((d) => d.delay))),
      // A scrape covers the second before it: those overlapping a reload show what loading a version costs.
      event_loop_delay_max_ms_outside_reloads: round1(
        1000 * Math.max(0, ...delays.filter((d) => !d.reloading).map((d) => d.delay)),
      ),
      samples: samples.length,
    }),
  );
  console.log(JSON.stringify({ ...common, measure: "drain", exit_code: exitCode, exit_ms: round1(exitMs) }));
  const swapped = swapResults.every((s) => s.swapped === true) && swapResults.length === swaps;
  const met = measured.failed === 0 && swapped;
  console.log(JSON.stringify({ ...common, goal: "zero failed requests across hot swaps", swaps, met }));
  if (!met) {
    progress(
      `${measured.failed} failed requests, swaps ${swapped ? "done" : "not all done"}: logs in ${tempDir}`,
    );
    values.keep = true;
    process.exitCode = 1;
  }
} finally {
  await cleanup();
}
