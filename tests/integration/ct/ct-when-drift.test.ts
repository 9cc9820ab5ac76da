// `npm run ct -- --when drift --current <data>`: the monitor runs on the champion first, and the round retrains
// only when it finds drift (or degradation). Real MLflow server, real credit-default slices, the real CLI.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect } from "../../../src/tracking/paginate.js";
import { cli } from "../../helpers/cli.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
const model = uniqueName("it-ct-drift");
const experiment = uniqueName("it-ct-drift");
const SET = [
  `experiment=${experiment}`,
  `registry.modelName=${model}`,
  "data.limit=3000",
  "promotion.minimums={roc_auc: 0.6}",
  "promotion.bootstrap.resamples=500",
  "training.candidates=[{kind: logistic, params: {epochs: 4, batchSize: 256}}]",
].flatMap((s) => ["--set", s]);
let scratch: string;

function outputs(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

async function ct(args: string[], name: string) {
  const githubOutput = path.join(scratch, `${name}.out`);
  const summary = path.join(scratch, `${name}.md`);
  await writeFile(githubOutput, "");
  await writeFile(summary, "");
  const result = await cli(
    "ct.ts",
    ["--config", "configs/credit-default.yaml", ...SET, "--monitor-out", path.join(scratch, name), ...args],
    { GITHUB_OUTPUT: githubOutput, GITHUB_STEP_SUMMARY: summary, MLFLOW_TRACKING_URI: client.trackingUri },
  );
  return {
    ...result,
    outputs: outputs(await readFile(githubOutput, "utf8")),
    summary: await readFile(summary, "utf8"),
  };
}

async function versions(): Promise<string[]> {
  return (await collect(client.registry.searchVersions({ filter: `name = '${model}'` })))
    .map((v) => v.version)
    .sort();
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "it-ct-drift-"));
});
afterAll(async () => {
  client.close();
  await rm(scratch, { recursive: true, force: true });
});

describe.sequential("ct --when drift", () => {
  let holdout: string;

  it("usage: --when drift without --current is refused (exit 2), --when must be always or drift", async () => {
    const missing = await cli("ct.ts", ["--model", model, "--when", "drift"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--when drift needs --current");
    const bad = await cli("ct.ts", ["--model", model, "--when", "sometimes", "--current", "x.csv"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--when must be always or drift, not 'sometimes'");
  });

  it("with no champion yet, the round trains the first one (nothing to monitor)", async () => {
    const placeholder = path.join(scratch, "placeholder.csv");
    await writeFile(placeholder, "LIMIT_BAL\n1\n");
    const first = await ct(["--when", "drift", "--current", placeholder], "first");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("monitor: skipped");
    expect(first.stdout).toContain("no champion to monitor: training the first one");
    expect(first.outputs).toMatchObject({ monitored: "false", retrain: "true", promoted: "true" });
    expect(await versions()).toEqual(["1"]);
    // The champion's own out-of-sample holdout: "today's data" that has not drifted.
    const run = (await client.registry.getVersion(model, "1")).runId!;
    const dir = path.join(scratch, "holdout");
    const info = await client.runs.get(run);
    await client.artifacts.downloadDirectory(info.info.artifactUri, "holdout", dir);
    holdout = path.join(dir, "holdout.csv");
  });

  it("no drift on the champion's holdout: retraining is skipped, exit 0, decision 'skipped'", async () => {
    const kept = await ct(["--when", "drift", "--current", holdout], "undrifted");
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(/monitor: .* v1 on \d+ rows .*: ok/);
    expect(kept.stdout).toContain("no drift and no degradation: retraining skipped");
    expect(kept.outputs).toMatchObject({
      monitored: "true",
      drift: "false",
      degraded: "false",
      retrain: "false",
      decision: "skipped",
      promoted: "false",
      model_version: "1",
    });
    expect(kept.summary).toContain("## Monitor before retraining: retraining skipped");
    expect(await versions(), "nothing was trained").toEqual(["1"]);
    const report = JSON.parse(await readFile(path.join(scratch, "undrifted", "monitor.json"), "utf8")) as {
      drift: { datasetDrift: boolean };
      run?: { runId: string };
    };
    expect(report.drift.datasetDrift).toBe(false);
    expect(report.run?.runId, "the monitoring run is logged").toBeTruthy();
  });

  it("shifted data (amounts × 1.6, repayment delays + 2 months): drift found, the round retrains and gates", async () => {
    const rows = parseCsv(await readFile(holdout, "utf8"), { columns: true }) as Record<string, string>[];
    const shifted = rows.map((row) => {
      const out = { ...row };
      for (const [key, value] of Object.entries(row)) {
        if (/^(LIMIT_BAL|BILL_AMT\d|PAY_AMT\d)$/.test(key)) out[key] = String(Number(value) * 1.6);
        if (/^PAY_\d$/.test(key)) out[key] = String(Math.min(8, Number(value) + 2));
      }
      return out;
    });
    const file = path.join(scratch, "shifted.csv");
    // Credit-default's holdout is plain numbers: no field needs quoting.
    const header = Object.keys(rows[0]!);
    await writeFile(
      file,
      `${[header, ...shifted.map((r) => header.map((k) => r[k]))].map((r) => r.join(",")).join("\n")}\n`,
    );
    const drifted = await ct(["--when", "drift", "--current", file, "--exit-zero-when-kept"], "drifted");
    expect(drifted.code, drifted.stderr).toBe(0);
    expect(drifted.stdout).toMatch(/monitor: .* v1 on \d+ rows .*: drift/);
    expect(drifted.stdout).toContain("found: retraining (--when drift)");
    expect(drifted.outputs).toMatchObject({ monitored: "true", drift: "true", retrain: "true" });
    expect(["promoted", "kept"]).toContain(drifted.outputs.decision);
    expect(drifted.summary).toContain("## Monitor before retraining: retrain");
    expect(drifted.summary).toContain("## Continuous training:");
    expect(await versions(), "a challenger was trained").toEqual(["1", "2"]);
  });
});
