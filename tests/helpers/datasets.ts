import { existsSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../../src/shared/project.js";

/**
 * The datasets mirror tests read from: WORKBENCH_DATA_MIRROR, else ../shared/datasets beside the project.
 * Without either, acquisition downloads from the official sources (the user's case).
 */
export function datasetMirror(): string | undefined {
  const fromEnv = process.env.WORKBENCH_DATA_MIRROR;
  if (fromEnv) return fromEnv;
  const sibling = path.resolve(projectRoot(), "..", "shared", "datasets");
  return existsSync(sibling) ? sibling : undefined;
}
