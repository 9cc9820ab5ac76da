import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { dataCommand } from "../../../src/cli/data-command.js";
import { acquireDataset } from "../../../src/data/acquire.js";
import { cfpbQueryUrl, defaultProducts, effectiveQuery } from "../../../src/data/cfpb.js";
import { loadManifest, parseManifest } from "../../../src/data/manifest.js";
import { readValidatedCsv } from "../../../src/data/validate.js";
import { ConfigError } from "../../../src/shared/errors.js";
import { rejectionOf, thrownBy } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";

const API = "https://www.consumerfinance.gov/data-research/consumer-complaints/search/api/v1/";
const base = {
  name: "complaints",
  title: "Complaints",
  source: { url: API, format: "cfpb-api" },
  file: "complaints.csv",
  target: { column: "Product", classes: ["Mortgage", "Loans"], recode: { "Payday loan": "Loans" } },
  columns: { narrative: { type: "text" } },
};
const tmp = tempDir("cfpb-unit-");

describe("manifest: a cfpb-api source and target.recode", () => {
  it("given the committed complaints manifest, then it is a query source with the renamed products recoded", async () => {
    const m = await loadManifest("complaints");
    expect(m.source.format).toBe("cfpb-api");
    expect(m.target.classes).toEqual([
      "Credit reporting, repair, or other",
      "Debt collection",
      "Mortgage",
      "Consumer Loan",
    ]);
    expect(
      m.target.recode["Credit reporting, credit repair services, or other personal consumer reports"],
    ).toBe("Credit reporting, repair, or other");
    expect(Object.keys(m.columns)).toEqual(["Consumer complaint narrative"]);
  });

  it("given a cfpb-api source without a sha256, then the manifest is valid (a query's answer cannot be pinned)", () => {
    const m = parseManifest(base, "m.yaml");
    expect(m.sha256).toBeUndefined();
    expect(m.target.recode).toEqual({ "Payday loan": "Loans" });
  });

  it("given a query on a csv source, a recode to no class, or a class recoded, then MANIFEST_INVALID names each field", () => {
    const error = thrownBy(
      () =>
        parseManifest(
          {
            ...base,
            source: { url: "https://example.org/x.csv", query: { from: "2023-01-01" } },
            sha256: "0".repeat(64),
            target: {
              column: "Product",
              classes: ["Mortgage", "Loans"],
              recode: { "Payday loan": "Loan", Mortgage: "Loans" },
            },
          },
          "m.yaml",
        ),
      ConfigError,
    );
    expect(error.code).toBe("MANIFEST_INVALID");
    expect(error.message).toContain("source.query: only for source.format: cfpb-api (a query download)");
    expect(error.message).toContain(
      "target.recode.Payday loan: 'Loan' is not one of target.classes (Mortgage, Loans)",
    );
    expect(error.message).toContain(
      "target.recode.Mortgage: 'Mortgage' is a class itself; recode maps labels that are not classes (remove it from one of the two)",
    );
  });
});

describe("the CFPB query", () => {
  const manifest = parseManifest(
    { ...base, source: { ...base.source, query: { from: "2023-01-01", limit: 100 } } },
    "m.yaml",
  );

  it("given no products, then every class and recode key is asked for, and flags override the manifest's query", () => {
    expect(defaultProducts(manifest)).toEqual(["Mortgage", "Loans", "Payday loan"]);
    expect(effectiveQuery(manifest, { to: "2023-06-30" })).toEqual({
      from: "2023-01-01",
      to: "2023-06-30",
      limit: 100,
      products: ["Mortgage", "Loans", "Payday loan"],
    });
    expect(effectiveQuery(manifest, { products: ["Mortgage"], limit: 5 })).toMatchObject({
      products: ["Mortgage"],
      limit: 5,
    });
  });

  it("given a query, then the URL uses the API's parameter names, with one product parameter per product", () => {
    const url = new URL(
      cfpbQueryUrl(API, {
        from: "2023-01-01",
        to: "2023-06-30",
        products: ["Mortgage", "Payday loan, title loan, or personal loan"],
        limit: 10,
      }),
    );
    expect(url.origin + url.pathname).toBe(API);
    expect([...url.searchParams.entries()]).toEqual([
      ["format", "csv"],
      ["no_aggs", "true"],
      ["has_narrative", "true"],
      ["date_received_min", "2023-01-01"],
      ["date_received_max", "2023-06-30"],
      ["product", "Mortgage"],
      ["product", "Payday loan, title loan, or personal loan"],
    ]);
  });

  it("given --to before --from, a date that does not exist or a limit of 0, then DATA_QUERY_INVALID says which", () => {
    const order = thrownBy(() => effectiveQuery(manifest, { from: "2023-06-30", to: "2023-01-01" }));
    expect(order.code).toBe("DATA_QUERY_INVALID");
    expect(order.message).toBe("Invalid query for dataset 'complaints': to: must not be before from.");
    const date = thrownBy(() => effectiveQuery(manifest, { from: "2023-02-30" }));
    expect(date.message).toBe("Invalid query for dataset 'complaints': from: not a calendar date.");
    const format = thrownBy(() => effectiveQuery(manifest, { to: "30/06/2023" }));
    expect(format.message).toBe("Invalid query for dataset 'complaints': to: a date as YYYY-MM-DD.");
    const limit = thrownBy(() => effectiveQuery(manifest, { limit: 0 }));
    expect(limit.message).toBe(
      "Invalid query for dataset 'complaints': limit: Number must be greater than 0.",
    );
  });

  it("given a query for a fixed-file dataset, then DATA_QUERY_UNSUPPORTED before anything is read", async () => {
    const hpc = await loadManifest("hpc");
    const error = await rejectionOf(acquireDataset(hpc, { env: {}, query: { from: "2023-01-01" } }));
    expect(error.code).toBe("DATA_QUERY_UNSUPPORTED");
    expect(error.message).toBe(
      "Dataset 'hpc' is a fixed file (source.format: r-rda-tarball): a query (--from, --to, --product, --limit) applies only to query sources (source.format: cfpb-api).",
    );
  });
});

describe("unknown labels in training data", () => {
  it("given a label that is neither a class nor recoded, then its row is quarantined with the label named and target.recode suggested; recoded labels are counted", async () => {
    const file = await tmp.file(
      "labels.csv",
      'Product,narrative\nMortgage,late fee\nPayday loan,"rolled over, again"\nCredit card,double charge\n',
    );
    const { table, report } = await readValidatedCsv(
      file,
      {
        columns: { narrative: { type: "text", maxLength: 100, overLength: "truncate", nullable: false } },
        idColumns: [],
        target: { column: "Product", classes: ["Mortgage", "Loans"], recode: { "Payday loan": "Loans" } },
      },
      { maxBadFraction: 0.5, quarantineDir: path.join(tmp.path(), "q") },
    );
    expect(table.target).toEqual(["Mortgage", "Loans"]);
    expect(report.recoded).toEqual({ Product: 1 });
    expect(report.problemCounts).toEqual({ unknown_class: 1 });
    const error = await rejectionOf(
      readValidatedCsv(
        file,
        {
          columns: { narrative: { type: "text", maxLength: 100, overLength: "truncate", nullable: false } },
          idColumns: [],
          target: { column: "Product", classes: ["Mortgage", "Loans"], recode: { "Payday loan": "Loans" } },
        },
        { maxBadFraction: 0 },
      ),
    );
    expect(error.code).toBe("DATA_TOO_MANY_BAD_ROWS");
    expect(error.message).toContain(
      "column Product: Product: 'Credit card' is not a known class (Mortgage, Loans); add it to target.classes, or map it to a class with target.recode in the dataset manifest",
    );
  });
});

describe("npm run data with query flags", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it("given --from for a fixed-file dataset, then the command prints DATA_QUERY_UNSUPPORTED and exits 1", async () => {
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => {
      errors.push(String(line));
    });
    await dataCommand(["hpc", "--from", "2023-01-01"]);
    expect(process.exitCode).toBe(1);
    expect(errors[0]).toMatch(/^error \[DATA_QUERY_UNSUPPORTED\]: Dataset 'hpc' is a fixed file/);
  });

  it("given an unknown flag, then CLI_USAGE with the usage and exit code 2", async () => {
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => {
      errors.push(String(line));
    });
    await dataCommand(["complaints", "--since", "2023-01-01"]);
    expect(process.exitCode).toBe(2);
    expect(errors[0]).toContain("error [CLI_USAGE]: Unknown option '--since'");
    expect(errors[0]).toContain("--product      a CFPB product name");
  });
});
