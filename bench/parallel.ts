// `npm run bench:parallel -- [--config configs/credit-default.yaml] [--workers 2] [--repeats 3]
//                           [--wait-idle 0.9 [--wait-minutes 10]] [--set key=value ...] [--mirror DIR]`
//
// Issue 10's goal for parallel candidates: the config's training run, wall time with one worker (the candidates
// one after another, in this thread) against --workers worker threads.
//
// One throwaway MLflow server is started first (a temp store, a free port) and used by every run, so its start
// is not timed. Then `npm run train -- --config <config> --workers <n>` runs as a fresh process (node --import
// tsx scripts/train.ts, what `npm run train` runs, with MLFLOW_TRACKING_URI pointing at that server), --repeats
// times per worker count, interleaved: 1 then n, then n then 1, … (a drift of the machine's speed weighs on both
// sides alike). Every run does everything `npm run train` does: data preparation, every candidate as a child
// run, evaluation, plots, packaging, registration.
//
// stdout, JSON lines only (progress and the runs' own output go to stderr):
//   one line per run   wall_s: spawn to exit of the train command (the goal's measure); train_cpu_s and
//                      server_cpu_s: the CPU seconds (user + system) of the train command (every thread) and of
//                      the tracking server during it (Linux /proc; null elsewhere); from its MLflow runs:
//                      before_candidates_s, candidates_s (first trial's start to last trial's end),
//                      after_candidates_s, trial_seconds_sum (Σ of the trials' train_seconds), trials; the
//                      machine's idle share and load average before it started
//   a summary line     medians per worker count and their ratios (1 worker / n: > 1 means n are faster), for the
//                      whole run and for the candidates' phase alone; the CPU seconds' medians (train + server)
//                      and wall_speedup_cpu_bound: one worker's wall time over n workers' CPU seconds spread on
//                      the cores, the most their work allowed
//   the goal line      wall-time ratio ≥ 1.6: met or not
// `--wait-idle 0.9` waits (up to --wait-minutes) before each run until the machine is that idle: other jobs on
// the same cores distort a parallel benchmark more than a sequential one. Exit code 1 when a run failed.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadTrainConfig } from "../src/config/train-config.js";
import { MlflowClient } from "../src/tracking/client.js";
import { type LocalServer, startLocalServer } from "../src/tracking/local-server.js";
import {
  integerFlag,
  machineSettler,
  mirrorDir,
  processGroupCpuSeconds,
  progressLogger,
  round3,
  runTrainCommand,
} from "./lib.js";
import { interleave, type Line, runPhases, summaryLines, type TimedRun } from "./parallel-report.js";

const GOAL = 1.6;

const { values } = parseArgs({
  options: {
    config: { type: "string", default: "configs/credit-default.yaml" },
    set: { type: "string", multiple: true, default: [] },
    /** Worker threads compared with one worker. */
    workers: { type: "string", default: "2" },
    repeats: { type: "string", default: "3" },
    /** Before each run, wait until the machine is this idle (0..1; 0 = do not wait), for at most --wait-minutes. */
    "wait-idle": { type: "string", default: "0" },
    "wait-minutes": { type: "string", default: "10" },
    mirror: { type: "string" },
  },
});

const workers = integerFlag("workers", values.workers, 2);
const repeats = integerFlag("repeats", values.repeats);
const waitIdle = Number(values["wait-idle"]);
if (!(waitIdle >= 0 && waitIdle < 1))
  throw new Error(`--wait-idle must be in [0, 1) (got '${values["wait-idle"]}').`);
const waitMinutes = integerFlag("wait-minutes", values["wait-minutes"], 0);
const progress = progressLogger("bench:parallel");

/** The machine's state before a run starts (after waiting for --wait-idle), recorded in its line. */
const settle = machineSettler(waitIdle, waitMinutes, progress);

/** Runs the train command once with `n` workers. Resolves with the wall time and run id. */
function train(
  n: number,
  uri: string,
  mirror: string | undefined,
): Promise<{ wall_s: number; runId: string; cpu_s: number | undefined }> {
  return runTrainCommand(
    [
      "--config",
      values.config,
      "--workers",
      String(n),
      ...values.set.flatMap((s) => ["--set", s]),
      ...(mirror === undefined ? [] : ["--mirror", mirror]),
    ],
    uri,
  );
}

/** The phases of a training run, read back from its parent and child runs. */
async function phases(client: MlflowClient, runId: string): Promise<Line> {
  const parent = await client.runs.get(runId);
  const children = [];
  for await (const child of client.runs.search({
    experimentIds: [parent.info.experimentId],
    filter: `tags.mlflow.parentRunId = '${runId}'`,
  }))
    children.push({
      startTime: child.info.startTime,
      endTime: child.info.endTime,
      trainSeconds: child.data.metrics.find((m) => m.key === "train_seconds")?.value,
    });
  return runPhases({ startTime: parent.info.startTime, endTime: parent.info.endTime }, children);
}

let server: LocalServer | undefined;
let client: MlflowClient | undefined;
const dir = await mkdtemp(path.join(os.tmpdir(), "bench-parallel-"));
let failures = 0;
const cleanup = async () => {
  client?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    progress(`${signal}: stopping the tracking server`);
    void cleanup().finally(() => process.exit(130));
  });

try {
  const config = await loadTrainConfig(values.config, values.set);
  const mirror = mirrorDir(values.mirror);
  const common: Line = {
    bench: "parallel",
    config: config.name,
    dataset: config.dataset,
    cores: os.availableParallelism(),
  };
  progress(`starting a throwaway MLflow server (store ${dir})`);
  server = await startLocalServer({ storeDir: path.join(dir, "mlruns"), port: 0 });
  client = new MlflowClient({ trackingUri: server.uri });
  progress(`server ${server.uri}; ${repeats} repeat(s) of --workers 1 and --workers ${workers}, interleaved`);
  const runs: TimedRun[] = [];
  for (const [r, order] of interleave(repeats, workers).entries()) {
    for (const n of order) {
      const label = `repeat ${r + 1}, --workers ${n}`;
      const machine = await settle(label);
      progress(`${label}: npm run train -- --config ${values.config} --workers ${n}`);
      try {
        const serverCpu = await processGroupCpuSeconds(server.pid);
        const { wall_s, runId, cpu_s } = await train(n, server.uri, mirror);
        const serverAfter = await processGroupCpuSeconds(server.pid);
        const serverCpuS =
          serverCpu === undefined || serverAfter === undefined ? undefined : serverAfter - serverCpu;
        const phase = await phases(client, runId).catch((error: unknown) => ({
          phases_error: (error as Error).message,
        }));
        const candidates = (phase as Line).candidates_s;
        const runCpu = cpu_s === undefined || serverCpuS === undefined ? undefined : cpu_s + serverCpuS;
        runs.push({
          workers: n,
          wall_s,
          candidates_s: typeof candidates === "number" ? candidates : undefined,
          cpu_s: runCpu,
        });
        console.log(
          JSON.stringify({
            ...common,
            repeat: r + 1,
            workers: n,
            wall_s: round3(wall_s),
            run_id: runId,
            train_cpu_s: cpu_s === undefined ? null : round3(cpu_s),
            server_cpu_s: serverCpuS === undefined ? null : round3(serverCpuS),
            ...phase,
            ...machine,
          }),
        );
      } catch (error) {
        failures++;
        console.log(
          JSON.stringify({
            ...common,
            repeat: r + 1,
            workers: n,
            error: (error as Error).message,
            ...machine,
          }),
        );
      }
    }
  }
  for (const line of summaryLines(common, runs, workers, GOAL, os.availableParallelism()))
    console.log(JSON.stringify(line));
} finally {
  await cleanup();
}
if (failures > 0) {
  progress(`${failures} run(s) failed (their lines carry "error")`);
  process.exitCode = 1;
}
