import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "./errors.js";

/** The repository root: two levels above this file (src/shared/). */
export function projectRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
}

/** The project-local Python venv, created by `npm run setup` (or on first need by npm start / npm test). */
export function venvDir(root: string = projectRoot()): string {
  return process.env.WORKBENCH_VENV ?? path.join(root, ".venv");
}

/** Absolute path of an executable inside the venv; throws a ConfigError telling how to create it. */
export function venvExecutable(name: string, root: string = projectRoot()): string {
  const dir = venvDir(root);
  const file =
    process.platform === "win32" ? path.join(dir, "Scripts", `${name}.exe`) : path.join(dir, "bin", name);
  if (!existsSync(file)) {
    throw new ConfigError(
      `'${name}' is not installed in the project venv (${dir}). Run \`npm run setup\` to create it (it needs python3 >= 3.10).`,
      { code: "PYTHON_ENV_MISSING", details: { executable: file } },
    );
  }
  return file;
}
