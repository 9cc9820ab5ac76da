import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../src/shared/project.js";

// Defect 9 of issue 9: @fastify/swagger-ui 5.2.6 locked @fastify/static 9.3.0, affected by
// GHSA-83w8-p2f5-377r and GHSA-8pvw-jcv7-9cmj (fixed in the 10.1 line). `npm audit` is refused by the
// registry these machines reach, so the lockfile itself is checked against the advisories we know of.
const KNOWN_ADVISORIES = [
  { name: "@fastify/static", fixedIn: "10.1.0", ids: ["GHSA-83w8-p2f5-377r", "GHSA-8pvw-jcv7-9cmj"] },
] as const;

function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[.+-]/).slice(0, 3).map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

describe("locked dependencies", () => {
  const lock = JSON.parse(readFileSync(path.join(projectRoot(), "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string }>;
  };

  it.each(KNOWN_ADVISORIES)("no locked $name is older than $fixedIn ($ids)", ({ name, fixedIn }) => {
    const locked = Object.entries(lock.packages)
      .filter(([where]) => where === `node_modules/${name}` || where.endsWith(`/node_modules/${name}`))
      .map(([where, entry]) => ({ where, version: entry.version ?? "0.0.0" }));
    expect(locked.length, `${name} is in the tree (else drop this entry)`).toBeGreaterThan(0);
    const affected = locked.filter((p) => compareVersions(p.version, fixedIn) < 0);
    expect(affected, `copies of ${name} below ${fixedIn}`).toEqual([]);
  });
});
