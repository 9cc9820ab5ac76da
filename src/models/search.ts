// Trains every candidate's trials on a pool of worker threads: grid, random and fixed trials as one queue, TPE
// searches batch by batch (each batch suggested from the finished trials of the earlier ones, with the median
// pruning rule as a per-iteration threshold curve fixed before a trial starts). With several workers, waiting
// trials start costliest first (their kinds' cost estimates), so that no long trial is left for the end. Nothing
// a trial gets depends on the number of workers, on the order trials start in or on completion order, so
// results equal a sequential run's for the same seed; outcomes come back in trial order.
import type { CandidateSpec } from "../config/train-config.js";
import { evaluate, higherIsBetter, type MetricSet } from "../evaluation/metrics.js";
import { createRng, deriveSeed } from "../shared/random.js";
import { type CandidatePlan, candidateRng, planCandidates, resolveTrial, type Trial } from "./candidates.js";
import { checkTrialData, type TrialFitOptions } from "./fit-trial.js";
import { modelKind } from "./kinds/index.js";
import { type FitData, type FitResult, factsOf, type IterationRecord, type Model } from "./model.js";
import { startTrialWorkers, type TrialPool, type TrialWorkers } from "./pool.js";
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
  /**
   * Worker threads (default: one per core; 1 trains in-process), or workers started earlier with
   * startTrialWorkers (e.g. while the data was prepared): trainCandidates starts them on this data and closes them.
   */
  workers?: number | TrialWorkers | undefined;
}

/**
 * Grants up to `size` holders at once. A request waits at least for a microtask, so that the requests made
 * together (every grid, random and fixed trial at the start, a TPE batch) compete for the free slots: the
 * largest estimated cost first (longest-processing-time-first: a long trial started last would leave the other
 * workers idle at the end), ties — and every request when costs are all 0 — in trial order.
 */
export class Slots {
  private readonly waiting: { cost: number; index: number; grant: () => void }[] = [];
  private scheduled = false;

  constructor(private free: number) {}

  acquire(index: number, cost: number): Promise<void> {
    return new Promise((grant) => {
      this.waiting.push({ cost, index, grant });
      this.schedule();
    });
  }

  release(): void {
    this.free++;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.waiting.sort((a, b) => b.cost - a.cost || a.index - b.index);
      while (this.free > 0 && this.waiting.length > 0) {
        this.free--;
        this.waiting.shift()!.grant();
      }
    });
  }
}

/**
 * A trial's estimated cost on this data (its kind's estimateCost; 0 when that is not a finite number): the
 * order in which waiting trials start, nothing else.
 */
export function trialCost(trial: Trial, data: FitData, patience: number): number {
  const cost = modelKind(trial.kind).estimateCost(trial.params, {
    ...factsOf(data),
    validationRows: data.validation.rows,
    patience,
  });
  return Number.isFinite(cost) ? Math.max(0, cost) : 0;
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
  const { seed, selectionMetric, classWeight, earlyStopping, workers } = options;
  let plans: CandidatePlan[];
  try {
    plans = planCandidates(candidates, options.seed);
    // The kinds' data checks (e.g. k ≤ training rows) fail the run before anything trains.
    for (const plan of plans) for (const trial of plan.trials) checkTrialData(trial, data);
  } catch (error) {
    if (typeof workers === "object") await workers.close();
    throw error;
  }
  const { offsets, total } = totals(plans);
  const fitOptions: TrialFitOptions = { seed, selectionMetric, classWeight, earlyStopping };
  const started = typeof workers === "object" ? workers : startTrialWorkers(workers);
  let pool: TrialPool;
  try {
    pool = started.start(data, fitOptions, hooks.onNotice);
  } catch (error) {
    await started.close();
    throw error;
  }
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
    // With one slot the trials run in trial order, as a sequential run does; with more, the costliest first.
    await this.slots.acquire(
      index,
      this.pool.size > 1 ? trialCost(trial, this.data, this.options.earlyStopping.patience) : 0,
    );
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.slots.release();
    };
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
        // With worker threads, the worker is free once the model is back: the next trial starts on it while
        // this thread scores and logs this one (what `around` does after `train`). In this thread (one worker)
        // the slot is held to the end, so trials run strictly one after another, as in a sequential run.
        if (!this.pool.inProcess) release();
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
      release();
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
