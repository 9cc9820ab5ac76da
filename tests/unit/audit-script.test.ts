import { spawnSync } from "node:child_process";
import { chmod, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { projectRoot } from "../../src/shared/project.js";
import { tempDir } from "../helpers/temp.js";

// Defect 9 of issue 9: `npm audit` is refused by the registry these machines reach (HTTP 405). The local
// check (`npm run audit`, scripts/audit.mjs) must say "not checked" then, never "clean"; CI runs the real one.

const root = projectRoot();
const script = path.join(root, "scripts", "audit.mjs");
const tmp = tempDir("audit-");

/** Runs scripts/audit.mjs; with `fake`, an `npm` on PATH that prints `fake.stdout` and exits `fake.status`. */
async function audit(args: string[], fake?: { stdout: string; status: number; stderr?: string }) {
  let env = process.env;
  if (fake) {
    const json = await tmp.file(`out-${Math.random().toString(36).slice(2)}.json`, fake.stdout);
    const bin = path.dirname(json);
    const npm = await tmp.file(
      "npm",
      `#!/bin/sh\n[ "$1 $2" = "audit --json" ] || exit 64\ncat "$FAKE_AUDIT_OUT"\necho "${fake.stderr ?? ""}" >&2\nexit ${fake.status}\n`,
    );
    await chmod(npm, 0o755);
    env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, FAKE_AUDIT_OUT: json };
  }
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, env, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

// What `npm audit --json` printed on this machine (npm 11.19), trimmed.
const REFUSED = JSON.stringify({
  message: "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
  method: "POST",
  uri: "https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
  headers: { allow: ["GET,HEAD"] },
  statusCode: 405,
  body: "",
  error: { summary: "", detail: "" },
});

function report(vulnerabilities: Record<string, unknown>, counts: Partial<Record<string, number>>) {
  return JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities,
    metadata: {
      vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts },
      dependencies: { total: 812 },
    },
  });
}

const STATIC_FINDING = {
  "@fastify/static": {
    name: "@fastify/static",
    severity: "high",
    isDirect: false,
    via: [
      {
        title: "Path traversal in @fastify/static",
        url: "https://github.com/advisories/GHSA-83w8-p2f5-377r",
        severity: "high",
      },
    ],
    range: "<10.1.0",
    fixAvailable: { name: "@fastify/swagger-ui", version: "6.1.3", isSemVerMajor: true },
  },
};

describe("npm run audit (scripts/audit.mjs)", () => {
  it("given the registry refuses the audit endpoint (HTTP 405), then it says 'not checked', never 'clean', and exits 0", async () => {
    const result = await audit([], {
      stdout: REFUSED,
      status: 1,
      stderr: "npm error audit endpoint returned an error",
    });
    expect(result.stdout.trim()).toBe("not checked: the registry refused the audit endpoint (HTTP 405)");
    expect(result.stdout).not.toMatch(/clean/i);
    expect(result.code).toBe(0);
  });

  it("given a refusal and --require-check (CI), then it exits 3", async () => {
    const result = await audit(["--require-check"], { stdout: REFUSED, status: 1 });
    expect(result.stdout).toContain("not checked");
    expect(result.code).toBe(3);
  });

  it("given an unreachable registry or no JSON at all, then 'not checked' with the reason", async () => {
    const offline = await audit([], {
      stdout: JSON.stringify({ error: { code: "ENOTFOUND", summary: "request to registry failed" } }),
      status: 1,
    });
    expect(offline.stdout.trim()).toBe("not checked: npm audit failed: ENOTFOUND request to registry failed");
    expect(offline.code).toBe(0);
    const garbage = await audit([], { stdout: "", status: 1, stderr: "npm error something odd" });
    expect(garbage.stdout.trim()).toBe(
      "not checked: npm audit gave no report (exit 1): npm error something odd",
    );
  });

  it("given a report with no findings, then (and only then) 'clean'", async () => {
    const result = await audit([], { stdout: report({}, {}), status: 0 });
    expect(result.stdout.trim()).toBe("clean: no known vulnerabilities in 812 dependencies");
    expect(result.code).toBe(0);
  });

  it("given a high finding, then it lists the package, advisory and fix, and exits 1", async () => {
    const result = await audit([], { stdout: report(STATIC_FINDING, { high: 1 }), status: 1 });
    expect(result.stdout).toContain(
      "high     @fastify/static <10.1.0: Path traversal in @fastify/static (https://github.com/advisories/GHSA-83w8-p2f5-377r); fix: @fastify/swagger-ui@6.1.3 (semver-major)",
    );
    expect(result.stdout).toContain("found 1 vulnerability (1 high); 1 at or above high: failing");
    expect(result.code).toBe(1);
  });

  it("given only moderate findings, then they are listed but the default level (high) passes; --audit-level=moderate fails", async () => {
    const moderate = { x: { name: "x", severity: "moderate", via: ["y"], range: "*", fixAvailable: true } };
    const lenient = await audit([], { stdout: report(moderate, { moderate: 1 }), status: 1 });
    expect(lenient.stdout).toContain("moderate x *: via y; fix: npm audit fix");
    expect(lenient.stdout).toContain("none at or above high");
    expect(lenient.code).toBe(0);
    const strict = await audit(["--audit-level=moderate"], {
      stdout: report(moderate, { moderate: 1 }),
      status: 1,
    });
    expect(strict.code).toBe(1);
  });

  it("given an unknown flag, then usage and exit 2", async () => {
    const result = await audit(["--level=high"]);
    expect(result.stderr).toContain("usage: npm run audit");
    expect(result.code).toBe(2);
  });

  it("against this machine's registry: a refusal is reported as 'not checked', a real answer as a report", () => {
    const raw = spawnSync("npm", ["audit", "--json"], { cwd: root, encoding: "utf8" });
    const refused = /"statusCode":\s*\d+/.test(raw.stdout);
    const result = spawnSync(process.execPath, [script], { cwd: root, encoding: "utf8" });
    if (refused) {
      expect(result.stdout).toMatch(/^not checked: the registry refused the audit endpoint \(HTTP \d+\)$/m);
      expect(result.status).toBe(0);
    } else {
      expect(result.stdout, "the registry answered: a report, not a refusal").not.toMatch(/^not checked/m);
    }
  });

  it("package.json has the task and ci.yml runs it where the registry answers, requiring the check", async () => {
    const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.audit).toBe("node scripts/audit.mjs");
    const ci = parse(await readFile(path.join(root, ".github", "workflows", "ci.yml"), "utf8")) as {
      jobs: Record<string, { steps: { run?: string }[] }>;
    };
    const runs = Object.values(ci.jobs).flatMap((job) => job.steps.map((s) => s.run));
    expect(runs).toContain("npm run audit -- --require-check");
  });
});
