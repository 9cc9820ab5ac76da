// A worker thread of the trial pool (pool.ts): it gets the training data once (shared memory), then trials one at
// a time; for each it runs fitTrial, posts every iteration back, saves the model into the directory it was given
// and posts the result. The main thread loads the model from there.
//
// Test-only: WORKBENCH_TEST_CRASH_TRIAL=<trial id> makes the worker call process.exit(3) when it gets that trial;
// <trial id>:throw makes it throw an uncaught error instead. It is read in worker threads only (an in-process
// run ignores it), so the pool's crash handling can be tested with a real crash.
import { parentPort, workerData } from "node:worker_threads";
import { WorkbenchError } from "../shared/errors.js";
import type { Trial } from "./candidates.js";
import { curveStopper, fitTrial, type TrialFitOptions } from "./fit-trial.js";
import type { FitData, FitResult, IterationRecord } from "./model.js";

/** What every worker starts with: the data (typed arrays over SharedArrayBuffers) and the run's fit options. */
export interface WorkerInit {
  data: FitData;
  options: TrialFitOptions;
}

/** Main thread → worker: train this trial and save its model into `dir`. */
export interface TrialMessage {
  type: "trial";
  trial: Trial;
  dir: string;
  /** The pruning threshold per iteration (search trials), or null. */
  pruneCurve: number[] | null;
}

/** An error as it crosses the thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
  stack?: string;
}

/** Worker → main thread. */
export type WorkerMessage =
  | { type: "iteration"; id: string; record: IterationRecord; planned: number }
  | { type: "done"; id: string; result: FitResult; seconds: number }
  | { type: "failed"; id: string; error: SerializedError };

function serializeError(error: unknown): SerializedError {
  if (error instanceof WorkbenchError)
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      details: { ...error.details },
      ...(error.stack === undefined ? {} : { stack: error.stack }),
    };
  if (error instanceof Error)
    return {
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
    };
  return { name: "Error", message: String(error) };
}

const port = parentPort;
if (port === null)
  throw new Error("trial-worker runs as a worker thread of the trial pool (src/models/pool.ts)");
const { data, options } = workerData as WorkerInit;
const post = (message: WorkerMessage) => port.postMessage(message);

async function train(message: TrialMessage): Promise<void> {
  const { trial } = message;
  const crash = process.env.WORKBENCH_TEST_CRASH_TRIAL;
  if (crash === trial.id) process.exit(3);
  if (crash === `${trial.id}:throw`) {
    setImmediate(() => {
      throw new Error(`test crash: ${trial.id} threw in its worker`);
    });
    return;
  }
  try {
    const fitted = await fitTrial(trial, data, options, {
      onIteration: (record, planned) => post({ type: "iteration", id: trial.id, record, planned }),
      ...(message.pruneCurve === null
        ? {}
        : { shouldStop: curveStopper(message.pruneCurve, options.selectionMetric) }),
    });
    try {
      await fitted.model.save(message.dir);
    } finally {
      fitted.model.dispose();
    }
    post({ type: "done", id: trial.id, result: fitted.result, seconds: fitted.seconds });
  } catch (error) {
    post({ type: "failed", id: trial.id, error: serializeError(error) });
  }
}

port.on("message", (message: TrialMessage) => {
  void train(message);
});
