import net from "node:net";
import { afterAll, describe, expect, inject, it } from "vitest";
import { WorkbenchError } from "../../../src/shared/errors.js";
import { ensureTrackingServer } from "../../../src/tracking/ensure-server.js";
import { freePort, isMlflowHealthy, startLocalServer } from "../../../src/tracking/local-server.js";

const blockers: net.Server[] = [];
afterAll(() => {
  for (const b of blockers) b.close();
});

describe("local MLflow server management", () => {
  it("the harness's throwaway server answers /health", async () => {
    expect(await isMlflowHealthy(inject("mlflowUri"))).toBe(true);
  });

  it("given MLFLOW_TRACKING_URI, then ensureTrackingServer uses it and starts nothing", async () => {
    const handle = await ensureTrackingServer({ env: { MLFLOW_TRACKING_URI: `${inject("mlflowUri")}/` } });
    expect(handle).toMatchObject({ uri: inject("mlflowUri"), origin: "env" });
    await handle.release();
    expect(await isMlflowHealthy(inject("mlflowUri")), "release() leaves a server it did not start").toBe(
      true,
    );
  });

  it("given a port already taken, then startLocalServer fails with PORT_IN_USE naming the port", async () => {
    const port = await freePort();
    const blocker = net.createServer();
    blockers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
    const error = await startLocalServer({ port, storeDir: inject("mlflowStoreDir") }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkbenchError);
    expect((error as WorkbenchError).code).toBe("PORT_IN_USE");
    expect((error as WorkbenchError).message).toContain(`Port ${port} on 127.0.0.1 is already in use`);
  });
});
