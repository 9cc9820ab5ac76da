import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Table } from "../../../src/data/table.js";
import {
  buildReferenceProfile,
  PROFILE_FILE,
  parseReferenceProfile,
  readReferenceProfile,
  readReferenceProfileFile,
  writeReferenceProfile,
} from "../../../src/monitoring/profile.js";
import { createRng } from "../../../src/shared/random.js";
import { rejectionOf, thrownBy } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";

function table(rows: number, seed = 1): Table {
  const rng = createRng(seed);
  const words = ["late", "payment", "card", "fee", "refund", "bank", "loan", "interest"];
  return {
    rowCount: rows,
    numeric: {
      amount: Float64Array.from({ length: rows }, (_, i) =>
        i % 17 === 0 ? Number.NaN : Math.round(rng() * 1e5) / 100,
      ),
      age: Float64Array.from({ length: rows }, () => 20 + Math.floor(rng() * 50)),
    },
    categorical: {
      grade: Array.from({ length: rows }, (_, i) => (i % 11 === 0 ? "" : ["a", "b", "c"][i % 3]!)),
    },
    text: {
      note: Array.from({ length: rows }, (_, i) =>
        i % 9 === 0
          ? ""
          : Array.from({ length: 3 + (i % 5) }, () => words[Math.floor(rng() * words.length)]).join(" "),
      ),
    },
    target: Array.from({ length: rows }, (_, i) => (i % 4 === 0 ? "yes" : "no")),
    ids: { id: Array.from({ length: rows }, (_, i) => `r${i}`) },
    lines: Int32Array.from({ length: rows }, (_, i) => i + 2),
  };
}

const dir = tempDir("wb-profile-");

describe("buildReferenceProfile", () => {
  it("given a table, then it profiles the feature columns (no ids, no target) in numeric, categorical, text order", () => {
    const profile = buildReferenceProfile({ table: table(500) });
    expect(profile.columns.map((c) => `${c.name}:${c.type}`)).toEqual([
      "amount:numeric",
      "age:numeric",
      "grade:categorical",
      "note:text",
    ]);
    expect(profile.source).toEqual({ split: "train", rows: 500 });
    const [amount, age, grade, note] = profile.columns;
    expect(amount).toMatchObject({ rows: 500, missing: 30, exact: true });
    if (amount?.type !== "numeric" || age?.type !== "numeric") throw new Error("numeric columns");
    expect(amount.distribution.counts.reduce((a, b) => a + b, 0)).toBe(470);
    expect(age.min).toBeGreaterThanOrEqual(20);
    expect(age.max).toBeLessThan(70);
    expect(grade).toMatchObject({ type: "categorical", rows: 500, missing: 46 });
    expect(note).toMatchObject({ type: "text", rows: 500, missing: 56 });
    expect(profile.predictions).toBeUndefined();
  });

  it("given predictions, then labels use the threshold and the score is the positive class's probability", () => {
    const probabilities = Float32Array.from([0.9, 0.1, 0.6, 0.4, 0.2, 0.8, 0.7, 0.3]);
    const profile = buildReferenceProfile({
      table: table(10),
      predictions: { probabilities, classes: ["no", "yes"], threshold: 0.35 },
    });
    expect(profile.predictions).toMatchObject({ classes: ["no", "yes"], rows: 4, labels: { no: 2, yes: 2 } });
    expect(profile.predictions?.score.name).toBe("probability_yes");
    expect(profile.predictions?.score.distribution.values.map((v) => Math.round(v * 10) / 10)).toEqual([
      0.1, 0.3, 0.4, 0.8,
    ]);
  });

  it("given probabilities that do not fill rows of the classes, then PROFILE_INVALID", () => {
    const error = thrownBy(() =>
      buildReferenceProfile({
        table: table(3),
        predictions: { probabilities: Float32Array.of(0.2, 0.3, 0.5, 0.1), classes: ["a", "b", "c"] },
      }),
    );
    expect(error.code).toBe("PROFILE_INVALID");
    expect(error.message).toBe("Predictions for the profile: 4 probabilities do not fill rows of 3 classes.");
  });

  it("given more distinct values than the profile's points, then the column is compressed and flagged", () => {
    const profile = buildReferenceProfile({ table: table(3000), options: { points: 100 } });
    const amount = profile.columns[0];
    if (amount?.type !== "numeric") throw new Error("numeric");
    expect(amount.exact).toBe(false);
    expect(amount.distribution.values.length).toBeLessThanOrEqual(100);
    expect(amount.distinct).toBeGreaterThan(100);
  });
});

describe("reference profile files", () => {
  it("round-trips through writeReferenceProfile and readReferenceProfile", async () => {
    const profile = buildReferenceProfile({
      table: table(200),
      predictions: {
        probabilities: Float32Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 0.3 : 0.7)),
        classes: ["no", "yes"],
      },
    });
    await dir.file(".keep", "");
    const pkg = path.join(dir.path(), "package");
    await mkdir(pkg, { recursive: true });
    const file = await writeReferenceProfile(pkg, profile);
    expect(path.basename(file)).toBe(PROFILE_FILE);
    expect(await readReferenceProfile(pkg)).toEqual(profile);
    expect(await readReferenceProfileFile(file)).toEqual(profile);
  });

  it("given a package without a profile, then undefined (models trained before profiles)", async () => {
    await dir.file(".keep", "");
    const empty = path.join(dir.path(), "old-package");
    await mkdir(empty, { recursive: true });
    expect(await readReferenceProfile(empty)).toBeUndefined();
  });

  it("given a profile that is not JSON, then PROFILE_INVALID naming the file", async () => {
    const bad = path.join(dir.path(), "bad-json");
    await mkdir(bad, { recursive: true });
    await writeFile(path.join(bad, PROFILE_FILE), "{ nope");
    const error = await rejectionOf(readReferenceProfile(bad));
    expect(error.code).toBe("PROFILE_INVALID");
    expect(error.message).toMatch(/reference_profile\.json is not JSON \(.+\); rebuild it\./);
  });

  it("given a missing profile file asked for by name, then PROFILE_INVALID", async () => {
    const error = await rejectionOf(readReferenceProfileFile(path.join(dir.path(), "nowhere.json")));
    expect(error.code).toBe("PROFILE_INVALID");
    expect(error.message).toMatch(/nowhere\.json could not be read/);
  });
});

describe("parseReferenceProfile", () => {
  const valid = () => JSON.parse(JSON.stringify(buildReferenceProfile({ table: table(50) })));

  it("given a newer format, then PROFILE_VERSION_UNSUPPORTED", () => {
    const error = thrownBy(() => parseReferenceProfile({ ...valid(), formatVersion: 2 }));
    expect(error.code).toBe("PROFILE_VERSION_UNSUPPORTED");
    expect(error.message).toMatch(
      /the reference profile is format 2; this version of the workbench reads format 1\./,
    );
    expect(error.details).toMatchObject({ formatVersion: 2, supported: 1 });
  });

  it("given a bad field, then PROFILE_INVALID with its path", () => {
    const profile = valid();
    profile.columns[0].distribution.counts[0] = -1;
    const error = thrownBy(() => parseReferenceProfile(profile, "p.json"));
    expect(error.code).toBe("PROFILE_INVALID");
    expect(error.message).toMatch(
      /^p\.json is invalid: columns\.0\.distribution\.counts\.0: Number must be greater than or equal to 0/,
    );
  });

  it("given values out of order, counts of another length, an unknown type or a duplicate column, then PROFILE_INVALID", () => {
    const unordered = valid();
    unordered.columns[1].distribution.values.reverse();
    expect(thrownBy(() => parseReferenceProfile(unordered)).message).toMatch(
      /columns\.1\.distribution\.values\.1: values must be strictly ascending/,
    );
    const short = valid();
    short.columns[1].distribution.counts.pop();
    expect(thrownBy(() => parseReferenceProfile(short)).message).toMatch(
      /columns\.1\.distribution: values \(\d+\) and counts \(\d+\) differ in length/,
    );
    const typed = valid();
    typed.columns[0].type = "date";
    expect(thrownBy(() => parseReferenceProfile(typed)).message).toMatch(
      /columns\.0\.type: Invalid discriminator value/,
    );
    const twice = valid();
    twice.columns.push(twice.columns[0]);
    expect(thrownBy(() => parseReferenceProfile(twice)).message).toMatch(
      /columns\.4\.name: column "amount" appears twice/,
    );
  });

  it("given something that is not a profile, then PROFILE_INVALID at the root", () => {
    expect(thrownBy(() => parseReferenceProfile("hello")).message).toMatch(
      /is invalid: \(root\): Expected object/,
    );
    expect(thrownBy(() => parseReferenceProfile({ ...valid(), extra: 1 })).message).toMatch(
      /Unrecognized key/,
    );
  });
});
