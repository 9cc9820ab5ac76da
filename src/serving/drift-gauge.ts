import type { Table } from "../data/table.js";
import { CurrentAccumulator } from "../monitoring/current.js";
import { detectDrift } from "../monitoring/drift.js";
import { type DriftOptions, type DriftOptionsInput, resolveDriftOptions } from "../monitoring/options.js";
import type { ColumnDrift, DriftSummary, ReferenceProfile } from "../monitoring/types.js";
import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import type { ServiceMetrics } from "./metrics.js";
import type { Prediction, Predictor } from "./predictor.js";

export interface DriftGaugeOptions {
  /** Seconds a window collects rows before it is checked; 0 turns the gauge off. */
  intervalSeconds: number;
  /** A window is checked only once it holds this many rows (it keeps growing until then). */
  minRows: number;
  /** The drift rules (defaults: Evidently's, as `npm run monitor`); checked at construction (CONFIG_INVALID). */
  drift?: DriftOptionsInput;
  /** Milliseconds since the epoch (injected by tests). */
  now?: () => number;
  logger?: Logger;
}

/** How one profile column is fed from the validated table the model scored. */
type Feed =
  | { index: number; source: "numeric"; name: string }
  | { index: number; source: "categorical"; name: string }
  | { index: number; source: "text"; name: string };

/** The served model as the gauge compares with it: its profile, its window, and how its table feeds it. */
interface Window {
  predictor: Predictor;
  profile: ReferenceProfile;
  current: CurrentAccumulator;
  /** The accumulator of the window being checked, reused for the next one once the check is done. */
  spare: CurrentAccumulator | undefined;
  feeds: Feed[];
  /** Profile columns the service sees (a strict subset is passed to detectDrift as `columns`). */
  columns: string[] | undefined;
  /** Predictor class index per profile class (predictions are fed in the profile's class order). */
  classOrder: number[] | undefined;
  probabilities: Float64Array;
  startedAt: number;
}

/** How often the timer looks whether a window is due (a window is due by the clock, not by the tick). */
const TICK_MS = 5_000;

/**
 * The service's drift gauge: the rows the service scores (those the prediction log keeps, or every row when there
 * is no log: the caller decides) accumulate in a constant-memory window against the served model's reference
 * profile; once a window is `intervalSeconds` old and holds `minRows` rows, it is checked with the same drift
 * engine as `npm run monitor` and the workbench_drift_* gauges are set; a new window starts at once. A hot swap
 * starts a new window against the new model's profile. A model without a profile has no gauge.
 */
export class DriftGauge {
  private window: Window | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<DriftSummary | undefined> | undefined;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly rules: DriftOptions;

  constructor(
    private readonly metrics: ServiceMetrics,
    private readonly options: DriftGaugeOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger();
    this.rules = resolveDriftOptions(options.drift ?? {}, "the service's drift options");
  }

  get enabled(): boolean {
    return this.options.intervalSeconds > 0;
  }

  get settings(): { intervalSeconds: number; minRows: number } {
    return { intervalSeconds: this.options.intervalSeconds, minRows: this.options.minRows };
  }

  /** True while a window is collecting (the gauge is on and the served model has a usable profile). */
  get active(): boolean {
    return this.window !== undefined;
  }

  /** Rows in the window being collected. */
  get windowRows(): number {
    return this.window?.current.rows ?? 0;
  }

  /** The model the windows compare with (a new window starts); no gauge for a model without a profile. */
  setModel(predictor: Predictor, profile: ReferenceProfile | undefined): void {
    this.window = undefined;
    this.metrics.featureDrift.reset();
    this.metrics.featureDriftScore.reset();
    this.metrics.predictionDrift.reset();
    this.metrics.predictionDriftScore.reset();
    if (!this.enabled || profile === undefined) return;
    const { inputs } = predictor.model.meta;
    const signature = new Set(inputs.map((c) => c.name));
    const categorical = new Set(predictor.model.preprocessor.categorical.map((s) => s.name));
    const text = new Set((predictor.model.preprocessor.text ?? []).map((s) => s.name));
    const current = new CurrentAccumulator(profile);
    const feeds: Feed[] = [];
    for (const column of profile.columns) {
      const index = current.columnIndex(column.name);
      if (index === undefined || !signature.has(column.name)) continue;
      const source = text.has(column.name)
        ? "text"
        : categorical.has(column.name)
          ? "categorical"
          : "numeric";
      feeds.push({ index, source, name: column.name });
    }
    if (feeds.length === 0) {
      this.logger.warn(
        { model: predictor.origin.name },
        "no profile column is a model input: no drift gauge",
      );
      return;
    }
    const refClasses = profile.predictions?.classes;
    const classOrder = refClasses?.every((c) => predictor.classes.includes(c))
      ? refClasses.map((c) => predictor.classes.indexOf(c))
      : undefined;
    this.window = {
      predictor,
      profile,
      current,
      spare: undefined,
      feeds,
      columns: feeds.length < profile.columns.length ? feeds.map((f) => f.name) : undefined,
      classOrder,
      probabilities: new Float64Array(classOrder?.length ?? 0),
      startedAt: this.now(),
    };
  }

  /** Feeds the rows one request scored (the predictor that scored them: rows of a model swapped out are dropped). */
  observe(predictor: Predictor, table: Table, predictions: readonly Prediction[]): void {
    const w = this.window;
    if (w === undefined || w.predictor !== predictor) return;
    const acc = w.current;
    const classes = predictor.classes;
    for (let r = 0; r < table.rowCount; r++) {
      for (const feed of w.feeds) {
        if (feed.source === "numeric") {
          const values = table.numeric[feed.name];
          if (values === undefined) acc.addMissing(feed.index);
          else acc.addNumber(feed.index, values[r]!);
        } else {
          const values = feed.source === "text" ? table.text[feed.name] : table.categorical[feed.name];
          const value = values?.[r];
          if (value === undefined || value === "") acc.addMissing(feed.index);
          else if (feed.source === "text") acc.addText(feed.index, value);
          else acc.addString(feed.index, value);
        }
      }
      const p = predictions[r];
      if (w.classOrder !== undefined && p !== undefined) {
        for (let c = 0; c < w.classOrder.length; c++)
          w.probabilities[c] = p.probabilities[classes[w.classOrder[c]!]!]!;
        acc.addPrediction(w.probabilities, p.label);
      }
      acc.endRow();
    }
  }

  /**
   * Checks the window when it is due (at least `intervalSeconds` old and `minRows` rows), sets the gauges and
   * starts a new window; resolves to the check's summary, or undefined when nothing was due.
   */
  tick(): Promise<DriftSummary | undefined> {
    const w = this.window;
    if (this.checking !== undefined || w === undefined) return Promise.resolve(undefined);
    const now = this.now();
    if (now - w.startedAt < this.options.intervalSeconds * 1000 || w.current.rows < this.options.minRows)
      return Promise.resolve(undefined);
    const checked = w.current;
    w.current = w.spare ?? new CurrentAccumulator(w.profile);
    w.spare = undefined;
    w.startedAt = now;
    this.checking = this.check(w, checked, now).finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /**
   * detectDrift on the window, one column at a time with the event loop free in between (a whole 23-column
   * window takes 50–400 ms on this machine; one column a few ms), then the dataset verdict from the columns, as
   * detectDrift decides it. A multiple-testing correction needs every p-value at once: one call then.
   */
  private async check(
    w: Window,
    checked: CurrentAccumulator,
    now: number,
  ): Promise<DriftSummary | undefined> {
    const rows = checked.rows;
    const started = performance.now();
    let longest = 0;
    const step = (input: DriftOptionsInput) => {
      const t = performance.now();
      const result = detectDrift(w.profile, checked, input);
      longest = Math.max(longest, performance.now() - t);
      return result;
    };
    const names = w.columns ?? w.profile.columns.map((c) => c.name);
    let summary: DriftSummary;
    if (this.rules.correction !== "none") summary = step({ ...this.options.drift, columns: names });
    else {
      const columns: ColumnDrift[] = [];
      let last: DriftSummary | undefined;
      for (let i = 0; i < names.length; i++) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.window !== w) break;
        const final = i === names.length - 1;
        last = step({
          ...this.options.drift,
          columns: [names[i]!],
          predictions: final && this.rules.predictions,
        });
        columns.push(...last.columns);
      }
      if (last === undefined || this.window !== w) {
        checked.reset();
        return undefined; // swapped while checking: the result would describe a model no longer served
      }
      const counted = columns.filter((c) => c.skipped === undefined);
      const drifted = counted.filter((c) => c.drift).length;
      const share = counted.length === 0 ? 0 : drifted / counted.length;
      summary = {
        ...last,
        columns,
        drifted,
        share,
        datasetDrift: counted.length > 0 && share >= this.rules.driftShare,
      };
    }
    checked.reset();
    w.spare = checked;
    if (this.window !== w) return undefined;
    this.publish(summary, rows, now);
    this.logger.info(
      {
        rows,
        share: summary.share,
        datasetDrift: summary.datasetDrift,
        ms: Math.round(performance.now() - started),
        longestStepMs: Math.round(longest),
      },
      "drift check",
    );
    this.lastStepMs = longest;
    return summary;
  }

  /** The longest time the last check held the event loop in one piece (milliseconds). */
  lastStepMs = 0;

  private publish(summary: DriftSummary, rows: number, now: number): void {
    const m = this.metrics;
    m.featureDrift.reset();
    m.featureDriftScore.reset();
    for (const c of summary.columns) {
      if (c.skipped !== undefined) continue; // no value on one side: not checked, not in the share
      m.featureDrift.set({ feature: c.column }, c.drift ? 1 : 0);
      m.featureDriftScore.set({ feature: c.column, test: c.test }, c.score);
    }
    m.predictionDrift.reset();
    m.predictionDriftScore.reset();
    const outputs: [string, ColumnDrift | undefined][] = [
      ["label", summary.predictions?.labels],
      ["score", summary.predictions?.score],
    ];
    for (const [output, c] of outputs) {
      if (c === undefined || c.skipped !== undefined) continue;
      m.predictionDrift.set({ output }, c.drift ? 1 : 0);
      m.predictionDriftScore.set({ output, test: c.test }, c.score);
    }
    m.driftShare.set(summary.share);
    m.datasetDrift.set(summary.datasetDrift ? 1 : 0);
    m.driftWindowRows.set(rows);
    m.driftLastCheck.set(now / 1000);
  }

  /** Looks every few seconds whether the window is due; failures are logged, the next window tried. */
  start(): void {
    this.stop();
    if (!this.enabled) return;
    this.timer = setInterval(
      () => {
        this.tick().catch((error: unknown) => this.logger.warn({ err: error }, "drift check failed"));
      },
      Math.min(TICK_MS, this.options.intervalSeconds * 1000),
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
