// The local GitHub Actions runner (tests/helpers/workflow-runner.ts) on small inline workflows. Their
// `run:` lines are plain bash: the npm-tasks-only rule applies to the committed workflows, not to these.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings hold GitHub expressions, not JS templates
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../src/shared/project.js";
import {
  createRunnerHost,
  describeJob,
  ExpressionError,
  evaluate,
  evaluateCondition,
  findStep,
  interpolate,
  parseFileCommands,
  prepareWorkspace,
  type RunnerHost,
  Scope,
  startWorkflowRun,
  type WorkflowRunOptions,
} from "../helpers/workflow-runner.js";

let host: RunnerHost & { dispose(): Promise<void> };
let scratch: string;
beforeAll(async () => {
  host = await createRunnerHost();
  scratch = await mkdtemp(path.join(os.tmpdir(), "wf-unit-"));
});
afterAll(async () => {
  await host.dispose();
  await rm(scratch, { recursive: true, force: true });
});

let counter = 0;
/** Writes an inline workflow and returns a function running one of its jobs in a fresh workspace. */
async function workflow(yaml: string) {
  counter += 1;
  const file = path.join(scratch, `wf-${counter}.yml`);
  await writeFile(file, yaml);
  return async (job: string, options: WorkflowRunOptions, run = startWorkflowRun(host, file, options)) => {
    const workspace = await mkdtemp(path.join(scratch, "ws-"));
    return { result: await run.runJob(job, workspace), run, workspace };
  };
}

const ctx = (contexts: Record<string, Record<string, unknown>>, failed = false) => ({
  contexts: Object.fromEntries(
    Object.entries(contexts).map(([k, v]) => [k, new Scope(k, v as Record<string, never>, "null")]),
  ),
  status: { failed },
});

describe("expressions", () => {
  it("given a scheduled run (inputs null), then `||` falls back to the default; a dispatch value wins", () => {
    const schedule = ctx({ inputs: { config: null, "dry-run": null } });
    expect(evaluate("inputs.config || 'configs/credit-default.yaml'", schedule)).toBe(
      "configs/credit-default.yaml",
    );
    expect(evaluate("inputs.dry-run || false", schedule)).toBe(false);
    const dispatch = ctx({ inputs: { config: "configs/hpc.yaml", "dry-run": true } });
    expect(evaluate("inputs.config || 'configs/credit-default.yaml'", dispatch)).toBe("configs/hpc.yaml");
    expect(evaluate("inputs.dry-run || false", dispatch)).toBe(true);
    expect(evaluate("'' && 'x'", dispatch), "&& returns the falsy operand").toBe("");
  });

  it("compares like GitHub: case-insensitive strings, numeric coercion across types, null equals ''", () => {
    const c = ctx({ env: { EMPTY: "", URI: "http://x" } });
    const cases: [string, boolean][] = [
      ["'ABC' == 'abc'", true],
      ["1 == '1'", true],
      ["true == 1", true],
      ["env.EMPTY == ''", true],
      ["env.UNSET == ''", true],
      ["env.URI == ''", false],
      ["env.URI != ''", true],
      ["!(true && false)", true],
      ["2 < 10", true],
      ["'b' > 'A'", true],
      ["'abc' == 0", false],
    ];
    for (const [expr, want] of cases) expect(evaluate(expr, c), expr).toBe(want);
  });

  it("format() and contains(); a whole ${{ }} keeps its type, text around it makes a string", () => {
    const c = ctx({ github: { run_id: 42 } });
    expect(evaluate("format('{0}-v{1} {{x}}', 'm', 3)", c)).toBe("m-v3 {x}");
    expect(evaluate("contains('Hello', 'ELL')", c)).toBe(true);
    expect(interpolate("${{ github.run_id }}", c)).toBe(42);
    expect(interpolate("run-${{ github.run_id }}-${{ 'a''b' }}", c)).toBe("run-42-a'b");
  });

  it.each([
    ["1 + 2", "Unsupported syntax '+ 2'"],
    ["fromJSON('{}')", "Function 'fromjson()' is not supported"],
    ["github.event.*", "'.*' filters are not supported"],
    ["matrix.os", "Context 'matrix' is not available here"],
    ["(true", "expected ')'"],
    ["'open", "Unterminated string literal"],
  ])("unknown syntax %j throws an ExpressionError naming the problem", (expr, message) => {
    expect(() => evaluate(expr, ctx({ github: {} }))).toThrowError(ExpressionError);
    expect(() => evaluate(expr, ctx({ github: {} }))).toThrowError(message);
  });

  it("a strict context rejects a typo instead of reading null", () => {
    const c = {
      contexts: { github: new Scope("github", { event_name: "push" }, "throw") },
      status: { failed: false },
    };
    expect(() => evaluate("github.evnt", c)).toThrowError("'github.evnt' is not known to the local runner");
    expect(evaluate("github.EVENT_NAME", c), "property names are case-insensitive").toBe("push");
  });

  it("if: success() is implied unless a status function is used; text around ${{ }} throws", () => {
    const failed = ctx({ env: { A: "1" } }, true);
    expect(evaluateCondition(undefined, failed)).toBe(false);
    expect(evaluateCondition("env.A == '1'", failed), "implicit success() after a failure").toBe(false);
    expect(evaluateCondition("always() && env.A == '1'", failed)).toBe(true);
    expect(evaluateCondition("${{ failure() }}", failed)).toBe(true);
    expect(() => evaluateCondition("x ${{ true }}", failed)).toThrowError("mixes text and ${{ }}");
  });
});

describe("file commands ($GITHUB_OUTPUT, $GITHUB_ENV)", () => {
  it("parses name=value and name<<DELIMITER blocks; later values win; blank lines are ignored", () => {
    const text = "a=1\nurl=http://x/?q=a=b\n\nsummary<<EOF_1\nline 1\nline=2\nEOF_1\na=2\n";
    expect(parseFileCommands(text)).toEqual({ a: "2", url: "http://x/?q=a=b", summary: "line 1\nline=2" });
  });

  it("given an unclosed heredoc or a bare word, then it throws naming the line", () => {
    expect(() => parseFileCommands("x<<END\nvalue\n")).toThrowError(
      "'x<<END' is never closed by a 'END' line",
    );
    expect(() => parseFileCommands("oops\n", "GITHUB_ENV")).toThrowError("GITHUB_ENV: invalid line 'oops'");
  });
});

describe("running a job", () => {
  it("runs steps per their if:, records exit codes and outputs, applies $GITHUB_ENV, evaluates job outputs", async () => {
    const run = await workflow(`
on: push
env: { LEVEL: workflow, KEEP: workflow }
jobs:
  build:
    runs-on: ubuntu-latest
    env: { LEVEL: job }
    outputs:
      greeting: \${{ steps.first.outputs.greeting }}
      notes: \${{ steps.first.outputs.notes }}
    steps:
      - id: first
        name: first
        run: |
          echo "greeting=hello $LEVEL/$KEEP/$STEP" >> "$GITHUB_OUTPUT"
          printf 'notes<<END\\na\\nb\\nEND\\n' >> "$GITHUB_OUTPUT"
          echo "FROM_FILE=set by step 1" >> "$GITHUB_ENV"
          echo "## first" >> "$GITHUB_STEP_SUMMARY"
        env: { STEP: step }
      - name: fails with 3
        run: |
          echo "$FROM_FILE" > from-file.txt
          exit 3
      - name: skipped after a failure
        run: touch not-here
      - name: cleanup
        if: always()
        run: echo "## cleanup" >> "$GITHUB_STEP_SUMMARY"
      - name: on failure
        if: failure() && env.LEVEL == 'job'
        run: echo ok
      - name: explicit success
        if: success()
        run: echo never
`);
    const { result, workspace } = await run("build", { event: "push" });
    expect(result.result, describeJob(result)).toBe("failure");
    expect(result.steps.map((s) => [s.name, s.outcome])).toEqual([
      ["first", "success"],
      ["fails with 3", "failure"],
      ["skipped after a failure", "skipped"],
      ["cleanup", "success"],
      ["on failure", "success"],
      ["explicit success", "skipped"],
    ]);
    expect(findStep(result, "fails with 3").exitCode).toBe(3);
    expect(findStep(result, "fails with 3").error).toBe("Process completed with exit code 3.");
    expect(await readFile(path.join(workspace, "from-file.txt"), "utf8")).toBe("set by step 1\n");
    expect(existsSync(path.join(workspace, "not-here"))).toBe(false);
    expect(result.outputs).toEqual({ greeting: "hello job/workflow/step", notes: "a\nb" });
    expect(result.summary).toBe("## first\n\n## cleanup\n");
  });

  it("sets the runner's variables: CI, GITHUB_ACTIONS, the event, the repository, the workspace", async () => {
    const run = await workflow(`
on: schedule
jobs:
  env:
    runs-on: ubuntu-latest
    steps:
      - id: show
        run: echo "seen=$CI $GITHUB_ACTIONS $GITHUB_EVENT_NAME $GITHUB_REPOSITORY $GITHUB_WORKSPACE" >> "$GITHUB_OUTPUT"
`);
    const { result, workspace } = await run("env", {
      event: "schedule",
      github: { repository: "Acme/Repo" },
    });
    expect(findStep(result, "show").outputs.seen).toBe(`true true schedule Acme/Repo ${workspace}`);
  });

  it("a dispatch fills declared defaults and rejects an unknown input or a value outside a choice", async () => {
    const run = await workflow(`
on:
  workflow_dispatch:
    inputs:
      recipe: { type: choice, options: [champion, config], default: champion }
      dry-run: { type: boolean, default: false }
jobs:
  j:
    runs-on: ubuntu-latest
    outputs:
      seen: \${{ inputs.recipe }}/\${{ inputs.dry-run }}
    steps:
      - run: "true"
`);
    expect((await run("j", { event: "workflow_dispatch" })).result.outputs.seen).toBe("champion/false");
    expect(
      (await run("j", { event: "workflow_dispatch", inputs: { "dry-run": "true" } })).result.outputs.seen,
    ).toBe("champion/true");
    await expect(run("j", { event: "workflow_dispatch", inputs: { recipie: "x" } })).rejects.toThrowError(
      "Unexpected inputs provided: recipie",
    );
    await expect(run("j", { event: "workflow_dispatch", inputs: { recipe: "best" } })).rejects.toThrowError(
      "Input 'recipe': 'best' is not one of champion, config",
    );
  });

  it("an unknown action, an unpinned major or an input the action does not take throws", async () => {
    for (const [uses, message] of [
      ["actions/github-script@v7", "Unknown action 'actions/github-script@v7'"],
      ["actions/checkout@main", "Unknown action 'actions/checkout@main'"],
    ]) {
      const run = await workflow(
        `on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ${uses}\n`,
      );
      await expect(run("j", { event: "push" })).rejects.toThrowError(message);
    }
    const typo = await workflow(
      "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/cache/restore@v4\n        with: { path: x, key: k, restore-key: k }\n",
    );
    await expect(typo("j", { event: "push" })).rejects.toThrowError(
      "actions/cache/restore@v4 has no input(s) restore-key",
    );
  });

  it("a step past its timeout is ended; processes a step leaves behind are ended and reported", async () => {
    const run = await workflow(`
on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - name: leaves a process
        run: (sleep 60 &)
      - name: too slow
        timeout-minutes: 0.01
        run: sleep 30
`);
    const { result } = await run("j", { event: "push" });
    expect(findStep(result, "leaves a process").warnings).toEqual([
      expect.stringMatching(/^the step left processes running; the runner ended them: \d+ sleep 60$/),
    ]);
    expect(findStep(result, "too slow").error).toBe("The step timed out (timeout-minutes)");
    expect(findStep(result, "too slow").durationMs).toBeLessThan(5_000);
  });
});

describe("cache and artifacts", () => {
  const cacheWorkflow = `
on:
  workflow_dispatch:
    inputs:
      value: { type: string, default: a }
jobs:
  j:
    runs-on: ubuntu-latest
    env:
      STORE_KEY: store/\${{ inputs.value == 'other' && 'other' || 'main' }}/run-
    outputs:
      before: \${{ steps.read.outputs.before }}
      hit: \${{ steps.restore.outputs.cache-hit }}
      matched: \${{ steps.restore.outputs.cache-matched-key }}
    steps:
      - id: restore
        uses: actions/cache/restore@v4
        with:
          path: store
          key: \${{ env.STORE_KEY }}\${{ github.run_id }}
          restore-keys: \${{ env.STORE_KEY }}
      - id: read
        run: |
          mkdir -p store
          echo "before=$(cat store/value 2>/dev/null || echo none)" >> "$GITHUB_OUTPUT"
          echo "$VALUE" > store/value
        env: { VALUE: "\${{ inputs.value }}" }
      - name: save
        uses: actions/cache/save@v4
        with:
          path: store
          key: \${{ env.STORE_KEY }}\${{ github.run_id }}
      - name: save again
        uses: actions/cache/save@v4
        with:
          path: store
          key: \${{ env.STORE_KEY }}\${{ github.run_id }}
`;

  it("restore-keys pick the newest entry with the prefix; an existing key is never overwritten", async () => {
    const run = await workflow(cacheWorkflow);
    const dispatch = (value: string) => run("j", { event: "workflow_dispatch", inputs: { value } });
    const { result: first, run: firstRun } = await dispatch("a");
    expect(first.outputs, describeJob(first)).toEqual({ before: "none", hit: "false", matched: "" });
    expect(findStep(first, "restore").warnings[0]).toMatch(
      /^Cache not found for input keys: store\/main\/run-/,
    );
    expect(findStep(first, "save again").warnings).toEqual([
      `Unable to reserve cache with key store/main/run-${firstRun.runId}, another job may be creating this cache.`,
    ]);
    const second = (await dispatch("b")).result;
    expect(second.outputs.before).toBe("a");
    expect(second.outputs.matched).toMatch(/^store\/main\/run-\d+$/);
    expect((await dispatch("c")).result.outputs.before, "the newest of two entries").toBe("b");
    expect((await dispatch("other")).result.outputs.before, "another prefix shares nothing").toBe("none");
  });

  it("artifacts: uploaded in one job, downloaded in a job of the same run; dot-files left out; a missing one fails", async () => {
    const run = await workflow(`
on: push
jobs:
  make:
    runs-on: ubuntu-latest
    outputs:
      ok: \${{ steps.mk.outcome == 'success' }}
    steps:
      - id: mk
        run: mkdir -p pkg/sub && echo m > pkg/model.json && echo s > pkg/sub/w.bin && echo h > pkg/.hidden
      - uses: actions/upload-artifact@v4
        with: { name: model, path: pkg, if-no-files-found: error }
  use:
    needs: make
    if: needs.make.outputs.ok == 'true'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with: { name: model, path: out/model }
      - name: missing
        uses: actions/download-artifact@v4
        with: { name: nope }
  gated:
    needs: make
    if: needs.make.outputs.ok == 'false'
    runs-on: ubuntu-latest
    steps:
      - run: "true"
`);
    const { run: workflowRun } = await run("make", { event: "push" });
    const use = await run("use", { event: "push" }, workflowRun);
    expect(existsSync(path.join(use.workspace, "out/model/model.json"))).toBe(true);
    expect(existsSync(path.join(use.workspace, "out/model/sub/w.bin"))).toBe(true);
    expect(existsSync(path.join(use.workspace, "out/model/.hidden"))).toBe(false);
    expect(findStep(use.result, "missing").error).toBe(
      "Unable to download artifact(s): Artifact not found for name: nope",
    );
    expect((await run("gated", { event: "push" }, workflowRun)).result.result).toBe("skipped");
    await expect(run("use", { event: "push" })).rejects.toThrowError("job 'use' needs make: run it first");
  });

  it("docker/* steps are recorded with their evaluated inputs, not executed", async () => {
    const run = await workflow(`
on: push
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: docker/build-push-action@v6
        with:
          push: false
          tags: app:\${{ github.sha }}
`);
    const { result } = await run("image", { event: "push", github: { sha: "abc" } });
    expect(findStep(result, "docker/build-push-action").with).toEqual({ push: "false", tags: "app:abc" });
  });
});

describe("prepareWorkspace", () => {
  it("holds exactly the files git lists (untracked ones included) plus node_modules and .venv borrowed by symlink", async () => {
    const root = projectRoot();
    const workspace = await prepareWorkspace();
    try {
      const listed = execFileSync("git", ["ls-files", "-z", "-co", "--exclude-standard"], {
        cwd: root,
        encoding: "utf8",
      })
        .split("\0")
        .filter((f) => f !== "" && existsSync(path.join(root, f)));
      const copied = (await readdir(workspace, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => path.relative(workspace, path.join(e.parentPath, e.name)));
      expect(copied.sort()).toEqual(listed.sort());
      expect(existsSync(path.join(workspace, ".git"))).toBe(false);
      // A venv elsewhere (WORKBENCH_VENV) reaches the steps through the machine's environment instead.
      const borrowed =
        process.env.WORKBENCH_VENV === undefined ? ["node_modules", ".venv"] : ["node_modules"];
      for (const dir of borrowed) {
        expect(lstatSync(path.join(workspace, dir)).isSymbolicLink(), dir).toBe(true);
        expect(readlinkSync(path.join(workspace, dir))).toBe(path.join(root, dir));
      }
    } finally {
      await rm(workspace, { recursive: true, force: true });
    }
  });
});
