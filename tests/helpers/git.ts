import { expect } from "vitest";
import { projectRoot } from "../../src/shared/project.js";
import { readGitState } from "../../src/tracking/source-tags.js";

/**
 * Checks a recorded git commit: a full SHA inside a git checkout, absent in a copy without `.git` (a source
 * archive such as GitHub's "Download ZIP"), where there is no commit to record.
 */
export function expectGitCommit(value: unknown, what: string): void {
  if (readGitState(projectRoot()).commit === undefined) {
    expect(value, `${what}: no .git here, so no commit is recorded`).toBeUndefined();
  } else {
    expect(value, `${what}: inside a git checkout`).toMatch(/^[0-9a-f]{40}$/);
  }
}
