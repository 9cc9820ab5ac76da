// A job's workspace: what actions/checkout gives a runner, made from the current tree without touching it.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { projectRoot, venvDir } from "../../../src/shared/project.js";

function sha256(files: string[], extra: string): string {
  const hash = createHash("sha256").update(extra);
  for (const file of files) hash.update(existsSync(file) ? readFileSync(file) : `missing:${file}`);
  return hash.digest("hex");
}

function stampMatches(stampFile: string, want: string): boolean {
  return existsSync(stampFile) && readFileSync(stampFile, "utf8") === want;
}

/**
 * The workspace borrows the project's node_modules and .venv, so `npm run setup` inside it must find both up
 * to date: otherwise it would install through the symlinks into the project. The stamps are the ones
 * scripts/setup.mjs writes (same inputs, same hash).
 */
function assertSetupCurrent(root: string): void {
  const nodeStamp = sha256(
    [path.join(root, "package.json"), path.join(root, "package-lock.json")],
    process.version,
  );
  const python = spawnSync(process.env.WORKBENCH_PYTHON ?? "python3", [
    "-c",
    "import sys; print('%d.%d' % sys.version_info[:2])",
  ]);
  const venv = venvDir(root);
  const pythonStamp = sha256(
    [path.join(root, "requirements.txt"), path.join(root, "constraints.txt")],
    python.stdout?.toString().trim() ?? "",
  );
  const stale = [
    stampMatches(path.join(root, "node_modules", ".workbench-setup"), nodeStamp) ? undefined : "node_modules",
    stampMatches(path.join(venv, ".workbench-setup"), pythonStamp) &&
    existsSync(path.join(venv, "bin", "mlflow"))
      ? undefined
      : venv,
  ].filter((s) => s !== undefined);
  if (stale.length > 0) {
    throw new Error(
      `The project's set-up is out of date (${stale.join(", ")}): run \`npm run setup\` in ${root} first. ` +
        "Workflow workspaces borrow node_modules and .venv and must never install into them.",
    );
  }
}

/**
 * A clean checkout of the current tree in a temp folder: the files `git ls-files -co --exclude-standard`
 * lists (tracked and untracked-but-not-ignored, so uncommitted work is included), plus symlinks to the
 * project's node_modules and .venv standing in for setup-node's dependency cache (`npm run setup` then
 * finds its stamps and does nothing). Nothing is written into the project.
 */
export async function prepareWorkspace(root: string = projectRoot()): Promise<string> {
  assertSetupCurrent(root);
  const workspace = await mkdtemp(path.join(os.tmpdir(), "wf-workspace-"));
  const files = execFileSync("git", ["ls-files", "-z", "-co", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\0")
    .filter((f) => f !== "" && existsSync(path.join(root, f))); // a tracked file deleted in the tree is gone
  for (const file of files) {
    await mkdir(path.dirname(path.join(workspace, file)), { recursive: true });
    await copyFile(path.join(root, file), path.join(workspace, file));
  }
  await symlink(path.join(root, "node_modules"), path.join(workspace, "node_modules"), "dir");
  if (process.env.WORKBENCH_VENV === undefined) {
    await symlink(venvDir(root), path.join(workspace, ".venv"), "dir");
  }
  return workspace;
}
