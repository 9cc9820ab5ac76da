// TfidfVectorizer.transform counts terms through integer lookups (src/features/text/term-index.ts) instead of
// building a string per n-gram. These properties check that it gives exactly — same CSR indices in the same order,
// the same float32 values bit for bit — what the straightforward implementation gives: the n-gram strings of
// wordNgrams / charWbNgrams counted against a term → column map (the vectorizer's transform before the fast path,
// kept here as the reference), on random texts with unicode letters and digits, astral characters, lone
// surrogates, combining marks, JavaScript whitespace, CFPB masks, numbers and empty strings.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PairMap, RowCounts, TokenTable } from "../../../../src/features/text/int-tables.js";
import {
  DEFAULT_TEXT_NORMALIZE,
  normalizeText,
  type TextNormalizeOptions,
} from "../../../../src/features/text/normalize.js";
import {
  type CsrMatrix,
  csrDecisions,
  hstackCsr,
  interleaveWeights,
  rowDot,
} from "../../../../src/features/text/sparse.js";
import {
  charWbNgrams,
  DEFAULT_TFIDF,
  type TfidfOptions,
  type TfidfState,
  TfidfVectorizer,
  tfidfFromJson,
  wordNgrams,
} from "../../../../src/features/text/tfidf.js";
import { COMPLAINTS_TEXT, complaintsSample } from "../../../helpers/complaints-text.js";
import { datasetMirror } from "../../../helpers/datasets.js";

/** The mirror's complaint narratives as written (complaintsSample gives them normalised). */
function complaintsRaw(): string[] {
  const mirror = datasetMirror();
  if (mirror === undefined) throw new Error("no datasets mirror: set WORKBENCH_DATA_MIRROR");
  const rows = parse(readFileSync(path.join(mirror, "complaints", "complaints_sample.csv"), "utf8"), {
    columns: true,
    skip_empty_lines: true,
  }) as Record<string, string>[];
  return rows.map((r) => r[COMPLAINTS_TEXT] ?? "");
}

/** The reference: every n-gram as a string, counted in a Map, columns sorted, tf·idf, l2 per block, hstack. */
function transformReference(state: TfidfState, texts: readonly string[]): CsrMatrix {
  const parts = state.blocks.map((b) => {
    const columns = new Map(b.terms.map((t, i) => [t, i]));
    const indptr = [0];
    const indices: number[] = [];
    const data: number[] = [];
    for (const text of texts) {
      const counts = new Map<number, number>();
      const grams = b.analyzer === "word" ? wordNgrams(text, b.ngramRange) : charWbNgrams(text, b.ngramRange);
      for (const gram of grams) {
        const c = columns.get(gram);
        if (c !== undefined) counts.set(c, (counts.get(c) ?? 0) + 1);
      }
      const cols = [...counts.keys()].sort((x, y) => x - y);
      const values = cols.map((c) => {
        const n = counts.get(c)!;
        return (state.sublinearTf ? 1 + Math.log(n) : n) * b.idf[c]!;
      });
      let norm = 0;
      for (const v of values) norm += v * v;
      norm = Math.sqrt(norm);
      cols.forEach((c, i) => {
        indices.push(c);
        data.push(values[i]! / norm);
      });
      indptr.push(indices.length);
    }
    return {
      rows: texts.length,
      cols: b.terms.length,
      indptr: Int32Array.from(indptr),
      indices: Int32Array.from(indices),
      data: Float32Array.from(data),
    };
  });
  return parts.slice(1).reduce(hstackCsr, parts[0]!);
}

function expectSame(got: CsrMatrix, want: CsrMatrix, what: string): void {
  expect([got.rows, got.cols], `${what}: shape`).toEqual([want.rows, want.cols]);
  expect(Array.from(got.indptr), `${what}: row offsets`).toEqual(Array.from(want.indptr));
  expect(Array.from(got.indices), `${what}: columns`).toEqual(Array.from(want.indices));
  // Bit for bit: compare the float32 patterns, not values within a tolerance.
  expect(
    Array.from(new Uint32Array(got.data.buffer, got.data.byteOffset, got.data.length)),
    `${what}: values`,
  ).toEqual(Array.from(new Uint32Array(want.data.buffer, want.data.byteOffset, want.data.length)));
}

// Pieces of words: ASCII, Latin with diacritics, Greek (final sigma), CJK, Arabic-Indic digits, an astral letter
// (𝒜), an astral symbol (😀, not a word character), a combining acute accent (a mark, not \w for the tokenizer),
// lone surrogates, underscores, the normaliser's tokens, CFPB masks.
const PIECES = [
  "a",
  "b",
  "ab",
  "the",
  "bank",
  "loan",
  "credit",
  "x",
  "Z",
  "é",
  "ß",
  "Σ",
  "σς",
  "ﬁ",
  "İ",
  "中文",
  "银行",
  "٣",
  "7",
  "42",
  "3.5",
  "1,200",
  "𝒜",
  "𝒜b",
  "😀",
  "e\u0301",
  "\uD800",
  "\uDC00",
  "_",
  "__num__",
  "__mask__",
  "XXXX",
  "XX/XX/2019",
  "{$12.00}",
  "-",
  ".",
  "'",
  "é𝒜",
];
// Separators: JavaScript whitespace of every kind charWbNgrams splits on, and punctuation the tokenizer skips.
const SEPARATORS = [
  " ",
  " ",
  " ",
  "  ",
  "\n",
  "\t",
  "\u00a0",
  "\u2003",
  "\u3000",
  "\ufeff",
  "\u2028",
  "\u200b",
  ", ",
  "-",
  "/",
];

const word = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 3 }).map((p) => p.join(""));
const text = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(fc.tuple(word, fc.constantFrom(...SEPARATORS)), { maxLength: 30 })
      .map((ws) => ws.flat().join("")),
  },
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);
const options = fc.record<TfidfOptions>({
  ngramRange: fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 }))
    .map(([lo, extra]) => [lo, lo + extra] as [number, number]),
  charNgramRange: fc.option(
    fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }))
      .map(([lo, extra]) => [lo, lo + extra] as [number, number]),
    { nil: null },
  ),
  sublinearTf: fc.boolean(),
  minDf: fc.constantFrom(1, 2),
  maxDf: fc.constant(1),
  maxFeatures: fc.option(fc.integer({ min: 1, max: 60 }), { nil: null }),
  charMaxFeatures: fc.option(fc.integer({ min: 1, max: 80 }), { nil: null }),
});

describe("TF-IDF transform = the string-counting reference", () => {
  it("on random texts (raw and normalised), for word and char_wb blocks of any n-gram range", () => {
    fc.assert(
      fc.property(
        fc.array(text, { minLength: 1, maxLength: 12 }),
        fc.array(text, { maxLength: 12 }),
        options,
        fc.boolean(),
        (train, other, o, normalise) => {
          const prepare = (ts: string[]) =>
            normalise ? ts.map((t) => normalizeText(t, DEFAULT_TEXT_NORMALIZE)) : ts;
          const fitTexts = prepare(train);
          let v: TfidfVectorizer;
          try {
            v = TfidfVectorizer.fit(fitTexts, o);
          } catch {
            return; // an empty vocabulary (TFIDF_EMPTY_VOCABULARY): nothing to transform
          }
          const texts = [...fitTexts, ...prepare(other), ""];
          expectSame(v.transform(texts), transformReference(v.state, texts), JSON.stringify({ o, texts }));
        },
      ),
      { numRuns: 400, seed: 11 },
    );
  });

  it("on a saved vocabulary with terms no text can produce beside ordinary ones (states are read as written)", () => {
    // Word terms with empty, one-character or punctuation parts, double spaces, n outside the range; char terms
    // that are empty, longer than the range, or hold spaces inside. Columns stay where the state puts them.
    const state: TfidfState = {
      format: "workbench-tfidf",
      version: 1,
      sublinearTf: true,
      documents: 10,
      blocks: [
        {
          analyzer: "word",
          ngramRange: [1, 2],
          terms: ["", "a", "a b", "ab", "ab  cd", "ab cd", "ab cd ef", "cd", "x-y", "𝒜b", "é𝒜"],
          idf: [1, 1.5, 2, 1.2, 3, 2.5, 4, 1.1, 2, 1.7, 1.3],
        },
        {
          analyzer: "char_wb",
          ngramRange: [2, 3],
          terms: ["", " a", " a ", " ab", "a", "ab", "ab cd", "b ", "bcde", "𝒜b", "\uD800"],
          idf: [1, 1.5, 2, 1.2, 3, 2.5, 4, 1.1, 2, 1.7, 1.3],
        },
      ],
    };
    const v = tfidfFromJson(state, "a test state");
    const texts = ["ab cd ab ef", "a ab  cd", "x-y 𝒜b é𝒜 \uD800", "", "a", "bcde ab"];
    expectSame(v.transform(texts), transformReference(state, texts), "odd terms");
    expect(v.transform(["ab cd"]).indices.length, "a bigram and its unigrams are found").toBeGreaterThan(3);
  });

  it("on complaint narratives, words 1–2-grams and char_wb 2–5-grams", () => {
    const { texts } = complaintsSample();
    const train = texts.slice(0, 300);
    const test = texts.slice(300, 420);
    const cases: Partial<TfidfOptions>[] = [
      { ngramRange: [1, 2] },
      { ngramRange: [1, 3], charNgramRange: [2, 5], sublinearTf: false },
    ];
    for (const o of cases) {
      const v = TfidfVectorizer.fit(train, { ...DEFAULT_TFIDF, ...o });
      const x = v.transform(test);
      expect(x.indices.length, "a real matrix").toBeGreaterThan(10_000);
      expectSame(x, transformReference(v.state, test), JSON.stringify(o));
    }
  });
});

describe("term-index building blocks", () => {
  it("RowCounts sorts any number of columns of any width (insertion sort, radix passes, growth)", () => {
    fc.assert(
      fc.property(
        // Up to 2^26 columns: one to four radix passes.
        fc.oneof(
          fc.integer({ min: 1, max: 300 }),
          fc.constantFrom(65_535, 65_536, 70_000, 1 << 20, (1 << 24) + 3, 1 << 26),
        ),
        fc.array(fc.nat(), { maxLength: 700 }),
        (columns, picks) => {
          const row = new RowCounts(columns);
          const added = picks.map((p) => p % columns);
          for (const c of added) row.add(c);
          const want = [...new Set(added)].sort((a, b) => a - b);
          expect(Array.from(row.sortedColumns()), "columns ascending, each once").toEqual(want);
          for (const c of want)
            expect(row.counts[c], `count of ${c}`).toBe(added.filter((a) => a === c).length);
        },
      ),
      { numRuns: 120, seed: 5 },
    );
  });

  it("csrDecisions gives each output's bias + row dot product bit for bit, and refuses a matrix of other width", () => {
    const { texts } = complaintsSample();
    const v = TfidfVectorizer.fit(texts.slice(0, 200), DEFAULT_TFIDF);
    const x = v.transform(texts.slice(200, 260));
    // 1 output (a binary SVM), 4 (one block of four), 6 (a block and two more).
    for (const m of [1, 4, 6]) {
      const values = fc.sample(fc.double({ min: -3, max: 3, noNaN: true }), {
        numRuns: m * (x.cols + 1),
        seed: m,
      });
      const weights = Array.from({ length: m }, (_, p) =>
        Float64Array.from(values.slice(p * (x.cols + 1), (p + 1) * (x.cols + 1))),
      );
      const got = csrDecisions(x, interleaveWeights(weights, x.cols));
      for (let r = 0; r < x.rows; r++)
        weights.forEach((w, p) => {
          // svmDecisions' loop: the bias, then the row's cells in order.
          let s = w[x.cols]!;
          for (let k = x.indptr[r]!; k < x.indptr[r + 1]!; k++) s += x.data[k]! * w[x.indices[k]!]!;
          expect(got[r * m + p], `${m} outputs: row ${r}, output ${p}`).toBe(s);
          expect(Math.abs(got[r * m + p]! - w[x.cols]! - rowDot(x, r, w)), "the dot product").toBeLessThan(
            1e-9,
          );
        });
      expect(() => csrDecisions(x, interleaveWeights(weights, x.cols - 1))).toThrow(
        new RangeError(`decisions: ${x.cols} columns for weights of ${x.cols - 1}`),
      );
    }
  });

  it("PairMap and TokenTable keep every key through their growth", () => {
    const pairs = new PairMap();
    const tokens = new TokenTable();
    for (let i = 0; i < 5000; i++) {
      pairs.set(i % 97, i, i * 3);
      expect(tokens.add(`t${i}`), `id of t${i}`).toBe(i);
    }
    pairs.set(5, 5, 1); // overwrite
    expect(pairs.get(5, 5)).toBe(1);
    for (let i = 0; i < 5000; i++) {
      if (i !== 5) expect(pairs.get(i % 97, i), `(${i % 97}, ${i})`).toBe(i * 3);
      expect(tokens.add(`t${i}`), `t${i} again`).toBe(i);
    }
    expect(pairs.get(3, 4), "an absent pair").toBe(-1);
    expect(tokens.size).toBe(5000);
  });
});

/** normalizeText as the chain of replacements it was written as (its one-pass version must equal it). */
function normalizeReference(text: string, o: TextNormalizeOptions): string {
  let out = text;
  if (o.masks !== "keep") {
    const token = (name: string) => (o.masks === "token" ? ` __${name}__ ` : " ");
    out = out
      .replace(/\b(?:XX|\d{1,2})\/(?:XX|\d{1,2})\/(?:XXXX|XX|\d{4}|\d{2})\b/g, token("date"))
      .replace(/\{\$\s*[\d,]*(?:\.\d+)?\}/g, token("amount"))
      .replace(/\bX{2,}\b/g, token("mask"));
  }
  if (o.numbers === "token") out = out.replace(/\d+(?:[.,]\d+)*/g, " __num__ ");
  if (o.lowercase) out = out.toLowerCase();
  if (o.punctuation === "strip") out = out.replace(/[^\p{L}\p{N}_\s]+/gu, " ");
  return out.replace(/\s+/g, " ").trim();
}

describe("normalizeText = the chain of replacements", () => {
  // Masks, amounts, numbers with separators, case (final sigma, İ's two-unit lower case), astral letters and
  // symbols, lone surrogates, control characters, every kind of JavaScript whitespace.
  const pieces = fc.constantFrom(
    ...PIECES,
    "XX/XX/XXXX",
    "12/31/19",
    "XX/3/2020",
    "{$ 50.00}",
    "{$1,200}",
    "{$}",
    "XXL",
    "xx",
    "XXX-XX",
    "1.2.3",
    "1,",
    ".5",
    "5.",
    "1..2",
    "0,5",
    "AΣ",
    "Σ1",
    "AΣ1B",
    "5.Σ",
    "ΑΣ.",
    "ΌΣΟΣ",
    "İİ",
    "\u0000",
    "\u007f",
    "\u0085",
    "\u180e",
    "Ǆ",
    "ǅ",
    "ﬀ",
    "½",
    "²",
    "🙂",
    "\uDBFF\uDFFF",
  );
  const raw = fc.oneof(
    fc.array(fc.oneof(pieces, fc.constantFrom(...SEPARATORS)), { maxLength: 40 }).map((p) => p.join("")),
    fc.string({ unit: "binary", maxLength: 60 }),
    fc.string({ unit: "grapheme-ascii", maxLength: 60 }),
    fc.constant(""),
    fc.constant(" \t\n "),
  );
  const normalizeOptions = fc.record<TextNormalizeOptions>({
    lowercase: fc.boolean(),
    masks: fc.constantFrom("drop", "token", "keep"),
    numbers: fc.constantFrom("token", "keep"),
    punctuation: fc.constantFrom("strip", "keep"),
  });

  it("for every option combination on random text", () => {
    fc.assert(
      fc.property(raw, normalizeOptions, (text, o) => {
        expect(normalizeText(text, o), JSON.stringify({ text, o })).toBe(normalizeReference(text, o));
      }),
      { numRuns: 3000, seed: 3 },
    );
  });

  it("on complaint narratives with the defaults and with every mask and number as a token", () => {
    const narratives = complaintsRaw().slice(0, 400);
    const tokens: TextNormalizeOptions = { ...DEFAULT_TEXT_NORMALIZE, masks: "token", lowercase: false };
    for (const o of [DEFAULT_TEXT_NORMALIZE, tokens])
      narratives.forEach((t, i) => {
        expect(normalizeText(t, o), `narrative ${i}`).toBe(normalizeReference(t, o));
      });
  });
});
