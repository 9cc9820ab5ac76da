// Trains every candidate's trials on a pool of worker threads: grid, random and fixed trials as one queue, TPE
// searches batch by batch (each batch suggested from the finished trials of the earlier ones, with the median
// pruning rule as a per-iteration threshold curve fixed before a trial starts). Nothing a trial gets depends on
// the number of workers or on completion order, so results equal a sequential run's for the same seed.
import type { CandidateSpec } from "../config/train-config.js";
import { evaluate, higherIsBetter, type MetricSet } from "../evaluation/metrics.js";
import { createRng, deriveSeed } from "../shared/random.js";
import { type CandidatePlan, candidateRng, planCandidates, resolveTrial, type Trial } from "./candidates.js";
import { checkTrialData, type TrialFitOptions } from "./fit-trial.js";
import { modelKind } from "./kinds/index.js";
import type { FitData, FitResult, IterationRecord, Model } from "./model.js";
import { createTrialPool, type TrialPool } from "./pool.js";
import { medianCurve, type TpeObservation, TpeSampler } from "./tpe.js";

export interface TrialOutcome {
  trial: Trial;
  model: Model;
  result: FitResult;
  /** evaluate() of the model's validation probabilities. */
  validation: MetricSet;
  /** Wall time of building and fitting the model. */
  seconds: number;
}

export interface SearchHooks {
  /** A trial starts (index in trial order, 0-based, of `total`, TPE trials included). */
  onTrialStart?: (trial: Trial, index: number, total: number) => void;
  onIteration?: (trial: Trial, record: IterationRecord, planned: number) => void;
  /**
   * Wraps every trial (e.g. in a tracking child run): must call `fit` and return its outcome. Called for up to
   * the pool's size of trials at once.
   */
  around?: (trial: Trial, fit: () => Promise<TrialOutcome>) => Promise<TrialOutcome>;
  /** One-line notices (e.g. training in-process); default: stderr. */
  onNotice?: (message: string) => void;
}

export interface SearchOptions extends TrialFitOptions {
  /** Worker threads (default: one per core); 1 trains in-process. */
  workers?: number | undefined;
}

/** Grants up to `size` holders at once; waiting requests are served lowest priority value (trial index) first. */
class Slots {
  private readonly waiting: { priority: number; grant: () => void }[] = [];

  constructor(private free: number) {}

  acquire(priority: number): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((grant) => {
      this.waiting.push({ priority, grant });
      this.waiting.sort((a, b) => a.priority - b.priority);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.free++;
    else next.grant();
  }
}

/** Where each candidate's trials start in trial order, and how many trials there are in all (TPE included). */
function totals(plans: readonly CandidatePlan[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = 0;
  for (const plan of plans) {
    offsets.push(total);
    total += plan.ids.length;
  }
  return { offsets, total };
}

/**
 * Trains every trial of `candidates` and returns the outcomes in trial order. The first failure (in trial order)
 * is thrown after every started trial has settled; the other trials' outcomes have gone through `around` by then
 * (their models are disposed, since the caller gets none back). After a failure, TPE searches start no new batch.
 */
export async function trainCandidates(
  candidates: readonly CandidateSpec[],
  data: FitData,
  options: SearchOptions,
  hooks: SearchHooks = {},
): Promise<TrialOutcome[]> {
  const plans = planCandidates(candidates, options.seed);
  // The kinds' data checks (e.g. k ≤ training rows) fail the run before anything trains.
  for (const plan of plans) for (const trial of plan.trials) checkTrialData(trial, data);
  const { offsets, total } = totals(plans);
  const { seed, selectionMetric, classWeight, earlyStopping, workers } = options;
  const fitOptions: TrialFitOptions = { seed, selectionMetric, classWeight, earlyStopping };
  const pool = await createTrialPool(data, {
    ...fitOptions,
    workers,
    ...(hooks.onNotice === undefined ? {} : { onNotice: hooks.onNotice }),
  });
  const search = new Search(pool, data, fitOptions, hooks, total);
  try {
    await Promise.all(
      plans.map((plan, p) =>
        plan.method === "tpe"
          ? search.tpe(plan, offsets[p]!)
          : Promise.all(plan.trials.map((trial, j) => search.trial(trial, offsets[p]! + j))),
      ),
    );
  } finally {
    await pool.close();
  }
  return search.results();
}

class Search {
  private readonly slots: Slots;
  private readonly outcomes = new Map<number, TrialOutcome>();
  private readonly fitted = new Map<number, Model>();
  private readonly failures: { index: number; error: unknown }[] = [];
  private readonly better: boolean;

  constructor(
    private readonly pool: TrialPool,
    private readonly data: FitData,
    private readonly options: TrialFitOptions,
    private readonly hooks: SearchHooks,
    private readonly total: number,
  ) {
    this.slots = new Slots(pool.size);
    this.better = higherIsBetter(options.selectionMetric);
  }

  /** Runs one trial when a slot is free; a failure is recorded, not thrown. */
  async trial(
    trial: Trial,
    index: number,
    pruneCurve?: readonly number[],
  ): Promise<TrialOutcome | undefined> {
    await this.slots.acquire(index);
    try {
      this.hooks.onTrialStart?.(trial, index, this.total);
      const train = async (): Promise<TrialOutcome> => {
        const fitted = await this.pool.run({
          trial,
          pruneCurve,
          onIteration:
            this.hooks.onIteration === undefined
              ? undefined
              : (record, planned) => this.hooks.onIteration?.(trial, record, planned),
        });
        this.fitted.set(index, fitted.model);
        const probabilities = fitted.model.predict(this.data.validation);
        const validation = evaluate(this.data.validationLabels, probabilities, this.data.classes).metrics;
        return { trial, model: fitted.model, result: fitted.result, validation, seconds: fitted.seconds };
      };
      const outcome = await (this.hooks.around === undefined ? train() : this.hooks.around(trial, train));
      this.outcomes.set(index, outcome);
      return outcome;
    } catch (error) {
      this.failures.push({ index, error });
      return undefined;
    } finally {
      this.slots.release();
    }
  }

  /** A TPE search: batches of suggestions, each from the trials finished in earlier batches. */
  async tpe(plan: CandidatePlan, offset: number): Promise<void> {
    const { spec, candidate } = plan;
    const settings = spec.tpe!;
    const seed = this.options.seed;
    const sampler = new TpeSampler(
      settings.space,
      {
        gamma: settings.gamma,
        candidates: settings.candidates,
        startup: settings.startup,
        higherIsBetter: this.better,
      },
      candidateRng(seed, candidate),
      (n) => createRng(deriveSeed(seed, `candidate-${candidate}-tpe-${n}`)),
    );
    const finished: { n: number; trial: Trial; outcome: TrialOutcome }[] = [];
    for (let start = 0; start < settings.trials && this.failures.length === 0; start += settings.batch) {
      const observations: TpeObservation[] = finished.map(({ n, trial, outcome }) => ({
        number: n,
        params: trial.params,
        value: outcome.validation[this.options.selectionMetric] ?? Number.NaN,
        pruned: outcome.result.pruned,
      }));
      const completed = finished.filter((f) => !f.outcome.result.pruned);
      const prune = settings.prune;
      const batch: Promise<{ n: number; outcome: TrialOutcome | undefined }>[] = [];
      const end = Math.min(settings.trials, start + settings.batch);
      for (let n = start + 1; n <= end; n++) {
        const index = offset + n - 1;
        let trial: Trial;
        try {
          trial = resolveTrial(spec, candidate, sampler.suggest(n, observations), n, plan.ids[n - 1]!);
          checkTrialData(trial, this.data);
        } catch (error) {
          this.failures.push({ index, error });
          continue;
        }
        const curve =
          prune !== false && completed.length >= prune.minTrials
            ? medianCurve(
                completed.map((f) => f.outcome.result.history.map((h) => h.valMetric)),
                modelKind(trial.kind).plannedIterations(trial.params),
                prune.warmup,
                this.better,
              )
            : undefined;
        batch.push(this.trial(trial, index, curve).then((outcome) => ({ n, outcome })));
      }
      // In trial order, whatever the completion order: the next batch's suggestions depend on it.
      for (const { n, outcome } of await Promise.all(batch))
        if (outcome !== undefined) finished.push({ n, trial: outcome.trial, outcome });
    }
  }

  /** The outcomes in trial order, or the first failure (in trial order) after disposing every model. */
  results(): TrialOutcome[] {
    if (this.failures.length > 0) {
      const disposed = new Set<Model>();
      for (const model of [...this.fitted.values(), ...[...this.outcomes.values()].map((o) => o.model)]) {
        if (disposed.has(model)) continue;
        disposed.add(model);
        model.dispose();
      }
      const first = this.failures.reduce((a, b) => (b.index < a.index ? b : a));
      throw first.error;
    }
    return [...this.outcomes.entries()].sort((a, b) => a[0] - b[0]).map(([, outcome]) => outcome);
  }
}
