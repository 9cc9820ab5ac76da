// `npx tsx bench/hpc-cv.ts [--config configs/hpc.yaml] [--repeats 5] [--folds 4] [--inner-validation 0.2]
//                          [--max-folds N] [--skip-peer] [--skip-lightgbm] [--mirror DIR] [--keep-data]`
//
// Repeated stratified cross-validation of our gbdt against scikit-learn's HistGradientBoosting (and LightGBM),
// a diagnostic: is the test-split gap of `npm run bench:train` (one 650-row test split) systematic or noise?
// It measures only: nothing is tuned on a test fold.
//
// Data: every row the project's own validation keeps (prepareData: validate → rare-class rule), holdout included
// — the split of the config is not used. The raw rows (the manifest's feature columns minus `features.drop`,
// after the manifest's recodes, before any preprocessing) go to rows.csv, written as bench/train.ts writes its
// splits, so the Python peer reads exactly the same rows.
//
// Folds: --repeats × --folds stratified folds (per class: rows shuffled with a seed derived from the config seed
// and the repeat, dealt round-robin to the folds). Within each fold's training part, a stratified inner
// validation share (--inner-validation, seeded per repeat and fold) is set aside. Every fold — test rows, inner
// fit rows, inner validation rows — is written to folds.json, which both sides read.
//
// Methods, per fold (scored on the fold's test part: macro-F1 by arg-max, one-vs-rest macro ROC AUC):
//   ours-native / ours-onehot   the product's protocol: every gbdt trial of the config (its grid: maxLeaves 15
//                    and 31), with categorical native / onehot, the preprocessor fitted on the inner fit rows,
//                    trained there with early stopping on the inner validation rows (the config's selection
//                    metric, patience, class weights, seed), the trial with the best validation metric kept
//                    (ties: the first, as bench/train-variant.ts does). ours-<variant>-L<leaves>: each trial alone.
//   ours-native-hgb-protocol / ours-onehot-hgb-protocol   an engine check against HGB's defaults: maxLeaves 31,
//                    learning rate 0.1, 100 rounds, minSamplesLeaf 20, l2 0, 255 bins, no early stopping (every
//                    round kept), the preprocessor fitted on and the model trained on the fold's whole training
//                    part, like sklearn-hgb (the config's class weights). ours-native-hgb-protocol-fit-part: the
//                    same (native) on the inner fit rows only, with the product's preprocessor — against
//                    sklearn-hgb-fit-part and ours-native it splits the gap into fewer rows vs early stopping.
//   sklearn-hgb      bench/peers/hpc_cv_peer.py: HistGradientBoostingClassifier with its defaults (as the bench's
//                    sklearn-hgb: ordinal categoricals as native categorical features, class_weight from the
//                    config; early stopping "auto" is off below 10,000 rows), fitted on the whole training part.
//   sklearn-hgb-fit-part   the same fitted on the inner fit rows only (the rows ours trains on).
//   lightgbm, lightgbm-L<leaves>  our trials' parameters, trained on the inner fit rows with early stopping on the
//                    inner validation rows as the bench's peer does; the best validation trial kept.
//
// stdout, JSON lines: one per fold and method ("line": "fold"), one per method ("line": "method": mean ± std over
// the folds), one per comparison ("line": "paired": mean paired difference a − b with its naive standard error
// sd/√n and the Nadeau–Bengio corrected one sd·√(1/n + n_test/n_train), which allows for the overlap of the
// training sets of repeated CV), and a "diagnostic" line (shares of rows our preprocessor clips). Progress on
// stderr.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fitOptionsFor, loadTrainConfig, type TrainConfig } from "../src/config/train-config.js";
import { type Table, takeRows } from "../src/data/table.js";
import { evaluate, higherIsBetter } from "../src/evaluation/metrics.js";
import { type FeatureMatrix, fitPreprocessor, transform } from "../src/features/preprocessor.js";
import { planCandidates, type Trial } from "../src/models/candidates.js";
import { fitTrial } from "../src/models/fit-trial.js";
import { modelKind } from "../src/models/kinds/index.js";
import type { FitData } from "../src/models/model.js";
import { refitTrial } from "../src/models/refit.js";
import { type PreparedData, prepareData } from "../src/pipelines/prepare-data.js";
import { projectRoot, venvExecutable } from "../src/shared/project.js";
import { createRng, deriveSeed, shuffled } from "../src/shared/random.js";
import { collectStdout, integerFlag, mirrorDir, progressLogger, round5 } from "./lib.js";
import { peerColumns, peerTrainingArgs, writePeerCsv, writePeerMeta } from "./peer-data.js";
import { trialsOfKind } from "./train-common.js";

const here = path.dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    config: { type: "string", default: "configs/hpc.yaml" },
    repeats: { type: "string", default: "5" },
    folds: { type: "string", default: "4" },
    "inner-validation": { type: "string", default: "0.2" },
    /** Run only the first N folds (of repeat 1, then repeat 2 …): to time one fold. */
    "max-folds": { type: "string" },
    "skip-peer": { type: "boolean", default: false },
    "skip-lightgbm": { type: "boolean", default: false },
    mirror: { type: "string" },
    "keep-data": { type: "boolean", default: false },
  },
});

const repeats = integerFlag("repeats", values.repeats);
const foldCount = integerFlag("folds", values.folds, 2);
const innerShare = Number(values["inner-validation"]);
if (!(innerShare > 0 && innerShare < 1))
  throw new Error(`--inner-validation must be in (0, 1) (got '${values["inner-validation"]}').`);
const maxFolds =
  values["max-folds"] === undefined ? repeats * foldCount : integerFlag("max-folds", values["max-folds"]);
const progress = progressLogger("bench:hpc-cv");

/** One fold of one repeat: row indices into the table (ascending). */
interface Fold {
  repeat: number;
  fold: number;
  test: number[];
  /** The training part minus the inner validation share: what ours trains on. */
  fit: number[];
  /** The inner validation share of the training part: ours stops early and picks its trial on it. */
  validation: number[];
}

/** One method's scores on one fold. */
interface FoldLine {
  repeat: number;
  fold: number;
  method: string;
  f1_macro: number;
  roc_auc: number;
  [extra: string]: unknown;
}

function rowsByClass(target: readonly string[], indices: readonly number[]): Map<string, number[]> {
  const byClass = new Map<string, number[]>();
  for (const i of indices) {
    const list = byClass.get(target[i]!) ?? [];
    list.push(i);
    byClass.set(target[i]!, list);
  }
  return new Map([...byClass.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Stratified k-fold assignment of every row, then the inner validation share of each training part. */
function makeFolds(target: readonly string[], seed: number): Fold[] {
  const all = Array.from({ length: target.length }, (_, i) => i);
  const folds: Fold[] = [];
  for (let r = 0; r < repeats; r++) {
    const rng = createRng(deriveSeed(seed, `cv-repeat-${r}`));
    const foldOf = new Int32Array(target.length);
    let dealt = 0;
    for (const rows of rowsByClass(target, all).values())
      for (const i of shuffled(rows, rng)) foldOf[i] = dealt++ % foldCount;
    for (let f = 0; f < foldCount; f++) {
      const test = all.filter((i) => foldOf[i] === f);
      const training = all.filter((i) => foldOf[i] !== f);
      const innerRng = createRng(deriveSeed(seed, `cv-inner-${r}-${f}`));
      const validation: number[] = [];
      for (const rows of rowsByClass(target, training).values())
        validation.push(...shuffled(rows, innerRng).slice(0, Math.round(rows.length * innerShare)));
      const inValidation = new Set(validation);
      folds.push({
        repeat: r,
        fold: f,
        test,
        fit: training.filter((i) => !inValidation.has(i)),
        validation: validation.sort((a, b) => a - b),
      });
    }
  }
  return folds;
}

/** meta.json and rows.csv (every validated row, as bench/train.ts writes a split). */
async function writePeerData(dir: string, config: TrainConfig, data: PreparedData): Promise<void> {
  const columns = peerColumns(config, data, data.table);
  await writePeerMeta(dir, data, columns);
  await writePeerCsv(path.join(dir, "rows.csv"), data.table, columns);
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1). */
const std = (xs: readonly number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
};

let tempDir: string | undefined;
const cleanup = async () => {
  if (tempDir !== undefined && !values["keep-data"]) await rm(tempDir, { recursive: true, force: true });
};

try {
  const config = await loadTrainConfig(values.config);
  tempDir = await mkdtemp(path.join(os.tmpdir(), "bench-hpc-cv-"));
  const mirror = mirrorDir(values.mirror);
  const data = await prepareData(config, {
    workDir: path.join(tempDir, "work"),
    ...(mirror === undefined ? {} : { mirror }),
  });
  const table = data.table;
  const classes = data.classes;
  const folds = makeFolds(table.target, config.seed).slice(0, maxFolds);
  const peerDir = path.join(tempDir, "peer-data");
  await writePeerData(peerDir, config, data);
  await writeFile(path.join(peerDir, "folds.json"), JSON.stringify(folds));
  progress(
    `${table.rowCount} rows, ${repeats} × ${foldCount}-fold CV (${folds.length} fold(s) run), inner validation ${innerShare}; data ${peerDir}${values["keep-data"] ? " (kept)" : ""}`,
  );

  const gbdtTrials = trialsOfKind("gbdt", planCandidates(config.training.candidates, config.seed)).trials;
  const gbdt = modelKind("gbdt");
  const withParams = (trial: Trial, params: Record<string, unknown>, id = trial.id): Trial => ({
    ...trial,
    id,
    params: gbdt.params.parse({ ...trial.params, ...params }) as Record<string, unknown>,
  });
  const fitOptions = fitOptionsFor(config);
  const better = higherIsBetter(config.training.selectionMetric);
  const common = { bench: "hpc-cv", dataset: config.dataset, config: config.name };
  const lines: FoldLine[] = [];
  const emit = (line: FoldLine) => {
    lines.push(line);
    console.log(JSON.stringify({ ...common, line: "fold", ...line }));
  };

  // Diagnostic: how many rows of each numeric feature our preprocessor clips (fitted on every row).
  {
    const pre = fitPreprocessor(table, config.features, data.manifest);
    const x = transform(pre, table);
    const clipped: Record<string, number> = {};
    pre.numeric.forEach((step, j) => {
      let n = 0;
      for (let i = 0; i < x.rows; i++) if (Math.abs(x.values[i * x.cols + j]!) >= pre.clip) n++;
      clipped[step.name] = round5(n / x.rows);
    });
    console.log(
      JSON.stringify({
        ...common,
        line: "diagnostic",
        rows: table.rowCount,
        features: pre.featureNames,
        clip: pre.clip,
        clipped_share: clipped,
        categories: Object.fromEntries(pre.categorical.map((s) => [s.name, s.categories.length])),
      }),
    );
  }

  // Peer first (one thread), then ours; never both at once.
  if (!values["skip-peer"]) {
    const started = performance.now();
    const args = [
      path.join(here, "peers", "hpc_cv_peer.py"),
      "--data",
      peerDir,
      ...peerTrainingArgs(config, 1),
      "--trials",
      JSON.stringify(gbdtTrials.map((t) => t.params)),
      ...(values["skip-lightgbm"] ? ["--skip-lightgbm"] : []),
    ];
    const threadEnv = Object.fromEntries(
      ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"].map((k) => [k, "1"]),
    );
    const child = spawn(venvExecutable("python"), args, {
      cwd: projectRoot(),
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...threadEnv },
    });
    const { code, stdout } = await collectStdout(child);
    if (code !== 0) throw new Error(`hpc_cv_peer.py exited with code ${code}`);
    for (const text of stdout.split("\n").filter((l) => l.trim() !== "")) emit(JSON.parse(text) as FoldLine);
    progress(`peer: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  const labelsOf = (t: Table) => Int32Array.from(t.target, (c) => classes.indexOf(c));
  const score = (
    labels: Int32Array,
    x: FeatureMatrix,
    model: { predict(x: FeatureMatrix): Float32Array },
  ) => {
    const metrics = evaluate(labels, model.predict(x), classes).metrics;
    return {
      f1_macro: round5(metrics.f1_macro ?? Number.NaN),
      roc_auc: round5(metrics.roc_auc ?? Number.NaN),
    };
  };
  // HGB's defaults in our parameters; every round kept (minDelta −∞: each round counts as an improvement).
  const hgbDefaults = {
    rounds: 100,
    learningRate: 0.1,
    maxLeaves: 31,
    minSamplesLeaf: 20,
    l2: 0,
    maxBins: 255,
    earlyStoppingRounds: null,
  };
  const keepEveryRound = {
    ...fitOptions,
    earlyStopping: { patience: Number.MAX_SAFE_INTEGER, minDelta: Number.NEGATIVE_INFINITY },
  };

  for (const fold of folds) {
    const started = performance.now();
    const at = { repeat: fold.repeat, fold: fold.fold };
    const fitTable = takeRows(table, fold.fit);
    const validationTable = takeRows(table, fold.validation);
    const testTable = takeRows(table, fold.test);
    const testLabels = labelsOf(testTable);

    // The product's protocol.
    const pre = fitPreprocessor(fitTable, config.features, data.manifest);
    const fitData: FitData = {
      train: transform(pre, fitTable),
      trainLabels: labelsOf(fitTable),
      validation: transform(pre, validationTable),
      validationLabels: labelsOf(validationTable),
      classes,
    };
    const test = transform(pre, testTable);
    for (const categorical of ["native", "onehot"] as const) {
      let best: FoldLine | undefined;
      let bestValidation = Number.NaN;
      let bestTrial: { trial: Trial; iterations: number } | undefined;
      for (const trial of gbdtTrials) {
        const t0 = performance.now();
        const fitted = withParams(trial, { categorical });
        const { model, result } = await fitTrial(fitted, fitData, fitOptions);
        const fitSeconds = (performance.now() - t0) / 1000;
        const validation =
          result.history.find((h) => h.iteration === result.bestIteration)?.valMetric ?? Number.NaN;
        const line: FoldLine = {
          ...at,
          method: `ours-${categorical}-L${String(trial.params.maxLeaves)}`,
          ...score(testLabels, test, model),
          [`val_${config.training.selectionMetric}`]: round5(validation),
          max_leaves: trial.params.maxLeaves,
          best_iteration: result.bestIteration,
          iterations: result.history.length,
          fit_s: Number(fitSeconds.toFixed(3)),
        };
        model.dispose();
        emit(line);
        if (best === undefined || (better ? validation > bestValidation : validation < bestValidation)) {
          best = line;
          bestValidation = validation;
          bestTrial = { trial: fitted, iterations: result.bestIteration };
        }
      }
      emit({ ...best!, method: `ours-${categorical}` });
      // training.refit (configs/hpc.yaml): the winner trained again on fit + validation rows for the rounds it
      // kept, with the same preprocessor (fitted on the fit rows), as `npm run train` does.
      {
        const t0 = performance.now();
        const done = await refitTrial(bestTrial!.trial, bestTrial!.iterations, fitData, fitOptions);
        emit({
          ...at,
          method: `ours-${categorical}-refit`,
          ...score(testLabels, test, done.fitted.model),
          best_iteration: done.iterations,
          iterations: done.fitted.result.history.length,
          fit_s: Number(((performance.now() - t0) / 1000).toFixed(3)),
        });
        done.fitted.model.dispose();
      }
    }

    // HGB's parameters (100 rounds, every one kept) on the fit rows only: separates what the fewer rows cost from
    // what early stopping costs (compare with sklearn-hgb-fit-part and ours-native).
    {
      const trial = withParams(
        gbdtTrials[0]!,
        { ...hgbDefaults, categorical: "native" },
        "gbdt-hgb-defaults",
      );
      const t0 = performance.now();
      const { model, result } = await fitTrial(
        trial,
        { ...fitData, validation: fitData.train, validationLabels: fitData.trainLabels },
        keepEveryRound,
      );
      const fitSeconds = (performance.now() - t0) / 1000;
      emit({
        ...at,
        method: "ours-native-hgb-protocol-fit-part",
        ...score(testLabels, test, model),
        best_iteration: result.bestIteration,
        iterations: result.history.length,
        fit_s: Number(fitSeconds.toFixed(3)),
      });
      model.dispose();
    }

    // HGB's protocol: HGB's default parameters, the whole training part, no early stopping.
    const trainingTable = takeRows(table, [...fold.fit, ...fold.validation]);
    const preAll = fitPreprocessor(trainingTable, config.features, data.manifest);
    const training = transform(preAll, trainingTable);
    const trainingLabels = labelsOf(trainingTable);
    const testAll = transform(preAll, testTable);
    for (const categorical of ["native", "onehot"] as const) {
      const trial = withParams(gbdtTrials[0]!, { ...hgbDefaults, categorical }, "gbdt-hgb-defaults");
      const t0 = performance.now();
      const { model, result } = await fitTrial(
        trial,
        // The validation set only feeds the per-round bookkeeping: every round is kept.
        {
          train: training,
          trainLabels: trainingLabels,
          validation: training,
          validationLabels: trainingLabels,
          classes,
        },
        keepEveryRound,
      );
      const fitSeconds = (performance.now() - t0) / 1000;
      emit({
        ...at,
        method: `ours-${categorical}-hgb-protocol`,
        ...score(testLabels, testAll, model),
        best_iteration: result.bestIteration,
        iterations: result.history.length,
        fit_s: Number(fitSeconds.toFixed(3)),
      });
      model.dispose();
    }
    progress(
      `repeat ${fold.repeat + 1} fold ${fold.fold + 1}: ours ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }

  // Summaries.
  const methods = [...new Set(lines.map((l) => l.method))];
  const key = (l: FoldLine) => `${l.repeat}/${l.fold}`;
  const byMethod = new Map(
    methods.map((m) => [m, new Map(lines.filter((l) => l.method === m).map((l) => [key(l), l]))]),
  );
  for (const method of methods) {
    const rows = [...byMethod.get(method)!.values()];
    const f1 = rows.map((l) => l.f1_macro);
    const auc = rows.map((l) => l.roc_auc);
    console.log(
      JSON.stringify({
        ...common,
        line: "method",
        method,
        folds: rows.length,
        f1_macro_mean: round5(mean(f1)),
        f1_macro_std: round5(std(f1)),
        roc_auc_mean: round5(mean(auc)),
        roc_auc_std: round5(std(auc)),
      }),
    );
  }
  const testShare = 1 / foldCount;
  const trainShare = 1 - testShare;
  const pairs: [string, string][] = [
    ...methods.filter((m) => m !== "sklearn-hgb").map((m): [string, string] => [m, "sklearn-hgb"]),
    ["ours-native", "ours-onehot"],
    ["ours-native", "lightgbm"],
    ["ours-native-hgb-protocol", "ours-onehot-hgb-protocol"],
    ["ours-native", "sklearn-hgb-fit-part"],
    ["ours-native-hgb-protocol-fit-part", "sklearn-hgb-fit-part"],
    ["ours-native", "ours-native-hgb-protocol-fit-part"],
    ["lightgbm", "sklearn-hgb-fit-part"],
  ];
  for (const [a, b] of pairs) {
    const la = byMethod.get(a);
    const lb = byMethod.get(b);
    if (la === undefined || lb === undefined) continue;
    const paired = [...la.entries()].filter(([k]) => lb.has(k));
    if (paired.length === 0) continue;
    const diffs = paired.map(([k, l]) => l.f1_macro - lb.get(k)!.f1_macro);
    const sd = std(diffs);
    const n = diffs.length;
    const perRepeat = [...new Set(paired.map(([, l]) => l.repeat))].map((r) =>
      round5(
        mean(paired.filter(([, l]) => l.repeat === r).map(([k, l]) => l.f1_macro - lb.get(k)!.f1_macro)),
      ),
    );
    const seNaive = sd / Math.sqrt(n);
    const seCorrected = sd * Math.sqrt(1 / n + testShare / trainShare);
    console.log(
      JSON.stringify({
        ...common,
        line: "paired",
        metric: "f1_macro",
        a,
        b,
        folds: n,
        mean_diff: round5(mean(diffs)),
        sd_diff: round5(sd),
        se_naive: round5(seNaive),
        t_naive: Number((mean(diffs) / seNaive).toFixed(2)),
        se_corrected: round5(seCorrected),
        t_corrected: Number((mean(diffs) / seCorrected).toFixed(2)),
        a_wins: diffs.filter((d) => d > 0).length,
        ties: diffs.filter((d) => d === 0).length,
        b_wins: diffs.filter((d) => d < 0).length,
        per_repeat_mean_diff: perRepeat,
      }),
    );
  }
} finally {
  await cleanup();
}
