#!/usr/bin/env node
// `npm run audit`: the dependency audit, honest about whether it ran. Plain Node with no dependencies, so it
// works on a fresh checkout before any install (it reads package-lock.json through `npm audit --json`).
//   node scripts/audit.mjs [--audit-level=high] [--require-check]
// It prints "clean" only when the registry answered with zero findings. When the registry refuses the audit
// endpoint (some mirrors answer HTTP 405) or cannot be reached, it prints "not checked: …" and exits 0 — or 3
// with --require-check, which CI passes because there the check has to run.
// Exit codes: 0 clean, findings all below the level, or not checked; 1 a finding at or above the level
// (default high); 2 usage; 3 not checked with --require-check.
import { spawnSync } from "node:child_process";

const SEVERITIES = ["info", "low", "moderate", "high", "critical"];
const USAGE = "usage: npm run audit -- [--audit-level=info|low|moderate|high|critical] [--require-check]";

function parseArgs(argv) {
  const options = { level: "high", requireCheck: false };
  for (const arg of argv) {
    const level = /^--audit-level=(.*)$/.exec(arg);
    if (level && SEVERITIES.includes(level[1])) options.level = level[1];
    else if (arg === "--require-check") options.requireCheck = true;
    else return undefined;
  }
  return options;
}

/** The advisories behind one vulnerable package: titles and links, or the packages it inherits them from. */
function describeVia(via) {
  return via
    .map((v) =>
      typeof v === "string" ? `via ${v}` : `${v.title ?? "advisory"}${v.url ? ` (${v.url})` : ""}`,
    )
    .join("; ");
}

function describeFix(fix) {
  if (fix === true) return "fix: npm audit fix";
  if (fix && typeof fix === "object")
    return `fix: ${fix.name}@${fix.version}${fix.isSemVerMajor ? " (semver-major)" : ""}`;
  return "no fix available";
}

/**
 * What `npm audit --json` said: "checked" with the report, or "not-checked" with the reason. A report needs
 * both the version-2 format and the counts; anything else (an HTTP refusal, a network error, no JSON) is
 * not a check, whatever the exit code.
 */
function interpret(result) {
  let report;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    const first = (result.stderr ?? "").split("\n").find((line) => line.trim() !== "") ?? "no output";
    return {
      kind: "not-checked",
      reason: `npm audit gave no report (exit ${result.status}): ${first.trim()}`,
    };
  }
  if (typeof report?.statusCode === "number")
    return {
      kind: "not-checked",
      reason: `the registry refused the audit endpoint (HTTP ${report.statusCode})`,
    };
  if (report?.error)
    return {
      kind: "not-checked",
      reason: `npm audit failed: ${[report.error.code, report.error.summary].filter(Boolean).join(" ")}`,
    };
  if (report?.auditReportVersion !== 2 || typeof report?.metadata?.vulnerabilities !== "object")
    return { kind: "not-checked", reason: "npm audit answered in a format this script does not know" };
  return { kind: "checked", report };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options === undefined) {
    console.error(USAGE);
    return 2;
  }
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["audit", "--json"], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (result.error) {
    console.log(`not checked: npm could not start (${result.error.message})`);
    return options.requireCheck ? 3 : 0;
  }
  const outcome = interpret(result);
  if (outcome.kind === "not-checked") {
    console.log(`not checked: ${outcome.reason}`);
    return options.requireCheck ? 3 : 0;
  }
  const { vulnerabilities = {}, metadata } = outcome.report;
  const counts = metadata.vulnerabilities;
  const dependencies = metadata.dependencies?.total;
  const total = SEVERITIES.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
  if (total === 0) {
    console.log(`clean: no known vulnerabilities${dependencies ? ` in ${dependencies} dependencies` : ""}`);
    return 0;
  }
  const threshold = SEVERITIES.indexOf(options.level);
  const entries = Object.values(vulnerabilities).sort(
    (a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) || a.name.localeCompare(b.name),
  );
  for (const v of entries)
    console.log(
      `${v.severity.padEnd(8)} ${v.name} ${v.range ?? ""}: ${describeVia(v.via ?? [])}; ${describeFix(v.fixAvailable)}`,
    );
  const breakdown = SEVERITIES.filter((s) => (counts[s] ?? 0) > 0)
    .reverse()
    .map((s) => `${counts[s]} ${s}`)
    .join(", ");
  const failing = SEVERITIES.slice(threshold).reduce((sum, s) => sum + (counts[s] ?? 0), 0);
  console.log(
    `found ${total} vulnerabilit${total === 1 ? "y" : "ies"} (${breakdown}); ${failing === 0 ? `none at or above ${options.level}` : `${failing} at or above ${options.level}: failing`}`,
  );
  return failing > 0 ? 1 : 0;
}

process.exitCode = main();
