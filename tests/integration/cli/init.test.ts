import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { createRng } from "../../../src/shared/random.js";
import { cli } from "../../helpers/cli.js";
import { uniqueName } from "../../helpers/mlflow.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("init-cli-");

/**
 * What a new user brings: 400 loans with an id, missing incomes written NA and missing ages left empty, string
 * categories (one with gaps), and a good/bad label that depends on them.
 */
function loansCsv(): string {
  const rng = createRng(7);
  const lines = ["loan_ref,income,age,housing,purpose,savings,status"];
  for (let i = 0; i < 400; i++) {
    const income = 20_000 + Math.round(rng() * 80_000);
    const age = 18 + Math.floor(rng() * 60);
    const housing = ["own", "rent", "free"][Math.floor(rng() * 3)]!;
    const purpose = ["car", "education", "business", "radio/TV"][Math.floor(rng() * 4)]!;
    const savings = rng() < 0.15 ? "" : ["little", "moderate", "rich"][Math.floor(rng() * 3)]!;
    const risk =
      (100_000 - income) / 80_000 + (housing === "rent" ? 0.4 : 0) + (age < 25 ? 0.3 : 0) + rng() * 0.6;
    lines.push(
      [
        `L-${(7919 * i) % 100_003}`,
        rng() < 0.08 ? "NA" : String(income),
        rng() < 0.05 ? "" : String(age),
        housing,
        purpose,
        savings,
        risk > 1.1 ? "bad" : "good",
      ].join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}

describe("bring your own data: npm run init → npm run train", () => {
  it("given a CSV with NA and empty cells, string categories and a good/bad label, then init writes both files and train registers a model, with no YAML written by hand", async () => {
    const csv = await tmp.file("loans.csv", loansCsv());
    const dir = path.join(tmp.path(), "project");
    const name = uniqueName("loans");

    const init = await cli("init.ts", ["--csv", csv, "--target", "status", "--name", name, "--dir", dir]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain("positive class 'bad' ('bad' reads as the event)");
    expect(init.stdout).toMatch(/loan_ref\s+id \(a different value on every row; not a feature\)/);
    expect(init.stdout).toMatch(/income\s+integer \d+\.\.\d+, \d+ missing/);
    expect(init.stdout).toMatch(/savings\s+category, 3 values, \d+ missing/);
    const config = path.join(dir, "configs", `${name}.yaml`);

    const dryRun = await cli("train.ts", ["--config", config, "--dry-run"]);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain(`data: ${csv} (local, sha256 `);

    const train = await cli("train.ts", ["--config", config, "--workers", "1"], {
      MLFLOW_TRACKING_URI: inject("mlflowUri"),
    });
    expect(train.code, train.stderr).toBe(0);
    expect(train.stdout, "no row lost to the missing values").toContain(
      "data: 400 rows read, 0 quarantined (0.00%)",
    );
    expect(train.stdout).toMatch(/best: (logistic|gbdt)-1 {2}validation roc_auc 0\.\d{4}/);
    expect(train.stdout).toContain(`registered ${name} version 1 as @challenger`);

    const response = await fetch(
      `${inject("mlflowUri")}/api/2.0/mlflow/registered-models/alias?name=${name}&alias=challenger`,
    );
    expect(response.status).toBe(200);
    const { model_version: version } = (await response.json()) as { model_version: { version: string } };
    expect(version.version).toBe("1");
  });
});
