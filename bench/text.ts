// `npm run bench:text -- [--config configs/complaints.yaml] [--kinds config|none|tfidf-linear,text-cnn,...]
//                       [--repeats 1] [--peer-repeats 3] [--fit-on train+validation|train] [--peer-text raw|normalised]
//                       [--no-train] [--wait-idle 0.9 [--wait-minutes 10]] [--set key=value ...] [--mirror DIR]
//                       [--keep-data]`
//
// Issue 11's text classification against scikit-learn's TF-IDF baselines, on the same split of the same data.
//
// The data is prepared once here (validate → rare classes → split, as `npm run train` does, same config and seed).
// The rows of train, validation and test go to JSON-lines files in a temp dir, each row's raw text (as validated:
// the manifest's maxLength truncation applied), its text after our features.text normalisation, and its label;
// bench/peers/text_peer.py reads them, so every side sees exactly the same rows.
//
// Every variant runs in a fresh process of its own:
//   ours-config   `npm run train -- --config <config>` (node --import tsx scripts/train.ts, every candidate, the
//                 evaluation, packaging and registration) against a throwaway MLflow server started first (its
//                 start is not timed; `npm run train` on a machine without a server would add its start).
//                 wall_s: spawn to exit of the command (the issue's "< 5 minutes" goal). The best model's test
//                 macro-F1 / weighted F1 / accuracy and the candidates' validation scores are read back from the
//                 run, and its logged train / validation / test datasets (row counts, MLflow digests) are checked
//                 against the bench's split: a different split is an error, not a comparison.
//   ours-<kind>   bench/train-variant.ts for each text kind (--kinds; default: the config's candidate kinds):
//                 every trial of the config's candidates of that kind fitted on train with early stopping on
//                 validation, the kind's best trial chosen on validation, scored on test (see that file). Gives
//                 each kind's test macro-F1 (the full run scores only its winner on test), fit time and peak RSS.
//   peers         bench/peers/text_peer.py, one process per model (see its docstring): TfidfVectorizer (word
//                 1–2-grams, sublinear tf, min_df 2) + LinearSVC, and + LogisticRegression; class_weight from the
//                 config; --peer-text raw (default: the raw text, lower-cased and tokenised by scikit-learn itself,
//                 the standard recipe) or normalised (our normalised text); fitted on --fit-on (default
//                 train + validation, the rows ours sees: ours fits on train and selects on validation).
//
// Metrics on test, same rules on both sides: macro-F1 and weighted F1 over the config's classes (after
// data.rareClasses) at arg-max. The config's decision threshold does not apply (multiclass).
//
// stdout: JSON lines only — the config run, one per kind, one per peer, then ratio lines (quality: ours / peer,
// >1 means ours scores higher; fit time and peak RSS: peer / ours, >1 means ours is faster / smaller; each says so
// in "meaning"), then the issue's goals: the config's best test macro-F1 >= LinearSVC's, training < 300 s.
// Progress (and the train command's output) goes to stderr. Exit code 1 when a variant failed.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadTrainConfig, type TrainConfig } from "../src/config/train-config.js";
import { splitDatasetInput } from "../src/data/mlflow-dataset.js";
import { planCandidates } from "../src/models/candidates.js";
import { KIND_NAMES, type KindName, modelKind } from "../src/models/kinds/index.js";
import { type PreparedData, prepareData } from "../src/pipelines/prepare-data.js";
import { projectRoot, venvExecutable } from "../src/shared/project.js";
import { MlflowClient } from "../src/tracking/client.js";
import { type LocalServer, startLocalServer } from "../src/tracking/local-server.js";
import {
  collectStdout,
  integerFlag,
  machineSettler,
  mirrorDir,
  progressLogger,
  round3,
  runTrainCommand,
} from "./lib.js";
import {
  type ConfigRunSummary,
  goalLines,
  LINEAR_SVC,
  type Line,
  ratioLines,
  type SplitIdentity,
  splitMismatches,
  type TextVariantSummary,
} from "./text-report.js";
import { parseKinds, splitFingerprint, trialsOfKind, type VariantSpec } from "./train-common.js";

const here = path.dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    config: { type: "string", default: "configs/complaints.yaml" },
    set: { type: "string", multiple: true, default: [] },
    /** Our kinds benchmarked one by one: `config` (the config's candidate kinds), `none`, or a list. */
    kinds: { type: "string", default: "config" },
    /** Repeats of each of our kinds (the config run runs once). */
    repeats: { type: "string", default: "1" },
    "peer-repeats": { type: "string", default: "3" },
    "fit-on": { type: "string", default: "train+validation" },
    /** The peers' input: the raw text (their own lower-casing) or our normalised text. */
    "peer-text": { type: "string", default: "raw" },
    /** Skip the full `npm run train` run (no goals then). */
    "no-train": { type: "boolean", default: false },
    "wait-idle": { type: "string", default: "0" },
    "wait-minutes": { type: "string", default: "10" },
    mirror: { type: "string" },
    "keep-data": { type: "boolean", default: false },
  },
});

const repeats = integerFlag("repeats", values.repeats);
const peerRepeats = integerFlag("peer-repeats", values["peer-repeats"]);
const fitOn = values["fit-on"];
if (fitOn !== "train+validation" && fitOn !== "train")
  throw new Error(`--fit-on must be train+validation or train (got '${fitOn}').`);
const peerText = values["peer-text"];
if (peerText !== "raw" && peerText !== "normalised")
  throw new Error(`--peer-text must be raw or normalised (got '${peerText}').`);
const waitIdle = Number(values["wait-idle"]);
if (!(waitIdle >= 0 && waitIdle < 1))
  throw new Error(`--wait-idle must be in [0, 1) (got '${values["wait-idle"]}').`);
const waitMinutes = integerFlag("wait-minutes", values["wait-minutes"], 0);

const progress = progressLogger("bench:text");
const settle = machineSettler(waitIdle, waitMinutes, progress);
let failures = 0;

/** The kinds to bench one by one: the config's candidate kinds (text kinds only), none, or the listed ones. */
function benchKinds(config: TrainConfig): KindName[] {
  if (values.kinds === "none") return [];
  const kinds =
    values.kinds === "config"
      ? [...new Set(config.training.candidates.map((c) => c.kind))]
      : parseKinds(values.kinds, KIND_NAMES);
  for (const kind of kinds)
    if (modelKind(kind).input !== "text")
      throw new Error(`--kinds: '${kind}' is not a text kind (bench:text compares text classifiers).`);
  return kinds;
}

/** The peer's input folder: meta.json plus train/validation/test JSON lines (raw text, normalised text, label). */
async function writePeerData(dir: string, data: PreparedData): Promise<string[]> {
  const columns = Object.keys(data.matrices.train.texts ?? {});
  if (columns.length === 0) throw new Error(`dataset ${data.manifest.name} has no text column`);
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, "meta.json"),
    `${JSON.stringify({ dataset: data.manifest.name, target: data.manifest.target.column, classes: data.classes, text_columns: columns, normalize: data.preprocessor.text?.[0]?.normalize ?? null }, null, 2)}\n`,
  );
  for (const split of ["train", "validation", "test"] as const) {
    const table = data.splits[split];
    const normalised = data.matrices[split].texts!;
    const lines: string[] = [];
    for (let i = 0; i < table.rowCount; i++)
      lines.push(
        JSON.stringify({
          raw: columns.map((c) => table.text[c]![i]!).join("\n"),
          normalised: columns.map((c) => normalised[c]![i]!).join("\n"),
          label: table.target[i]!,
        }),
      );
    await writeFile(path.join(dir, `${split}.jsonl`), `${lines.join("\n")}\n`);
  }
  return columns;
}

/** Runs a child and parses the single JSON object it prints on stdout (its stderr goes to ours). */
async function runJsonChild(label: string, command: string, args: string[]): Promise<Line> {
  const child = spawn(command, args, { cwd: projectRoot(), stdio: ["ignore", "pipe", "inherit"] });
  const { code, stdout } = await collectStdout(child);
  if (code !== 0) throw new Error(`${label} exited with code ${code}`);
  const lines = stdout.split("\n").filter((line) => line.trim() !== "");
  if (lines.length !== 1) throw new Error(`${label} printed ${lines.length} lines on stdout instead of one`);
  return JSON.parse(lines[0]!) as Line;
}

/** `npm run train` of the config once against `uri`. Resolves with the wall time and run id. */
function trainOnce(uri: string, mirror: string | undefined): Promise<{ wall_s: number; runId: string }> {
  return runTrainCommand(
    [
      "--config",
      values.config,
      ...values.set.flatMap((s) => ["--set", s]),
      ...(mirror === undefined ? [] : ["--mirror", mirror]),
    ],
    uri,
  );
}

/** The config run's line: its best model's test scores and candidates, read back from MLflow; checks its split. */
async function configRunLine(
  client: MlflowClient,
  runId: string,
  wallSeconds: number,
  data: PreparedData,
): Promise<ConfigRunSummary & Line> {
  const run = await client.runs.get(runId);
  const metric = (key: string) => run.data.metrics.find((m) => m.key === key)?.value;
  const expected: Record<string, SplitIdentity> = {};
  const logged: Record<string, Partial<SplitIdentity>> = {};
  for (const split of ["train", "validation", "test"] as const) {
    const input = splitDatasetInput(
      data.manifest,
      split,
      data.splits[split],
      data.splits.fingerprints[split],
      data.source,
    );
    expected[split] = { rows: data.splits[split].rowCount, digest: input.dataset.digest };
    const digest = run.inputs.datasetInputs.find((d) => d.dataset.name === input.dataset.name)?.dataset
      .digest;
    logged[split] = {
      ...(metric(`data_rows_${split}`) === undefined ? {} : { rows: metric(`data_rows_${split}`)! }),
      ...(digest === undefined ? {} : { digest }),
    };
  }
  const problems = splitMismatches(expected, logged);
  if (problems.length > 0)
    throw new Error(`the training run's split is not the bench's (${problems.join("; ")})`);
  const selection = `val_${run.data.params["config.training.selectionMetric"] ?? "f1_macro"}`;
  const candidates = [];
  for await (const child of client.runs.search({
    experimentIds: [run.info.experimentId],
    filter: `tags.mlflow.parentRunId = '${runId}'`,
  })) {
    const value = child.data.metrics.find((m) => m.key === selection)?.value;
    const seconds = child.data.metrics.find((m) => m.key === "train_seconds")?.value;
    candidates.push({
      id: child.info.runName,
      kind: child.data.params.kind ?? null,
      [selection]: value === undefined ? null : Number(value.toFixed(5)),
      train_seconds: seconds === undefined ? null : round3(seconds),
    });
  }
  candidates.sort((a, b) => String(a.id).localeCompare(String(b.id), "en", { numeric: true }));
  const testF1 = metric("test_f1_macro");
  if (testF1 === undefined) throw new Error(`run ${runId} logged no test_f1_macro`);
  const weighted = metric("test_f1_weighted");
  const round = (x: number | undefined) => (x === undefined ? null : Number(x.toFixed(5)));
  return {
    impl: "ours",
    variant: "ours-config",
    command: `npm run train -- --config ${values.config}${values.set.map((s) => ` --set ${s}`).join("")}`,
    run_id: runId,
    wall_s: round3(wallSeconds),
    best_candidate: run.data.params.best_candidate ?? "?",
    best_kind: run.data.params.best_kind ?? null,
    test_rows: data.splits.test.rowCount,
    split: "same as the bench's (row counts and MLflow dataset digests of train, validation, test)",
    test_f1_macro: Number(testF1.toFixed(5)),
    ...(weighted === undefined ? {} : { test_f1_weighted: Number(weighted.toFixed(5)) }),
    test_accuracy: round(metric("test_accuracy")),
    holdout_f1_macro: round(metric("holdout_f1_macro")),
    candidates,
  };
}

let tempDir: string | undefined;
let server: LocalServer | undefined;
let client: MlflowClient | undefined;
let cleanedUp: Promise<void> | undefined;
const cleanup = () => {
  cleanedUp ??= (async () => {
    client?.close();
    await server?.stop();
    if (tempDir !== undefined && !values["keep-data"]) await rm(tempDir, { recursive: true, force: true });
  })();
  return cleanedUp;
};
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });

try {
  const config = await loadTrainConfig(values.config, values.set);
  const kinds = benchKinds(config);
  tempDir = await mkdtemp(path.join(os.tmpdir(), "bench-text-"));
  const mirror = mirrorDir(values.mirror);
  const cores = os.availableParallelism();
  progress(
    `config ${values.config}: dataset ${config.dataset}, kinds ${kinds.join(", ") || "-"}, mirror ${mirror ?? "-"}`,
  );
  const data = await prepareData(config, {
    workDir: path.join(tempDir, "work"),
    ...(mirror === undefined ? {} : { mirror }),
  });
  const peerDir = path.join(tempDir, "peer-data");
  const textColumns = await writePeerData(peerDir, data);
  const fingerprint = splitFingerprint(data.splits);
  const denseFeatures = data.preprocessor.featureNames.length;
  progress(
    `rows: train ${data.splits.train.rowCount}, validation ${data.splits.validation.rowCount}, test ${data.splits.test.rowCount}; classes ${data.classes.join(" | ")}; split ${fingerprint.slice(0, 12)}; peer data ${peerDir}${values["keep-data"] ? " (kept)" : ""}`,
  );
  if (denseFeatures > 0)
    progress(
      `the peers read the text columns only; ours also see ${denseFeatures} numeric/categorical features`,
    );
  const common: Line = {
    bench: "text",
    dataset: config.dataset,
    config: config.name,
    cores,
    classes: data.classes.length,
    text_columns: textColumns,
  };

  // Ours: the whole config through `npm run train`, against a throwaway tracking server.
  let configRun: (ConfigRunSummary & Line) | undefined;
  if (!values["no-train"]) {
    progress(`starting a throwaway MLflow server (store ${tempDir})`);
    server = await startLocalServer({ storeDir: path.join(tempDir, "mlruns"), port: 0 });
    client = new MlflowClient({ trackingUri: server.uri });
    const machine = await settle("ours-config");
    progress(`ours-config: npm run train -- --config ${values.config} (server ${server.uri})`);
    try {
      const { wall_s, runId } = await trainOnce(server.uri, mirror);
      configRun = await configRunLine(client, runId, wall_s, data);
      console.log(JSON.stringify({ ...common, ...configRun, ...machine }));
    } catch (error) {
      failures++;
      console.log(
        JSON.stringify({ ...common, variant: "ours-config", error: (error as Error).message, ...machine }),
      );
    }
  }

  // Ours: each text kind in a fresh process, its trials scored on test.
  const plans = planCandidates(config.training.candidates, config.seed);
  const ours = new Map<string, TextVariantSummary & Line>();
  for (const kind of kinds) {
    const { trials, notes } = trialsOfKind(kind, plans);
    progress(
      `ours-${kind}: ${trials.map((t) => t.id).join(", ")}, ${repeats} repeat(s)${notes.map((n) => `; ${n}`).join("")}`,
    );
    const spec: VariantSpec = {
      config: values.config,
      set: values.set,
      mirror,
      workDir: path.join(tempDir, `work-${kind}`),
      kind,
      trials,
      repeats,
      predictRows: data.splits.test.rowCount,
      predictRepeats: 1,
      fingerprint,
    };
    const specFile = path.join(tempDir, `spec-${kind}.json`);
    await writeFile(specFile, JSON.stringify(spec));
    const machine = await settle(`ours-${kind}`);
    try {
      const line = await runJsonChild(`ours-${kind}`, process.execPath, [
        "--import",
        "tsx",
        path.join(here, "train-variant.ts"),
        "--spec",
        specFile,
      ]);
      const full = { ...common, ...line, ...machine, ...(notes.length > 0 ? { notes } : {}) };
      console.log(JSON.stringify(full));
      ours.set(kind, full as unknown as TextVariantSummary & Line);
    } catch (error) {
      failures++;
      console.log(JSON.stringify({ ...common, variant: `ours-${kind}`, error: (error as Error).message }));
    }
  }

  // Peers: one fresh process per model.
  const peers = new Map<string, TextVariantSummary & Line>();
  for (const model of ["linear-svc", "logistic"]) {
    const args = [
      path.join(here, "peers", "text_peer.py"),
      "--data",
      peerDir,
      "--model",
      model,
      "--repeats",
      String(peerRepeats),
      "--fit-on",
      fitOn,
      "--text",
      peerText,
      "--class-weight",
      config.training.classWeight,
      "--seed",
      String(config.seed),
    ];
    progress(`text_peer.py --model ${model} (${peerRepeats} repeat(s), ${peerText} text, fit on ${fitOn})`);
    const machine = await settle(model);
    try {
      const line = await runJsonChild(`text_peer.py --model ${model}`, venvExecutable("python"), args);
      const full = { ...common, ...line, ...machine };
      console.log(JSON.stringify(full));
      peers.set(String(line.variant), full as unknown as TextVariantSummary & Line);
    } catch (error) {
      failures++;
      console.log(
        JSON.stringify({ ...common, variant: `sklearn-tfidf-${model}`, error: (error as Error).message }),
      );
    }
  }

  for (const peer of peers.values()) {
    if (configRun !== undefined)
      for (const line of ratioLines(common, configRun, peer)) console.log(JSON.stringify(line));
    for (const kind of ours.values())
      for (const line of ratioLines(common, kind, peer)) console.log(JSON.stringify(line));
  }
  if (!values["no-train"])
    for (const line of goalLines(common, configRun, peers.get(LINEAR_SVC))) console.log(JSON.stringify(line));
} finally {
  await cleanup();
}
if (failures > 0) {
  progress(`${failures} variant(s) failed (their lines carry "error")`);
  process.exitCode = 1;
}
