// `npm run monitor` flags: every bad flag is a usage error (exit 2) naming the flag; the verdict's exit codes;
// and end to end on a reference profile (no model, no server): the report files, $GITHUB_OUTPUT and the summary.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EXIT, exitCodeFor } from "../../../src/cli/exit-codes.js";
import { monitorCommand, monitorOptions, verdictExitCode } from "../../../src/cli/monitor-command.js";
import { CurrentAccumulator } from "../../../src/monitoring/current.js";
import type { MonitorReport } from "../../../src/monitoring/types.js";
import { DataValidationError, WorkbenchError } from "../../../src/shared/errors.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("monitor-command-");
let errors: string[] = [];
let logs: string[] = [];

beforeEach(() => {
  errors = [];
  logs = [];
  process.exitCode = undefined;
  vi.spyOn(console, "error").mockImplementation((m: unknown) => void errors.push(String(m)));
  vi.spyOn(console, "log").mockImplementation((m: unknown) => void logs.push(String(m)));
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe("monitorOptions", () => {
  it("turns flags into options", () => {
    const options = monitorOptions([
      "--model",
      "models:/credit@champion",
      "--current",
      "log/",
      "--labels",
      "labels.csv",
      "--id",
      "ID",
      "--max-drop",
      "0.02",
      "--threshold",
      "0.2",
      "--drift-share",
      "0.3",
      "--stattest",
      "psi",
      "--correction",
      "holm",
      "--no-log",
      "--compare",
      "--max-bad-lines",
      "10",
    ]);
    expect(options).toMatchObject({
      model: "models:/credit@champion",
      current: "log/",
      labels: "labels.csv",
      idColumn: "ID",
      maxDrop: 0.02,
      drift: { threshold: 0.2, driftShare: 0.3, stattest: "psi", correction: "holm" },
      log: false,
      score: true,
      compare: true,
      maxBadLines: 10,
      out: "out/monitor",
    });
  });

  const bad: [string[], string][] = [
    [["--model", "m"], "--current is required."],
    [["--current", "x.csv"], "--model or --reference is required."],
    [
      ["--reference", "p.json", "--current", "x.csv", "--format", "xml"],
      "--format must be csv or jsonl, not 'xml'.",
    ],
    [["--reference", "p.json", "--current", "x.csv", "--labels", "l.csv"], "--labels needs --model"],
    [["--model", "m", "--current", "x.csv", "--id", "ID"], "--id needs --labels."],
    [
      ["--reference", "p.json", "--current", "x.csv", "--stattest", "t-test"],
      "--stattest must be one of ks, chi2, z, wasserstein, jensenshannon, psi, not 't-test'.",
    ],
    [
      ["--reference", "p.json", "--current", "x.csv", "--correction", "fdr"],
      "--correction must be one of none, bonferroni, holm, bh, not 'fdr'.",
    ],
    [
      ["--reference", "p.json", "--current", "x.csv", "--drift-share", "1.5"],
      "--drift-share must be a positive number up to 1, got '1.5'.",
    ],
    [
      ["--reference", "p.json", "--current", "x.csv", "--threshold", "0"],
      "--threshold must be a positive number, got '0'.",
    ],
    [
      ["--model", "m", "--current", "x.csv", "--labels", "l.csv", "--max-drop", "lots"],
      "--max-drop must be a number from 0",
    ],
    [
      ["--reference", "p.json", "--current", "x.csv", "--max-bad-fraction", "2"],
      "--max-bad-fraction must be a number from 0 to 1, got '2'.",
    ],
    [
      ["--reference", "p.json", "--current", "x.csv", "--max-bad-lines", "1.5"],
      "--max-bad-lines must be an integer",
    ],
    [
      ["--reference", "p.json", "--current", "x.csv", "--chunk-rows", "0"],
      "--chunk-rows must be an integer from 1 up, got '0'.",
    ],
    [["--reference", "p.json", "--current", "x.csv", "--bogus"], "Unknown option '--bogus'"],
    [["--reference", "p.json", "--current", "x.csv", "extra"], "unexpected argument 'extra'."],
  ];
  it.each(bad)("given %j, then a usage error (exit 2): %s", (argv, message) => {
    expect(monitorOptions(argv)).toBeUndefined();
    expect(process.exitCode).toBe(EXIT.usage);
    expect(errors.join("\n")).toContain("error [CLI_USAGE]");
    expect(errors.join("\n")).toContain(message);
  });
});

describe("exit codes", () => {
  const report = (drift: boolean, degraded: boolean) =>
    ({ verdict: { drift, degraded, reasons: [] } }) as unknown as MonitorReport;
  it("0 without drift, 11 for drift, 12 for degradation (with or without drift)", () => {
    expect(verdictExitCode(report(false, false))).toBe(0);
    expect(verdictExitCode(report(true, false))).toBe(11);
    expect(verdictExitCode(report(false, true))).toBe(12);
    expect(verdictExitCode(report(true, true))).toBe(12);
  });
  it("bad input is 10, a model without profile 8, usage problems 2", () => {
    expect(exitCodeFor(new DataValidationError("MONITOR_COLUMN_MISSING", "x"))).toBe(EXIT.invalid);
    expect(exitCodeFor(new DataValidationError("MONITOR_INPUT_INVALID", "x"))).toBe(EXIT.invalid);
    expect(exitCodeFor(new WorkbenchError("PROFILE_INVALID", "x"))).toBe(EXIT.invalid);
    expect(exitCodeFor(new WorkbenchError("MONITOR_NO_PROFILE", "x"))).toBe(EXIT.notFound);
    expect(exitCodeFor(new WorkbenchError("MONITOR_ID_REQUIRED", "x"))).toBe(EXIT.usage);
  });
});

describe("monitorCommand on a reference profile", () => {
  /** A profile of 400 rows: x uniform on 0..99, g in A/B. */
  async function profileFile(): Promise<string> {
    const a = CurrentAccumulator.forColumns([
      { name: "x", type: "numeric" },
      { name: "g", type: "categorical" },
    ]);
    for (let i = 0; i < 400; i++) {
      a.addNumber(0, i % 100);
      a.addString(1, i % 2 ? "A" : "B");
      a.endRow();
    }
    return tmp.file("profile.json", JSON.stringify(a.toProfile({ split: "train", rows: 400 })));
  }

  it("no drift: exit 0, the report files, GITHUB_OUTPUT and the step summary", async () => {
    const profile = await profileFile();
    const current = await tmp.file(
      "same.csv",
      `x,g,extra\n${Array.from({ length: 200 }, (_, i) => `${(i * 7) % 100},${i % 2 ? "A" : "B"},1`).join("\n")}\n`,
    );
    const out = path.join(tmp.path(), "out-same");
    const outputs = await tmp.file("github-output", "");
    const summary = await tmp.file("step-summary", "");
    vi.stubEnv("GITHUB_OUTPUT", outputs);
    vi.stubEnv("GITHUB_STEP_SUMMARY", summary);
    try {
      await monitorCommand(["--reference", profile, "--current", current, "--out", out]);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(errors, "no errors").toEqual([]);
    expect(process.exitCode).toBe(EXIT.ok);
    const report = JSON.parse(await readFile(path.join(out, "monitor.json"), "utf8")) as MonitorReport;
    expect(report.verdict.drift).toBe(false);
    expect(report.input.rowsUsed).toBe(200);
    expect(report.input.issues?.extraColumns).toEqual(["extra"]);
    expect(report.run, "--reference without --experiment logs no run").toBeUndefined();
    expect((await readFile(path.join(out, "monitor.html"), "utf8")).length).toBeGreaterThan(1000);
    const github = await readFile(outputs, "utf8");
    expect(github).toContain("drift=false\n");
    expect(github).toContain("degraded=false\n");
    expect(github).toContain(`report=${path.join(out, "monitor.html")}\n`);
    expect(github).toMatch(/drift_share=0\n/);
    expect((await readFile(summary, "utf8")).length).toBeGreaterThan(0);
    expect(logs.join("\n")).toContain("verdict: ok (exit 0)");
    expect(logs.join("\n")).toContain("ignored columns (not in the profile): extra");
  });

  it("drift: exit 11 and drift=true", async () => {
    const profile = await profileFile();
    const current = await tmp.file(
      "shifted.csv",
      `x,g\n${Array.from({ length: 200 }, (_, i) => `${150 + (i % 50)},C`).join("\n")}\n`,
    );
    const out = path.join(tmp.path(), "out-shifted");
    const outputs = await tmp.file("github-output-2", "");
    vi.stubEnv("GITHUB_OUTPUT", outputs);
    try {
      await monitorCommand(["--reference", profile, "--current", current, "--out", out]);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(errors).toEqual([]);
    expect(process.exitCode).toBe(EXIT.drift);
    expect(await readFile(outputs, "utf8")).toContain("drift=true\n");
    expect(logs.join("\n")).toContain("verdict: drift (exit 11)");
  });

  it("bad input: MONITOR_COLUMN_MISSING exits 10 with the message; a missing profile file exits 10 too", async () => {
    const profile = await profileFile();
    const current = await tmp.file("nog.csv", "x\n1\n");
    await monitorCommand(["--reference", profile, "--current", current, "--out", path.join(tmp.path(), "o")]);
    expect(process.exitCode).toBe(EXIT.invalid);
    expect(errors.join("\n")).toContain("error [MONITOR_COLUMN_MISSING]:");
    expect(errors.join("\n")).toContain("lacks a column of the reference profile: g.");
    errors = [];
    await monitorCommand(["--reference", "/nonexistent/p.json", "--current", current]);
    expect(process.exitCode).toBe(EXIT.invalid);
    expect(errors.join("\n")).toContain(
      "error [MONITOR_REFERENCE_MISSING]: The reference profile /nonexistent/p.json does not exist (--reference)",
    );
  });

  it("--compare on a CSV file, or without the model's classes, is a usage error (exit 2) before any data is read", async () => {
    const profile = await profileFile();
    const current = await tmp.file("compare.csv", "x,g\n1,A\n");
    await monitorCommand(["--reference", profile, "--current", current, "--compare"]);
    expect(process.exitCode).toBe(EXIT.usage);
    expect(errors.join("\n")).toContain(
      "error [MONITOR_COMPARE_NEEDS_LOG]: --compare reads the shadow answers of a prediction log, not a CSV file.",
    );
    errors = [];
    const log = await tmp.file("compare.jsonl", "");
    await monitorCommand(["--reference", profile, "--current", log, "--compare"]);
    expect(process.exitCode).toBe(EXIT.usage);
    expect(errors.join("\n")).toContain(
      "error [MONITOR_COMPARE_NEEDS_MODEL]: --compare needs the model's classes",
    );
  });

  it("a drift option naming a column the profile lacks is CONFIG_INVALID (exit 10) before any data is read", async () => {
    const profile = await profileFile();
    const config = await tmp.file("columns.yaml", "columns: [x, y]\n");
    await monitorCommand(["--reference", profile, "--current", "/nonexistent.csv", "--config", config]);
    expect(process.exitCode).toBe(EXIT.invalid);
    expect(errors.join("\n")).toContain(
      'error [CONFIG_INVALID]: The drift options name "y", which the reference profile does not have (it has x, g).',
    );
  });

  it("a config file with an unknown key is CONFIG_INVALID (exit 10) before any data is read", async () => {
    const profile = await profileFile();
    const config = await tmp.file("monitoring.yaml", "driftShare: 0.3\nbogus: 1\n");
    await monitorCommand(["--reference", profile, "--current", "/nonexistent.csv", "--config", config]);
    expect(process.exitCode).toBe(EXIT.invalid);
    expect(errors.join("\n")).toContain("error [CONFIG_INVALID]");
    expect(errors.join("\n")).toContain("bogus");
  });
});
