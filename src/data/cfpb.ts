/**
 * The CFPB Consumer Complaint Database as a query download (manifest `source.format: cfpb-api`): the complaint
 * search API (github.com/cfpb/ccdb5-api) exports the complaints matching a query as CSV. Its answer changes
 * every day, so the file cannot be pinned by a sha256 in the manifest: the download records its own
 * provenance (query, counts, sha256) beside the file, and later reads check the file against that record.
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { parse } from "csv-parse";
import { DataValidationError, WorkbenchError } from "../shared/errors.js";
import { sha256File } from "../shared/hash.js";
import type { Logger } from "../shared/logger.js";
import { type CfpbQuery, cfpbQuerySchema, type DatasetManifest, textColumns } from "./manifest.js";

/** What a query download wrote, kept beside the file as <file>.source.json and logged. */
export interface QueryProvenance {
  /** The request, query string included. */
  url: string;
  query: CfpbQuery;
  downloadedAt: string;
  /** Rows the API sent that were read (the download stops once `limit` rows are kept). */
  rowsRead: number;
  rowsWritten: number;
  /** Rows left out: an empty narrative (a text column), or a row identical to an earlier one. */
  skipped: { noText: number; duplicates: number };
  /** True when the download stopped at `limit` (the API had more rows). */
  stoppedAtLimit: boolean;
  /** Rows written per raw label (before the manifest's target.recode). */
  labels: Record<string, number>;
  columns: string[];
  sha256: string;
}

/** The products asked for by default: every label the manifest knows (its classes and target.recode keys). */
export function defaultProducts(manifest: DatasetManifest): string[] {
  return [...new Set([...manifest.target.classes, ...Object.keys(manifest.target.recode)])];
}

/** The manifest's default query with `overrides` applied (CLI flags), validated. */
export function effectiveQuery(manifest: DatasetManifest, overrides: Partial<CfpbQuery> = {}): CfpbQuery {
  const merged = { ...(manifest.source.query ?? {}), ...overrides };
  const parsed = cfpbQuerySchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`);
    throw new WorkbenchError(
      "DATA_QUERY_INVALID",
      `Invalid query for dataset '${manifest.name}': ${problems.join("; ")}.`,
      { details: { query: merged } },
    );
  }
  const query = parsed.data;
  return { ...query, products: query.products.length > 0 ? query.products : defaultProducts(manifest) };
}

/** The search API request for `query`: a CSV export of the complaints that have a narrative. */
export function cfpbQueryUrl(base: string, query: CfpbQuery): string {
  const url = new URL(base);
  url.searchParams.set("format", "csv");
  url.searchParams.set("no_aggs", "true");
  url.searchParams.set("has_narrative", "true");
  if (query.from !== undefined) url.searchParams.set("date_received_min", query.from);
  if (query.to !== undefined) url.searchParams.set("date_received_max", query.to);
  for (const product of query.products) url.searchParams.append("product", product);
  return url.toString();
}

/** A CSV field as Python's csv.QUOTE_MINIMAL writes it (the CFPB export's own quoting). */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function httpAdvice(status: number, retryAfter: string | null): string {
  if (status === 429)
    return `The API allows anonymous users 2 CSV exports a minute${retryAfter === null ? "" : ` (Retry-After: ${retryAfter} s)`}: wait and run the command again.`;
  if (status >= 500 || status === 424)
    return "The CFPB service failed; try again later, or use a mirror (--mirror DIR or WORKBENCH_DATA_MIRROR).";
  if (status === 400)
    return "The API refused the query: check --from/--to (YYYY-MM-DD) and the --product names (the CFPB's exact product names).";
  return "Check the URL (source.url in the manifest).";
}

/** What the body starts like, for a message about a response that is not the expected CSV. */
function looksLike(head: string): string {
  const start = head.trimStart();
  if (start.startsWith("<")) return "an HTML page";
  if (start.startsWith("{") || start.startsWith("[")) return "JSON";
  return start === "" ? "an empty body" : "CSV";
}

/**
 * Streams the API's CSV answer into `target` with exactly `columns` (the manifest's target and columns, in that
 * order): rows whose text columns are empty are skipped, duplicates are skipped, and the download stops after
 * `query.limit` rows. The file appears only when complete (written to <target>.partial first).
 */
export async function downloadCfpbCsv(
  manifest: DatasetManifest,
  base: string,
  query: CfpbQuery,
  target: string,
  logger: Logger,
): Promise<QueryProvenance> {
  const url = cfpbQueryUrl(base, query);
  const columns = [manifest.target.column, ...Object.keys(manifest.columns)];
  const texts = textColumns(manifest).filter((c) => {
    const spec = manifest.columns[c];
    return spec?.type === "text" && !spec.nullable;
  });
  const stop = new AbortController();
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: "text/csv" },
      redirect: "follow",
      signal: AbortSignal.any([stop.signal, AbortSignal.timeout(1_800_000)]),
    });
  } catch (cause) {
    throw new WorkbenchError(
      "DATA_DOWNLOAD_FAILED",
      `Could not reach the CFPB complaint API at ${new URL(url).origin}: ${(cause as Error).message}. Offline? Point --mirror (or WORKBENCH_DATA_MIRROR) at a folder holding ${manifest.name}/${manifest.file}.`,
      { cause, details: { url } },
    );
  }
  if (!response.ok || response.body === null) {
    const body = (await response.text().catch(() => "")).slice(0, 300).trim();
    throw new WorkbenchError(
      "DATA_SOURCE_HTTP_ERROR",
      `The CFPB complaint API answered HTTP ${response.status} to ${url}${body === "" ? "" : `: ${body}`}. ${httpAdvice(response.status, response.headers.get("retry-after"))}`,
      { details: { url, status: response.status, body } },
    );
  }
  const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  let head = "";
  source.once("data", (chunk: Buffer) => {
    head = chunk.toString("utf8", 0, Math.min(chunk.length, 200));
  });
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true });
  // Errors surface in the loop below; leaving it early (the limit) closes the pipeline, which is not an error.
  const piping = pipeline(source, parser).catch(() => undefined);
  await mkdir(path.dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  const out = createWriteStream(partial);
  const seen = new Set<string>();
  const labels: Record<string, number> = {};
  let index: number[] | undefined;
  let textIndex: number[] = [];
  let rowsRead = 0;
  let rowsWritten = 0;
  let noText = 0;
  let duplicates = 0;
  let stoppedAtLimit = false;
  const write = (line: string) => {
    if (!out.write(line)) return new Promise<void>((resolve) => out.once("drain", () => resolve()));
    return undefined;
  };
  try {
    for await (const fields of parser as AsyncIterable<string[]>) {
      if (index === undefined) {
        const header = fields.map((f) => f.trim());
        const missing = columns.filter((c) => !header.includes(c));
        if (missing.length > 0)
          throw new DataValidationError(
            "DATA_SOURCE_BAD_RESPONSE",
            `The CFPB complaint API's answer to ${url} has no column${missing.length > 1 ? "s" : ""} ${missing.map((c) => `'${c}'`).join(", ")}: it looks like ${looksLike(head)} (${header.length} columns: ${header.slice(0, 6).join(", ")}${header.length > 6 ? ", …" : ""}). The manifest data/${manifest.name}.yaml declares ${columns.map((c) => `'${c}'`).join(", ")}, which must be columns of the CFPB export.`,
            { details: { url, missing, header: header.slice(0, 40) } },
          );
        index = columns.map((c) => header.indexOf(c));
        textIndex = texts.map((c) => header.indexOf(c));
        await write(`${columns.map(csvField).join(",")}\n`);
        continue;
      }
      rowsRead++;
      if (textIndex.some((i) => (fields[i] ?? "").trim() === "")) {
        noText++;
        continue;
      }
      const row = index.map((i) => fields[i] ?? "");
      const key = createHash("sha1").update(row.join("\u0001")).digest("base64");
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      seen.add(key);
      const label = row[0]!;
      labels[label] = (labels[label] ?? 0) + 1;
      await write(`${row.map(csvField).join(",")}\n`);
      rowsWritten++;
      if (rowsWritten >= query.limit) {
        stoppedAtLimit = true;
        break;
      }
    }
    if (index === undefined)
      throw new DataValidationError(
        "DATA_SOURCE_BAD_RESPONSE",
        `The CFPB complaint API's answer to ${url} is empty: expected a CSV with a header row.`,
        { details: { url } },
      );
    out.end();
    await finished(out);
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    if (error instanceof WorkbenchError) throw error;
    throw new DataValidationError(
      "DATA_SOURCE_BAD_RESPONSE",
      `The CFPB complaint API's answer to ${url} is not the expected CSV: it looks like ${looksLike(head)} (${(error as Error).message}).`,
      { cause: error, details: { url } },
    );
  } finally {
    // Stop the transfer once enough rows are kept (the export streams every matching complaint).
    source.destroy();
    stop.abort();
    await piping;
  }
  await rename(partial, target);
  const provenance: QueryProvenance = {
    url,
    query,
    downloadedAt: new Date().toISOString(),
    rowsRead,
    rowsWritten,
    skipped: { noText, duplicates },
    stoppedAtLimit,
    labels,
    columns,
    sha256: await sha256File(target),
  };
  await writeFile(provenanceFile(target), `${JSON.stringify(provenance, null, 2)}\n`);
  logger.info({ dataset: manifest.name, ...provenance }, "downloaded a CFPB complaint query");
  return provenance;
}

/** Where a query download's provenance is kept: beside the file. */
export function provenanceFile(csv: string): string {
  return `${csv}.source.json`;
}

/** The provenance recorded by the download of `csv`, or undefined (a copy of the mirror has none). */
export async function readProvenance(csv: string): Promise<QueryProvenance | undefined> {
  const file = provenanceFile(csv);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(await readFile(file, "utf8")) as QueryProvenance;
  } catch (cause) {
    throw new DataValidationError(
      "DATA_PROVENANCE_INVALID",
      `${file} (what the download of ${path.basename(csv)} recorded) is not valid JSON; delete both files and run the download again.`,
      { cause, details: { file } },
    );
  }
}
