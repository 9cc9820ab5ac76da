import type { Table } from "../data/table.js";
import { readReferenceProfile } from "../monitoring/profile.js";
import type { ReferenceProfile } from "../monitoring/types.js";
import type { Logger } from "../shared/logger.js";
import { DriftGauge, type DriftGaugeOptions } from "./drift-gauge.js";
import type { InputMode, SchemaEnforcement } from "./input.js";
import { InputSignals } from "./input-signals.js";
import type { ServiceMetrics } from "./metrics.js";
import type { ModelHolder } from "./model-holder.js";
import type { PredictionLog, PredictionRecord } from "./prediction-log.js";
import type { Prediction, Predictor } from "./predictor.js";
import { Shadow, type ShadowInfo, type ShadowOptions } from "./shadow.js";

export interface ServiceMonitorOptions {
  predictionLog?: PredictionLog;
  /**
   * The drift gauge (serving/drift-gauge.ts): windows of scored rows checked against the served model's reference
   * profile every `intervalSeconds` (default 300; 0 = off) once they hold `minRows` (default 200). With a
   * prediction log, the requests it keeps feed the window (the rows `npm run monitor` would read from it);
   * without one, a `sampleRate` share of the requests (default 1: every row; `npm run serve` passes
   * --sample-rate). `timer: false` leaves checking to `drift.tick()` (tests).
   */
  drift?: Partial<DriftGaugeOptions> & { timer?: boolean; sampleRate?: number; random?: () => number };
  /**
   * Shadow (A/B) mode: the challenger, in its own holder, scores `share` of the successful scoring requests after
   * the champion's answer was sent (serving/shadow.ts). A challenger whose classes or inputs differ from the
   * champion's is refused (SHADOW_INCOMPATIBLE).
   */
  shadow?: { holder: ModelHolder } & ShadowOptions;
  logger?: Logger;
}

/** A request the served model scored, as the monitor takes it. */
export interface ScoredRequest {
  requestId: string;
  predictor: Predictor;
  rows: Record<string, unknown>[];
  mode: InputMode;
  enforcement: SchemaEnforcement;
  table: Table;
  predictions: Prediction[];
}

/** What /model says about monitoring. */
export interface MonitoringInfo {
  referenceProfile: boolean;
  rangeChecked: string[];
  drift: { intervalSeconds: number; minRows?: number; windowRows?: number; active?: boolean };
}

/**
 * Everything the service watches beside answering: the served model's data-quality signals (from its reference
 * profile), the prediction log, the drift window and the shadow challenger. The request path calls `scored`; the
 * work that can wait (the drift window, the challenger) runs in `afterAnswer`, once the answer was sent.
 */
export class ServiceMonitor {
  private served!: { predictor: Predictor; signals: InputSignals; profile: ReferenceProfile | undefined };
  /** Work still running: after-answer work and reading a swapped-in model's profile (`settled` awaits it). */
  private readonly queued = new Set<Promise<void>>();
  private readonly pending = new WeakMap<object, () => void>();
  private readonly sampleRate: number;
  private readonly random: () => number;

  private constructor(
    private readonly holder: ModelHolder,
    private readonly metrics: ServiceMetrics,
    private readonly options: ServiceMonitorOptions,
    readonly drift: DriftGauge,
    readonly shadow: Shadow | undefined,
  ) {
    this.sampleRate = options.drift?.sampleRate ?? 1;
    this.random = options.drift?.random ?? Math.random;
  }

  /** Reads the served model's profile, checks the challenger against it; throws SHADOW_INCOMPATIBLE, CONFIG_INVALID. */
  static async create(
    holder: ModelHolder,
    metrics: ServiceMetrics,
    options: ServiceMonitorOptions = {},
  ): Promise<ServiceMonitor> {
    const { drift: d, logger } = options;
    const drift = new DriftGauge(metrics, {
      intervalSeconds: d?.intervalSeconds ?? 300,
      minRows: d?.minRows ?? 200,
      ...(d?.drift ? { drift: d.drift } : {}),
      ...(d?.now ? { now: d.now } : {}),
      ...(logger ? { logger } : {}),
    });
    const s = options.shadow;
    const shadow =
      s === undefined
        ? undefined
        : new Shadow(s.holder, () => holder.current, metrics, {
            share: s.share,
            ...(s.random ? { random: s.random } : {}),
            ...(logger ? { logger } : {}),
          });
    const monitor = new ServiceMonitor(holder, metrics, options, drift, shadow);
    monitor.serve(holder.current, await monitor.profileOf(holder.current));
    shadow?.recheck();
    if (d?.timer !== false) drift.start();
    return monitor;
  }

  private serve(predictor: Predictor, profile: ReferenceProfile | undefined): void {
    this.served = { predictor, signals: new InputSignals(predictor, profile, this.metrics), profile };
    this.drift.setModel(predictor, profile);
  }

  private profileOf(predictor: Predictor): Promise<ReferenceProfile | undefined> {
    return readReferenceProfile(predictor.model.dir).catch((error: unknown) => {
      this.options.logger?.warn(
        { err: error },
        "reference profile unreadable: no range signals nor drift gauge",
      );
      return undefined;
    });
  }

  /** A hot swap: the new model's signals and drift window (once its profile is read), the shadow pair rechecked. */
  swapped(next: Predictor): void {
    // Until its profile is read (milliseconds), the new model has no range signals.
    this.serve(next, undefined);
    const loaded = this.profileOf(next).then((profile) => {
      if (this.holder.current === next && profile !== undefined) this.serve(next, profile);
      this.queued.delete(loaded);
    });
    this.queued.add(loaded);
    this.shadow?.recheck();
  }

  /** The data-quality signals of the model that takes a request. */
  signals(predictor: Predictor): InputSignals {
    return this.served.predictor === predictor
      ? this.served.signals
      : new InputSignals(predictor, undefined, this.metrics);
  }

  /**
   * A scored request: counted, logged when sampled, and (when drawn) queued for the drift window and the
   * challenger, whose work `afterAnswer(key)` runs once the answer was sent.
   */
  scored(key: object, request: ScoredRequest): void {
    const { predictor, table, predictions } = request;
    this.signals(predictor).countScored(table, predictions);
    const log = this.options.predictionLog;
    const logged = log?.sample() ?? false;
    const shadowed = this.shadow?.pick() ?? false;
    const record: PredictionRecord = {
      time: new Date().toISOString(),
      requestId: request.requestId,
      model: { name: predictor.origin.name, version: predictor.origin.version },
      inputs: request.rows,
      outputs: predictions,
    };
    if (logged && !shadowed) log!.append(record);
    const windowed =
      this.drift.active && (log !== undefined ? logged || shadowed : this.random() < this.sampleRate);
    if (!shadowed && !windowed) return;
    let done = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.queued.add(finished);
    this.pending.set(key, () => {
      try {
        if (windowed) this.drift.observe(predictor, table, predictions);
        if (shadowed) {
          const { rows, mode, enforcement, requestId } = request;
          const outputs = this.shadow!.score(rows, mode, enforcement, predictions, requestId);
          // A shadowed request is always logged: its record is what `npm run monitor -- --compare` reads.
          log?.append(outputs === undefined ? record : { ...record, shadow: outputs });
        }
      } finally {
        this.queued.delete(finished);
        done();
      }
    });
  }

  /** Runs the work a request queued (its answer was sent, or the client went away). */
  afterAnswer(key: object): void {
    const work = this.pending.get(key);
    if (work === undefined) return;
    this.pending.delete(key);
    work();
  }

  /** Resolves once the work queued so far is done (after-answer work, a swapped-in model's profile). */
  async settled(): Promise<void> {
    await Promise.all([...this.queued]);
  }

  /** What /model says about monitoring the model `predictor`. */
  info(predictor: Predictor): MonitoringInfo {
    const current = this.served.predictor === predictor;
    return {
      referenceProfile: current && this.served.profile !== undefined,
      rangeChecked: current ? this.served.signals.checkedFeatures : [],
      drift: this.drift.enabled
        ? { ...this.drift.settings, windowRows: this.drift.windowRows, active: this.drift.active }
        : { intervalSeconds: 0 },
    };
  }

  get shadowInfo(): ShadowInfo | undefined {
    return this.shadow?.info;
  }

  close(): void {
    this.drift.stop();
  }
}
