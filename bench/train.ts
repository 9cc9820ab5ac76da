// `npm run bench:train -- --config configs/credit-default.yaml [--kinds gbdt,random-forest] [--repeats 3]
//                        [--peer-repeats N] [--fit-on train+validation|train] [--peer-threads N]
//                        [--predict-rows 100000] [--predict-repeats 3] [--wait-idle 0.9 [--wait-minutes 10]]
//                        [--set key=value ...] [--mirror DIR] [--keep-data]`
//
// Our model kinds against scikit-learn and LightGBM on the same split of the same data.
//
// The data is prepared once here (validate → split, as `npm run train` does). The raw validated rows of train,
// validation and test (the manifest's feature columns minus `features.drop`, after the manifest's recodes,
// before any preprocessing) go to CSVs in a temp dir, which bench/peers/train_peer.py reads, so both sides see
// exactly the same rows.
//
// Every variant runs in a fresh process of its own, so that its peak RSS is its own:
//   ours-<kind>   bench/train-variant.ts (Node): prepares the same split (and refuses to run if its split's
//                 fingerprint differs), then every trial of the config's candidates of that kind (the kind's
//                 defaults when the config has none) is created through the kinds table, fitted on train with
//                 early stopping on validation (the config's selection metric, patience, class weights; the seed
//                 derived from the config seed and the trial id), and scored on test; the kind's best trial is
//                 chosen on validation.
//   peers         bench/peers/train_peer.py (Python), one process per model — see its docstring:
//                   sklearn-logistic  vs ours-logistic
//                   sklearn-hgb       vs ours-mlp and ours-gbdt; HistGradientBoosting with its defaults (its own
//                                     internal early stopping), fitted on --fit-on: it cannot take our
//                                     validation split, so by default it fits on train + validation (the rows
//                                     ours sees) — the reference of issue 10's goals
//                   sklearn-hgb-ours-params  vs ours-gbdt; HGB with our best gbdt trial's parameters, stopping
//                                     early on our selection metric over a holdout of our validation's size
//                                     (like for like per round; see the peer's docstring)
//                   lightgbm          vs ours-gbdt; our best gbdt trial's parameters, fitted on train with early
//                                     stopping on our validation split by our selection metric and patience
//                   sklearn-rf        vs ours-random-forest; our best forest trial's parameters and the number
//                                     of trees it kept, fitted on --fit-on
//                 LightGBM and the forest use --peer-threads cores (default: all); HGB its OpenMP default.
//
// Metrics on test, same rules on both sides: ROC AUC (binary: positive class; multiclass: one-vs-rest macro) and
// macro-F1 at threshold 0.5 (binary) / arg-max (multiclass). The config's tuned decision threshold is not
// applied, since the peers have none.
//
// Timing (seconds, medians over the repeats; every repeat refits from scratch):
//   fit_s                   ours: fitting the preprocessor + transforming train/validation/test + model.fit of the
//                           best trial (per-iteration validation scoring included); peers: Pipeline.fit
//   search_wall_s           ours: preprocessing + every trial of the kind (fit + test predictions)
//   predict_rows_s          class probabilities of --predict-rows rows (the test rows repeated) through the whole
//                           pipeline: ours transform + model.predict on the raw rows; peers predict_proba
//   predict_rows_model_only_s  ours: model.predict on the already preprocessed matrix
//   *_min                   the fastest repeat: other jobs only ever add time, so on a shared machine the minimum
//                           is the better estimate of what the code itself takes
//   fit_cpu_s, predict_rows_cpu_s  CPU seconds (user + system, every thread of the process) of the same spans:
//                           on a shared machine they are less distorted than wall time (a multi-threaded peer
//                           spends more CPU than wall time; a busy machine inflates wall time, not CPU time)
// Memory: peak RSS of the variant's process (getrusage maxRSS), with its value once the data was loaded
// (rss_baseline_mb) and after the fits (rss_after_fit_mb).
// Machine: every line records the machine's idle share over the second before it started and the 1-minute load
// average; on a shared machine `--wait-idle 0.9` waits (up to --wait-minutes) until others' jobs leave the cores
// idle before each variant, since a busy core slows the multi-threaded peers most (OpenMP threads spin).
//
// stdout: JSON lines only — one per variant, then ratio lines (quality: ours / peer, >1 means ours scores
// higher; time and memory: peer / ours, >1 means ours is faster / smaller; each says so in "meaning"), then
// issue 10's goals for the gbdt kind against sklearn-hgb. Progress goes to stderr.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadTrainConfig, type TrainConfig } from "../src/config/train-config.js";
import { planCandidates } from "../src/models/candidates.js";
import { KIND_NAMES } from "../src/models/kinds/index.js";
import { type PreparedData, prepareData } from "../src/pipelines/prepare-data.js";
import { projectRoot, venvExecutable } from "../src/shared/project.js";
import { collectStdout, integerFlag, machineSettler, mirrorDir, progressLogger } from "./lib.js";
import { peerColumns, peerTrainingArgs, writePeerCsv, writePeerMeta } from "./peer-data.js";
import { parseKinds, splitFingerprint, trialsOfKind, type VariantSpec } from "./train-common.js";
import {
  goalLines,
  goalMetric,
  type Line,
  type OursSummary,
  PEERS_OF,
  ratioLines,
  type VariantSummary,
} from "./train-report.js";

const here = path.dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    config: { type: "string", default: "configs/credit-default.yaml" },
    set: { type: "string", multiple: true, default: [] },
    /** Our kinds to bench (each with its peers). */
    kinds: { type: "string", default: "logistic,mlp,gbdt,random-forest" },
    repeats: { type: "string", default: "3" },
    /** Repeats of each peer model; defaults to --repeats. */
    "peer-repeats": { type: "string" },
    "fit-on": { type: "string", default: "train+validation" },
    /** Threads of the peers: n_jobs of LightGBM and the forest, OMP/BLAS threads (default: every core). */
    "peer-threads": { type: "string" },
    "predict-rows": { type: "string", default: "100000" },
    "predict-repeats": { type: "string", default: "3" },
    /** Before each variant, wait until the machine is this idle (0..1; 0 = do not wait), for at most --wait-minutes. */
    "wait-idle": { type: "string", default: "0" },
    "wait-minutes": { type: "string", default: "10" },
    mirror: { type: "string" },
    /** Keep the CSVs handed to the peer (their folder is printed on stderr). */
    "keep-data": { type: "boolean", default: false },
  },
});

const repeats = integerFlag("repeats", values.repeats);
const peerRepeats = integerFlag("peer-repeats", values["peer-repeats"] ?? values.repeats);
const peerThreads =
  values["peer-threads"] === undefined ? undefined : integerFlag("peer-threads", values["peer-threads"]);
const predictRows = integerFlag("predict-rows", values["predict-rows"]);
const predictRepeats = integerFlag("predict-repeats", values["predict-repeats"]);
const kinds = parseKinds(values.kinds, KIND_NAMES);
const waitIdle = Number(values["wait-idle"]);
if (!(waitIdle >= 0 && waitIdle < 1))
  throw new Error(`--wait-idle must be in [0, 1) (got '${values["wait-idle"]}').`);
const waitMinutes = integerFlag("wait-minutes", values["wait-minutes"], 0);
const fitOn = values["fit-on"];
if (fitOn !== "train+validation" && fitOn !== "train")
  throw new Error(`--fit-on must be train+validation or train (got '${fitOn}').`);

const progress = progressLogger("bench:train");
let failures = 0;

/** The machine's state before a run starts (after waiting for --wait-idle), recorded in its line. */
const settle = machineSettler(waitIdle, waitMinutes, progress);

/** The peer's input folder: meta.json plus train/validation/test CSVs. */
async function writePeerData(dir: string, config: TrainConfig, data: PreparedData): Promise<void> {
  const columns = peerColumns(config, data, data.splits.train);
  await writePeerMeta(dir, data, columns);
  for (const split of ["train", "validation", "test"] as const)
    await writePeerCsv(path.join(dir, `${split}.csv`), data.splits[split], columns);
}

/** Runs a child and parses the single JSON object it prints on stdout (its stderr goes to ours). */
async function runJsonChild(
  label: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Line> {
  const child = spawn(command, args, { cwd: projectRoot(), stdio: ["ignore", "pipe", "inherit"], env });
  const { code, stdout } = await collectStdout(child);
  if (code !== 0) throw new Error(`${label} exited with code ${code}`);
  const lines = stdout.split("\n").filter((line) => line.trim() !== "");
  if (lines.length !== 1) throw new Error(`${label} printed ${lines.length} lines on stdout instead of one`);
  return JSON.parse(lines[0]!) as Line;
}

let tempDir: string | undefined;
let cleanedUp: Promise<void> | undefined;
const cleanup = () => {
  cleanedUp ??= (async () => {
    if (tempDir !== undefined && !values["keep-data"]) await rm(tempDir, { recursive: true, force: true });
  })();
  return cleanedUp;
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  const config = await loadTrainConfig(values.config, values.set);
  tempDir = await mkdtemp(path.join(os.tmpdir(), "bench-train-"));
  const mirror = mirrorDir(values.mirror);
  const cores = os.availableParallelism();
  progress(
    `config ${values.config}: dataset ${config.dataset}, kinds ${kinds.join(", ")}, mirror ${mirror ?? "-"}`,
  );
  const data = await prepareData(config, {
    workDir: path.join(tempDir, "work"),
    ...(mirror === undefined ? {} : { mirror }),
  });
  const peerDir = path.join(tempDir, "peer-data");
  await writePeerData(peerDir, config, data);
  const fingerprint = splitFingerprint(data.splits);
  progress(
    `rows: train ${data.splits.train.rowCount}, validation ${data.splits.validation.rowCount}, test ${data.splits.test.rowCount}; ${data.preprocessor.featureNames.length} features; split ${fingerprint.slice(0, 12)}; peer data ${peerDir}${values["keep-data"] ? " (kept)" : ""}`,
  );

  const plans = planCandidates(config.training.candidates, config.seed);
  const common: Line = { bench: "train", dataset: config.dataset, config: config.name, cores };

  // Ours: one fresh process per kind.
  const ours = new Map<string, OursSummary & Line>();
  for (const kind of kinds) {
    const { trials, notes } = trialsOfKind(kind, plans);
    progress(
      `ours-${kind}: ${trials.map((t) => t.id).join(", ")}, ${repeats} repeat(s), fresh process${notes.map((n) => `; ${n}`).join("")}`,
    );
    const spec: VariantSpec = {
      config: values.config,
      set: values.set,
      mirror,
      workDir: path.join(tempDir, `work-${kind}`),
      kind,
      trials,
      repeats,
      predictRows,
      predictRepeats,
      fingerprint,
    };
    const specFile = path.join(tempDir, `spec-${kind}.json`);
    await writeFile(specFile, JSON.stringify(spec));
    const machine = await settle(`ours-${kind}`);
    try {
      const line = await runJsonChild(`ours-${kind}`, process.execPath, [
        "--import",
        "tsx",
        path.join(here, "train-variant.ts"),
        "--spec",
        specFile,
      ]);
      const full = { ...common, ...line, ...machine, ...(notes.length > 0 ? { notes } : {}) };
      console.log(JSON.stringify(full));
      ours.set(kind, full as unknown as OursSummary & Line);
    } catch (error) {
      failures++;
      console.log(JSON.stringify({ ...common, variant: `ours-${kind}`, error: (error as Error).message }));
    }
  }

  // Peers: one fresh process per model, each once even when two of our kinds compare with it.
  const peerModel: Record<string, string> = {
    "sklearn-logistic": "logistic",
    "sklearn-hgb": "hgb",
    "sklearn-hgb-ours-params": "hgb-ours-params",
    lightgbm: "lightgbm",
    "sklearn-rf": "rf",
  };
  const peerVariants = [...new Set(kinds.flatMap((k) => PEERS_OF[k] ?? []))];
  const peers = new Map<string, VariantSummary & Line>();
  const threadEnv =
    peerThreads === undefined
      ? {}
      : Object.fromEntries(
          ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"].map((k) => [k, String(peerThreads)]),
        );
  /** Peers fitted with our best trial's parameters (the forest: also the number of trees it kept). */
  const PARAMS_FROM: Record<string, string> = {
    "sklearn-hgb-ours-params": "gbdt",
    lightgbm: "gbdt",
    "sklearn-rf": "random-forest",
  };
  for (const variant of peerVariants) {
    const from = PARAMS_FROM[variant];
    const source = from === undefined ? undefined : ours.get(from);
    if (from !== undefined && source === undefined) {
      progress(`${variant}: skipped (it takes the parameters of our ${from}, which did not run)`);
      continue;
    }
    const oursParams = {
      ...((source?.best_params as Record<string, unknown> | undefined) ?? {}),
      ...(variant === "sklearn-rf" && source !== undefined ? { keptTrees: source.best_iteration } : {}),
    };
    const args = [
      path.join(here, "peers", "train_peer.py"),
      "--data",
      peerDir,
      "--model",
      peerModel[variant]!,
      "--repeats",
      String(peerRepeats),
      "--fit-on",
      fitOn,
      ...peerTrainingArgs(config, peerThreads ?? cores),
      "--ours-params",
      JSON.stringify(oursParams),
      "--predict-rows",
      String(predictRows),
      "--predict-repeats",
      String(predictRepeats),
    ];
    progress(`${variant}: train_peer.py (${peerRepeats} repeat(s), fresh process)`);
    const machine = await settle(variant);
    try {
      const line = await runJsonChild(
        `train_peer.py --model ${peerModel[variant]}`,
        venvExecutable("python"),
        args,
        {
          ...process.env,
          ...threadEnv,
        },
      );
      const full = { ...common, ...line, ...machine };
      console.log(JSON.stringify(full));
      peers.set(variant, full as unknown as VariantSummary & Line);
    } catch (error) {
      failures++;
      console.log(JSON.stringify({ ...common, variant, error: (error as Error).message }));
    }
  }

  for (const kind of kinds) {
    const a = ours.get(kind);
    if (a === undefined) continue;
    for (const variant of PEERS_OF[kind] ?? []) {
      const b = peers.get(variant);
      if (b === undefined) continue;
      for (const line of ratioLines(common, a, b)) console.log(JSON.stringify(line));
    }
  }
  const gbdt = ours.get("gbdt");
  const hgb = peers.get("sklearn-hgb");
  if (gbdt !== undefined && hgb !== undefined) {
    const goals = goalLines(common, gbdt, hgb, {
      metric: goalMetric(config.training.selectionMetric),
      maxFitRatio: 3,
      maxPredictSeconds: (0.5 * predictRows) / 100_000,
      rows: predictRows,
    });
    for (const line of goals) console.log(JSON.stringify(line));
  }
} finally {
  await cleanup();
}
if (failures > 0) {
  progress(`${failures} variant(s) failed (their lines carry "error")`);
  process.exitCode = 1;
}
