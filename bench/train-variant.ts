// One of our kinds, benchmarked in a fresh Node process so that its peak RSS is its own:
//   node --import tsx bench/train-variant.ts --spec FILE      (bench/train.ts writes FILE and starts this)
//
// Prepares the data as `npm run train` does (validate → split; same config, same seed), checks that the split
// is the orchestrator's (the rows the peers read), then, per repeat: fits the preprocessor on train and
// transforms train, validation and test (preprocess_s), and for every trial of the kind fits it with fitTrial
// (src/models/fit-trial.ts, as the pipeline does: the model created through the kinds table, trained on train
// with early stopping on validation, the seed derived from the config seed and the trial id), predicts test
// and scores it. The kind's best trial is the one with the
// best validation selection metric. Then the last repeat's best model predicts `predictRows` rows (the test
// rows repeated): model.predict on the preprocessed matrix, and transform + model.predict on the raw rows.
//
// stdout: one JSON object (the variant's line); progress on stderr.
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { fitOptionsFor, loadTrainConfig } from "../src/config/train-config.js";
import { takeRows } from "../src/data/table.js";
import { evaluate, higherIsBetter } from "../src/evaluation/metrics.js";
import { fitPreprocessor, transform } from "../src/features/preprocessor.js";
import type { Trial } from "../src/models/candidates.js";
import { fitTrial } from "../src/models/fit-trial.js";
import { modelKind } from "../src/models/kinds/index.js";
import type { FitData, Model } from "../src/models/model.js";
import { refitTrial } from "../src/models/refit.js";
import { prepareData } from "../src/pipelines/prepare-data.js";
import { median, progressLogger, round3, round5 } from "./lib.js";
import { splitFingerprint, type VariantSpec } from "./train-common.js";

const { values } = parseArgs({ options: { spec: { type: "string" } } });
if (values.spec === undefined) throw new Error("--spec FILE is required");
const spec = JSON.parse(await readFile(values.spec, "utf8")) as VariantSpec;
const progress = progressLogger(`bench:train ${spec.kind}`);

/** Peak resident set of this process so far, in MB. */
const maxRssMb = () => process.resourceUsage().maxRSS / 1024;
const seconds = (since: number) => (performance.now() - since) / 1000;
/** CPU seconds (user + system, every thread of this process) since `since` (a process.cpuUsage()). */
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

/** The most frequent value (first seen wins ties). */
function mode<T>(xs: readonly T[]): T {
  const counts = new Map<T, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts.entries()].reduce((best, e) => (e[1] > best[1] ? e : best))[0];
}

interface TrialResult {
  trial: Trial;
  fitSeconds: number;
  fitCpuSeconds: number;
  testPredictSeconds: number;
  bestIteration: number;
  iterations: number;
  stoppedEarly: boolean;
  validation: number;
  test: { roc_auc: number; f1_macro: number };
}

const config = await loadTrainConfig(spec.config, spec.set);
const data = await prepareData(config, {
  workDir: spec.workDir,
  ...(spec.mirror === undefined ? {} : { mirror: spec.mirror }),
});
const fingerprint = splitFingerprint(data.splits);
if (fingerprint !== spec.fingerprint)
  throw new Error(
    `the split differs from the orchestrator's (fingerprint ${fingerprint} vs ${spec.fingerprint}): the config, data or seed changed between the two processes`,
  );
const rssBaseline = maxRssMb();
const metric = config.training.selectionMetric;
const better = higherIsBetter(metric);
const kind = modelKind(spec.kind);

interface Round {
  preprocessSeconds: number;
  preprocessCpuSeconds: number;
  results: TrialResult[];
  best: TrialResult;
}

const rounds: Round[] = [];
let lastBest: { model: Model; preprocessor: ReturnType<typeof fitPreprocessor> } | undefined;
for (let r = 0; r < spec.repeats; r++) {
  progress(`repeat ${r + 1}/${spec.repeats}: ${spec.trials.length} trial(s)`);
  // Only the last repeat's best model is kept (for the predict timing).
  lastBest?.model.dispose();
  lastBest = undefined;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const preprocessor = fitPreprocessor(data.splits.train, config.features, data.manifest);
  const train = transform(preprocessor, data.splits.train);
  const validation = transform(preprocessor, data.splits.validation);
  const test = transform(preprocessor, data.splits.test);
  const preprocessSeconds = seconds(t0);
  const preprocessCpuSeconds = cpuSeconds(cpu0);
  const fitData: FitData = {
    train,
    trainLabels: data.labels.train,
    validation,
    validationLabels: data.labels.validation,
    classes: data.classes,
  };
  const results: TrialResult[] = [];
  let best: { result: TrialResult; model: Model } | undefined;
  for (const trial of spec.trials) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const { model, result: fit } = await fitTrial(trial, fitData, fitOptionsFor(config));
    const fitSeconds = seconds(started);
    const fitCpuSeconds = cpuSeconds(cpuStarted);
    const predictStarted = performance.now();
    const probabilities = model.predict(test);
    const testPredictSeconds = seconds(predictStarted);
    const scored = evaluate(data.labels.test, probabilities, data.classes).metrics;
    const kept = fit.history.find((h) => h.iteration === fit.bestIteration);
    const result: TrialResult = {
      trial,
      fitSeconds,
      fitCpuSeconds,
      testPredictSeconds,
      bestIteration: fit.bestIteration,
      iterations: fit.history.length,
      stoppedEarly: fit.stoppedEarly,
      validation: kept?.valMetric ?? Number.NaN,
      test: { roc_auc: scored.roc_auc ?? Number.NaN, f1_macro: scored.f1_macro ?? Number.NaN },
    };
    results.push(result);
    progress(
      `  ${trial.id}: fit ${fitSeconds.toFixed(2)} s, best ${kind.iterationUnit} ${result.bestIteration}/${result.iterations}, val ${metric} ${result.validation.toFixed(4)}, test roc_auc ${result.test.roc_auc.toFixed(4)} f1_macro ${result.test.f1_macro.toFixed(4)}`,
    );
    const isBetter =
      best === undefined ||
      (better ? result.validation > best.result.validation : result.validation < best.result.validation);
    if (isBetter) {
      best?.model.dispose();
      best = { result, model };
    } else model.dispose();
  }
  // training.refit, as `npm run train` does it: the winner trained again on train + validation for the
  // iterations it kept; its test metrics and fit time (the refit's included) are the kind's.
  if (config.training.refit && best !== undefined) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const done = await refitTrial(
      best.result.trial,
      best.result.bestIteration,
      fitData,
      fitOptionsFor(config),
    );
    const scored = evaluate(data.labels.test, done.fitted.model.predict(test), data.classes).metrics;
    best.result.test = { roc_auc: scored.roc_auc ?? Number.NaN, f1_macro: scored.f1_macro ?? Number.NaN };
    best.result.fitSeconds += seconds(started);
    best.result.fitCpuSeconds += cpuSeconds(cpuStarted);
    progress(
      `  refit ${best.result.trial.id} on train + validation, ${done.iterations} ${kind.iterationUnit}s: test roc_auc ${best.result.test.roc_auc.toFixed(4)} f1_macro ${best.result.test.f1_macro.toFixed(4)}`,
    );
    best.model.dispose();
    best = { result: best.result, model: done.fitted.model };
  }
  rounds.push({ preprocessSeconds, preprocessCpuSeconds, results, best: best!.result });
  lastBest = { model: best!.model, preprocessor };
}
const rssAfterFit = maxRssMb();

// Predict `predictRows` rows: the test rows repeated.
const testTable = data.splits.test;
const bigTable = takeRows(
  testTable,
  Int32Array.from({ length: spec.predictRows }, (_, i) => i % testTable.rowCount),
);
const { model, preprocessor } = lastBest!;
const bigMatrix = transform(preprocessor, bigTable);
const modelOnly: number[] = [];
const withTransform: number[] = [];
const withTransformCpu: number[] = [];
for (let p = 0; p < spec.predictRepeats; p++) {
  let t = performance.now();
  model.predict(bigMatrix);
  modelOnly.push(seconds(t));
  t = performance.now();
  const cpu = process.cpuUsage();
  model.predict(transform(preprocessor, bigTable));
  withTransform.push(seconds(t));
  withTransformCpu.push(cpuSeconds(cpu));
}
progress(
  `predict ${spec.predictRows} rows: model.predict ${median(modelOnly).toFixed(3)} s, transform + predict ${median(withTransform).toFixed(3)} s`,
);
const summary = model.summary();
model.dispose();

// The kind's best trial: the most frequent winner across repeats; medians over the repeats.
const bestId = mode(rounds.map((r) => r.best.trial.id));
const bestRounds = rounds.map((r) => r.results.find((t) => t.trial.id === bestId)!);
const bestTrial = bestRounds[bestRounds.length - 1]!;
const perTrial = spec.trials.map((trial) => {
  const results = rounds.map((r) => r.results.find((t) => t.trial.id === trial.id)!);
  return {
    id: trial.id,
    params: trial.params,
    fit_s_median: round3(median(results.map((t) => t.fitSeconds))),
    [`val_${metric}`]: round5(median(results.map((t) => t.validation))),
    test_roc_auc: round5(median(results.map((t) => t.test.roc_auc))),
    test_f1_macro: round5(median(results.map((t) => t.test.f1_macro))),
    best_iteration: results[results.length - 1]!.bestIteration,
    iterations: results[results.length - 1]!.iterations,
  };
});
const fitSeconds = rounds.map((r, i) => r.preprocessSeconds + bestRounds[i]!.fitSeconds);
const fitCpuSeconds = rounds.map((r, i) => r.preprocessCpuSeconds + bestRounds[i]!.fitCpuSeconds);
const searchSeconds = rounds.map(
  (r) => r.preprocessSeconds + r.results.reduce((a, t) => a + t.fitSeconds + t.testPredictSeconds, 0),
);

console.log(
  JSON.stringify({
    impl: "ours",
    model: spec.kind,
    variant: `ours-${spec.kind}`,
    repeats: spec.repeats,
    fit_rows: data.splits.train.rowCount + (config.training.refit ? data.splits.validation.rowCount : 0),
    early_stopping_rows: data.splits.validation.rowCount,
    refit: config.training.refit,
    test_rows: data.splits.test.rowCount,
    features: data.preprocessor.featureNames.length,
    class_weight: config.training.classWeight,
    trials: spec.trials.length,
    best_trial: bestId,
    best_trial_agreement: `${rounds.filter((r) => r.best.trial.id === bestId).length}/${rounds.length}`,
    best_params: bestTrial.trial.params,
    iteration_unit: kind.iterationUnit,
    best_iteration: bestTrial.bestIteration,
    iterations_run: bestTrial.iterations,
    stopped_early: bestTrial.stoppedEarly,
    [`val_${metric}`]: round5(median(bestRounds.map((t) => t.validation))),
    test_roc_auc: round5(median(bestRounds.map((t) => t.test.roc_auc))),
    test_f1_macro: round5(median(bestRounds.map((t) => t.test.f1_macro))),
    fit_s_median: round3(median(fitSeconds)),
    fit_s_all: fitSeconds.map(round3),
    fit_s_min: round3(Math.min(...fitSeconds)),
    fit_cpu_s_median: round3(median(fitCpuSeconds)),
    model_fit_s_median: round3(median(bestRounds.map((t) => t.fitSeconds))),
    preprocess_s_median: round3(median(rounds.map((r) => r.preprocessSeconds))),
    search_wall_s_median: round3(median(searchSeconds)),
    predict_rows: spec.predictRows,
    predict_rows_s_median: round3(median(withTransform)),
    predict_rows_s_all: withTransform.map(round3),
    predict_rows_s_min: round3(Math.min(...withTransform)),
    predict_rows_cpu_s_median: round3(median(withTransformCpu)),
    predict_rows_model_only_s_median: round3(median(modelOnly)),
    predict_rows_model_only_s_all: modelOnly.map(round3),
    predict_rows_model_only_s_min: round3(Math.min(...modelOnly)),
    rss_baseline_mb: Math.round(rssBaseline),
    rss_after_fit_mb: Math.round(rssAfterFit),
    peak_rss_mb: Math.round(maxRssMb()),
    summary,
    per_trial: perTrial,
  }),
);
