import type { ModelRef, ModelToLog, Tracker } from "../tracking/tracker.js";

export type RegisterOptions = ModelToLog;

/** The registered version; `modelId` and `version` read "pending" while the run is in the spool. */
export type Registration = ModelRef;

/**
 * Logs a model package as an MLflow 3 logged model of `run` (upload, finalize, run output) and registers
 * it as a new version of `modelName` with `alias`. A failed upload finalizes the logged model as FAILED.
 * Through the run's tracker: when the run is in the local spool, the registration waits there and
 * `npm run sync` completes it exactly once (the version carries the registration's client id as a tag).
 */
export function logAndRegisterModel(run: Tracker, options: RegisterOptions): Promise<Registration> {
  return run.logModel(options);
}
