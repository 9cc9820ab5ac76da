import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import type { StringMap } from "./types.js";

/** MLflow's standard tag names (mlflow/utils/mlflow_tags.py). */
export const MLFLOW_TAGS = {
  runName: "mlflow.runName",
  sourceName: "mlflow.source.name",
  sourceType: "mlflow.source.type",
  gitCommit: "mlflow.source.git.commit",
  gitBranch: "mlflow.source.git.branch",
  gitRepoUrl: "mlflow.source.git.repoURL",
  user: "mlflow.user",
  parentRunId: "mlflow.parentRunId",
  note: "mlflow.note.content",
} as const;

export type SourceType = "LOCAL" | "NOTEBOOK" | "JOB" | "PROJECT" | "UNKNOWN";

function git(cwd: string, ...args: string[]): string | undefined {
  try {
    const out = execFileSync("git", args, { cwd, stdio: ["ignore", "pipe", "ignore"], timeout: 5000 });
    const text = out.toString("utf8").trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}

export interface GitState {
  commit: string | undefined;
  branch: string | undefined;
  repoUrl: string | undefined;
  /** True when tracked files differ from the commit. */
  dirty: boolean | undefined;
}

/** Reads the git state of `cwd` (all undefined outside a repository or without git). */
export function readGitState(cwd: string = process.cwd()): GitState {
  const commit = git(cwd, "rev-parse", "HEAD");
  if (commit === undefined)
    return { commit: undefined, branch: undefined, repoUrl: undefined, dirty: undefined };
  const status = git(cwd, "status", "--porcelain", "--untracked-files=no");
  return {
    commit,
    branch: git(cwd, "rev-parse", "--abbrev-ref", "HEAD"),
    repoUrl: git(cwd, "config", "--get", "remote.origin.url"),
    dirty: status !== undefined,
  };
}

export interface SourceTagOptions {
  runName?: string;
  /** Defaults to the entry script relative to cwd. */
  sourceName?: string;
  /** Defaults to JOB under CI (GITHUB_ACTIONS / CI set), else LOCAL. */
  sourceType?: SourceType;
  parentRunId?: string;
  user?: string;
  cwd?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/** The standard tags MLflow's own client records on every run. */
export function standardRunTags(options: SourceTagOptions = {}): StringMap {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const entry = process.argv[1];
  const sourceName =
    options.sourceName ?? (entry === undefined ? "node" : path.relative(cwd, entry) || entry);
  const sourceType =
    options.sourceType ?? (env.GITHUB_ACTIONS === "true" || env.CI === "true" ? "JOB" : "LOCAL");
  let user = options.user ?? env.MLFLOW_TRACKING_USERNAME ?? env.USER;
  if (user === undefined) {
    try {
      user = os.userInfo().username;
    } catch {
      user = "unknown";
    }
  }
  const gitState = readGitState(cwd);
  const tags: StringMap = {
    [MLFLOW_TAGS.sourceName]: sourceName,
    [MLFLOW_TAGS.sourceType]: sourceType,
    [MLFLOW_TAGS.user]: user,
  };
  if (options.runName !== undefined) tags[MLFLOW_TAGS.runName] = options.runName;
  if (gitState.commit !== undefined) tags[MLFLOW_TAGS.gitCommit] = gitState.commit;
  if (gitState.branch !== undefined) tags[MLFLOW_TAGS.gitBranch] = gitState.branch;
  if (gitState.repoUrl !== undefined) tags[MLFLOW_TAGS.gitRepoUrl] = gitState.repoUrl;
  if (options.parentRunId !== undefined) tags[MLFLOW_TAGS.parentRunId] = options.parentRunId;
  return tags;
}
