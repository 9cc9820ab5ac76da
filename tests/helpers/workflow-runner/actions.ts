// The `uses:` steps the local runner knows, simulated: checkout and setup-* are no-ops on this machine
// (checked where it matters), the cache and artifacts live in the runner host's folders with GitHub's
// semantics, docker/* steps are recorded, not executed. Any other action, or an input an action does not
// take, throws: a workflow the runner cannot faithfully simulate must fail the test.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";

/** The runner machine's state that outlives a job: the repository's cache, each run's artifacts, logs. */
export interface RunnerHost {
  root: string;
  cacheDir: string;
  artifactsDir: string;
  logsDir: string;
  /** A increasing sequence number (cache entries' creation order, artifact ids, run ids). */
  nextSeq(): number;
}

export interface ActionCall {
  uses: string;
  with: Record<string, string>;
  workspace: string;
  host: RunnerHost;
  runId: string;
  /** The step's process environment (PATH for the tool checks). */
  env: Record<string, string>;
}

export interface ActionResult {
  outputs: Record<string, string>;
  warnings: string[];
}

/** The action failed the way it would on GitHub (the step fails; the job goes on per `if:`). */
export class StepFailure extends Error {
  override name = "StepFailure";
}

/** A workflow the runner cannot simulate (unknown action, unknown input, unsupported path syntax). */
export class UnsupportedError extends Error {
  override name = "UnsupportedError";
}

interface CacheMeta {
  key: string;
  paths: string[];
  seq: number;
}

function lines(value: string | undefined): string[] {
  return (value ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

function pathList(value: string | undefined, what: string): string[] {
  const list = lines(value);
  for (const p of list) {
    if (/[*?[\]!~]/.test(p) || path.isAbsolute(p)) {
      throw new UnsupportedError(
        `${what}: path '${p}' (globs, exclusions, ~ and absolute paths are not simulated)`,
      );
    }
  }
  return list;
}

/** The host's cache entries (key, path list, creation order; `dir/data/<i>` holds the i-th path). */
export async function cacheEntries(host: RunnerHost): Promise<(CacheMeta & { dir: string })[]> {
  const dirs = await readdir(host.cacheDir);
  return Promise.all(
    dirs.map(async (d) => {
      const dir = path.join(host.cacheDir, d);
      return { ...(JSON.parse(await readFile(path.join(dir, "meta.json"), "utf8")) as CacheMeta), dir };
    }),
  );
}

async function cacheRestore(call: ActionCall): Promise<ActionResult> {
  const key = call.with.key ?? "";
  const paths = pathList(call.with.path, "actions/cache/restore");
  if (key === "" || paths.length === 0) throw new StepFailure("Input required and not supplied: key, path");
  // An entry matches only with the same path list (GitHub's cache "version").
  const entries = (await cacheEntries(call.host)).filter((e) => e.paths.join("\n") === paths.join("\n"));
  let hit = entries.find((e) => e.key === key);
  if (!hit) {
    for (const prefix of lines(call.with["restore-keys"])) {
      hit = entries.filter((e) => e.key.startsWith(prefix)).sort((a, b) => b.seq - a.seq)[0];
      if (hit) break;
    }
  }
  const outputs = {
    "cache-primary-key": key,
    "cache-hit": String(hit?.key === key),
    "cache-matched-key": "",
  };
  if (!hit) {
    if (call.with["fail-on-cache-miss"] === "true") {
      throw new StepFailure(
        `Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: ${key}`,
      );
    }
    return { outputs, warnings: [`Cache not found for input keys: ${key}`] };
  }
  if (call.with["lookup-only"] !== "true") {
    for (const [i, p] of paths.entries()) {
      const saved = path.join(hit.dir, "data", String(i));
      if (!existsSync(saved)) continue;
      const target = path.join(call.workspace, p);
      await mkdir(path.dirname(target), { recursive: true });
      await cp(saved, target, { recursive: true, force: true });
    }
  }
  return { outputs: { ...outputs, "cache-matched-key": hit.key }, warnings: [] };
}

async function cacheSave(call: ActionCall): Promise<ActionResult> {
  const key = call.with.key ?? "";
  const paths = pathList(call.with.path, "actions/cache/save");
  if (key === "" || paths.length === 0) throw new StepFailure("Input required and not supplied: key, path");
  if ((await cacheEntries(call.host)).some((e) => e.key === key)) {
    // GitHub never overwrites an entry: the save is skipped with a warning, the step still succeeds.
    return {
      outputs: {},
      warnings: [`Unable to reserve cache with key ${key}, another job may be creating this cache.`],
    };
  }
  const existing = paths.filter((p) => existsSync(path.join(call.workspace, p)));
  if (existing.length === 0) {
    return {
      outputs: {},
      warnings: ["Path Validation Error: Path(s) specified in the action for caching do(es) not exist"],
    };
  }
  const seq = call.host.nextSeq();
  const dir = path.join(call.host.cacheDir, String(seq).padStart(6, "0"));
  for (const [i, p] of paths.entries()) {
    const source = path.join(call.workspace, p);
    if (existsSync(source)) await cp(source, path.join(dir, "data", String(i)), { recursive: true });
  }
  await writeFile(path.join(dir, "meta.json"), JSON.stringify({ key, paths, seq } satisfies CacheMeta));
  return { outputs: {}, warnings: [] };
}

function commonAncestor(dirs: string[]): string {
  return dirs.reduce((a, b) => {
    let common = a;
    while (path.relative(common, b).startsWith("..")) common = path.dirname(common);
    return common;
  });
}

async function uploadArtifact(call: ActionCall): Promise<ActionResult> {
  const name = call.with.name || "artifact";
  const target = path.join(call.host.artifactsDir, call.runId, name);
  if (existsSync(target) && call.with.overwrite !== "true") {
    throw new StepFailure(
      `Failed to CreateArtifact: an artifact with this name already exists on the workflow run`,
    );
  }
  const paths = pathList(call.with.path, "actions/upload-artifact")
    .map((p) => path.resolve(call.workspace, p))
    .filter((p) => existsSync(p));
  if (paths.length === 0) {
    const message = `No files were found with the provided path: ${call.with.path}. No artifacts will be uploaded.`;
    if (call.with["if-no-files-found"] === "error") throw new StepFailure(message);
    return { outputs: {}, warnings: call.with["if-no-files-found"] === "ignore" ? [] : [message] };
  }
  const roots = await Promise.all(
    paths.map(async (p) => ((await stat(p)).isDirectory() ? p : path.dirname(p))),
  );
  const root = commonAncestor(roots);
  const hidden = call.with["include-hidden-files"] === "true";
  for (const p of paths) {
    await cp(p, path.join(target, path.relative(root, p)), {
      recursive: true,
      force: true,
      // upload-artifact@v4 leaves out dot-files unless include-hidden-files is set.
      filter: (src) =>
        hidden ||
        !path
          .relative(root, src)
          .split(path.sep)
          .some((s) => s.startsWith(".")),
    });
  }
  const id = String(call.host.nextSeq());
  return {
    outputs: { "artifact-id": id, "artifact-url": `local-artifacts/${call.runId}/${name}` },
    warnings: [],
  };
}

async function downloadArtifact(call: ActionCall): Promise<ActionResult> {
  const runDir = path.join(call.host.artifactsDir, call.runId);
  const dest = path.resolve(call.workspace, call.with.path || ".");
  const names = call.with.name ? [call.with.name] : existsSync(runDir) ? await readdir(runDir) : [];
  for (const name of names) {
    const source = path.join(runDir, name);
    if (!existsSync(source)) {
      throw new StepFailure(`Unable to download artifact(s): Artifact not found for name: ${name}`);
    }
    await cp(source, call.with.name ? dest : path.join(dest, name), { recursive: true, force: true });
  }
  return { outputs: { "download-path": dest }, warnings: [] };
}

function versionOf(command: string, env: Record<string, string>): number[] | undefined {
  const probe = spawnSync(command, ["--version"], { env, encoding: "utf8" });
  const match = /(\d+)\.(\d+)/.exec(`${probe.stdout ?? ""}${probe.stderr ?? ""}`);
  return probe.status === 0 && match ? [Number(match[1]), Number(match[2])] : undefined;
}

async function setupNode(call: ActionCall): Promise<ActionResult> {
  const found = versionOf("node", call.env);
  const wanted = Math.max(20, Number.parseInt(call.with["node-version"] ?? "20", 10) || 20);
  if (!found || found[0]! < wanted) {
    throw new StepFailure(`setup-node: node ${wanted} wanted, found ${found?.join(".") ?? "none"} on PATH`);
  }
  return { outputs: { "node-version": `v${found.join(".")}` }, warnings: [] };
}

async function setupPython(call: ActionCall): Promise<ActionResult> {
  const found = versionOf("python3", call.env);
  const [major = 0, minor = 0] = found ?? [];
  if (!found || major !== 3 || minor < 10) {
    throw new StepFailure(`setup-python: Python 3.10+ wanted, found ${found?.join(".") ?? "none"} on PATH`);
  }
  const warnings =
    call.with["python-version"] && call.with["python-version"] !== found.join(".")
      ? [`python-version ${call.with["python-version"]} requested; this machine has ${found.join(".")}`]
      : [];
  return { outputs: { "python-version": found.join(".") }, warnings };
}

const none = async (): Promise<ActionResult> => ({ outputs: {}, warnings: [] });

interface ActionSpec {
  inputs: string[];
  run: (call: ActionCall) => Promise<ActionResult>;
  /** docker/*: recorded for assertions, never executed. */
  recorded?: boolean;
}

/** Every action the committed workflows may use, by its exact `uses:` reference. */
export const KNOWN_ACTIONS: Record<string, ActionSpec> = {
  "actions/checkout@v4": {
    inputs: ["fetch-depth", "persist-credentials", "lfs", "submodules"],
    run: none, // the workspace already is the checkout
  },
  "actions/setup-node@v4": {
    inputs: ["node-version", "node-version-file", "cache", "cache-dependency-path", "registry-url"],
    run: setupNode,
  },
  "actions/setup-python@v5": {
    inputs: ["python-version", "cache", "cache-dependency-path"],
    run: setupPython,
  },
  "actions/cache/restore@v4": {
    inputs: ["path", "key", "restore-keys", "fail-on-cache-miss", "lookup-only", "enableCrossOsArchive"],
    run: cacheRestore,
  },
  "actions/cache/save@v4": {
    inputs: ["path", "key", "enableCrossOsArchive", "upload-chunk-size"],
    run: cacheSave,
  },
  "actions/upload-artifact@v4": {
    inputs: [
      "name",
      "path",
      "if-no-files-found",
      "retention-days",
      "compression-level",
      "overwrite",
      "include-hidden-files",
    ],
    run: uploadArtifact,
  },
  "actions/download-artifact@v4": { inputs: ["name", "path"], run: downloadArtifact },
  "docker/setup-buildx-action@v3": {
    inputs: ["version", "driver", "driver-opts", "platforms", "install", "use", "buildkitd-flags"],
    run: none,
    recorded: true,
  },
  "docker/login-action@v3": {
    inputs: ["registry", "username", "password", "logout"],
    run: none,
    recorded: true,
  },
  "docker/build-push-action@v6": {
    inputs: [
      "context",
      "file",
      "push",
      "load",
      "tags",
      "labels",
      "annotations",
      "build-args",
      "cache-from",
      "cache-to",
      "platforms",
      "target",
      "provenance",
      "sbom",
      "pull",
      "no-cache",
    ],
    run: async () => ({ outputs: { imageid: "", digest: "", metadata: "{}" }, warnings: [] }),
    recorded: true,
  },
};

/** Looks an action up by its `uses:` and checks its `with:` keys; throws UnsupportedError otherwise. */
export function actionSpec(uses: string, inputs: readonly string[]): ActionSpec {
  const spec = KNOWN_ACTIONS[uses];
  if (!spec) {
    throw new UnsupportedError(
      `Unknown action '${uses}': the local runner simulates ${Object.keys(KNOWN_ACTIONS).join(", ")}`,
    );
  }
  const unknown = inputs.filter((i) => !spec.inputs.includes(i));
  if (unknown.length > 0) throw new UnsupportedError(`${uses} has no input(s) ${unknown.join(", ")}`);
  return spec;
}
