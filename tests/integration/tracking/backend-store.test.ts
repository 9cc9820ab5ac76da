import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";
import { testBackend } from "../../helpers/global-mlflow.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";
import { postgresBinDir } from "../../helpers/postgres.js";

const exec = promisify(execFile);
const client = testClient();
afterAll(() => client.close());

describe("the test server's backend store (WORKBENCH_TEST_BACKEND)", () => {
  it(`given the ${inject("mlflowBackend")} backend, when an experiment is created, then it lands in that store`, async () => {
    const name = uniqueName("backend-store");
    const id = await client.experiments.create(name);
    if (inject("mlflowBackend") === "postgres") {
      const psql = path.join(await postgresBinDir(), "psql");
      const sql = `SELECT name FROM experiments WHERE experiment_id = ${Number(id)}`;
      const { PGPASSWORD: _unset, ...env } = process.env;
      const { stdout } = await exec(psql, [inject("mlflowBackendUri"), "-At", "-c", sql], {
        env: { ...env, PGPASSWORD: inject("mlflowBackendPassword") },
      });
      expect(stdout.trim(), "the experiment row is in PostgreSQL").toBe(name);
      const refused = await exec(psql, [inject("mlflowBackendUri"), "-w", "-At", "-c", sql], { env }).then(
        () => "connected",
        (error: { stderr: string }) => error.stderr,
      );
      expect(refused, "the database needs the password the server was given as PGPASSWORD").toContain(
        "no password supplied",
      );
      expect(existsSync(path.join(inject("mlflowStoreDir"), "mlflow.db")), "and no SQLite file").toBe(false);
    } else {
      expect(existsSync(path.join(inject("mlflowStoreDir"), "mlflow.db")), "SQLite file in the store").toBe(
        true,
      );
      expect(inject("mlflowBackendUri")).toBe("");
    }
  });

  it("given an unknown WORKBENCH_TEST_BACKEND or a wrong WORKBENCH_PG_BIN, then the harness refuses it, saying why", async () => {
    await expect(postgresBinDir({ WORKBENCH_PG_BIN: "/nonexistent" })).rejects.toThrow(
      "WORKBENCH_PG_BIN=/nonexistent lacks initdb, postgres, pg_isready or psql.",
    );
    expect(() => testBackend({ WORKBENCH_TEST_BACKEND: "mysql" })).toThrow(
      "WORKBENCH_TEST_BACKEND=mysql: use sqlite (the default) or postgres.",
    );
    expect(testBackend({})).toBe("sqlite");
    expect(testBackend({ WORKBENCH_TEST_BACKEND: "postgres" })).toBe("postgres");
  });
});
