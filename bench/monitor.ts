// `npm run bench:monitor -- [--rows 1000000] [--reference-rows 1000000] [--seed 42] [--repeats 1] [--mirror DIR]
//                          [--dir out/bench/monitor] [--no-peer] [--wait-idle 0.9 [--wait-minutes 10]]`
//
// Issue 12's benchmark: data drift of --rows current rows x 23 credit-default features against a stored reference
// profile of --reference-rows rows, ours against Evidently's DataDriftPreset on the same files, in the same run.
//
// Data (bench/monitor-setup.ts): the credit-default file from the mirror, resampled with replacement (seeded)
// into a reference CSV and a current CSV under --dir/seed-<seed>/ (cached by seed and row counts); the current
// file has LIMIT_BAL x 1.3 on 40% of rows, PAY_0 + 1 on 30% and AGE + 3 on all, the other 20 columns unshifted.
//
// Ours, each a fresh process run as the npm task runs it but without `node scripts/setup.mjs` (node --import tsx
// <script>), with a preloaded module recording the process's getrusage at exit (peak RSS):
//   profile   `npm run monitor:profile -- --data <reference.csv> --manifest data/credit-default.yaml --out
//             <profile.json>`: the stored reference profile (timed and reported on its own line; profile_bytes
//             is the file's size)
//   monitor   `npm run monitor -- --reference <profile.json> --current <current.csv> --no-log --out <dir>`:
//             seconds from spawn to exit (Node start, reading, every test, the JSON and HTML reports), rows/s =
//             current rows / seconds; the per-column verdicts are read back from <dir>/monitor.json
// Peer: bench/peers/monitor_peer.py in the bench venv (.venv-bench/monitor, created on first need from
// bench/peers/requirements-monitor.txt): pandas read_csv of both files and DataDriftPreset with its defaults, the
// column types from the manifest (14 numeric, 9 categorical), timed separately (see its docstring).
//
// Repeats: the profile is built once; then --repeats rounds each run ours and the peer once; a side's line is its
// median round by seconds (seconds_each / seconds_total_each list every round) with the largest peak RSS of its
// rounds. Every run waits for --wait-idle first (on a shared machine other jobs distort the timings).
//
// stdout: JSON lines only — data, ours-profile, ours, the peer, the ratio lines (Evidently / ours: > 1 means ours
// is faster / smaller), the flags line (per-column tests, scores and flags side by side; identical = same flags
// and same dataset verdict) and issue 12's goal line (met only at the goal's size, 1,000,000 x 1,000,000).
// Progress goes to stderr. Exit code 1 when a side failed.
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { z } from "zod";
import { EXIT } from "../src/cli/exit-codes.js";
import { loadManifest } from "../src/data/manifest.js";
import type { MonitorReport } from "../src/monitoring/types.js";
import { MONITOR_JSON } from "../src/pipelines/monitor.js";
import { projectRoot } from "../src/shared/project.js";
import {
  collectStdout,
  integerFlag,
  machineSettler,
  mirrorDir,
  progressLogger,
  RUSAGE_PRELOAD,
  round1,
  round3,
} from "./lib.js";
import {
  type ColumnVerdict,
  flagsLine,
  goalLine,
  type Line,
  medianRun,
  type OursSummary,
  type PeerSummary,
  ratioLines,
} from "./monitor-report.js";
import { benchData, ensureBenchVenv, SHIFTS } from "./monitor-setup.js";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    "reference-rows": { type: "string", default: "1000000" },
    seed: { type: "string", default: "42" },
    manifest: { type: "string", default: "data/credit-default.yaml" },
    mirror: { type: "string" },
    /** Where the generated files, the profile and our reports go (gitignored out/). */
    dir: { type: "string", default: "out/bench/monitor" },
    /** The bench venv holding Evidently. */
    venv: { type: "string", default: ".venv-bench/monitor" },
    "no-peer": { type: "boolean", default: false },
    /** Rounds of ours and the peer (interleaved); each side's line is its median round by seconds. */
    repeats: { type: "string", default: "1" },
    "wait-idle": { type: "string", default: "0" },
    "wait-minutes": { type: "string", default: "10" },
  },
});

const rows = integerFlag("rows", values.rows);
const referenceRows = integerFlag("reference-rows", values["reference-rows"]);
const seed = integerFlag("seed", values.seed, 0);
const repeats = integerFlag("repeats", values.repeats);
const waitIdle = Number(values["wait-idle"]);
if (!(waitIdle >= 0 && waitIdle < 1))
  throw new Error(`--wait-idle must be in [0, 1) (got '${values["wait-idle"]}').`);
const waitMinutes = integerFlag("wait-minutes", values["wait-minutes"], 0);

const root = projectRoot();
const here = path.dirname(fileURLToPath(import.meta.url));
const progress = progressLogger("bench:monitor");
const settle = machineSettler(waitIdle, waitMinutes, progress);

/** One of our scripts as a fresh process (node --import tsx): wall seconds from spawn to exit, peak RSS, CPU. */
async function runOurs(
  label: string,
  script: string,
  args: string[],
  work: string,
): Promise<{ seconds: number; peak_rss_mb: number; cpu_s: number; stdout: string }> {
  const rusageFile = path.join(work, `${label}.rusage.json`);
  await rm(rusageFile, { force: true });
  progress(`${label}: ${script} ${args.join(" ")}`);
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--import", RUSAGE_PRELOAD, path.join(root, "scripts", script), ...args],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, BENCH_RUSAGE_FILE: rusageFile, LOG_LEVEL: "warn" },
    },
  );
  const { code, stdout } = await collectStdout(child);
  const seconds = (performance.now() - started) / 1000;
  // The monitor's exit code says whether dataset drift was found; only other codes are failures.
  if (code !== EXIT.ok && !(label === "ours" && code === EXIT.drift))
    throw new Error(`${label} exited with code ${code}: ${stdout.slice(-2000)}`);
  const usage = JSON.parse(await readFile(rusageFile, "utf8")) as {
    maxRSS: number;
    user: number;
    system: number;
  };
  return {
    seconds: round3(seconds),
    peak_rss_mb: round1(usage.maxRSS / 1024),
    cpu_s: round3((usage.user + usage.system) / 1e6),
    stdout,
  };
}

/** The peer's one JSON line: what the comparison reads is checked, the rest is passed through. */
const peerOutput = z
  .object({
    seconds_compute: z.number(),
    seconds_total: z.number(),
    peak_rss_mb: z.number(),
    dataset_drift: z.boolean(),
    columns: z.array(
      z.object({
        name: z.string(),
        test: z.string(),
        score: z.number(),
        threshold: z.number(),
        drift: z.boolean(),
      }),
    ),
  })
  .passthrough();

async function runPeer(
  python: string,
  data: { reference: string; current: string; numeric: string[]; categorical: string[] },
): Promise<z.infer<typeof peerOutput>> {
  const child = spawn(
    python,
    [
      path.join(here, "peers", "monitor_peer.py"),
      "--reference",
      data.reference,
      "--current",
      data.current,
      "--numeric",
      data.numeric.join(","),
      "--categorical",
      data.categorical.join(","),
    ],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
  );
  const { code, stdout } = await collectStdout(child);
  if (code !== 0) throw new Error(`monitor_peer.py exited with code ${code}`);
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1)
    throw new Error(`monitor_peer.py printed ${lines.length} lines on stdout instead of one`);
  const parsed = peerOutput.safeParse(JSON.parse(lines[0]!));
  if (!parsed.success) throw new Error(`monitor_peer.py printed an unexpected line: ${parsed.error.message}`);
  return parsed.data;
}

let failures = 0;
const manifest = await loadManifest(values.manifest);
const mirror = mirrorDir(values.mirror);
if (mirror === undefined)
  throw new Error(
    "bench:monitor needs the data mirror: --mirror DIR or WORKBENCH_DATA_MIRROR (see /README.md).",
  );
const dir = path.resolve(root, values.dir);
const data = await benchData({ manifest, mirror, dir, seed, referenceRows, currentRows: rows, progress });
const work = path.join(dir, `seed-${seed}`, "runs");
await mkdir(work, { recursive: true });
const common: Line = { bench: "monitor", dataset: manifest.name, cores: os.availableParallelism() };
console.log(
  JSON.stringify({
    ...common,
    line: "data",
    seed,
    reference_rows: referenceRows,
    current_rows: rows,
    columns: data.numeric.length + data.categorical.length,
    numeric: data.numeric.length,
    categorical: data.categorical.length,
    shifts: SHIFTS.map((s) => `${s.column} ${s.what}`),
    reference: path.relative(root, data.reference),
    current: path.relative(root, data.current),
    cached: data.cached,
  }),
);

// Ours: the stored profile once, then rounds of the monitor and the peer (interleaved, --repeats times).
let profile: { seconds: number; peak_rss_mb: number; bytes: number } | undefined;
const profileFile = path.join(work, "reference_profile.json");
try {
  const machine = await settle("ours-profile");
  const run = await runOurs(
    "ours-profile",
    "monitor-profile.ts",
    ["--data", data.reference, "--manifest", values.manifest, "--out", profileFile],
    work,
  );
  profile = { seconds: run.seconds, peak_rss_mb: run.peak_rss_mb, bytes: (await stat(profileFile)).size };
  console.log(
    JSON.stringify({
      ...common,
      variant: "ours-profile",
      command: `npm run monitor:profile -- --data ${path.relative(root, data.reference)} --manifest ${values.manifest} --out <profile.json>`,
      rows: referenceRows,
      seconds: run.seconds,
      rows_per_s: Math.round(referenceRows / run.seconds),
      peak_rss_mb: run.peak_rss_mb,
      cpu_s: run.cpu_s,
      profile_bytes: profile.bytes,
      ...machine,
    }),
  );
} catch (error) {
  failures++;
  console.log(JSON.stringify({ ...common, variant: "ours-profile", error: (error as Error).message }));
}

interface OursRun extends Line {
  seconds: number;
  peak_rss_mb: number;
  report: MonitorReport;
}

/** One run of our monitor against the stored profile; the report it wrote is read back. */
async function oursOnce(): Promise<OursRun> {
  const out = path.join(work, "ours");
  await rm(out, { recursive: true, force: true });
  const machine = await settle("ours");
  const run = await runOurs(
    "ours",
    "monitor.ts",
    ["--reference", profileFile, "--current", data.current, "--no-log", "--out", out],
    work,
  );
  const report = JSON.parse(await readFile(path.join(out, MONITOR_JSON), "utf8")) as MonitorReport;
  return { seconds: run.seconds, peak_rss_mb: run.peak_rss_mb, cpu_s: run.cpu_s, report, ...machine };
}

const oursRuns: OursRun[] = [];
const peerRuns: (Line & PeerSummary & { dataset_drift: boolean; columns: ColumnVerdict[] })[] = [];
const python = values["no-peer"] ? undefined : ensureBenchVenv(progress, path.resolve(root, values.venv));
for (let round = 1; round <= repeats && profile !== undefined; round++) {
  try {
    oursRuns.push(await oursOnce());
  } catch (error) {
    failures++;
    console.log(JSON.stringify({ ...common, variant: "ours", round, error: (error as Error).message }));
  }
  if (python === undefined) continue;
  try {
    const machine = await settle("evidently");
    progress(`evidently (round ${round} of ${repeats}): monitor_peer.py on ${referenceRows} + ${rows} rows`);
    const { columns, ...rest } = await runPeer(python, data);
    const verdicts = columns.map((c) => ({
      column: c.name,
      test: c.test,
      score: c.score,
      threshold: c.threshold,
      drift: c.drift,
    }));
    peerRuns.push({ ...rest, columns: verdicts, ...machine });
  } catch (error) {
    failures++;
    console.log(
      JSON.stringify({
        ...common,
        variant: "evidently-data-drift-preset",
        round,
        error: (error as Error).message,
      }),
    );
  }
}

let oursLine: (Line & OursSummary) | undefined;
const ours = medianRun(oursRuns, (r) => r.seconds);
if (ours !== undefined && profile !== undefined) {
  const { report, seconds, peak_rss_mb: _peak, cpu_s, ...machine } = ours;
  oursLine = {
    ...common,
    variant: "ours",
    command: `npm run monitor -- --reference <profile.json> --current ${path.relative(root, data.current)} --no-log --out <dir>`,
    rows: report.input.rowsRead,
    seconds,
    rows_per_s: Math.round(report.input.rowsRead / seconds),
    peak_rss_mb: Math.max(...oursRuns.map((r) => r.peak_rss_mb)),
    cpu_s,
    seconds_each: oursRuns.map((r) => r.seconds),
    reading_seconds: round3(report.input.seconds),
    profile_seconds: profile.seconds,
    profile_peak_rss_mb: profile.peak_rss_mb,
    profile_bytes: profile.bytes,
    exact: report.drift.columns.every((c) => c.exact),
    drifted: report.drift.drifted,
    share: round3(report.drift.share),
    dataset_drift: report.drift.datasetDrift,
    ...machine,
  };
  console.log(JSON.stringify(oursLine));
}

const peer = medianRun(peerRuns, (r) => r.seconds_total);
let peerLine: (Line & PeerSummary & { dataset_drift: boolean }) | undefined;
if (peer !== undefined) {
  const { columns: _verdicts, ...rest } = peer;
  peerLine = {
    ...common,
    variant: "evidently-data-drift-preset",
    ...rest,
    peak_rss_mb: Math.max(...peerRuns.map((r) => r.peak_rss_mb)),
    seconds_total_each: peerRuns.map((r) => r.seconds_total),
  };
  console.log(JSON.stringify(peerLine));
}

let identical: boolean | undefined;
if (ours !== undefined && oursLine !== undefined && peer !== undefined && peerLine !== undefined) {
  for (const line of ratioLines(common, oursLine, peerLine)) console.log(JSON.stringify(line));
  const oursColumns = ours.report.drift.columns.map((c) => ({
    column: c.column,
    test: c.test,
    score: c.score,
    threshold: c.threshold,
    drift: c.drift,
  }));
  const flags = flagsLine(common, oursColumns, peer.columns, {
    ours: ours.report.drift.datasetDrift,
    evidently: peer.dataset_drift,
  });
  identical = flags.identical as boolean;
  console.log(JSON.stringify(flags));
}
console.log(JSON.stringify(goalLine(common, oursLine, identical, { rows, referenceRows })));
if (failures > 0) {
  progress(`${failures} run(s) failed (their lines carry "error")`);
  process.exitCode = 1;
}
