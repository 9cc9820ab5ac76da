// `npm run bench:predict -- [--rows 1000000] [--kinds mlp,gbdt] [--workers N] [--chunk-rows 4096] [--repeats 1]
//                          [--model kind=DIR ...] [--config configs/credit-default.yaml] [--mirror DIR]
//                          [--compiled] [--wait-idle 0.9 [--wait-minutes 10]] [--keep-data]`
//
// Batch scoring of --rows credit-default rows: ours (`npm run predict`, per model kind) against pandas read_csv +
// scikit-learn HistGradientBoostingClassifier predict_proba + to_csv (bench/peers/predict_peer.py) on the same
// file, in the same run.
//
// Data: the config's dataset as the pipeline reads it (acquired from --mirror / the cache, validated, split).
// The scoring file repeats the dataset file's data rows (every column, the target included, ids renumbered) to
// --rows rows. The peer's model is fitted on the raw validated rows of our train split (written to train.csv).
//
// Models: a package per kind (--model kind=DIR to reuse one), else trained here with the pipeline
// (trainPipeline on the config with only that kind's candidates, tracked by a throwaway MLflow server in a temp
// folder): the kind's best trial on validation, as `npm run train` would register it.
//
// Ours: one fresh process per kind running what `npm run predict` runs (node --import tsx scripts/predict.ts
// --model DIR --input FILE --output FILE --workers N --chunk-rows C), with a preloaded module that records the
// process's getrusage at exit: peak RSS (worker threads included: they are threads of that process) and CPU time.
// Every row is validated (field count, strict numbers, required values, the signature) and written back with the
// label, the probabilities and the model version. With --compiled, also `ours-<kind>-compiled`: the same command
// compiled as the Docker image builds it (tsconfig.build.json; node dist/scripts/predict.js, no tsx: each thread
// then skips tsx's loader and the TypeScript transform).
// Peer: one fresh Python process (see its docstring): it fits first (not timed), then times read_csv +
// predict_proba + to_csv of the same columns as ours (`peer`), and, in a second process, of the label and the
// probabilities only (`peer-predictions-only`, a lighter output than ours, for reference).
//
// Repeats: --repeats rounds, each running every variant once in the same order (peer, ours per kind, the lighter
// peer); a variant's line is its median run by `seconds` (seconds_each lists every run), with the largest peak RSS
// of its runs.
// Timing: `seconds` is the whole command for ours (process start to exit: node, tsx, loading the model,
// scoring), `scoring_seconds` what batchPredict reports; the peer's `seconds` covers read_csv to to_csv only
// (no interpreter start, imports or fit). rows/s = rows / seconds. The goal ratios use our whole command.
// Machine: every line records the machine's idle share over the second before it started and the 1-minute load
// average; on a shared machine `--wait-idle 0.9` waits (up to --wait-minutes) until others' jobs leave the
// cores idle before each variant.
//
// stdout: JSON lines only — one per variant, then one ratio line per kind against each peer (rows/s ours/peer:
// >1 means ours is faster; peak RSS ours/peer: <1 means ours is smaller) with issue 10's goal (rows/s ratio ≥ 1
// and RSS ratio ≤ 0.5 against `peer`). Progress goes to stderr.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadTrainConfig, type TrainConfig } from "../src/config/train-config.js";
import { KIND_NAMES } from "../src/models/kinds/index.js";
import { type PreparedData, prepareData } from "../src/pipelines/prepare-data.js";
import { trainPipeline } from "../src/pipelines/train.js";
import { silentLogger } from "../src/shared/logger.js";
import { projectRoot, venvExecutable } from "../src/shared/project.js";
import { MlflowClient } from "../src/tracking/client.js";
import { ensureTrackingServer } from "../src/tracking/ensure-server.js";
import {
  buildService,
  collectStdout,
  integerFlag,
  machineSettler,
  mirrorDir,
  progressLogger,
  RUSAGE_PRELOAD,
  round1,
  round3,
} from "./lib.js";
import { peerColumns, writePeerCsv, writePeerMeta } from "./peer-data.js";

type Line = Record<string, unknown>;

const { values } = parseArgs({
  options: {
    config: { type: "string", default: "configs/credit-default.yaml" },
    rows: { type: "string", default: "1000000" },
    kinds: { type: "string", default: "mlp,gbdt" },
    /** Threads of ours (default: one per core). */
    workers: { type: "string", default: String(os.availableParallelism()) },
    "chunk-rows": { type: "string", default: "4096" },
    repeats: { type: "string", default: "1" },
    /** kind=DIR: score with this package instead of training one. */
    model: { type: "string", multiple: true, default: [] },
    mirror: { type: "string" },
    "wait-idle": { type: "string", default: "0" },
    "wait-minutes": { type: "string", default: "10" },
    /** Also run the compiled command (dist/scripts/predict.js, built here with tsconfig.build.json). */
    compiled: { type: "boolean", default: false },
    /** Keep the generated files (their folder is printed on stderr). */
    "keep-data": { type: "boolean", default: false },
  },
});

const rows = integerFlag("rows", values.rows);
const workers = integerFlag("workers", values.workers);
const chunkRows = integerFlag("chunk-rows", values["chunk-rows"]);
const repeats = integerFlag("repeats", values.repeats);
const waitIdle = Number(values["wait-idle"]);
if (!(waitIdle >= 0 && waitIdle < 1))
  throw new Error(`--wait-idle must be in [0, 1) (got '${values["wait-idle"]}').`);
const waitMinutes = integerFlag("wait-minutes", values["wait-minutes"], 0);
const kinds = values.kinds
  .split(",")
  .map((k) => k.trim())
  .filter((k) => k !== "");
for (const k of kinds)
  if (!(KIND_NAMES as readonly string[]).includes(k))
    throw new Error(`--kinds: unknown kind '${k}' (known: ${KIND_NAMES.join(", ")}).`);
const given = new Map<string, string>();
for (const spec of values.model) {
  const at = spec.indexOf("=");
  if (at <= 0) throw new Error(`--model must be kind=DIR (got '${spec}').`);
  given.set(spec.slice(0, at), path.resolve(spec.slice(at + 1)));
}

const progress = progressLogger("bench:predict");
const root = projectRoot();
const here = path.dirname(fileURLToPath(import.meta.url));

/** The machine's state before a run starts (after waiting for --wait-idle), recorded in its line. */
const settle = machineSettler(waitIdle, waitMinutes, progress);

/** The peer's training rows: the raw validated rows of our train split (numbers as numbers, "" = missing). */
async function writePeerData(dir: string, config: TrainConfig, data: PreparedData): Promise<void> {
  const columns = peerColumns(config, data, data.splits.train);
  await writePeerMeta(dir, data, columns);
  await writePeerCsv(path.join(dir, "train.csv"), data.splits.train, columns);
}

/** `rows` data rows of the dataset file, repeated in order; an id column first is renumbered 1, 2, … */
async function writeScoringFile(file: string, data: PreparedData): Promise<void> {
  const text = await readFile(data.source.path, "utf8");
  const lines = text.split(/\r?\n/).filter((l) => l !== "");
  const header = lines[0]!;
  const body = lines.slice(1);
  const first = header.split(",")[0]!.replaceAll('"', "").trim();
  const renumber = data.manifest.idColumns.includes(first);
  const tails = renumber ? body.map((l) => l.slice(l.indexOf(","))) : body;
  const out = createWriteStream(file);
  out.write(`${header}\n`);
  let buffer = "";
  for (let i = 0; i < rows; i++) {
    const tail = tails[i % tails.length]!;
    buffer += renumber ? `${i + 1}${tail}\n` : `${tail}\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "finish");
}

/** Trains the config's candidates of `kind` with the pipeline (a throwaway MLflow server); the package dir. */
async function trainPackage(kind: string, config: TrainConfig, work: string): Promise<string> {
  const candidates = config.training.candidates.filter((c) => c.kind === kind);
  const only: TrainConfig = {
    ...config,
    experiment: `bench-predict-${kind}`,
    registry: { ...config.registry, modelName: `bench-predict-${kind}` },
    training: {
      ...config.training,
      candidates:
        candidates.length > 0 ? candidates : ([{ kind }] as unknown as TrainConfig["training"]["candidates"]),
    },
  };
  const logger = silentLogger();
  const server = await ensureTrackingServer({
    env: {},
    port: 0,
    storeDir: path.join(work, `mlflow-${kind}`),
    logger,
  });
  const client = new MlflowClient({ trackingUri: server.uri, logger });
  const workDir = path.join(work, `train-${kind}`);
  try {
    const mirror = mirrorDir(values.mirror);
    const result = await trainPipeline({ client, logger }, only, {
      workDir,
      ...(mirror ? { mirror } : {}),
    });
    progress(
      `trained ${kind}: ${result.best.id}, validation ${config.training.selectionMetric} ${result.metrics.validation[config.training.selectionMetric]?.toFixed(4)}`,
    );
  } finally {
    client.close();
    await server.release();
  }
  return path.join(workDir, "model");
}

/**
 * One run of our command on `kind`'s package: `npm run predict` (tsx), or the compiled script at `compiled`.
 */
async function ours(
  kind: string,
  dir: string,
  input: string,
  work: string,
  compiled?: string | undefined,
): Promise<Line> {
  const variant = compiled === undefined ? `ours-${kind}` : `ours-${kind}-compiled`;
  const machine = await settle(variant);
  const output = path.join(work, `${variant}.csv`);
  const rusageFile = path.join(work, `${variant}.rusage.json`);
  progress(
    `${variant}: ${compiled === undefined ? "npm run predict" : "node dist/scripts/predict.js"} -- --workers ${workers} on ${rows} rows`,
  );
  const started = performance.now();
  const entry = compiled === undefined ? ["--import", "tsx"] : [];
  const child = spawn(
    process.execPath,
    [
      ...entry,
      "--import",
      RUSAGE_PRELOAD,
      compiled ?? path.join(root, "scripts", "predict.ts"),
      "--model",
      dir,
      "--input",
      input,
      "--output",
      output,
      "--workers",
      String(workers),
      "--chunk-rows",
      String(chunkRows),
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, BENCH_RUSAGE_FILE: rusageFile, LOG_LEVEL: "warn" },
    },
  );
  const { code, stdout } = await collectStdout(child);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${variant} exited with code ${code}: ${stdout}`);
  const said = /scored (\d+) of (\d+) rows .* in ([\d.]+) s \(\d+ rows\/s, ([^)]*)\)/.exec(stdout);
  if (said === null) throw new Error(`${variant}: unexpected output: ${stdout}`);
  const usage = JSON.parse(await readFile(rusageFile, "utf8")) as {
    maxRSS: number;
    user: number;
    system: number;
  };
  const line: Line = {
    variant,
    kind,
    rows: Number(said[2]),
    rows_scored: Number(said[1]),
    workers,
    threads: said[4],
    chunk_rows: chunkRows,
    seconds: round3(seconds),
    rows_per_s: Math.round(Number(said[2]) / seconds),
    scoring_seconds: Number(said[3]),
    scoring_rows_per_s: Math.round(Number(said[2]) / Number(said[3])),
    cpu_s: round3((usage.user + usage.system) / 1e6),
    peak_rss_mb: round1(usage.maxRSS / 1024),
    output_bytes: (await stat(output)).size,
    ...machine,
  };
  await rm(output, { force: true });
  return line;
}

async function peer(
  columns: "all" | "predictions",
  data: string,
  input: string,
  work: string,
): Promise<Line> {
  const label = columns === "all" ? "peer" : "peer-predictions-only";
  const machine = await settle(label);
  const output = path.join(work, `${label}.csv`);
  progress(`${label}: pandas + scikit-learn on ${rows} rows`);
  const child = spawn(
    venvExecutable("python"),
    [
      path.join(here, "peers", "predict_peer.py"),
      "--data",
      data,
      "--input",
      input,
      "--output",
      output,
      "--columns",
      columns,
    ],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
  );
  const { code, stdout } = await collectStdout(child);
  if (code !== 0) throw new Error(`${label} exited with code ${code}`);
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1) throw new Error(`${label} printed ${lines.length} lines on stdout instead of one`);
  await rm(output, { force: true });
  return { ...(JSON.parse(lines[0]!) as Line), variant: label, ...machine };
}

function ratio(ourLine: Line, peerLine: Line): Line {
  const speed = Number(ourLine.rows_per_s) / Number(peerLine.rows_per_s);
  const memory = Number(ourLine.peak_rss_mb) / Number(peerLine.peak_rss_mb);
  const goal = peerLine.variant === "peer";
  return {
    ratio: `${ourLine.variant} vs ${peerLine.variant}`,
    rows_per_s_ours_over_peer: round3(speed),
    scoring_rows_per_s_ours_over_peer: round3(
      Number(ourLine.scoring_rows_per_s) / Number(peerLine.rows_per_s),
    ),
    peak_rss_ours_over_peer: round3(memory),
    meaning: "rows/s ratio > 1: ours is faster; RSS ratio < 1: ours is smaller",
    ...(goal
      ? {
          goal: "issue 10: rows/s at least the peer's, peak RSS at most half the peer's",
          goal_rows_per_s_met: speed >= 1,
          goal_rss_met: memory <= 0.5,
        }
      : {}),
  };
}

async function main(): Promise<void> {
  const config = await loadTrainConfig(path.resolve(root, values.config), []);
  const work = await mkdtemp(path.join(os.tmpdir(), "bench-predict-"));
  progress(`working folder ${work}`);
  try {
    const mirror = mirrorDir(values.mirror);
    const data = await prepareData(config, {
      ...(mirror ? { mirror } : {}),
      workDir: path.join(work, "prepare"),
    });
    const peerData = path.join(work, "peer-data");
    await mkdir(peerData, { recursive: true });
    await writePeerData(peerData, config, data);
    const input = path.join(work, "scoring.csv");
    await writeScoringFile(input, data);
    progress(`scoring file: ${rows} rows, ${((await stat(input)).size / 1e6).toFixed(1)} MB`);
    const packages = new Map<string, string>();
    for (const kind of kinds) packages.set(kind, given.get(kind) ?? (await trainPackage(kind, config, work)));
    let compiled: string | undefined;
    if (values.compiled) {
      progress("compiling with tsconfig.build.json");
      const build = path.join(work, "build");
      await mkdir(build);
      compiled = path.join(path.dirname(await buildService(build)), "predict.js");
    }
    const variants: [string, () => Promise<Line>][] = [
      ["peer", () => peer("all", peerData, input, work)],
      ...kinds.flatMap((kind): [string, () => Promise<Line>][] => [
        [`ours-${kind}`, () => ours(kind, packages.get(kind)!, input, work)],
        ...(compiled === undefined
          ? []
          : [
              [`ours-${kind}-compiled`, () => ours(kind, packages.get(kind)!, input, work, compiled)] as [
                string,
                () => Promise<Line>,
              ],
            ]),
      ]),
      ["peer-predictions-only", () => peer("predictions", peerData, input, work)],
    ];
    const runs = new Map<string, Line[]>(variants.map(([name]) => [name, []]));
    for (let round = 1; round <= repeats; round++) {
      if (repeats > 1) progress(`round ${round} of ${repeats}`);
      for (const [name, run] of variants) runs.get(name)!.push(await run());
    }
    const summary = new Map<string, Line>();
    for (const [name] of variants) {
      const all = runs.get(name)!;
      const median = [...all].sort((a, b) => Number(a.seconds) - Number(b.seconds))[
        Math.floor((all.length - 1) / 2)
      ]!;
      const line: Line = {
        ...median,
        repeats,
        seconds_each: all.map((r) => r.seconds),
        peak_rss_mb: Math.max(...all.map((r) => Number(r.peak_rss_mb))),
      };
      summary.set(name, line);
      console.log(JSON.stringify(line));
    }
    for (const [name] of variants.filter(([n]) => n.startsWith("ours-")))
      for (const p of ["peer", "peer-predictions-only"])
        console.log(JSON.stringify(ratio(summary.get(name)!, summary.get(p)!)));
  } finally {
    if (values["keep-data"]) progress(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

await main();
