import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TrackingError } from "../../../src/shared/errors.js";
import {
  decodeLine,
  encodeLine,
  JournalWriter,
  type OpenEntry,
  readJournal,
} from "../../../src/tracking/journal.js";
import { rejectionOf } from "../../helpers/expect-error.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempFile(name = "run.jsonl"): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "journal-"));
  dirs.push(dir);
  return path.join(dir, name);
}

const header: OpenEntry = {
  op: "open",
  version: 1,
  clientRunId: "0123456789abcdef0123456789abcdef",
  target: "http://127.0.0.1:5000",
  experimentName: "e",
  startTime: 1_000,
  tags: { "mlflow.runName": "r" },
  host: "h",
  pid: 42,
  reason: "offline",
};

async function journalWithEntries(n: number): Promise<string> {
  const file = await tempFile();
  const writer = await JournalWriter.create(file, header, () => 2_000);
  for (let step = 0; step < n; step++) {
    await writer.append({
      op: "batch",
      metrics: [{ key: "loss", value: 1 / (step + 1), step, timestamp: 3_000 + step }],
      params: {},
      tags: {},
    });
  }
  await writer.append({ op: "end", status: "FINISHED", endTime: 9_000 });
  await writer.close();
  return file;
}

describe("journal lines", () => {
  it("given an entry, when encoded and decoded, then it comes back whole with its sequence and time", () => {
    const line = encodeLine(7, 123, { op: "end", status: "KILLED", endTime: 5 });
    expect(line.endsWith("\n"), "one line per entry").toBe(true);
    expect(JSON.parse(line), "each line is JSON on its own").toMatchObject({ seq: 7, at: 123 });
    expect(decodeLine(line.trimEnd())).toEqual({
      seq: 7,
      at: 123,
      e: { op: "end", status: "KILLED", endTime: 5 },
    });
  });

  it("given one altered character that keeps the JSON valid, then the checksum catches it", () => {
    const line = encodeLine(1, 1, { op: "batch", metrics: [], params: { lr: "0.1" }, tags: {} }).trimEnd();
    expect(decodeLine(line.replace('"0.1"', '"0.2"'))).toEqual({ problem: "checksum mismatch" });
    expect(decodeLine(line.slice(0, 20))).toEqual({ problem: "not JSON" });
    expect(decodeLine('{"a":1}')).toEqual({ problem: "not a journal line" });
  });
});

describe("JournalWriter and readJournal", () => {
  it("given appended entries, when read back, then the header and every entry in order, nothing flagged", async () => {
    const file = await journalWithEntries(5);
    const journal = await readJournal(file);
    expect(journal.header).toEqual(header);
    expect(journal.entries.map((e) => [e.line, e.seq, e.entry.op])).toEqual([
      [2, 1, "batch"],
      [3, 2, "batch"],
      [4, 3, "batch"],
      [5, 4, "batch"],
      [6, 5, "batch"],
      [7, 6, "end"],
    ]);
    expect(journal.corrupt, "a sound journal").toEqual([]);
    expect(journal.tornTail).toBeUndefined();
  });

  it("given concurrent appends, then every one lands on its own line (no interleaving)", async () => {
    const file = await tempFile();
    const writer = await JournalWriter.create(file, header, () => 1);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        writer.append({ op: "batch", metrics: [], params: { [`p${i}`]: "x" }, tags: {} }),
      ),
    );
    await writer.close();
    const journal = await readJournal(file);
    expect(journal.entries.length).toBe(50);
    expect(journal.corrupt).toEqual([]);
  });

  it("given a crash mid-append (a last line without its newline), then it is reported as torn and the rest is intact", async () => {
    const file = await journalWithEntries(3);
    await appendFile(file, '{"seq":9,"at":1,"e":{"op":"batch","metr');
    const journal = await readJournal(file);
    expect(journal.tornTail).toEqual({ line: 6, reason: "unterminated last line" });
    expect(journal.entries.length, "the 3 batches and the end").toBe(4);
    expect(journal.corrupt).toEqual([]);
  });

  it("given a corrupted complete line, then only that line is flagged, by number", async () => {
    const file = await journalWithEntries(3);
    const lines = (await readFile(file, "utf8")).split("\n");
    lines[2] = lines[2]!.replace('"loss"', '"lost"');
    await writeFile(file, lines.join("\n"));
    const journal = await readJournal(file);
    expect(journal.corrupt).toEqual([{ line: 3, reason: "checksum mismatch" }]);
    expect(journal.entries.map((e) => e.line)).toEqual([2, 4, 5]);
  });

  it("given an unreadable header, then the entries are read but belong to no run", async () => {
    const file = await journalWithEntries(1);
    const lines = (await readFile(file, "utf8")).split("\n");
    lines[0] = "garbage";
    await writeFile(file, lines.join("\n"));
    const journal = await readJournal(file);
    expect(journal.header).toBeUndefined();
    expect(journal.corrupt).toEqual([{ line: 1, reason: "not JSON" }]);
  });

  it("given an existing journal, then create refuses to overwrite it", async () => {
    const file = await journalWithEntries(0);
    const error = await rejectionOf(
      JournalWriter.create(file, header, () => 1),
      Error,
    );
    expect((error as NodeJS.ErrnoException).code).toBe("EEXIST");
  });

  it("given a closed journal, then append fails with JOURNAL_CLOSED", async () => {
    const file = await tempFile();
    const writer = await JournalWriter.create(file, header, () => 1);
    await writer.close();
    const error = await rejectionOf(
      writer.append({ op: "end", status: "FINISHED", endTime: 1 }),
      TrackingError,
    );
    expect(error.code).toBe("JOURNAL_CLOSED");
    expect(error.message).toContain("is closed; the run has ended");
  });
});
