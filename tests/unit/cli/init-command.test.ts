import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { initCommand } from "../../../src/cli/init-command.js";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { loadManifest } from "../../../src/data/manifest.js";
import { datasetNameFor } from "../../../src/pipelines/init.js";
import { tempDir } from "../../helpers/temp.js";
import { captured } from "./cli-output.js";

const tmp = tempDir("init-command-");

const CSV = [
  "id,Income,Home,Purpose,Status",
  ...Array.from({ length: 40 }, (_, i) => {
    const income = i % 9 === 0 ? "NA" : i % 11 === 0 ? "" : String(1000 + i * 50);
    return `${i + 1},${income},${i % 2 === 0 ? "own" : "rent"},${["car", "true", "1e3"][i % 3]},${i % 4 === 0 ? "default" : "paid"}`;
  }),
].join("\n");

describe("npm run init", () => {
  it("given a CSV and a target, then it writes a manifest and a config that load as training loads them", async () => {
    const csv = await tmp.file("My Loans (2024).csv", CSV);
    const dir = path.join(tmp.path(), "project");
    const { code, stdout, stderr } = await captured(() =>
      initCommand(["--csv", csv, "--target", "Status", "--dir", dir]),
    );
    expect(code, stderr).toBe(0);
    const manifestFile = path.join(dir, "data", "my-loans-2024.yaml");
    const configFile = path.join(dir, "configs", "my-loans-2024.yaml");
    expect(stdout).toContain(
      "target Status: paid (30), default (10); positive class 'default' ('default' reads as the event)",
    );
    expect(stdout).toContain(`wrote ${manifestFile} and ${configFile}`);

    const manifest = await loadManifest(manifestFile);
    expect(manifest.source.path).toBe(csv);
    expect(manifest.sha256, "not pinned by default").toBeUndefined();
    expect(manifest.idColumns).toEqual(["id"]);
    expect(manifest.target).toEqual({
      column: "Status",
      classes: ["paid", "default"],
      positive: "default",
      recode: {},
    });
    expect(manifest.columns.Income).toEqual({
      type: "number",
      integer: true,
      nullable: true,
      min: 1050,
      max: 2950,
    });
    expect(manifest.columns.Purpose, "values YAML would read as a boolean or a number stay strings").toEqual({
      type: "category",
      values: ["1e3", "car", "true"],
      recode: {},
      nullable: false,
    });
    const text = await readFile(manifestFile, "utf8");
    expect(text).toContain(
      "  positive: default   # inferred: 'default' reads as the event; change it if the other class is the one to detect",
    );

    const config = await loadTrainConfig(configFile);
    expect(config.dataset, "outside the project the config names the manifest file").toBe(manifestFile);
    expect(config.training.selectionMetric).toBe("roc_auc");
    expect(config.training.candidates.map((c) => c.kind)).toEqual(["logistic", "gbdt"]);
    expect(config.registry.modelName).toBe("my-loans-2024");
    expect(await readFile(configFile, "utf8")).toContain(
      "# Positive class: default (inferred: 'default' reads as the event;",
    );
  });

  it("given three classes, then the config selects on macro F1 and sets no threshold", async () => {
    const csv = await tmp.file(
      "jobs.csv",
      ["x,class", "1,VF", "2,F", "3,M", "4,F", "5,VF", "6,M"].join("\n"),
    );
    const dir = path.join(tmp.path(), "multi");
    const { code } = await captured(() => initCommand(["--csv", csv, "--target", "class", "--dir", dir]));
    expect(code).toBe(0);
    const raw = parse(await readFile(path.join(dir, "configs", "jobs.yaml"), "utf8"));
    expect(raw.training.selectionMetric).toBe("f1_macro");
    expect(raw.training.threshold).toBeUndefined();
  });

  it("given classes and categories holding commas, brackets or braces, then the written lists read back as the same values", async () => {
    const labels = ["Credit reporting, repair, or other", "Debt [collection]", "{Mortgage}"];
    const csv = await tmp.file(
      "tickets.csv",
      [
        "channel,product",
        ...Array.from({ length: 12 }, (_, i) => `"${["web, app", "phone"][i % 2]}","${labels[i % 3]}"`),
      ].join("\n"),
    );
    const dir = path.join(tmp.path(), "commas");
    const { code, stdout, stderr } = await captured(() =>
      initCommand(["--csv", csv, "--target", "product", "--dir", dir]),
    );
    expect(code, stderr).toBe(0);
    const manifest = await loadManifest(path.join(dir, "data", "tickets.yaml"));
    expect([...manifest.target.classes].sort()).toEqual([...labels].sort());
    const channel = manifest.columns.channel as { values?: string[] };
    expect(channel.values).toEqual(["phone", "web, app"]);
    // 12 rows, 6 distinct (the two columns cycle by 2 and 3): the 6 repeats are quarantined by training, so the
    // config allows them, and init said so.
    const config = parse(await readFile(path.join(dir, "configs", "tickets.yaml"), "utf8"));
    expect(config.data.maxBadFraction).toBe(0.51);
    expect(stdout).toContain(
      "warning: 6 rows repeat an earlier row field for field: training quarantines them as duplicates.",
    );
  });

  it("given existing files, then INIT_EXISTS (exit 1) unless --force", async () => {
    const csv = await tmp.file("twice.csv", "a,y\n1,x\n2,z\n");
    const dir = path.join(tmp.path(), "twice");
    expect((await captured(() => initCommand(["--csv", csv, "--target", "y", "--dir", dir]))).code).toBe(0);
    const again = await captured(() => initCommand(["--csv", csv, "--target", "y", "--dir", dir]));
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `error [INIT_EXISTS]: ${path.join(dir, "data", "twice.yaml")} and ${path.join(dir, "configs", "twice.yaml")} already exist: choose another --name, or pass --force to replace them.`,
    );
    const forced = await captured(() =>
      initCommand(["--csv", csv, "--target", "y", "--dir", dir, "--force"]),
    );
    expect(forced.code).toBe(0);
  });

  it("given a name that is not lower-case letters, digits and dashes, then INIT_NAME_INVALID with a suggestion", async () => {
    const csv = await tmp.file("n.csv", "a,y\n1,x\n2,z\n");
    const dir = path.join(tmp.path(), "names");
    const { code, stderr } = await captured(() =>
      initCommand(["--csv", csv, "--target", "y", "--name", "My Loans", "--dir", dir]),
    );
    expect(code).toBe(1);
    expect(stderr).toBe(
      "error [INIT_NAME_INVALID]: --name 'My Loans' must be lower-case letters, digits and dashes (e.g. 'my-loans').",
    );
    expect(existsSync(dir), "nothing written").toBe(false);
  });

  it("given a missing target column, then the inference error and exit 1; nothing written", async () => {
    const csv = await tmp.file("t.csv", "a,y\n1,x\n2,z\n");
    const dir = path.join(tmp.path(), "no-target");
    const { code, stderr } = await captured(() =>
      initCommand(["--csv", csv, "--target", "label", "--dir", dir]),
    );
    expect(code).toBe(1);
    expect(stderr).toBe(
      `error [DATA_MISSING_COLUMN]: ${csv}: there is no column 'label' to predict (--target); the header has 'a', 'y'.`,
    );
    expect(existsSync(dir)).toBe(false);
  });

  it("given no --target, then exit 2 with the usage", async () => {
    const { code, stderr } = await captured(() => initCommand(["--csv", "x.csv"]));
    expect(code).toBe(2);
    expect(stderr).toContain("error [CLI_USAGE]: --target is required.");
    expect(stderr).toContain("usage: npm run init -- --csv <file> --target <column>");
  });

  it.each([
    ["loans.csv", "loans"],
    ["/data/German Credit (v2).CSV", "german-credit-v2"],
    ["__x__.tsv", "x"],
    ["Ünïcode.csv", "unicode"],
  ])("datasetNameFor(%s) = %s", (file, name) => {
    expect(datasetNameFor(file)).toBe(name);
  });
});
