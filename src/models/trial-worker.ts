// A worker thread of the trial pool (pool.ts). It starts before the training data exists: it loads its modules,
// warms up TensorFlow.js's backend and says "ready" while the main thread prepares the data. Then it gets the
// data once (shared memory) and trials one at a time; for each it runs fitTrial, posts every iteration back,
// saves the model into the directory it was given and posts the result. The main thread loads the model from
// there.
//
// Test-only: WORKBENCH_TEST_CRASH_TRIAL=<trial id> makes the worker call process.exit(3) when it gets that trial;
// <trial id>:throw makes it throw an uncaught error instead. It is read in worker threads only (an in-process
// run ignores it), so the pool's crash handling can be tested with a real crash.
import { parentPort } from "node:worker_threads";
import { WorkbenchError } from "../shared/errors.js";
import { initTf } from "./backend.js";
import type { Trial } from "./candidates.js";
import { curveStopper, fitTrial, type TrialFitOptions } from "./fit-trial.js";
import type { FitData, FitResult, IterationRecord } from "./model.js";

/** Main thread → worker, before any trial: the data (typed arrays over SharedArrayBuffers) and the run's options. */
export interface InitMessage {
  type: "init";
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
  | { type: "ready" }
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
const post = (message: WorkerMessage) => port.postMessage(message);
let init: InitMessage | undefined;

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
    if (init === undefined) throw new Error("the worker got a trial before the training data");
    const { data, options } = init;
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

// The pool posts the data first, then trials; messages are ordered.
port.on("message", (message: InitMessage | TrialMessage) => {
  if (message.type === "init") init = message;
  else void train(message);
});

// The backend the network kinds train on (initTf runs once per thread; fitting awaits the same promise), so that
// choosing it overlaps the main thread's data preparation. Ready either way: a backend that fails to start
// fails the network trials themselves, with the message they always gave.
void initTf().then(
  () => post({ type: "ready" }),
  () => post({ type: "ready" }),
);
