import { MlflowClient } from "./client.js";
import { TrackingSession } from "./session.js";
import type { Tracker, WithRunOptions } from "./tracker.js";

export { ActiveRun } from "./active-run.js";
export type { Tracker, WithRunOptions } from "./tracker.js";

/**
 * Runs `fn` inside an MLflow run that always ends: FINISHED when `fn` resolves, FAILED when it throws
 * (the error is re-thrown), KILLED on SIGINT or SIGTERM. Records MLflow's standard source tags.
 *
 * Given a client, the run goes straight to the server and records nothing else. Given a TrackingSession,
 * the session decides: liveness tags and a heartbeat, and with a spool the run carries on in a local journal
 * when the server is lost (or never contacted, offline).
 *
 * @example
 * await withRun(client, { experimentName: "credit-default", runName: "baseline" }, async (run) => {
 *   await run.logParams({ lr: 0.01 });
 *   await run.logMetric("auc", 0.77);
 * });
 */
export function withRun<T>(
  source: MlflowClient | TrackingSession,
  options: WithRunOptions,
  fn: (run: Tracker) => Promise<T>,
): Promise<T> {
  const session =
    source instanceof MlflowClient ? new TrackingSession({ client: source, liveness: false }) : source;
  return session.withRun(options, fn);
}
