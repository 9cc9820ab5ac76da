import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

/** A temp folder removed after the file's tests; `file(name, text)` writes into it. */
export function tempDir(prefix = "wb-test-"): {
  path: () => string;
  file: (name: string, text: string | Buffer) => Promise<string>;
} {
  let dir: string | undefined;
  const ensure = async () => {
    dir ??= await mkdtemp(path.join(os.tmpdir(), prefix));
    return dir;
  };
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    path: () => {
      if (!dir) throw new Error("call file() first");
      return dir;
    },
    file: async (name, text) => {
      const target = path.join(await ensure(), name);
      await writeFile(target, text);
      return target;
    },
  };
}
