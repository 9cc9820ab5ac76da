import type { EndableTracker } from "./tracker.js";

// Runs in flight in this process: SIGINT or SIGTERM ends each KILLED (on the server, or in the spool when
// the server is gone) before the process goes down. SIGKILL cannot be caught: heartbeats and the pid tags
// let `npm run sync` find those runs later.
const liveRuns = new Set<EndableTracker>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
let handlersInstalled = false;

function onSignal(signal: NodeJS.Signals): void {
  uninstall();
  const runs = [...liveRuns];
  const deadline = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
  void Promise.race([Promise.allSettled(runs.map((run) => run.end("KILLED"))), deadline]).finally(() => {
    // With our handler gone, the signal's default action (or the app's own handler) takes over.
    process.kill(process.pid, signal);
  });
}

function install(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of SIGNALS) process.once(signal, onSignal);
}

function uninstall(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
}

/** Ends `run` KILLED if the process is interrupted before `forget(run)`. */
export function watchRun(run: EndableTracker): void {
  liveRuns.add(run);
  install();
}

export function forgetRun(run: EndableTracker): void {
  liveRuns.delete(run);
  if (liveRuns.size === 0) uninstall();
}
