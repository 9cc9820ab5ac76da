import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { createLogger } from "../../../src/shared/logger.js";
import { ensureTrackingServer } from "../../../src/tracking/ensure-server.js";
import { cli } from "../../helpers/cli.js";
import { uniqueName } from "../../helpers/mlflow.js";

// Defect 7 of issue 9: MLFLOW_TRACKING_URI="" silently fell back to a local server. An empty value is
// treated as unset (GitHub Actions passes a missing secret as "", and ct.yml's zero-infrastructure mode
// relies on it), but never silently: a warning names the fallback.

const EMPTY = /MLFLOW_TRACKING_URI is set but empty/;

/** A logger whose lines are kept as parsed JSON. */
function capturingLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const destination = {
    write(chunk: string) {
      lines.push(JSON.parse(chunk));
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  return { logger: createLogger({ level: "info", destination }), lines };
}

describe("an empty MLFLOW_TRACKING_URI", () => {
  it("given MLFLOW_TRACKING_URI='' and a local server running, when a server is ensured, then it is used and a warning names it", async () => {
    const uri = inject("mlflowUri");
    const { logger, lines } = capturingLogger();
    const handle = await ensureTrackingServer({
      env: { MLFLOW_TRACKING_URI: "" },
      port: Number(new URL(uri).port),
      logger,
    });
    await handle.release();
    expect(handle).toMatchObject({ uri, origin: "running" });
    const warning = lines.find((l) => EMPTY.test(l.msg));
    expect(warning, `a warning among ${JSON.stringify(lines)}`).toBeDefined();
    expect(warning?.level, "logged at warn level").toBe(40);
    expect(warning?.msg, "the warning names the server used instead").toContain(uri);
  });

  it("given MLFLOW_TRACKING_URI='  ' (blank), then it counts as empty too", async () => {
    const uri = inject("mlflowUri");
    const { logger, lines } = capturingLogger();
    const handle = await ensureTrackingServer({
      env: { MLFLOW_TRACKING_URI: "  " },
      port: Number(new URL(uri).port),
      logger,
    });
    await handle.release();
    expect(handle.uri).toBe(uri);
    expect(lines.some((l) => EMPTY.test(l.msg))).toBe(true);
  });

  it("given MLFLOW_TRACKING_URI='' and no server (ct.yml's zero-infrastructure mode), then one is started and the warning names it", async () => {
    const { logger, lines } = capturingLogger();
    const storeDir = await mkdtemp(path.join(os.tmpdir(), "workbench-empty-uri-"));
    try {
      const handle = await ensureTrackingServer({
        env: { MLFLOW_TRACKING_URI: "" },
        port: 0,
        storeDir,
        logger,
      });
      await handle.release();
      expect(handle.origin, "a local server was started, as ct.yml expects").toBe("started");
      const warning = lines.find((l) => EMPTY.test(l.msg));
      expect(warning?.msg, "the warning names the server it started").toContain(handle.uri);
    } finally {
      await rm(storeDir, { recursive: true, force: true });
    }
  });

  it("given MLFLOW_TRACKING_URI unset, then the local server is used without a warning", async () => {
    const uri = inject("mlflowUri");
    const { logger, lines } = capturingLogger();
    const handle = await ensureTrackingServer({ env: {}, port: Number(new URL(uri).port), logger });
    await handle.release();
    expect(handle.uri).toBe(uri);
    expect(
      lines.filter((l) => l.level >= 40),
      "no warning when the variable is simply unset",
    ).toEqual([]);
  });

  it("given MLFLOW_TRACKING_URI='' for a command that starts a server (rollback), then stderr warns and names the fallback", async () => {
    const uri = inject("mlflowUri");
    const result = await cli("rollback.ts", ["--model", uniqueName("no-such-model")], {
      MLFLOW_TRACKING_URI: "",
      WORKBENCH_MLFLOW_PORT: new URL(uri).port,
    });
    expect(result.stderr, "the warning line").toMatch(EMPTY);
    expect(result.stderr, "it names the server used instead").toContain(uri);
  });

  it("given MLFLOW_TRACKING_URI='' for a command that only reads the registry (predict), then stderr warns instead of a confusing 'trackingUri' error", async () => {
    const result = await cli(
      "predict.ts",
      ["--model", "models:/m@champion", "--input", "missing.csv", "--output", "unused.csv"],
      {
        MLFLOW_TRACKING_URI: "",
      },
    );
    expect(result.stderr, "the warning line").toMatch(EMPTY);
    expect(result.stderr, "no error about a variable the user never set").not.toContain(
      "trackingUri is empty",
    );
  });
});
