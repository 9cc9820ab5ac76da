import { createReadStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse";
import { fitOptionsFor, type TrainConfig } from "../config/train-config.js";
import type { AcquireOptions, DatasetFile } from "../data/acquire.js";
import { positiveClass } from "../data/manifest.js";
import { splitDatasetInput } from "../data/mlflow-dataset.js";
import { qaSections } from "../data/qa.js";
import { type DataSnapshot, snapshotDataset } from "../data/snapshot.js";
import type { SplitName } from "../data/split.js";
import { rowRecord, type Table } from "../data/table.js";
import { calibrationCurve, prCurve, rocCurve } from "../evaluation/binary.js";
import { type Evaluation, evaluate, higherIsBetter } from "../evaluation/metrics.js";
import { chooseThreshold } from "../evaluation/threshold.js";
import { initTf } from "../models/backend.js";
import type { Trial } from "../models/candidates.js";
import { KINDS } from "../models/kinds/index.js";
import type { FeatureImportance, IterationRecord, Model } from "../models/model.js";
import { startTrialWorkers, type TrialWorkers } from "../models/pool.js";
import { type RefitTrial, refitTrial } from "../models/refit.js";
import { type TrialOutcome, trainCandidates } from "../models/search.js";
import { buildReferenceProfile, writeReferenceProfile } from "../monitoring/profile.js";
import { PACKAGE_FORMAT_VERSION, writeModelPackage } from "../registry/model-package.js";
import { logAndRegisterModel } from "../registry/register.js";
import { signatureInputs } from "../registry/signature.js";
import type { Logger } from "../shared/logger.js";
import { projectRoot } from "../shared/project.js";
import type { MetricPoint } from "../tracking/batch.js";
import type { MlflowClient } from "../tracking/client.js";
import { TrackingSession } from "../tracking/session.js";
import type { DatasetInput, StringMap } from "../tracking/types.js";
import { type Tracker, withRun } from "../tracking/with-run.js";
import {
  calibrationFigure,
  importanceFigure,
  prFigure,
  rocFigure,
  trainingCurvesFigure,
} from "../viz/figure.js";
import { type ReportSection, writeHtmlReport } from "../viz/html-report.js";
import {
  analyseErrors,
  type ErrorAnalysis,
  TOP_FEATURES_PER_CLASS,
  writeErrorAnalysis,
} from "./error-analysis.js";
import { type PreparedData, prepareData } from "./prepare-data.js";
import { captureRecipe, flattenParams, type NotebookSource, type Recipe } from "./recipe.js";

export interface CandidateSummary {
  id: string;
  kind: string;
  params: Record<string, unknown>;
  runId: string;
  /** The iteration (epoch, boosting round, tree) whose state the model keeps. */
  bestIteration: number;
  /** Iterations run. */
  iterations: number;
  /** What one iteration is for this kind ("epoch", "round", "tree"). */
  unit: string;
  /** Stopped early by the search's pruning rule. */
  pruned: boolean;
  seconds: number;
  validation: Record<string, number>;
}

export type TrainEvent =
  | { type: "data"; rows: number; quarantined: number; features: number; backend: string }
  | { type: "trial-start"; trial: Trial; index: number; total: number }
  | { type: "iteration"; trial: Trial; record: IterationRecord; planned: number; unit: string }
  | { type: "trial-end"; summary: CandidateSummary }
  /** training.refit: the winner trained again on train + validation (`rows` rows) for `iterations` iterations. */
  | { type: "refit"; trial: Trial; iterations: number; unit: string; rows: number; seconds: number };

export interface TrainContext {
  client: MlflowClient;
  /** Where runs are recorded; defaults to the client directly (heartbeat, no spool). */
  tracking?: TrackingSession;
  logger: Logger;
  onEvent?: (event: TrainEvent) => void;
  now?: () => Date;
}

export interface TrainOptions extends AcquireOptions {
  configFile?: string;
  entryPoint?: string;
  /** Keep the working files (QA report, plots, model package) here instead of a temp dir. */
  workDir?: string;
  /** Train on this exact file instead of acquiring the dataset (replays on logged data). */
  dataFile?: DatasetFile;
  /** Keep a content-addressed copy of the data in the tracking server (default true): replays need it. */
  snapshotData?: boolean;
  /** The run was started from a notebook: its path and parameter values, and the file is logged. */
  notebook?: NotebookSource;
  /** This run replays another (recorded in the recipe and as tags). */
  replayOf?: Recipe["replayOf"];
  /** Extra tags of the parent run. */
  tags?: StringMap;
  /** Worker threads for the candidates (overrides training.workers; 1 = in-process). */
  workers?: number;
}

export interface TrainResult {
  experimentId: string;
  runId: string;
  runUrl: string;
  backend: string;
  candidates: CandidateSummary[];
  best: CandidateSummary;
  /** training.refit: what the registered model was trained on instead of the candidate's train split. */
  refit?: { iterations: number; rows: number };
  threshold: number | undefined;
  metrics: {
    validation: Record<string, number>;
    test: Record<string, number>;
    holdout: Record<string, number>;
  };
  data: {
    rows: number;
    quarantined: number;
    badFraction: number;
    quarantineFile: string | undefined;
    sha256: string;
    snapshot: string | undefined;
  };
  model: { name: string; version: string; alias: string; modelId: string; url: string };
  /** The raw (unscored) test split and holdout: what the promotion gate scores champion and challenger on. */
  evaluationSplits: { test: Table; holdout: Table };
}

function prefixed(
  prefix: string,
  metrics: Record<string, number>,
  extra: Omit<MetricPoint, "key" | "value"> = {},
): MetricPoint[] {
  return Object.entries(metrics)
    .filter(([, v]) => Number.isFinite(v))
    .map(([k, v]) => ({ key: `${prefix}_${k}`, value: v, ...extra }));
}

/**
 * The per-iteration curves, and (when the model kept an earlier iteration than the last) that iteration's
 * values once more at the next step, as MLflow's Keras autologging logs the restored epoch: the latest
 * value of each curve, the one MLflow shows, is then the kept model's. `val_loss` is that value too.
 */
export function iterationMetrics(history: IterationRecord[], best: number, metric: string): MetricPoint[] {
  const points = (h: IterationRecord, step: number): MetricPoint[] => [
    { key: "train_loss", value: h.loss, step },
    { key: "val_loss_by_iteration", value: h.valLoss, step },
    { key: `val_${metric}_by_iteration`, value: h.valMetric, step },
  ];
  const kept = history.find((h) => h.iteration === best);
  const last = history.at(-1);
  return [
    ...history.flatMap((h) => points(h, h.iteration)),
    ...(kept === undefined || last === undefined || kept === last ? [] : points(kept, last.iteration + 1)),
    ...(kept === undefined ? [] : [{ key: "val_loss", value: kept.valLoss }]),
  ];
}

function evaluationSections(
  name: string,
  data: PreparedData,
  test: Evaluation,
  testProbabilities: Float32Array,
  history: IterationRecord[],
  unit: string,
  metric: string,
  importance: FeatureImportance[] | undefined,
  analysis: ErrorAnalysis,
): ReportSection[] {
  const sections: ReportSection[] = [
    {
      heading: "Metrics (test split)",
      table: { columns: ["metric", "value"], rows: Object.entries(test.metrics).map(([k, v]) => [k, v]) },
    },
    ...analysis.sections,
  ];
  if (data.classes.length === 2) {
    const y = data.labels.test;
    const scores = Float64Array.from({ length: y.length }, (_, i) => testProbabilities[i * 2 + 1]!);
    const roc = rocCurve(y, scores);
    const pr = prCurve(y, scores);
    const base = y.reduce((a, b) => a + b, 0) / y.length;
    sections.push(
      {
        heading: "ROC (test)",
        figure: rocFigure([{ name, ...roc, auc: test.metrics.roc_auc ?? Number.NaN }]),
      },
      {
        heading: "Precision–recall (test)",
        figure: prFigure(
          [{ name, recall: pr.recall, precision: pr.precision, ap: test.metrics.pr_auc ?? Number.NaN }],
          base,
        ),
      },
      { heading: "Calibration (test)", figure: calibrationFigure(calibrationCurve(y, scores, 10)) },
    );
  }
  sections.push({ heading: "Training curves", figure: trainingCurvesFigure(history, metric, unit) });
  if (importance !== undefined && importance.length > 0)
    sections.push(
      { heading: "Feature importance (gain)", figure: importanceFigure(importance, 30) },
      {
        heading: "Feature importance (table)",
        table: {
          columns: ["feature", "gain", "share", "splits"],
          rows: importanceRows(importance).map((r) => [r.feature, r.gain, r.share, r.splits]),
        },
      },
    );
  sections.push(...analysis.details);
  return sections;
}

/**
 * The training pipeline: data (validated, profiled, split), every candidate as a child run, selection on
 * validation, test and holdout evaluation of the winner, plots, the recipe, and a registered model version.
 */
export async function trainPipeline(
  context: TrainContext,
  config: TrainConfig,
  options: TrainOptions = {},
): Promise<TrainResult> {
  // The candidates' worker threads start now and load their modules (TensorFlow.js included) while the data is
  // prepared. trainCandidates closes them; this closes them when the run fails before it.
  const workers = startTrialWorkers(options.workers ?? config.training.workers ?? undefined);
  try {
    return await runTrainPipeline(context, config, options, workers);
  } finally {
    await workers.close();
  }
}

async function runTrainPipeline(
  context: TrainContext,
  config: TrainConfig,
  options: TrainOptions,
  workers: TrialWorkers,
): Promise<TrainResult> {
  const { client, logger } = context;
  const tracking = context.tracking ?? new TrackingSession({ client, logger });
  const now = context.now ?? (() => new Date());
  const emit = context.onEvent ?? (() => {});
  const tf = await initTf();
  const data = await prepareData(config, options);
  const work = data.workDir;
  emit({
    type: "data",
    rows: data.validation.rowsRead,
    quarantined: data.validation.rowsQuarantined,
    features: data.preprocessor.featureNames.length,
    backend: tf.backend,
  });
  const metric = config.training.selectionMetric;
  const snapshot = options.snapshotData === false ? undefined : await snapshotVia(tracking, data.source);
  const notebook =
    options.notebook === undefined
      ? undefined
      : { ...options.notebook, artifact: `notebook/${path.basename(options.notebook.path)}` };
  const recipe = await captureRecipe({
    entryPoint: options.entryPoint ?? "npm run train",
    config,
    configFile: options.configFile,
    data: {
      dataset: data.manifest.name,
      uri: data.source.source,
      sha256: data.source.sha256,
      fingerprints: data.splits.fingerprints,
      ...(snapshot === undefined ? {} : { snapshot: snapshot.uri, file: snapshot.file }),
    },
    backend: tf.backend,
    wasmKernels: tf.wasmKernels,
    now: now(),
    ...(notebook === undefined ? {} : { notebook }),
    ...(options.replayOf === undefined ? {} : { replayOf: options.replayOf }),
  });
  try {
    return await withRun(
      tracking,
      {
        experimentName: config.experiment,
        runName: `${config.name}-${now().toISOString().slice(0, 19).replace(/[-:T]/g, "")}`,
        description: config.description,
        logger,
        tags: {
          "workbench.pipeline": "train",
          "workbench.config": config.name,
          "workbench.backend": tf.backend,
          "workbench.wasm_simd": String(tf.wasmSimd ?? false),
          ...(tf.wasmKernels === undefined ? {} : { "workbench.wasm_kernels": tf.wasmKernels }),
          "workbench.git.dirty": String(recipe.git.dirty ?? "unknown"),
          "workbench.data.sha256": data.source.sha256,
          "workbench.node": process.version,
          ...(snapshot === undefined ? {} : { "workbench.data.snapshot": snapshot.uri }),
          ...(notebook === undefined ? {} : { "workbench.notebook": notebook.path }),
          ...(options.replayOf === undefined
            ? {}
            : {
                "workbench.replay_of": options.replayOf.runId,
                "workbench.replay.data": options.replayOf.data,
              }),
          ...options.tags,
        },
      },
      async (parent) => {
        await parent.logBatch({
          params: {
            ...flattenParams(config, "config"),
            "data.source": data.source.source,
            "data.sha256": data.source.sha256,
            // A query download (the CFPB API): the request it answered, as recorded beside the file.
            ...(data.source.provenance === undefined ? {} : { "data.query": data.source.provenance.url }),
            // What data.rareClasses did: rows per class before and after (also in qa/qa.json).
            ...(data.rareClasses === undefined
              ? {}
              : {
                  "data.class_counts.before": JSON.stringify(data.rareClasses.before),
                  "data.class_counts.after": JSON.stringify(data.rareClasses.after),
                }),
          },
          metrics: [
            { key: "data_rows_read", value: data.validation.rowsRead },
            { key: "data_rows_accepted", value: data.validation.rowsAccepted },
            { key: "data_rows_quarantined", value: data.validation.rowsQuarantined },
            { key: "data_bad_fraction", value: data.validation.badFraction },
            ...(["train", "validation", "test", "holdout"] as const).map((s) => ({
              key: `data_rows_${s}`,
              value: data.splits[s].rowCount,
            })),
          ],
        });
        const datasets = Object.fromEntries(
          SPLITS.map((s) => [
            s,
            splitDatasetInput(data.manifest, s, data.splits[s], data.splits.fingerprints[s], data.source),
          ]),
        ) as Record<SplitName, DatasetInput>;
        await parent.logInputs(SPLITS.map((s) => datasets[s]));
        await logDataArtifacts(parent, data, work);
        await writeFile(path.join(work, "recipe.json"), `${JSON.stringify(recipe, null, 2)}\n`);
        await writeFile(path.join(work, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
        await parent.logArtifact(path.join(work, "recipe.json"));
        await parent.logArtifact(path.join(work, "config.json"));
        if (notebook !== undefined)
          await parent.logArtifact(path.resolve(projectRoot(), notebook.path), "notebook");

        const candidates: (CandidateSummary & { model: Model; history: IterationRecord[] })[] = [];
        const unitOf = (trial: Trial) => KINDS[trial.kind].iterationUnit;
        const outcomes = await trainCandidates(
          config.training.candidates,
          {
            train: data.matrices.train,
            trainLabels: data.labels.train,
            validation: data.matrices.validation,
            validationLabels: data.labels.validation,
            classes: data.classes,
          },
          { ...fitOptionsFor(config), workers },
          {
            onTrialStart: (trial, index, total) => emit({ type: "trial-start", trial, index, total }),
            onIteration: (trial, record, planned) =>
              emit({ type: "iteration", trial, record, planned, unit: unitOf(trial) }),
            around: (trial, train) =>
              parent.child(
                { runName: trial.id, tags: { "workbench.candidate": trial.kind } },
                async (child): Promise<TrialOutcome> => {
                  await child.logParams({ kind: trial.kind, ...flattenParams(trial.params) });
                  await child.logInputs([datasets.train, datasets.validation]);
                  const outcome = await train();
                  const { result, model } = outcome;
                  const summaryOf = model.summary();
                  await child.logBatch({
                    metrics: [
                      ...iterationMetrics(result.history, result.bestIteration, metric),
                      ...prefixed("val", outcome.validation),
                      { key: "best_iteration", value: result.bestIteration },
                      { key: "iterations", value: result.history.length },
                      { key: "train_seconds", value: outcome.seconds },
                      ...Object.entries(summaryOf)
                        .filter((e): e is [string, number] => typeof e[1] === "number")
                        .map(([k, v]) => ({ key: `model_${k}`, value: v })),
                    ].filter((m) => Number.isFinite(m.value)),
                  });
                  await child.setTags({
                    "workbench.iteration_unit": unitOf(trial),
                    "workbench.pruned": String(result.pruned),
                    ...Object.fromEntries(
                      Object.entries(summaryOf)
                        .filter((e) => typeof e[1] !== "number")
                        .map(([k, v]) => [`workbench.model.${k}`, String(v)]),
                    ),
                  });
                  const importance = model.importance?.();
                  if (importance !== undefined && importance.length > 0) {
                    const file = path.join(work, `importance-${trial.id}`, "feature_importance.json");
                    await mkdir(path.dirname(file), { recursive: true });
                    const rows = importanceRows(importance);
                    await writeFile(
                      file,
                      `${JSON.stringify({ columns: ["feature", "gain", "share", "splits"], data: rows.map((r) => [r.feature, r.gain, r.share, r.splits]) })}\n`,
                    );
                    await child.logArtifact(file, "importance");
                  }
                  candidates.push({
                    id: trial.id,
                    kind: trial.kind,
                    params: trial.params,
                    runId: child.runId,
                    bestIteration: result.bestIteration,
                    iterations: result.history.length,
                    unit: unitOf(trial),
                    pruned: result.pruned,
                    seconds: outcome.seconds,
                    validation: outcome.validation,
                    model,
                    history: result.history,
                  });
                  const { model: _m, history: _h, ...plain } = candidates[candidates.length - 1]!;
                  emit({ type: "trial-end", summary: plain });
                  return outcome;
                },
              ),
          },
        );
        // Trial order (ids), not completion order.
        const order = new Map(outcomes.map((o, i) => [o.trial.id, i]));
        candidates.sort((x, y) => order.get(x.id)! - order.get(y.id)!);

        const better = higherIsBetter(metric);
        const best = candidates.reduce((a, b) => {
          const va = a.validation[metric] ?? Number.NaN;
          const vb = b.validation[metric] ?? Number.NaN;
          return (better ? vb > va : vb < va) ? b : a;
        });
        const k = data.classes.length;
        // training.refit: the winner trained again on train + validation for the iterations it kept, as a child
        // run of its own; that model is evaluated on test and holdout and registered. Validation's predictions
        // (threshold, metrics, the reference profile) stay the candidate's: out of sample.
        let refit: RefitTrial | undefined;
        if (config.training.refit) {
          const trial = outcomes.find((o) => o.trial.id === best.id)!.trial;
          const rows = data.matrices.train.rows + data.matrices.validation.rows;
          refit = await parent.child(
            {
              runName: `${best.id}-refit`,
              tags: { "workbench.candidate": best.kind, "workbench.refit_of": best.runId },
            },
            async (child) => {
              const done = await refitTrial(
                trial,
                best.bestIteration,
                {
                  train: data.matrices.train,
                  trainLabels: data.labels.train,
                  validation: data.matrices.validation,
                  validationLabels: data.labels.validation,
                  classes: data.classes,
                },
                fitOptionsFor(config),
              );
              await child.logParams({ kind: best.kind, ...flattenParams(done.trial.params) });
              // Both splits are training data here.
              await child.logInputs([
                datasets.train,
                {
                  ...datasets.validation,
                  tags: { ...datasets.validation.tags, "mlflow.data.context": "train" },
                },
              ]);
              await child.logBatch({
                metrics: [
                  { key: "iterations", value: done.iterations },
                  { key: "train_rows", value: rows },
                  { key: "train_seconds", value: done.fitted.seconds },
                ],
              });
              await child.setTags({ "workbench.iteration_unit": best.unit });
              return done;
            },
          );
          emit({
            type: "refit",
            trial,
            iterations: refit.iterations,
            unit: best.unit,
            rows,
            seconds: refit.fitted.seconds,
          });
        }
        const model = refit?.fitted.model ?? best.model;
        const probabilities = {
          validation: best.model.predict(data.matrices.validation),
          test: model.predict(data.matrices.test),
          holdout: model.predict(data.matrices.holdout),
        };
        const threshold =
          k === 2
            ? chooseThreshold(
                data.labels.validation,
                Float64Array.from(
                  { length: data.labels.validation.length },
                  (_, i) => probabilities.validation[i * 2 + 1]!,
                ),
                config.training.threshold,
              )
            : undefined;
        const evaluations = {
          validation: evaluate(data.labels.validation, probabilities.validation, data.classes, threshold),
          test: evaluate(data.labels.test, probabilities.test, data.classes, threshold),
          holdout: evaluate(data.labels.holdout, probabilities.holdout, data.classes, threshold),
        };
        // The winner's metrics, each on its split's dataset: logged to the run now, and again with the logged
        // model's id once it exists (same points, so the run keeps one of each; the model gets them all).
        const evaluatedAt = now().getTime();
        const onSplit = (split: "validation" | "test" | "holdout") => ({
          timestamp: evaluatedAt,
          dataset: { name: datasets[split].dataset.name, digest: datasets[split].dataset.digest },
        });
        const modelMetrics = [
          ...prefixed("val", evaluations.validation.metrics, onSplit("validation")),
          ...prefixed("test", evaluations.test.metrics, onSplit("test")),
          ...prefixed("holdout", evaluations.holdout.metrics, onSplit("holdout")),
        ];
        await parent.logBatch({
          params: {
            best_candidate: best.id,
            best_kind: best.kind,
            ...(threshold === undefined ? {} : { threshold: String(threshold) }),
          },
          metrics: [
            ...modelMetrics.map(({ dataset: _d, ...point }) => point),
            ...(threshold === undefined ? [] : [{ key: "threshold", value: threshold }]),
          ],
        });
        await parent.setTags({ "workbench.best_run_id": best.runId });
        await writeFile(
          path.join(work, "evaluation.json"),
          `${JSON.stringify({ best: best.id, threshold, classes: data.classes, splits: Object.fromEntries(Object.entries(evaluations).map(([s, e]) => [s, { metrics: e.metrics, confusion: e.confusion }])) }, null, 2)}\n`,
        );
        await parent.logArtifact(path.join(work, "evaluation.json"));
        // Per-class table, confusion matrix, confused pairs, misclassified rows (with their text) and, for
        // kinds that have them, the informative features: the test split's, as evaluation/*.json.
        const analysis = analyseErrors({
          split: "test",
          evaluation: evaluations.test,
          labels: data.labels.test,
          probabilities: probabilities.test,
          threshold,
          table: data.splits.test,
          topFeatures: model.topFeatures?.(TOP_FEATURES_PER_CLASS),
        });
        const analysisDir = path.join(work, "evaluation");
        await writeErrorAnalysis(analysisDir, "test", data.classes, evaluations.test.confusion, analysis);
        await parent.logArtifacts(analysisDir, "evaluation");
        await mkdir(path.join(work, "plots"), { recursive: true });
        await writeHtmlReport(
          path.join(work, "plots", "evaluation.html"),
          `${config.name}: ${best.id} (best of ${candidates.length})`,
          evaluationSections(
            best.id,
            data,
            evaluations.test,
            probabilities.test,
            best.history,
            best.unit,
            metric,
            model.importance?.(),
            analysis,
          ),
        );
        await parent.logArtifact(path.join(work, "plots", "evaluation.html"), "plots");

        const packageDir = path.join(work, "model");
        // The reference profile monitoring compares current data with: the train split's features and the
        // winner's validation predictions. Written first so that MLmodel's model_size_bytes counts it.
        await mkdir(packageDir, { recursive: true });
        await writeReferenceProfile(
          packageDir,
          buildReferenceProfile({
            table: data.splits.train,
            predictions: { probabilities: probabilities.validation, classes: data.classes, threshold },
            source: {
              split: "train",
              rows: data.splits.train.rowCount,
              dataFingerprint: data.splits.fingerprints.train,
            },
          }),
        );
        await writeModelPackage(packageDir, {
          model,
          preprocessor: data.preprocessor,
          example: Array.from({ length: Math.min(3, data.splits.holdout.rowCount) }, (_, i) =>
            rowRecord(data.splits.holdout, i),
          ),
          meta: {
            formatVersion: PACKAGE_FORMAT_VERSION,
            name: config.registry.modelName,
            kind: best.kind,
            params: refit?.trial.params ?? best.params,
            target: data.manifest.target.column,
            classes: data.classes,
            // The classes trained on (a rare-class rule may have left two of a multiclass manifest's).
            positiveClass:
              data.classes.length === 2 ? (positiveClass(data.manifest) ?? data.classes[1]) : undefined,
            threshold,
            inputs: signatureInputs(data.manifest),
            featureNames: data.preprocessor.featureNames,
            metrics: Object.fromEntries(
              Object.entries(evaluations.test.metrics).map(([key, v]) => [`test_${key}`, v]),
            ),
            backend: tf.backend,
            dataFingerprint: data.splits.fingerprints.train,
            trainedAt: now().toISOString(),
          },
        });
        const registration = await logAndRegisterModel(parent, {
          dir: packageDir,
          modelName: config.registry.modelName,
          alias: config.registry.alias,
          modelType: best.kind,
          params: flattenParams(refit?.trial.params ?? best.params),
          tags: {
            "workbench.config": config.name,
            "workbench.backend": tf.backend,
            ...(refit === undefined ? {} : { "workbench.refit": "train+validation" }),
          },
          metrics: modelMetrics,
          description: `${best.id} from ${config.name}: test ${metric} ${(evaluations.test.metrics[metric] ?? Number.NaN).toFixed(4)}`,
        });
        for (const c of candidates) c.model.dispose();
        refit?.fitted.model.dispose();
        logger.info({ version: registration.version, model: config.registry.modelName }, "model registered");
        const summaries = candidates.map(({ model: _m, history: _h, ...rest }) => rest);
        return {
          experimentId: parent.experimentId,
          runId: parent.runId,
          runUrl: parent.url,
          backend: tf.backend,
          candidates: summaries,
          best: summaries.find((s) => s.id === best.id)!,
          ...(refit === undefined
            ? {}
            : {
                refit: {
                  iterations: refit.iterations,
                  rows: data.matrices.train.rows + data.matrices.validation.rows,
                },
              }),
          threshold,
          metrics: {
            validation: evaluations.validation.metrics,
            test: evaluations.test.metrics,
            holdout: evaluations.holdout.metrics,
          },
          data: {
            rows: data.validation.rowsRead,
            quarantined: data.validation.rowsQuarantined,
            badFraction: data.validation.badFraction,
            quarantineFile: data.validation.quarantineFile,
            sha256: data.source.sha256,
            snapshot: snapshot?.uri,
          },
          evaluationSplits: { test: data.splits.test, holdout: data.splits.holdout },
          model: {
            name: config.registry.modelName,
            version: registration.version,
            alias: config.registry.alias,
            modelId: registration.modelId,
            url: registration.url,
          },
        };
      },
    );
  } finally {
    if (context.tracking === undefined) tracking.close();
    if (options.workDir === undefined) await rm(work, { recursive: true, force: true });
  }
}

/** Importance rows sorted by gain, with each feature's share of the total gain. */
function importanceRows(
  importance: FeatureImportance[],
): { feature: string; gain: number; share: number; splits: number }[] {
  const total = importance.reduce((a, f) => a + f.gain, 0);
  return [...importance]
    .sort((a, b) => b.gain - a.gain)
    .map((f) => ({
      feature: f.feature,
      gain: f.gain,
      share: total > 0 ? f.gain / total : 0,
      splits: f.splits,
    }));
}

const SNAPSHOT_ROOT = "mlflow-artifacts:/workbench-data";
const SPLITS = ["train", "validation", "test", "holdout"] as const;

/** The content-addressed data snapshot; offline, its upload waits in the spool (same address, known from the hash). */
async function snapshotVia(tracking: TrackingSession, source: DatasetFile): Promise<DataSnapshot> {
  let taken: DataSnapshot | undefined;
  await tracking.uploadOrDefer(
    async () => {
      taken = await snapshotDataset(tracking.client, source);
    },
    { root: SNAPSHOT_ROOT, artifactPath: `sha256/${source.sha256}`, file: source.path },
  );
  const file = path.basename(source.path);
  return taken ?? { uri: `${SNAPSHOT_ROOT}/sha256/${source.sha256}/${file}`, sha256: source.sha256, file };
}

/** A CSV field as written by RFC 4180: quoted when it holds a comma, a quote or a line break. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The holdout rows of the source file, as CSV records (the header, then the rows in holdout order). Records are
 * re-read with the CSV parser, so a quoted field spanning lines (a complaint narrative) stays one field; a
 * row's `lines` entry is the line its record ends on, as the parser reports it.
 */
async function writeHoldout(data: PreparedData, file: string): Promise<void> {
  const wanted = new Set(data.splits.holdout.lines);
  const records = new Map<number, string[]>();
  let header: string[] | undefined;
  const parser = createReadStream(data.source.path).pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true }),
  );
  for await (const { record, info } of parser as AsyncIterable<{
    record: string[];
    info: { lines: number };
  }>) {
    if (header === undefined) header = record;
    else if (wanted.has(info.lines)) records.set(info.lines, record);
  }
  const rows = Array.from(data.splits.holdout.lines, (line) => records.get(line)!);
  const text = [header ?? [], ...rows].map((r) => r.map(csvField).join(",")).join("\n");
  await writeFile(file, `${text}\n`);
}

async function logDataArtifacts(run: Tracker, data: PreparedData, work: string): Promise<void> {
  const qaDir = path.join(work, "qa");
  await mkdir(qaDir, { recursive: true });
  await writeFile(path.join(qaDir, "qa.json"), `${JSON.stringify(data.qa, null, 2)}\n`);
  await writeHtmlReport(
    path.join(qaDir, "qa.html"),
    `Data QA: ${data.manifest.title}`,
    qaSections(data.qa, data.table),
  );
  await run.logArtifacts(qaDir, "qa");
  if (data.validation.quarantineFile !== undefined)
    await run.logArtifact(data.validation.quarantineFile, "qa");
  // The out-of-sample holdout, as raw rows of the source file: "new" data to score with `npm run predict`.
  await writeHoldout(data, path.join(work, "holdout.csv"));
  await run.logArtifact(path.join(work, "holdout.csv"), "holdout");
  await writeFile(path.join(work, "preprocessor.json"), `${JSON.stringify(data.preprocessor, null, 2)}\n`);
  await run.logArtifact(path.join(work, "preprocessor.json"), "features");
}
