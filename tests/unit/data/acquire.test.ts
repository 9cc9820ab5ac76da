import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { acquireDataset } from "../../../src/data/acquire.js";
import { type DatasetManifest, parseManifest } from "../../../src/data/manifest.js";
import { DataValidationError } from "../../../src/shared/errors.js";
import { sha256 } from "../../../src/shared/hash.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("acquire-");
const TEXT = "income,risk\n10,good\n20,bad\n";
const base = {
  name: "loans",
  title: "Loans",
  target: { column: "risk", classes: ["good", "bad"] },
  columns: { income: { type: "number" } },
};

async function local(
  extra: Record<string, unknown> = {},
): Promise<{ manifest: DatasetManifest; csv: string }> {
  const csv = await tmp.file("loans.csv", TEXT);
  const manifest = parseManifest(
    { ...base, source: { path: "loans.csv" }, ...extra },
    path.join(tmp.path(), "loans.yaml"),
  );
  return { manifest, csv };
}

describe("acquireDataset with a local source.path", () => {
  it("given no sha256 in the manifest, then the file is read in place and its sha256 computed", async () => {
    const { manifest, csv } = await local();
    const file = await acquireDataset(manifest, { env: {}, mirror: "/nonexistent" });
    expect(file).toEqual({ path: csv, sha256: sha256(TEXT), origin: "local", source: csv });
  });

  it("given a recorded sha256 the file no longer has, then DATA_CHECKSUM_MISMATCH says how to accept the change, and the file is kept", async () => {
    const recorded = "0".repeat(64);
    const { manifest, csv } = await local({ sha256: recorded });
    const error = await rejectionOf(acquireDataset(manifest, { env: {} }), DataValidationError);
    expect(error.code).toBe("DATA_CHECKSUM_MISMATCH");
    expect(error.message).toBe(
      `${csv}: sha256 ${sha256(TEXT)} does not match the sha256 ${recorded} recorded in the manifest of 'loans': the file changed since it was recorded. Your file was not touched. If the change is intended, set sha256: ${sha256(TEXT)} in the manifest (or remove the sha256 line to train on whatever the file holds); otherwise restore the recorded version.`,
    );
    expect(error.message, "never advise deleting the user's file").not.toMatch(/delete/i);
    expect(existsSync(csv), "the file is still there").toBe(true);
  });

  it("given a source.path that does not exist, then DATA_FILE_MISSING names it", async () => {
    const manifest = parseManifest(
      { ...base, source: { path: "gone.csv" } },
      path.join(tmp.path(), "m.yaml"),
    );
    const error = await rejectionOf(acquireDataset(manifest, { env: {} }), DataValidationError);
    expect(error.code).toBe("DATA_FILE_MISSING");
    expect(error.message).toBe(
      `Dataset 'loans' reads ${path.join(tmp.path(), "gone.csv")} (source.path in its manifest), which does not exist. Point source.path at the CSV, or move the file back.`,
    );
  });
});

describe("acquireDataset: a mirror copy with another sha256", () => {
  it("given a mirror file that differs from the manifest, then the message does not tell to delete it (it may be the user's only copy)", async () => {
    await tmp.file("anchor", "");
    const mirror = path.join(tmp.path(), "mirror");
    await mkdir(path.join(mirror, "loans"), { recursive: true });
    const copy = path.join(mirror, "loans", "loans.csv");
    await writeFile(copy, TEXT);
    const expected = "f".repeat(64);
    const manifest = parseManifest(
      { ...base, source: { url: "https://example.org/loans.csv" }, file: "loans.csv", sha256: expected },
      path.join(tmp.path(), "loans.yaml"),
    );
    const error = await rejectionOf(
      acquireDataset(manifest, { env: {}, mirror, dataDir: path.join(tmp.path(), "cache"), download: false }),
      DataValidationError,
    );
    expect(error.code).toBe("DATA_CHECKSUM_MISMATCH");
    expect(error.message).toBe(
      `${copy}: sha256 ${sha256(TEXT)} does not match the manifest's ${expected} for 'loans'. Leave that file alone if it is your own data: either put the official file (https://example.org/loans.csv) there, or, if this version is the one you mean to train on, set sha256: ${sha256(TEXT)} in data/loans.yaml (or describe the file with source.path).`,
    );
    expect(error.message).not.toMatch(/delete/i);
    expect(existsSync(copy)).toBe(true);
  });
});
