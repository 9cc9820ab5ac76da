import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../../src/shared/project.js";

// Defect 6 of issue 9: on a fresh clone, the first set-up's `npm install` rewrote package-lock.json, so every
// recipe recorded `dirty: true` and a lockfile hash other than the committed one. The set-up must leave
// `git status` clean.
//
// Runs in CI (CI=true, as GitHub Actions sets it) or with WORKBENCH_TEST_FRESH_CLONE=1; skipped otherwise
// because it installs every Node dependency into a clone (about a minute with a warm npm cache, several
// minutes with a cold one), too slow for each local `npm test`.

const exec = promisify(execFile);
const enabled = process.env.CI === "true" || process.env.WORKBENCH_TEST_FRESH_CLONE === "1";
const SKIPPED =
  "skipped: set CI=true or WORKBENCH_TEST_FRESH_CLONE=1 (installs every Node dependency, ~1 min)";
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("a fresh clone", () => {
  it.skipIf(!enabled)(
    `given a clone of the committed tree, when the Node set-up runs, then git status is clean${enabled ? "" : ` (${SKIPPED})`}`,
    async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), "workbench-clone-"));
      const clone = path.join(dir, "repo");
      await exec("git", ["clone", "--quiet", projectRoot(), clone]);
      const before = await exec("git", ["status", "--porcelain"], { cwd: clone });
      expect(before.stdout, "the clone starts clean").toBe("");

      // The set-up as `npm start` / `npm test` run it; a warm npm cache is used when there is one.
      await exec(process.execPath, [path.join(clone, "scripts", "setup.mjs"), "--node", "--quiet"], {
        cwd: clone,
        env: { ...process.env, npm_config_prefer_offline: "true" },
        maxBuffer: 1 << 26,
      }).catch((error: { stderr: string }) => {
        throw new Error(`node scripts/setup.mjs --node failed in the clone:\n${error.stderr}`);
      });

      const after = await exec("git", ["status", "--porcelain"], { cwd: clone });
      expect(after.stdout, "files the set-up changed or left untracked").toBe("");
      const second = await exec(process.execPath, [path.join(clone, "scripts", "setup.mjs"), "--node"], {
        cwd: clone,
      });
      expect(second.stderr, "a second set-up finds its stamp and installs nothing").not.toContain(
        "installing",
      );
    },
    600_000,
  );
});
