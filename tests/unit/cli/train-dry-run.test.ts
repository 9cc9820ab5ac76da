import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { trainCommand } from "../../../src/cli/train-command.js";
import { tempDir } from "../../helpers/temp.js";
import { captured } from "./cli-output.js";

const tmp = tempDir("train-dry-run-");
let n = 0;

const MANIFEST = `name: loans
title: Loans
source: { path: loans.csv }
target: { column: risk, classes: [good, bad] }
columns:
  income: { type: number, nullable: true }
  home: { type: category }
`;
const CSV = "income,home,risk\n10,own,good\n,rent,bad\n";

/** A manifest, its CSV and a config naming the manifest by path, in a fresh folder; returns the config file. */
async function project(manifest: string, csv: string, features = ""): Promise<string> {
  const dir = `p${++n}`;
  await tmp.file(`${dir}-anchor`, "");
  const root = path.join(tmp.path(), dir);
  await mkdir(root);
  await writeFile(path.join(root, "loans.csv"), csv);
  await writeFile(path.join(root, "loans.yaml"), manifest);
  const config = path.join(root, "train.yaml");
  await writeFile(
    config,
    `name: loans\ndataset: ${path.join(root, "loans.yaml")}\nexperiment: loans\n${features}training: { candidates: [{ kind: logistic }] }\nregistry: { modelName: loans }\n`,
  );
  return config;
}

const dryRun = (config: string) => captured(() => trainCommand(["--config", config, "--dry-run"]));

describe("npm run train -- --dry-run checks the dataset too", () => {
  it("given a valid manifest and a matching file, then exit 0 with the dataset, the data file and the plan", async () => {
    const config = await project(MANIFEST, CSV);
    const { code, stdout, stderr } = await dryRun(config);
    expect(code, stderr).toBe(0);
    const root = path.dirname(config);
    expect(stdout).toContain(
      `dataset loans: manifest ${path.join(root, "loans.yaml")} is valid (2 columns, target risk: good, bad)`,
    );
    expect(stdout).toMatch(
      new RegExp(
        `data: ${path.join(root, "loans.csv")} \\(local, sha256 [0-9a-f]{12}…\\): the header has the 3 declared columns`,
      ),
    );
    expect(stdout).toContain("register as loans with alias @challenger");
  });

  it("given an invalid manifest, then exit 1 with MANIFEST_INVALID and the allowed keys", async () => {
    const config = await project(MANIFEST.replace("nullable: true", "optional: true"), CSV);
    const { code, stdout, stderr } = await dryRun(config);
    expect(code).toBe(1);
    expect(stdout, "no plan printed").toBe("");
    expect(stderr).toBe(
      `error [MANIFEST_INVALID]: Invalid dataset manifest ${path.join(path.dirname(config), "loans.yaml")}:\n  - columns.income: unrecognized key 'optional'; allowed keys: type, description, min, max, integer, nullable (missing values: \`nullable: true\`)`,
    );
  });

  it("given a file whose header lacks a declared column, then exit 1 with DATA_MISSING_COLUMN", async () => {
    const config = await project(MANIFEST, "income,risk\n10,good\n");
    const { code, stderr } = await dryRun(config);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `error [DATA_MISSING_COLUMN]: ${path.join(path.dirname(config), "loans.csv")}: missing column 'home' (header has 2 columns: income, risk).`,
    );
  });

  it("given a file with an undeclared column, then exit 1 with DATA_EXTRA_COLUMN", async () => {
    const config = await project(MANIFEST, "income,home,age,risk\n10,own,30,good\n");
    const { code, stderr } = await dryRun(config);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `error [DATA_EXTRA_COLUMN]: ${path.join(path.dirname(config), "loans.csv")}: unexpected column 'age'; declare it in the dataset manifest or remove it.`,
    );
  });

  it("given a local file that changed since its sha256 was recorded, then exit 1 with DATA_CHECKSUM_MISMATCH", async () => {
    const config = await project(`${MANIFEST}sha256: ${"a".repeat(64)}\n`, CSV);
    const { code, stderr } = await dryRun(config);
    expect(code).toBe(1);
    expect(stderr).toContain("error [DATA_CHECKSUM_MISMATCH]: ");
    expect(stderr).toContain("Your file was not touched.");
  });

  it("given a config naming a column the manifest does not have, then exit 1 with CONFIG_INVALID", async () => {
    const config = await project(MANIFEST, CSV, "features: { drop: [salary] }\n");
    const { code, stderr } = await dryRun(config);
    expect(code).toBe(1);
    expect(stderr).toBe(
      "error [CONFIG_INVALID]: Invalid features config:\n  - features.drop.0: unknown column 'salary'",
    );
  });

  it("given a config naming a manifest that does not exist, then exit 1 with DATASET_UNKNOWN", async () => {
    const config = await project(MANIFEST, CSV);
    await writeFile(
      config,
      "name: x\ndataset: no-such-dataset\nexperiment: x\ntraining: { candidates: [{ kind: logistic }] }\nregistry: { modelName: x }\n",
    );
    const { code, stderr } = await dryRun(config);
    expect(code).toBe(1);
    expect(stderr).toContain("error [DATASET_UNKNOWN]: No dataset manifest 'no-such-dataset'");
  });
});

describe("npm run train -- --manifest-schema", () => {
  it("prints the dataset manifest's JSON Schema", async () => {
    const { code, stdout } = await captured(() => trainCommand(["--manifest-schema"]));
    expect(code).toBe(0);
    const schema = JSON.parse(stdout);
    expect(Object.keys(schema.definitions.DatasetManifest.properties)).toContain("columns");
  });
});
