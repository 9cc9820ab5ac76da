import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadManifest, manifestJsonSchema } from "../../../src/data/manifest.js";
import { ConfigError } from "../../../src/shared/errors.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("manifest-");
let files = 0;
const manifest = (yaml: string) => tmp.file(`m${++files}.yaml`, yaml);

const LOCAL = `name: loans
title: Loans
source: { path: loans.csv }
target: { column: risk, classes: [good, bad] }
columns:
  income: { type: number, nullable: true }
  housing: { type: category }
`;

describe("dataset manifests", () => {
  it("given a local source.path, no file, no sha256 and a category without values, then it loads; the path is resolved against the manifest's folder", async () => {
    const file = await manifest(LOCAL);
    const m = await loadManifest(file);
    expect(m.source.path).toBe(path.join(path.dirname(file), "loans.csv"));
    expect(m.sha256).toBeUndefined();
    expect(m.license, "license defaults").toBe("unknown");
    expect(m.columns.housing).toEqual({ type: "category", recode: {}, nullable: false });
  });

  it("given a guessed key (optional: true), then the error lists the allowed keys and points at nullable", async () => {
    const file = await manifest(
      LOCAL.replace("{ type: number, nullable: true }", "{ type: number, optional: true }"),
    );
    const error = await rejectionOf(loadManifest(file), ConfigError);
    expect(error.code).toBe("MANIFEST_INVALID");
    expect(error.message).toBe(
      `Invalid dataset manifest ${file}:\n  - columns.income: unrecognized key 'optional'; allowed keys: type, description, min, max, integer, nullable (missing values: \`nullable: true\`)`,
    );
  });

  it("given an unknown key at the top and in a category column, then each names its own allowed keys", async () => {
    const file = await manifest(
      `${LOCAL.replace("housing: { type: category }", "housing: { type: category, levels: [a] }")}format: csv\n`,
    );
    const error = await rejectionOf(loadManifest(file), ConfigError);
    expect(error.message).toContain(
      "  - columns.housing: unrecognized key 'levels'; allowed keys: type, description, values, recode, nullable\n",
    );
    expect(error.message).toContain(
      "  - (root): unrecognized key 'format'; allowed keys: name, title, description, license, homepage, source, file, sha256, rows, target, idColumns, columns, notes",
    );
  });

  it("given a file:// source.url, then it is refused at load time with the way to a local file", async () => {
    const file = await manifest(
      LOCAL.replace(
        "source: { path: loans.csv }",
        `source: { url: 'file:///home/me/loans.csv' }\nfile: loans.csv\nsha256: ${"a".repeat(64)}`,
      ),
    );
    const error = await rejectionOf(loadManifest(file), ConfigError);
    expect(error.code).toBe("MANIFEST_INVALID");
    expect(error.message).toContain(
      "  - source.url: 'file:///home/me/loans.csv' is not an http(s) download; for a file on this machine use source.path",
    );
  });

  it("given a source.url without file and sha256, or both url and path, then each problem is named", async () => {
    const noHash = await manifest(
      LOCAL.replace("source: { path: loans.csv }", "source: { url: 'https://example.org/l.csv' }"),
    );
    const error = await rejectionOf(loadManifest(noHash), ConfigError);
    expect(error.message).toContain("  - file: required with source.url");
    expect(error.message).toContain("  - sha256: required with source.url");
    const both = await manifest(
      LOCAL.replace(
        "source: { path: loans.csv }",
        "source: { path: a.csv, url: 'https://example.org/l.csv' }",
      ),
    );
    expect((await rejectionOf(loadManifest(both), ConfigError)).message).toContain(
      "  - source: give exactly one of source.url (an official download) or source.path (a local CSV file)",
    );
  });

  it("given an id column that is not declared, then it is named", async () => {
    const file = await manifest(`${LOCAL}idColumns: [customer]\n`);
    expect((await rejectionOf(loadManifest(file), ConfigError)).message).toContain(
      "  - idColumns: 'customer' is not declared under columns",
    );
  });

  it("the committed manifests still load", async () => {
    for (const name of ["credit-default", "hpc"]) {
      const m = await loadManifest(name);
      expect(m.source.url, name).toMatch(/^https:/);
      expect(m.sha256, name).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("manifestJsonSchema describes every key, the local source and the column kinds", () => {
    const schema = manifestJsonSchema() as {
      definitions: {
        DatasetManifest: {
          properties: Record<string, { properties?: Record<string, unknown> }>;
          required: string[];
        };
      };
    };
    const root = schema.definitions.DatasetManifest;
    expect(Object.keys(root.properties)).toContain("idColumns");
    expect(Object.keys(root.properties.source!.properties!)).toEqual([
      "url",
      "path",
      "format",
      "entry",
      "sha256",
      "rDoubles",
      "query",
    ]);
    expect(root.required, "file and sha256 are only required with source.url").not.toContain("sha256");
    expect(JSON.stringify(root.properties.columns)).toContain('"nullable"');
  });
});
