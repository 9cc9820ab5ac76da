// `npm run bench:train -- --config configs/credit-default.yaml [--repeats 3] [--peer-repeats N]
//                        [--fit-on train+validation|train] [--peer-threads N] [--set key=value ...]
//                        [--mirror DIR] [--keep-data]`
//
// Our TensorFlow.js candidates against scikit-learn baselines on the same split of the same data.
//
// The data is prepared once (validate → split → preprocess, as `npm run train` does). The raw validated rows
// of train, validation and test (the manifest's feature columns minus `features.drop`, after the manifest's
// recodes, before any preprocessing) go to CSVs in a temp dir, which bench/peers/train_peer.py reads, so
// both sides see exactly the same rows.
//
//   tfjs-logistic, tfjs-mlp   every trial of the config's candidates of that kind is trained on train, with
//                             early stopping on validation (trainNetwork), the kind's best trial chosen on
//                             the validation selection metric, and that trial evaluated on test.
//   sklearn-logistic          one-hot + StandardScaler + LogisticRegression      (see the peer's docstring)
//   sklearn-hgb               HistGradientBoostingClassifier with native categorical features
//   The peer fits on train + validation by default (it does not use our validation split for early stopping
//   or selection, so every side sees the same rows); `--fit-on train` fits it on train alone. The config's
//   `training.classWeight` is passed on (`balanced` → class_weight="balanced").
//
// Metrics on test, same rules on both sides: ROC AUC (binary: positive class; multiclass: one-vs-rest
// macro) and macro-F1 at threshold 0.5 (binary) / arg-max (multiclass). The config's tuned decision
// threshold is not applied, since the peers have none.
//
// Timing (seconds, medians over the repeats; every repeat retrains from scratch):
//   ours  preprocess_s     fitPreprocessor on train + transform of train, validation and test
//         trial           trainNetwork (per-epoch validation scoring included) + test predictions
//         wall_s          preprocess_s + every trial of the kind (the kind's whole search)
//         best_trial_wall_s  preprocess_s + the best trial alone (one fit, like one peer fit)
//   peer  wall_s          Pipeline.fit (preprocessing included) + predict_proba + predict on test
//
// stdout: JSON lines only — one per variant, then ratio lines: metric ratios are ours / peer (>1: ours
// scores higher), wall-time ratios are peer / ours (>1: ours is faster); each line says so in "meaning".
// Progress goes to stderr.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadTrainConfig, type TrainConfig } from "../src/config/train-config.js";
import { featureColumns } from "../src/data/manifest.js";
import type { Table } from "../src/data/table.js";
import { evaluate, higherIsBetter } from "../src/evaluation/metrics.js";
import { fitPreprocessor, transform } from "../src/features/preprocessor.js";
import { initTf } from "../src/models/backend.js";
import { expandCandidates, type Trial } from "../src/models/candidates.js";
import { predictProbabilities } from "../src/models/classifier.js";
import { trainNetwork, trainOptionsFor } from "../src/models/train.js";
import { type PreparedData, prepareData } from "../src/pipelines/prepare-data.js";
import { projectRoot, venvExecutable } from "../src/shared/project.js";
import { collectStdout, integerFlag, median, mirrorDir, progressLogger, round3, round5 } from "./lib.js";

type Kind = Trial["kind"];
const KINDS: readonly Kind[] = ["logistic", "mlp"];
/** Which peer each of our kinds is compared with. */
const PAIRS: readonly { ours: Kind; peer: string }[] = [
  { ours: "logistic", peer: "sklearn-logistic" },
  { ours: "mlp", peer: "sklearn-hgb" },
];

const { values } = parseArgs({
  options: {
    config: { type: "string", default: "configs/credit-default.yaml" },
    set: { type: "string", multiple: true, default: [] },
    repeats: { type: "string", default: "3" },
    /** Repeats of each peer model; defaults to --repeats. */
    "peer-repeats": { type: "string" },
    "fit-on": { type: "string", default: "train+validation" },
    /** OMP/BLAS threads for the peer (default: the libraries' own, usually every core). */
    "peer-threads": { type: "string" },
    mirror: { type: "string" },
    /** Keep the CSVs handed to the peer (their folder is printed on stderr). */
    "keep-data": { type: "boolean", default: false },
  },
});

const repeats = integerFlag("repeats", values.repeats);
const peerRepeats = integerFlag("peer-repeats", values["peer-repeats"] ?? values.repeats);
const peerThreads =
  values["peer-threads"] === undefined ? undefined : integerFlag("peer-threads", values["peer-threads"]);
const fitOn = values["fit-on"];
if (fitOn !== "train+validation" && fitOn !== "train")
  throw new Error(`--fit-on must be train+validation or train (got '${fitOn}').`);

const progress = progressLogger("bench:train");

/** The most frequent value (first seen wins ties). */
function mode<T>(xs: readonly T[]): T {
  const counts = new Map<T, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts.entries()].reduce((best, e) => (e[1] > best[1] ? e : best))[0];
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Writes one split's raw rows: numeric columns as numbers (empty = missing), categoricals as strings. */
async function writeSplitCsv(
  file: string,
  table: Table,
  numeric: readonly string[],
  categorical: readonly string[],
  target: string,
): Promise<void> {
  const lines = [[...numeric, ...categorical, target].map(csvField).join(",")];
  for (let i = 0; i < table.rowCount; i++) {
    const cells: string[] = [];
    for (const c of numeric) {
      const v = table.numeric[c]![i]!;
      cells.push(Number.isNaN(v) ? "" : String(v));
    }
    for (const c of categorical) cells.push(csvField(table.categorical[c]![i]!));
    cells.push(csvField(table.target[i]!));
    lines.push(cells.join(","));
  }
  await writeFile(file, `${lines.join("\n")}\n`);
}

/** The peer's input folder: meta.json plus train/validation/test CSVs. */
async function writePeerData(dir: string, config: TrainConfig, data: PreparedData): Promise<void> {
  const dropped = new Set(config.features.drop);
  const columns = featureColumns(data.manifest).filter((c) => !dropped.has(c));
  const numeric = columns.filter((c) => data.manifest.columns[c]!.type === "number");
  const categorical = columns.filter((c) => data.manifest.columns[c]!.type === "category");
  for (const c of numeric)
    if (data.splits.train.numeric[c] === undefined) throw new Error(`numeric column '${c}' is not loaded`);
  for (const c of categorical)
    if (data.splits.train.categorical[c] === undefined)
      throw new Error(`categorical column '${c}' is not loaded`);
  const target = data.manifest.target.column;
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, "meta.json"),
    `${JSON.stringify({ dataset: data.manifest.name, target, classes: data.classes, numeric, categorical }, null, 2)}\n`,
  );
  for (const split of ["train", "validation", "test"] as const)
    await writeSplitCsv(path.join(dir, `${split}.csv`), data.splits[split], numeric, categorical, target);
}

interface TrialResult {
  trial: Trial;
  seconds: number;
  bestEpoch: number;
  epochsRun: number;
  validation: number;
  test: { roc_auc: number; f1_macro: number };
}

interface RepeatResult {
  preprocessSeconds: number;
  trials: TrialResult[];
}

/** One repeat: refit the preprocessor, train every trial, score each on validation and test. */
async function repeatOurs(config: TrainConfig, data: PreparedData, trials: Trial[]): Promise<RepeatResult> {
  const t0 = performance.now();
  const preprocessor = fitPreprocessor(data.splits.train, config.features, data.manifest);
  const train = transform(preprocessor, data.splits.train);
  const validation = transform(preprocessor, data.splits.validation);
  const test = transform(preprocessor, data.splits.test);
  const preprocessSeconds = (performance.now() - t0) / 1000;
  const metric = config.training.selectionMetric;
  const results: TrialResult[] = [];
  for (const trial of trials) {
    const started = performance.now();
    const trained = await trainNetwork(
      trial,
      {
        train,
        trainLabels: data.labels.train,
        validation,
        validationLabels: data.labels.validation,
        classes: data.classes,
      },
      trainOptionsFor(config),
    );
    const testProbabilities = predictProbabilities(trained.model, test, data.classes.length);
    const seconds = (performance.now() - started) / 1000;
    trained.model.dispose();
    const scored = evaluate(data.labels.test, testProbabilities, data.classes).metrics;
    const best = trained.history.find((h) => h.epoch === trained.bestEpoch);
    const result: TrialResult = {
      trial,
      seconds,
      bestEpoch: trained.bestEpoch,
      epochsRun: trained.history.length,
      validation: best?.valMetric ?? Number.NaN,
      test: { roc_auc: scored.roc_auc ?? Number.NaN, f1_macro: scored.f1_macro ?? Number.NaN },
    };
    results.push(result);
    progress(
      `  ${trial.id}: ${seconds.toFixed(1)} s, best epoch ${result.bestEpoch}/${result.epochsRun}, val ${metric} ${result.validation.toFixed(4)}, test roc_auc ${result.test.roc_auc.toFixed(4)} f1_macro ${result.test.f1_macro.toFixed(4)}`,
    );
  }
  return { preprocessSeconds, trials: results };
}

interface PeerLine {
  variant: string;
  test_roc_auc: number;
  test_f1_macro: number;
  wall_s_median: number;
  [key: string]: unknown;
}

async function runPeer(dataDir: string, config: TrainConfig): Promise<PeerLine[]> {
  const peer = path.join(path.dirname(fileURLToPath(import.meta.url)), "peers", "train_peer.py");
  const args = [
    peer,
    "--data",
    dataDir,
    "--repeats",
    String(peerRepeats),
    "--fit-on",
    fitOn,
    "--class-weight",
    config.training.classWeight,
    "--seed",
    String(config.seed),
  ];
  const threadEnv =
    peerThreads === undefined
      ? {}
      : Object.fromEntries(
          ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"].map((k) => [k, String(peerThreads)]),
        );
  const child = spawn(venvExecutable("python"), args, {
    cwd: projectRoot(),
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...threadEnv },
  });
  const { code, stdout } = await collectStdout(child);
  if (code !== 0) throw new Error(`train_peer.py exited with code ${code}`);
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as PeerLine);
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
  const tf = await initTf();
  const mirror = mirrorDir(values.mirror);
  progress(
    `config ${values.config}: dataset ${config.dataset}, backend ${tf.backend}, mirror ${mirror ?? "-"}`,
  );
  const data = await prepareData(config, {
    workDir: path.join(tempDir, "work"),
    ...(mirror === undefined ? {} : { mirror }),
  });
  const peerDir = path.join(tempDir, "peer-data");
  await writePeerData(peerDir, config, data);
  progress(
    `rows: train ${data.splits.train.rowCount}, validation ${data.splits.validation.rowCount}, test ${data.splits.test.rowCount}; ${data.preprocessor.featureNames.length} features; peer data ${peerDir}${values["keep-data"] ? " (kept)" : ""}`,
  );

  const trials = expandCandidates(config.training.candidates, config.seed);
  const metric = config.training.selectionMetric;
  const better = higherIsBetter(metric);
  const rounds: RepeatResult[] = [];
  for (let r = 0; r < repeats; r++) {
    progress(`ours: repeat ${r + 1}/${repeats}, ${trials.length} trials`);
    rounds.push(await repeatOurs(config, data, trials));
  }

  const common = {
    bench: "train",
    dataset: config.dataset,
    config: config.name,
  };
  const ours = new Map<Kind, { test_roc_auc: number; test_f1_macro: number; wall: number; best: number }>();
  for (const kind of KINDS) {
    const kindTrials = trials.filter((t) => t.kind === kind);
    if (kindTrials.length === 0) continue;
    const perRound = rounds.map((round) => {
      const results = round.trials.filter((t) => t.trial.kind === kind);
      const best = results.reduce((a, b) =>
        (better ? b.validation > a.validation : b.validation < a.validation) ? b : a,
      );
      const trialsSeconds = results.reduce((a, t) => a + t.seconds, 0);
      return {
        best,
        wall: round.preprocessSeconds + trialsSeconds,
        bestWall: round.preprocessSeconds + best.seconds,
        preprocess: round.preprocessSeconds,
      };
    });
    const bestId = mode(perRound.map((p) => p.best.trial.id));
    const bestRounds = perRound.filter((p) => p.best.trial.id === bestId);
    const line = {
      test_roc_auc: median(perRound.map((p) => p.best.test.roc_auc)),
      test_f1_macro: median(perRound.map((p) => p.best.test.f1_macro)),
      wall: median(perRound.map((p) => p.wall)),
      best: median(perRound.map((p) => p.bestWall)),
    };
    ours.set(kind, line);
    const bestTrial = bestRounds[0]!.best;
    console.log(
      JSON.stringify({
        ...common,
        impl: "tfjs",
        model: kind,
        variant: `tfjs-${kind}`,
        backend: tf.backend,
        ...(tf.wasmSimd === undefined ? {} : { wasm_simd: tf.wasmSimd }),
        repeats,
        fit_rows: data.splits.train.rowCount,
        early_stopping_rows: data.splits.validation.rowCount,
        test_rows: data.splits.test.rowCount,
        features: data.preprocessor.featureNames.length,
        class_weight: config.training.classWeight,
        trials: kindTrials.length,
        best_trial: bestId,
        best_trial_agreement: `${bestRounds.length}/${perRound.length}`,
        best_params: bestTrial.trial.params,
        best_epoch: bestTrial.bestEpoch,
        epochs_run: bestTrial.epochsRun,
        [`val_${metric}`]: round5(median(bestRounds.map((p) => p.best.validation))),
        test_roc_auc: round5(line.test_roc_auc),
        test_f1_macro: round5(line.test_f1_macro),
        wall_s_median: round3(line.wall),
        wall_s_all: perRound.map((p) => round3(p.wall)),
        best_trial_wall_s_median: round3(line.best),
        best_trial_wall_s_all: perRound.map((p) => round3(p.bestWall)),
        preprocess_s_median: round3(median(perRound.map((p) => p.preprocess))),
      }),
    );
  }

  progress(
    `peer: train_peer.py (${peerRepeats} repeats, fit on ${fitOn}${peerThreads === undefined ? "" : `, ${peerThreads} threads`})`,
  );
  const peers = await runPeer(peerDir, config);
  for (const line of peers) console.log(JSON.stringify({ ...common, ...line }));

  for (const { ours: kind, peer: variant } of PAIRS) {
    const a = ours.get(kind);
    const b = peers.find((p) => p.variant === variant);
    if (a === undefined || b === undefined) continue;
    const name = `tfjs-${kind}`;
    for (const key of ["test_roc_auc", "test_f1_macro"] as const) {
      console.log(
        JSON.stringify({
          ...common,
          ratio: `${name}/${variant}`,
          metric: key,
          value: round5(a[key] / b[key]),
          ours: round5(a[key]),
          peer: b[key],
          meaning: "ours / peer: >1 means ours scores higher",
        }),
      );
    }
    for (const [measure, seconds] of [
      ["wall_s_median", a.wall],
      ["best_trial_wall_s_median", a.best],
    ] as const) {
      console.log(
        JSON.stringify({
          ...common,
          ratio: `${variant}/${name}`,
          metric: measure,
          value: round3(b.wall_s_median / seconds),
          ours: round3(seconds),
          peer: b.wall_s_median,
          meaning: `peer wall_s_median / ours ${measure}: >1 means ours is faster`,
        }),
      );
    }
  }
} finally {
  await cleanup();
}
