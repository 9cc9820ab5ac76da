/**
 * The monitor pipeline (`npm run monitor`): resolve the model and its reference profile, stream the current data
 * into an accumulator (scoring it when it carries no predictions), detect data and prediction drift, join labels
 * for concept drift, compare shadow answers, write monitor.json and monitor.html, and log a monitoring run linked
 * to the model version. The verdict (drift, degradation) is the caller's exit code.
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { type BootstrapSettings, ShadowCollector } from "../monitoring/compare.js";
import {
  conceptDrift,
  conceptMetric,
  DEFAULT_MAX_DROP,
  LabelJoin,
  readLabels,
} from "../monitoring/concept.js";
import { CurrentAccumulator } from "../monitoring/current.js";
import { detectDrift, PREDICTION_COLUMN } from "../monitoring/drift.js";
import { type DriftOptionsInput, resolveDriftOptions } from "../monitoring/options.js";
import { readReferenceProfile, readReferenceProfileFile } from "../monitoring/profile.js";
import {
  type CurrentFormat,
  currentFormat,
  type RowScorer,
  readCurrent,
  type ScoredRow,
} from "../monitoring/read-current.js";
import type { MonitorReport, ReferenceProfile } from "../monitoring/types.js";
import { verdictOf } from "../monitoring/verdict.js";
import type { Predictor } from "../serving/predictor.js";
import { ConfigError, DataValidationError, errorMessage, WorkbenchError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { MlflowClient } from "../tracking/client.js";
import type { TrackingSession } from "../tracking/session.js";
import { writeMonitorReport } from "../viz/monitor-report.js";
import { logMonitoringRun } from "./monitor-tracking.js";

export const MONITOR_JSON = "monitor.json";
export const MONITOR_HTML = "monitor.html";

export interface MonitorOptions {
  /** models:/<name>@<alias>, models:/<name>/<version>, runs:/<id>/<path> or a model package directory. */
  model?: string;
  /** A reference profile file (npm run monitor:profile): instead of the model's, or with no model at all. */
  reference?: string;
  /** A CSV file, a prediction log (.jsonl) or the log's directory. */
  current: string;
  format?: CurrentFormat;
  /** A CSV of true labels, joined to the current rows by `idColumn` (concept drift). */
  labels?: string;
  /** Default: the dataset manifest's first id column. */
  idColumn?: string;
  /** The labels file's label column (default: the model's target column). */
  labelColumn?: string;
  /** The metric concept drift watches (default: the training's selection metric). */
  metric?: string;
  /** Degraded when the metric is worse than its test value by more than this (default 0.05). */
  maxDrop?: number;
  /** A YAML file of drift options (driftOptionsSchema). */
  config?: string;
  /** Drift options from flags: win over the config file's. */
  drift?: DriftOptionsInput;
  /** Folder for monitor.json and monitor.html. */
  out: string;
  /** Compare the champion's answers with the shadow challenger's (prediction log). */
  compare?: boolean;
  /** Log a monitoring run (default true when a tracking session is given). */
  log?: boolean;
  /** Score CSV rows that carry no predictions with the model (default true). */
  score?: boolean;
  /** Experiment of the monitoring run when the model's run is unknown (default "monitoring"). */
  experiment?: string;
  maxBadFraction?: number;
  maxBadLines?: number;
  chunkRows?: number;
}

export interface MonitorContext {
  /** Needed for models:/ URIs and for the model's run; undefined for a local package or profile. */
  client: MlflowClient | undefined;
  /** Where the monitoring run goes; undefined: no run is logged. */
  tracking: TrackingSession | undefined;
  logger: Logger;
  now?: () => Date;
  onProgress?: (progress: { bytesRead: number; totalBytes: number; rows: number }) => void;
}

/** What training recorded about the model, read from its run (params of the training config). */
interface ModelRun {
  experimentId: string | undefined;
  selectionMetric: string | undefined;
  gateMetric: string | undefined;
  dataset: string | undefined;
  bootstrap: BootstrapSettings;
}

/** The gate's bootstrap defaults (promotion-config.ts) and the configs' default seed. */
const GATE_BOOTSTRAP: BootstrapSettings = { resamples: 2000, confidence: 0.95, seed: 42 };

/** Runs the monitor; returns the report (also written to `out`). */
export async function runMonitor(options: MonitorOptions, context: MonitorContext): Promise<MonitorReport> {
  const now = context.now ?? (() => new Date());
  const createdAt = now();
  const drift = await driftOptions(options);
  const { profile, predictor, model } = await resolveReference(options, context.client);
  const run = await modelRun(context, predictor);
  const classes = profile.predictions?.classes ?? predictor?.classes;
  const concept = options.labels === undefined ? undefined : await labelJoin(options, predictor, run);
  if (options.compare) await checkCompare(options, classes);
  const shadow = options.compare && classes !== undefined ? new ShadowCollector(classes) : undefined;
  const watched = new Set(profile.columns.map((c) => c.name));
  checkColumnNames(drift, watched, profile);
  const accumulator = new CurrentAccumulator(profile);
  // Raw category codes count as training recoded them (the model's signature carries the manifest's maps).
  if (predictor !== undefined)
    accumulator.recodeCategories(
      Object.fromEntries(predictor.model.meta.inputs.map((c) => [c.name, c.recode])),
    );
  const read = await readCurrent({
    path: options.current,
    ...(options.format === undefined ? {} : { format: options.format }),
    accumulator,
    columns: profile.columns,
    ...(drift.columns === undefined ? {} : { required: drift.columns.filter((c) => watched.has(c)) }),
    ...(classes === undefined ? {} : { classes }),
    ...(concept === undefined ? {} : { idColumn: concept.join.source.idColumn }),
    ...(predictor !== undefined && options.score !== false ? { scorer: predictorScorer(predictor) } : {}),
    ...(options.chunkRows === undefined ? {} : { chunkRows: options.chunkRows }),
    ...(options.maxBadFraction === undefined ? {} : { maxBadFraction: options.maxBadFraction }),
    ...(options.maxBadLines === undefined ? {} : { maxBadLines: options.maxBadLines }),
    ...(context.onProgress === undefined ? {} : { onProgress: context.onProgress }),
    onScored: (row: ScoredRow) => {
      const label = concept?.join.add(row);
      shadow?.add(row, label);
    },
  });
  const summary = detectDrift(profile, accumulator, drift);
  const conceptResult =
    concept === undefined || predictor === undefined
      ? undefined
      : conceptDrift(concept.join, {
          classes: predictor.classes,
          threshold: predictor.threshold,
          metric: concept.metric,
          reference: predictor.model.meta.metrics,
          maxDrop: options.maxDrop ?? DEFAULT_MAX_DROP,
        });
  const shadowResult = shadow?.compare({
    metric: run.gateMetric ?? run.selectionMetric ?? (classes?.length === 2 ? "roc_auc" : "f1_macro"),
    bootstrap: run.bootstrap,
    championThreshold: predictor?.threshold,
  });
  const report: MonitorReport = {
    createdAt: createdAt.toISOString(),
    model,
    input: {
      path: options.current,
      format: read.format,
      rowsRead: read.rowsRead,
      rowsUsed: read.rowsUsed,
      seconds: read.seconds,
      issues: {
        bad: read.bad,
        examples: read.badExamples,
        extraColumns: read.extraColumns,
        predictions: read.predictions.source,
        unscored: read.predictions.unscored,
        unscoredExamples: read.predictions.examples,
        missingIds: read.missingIds,
      },
    },
    drift: summary,
    ...(conceptResult === undefined ? {} : { concept: conceptResult }),
    ...(shadowResult === undefined ? {} : { shadow: shadowResult }),
    verdict: verdictOf(summary, conceptResult, shadowResult, read),
  };
  await mkdir(options.out, { recursive: true });
  const files = { json: path.join(options.out, MONITOR_JSON), html: path.join(options.out, MONITOR_HTML) };
  const write = async () => {
    await writeFile(files.json, `${JSON.stringify(report, null, 2)}\n`);
    await writeMonitorReport(files.html, report);
  };
  if (context.tracking !== undefined && options.log !== false) {
    report.run = await logMonitoringRun(context.tracking, {
      report,
      read,
      files,
      write,
      experimentId: run.experimentId,
      experimentName: options.experiment ?? "monitoring",
      modelId: predictor?.origin.modelId,
      now: createdAt,
      logger: context.logger,
    });
  } else await write();
  return report;
}

/** Drift options: the config file's, then the flags'; validated before any data is read. */
async function driftOptions(options: MonitorOptions): Promise<DriftOptionsInput> {
  let fromFile: unknown = {};
  if (options.config !== undefined) {
    let text: string;
    try {
      text = await readFile(options.config, "utf8");
    } catch (cause) {
      throw new ConfigError(`Cannot read the monitoring config ${options.config} (--config).`, {
        code: "CONFIG_NOT_FOUND",
        cause,
      });
    }
    try {
      fromFile = parseYaml(text) ?? {};
    } catch (cause) {
      throw new ConfigError(`${options.config} is not valid YAML: ${errorMessage(cause)}`, { cause });
    }
    if (typeof fromFile !== "object" || Array.isArray(fromFile))
      throw new ConfigError(
        `${options.config} must hold a mapping of drift options (see the README's Monitoring section).`,
      );
  }
  const merged = { ...(fromFile as Record<string, unknown>), ...(options.drift ?? {}) };
  resolveDriftOptions(
    merged,
    options.config === undefined
      ? "the drift options"
      : `the drift options of ${options.config} and the flags`,
  );
  return merged as DriftOptionsInput;
}

/** --compare reads a prediction log and needs the model's classes: refused before any data is read otherwise. */
async function checkCompare(options: MonitorOptions, classes: readonly string[] | undefined): Promise<void> {
  const isDirectory = await stat(options.current).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if ((options.format ?? currentFormat(options.current, isDirectory)) === "csv")
    throw new ConfigError("--compare reads the shadow answers of a prediction log, not a CSV file.", {
      code: "MONITOR_COMPARE_NEEDS_LOG",
    });
  if (classes === undefined)
    throw new ConfigError(
      "--compare needs the model's classes: pass --model (or a --reference profile that holds predictions).",
      { code: "MONITOR_COMPARE_NEEDS_MODEL" },
    );
}

/**
 * Column names in the drift options that the profile lacks: refused before the data is read (detectDrift would
 * refuse them too, but only after a long read).
 */
function checkColumnNames(
  drift: DriftOptionsInput,
  watched: ReadonlySet<string>,
  profile: ReferenceProfile,
): void {
  const known = new Set(watched);
  if (profile.predictions !== undefined) {
    known.add(PREDICTION_COLUMN);
    known.add(profile.predictions.score.name);
  }
  const unknown = [...(drift.columns ?? []), ...Object.keys(drift.perColumn ?? {})].filter(
    (n) => !known.has(n),
  );
  if (unknown.length > 0)
    throw new ConfigError(
      `The drift options name ${unknown.map((n) => `"${n}"`).join(", ")}, which the reference profile does not have (it has ${[...known].join(", ")}).`,
      { details: { unknown } },
    );
}

/** The model (when given), the reference profile (the --reference file, else the model's) and the report's model entry. */
async function resolveReference(
  options: MonitorOptions,
  client: MlflowClient | undefined,
): Promise<{ profile: ReferenceProfile; predictor: Predictor | undefined; model: MonitorReport["model"] }> {
  if (options.model === undefined && options.reference === undefined)
    throw new ConfigError(
      "Give --model (a registered model or a package directory) or --reference (a profile file).",
      {
        code: "CLI_USAGE",
      },
    );
  let fromFile: ReferenceProfile | undefined;
  if (options.reference !== undefined) {
    await stat(options.reference).catch((cause: unknown) => {
      throw new DataValidationError(
        "MONITOR_REFERENCE_MISSING",
        `The reference profile ${options.reference} does not exist (--reference); build one with npm run monitor:profile.`,
        { cause },
      );
    });
    fromFile = await readReferenceProfileFile(options.reference);
  }
  if (options.model === undefined)
    return {
      profile: fromFile!,
      predictor: undefined,
      model: { uri: options.reference!, name: path.basename(options.reference!).replace(/\.json$/i, "") },
    };
  // Loaded on demand: the model kinds bring TensorFlow.js, which a profile-only check does not need.
  const { loadPredictor } = await import("../serving/model-source.js");
  const predictor = await loadPredictor(options.model, client);
  const profile = fromFile ?? (await readReferenceProfile(predictor.model.dir));
  const { origin } = predictor;
  if (profile === undefined)
    throw new WorkbenchError(
      "MONITOR_NO_PROFILE",
      `${options.model} (${origin.name}${origin.version === undefined ? "" : ` version ${origin.version}`}) has no reference profile: it was trained before models carried one. Retrain it (npm run train, or npm run ct) to get a profile, or pass --reference with a profile built by npm run monitor:profile from its training data.`,
      { details: { model: options.model } },
    );
  return {
    profile,
    predictor,
    model: {
      uri: options.model,
      name: origin.name,
      ...(origin.version === undefined ? {} : { version: origin.version }),
      ...(origin.runId === undefined ? {} : { runId: origin.runId }),
    },
  };
}

/** The training run's experiment and config params; defaults when the run is unknown or out of reach. */
async function modelRun(context: MonitorContext, predictor: Predictor | undefined): Promise<ModelRun> {
  const fallback: ModelRun = {
    experimentId: undefined,
    selectionMetric: undefined,
    gateMetric: undefined,
    dataset: undefined,
    bootstrap: GATE_BOOTSTRAP,
  };
  const runId = predictor?.origin.runId;
  if (runId === undefined || context.client === undefined) return fallback;
  try {
    const run = await context.client.runs.get(runId);
    const params = run.data.params;
    const number = (key: string, fallbackValue: number) => {
      const v = Number(params[key]);
      return params[key] !== undefined && Number.isFinite(v) ? v : fallbackValue;
    };
    const seed = number("config.seed", GATE_BOOTSTRAP.seed);
    return {
      experimentId: run.info.experimentId,
      selectionMetric: params["config.training.selectionMetric"],
      gateMetric: params["config.promotion.metric"],
      dataset: params["config.dataset"],
      bootstrap: {
        resamples: number("config.promotion.bootstrap.resamples", GATE_BOOTSTRAP.resamples),
        confidence: number("config.promotion.bootstrap.confidence", GATE_BOOTSTRAP.confidence),
        seed: number("config.promotion.bootstrap.seed", seed),
      },
    };
  } catch (error) {
    context.logger.warn({ runId, err: error }, "could not read the model's training run; using defaults");
    return fallback;
  }
}

/** The labels file read and ready to be joined, and the metric concept drift watches. */
async function labelJoin(
  options: MonitorOptions,
  predictor: Predictor | undefined,
  run: ModelRun,
): Promise<{ join: LabelJoin; metric: string }> {
  if (predictor === undefined)
    throw new ConfigError(
      "--labels needs --model: concept drift compares the model's predictions on the labelled rows with its test metrics.",
      { code: "MONITOR_LABELS_NEED_MODEL" },
    );
  const meta = predictor.model.meta;
  const metric = conceptMetric(meta.metrics, meta.classes, options.metric, run.selectionMetric);
  let idColumn = options.idColumn;
  if (idColumn === undefined && run.dataset !== undefined) {
    const { loadManifest } = await import("../data/manifest.js");
    idColumn = await loadManifest(run.dataset).then(
      (m) => m.idColumns[0],
      () => undefined,
    );
  }
  if (idColumn === undefined)
    throw new ConfigError(
      `--labels needs the id column that joins the labels to the current rows: pass --id <column>${run.dataset === undefined ? "" : ` (the dataset manifest ${run.dataset} names none)`}.`,
      { code: "MONITOR_ID_REQUIRED" },
    );
  const labels = await readLabels({
    file: options.labels!,
    idColumn,
    labelColumn: options.labelColumn ?? meta.target,
    classes: meta.classes,
  });
  return { join: new LabelJoin(labels, meta.classes.length), metric };
}

/** Scores CSV rows with the model: its input checks first (rows it refuses are reported, not scored). */
export function predictorScorer(predictor: Predictor): RowScorer {
  return {
    columns: predictor.model.meta.inputs.map((c) => c.name),
    score(rows) {
      const checked = predictor.check(rows, "text", { allowExtraColumns: true });
      const problems = new Map<number, string>();
      for (const p of checked.problems)
        if (!problems.has(p.row)) problems.set(p.row, `${p.field}: ${p.problem}`);
      const good = problems.size === 0 ? rows : rows.filter((_, i) => !problems.has(i));
      const table =
        problems.size === 0
          ? checked.table
          : predictor.check(good, "text", { allowExtraColumns: true }).table;
      const predictions = good.length === 0 ? [] : predictor.score(table);
      let next = 0;
      return rows.map((_, i) => {
        const problem = problems.get(i);
        if (problem !== undefined) return { problem };
        const p = predictions[next++]!;
        return { probabilities: predictor.classes.map((c) => p.probabilities[c]!), label: p.label };
      });
    },
  };
}
