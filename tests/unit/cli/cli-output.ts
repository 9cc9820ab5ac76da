import { vi } from "vitest";

/** Runs a CLI command in-process and returns what it printed and the exit code it set (then restores both). */
export async function captured(
  run: () => Promise<void>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    out.push(args.map(String).join(" "));
  });
  const error = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    err.push(args.map(String).join(" "));
  });
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await run();
    return { code: Number(process.exitCode ?? 0), stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
    process.exitCode = before;
  }
}
