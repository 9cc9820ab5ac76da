import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  characters,
  MAX_SAMPLED_CHARS,
  profileText,
  TextAccumulator,
  TextProfiler,
  textDrift,
  textLengths,
} from "../../../src/monitoring/text.js";
import { classifierText, randomAucPercentile } from "../../../src/monitoring/text-classifier.js";
import type { TextColumnProfile } from "../../../src/monitoring/types.js";
import { WorkbenchError } from "../../../src/shared/errors.js";
import { createRng } from "../../../src/shared/random.js";

// Written by bench/peers/monitor_text_fixtures.py with Evidently 0.7.23 (its default text drift: the domain
// classifier's ROC AUC; percentile rule for references of at most 1,000 texts, AUC > 0.55 above).
interface TextCase {
  name: string;
  reference: string[];
  current: string[];
  rule: "absolute" | "percentile";
  auc: number;
  threshold: number;
  drift: boolean;
  typical_words: { current: string[]; reference: string[] };
}
interface TextFixture {
  planted: { current: string[]; reference: string[] };
  cases: TextCase[];
}

const fixture = JSON.parse(
  readFileSync(path.join(__dirname, "..", "..", "fixtures", "monitoring", "text-drift.json"), "utf8"),
) as TextFixture;

function run(reference: readonly string[], current: readonly string[], sampleSize?: number) {
  const profile = profileText("narrative", reference, sampleSize === undefined ? {} : { sampleSize });
  const accumulator = new TextAccumulator(profile);
  for (const t of current) accumulator.add(t);
  return { profile, accumulator, result: textDrift(profile, accumulator) };
}

/** The WorkbenchError `fn` throws (fails the test when it throws nothing or something else). */
function caught(fn: () => unknown): WorkbenchError {
  try {
    fn();
  } catch (error) {
    if (error instanceof WorkbenchError) return error;
    throw error;
  }
  throw new Error("expected a WorkbenchError, nothing was thrown");
}

/** Complaint-like sentences about the given nouns, seeded. */
function sentences(n: number, nouns: readonly string[], seed: number): string[] {
  const rng = createRng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng() * xs.length)]!;
  const verbs = ["called", "disputed", "reported", "paid", "emailed", "asked", "visited", "wrote"];
  const tails = ["nobody helped", "no answer came", "the balance stayed wrong", "they promised a fix"];
  return Array.from(
    { length: n },
    () => `I ${pick(verbs)} about the ${pick(nouns)} and ${pick(nouns)} but ${pick(tails)}.`,
  );
}

describe("text drift agrees with Evidently 0.7.23 on the stored fixture", () => {
  // The AUCs differ because the solver and the split differ: Evidently trains SGDClassifier (modified Huber, L1)
  // on scikit-learn's pooled train_test_split(random_state=42); we train L2 logistic regression by L-BFGS on a
  // seeded half of each side (and the large cases on a 1,000-text sample of each side). 0.05 is a few standard
  // errors of an AUC on 250–1,000 held-out texts per side. The percentile rule's threshold depends on the
  // held-out label counts and on the random draws only: within 0.01.
  for (const c of fixture.cases) {
    it(`${c.name}: same drift flag, AUC within 0.05, same rule`, () => {
      const { result } = run(c.reference, c.current);
      const d = result.drift;
      expect(d.drift, `${c.name}: drift (ours AUC ${d.auc}, Evidently ${c.auc})`).toBe(c.drift);
      expect(Math.abs(d.auc - c.auc), `${c.name}: |AUC − Evidently's| (${d.auc} vs ${c.auc})`).toBeLessThan(
        0.05,
      );
      expect(d.rule, `${c.name}: rule`).toBe(c.rule);
      expect(
        Math.abs(d.threshold - c.threshold),
        `${c.name}: threshold ${d.threshold} vs ${c.threshold}`,
      ).toBeLessThan(0.01);
      expect(d.sampleSizes.reference, "reference sample").toBe(Math.min(1000, c.reference.length));
      expect(d.sampleSizes.current, "current sample").toBe(Math.min(1000, c.current.length));
    });
  }

  it("the drifted cases' typical words are the planted topic words, on the side they were planted", () => {
    const planted = {
      current: new Set(fixture.planted.current),
      reference: new Set(fixture.planted.reference),
    };
    for (const c of fixture.cases.filter((x) => x.drift)) {
      const { current, reference } = run(c.reference, c.current).result.drift.typicalWords;
      const top = (words: string[], side: Set<string>) => words.slice(0, 8).filter((w) => side.has(w)).length;
      expect(
        top(current, planted.current),
        `${c.name}: planted current words among ${current.slice(0, 8)}`,
      ).toBe(8);
      // The small case's current side has no card/account text at all; the large one keeps 40 % of them.
      if (c.name === "small-drift")
        expect(
          top(reference, planted.reference),
          `${c.name}: planted reference words in ${reference.slice(0, 8)}`,
        ).toBeGreaterThanOrEqual(6);
      // Evidently's own lists lead with the same words.
      const evidently = new Set(c.typical_words.current.slice(0, 10));
      const shared = current.slice(0, 10).filter((w) => evidently.has(w)).length;
      expect(
        shared,
        `${c.name}: ours ${current.slice(0, 10)} vs Evidently ${c.typical_words.current.slice(0, 10)}`,
      ).toBeGreaterThanOrEqual(6);
    }
  });
});

describe("text drift on generated corpora", () => {
  const nouns = [
    "credit card",
    "annual fee",
    "checking account",
    "overdraft",
    "mortgage",
    "escrow",
    "student loan",
  ];

  it("given two random halves of one corpus, when compared, then no drift (percentile and absolute rule)", () => {
    for (const [n, seed] of [
      [400, 1],
      [2400, 2],
    ] as const) {
      const texts = sentences(n, nouns, seed);
      const d = run(texts.slice(0, n / 2), texts.slice(n / 2)).result.drift;
      expect(d.drift, `n ${n}: AUC ${d.auc} vs threshold ${d.threshold}`).toBe(false);
      expect(d.auc, `n ${n}: AUC`).toBeLessThan(0.58);
      expect(d.rule).toBe(n / 2 > 1000 ? "absolute" : "percentile");
    }
  });

  it("given a topic change, when compared, then drift with an AUC near 1 and the new topic's words", () => {
    const reference = sentences(300, ["credit card", "annual fee", "checking account"], 3);
    const current = sentences(300, ["mortgage", "escrow", "foreclosure"], 4);
    const d = run(reference, current).result.drift;
    expect(d.drift, `AUC ${d.auc}`).toBe(true);
    expect(d.auc).toBeGreaterThan(0.95);
    expect(d.typicalWords.current.slice(0, 3).sort(), "top current words").toEqual([
      "escrow",
      "foreclosure",
      "mortgage",
    ]);
    expect(d.oov.current, "the new topic's words are outside the reference vocabulary").toBeGreaterThan(0.1);
    expect(d.oov.reference, "the reference's own held-out OOV").toBe(0);
  });

  it("is deterministic: the same inputs give the same result", () => {
    const reference = sentences(200, nouns, 5);
    const current = sentences(200, nouns.slice(2), 6);
    expect(run(reference, current).result).toEqual(run(reference, current).result);
  });

  it("a profile without the leave-one-out OOV (written elsewhere) falls back to its sample's in-sample OOV", () => {
    const profile = profileText("narrative", ["card fee", "card loan", "card fee escrow"], {
      vocabularySize: 2,
    });
    expect(profile.vocabulary.map((v) => v.word)).toEqual(["card", "fee"]);
    const { oov: _, ...older } = profile;
    const current = new TextAccumulator(older);
    for (let i = 0; i < 10; i++) current.add("card mortgage");
    const d = textDrift(
      { ...older, sample: [...older.sample, ...Array(10).fill("card fee")] },
      current,
    ).drift;
    // In-sample: "loan" and "escrow" of 27 sampled tokens (3 texts + 10 × "card fee").
    expect(d.oov.reference).toBeCloseTo(2 / 27, 12);
    expect(d.oov.current).toBe(0.5);
  });

  it("sampleSize: the classifier uses a seeded subsample of each side's sample", () => {
    const reference = sentences(300, nouns, 7);
    const current = sentences(300, nouns.slice(3), 8);
    const profile = profileText("narrative", reference);
    const accumulator = new TextAccumulator(profile);
    for (const t of current) accumulator.add(t);
    const small = textDrift(profile, accumulator, { sampleSize: 60 }).drift;
    expect(small.sampleSizes).toEqual({ reference: 60, current: 60 });
    expect(small.drift, `AUC ${small.auc}`).toBe(true);
    expect(textDrift(profile, accumulator, { sampleSize: 60 }).drift).toEqual(small);
    expect(textDrift(profile, accumulator, { sampleSize: 5000 }).drift.sampleSizes).toEqual({
      reference: 300,
      current: 300,
    });
    const e = caught(() => textDrift(profile, accumulator, { sampleSize: 5 }));
    expect(e.code).toBe("TEXT_OPTIONS_INVALID");
    expect(e.message).toBe("Text monitoring: sampleSize must be a whole number ≥ 10, got 5.");
  });

  it("given only identical texts on both sides, then AUC 0.5 and no drift (no word tells them apart)", () => {
    const same = Array.from({ length: 40 }, () => "The card was charged twice.");
    const d = run(same, same).result.drift;
    expect(d.auc).toBe(0.5);
    expect(d.drift).toBe(false);
    expect(d.typicalWords).toEqual({ current: [], reference: [] });
  });
});

describe("profileText", () => {
  it("counts lengths (code points), tokens per text, missing texts and document frequencies exactly", () => {
    const p = profileText("t", ["Late fee, late FEE!", "", "  ", "fee 😀 ok", "ab"], { seed: 1 });
    expect(p).toMatchObject({ name: "t", type: "text", rows: 5, missing: 2 });
    expect(characters("fee 😀 ok")).toBe(8);
    expect(p.length).toEqual({ values: [2, 8, 19], counts: [1, 1, 1] });
    // "late fee late fee" → 4, "fee ok" → 2 (the emoji is no word), "ab" → 1.
    expect(p.tokens).toEqual({ values: [1, 2, 4], counts: [1, 1, 1] });
    expect(p.vocabulary).toEqual([
      { word: "fee", df: 2 },
      { word: "ab", df: 1 },
      { word: "late", df: 1 },
      { word: "ok", df: 1 },
    ]);
    expect(p.sample.sort()).toEqual(["Late fee, late FEE!", "ab", "fee 😀 ok"]);
    // Leave-one-out OOV: only "fee" (df 2) is covered: 3 of 7 tokens.
    expect(p.oov).toBeCloseTo(4 / 7, 12);
  });

  it("keeps the vocabulary to vocabularySize words by document frequency, and a seeded reservoir of sampleSize texts", () => {
    const letters = (i: number) =>
      i.toString(26).replace(/./g, (d) => String.fromCharCode(97 + Number.parseInt(d, 26)));
    const texts = Array.from({ length: 500 }, (_, i) => `common word${letters(i % 7)} zz${letters(i)}`);
    const p = profileText("t", texts, { vocabularySize: 3, sampleSize: 50, seed: 9 });
    expect(p.vocabulary.map((v) => v.word)).toEqual(["common", "worda", "wordb"]);
    expect(p.vocabulary[0]!.df).toBe(500);
    expect(p.sample.length).toBe(50);
    expect(new Set(p.sample).size).toBe(50);
    expect(profileText("t", texts, { vocabularySize: 3, sampleSize: 50, seed: 9 }).sample).toEqual(p.sample);
    expect(profileText("t", texts, { sampleSize: 50, seed: 10 }).sample).not.toEqual(p.sample);
    // A reservoir, not the first texts: later texts get in.
    expect(p.sample.filter((t) => texts.indexOf(t) >= 250).length).toBeGreaterThan(10);
    expect(profileText("t", texts, { sampleSize: 0 }).sample).toEqual([]);
  });

  it("keeps the first MAX_SAMPLED_CHARS characters of a long sampled text, and counts its full length", () => {
    const long = "fee ".repeat(4000);
    const p = profileText("t", [long], { sampleSize: 1 });
    expect(p.sample[0]!.length).toBe(MAX_SAMPLED_CHARS);
    expect(p.length).toEqual({ values: [16_000], counts: [1] });
    expect(p.tokens).toEqual({ values: [4000], counts: [1] });
  });

  it("streams: TextProfiler fed one text at a time gives profileText's profile", () => {
    const texts = sentences(300, ["fee", "loan", "card"], 11);
    const profiler = new TextProfiler({ sampleSize: 20, vocabularySize: 50, seed: 4 });
    for (const t of texts) profiler.add(t);
    profiler.addMissing();
    const p = profiler.toProfile("x");
    expect(p).toEqual({
      ...profileText("x", [...texts, ""], { sampleSize: 20, vocabularySize: 50, seed: 4 }),
    });
  });

  it("bounds the words it tracks: past trackedWords distinct words the rarest are dropped, frequent ones stay exact", () => {
    const letters = (i: number) =>
      i.toString(26).replace(/./g, (d) => String.fromCharCode(97 + Number.parseInt(d, 26)));
    const profiler = new TextProfiler({ sampleSize: 10, vocabularySize: 3, seed: 1, trackedWords: 100 });
    for (let i = 0; i < 1000; i++) profiler.add(`fee card${i % 2 === 0 ? " loan" : ""} zz${letters(i)}`);
    expect(profiler.tracked, "distinct words counted").toBeLessThanOrEqual(100);
    const p = profiler.toProfile("t");
    expect(p.vocabulary).toEqual([
      { word: "card", df: 1000 },
      { word: "fee", df: 1000 },
      { word: "loan", df: 500 },
    ]);
    expect(p.tokens).toEqual({ values: [3, 4], counts: [500, 500] });
    const e = caught(
      () => new TextProfiler({ sampleSize: 1, vocabularySize: 50, seed: 1, trackedWords: 10 }),
    );
    expect(e.code).toBe("TEXT_OPTIONS_INVALID");
    expect(e.message).toBe("Text monitoring: trackedWords must be a whole number ≥ 50, got 10.");
  });

  it("rejects a bad sample or vocabulary size with TEXT_OPTIONS_INVALID", () => {
    const e = caught(() => profileText("t", ["a b"], { sampleSize: -1 }));
    expect(e.code).toBe("TEXT_OPTIONS_INVALID");
    expect(e.message).toBe("Text monitoring: sampleSize must be a whole number ≥ 0, got -1.");
    const v = caught(() => profileText("t", ["a b"], { vocabularySize: 0 }));
    expect(v.code).toBe("TEXT_OPTIONS_INVALID");
    expect(v.message).toBe("Text monitoring: vocabularySize must be a whole number ≥ 1, got 0.");
  });
});

describe("TextAccumulator", () => {
  const profile: TextColumnProfile = profileText("t", ["the card fee", "a card", "loan fee"]);

  it("counts rows, missing texts, lengths and OOV tokens against the profile vocabulary", () => {
    const a = new TextAccumulator(profile);
    a.add("Card fee mortgage");
    a.add("");
    a.addMissing();
    a.add("escrow escrow");
    expect([a.rows, a.missing, a.tokens, a.oovTokens]).toEqual([4, 2, 5, 3]);
    expect(a.sample).toEqual(["Card fee mortgage", "escrow escrow"]);
    const lengths = textLengths(profile, a);
    expect(Array.from(lengths.current.values)).toEqual([13, 17]);
    expect(lengths.reference.total).toBe(3);
    a.reset();
    expect([a.rows, a.missing, a.tokens, a.oovTokens, a.sample.length]).toEqual([0, 0, 0, 0, 0]);
  });

  it("holds at most sampleSize texts however many it sees (constant memory)", () => {
    const a = new TextAccumulator(profile, { sampleSize: 25, seed: 3 });
    for (let i = 0; i < 5000; i++) a.add(`text ${i} about fees`);
    expect(a.sample.length).toBe(25);
    expect(a.rows).toBe(5000);
    expect(a.lengthDistribution().values.length).toBeLessThan(10);
  });
});

describe("textDrift refuses what it cannot check, with a clear error", () => {
  const reference = sentences(100, ["card", "fee"], 21);

  it("no reference sample (sampleSize 0): TEXT_DRIFT_DISABLED, while textLengths still works", () => {
    const profile = profileText("narrative", reference, { sampleSize: 0 });
    const current = new TextAccumulator(profile);
    for (const t of reference) current.add(t);
    const e = caught(() => textDrift(profile, current));
    expect(e.code).toBe("TEXT_DRIFT_DISABLED");
    expect(e.message).toBe(
      'Text drift of "narrative": the reference profile holds no sample of texts (100 non-missing texts, sample size 0), so the domain classifier cannot run; profile with a sample size above 0 to check text content (lengths and OOV are still compared).',
    );
    expect(textLengths(profile, current).current.total).toBe(100);
    expect(current.sample, "no current sample is kept when the reference has none").toEqual([]);
  });

  it("current texts all missing or too few: TEXT_DRIFT_TOO_FEW_TEXTS naming the counts", () => {
    const profile = profileText("narrative", reference);
    const current = new TextAccumulator(profile);
    for (let i = 0; i < 50; i++) current.add(i < 5 ? "late fee" : "   ");
    const e = caught(() => textDrift(profile, current));
    expect(e.code).toBe("TEXT_DRIFT_TOO_FEW_TEXTS");
    expect(e.message).toBe(
      'Text drift of "narrative": the domain classifier needs at least 10 non-missing texts per side, got 100 reference and 5 current; collect more current data (or lower minTexts).',
    );
    expect(e.details).toMatchObject({ reference: 100, current: 5, minTexts: 10 });
  });

  it("a reference of missing texts only: TEXT_DRIFT_TOO_FEW_TEXTS (0 reference texts)", () => {
    const profile = profileText("narrative", ["", " "]);
    expect(profile).toMatchObject({ rows: 2, missing: 2, sample: [], vocabulary: [], oov: 0 });
    const current = new TextAccumulator(profile);
    for (const t of reference) current.add(t);
    const e = caught(() => textDrift(profile, current));
    expect(e.code).toBe("TEXT_DRIFT_TOO_FEW_TEXTS");
    expect(e.message).toBe(
      'Text drift of "narrative": the domain classifier needs at least 10 non-missing texts per side, got 0 reference and 100 current; collect more current data (or lower minTexts).',
    );
  });

  it("bad options: TEXT_OPTIONS_INVALID", () => {
    const profile = profileText("narrative", reference);
    const current = new TextAccumulator(profile);
    for (const t of reference) current.add(t);
    const e = caught(() => textDrift(profile, current, { aucThreshold: 0.3 }));
    expect(e.code).toBe("TEXT_OPTIONS_INVALID");
    expect(e.message).toBe("Text monitoring: aucThreshold must be in [0.5, 1), got 0.3.");
    expect(caught(() => textDrift(profile, current, { minTexts: 1 })).message).toBe(
      "Text monitoring: minTexts must be a whole number ≥ 2, got 1.",
    );
  });
});

describe("pieces", () => {
  it("classifierText drops English stop words after normalising", () => {
    expect(classifierText("The LATE fee of 35 was charged to my account XXXX on 12/03/2019!")).toBe(
      "late fee __num__ charged account",
    );
  });

  it("randomAucPercentile: near 0.5 + 1.645·σ of the Mann–Whitney AUC under no difference", () => {
    const [n0, n1] = [125, 125];
    const sigma = Math.sqrt((n0 + n1 + 1) / (12 * n0 * n1));
    const p95 = randomAucPercentile(n0, n1, 0.95, 42);
    expect(Math.abs(p95 - (0.5 + 1.645 * sigma))).toBeLessThan(0.01);
    expect(randomAucPercentile(n0, n1, 0.95, 42)).toBe(p95);
  });
});
