// processGroupCpuSeconds (bench/lib.ts): what bench:parallel reads of the tracking server's CPU time.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { processGroupCpuSeconds } from "../../../bench/lib.js";

describe.runIf(existsSync("/proc/self/stat"))("processGroupCpuSeconds", () => {
  it("sums the CPU time of a detached process group's processes; a group with no process counts 0", async () => {
    // A group leader that spins until it has used 0.5 s of CPU, says so, then idles until killed.
    const spin =
      "const used = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };" +
      "while (used() < 0.5); process.stdout.write('spun\\n'); setInterval(() => {}, 1000);";
    const child = spawn(process.execPath, ["-e", spin], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`the spinning child exited (${code})`)));
      });
      const seconds = await processGroupCpuSeconds(child.pid!);
      // /proc counts in clock ticks (10 ms at 100 Hz).
      expect(seconds).toBeGreaterThanOrEqual(0.45);
      expect(seconds).toBeLessThan(5);
    } finally {
      process.kill(-child.pid!, "SIGKILL");
    }
    expect(await processGroupCpuSeconds(2 ** 22 + 12345)).toBe(0);
  });
});
