import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireDataset } from "../../../src/data/acquire.js";
import { defaultProducts, provenanceFile } from "../../../src/data/cfpb.js";
import { type DatasetManifest, loadManifest } from "../../../src/data/manifest.js";
import { applyRareClassRule } from "../../../src/data/rare-classes.js";
import { readValidatedCsv } from "../../../src/data/validate.js";
import { sha256 } from "../../../src/shared/hash.js";
import { freePort } from "../../../src/tracking/local-server.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { rejectionOf } from "../../helpers/expect-error.js";

// The CFPB export's header (ccdb5-api complaint_search/defaults.py CSV_ORDERED_HEADERS), in its order.
const HEADER = [
  "Date received",
  "Product",
  "Sub-product",
  "Issue",
  "Sub-issue",
  "Consumer complaint narrative",
  "Company public response",
  "Company",
  "State",
  "ZIP code",
  "Tags",
  "Submitted via",
  "Date sent to company",
  "Company response to consumer",
  "Timely response?",
  "Complaint ID",
];

interface Complaint {
  date: string;
  product: string;
  narrative: string;
  id: number;
}

const NARRATIVE_1 =
  'I disputed the account with XXXX on XX/XX/2023, they said it was "verified", but it is not mine.\nPlease remove it, the balance of {$1200.00} is wrong.';
const COMPLAINTS: Complaint[] = [
  {
    date: "2023-02-01",
    product: "Credit reporting or other personal consumer reports",
    narrative: NARRATIVE_1,
    id: 1,
  },
  {
    date: "2023-03-10",
    product: "Debt collection",
    narrative: "A collector calls me every day at work.",
    id: 2,
  },
  { date: "2023-04-22", product: "Mortgage", narrative: "My escrow payment went up, with no notice.", id: 3 },
  {
    date: "2023-05-05",
    product: "Vehicle loan or lease",
    narrative: "The dealer added GAP insurance I declined.",
    id: 4,
  },
  // Without a narrative (the download skips it and counts it).
  { date: "2023-05-06", product: "Debt collection", narrative: "   ", id: 5 },
  // The same product and narrative as complaint 2 (a template letter): a duplicate of the written columns.
  {
    date: "2023-05-07",
    product: "Debt collection",
    narrative: "A collector calls me every day at work.",
    id: 6,
  },
  // A product the manifest does not map: only sent when asked for.
  { date: "2023-06-01", product: "Credit card", narrative: "They charged a late fee twice.", id: 7 },
  // Outside 2023-01-01..2023-06-30.
  { date: "2022-12-31", product: "Mortgage", narrative: "The servicer lost my payment.", id: 8 },
];

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function exportRow(c: Complaint): string {
  const byColumn: Record<string, string> = {
    "Date received": `${c.date}T12:00:00-05:00`,
    Product: c.product,
    "Sub-product": "",
    Issue: "Some issue",
    "Consumer complaint narrative": c.narrative,
    Company: "ACME, INC.",
    State: "CA",
    "ZIP code": "90XXX",
    "Submitted via": "Web",
    "Date sent to company": `${c.date}T12:00:00-05:00`,
    "Company response to consumer": "Closed with explanation",
    "Timely response?": "Yes",
    "Complaint ID": String(c.id),
  };
  return `${HEADER.map((h) => csvField(byColumn[h] ?? "")).join(",")}\r\n`;
}

let dir: string;
let server: http.Server;
let base: string;
let manifest: DatasetManifest;
const requests: URL[] = [];

/** A stand-in for the complaint search API: filters by product and received date like the real one. */
function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://localhost");
  requests.push(url);
  const mode = url.pathname.split("/")[1];
  if (mode === "http-400") {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        date_received_min: ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
      }),
    );
    return;
  }
  if (mode === "http-503") {
    res.writeHead(503, { "content-type": "text/html" }).end("<html><body>Service Unavailable</body></html>");
    return;
  }
  if (mode === "http-429") {
    res.writeHead(429, { "content-type": "application/json", "retry-after": "30" });
    res.end(JSON.stringify({ detail: "Request was throttled. Expected available in 30 seconds." }));
    return;
  }
  if (mode === "json") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ hits: { total: { value: 1 }, hits: [] } }));
    return;
  }
  if (mode === "html") {
    res
      .writeHead(200, { "content-type": "text/html" })
      .end("<!DOCTYPE html><html><title>Maintenance</title></html>");
    return;
  }
  res.writeHead(200, { "content-type": "text/csv" });
  if (mode === "no-narrative-column") {
    res.end(`Date received,Product,Issue,Complaint ID\r\n2023-02-01,Mortgage,Escrow,1\r\n`);
    return;
  }
  if (mode === "endless") {
    // Never ends on its own: the download must stop at its limit and close the connection.
    res.write(`${HEADER.join(",")}\r\n`);
    let id = 0;
    const pump = () => {
      while (!res.destroyed) {
        id++;
        const row = {
          date: "2023-01-02",
          product: "Mortgage",
          narrative: `Complaint number ${id} about escrow.`,
          id,
        };
        if (!res.write(exportRow(row))) {
          res.once("drain", pump);
          return;
        }
      }
    };
    pump();
    return;
  }
  const products = url.searchParams.getAll("product");
  const min = url.searchParams.get("date_received_min") ?? "0000-00-00";
  const max = url.searchParams.get("date_received_max") ?? "9999-99-99";
  const rows = COMPLAINTS.filter(
    (c) => (products.length === 0 || products.includes(c.product)) && c.date >= min && c.date <= max,
  );
  res.end(`${HEADER.join(",")}\r\n${rows.map(exportRow).join("")}`);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "cfpb-"));
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  manifest = await loadManifest("complaints");
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await rm(dir, { recursive: true, force: true });
});

const H1 = { from: "2023-01-01", to: "2023-06-30" };

describe("the CFPB complaint API download (a local stand-in server)", () => {
  it("given a date range, then the query asks for CSV with narratives and every known label, and the file keeps exactly the manifest's columns", async () => {
    const dataDir = path.join(dir, "cache-ok");
    requests.length = 0;
    const file = await acquireDataset(manifest, {
      dataDir,
      env: {},
      sourceUrl: `${base}/ok/api/v1/`,
      query: H1,
    });

    const sent = requests[0]!.searchParams;
    expect(sent.get("format"), "a CSV export").toBe("csv");
    expect(sent.get("has_narrative")).toBe("true");
    expect(sent.get("no_aggs")).toBe("true");
    expect(sent.get("date_received_min")).toBe("2023-01-01");
    expect(sent.get("date_received_max")).toBe("2023-06-30");
    expect(sent.getAll("product"), "the classes and the recode keys").toEqual(defaultProducts(manifest));
    expect(sent.getAll("product")).toContain(
      "Credit reporting, credit repair services, or other personal consumer reports",
    );

    const expected = [
      "Product,Consumer complaint narrative",
      `Credit reporting or other personal consumer reports,${csvField(NARRATIVE_1)}`,
      "Debt collection,A collector calls me every day at work.",
      'Mortgage,"My escrow payment went up, with no notice."',
      "Vehicle loan or lease,The dealer added GAP insurance I declined.",
      "",
    ].join("\n");
    const csv = path.join(dataDir, "complaints", "complaints_sample.csv");
    expect(await readFile(csv, "utf8")).toBe(expected);
    expect(file).toMatchObject({ path: csv, origin: "download", sha256: sha256(expected) });
    expect(file.source, "the run logs the request").toBe(requests[0]!.href.replace("http://localhost", base));
    expect(file.provenance).toMatchObject({
      rowsRead: 6,
      rowsWritten: 4,
      skipped: { noText: 1, duplicates: 1 },
      stoppedAtLimit: false,
      labels: {
        "Credit reporting or other personal consumer reports": 1,
        "Debt collection": 1,
        Mortgage: 1,
        "Vehicle loan or lease": 1,
      },
      columns: ["Product", "Consumer complaint narrative"],
      sha256: sha256(expected),
      query: { from: "2023-01-01", to: "2023-06-30", limit: 50_000 },
    });
    const recorded = JSON.parse(await readFile(provenanceFile(csv), "utf8"));
    expect(recorded.sha256, "the provenance is kept beside the file").toBe(sha256(expected));
    expect(await readdir(path.join(dataDir, "complaints")), "no partial file left").toEqual([
      "complaints_sample.csv",
      "complaints_sample.csv.source.json",
    ]);

    // The renamed products become the manifest's classes (target.recode) when the file is validated.
    const { table, report } = await readValidatedCsv(
      csv,
      {
        columns: manifest.columns,
        idColumns: manifest.idColumns,
        target: { column: "Product", classes: manifest.target.classes, recode: manifest.target.recode },
      },
      { maxBadFraction: 0 },
    );
    expect(table.target).toEqual([
      "Credit reporting, repair, or other",
      "Debt collection",
      "Mortgage",
      "Consumer Loan",
    ]);
    expect(report.recoded, "two labels were renamed").toEqual({ Product: 2 });
    expect(table.text["Consumer complaint narrative"]![0]).toBe(NARRATIVE_1);

    // Read again without a query: the cache, checked against the sha256 it recorded.
    const again = await acquireDataset(manifest, { dataDir, env: {} });
    expect(again).toMatchObject({
      origin: "cache",
      sha256: sha256(expected),
      provenance: { rowsWritten: 4 },
    });

    await writeFile(csv, `${expected}Mortgage,edited by hand\n`);
    const changed = await rejectionOf(acquireDataset(manifest, { dataDir, env: {} }));
    expect(changed.code).toBe("DATA_CHECKSUM_MISMATCH");
    expect(changed.message).toBe(
      `${csv}: sha256 ${sha256(`${expected}Mortgage,edited by hand\n`)} does not match the sha256 recorded when it was downloaded on ${recorded.downloadedAt} (${provenanceFile(csv)}) (${sha256(expected)}). Delete ${csv} and run \`npm run data -- complaints\` again.`,
    );
  });

  it("given a product the manifest does not map, then it is downloaded and training quarantines its rows with a message naming the label and target.recode", async () => {
    const dataDir = path.join(dir, "cache-card");
    const file = await acquireDataset(manifest, {
      dataDir,
      env: {},
      sourceUrl: `${base}/ok/api/v1/`,
      query: { ...H1, products: ["Credit card", "Mortgage"] },
    });
    expect(file.provenance?.labels).toEqual({ Mortgage: 1, "Credit card": 1 });
    const { report } = await readValidatedCsv(
      file.path,
      {
        columns: manifest.columns,
        idColumns: [],
        target: { column: "Product", classes: manifest.target.classes, recode: manifest.target.recode },
      },
      { maxBadFraction: 1, quarantineDir: path.join(dir, "quarantine") },
    );
    expect(report.problemCounts).toEqual({ unknown_class: 1 });
    const quarantined = JSON.parse((await readFile(report.quarantineFile!, "utf8")).trim());
    expect(quarantined.reasons).toEqual([
      "Product: 'Credit card' is not a known class (Credit reporting, repair, or other, Debt collection, Mortgage, Consumer Loan); add it to target.classes, or map it to a class with target.recode in the dataset manifest",
    ]);
  });

  it("given an answer that never ends, then the download stops at the limit and closes the connection", async () => {
    const file = await acquireDataset(manifest, {
      dataDir: path.join(dir, "cache-endless"),
      env: {},
      sourceUrl: `${base}/endless/api/v1/`,
      query: { limit: 25 },
    });
    expect(file.provenance).toMatchObject({
      rowsRead: 25,
      rowsWritten: 25,
      stoppedAtLimit: true,
      labels: { Mortgage: 25 },
    });
    const lines = (await readFile(file.path, "utf8")).trimEnd().split("\n");
    expect(lines.length, "the header and 25 rows").toBe(26);
    expect(lines[25]).toBe("Mortgage,Complaint number 25 about escrow.");
  });
});

describe("the CFPB complaint API download: errors", () => {
  const attempt = (mode: string, cache: string) =>
    acquireDataset(manifest, {
      dataDir: path.join(dir, cache),
      env: {},
      sourceUrl: `${base}/${mode}/api/v1/`,
      query: H1,
    });
  const nothingWritten = async (cache: string) =>
    expect(
      existsSync(path.join(dir, cache, "complaints"))
        ? await readdir(path.join(dir, cache, "complaints"))
        : [],
      "no file, no partial file",
    ).toEqual([]);

  it("given HTTP 400, then DATA_SOURCE_HTTP_ERROR quotes the API's answer and says what to check", async () => {
    const error = await rejectionOf(attempt("http-400", "e-400"));
    expect(error.code).toBe("DATA_SOURCE_HTTP_ERROR");
    expect(error.details.status).toBe(400);
    expect(error.message).toMatch(
      /^The CFPB complaint API answered HTTP 400 to http:\/\/127\.0\.0\.1:\d+\/http-400\/api\/v1\/\?format=csv&.*: \{"date_received_min":\["Date has wrong format\. Use one of these formats instead: YYYY-MM-DD\."\]\}\. The API refused the query: check --from\/--to \(YYYY-MM-DD\) and the --product names \(the CFPB's exact product names\)\.$/,
    );
    await nothingWritten("e-400");
  });

  it("given HTTP 429, then the message gives the API's export rate and its Retry-After", async () => {
    const error = await rejectionOf(attempt("http-429", "e-429"));
    expect(error.code).toBe("DATA_SOURCE_HTTP_ERROR");
    expect(error.message).toContain(
      "The API allows anonymous users 2 CSV exports a minute (Retry-After: 30 s): wait and run the command again.",
    );
  });

  it("given HTTP 503, then DATA_SOURCE_HTTP_ERROR says to retry later or use a mirror", async () => {
    const error = await rejectionOf(attempt("http-503", "e-503"));
    expect(error.code).toBe("DATA_SOURCE_HTTP_ERROR");
    expect(error.details.status).toBe(503);
    expect(error.message).toContain("HTTP 503 to http://127.0.0.1:");
    expect(error.message).toMatch(
      /: <html><body>Service Unavailable<\/body><\/html>\. The CFPB service failed; try again later, or use a mirror \(--mirror DIR or WORKBENCH_DATA_MIRROR\)\.$/,
    );
    await nothingWritten("e-503");
  });

  it("given an unreachable host, then DATA_DOWNLOAD_FAILED names the host and the mirror", async () => {
    const port = await freePort();
    const error = await rejectionOf(
      acquireDataset(manifest, {
        dataDir: path.join(dir, "e-down"),
        env: {},
        sourceUrl: `http://127.0.0.1:${port}/api/v1/`,
        query: H1,
      }),
    );
    expect(error.code).toBe("DATA_DOWNLOAD_FAILED");
    expect(error.message).toBe(
      `Could not reach the CFPB complaint API at http://127.0.0.1:${port}: fetch failed. Offline? Point --mirror (or WORKBENCH_DATA_MIRROR) at a folder holding complaints/complaints_sample.csv.`,
    );
    await nothingWritten("e-down");
  });

  it("given a CSV without the narrative column, then DATA_SOURCE_BAD_RESPONSE names the missing column and the ones received", async () => {
    const error = await rejectionOf(attempt("no-narrative-column", "e-cols"));
    expect(error.code).toBe("DATA_SOURCE_BAD_RESPONSE");
    expect(error.message).toMatch(
      /has no column 'Consumer complaint narrative': it looks like CSV \(4 columns: Date received, Product, Issue, Complaint ID\)\. The manifest data\/complaints\.yaml declares 'Product', 'Consumer complaint narrative', which must be columns of the CFPB export\.$/,
    );
    expect(error.details.missing).toEqual(["Consumer complaint narrative"]);
    await nothingWritten("e-cols");
  });

  it("given JSON or an HTML page instead of CSV, then DATA_SOURCE_BAD_RESPONSE says what came back", async () => {
    const json = await rejectionOf(attempt("json", "e-json"));
    expect(json.code).toBe("DATA_SOURCE_BAD_RESPONSE");
    expect(json.message).toContain("is not the expected CSV: it looks like JSON (Invalid Opening Quote");
    const html = await rejectionOf(attempt("html", "e-html"));
    expect(html.code).toBe("DATA_SOURCE_BAD_RESPONSE");
    expect(html.message).toContain("it looks like an HTML page");
    await nothingWritten("e-json");
    await nothingWritten("e-html");
  });
});

const mirror = datasetMirror();

describe.skipIf(mirror === undefined)("the complaints mirror", () => {
  it("given the mirror, then its pinned sample is used, validated with 86 duplicates quarantined, and data.rareClasses drops Consumer Loan", async () => {
    const file = await acquireDataset(manifest, {
      mirror: mirror!,
      dataDir: path.join(dir, "cache-mirror"),
      download: false,
    });
    expect(file).toMatchObject({ origin: "mirror", sha256: manifest.sha256 });
    const { table, report } = await readValidatedCsv(
      file.path,
      {
        columns: manifest.columns,
        idColumns: manifest.idColumns,
        target: { column: "Product", classes: manifest.target.classes, recode: manifest.target.recode },
      },
      { maxBadFraction: 0.05 },
    );
    expect(report).toMatchObject({
      rowsRead: 2085,
      rowsQuarantined: 86,
      problemCounts: { duplicate_row: 86 },
    });
    const { classes, report: rare } = applyRareClassRule(table, manifest.target.classes, {
      minCount: 50,
      action: "drop",
    });
    expect(rare.before["Consumer Loan"], "the sample's rare class").toBeLessThan(50);
    expect(classes).toEqual(["Credit reporting, repair, or other", "Debt collection", "Mortgage"]);
    expect(rare.rowsDropped).toBe(rare.before["Consumer Loan"]);
  });
});
