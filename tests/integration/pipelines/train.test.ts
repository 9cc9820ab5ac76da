import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import { afterAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { evaluate } from "../../../src/evaluation/metrics.js";
import { transform } from "../../../src/features/preprocessor.js";
import { readReferenceProfile } from "../../../src/monitoring/profile.js";
import { prepareData } from "../../../src/pipelines/prepare-data.js";
import { trainPipeline } from "../../../src/pipelines/train.js";
import { MLFLOW_VERSION } from "../../../src/registry/mlflow-version.js";
import { loadModelPackage } from "../../../src/registry/model-package.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot, venvExecutable } from "../../../src/shared/project.js";
import { collect } from "../../../src/tracking/paginate.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { expectGitCommit } from "../../helpers/git.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const exec = promisify(execFile);
const client = testClient();
const mirror = datasetMirror();
afterAll(() => client.close());

const SMALL =
  "[{kind: logistic, params: {epochs: 6, batchSize: 256}}, {kind: mlp, params: {epochs: 6, hiddenUnits: [16], dropout: 0.1}}]";

async function smallConfig(name: string, extra: string[] = []) {
  return loadTrainConfig(path.join(projectRoot(), "configs", `${name}.yaml`), [
    "data.limit=4000",
    `experiment=${uniqueName(`it-${name}`)}`,
    `registry.modelName=${uniqueName(`it-${name}`)}`,
    `training.candidates=${SMALL}`,
    ...extra,
  ]);
}

describe("training pipeline end to end against a real MLflow server", () => {
  it("credit-default slice: child runs, metrics, params, datasets, QA and plots, recipe, logged model, version @challenger", async () => {
    const config = await smallConfig("credit-default");
    const events: string[] = [];
    const result = await trainPipeline(
      { client, logger: silentLogger(), onEvent: (e) => events.push(e.type) },
      config,
      { ...(mirror ? { mirror } : {}) },
    );

    expect(result.candidates.map((c) => c.id)).toEqual(["logistic-1", "mlp-1"]);
    expect(events.filter((e) => e === "trial-end").length).toBe(2);
    expect(
      result.metrics.test.roc_auc,
      "minimum quality on a 4,000-row slice, 6 epochs (chance: 0.5)",
    ).toBeGreaterThan(0.65);
    expect(result.threshold).toBeGreaterThan(0);
    expect(result.data).toMatchObject({ rows: 4000, quarantined: 0 });

    const run = await client.runs.get(result.runId);
    expect(run.info.status).toBe("FINISHED");
    expect(run.data.params).toMatchObject({
      "config.dataset": "credit-default",
      "config.seed": "42",
      best_candidate: result.best.id,
    });
    expect(Object.keys(run.data.params).length, "the resolved config is logged as params").toBeGreaterThan(
      25,
    );
    const metricKeys = run.data.metrics.map((m) => m.key);
    expect(metricKeys).toEqual(
      expect.arrayContaining([
        "test_roc_auc",
        "test_pr_auc",
        "test_f1",
        "test_log_loss",
        "test_brier",
        "holdout_roc_auc",
        "val_roc_auc",
        "threshold",
        "data_rows_quarantined",
        "data_bad_fraction",
      ]),
    );
    expect(run.data.tags["workbench.backend"]).toBe(result.backend);
    // Which wasm kernels the networks trained on (products differ in rounding between them).
    if (result.backend === "wasm") expect(run.data.tags["workbench.wasm_kernels"]).toBe("workbench");
    expect(run.inputs.datasetInputs.map((d) => [d.dataset.name, d.tags["mlflow.data.context"]])).toEqual([
      ["credit-default-train", "train"],
      ["credit-default-validation", "eval"],
      ["credit-default-test", "test"],
      ["credit-default-holdout", "holdout"],
    ]);
    expect(JSON.parse(run.inputs.datasetInputs[0]!.dataset.schema ?? "{}").mlflow_colspec.length).toBe(25);

    const children = await collect(
      client.runs.search({
        experimentIds: [result.experimentId],
        filter: `tags.mlflow.parentRunId = '${result.runId}'`,
      }),
    );
    expect(children.length).toBe(2);
    const mlp = children.find((c) => c.info.runName === "mlp-1")!;
    expect(mlp.data.params).toMatchObject({ kind: "mlp", hiddenUnits: "[16]" });
    expect(
      (await collect(client.runs.metricHistory(mlp.info.runId, "val_loss_by_iteration"))).length,
    ).toBeGreaterThan(1);
    expect(mlp.data.tags).toMatchObject({ "workbench.iteration_unit": "epoch", "workbench.pruned": "false" });
    expect(mlp.data.metrics.map((m) => m.key)).toEqual(
      expect.arrayContaining([
        "best_iteration",
        "iterations",
        "train_seconds",
        "model_parameters",
        "val_roc_auc",
      ]),
    );

    const artifacts = (await client.artifacts.listRecursive(run.info.artifactUri)).map((f) => f.path).sort();
    expect(artifacts).toEqual([
      "config.json",
      "evaluation.json",
      "evaluation/confused_pairs.json",
      "evaluation/confusion_matrix.json",
      "evaluation/misclassified.json",
      "evaluation/per_class.json",
      "features/preprocessor.json",
      "holdout/holdout.csv",
      "plots/evaluation.html",
      "qa/qa.html",
      "qa/qa.json",
      "recipe.json",
    ]);
    const recipeFile = path.join(await mkdtemp(path.join(os.tmpdir(), "recipe-")), "recipe.json");
    await client.artifacts.downloadFile(run.info.artifactUri, "recipe.json", recipeFile);
    const recipe = JSON.parse(await import("node:fs/promises").then((fs) => fs.readFile(recipeFile, "utf8")));
    expect(recipe).toMatchObject({
      recipeVersion: 2,
      seed: 42,
      backend: result.backend,
      data: {
        dataset: "credit-default",
        sha256: result.data.sha256,
        // The content-addressed copy a replay on logged data trains on.
        snapshot: `mlflow-artifacts:/workbench-data/sha256/${result.data.sha256}/UCI_Credit_Card.csv`,
      },
      node: process.version,
    });
    expect(run.data.tags["workbench.data.snapshot"]).toBe(recipe.data.snapshot);
    expect(recipe.wasmKernels).toBe(result.backend === "wasm" ? "workbench" : undefined);
    expect(recipe.lockfileSha256).toMatch(/^[0-9a-f]{64}$/);
    expectGitCommit(recipe.git.commit, "recipe.git.commit");
    await rm(path.dirname(recipeFile), { recursive: true, force: true });

    expect(run.outputs.modelOutputs.map((m) => m.modelId)).toEqual([result.model.modelId]);
    const logged = await client.loggedModels.get(result.model.modelId);
    expect(logged.status).toBe("READY");
    const version = await client.registry.getVersionByAlias(config.registry.modelName, "challenger");
    expect(version).toMatchObject({
      version: result.model.version,
      runId: result.runId,
      modelId: result.model.modelId,
    });

    // The registered package, downloaded and loaded, predicts like the pipeline's evaluation.
    const dir = await mkdtemp(path.join(os.tmpdir(), "registered-"));
    try {
      await client.artifacts.downloadDirectory(logged.artifactUri, undefined, dir);
      const pkg = await loadModelPackage(dir);
      expect(pkg.meta).toMatchObject({
        classes: ["0", "1"],
        positiveClass: "1",
        threshold: result.threshold,
        kind: result.best.kind,
      });
      // The reference profile travels with the model: the train split's features and the validation predictions.
      const profile = await readReferenceProfile(dir);
      expect(profile?.source).toMatchObject({ split: "train", dataFingerprint: pkg.meta.dataFingerprint });
      expect(profile?.columns.length, "23 features: no id, no target").toBe(23);
      expect(profile?.columns.map((c) => c.name)).not.toContain("default.payment.next.month");
      expect(profile?.predictions).toMatchObject({ classes: ["0", "1"], score: { name: "probability_1" } });
      const data = await prepareData(config, { ...(mirror ? { mirror } : {}) });
      const holdout = pkg.model.predict(transform(pkg.preprocessor, data.splits.holdout));
      expect(
        evaluate(data.labels.holdout, holdout, data.classes, result.threshold).metrics.roc_auc,
      ).toBeCloseTo(result.metrics.holdout.roc_auc!, 6);
      await rm(data.workDir, { recursive: true, force: true });

      // MLflow's own Python client reads the MLmodel, its signature and input example.
      const { stdout } = await exec(
        venvExecutable("python"),
        [
          path.join(projectRoot(), "tests/fixtures/python/read_model.py"),
          `models:/${config.registry.modelName}@challenger`,
        ],
        {
          env: { ...process.env, MLFLOW_TRACKING_URI: inject("mlflowUri") },
        },
      );
      const seen = JSON.parse(stdout);
      expect(seen.flavors).toEqual(["python_function", "tfjs_workbench"]);
      expect(seen.inputs.length).toBe(23);
      expect(seen.input_types).toEqual(["double", "long"]);
      expect(seen.outputs).toEqual(["label", "probability_0", "probability_1"]);
      // registered_model_meta is written by MLflow itself when it downloads a models:/ URI.
      expect(seen.files).toEqual(
        expect.arrayContaining([
          "MLmodel",
          "estimator/model.json",
          "estimator/weights.bin",
          "input_example.json",
          "model-meta.json",
          "preprocessor.json",
          "reference_profile.json",
          "registered_model_meta",
        ]),
      );
      expect(seen.example_columns).toEqual(seen.inputs);

      // MLflow 3 fidelity, as MLflow's Python client (and so its UI) sees it.
      const fidelity = JSON.parse(
        (
          await exec(
            venvExecutable("python"),
            [
              path.join(projectRoot(), "tests/fixtures/python/read_logged_model.py"),
              result.experimentId,
              config.registry.modelName,
              result.model.version,
              result.runId,
              "test_roc_auc",
            ],
            { env: { ...process.env, MLFLOW_TRACKING_URI: inject("mlflowUri") } },
          )
        ).stdout,
      );
      expect(fidelity.found, "search_logged_models finds the model by its test metric").toEqual([
        result.model.modelId,
      ]);
      const byKey = new Map(fidelity.metrics.map((m: { key: string }) => [m.key, m] as const)) as Map<
        string,
        { value: number; dataset_name: string; dataset_digest: string; run_id: string }
      >;
      const digestOf = (split: string) =>
        run.inputs.datasetInputs.find((d) => d.dataset.name === `credit-default-${split}`)!.dataset.digest;
      expect(byKey.get("test_roc_auc"), "the model's metric, on the test split's dataset").toEqual({
        key: "test_roc_auc",
        value: result.metrics.test.roc_auc,
        dataset_name: "credit-default-test",
        dataset_digest: digestOf("test"),
        run_id: result.runId,
      });
      expect(byKey.get("val_roc_auc")).toMatchObject({
        dataset_name: "credit-default-validation",
        dataset_digest: digestOf("validation"),
      });
      expect(byKey.get("holdout_roc_auc")).toMatchObject({ dataset_name: "credit-default-holdout" });
      expect(
        (await collect(client.runs.metricHistory(result.runId, "test_roc_auc"))).length,
        "the run keeps one test_roc_auc point (the model's copy has the same timestamp)",
      ).toBe(1);
      expect(fidelity.tags).toMatchObject({
        "mlflow.user": run.data.tags["mlflow.user"],
        "mlflow.source.name": run.data.tags["mlflow.source.name"],
        "mlflow.source.type": run.data.tags["mlflow.source.type"],
      });
      expect(fidelity.tags["mlflow.user"]).toBeTruthy();
      expectGitCommit(fidelity.tags["mlflow.source.git.commit"], "logged model mlflow.source.git.commit");
      expect(fidelity.info).toMatchObject({
        run_id: result.runId,
        model_id: result.model.modelId,
        model_uuid: result.model.modelId,
        mlflow_version: MLFLOW_VERSION,
      });
      expect(fidelity.info.metrics).toEqual(expect.arrayContaining(["test_roc_auc", "holdout_roc_auc"]));
      expect(fidelity.mlmodel).toMatchObject({
        run_id: result.runId,
        model_id: result.model.modelId,
        model_uuid: result.model.modelId,
        mlflow_version: MLFLOW_VERSION,
        artifact_path: logged.artifactUri,
      });
      expect(typeof fidelity.mlmodel.utc_time_created, "PyYAML reads a string, not a timestamp").toBe(
        "string",
      );
      expect(fidelity.mlmodel.utc_time_created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
      expect(fidelity.mlmodel.model_size_bytes).toBeGreaterThan(1000);
      expect(fidelity.children.length).toBe(2);
      for (const child of fidelity.children) {
        expect(
          child.datasets.map((d: { name: string; context: Record<string, string> }) => [
            d.name,
            d.context["mlflow.data.context"],
          ]),
          `${child.run_name}: the splits it trained and was selected on`,
        ).toEqual([
          ["credit-default-train", "train"],
          ["credit-default-validation", "eval"],
        ]);
        expect(child.datasets[0].digest).toMatch(/^[0-9a-f]{8}$/);
        expect(child.datasets[0].digest).toBe(digestOf("train"));
        expect(child.datasets[0].source_type).toBe("http");
        expect(child.datasets[0].source.url).toBe(data.manifest.source.url);
        const best = child.history.find((h: { step: number }) => h.step === child.best_iteration);
        expect(best, `${child.run_name}: the best iteration is in the history`).toBeDefined();
        expect(child.val_loss, `${child.run_name}: val_loss is the kept iteration's`).toBe(best.value);
        expect(child.val_loss_by_iteration, `${child.run_name}: the curve's latest value too`).toBe(
          best.value,
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("the same config and seed on the same backend gives identical metrics", async () => {
    const config = await smallConfig("credit-default", ["data.limit=2500"]);
    const options = mirror ? { mirror } : {};
    const a = await trainPipeline({ client, logger: silentLogger() }, config, options);
    const b = await trainPipeline({ client, logger: silentLogger() }, config, options);
    expect(b.backend).toBe(a.backend);
    expect(b.metrics).toEqual(a.metrics);
    expect(b.candidates.map((c) => c.validation)).toEqual(a.candidates.map((c) => c.validation));
    expect(b.runId).not.toBe(a.runId);
    expect(Number(b.model.version)).toBe(Number(a.model.version) + 1);
  });

  it("complaints (text): the error analysis carries the narratives and the linear kind's top features", async () => {
    const config = await smallConfig("complaints", [
      "data.limit=null",
      "training.candidates=[{kind: tfidf-linear, params: {ngramRange: [1, 2], minDf: 2, maxIter: 30}}]",
    ]);
    const result = await trainPipeline({ client, logger: silentLogger() }, config, {
      ...(mirror ? { mirror } : {}),
    });
    const run = await client.runs.get(result.runId);
    const dir = await mkdtemp(path.join(os.tmpdir(), "complaints-evaluation-"));
    try {
      await client.artifacts.downloadDirectory(run.info.artifactUri, "evaluation", dir);
      const read = async (name: string) => JSON.parse(await readFile(path.join(dir, name), "utf8"));
      const top = await read("top_features.json");
      expect(top.columns).toEqual(["class", "rank", "feature", "weight"]);
      const classes = new Set(top.data.map((r: unknown[]) => r[0]));
      const { classes: modelClasses } = await read("confusion_matrix.json");
      expect([...classes].sort(), "top features for every class").toEqual([...modelClasses].sort());
      expect(top.data.length, "20 per class").toBe(20 * modelClasses.length);
      const misclassified = await read("misclassified.json");
      expect(misclassified.columns.at(-1), "the text column rides along").toBe(
        "Consumer complaint narrative",
      );
      const test = result.evaluationSplits.test;
      const narrative = test.text["Consumer complaint narrative"]!;
      for (const row of misclassified.data.slice(0, 10)) {
        const i = Array.from(test.lines).indexOf(row[0]);
        expect(i, `line ${row[0]} is a test row`).toBeGreaterThanOrEqual(0);
        expect(narrative[i]!.startsWith(row[5].replace(/…$/, "")), `line ${row[0]}: its own narrative`).toBe(
          true,
        );
        expect(row[5].length).toBeLessThanOrEqual(501);
      }
      // The logged holdout is CSV records: a narrative spanning lines stays one field (it was cut at the first
      // line break before), so `npm run predict` can score it.
      await client.artifacts.downloadDirectory(run.info.artifactUri, "holdout", dir);
      const holdout = parseCsv(await readFile(path.join(dir, "holdout.csv"), "utf8"), {
        columns: true,
      }) as Record<string, string>[];
      const expected = result.evaluationSplits.holdout.text["Consumer complaint narrative"]!;
      expect(holdout.length).toBe(expected.length);
      expect(
        expected.some((t) => t.includes("\n")),
        "the holdout has multi-line narratives",
      ).toBe(true);
      expect(holdout.map((r) => r["Consumer complaint narrative"])).toEqual(expected);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("hpc: a 4-class model trains and registers with no code change", async () => {
    const config = await smallConfig("hpc", ["data.limit=null"]);
    const result = await trainPipeline({ client, logger: silentLogger() }, config, {
      ...(mirror ? { mirror } : {}),
    });
    expect(result.metrics.test.f1_macro).toBeGreaterThan(0.3);
    expect(result.metrics.test.roc_auc).toBeGreaterThan(0.7);
    expect(result.threshold).toBeUndefined();

    // configs/hpc.yaml sets training.refit: the winner trained again on train + validation for the epochs it
    // kept, as a child run of its own; the registered model is that one.
    expect(config.training.refit).toBe(true);
    const rows = result.refit?.rows;
    expect(result.refit?.iterations).toBe(result.best.bestIteration);
    expect(rows).toBeGreaterThan(0);
    const refitRuns = await collect(
      client.runs.search({
        experimentIds: [result.experimentId],
        filter: `tags.mlflow.parentRunId = '${result.runId}' and tags.workbench.refit_of = '${result.best.runId}'`,
      }),
    );
    expect(refitRuns.map((r) => r.info.runName)).toEqual([`${result.best.id}-refit`]);
    expect(refitRuns[0]!.data.params).toMatchObject({
      kind: result.best.kind,
      epochs: String(result.best.bestIteration),
    });
    expect(refitRuns[0]!.data.metrics.find((m) => m.key === "train_rows")?.value).toBe(rows);
    // Both splits are training data for the refit.
    expect(
      refitRuns[0]!.inputs.datasetInputs.map((d) => [d.dataset.name, d.tags["mlflow.data.context"]]),
    ).toEqual([
      [expect.stringContaining("train"), "train"],
      [expect.stringContaining("validation"), "train"],
    ]);

    // The error analysis of the test split: per-class table, confusion matrix, misclassified rows, charts.
    const run = await client.runs.get(result.runId);
    const metricKeys = run.data.metrics.map((m) => m.key);
    expect(metricKeys).toEqual(expect.arrayContaining(["test_f1_weighted", "val_f1_weighted"]));
    const artifacts = (await client.artifacts.listRecursive(run.info.artifactUri)).map((f) => f.path);
    expect(artifacts).toEqual(
      expect.arrayContaining([
        "evaluation/per_class.json",
        "evaluation/confusion_matrix.json",
        "evaluation/confused_pairs.json",
        "evaluation/misclassified.json",
        "plots/evaluation.html",
      ]),
    );
    expect(artifacts, "logistic and mlp have no topFeatures").not.toContain("evaluation/top_features.json");
    const dir = await mkdtemp(path.join(os.tmpdir(), "hpc-evaluation-"));
    try {
      await client.artifacts.downloadDirectory(run.info.artifactUri, "evaluation", dir);
      const read = async (name: string) => JSON.parse(await readFile(path.join(dir, name), "utf8"));
      const perClass = await read("per_class.json");
      expect(perClass.data.map((r: unknown[]) => r[0])).toEqual(["VF", "F", "M", "L"]);
      const support = perClass.data.reduce((a: number, r: number[]) => a + r[4]!, 0);
      expect(support, "every test row counted once").toBe(result.evaluationSplits.test.rowCount);
      const weighted = perClass.data.reduce((a: number, r: number[]) => a + r[3]! * r[4]!, 0) / support;
      expect(weighted, "the table agrees with the logged test_f1_weighted").toBeCloseTo(
        result.metrics.test.f1_weighted!,
        10,
      );
      const confusion = await read("confusion_matrix.json");
      const wrong = confusion.counts.reduce(
        (a: number, row: number[], t: number) => a + row.reduce((b, v, p) => b + (p === t ? 0 : v), 0),
        0,
      );
      const misclassified = await read("misclassified.json");
      expect(misclassified.total, "misclassified rows = the confusion matrix off its diagonal").toBe(wrong);
      const lines = new Set(result.evaluationSplits.test.lines);
      for (const row of misclassified.data.slice(0, 20)) {
        expect(lines.has(row[0]), `line ${row[0]} is a test row`).toBe(true);
        expect(row[1]).not.toBe(row[2]);
      }
      await client.artifacts.downloadFile(
        run.info.artifactUri,
        "plots/evaluation.html",
        path.join(dir, "e.html"),
      );
      const html = await readFile(path.join(dir, "e.html"), "utf8");
      for (const heading of [
        "Per-class precision, recall and F1 (test)",
        "F1 per class (test)",
        "Misclassified examples (test)",
      ])
        expect(html).toContain(heading);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const version = await client.registry.getVersionByAlias(config.registry.modelName, "challenger");
    expect(version.version).toBe("1");
  });
});
