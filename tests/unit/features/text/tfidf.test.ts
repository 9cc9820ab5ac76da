// TF-IDF (src/features/text/tfidf.ts) and the CSR helpers (sparse.ts): the analyzers, the vocabulary rules, JSON
// state, named errors — and parity with scikit-learn's TfidfVectorizer on real complaint narratives, computed by
// tests/fixtures/python/tfidf_reference.py in the project venv.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  type CsrMatrix,
  csrRows,
  hstackCsr,
  hstackDense,
  rowDot,
  toDense,
} from "../../../../src/features/text/sparse.js";
import {
  charWbNgrams,
  compareCodePoints,
  DEFAULT_TFIDF,
  documentLimits,
  type TfidfOptions,
  TfidfVectorizer,
  tfidfFromJson,
  wordNgrams,
} from "../../../../src/features/text/tfidf.js";
import { projectRoot, venvExecutable } from "../../../../src/shared/project.js";
import { complaintsSample } from "../../../helpers/complaints-text.js";
import { thrownBy } from "../../../helpers/expect-error.js";

const exec = promisify(execFile);

const options = (o: Partial<TfidfOptions> = {}): TfidfOptions => ({ ...DEFAULT_TFIDF, ...o });

interface ReferenceBlock {
  analyzer: string;
  terms: string[];
  idf: number[];
  tieAtCut: boolean;
}
type Reference =
  | {
      name: string;
      blocks: ReferenceBlock[];
      shape: [number, number];
      indptr: number[];
      indices: number[];
      data: number[];
      error?: undefined;
    }
  | { name: string; error: string };

async function sklearnTfidf(
  cases: { name: string; texts: string[]; options: TfidfOptions }[],
): Promise<Reference[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tfidf-reference-"));
  try {
    const request = path.join(dir, "request.json");
    await writeFile(request, JSON.stringify({ cases }));
    const { stdout } = await exec(
      venvExecutable("python"),
      [path.join(projectRoot(), "tests", "fixtures", "python", "tfidf_reference.py"), request],
      { maxBuffer: 512 * 1024 * 1024 },
    );
    return (JSON.parse(stdout) as { results: Reference[] }).results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("TF-IDF = scikit-learn TfidfVectorizer on complaint narratives", () => {
  // The first 300 narratives of the mirror's sample, normalised with the defaults (as the preprocessor does).
  const texts = complaintsSample().texts.slice(0, 300);
  const cases = [
    { name: "unigrams+bigrams, sublinear, minDf 2", options: options() },
    {
      name: "1–3-grams, raw counts, fractional df limits, maxFeatures",
      options: options({ ngramRange: [1, 3], sublinearTf: false, minDf: 0.01, maxDf: 0.5, maxFeatures: 702 }),
    },
    { name: "bigrams only, df count limits", options: options({ ngramRange: [2, 2], minDf: 3, maxDf: 120 }) },
    {
      name: "unigrams + char_wb 2–4-grams with their own cap",
      options: options({ ngramRange: [1, 1], minDf: 1, charNgramRange: [2, 4], charMaxFeatures: 1503 }),
    },
  ];
  // One Python process for every case (importing scikit-learn takes seconds); the last case must fail.
  const reference = sklearnTfidf([
    ...cases.map((c) => ({ ...c, texts })),
    { name: "maxDf < minDf", texts: texts.slice(0, 50), options: options({ minDf: 10, maxDf: 0.1 }) },
  ]);

  it("same vocabulary, idf and l2-normalised values (within 1e-6) for word 1–3-grams, df limits, maxFeatures and char_wb", async () => {
    const references = await reference;
    cases.forEach((c, i) => {
      const ref = references[i]!;
      if (ref.error !== undefined) throw new Error(`${c.name}: scikit-learn failed: ${ref.error}`);
      const v = TfidfVectorizer.fit(texts, c.options);
      expect(v.state.blocks.length, c.name).toBe(ref.blocks.length);
      ref.blocks.forEach((b, k) => {
        // A maxFeatures cut between equal counts would make scikit-learn's choice depend on numpy's sort.
        expect(b.tieAtCut, `${c.name}: the fixture's cut falls between distinct counts`).toBe(false);
        const ours = v.state.blocks[k]!;
        expect(ours.analyzer, c.name).toBe(b.analyzer);
        expect(ours.terms, `${c.name}: block ${k} vocabulary`).toEqual(b.terms);
        ours.idf.forEach((idf, j) => {
          expect(Math.abs(idf - b.idf[j]!), `${c.name}: idf of ${b.terms[j]}`).toBeLessThan(1e-12);
        });
      });
      const x = v.transform(texts);
      expect([x.rows, x.cols], c.name).toEqual(ref.shape);
      expect(Array.from(x.indptr), `${c.name}: row offsets`).toEqual(ref.indptr);
      expect(Array.from(x.indices), `${c.name}: columns`).toEqual(ref.indices);
      let worst = 0;
      x.data.forEach((value, k) => {
        worst = Math.max(worst, Math.abs(value - ref.data[k]!));
      });
      expect(worst, `${c.name}: largest difference of a value`).toBeLessThan(1e-6);
      expect(x.indices.length, `${c.name}: a real matrix`).toBeGreaterThan(3000);
    });
  }, 90_000); // A Python process importing scikit-learn, on a shared machine.

  it("refuses df limits that exclude every document the way scikit-learn does, with a message saying what to change", async () => {
    const texts = complaintsSample().texts.slice(0, 50);
    const ref = (await reference)[cases.length];
    expect(ref!.error).toContain("max_df corresponds to < documents than min_df");
    const e = thrownBy(() => TfidfVectorizer.fit(texts, options({ minDf: 10, maxDf: 0.1 })));
    expect(e.code).toBe("TFIDF_PARAMS_INVALID");
    expect(e.message).toBe(
      "TF-IDF: maxDf 0.1 allows fewer documents (5) than minDf 10 requires (10) on 50 documents; lower minDf or raise maxDf.",
    );
  });
});

describe("TF-IDF analyzers and vocabulary", () => {
  it("word n-grams are runs of wordTokens joined by a space", () => {
    expect(wordNgrams("my credit report is wrong", [1, 2])).toEqual([
      "my",
      "credit",
      "report",
      "is",
      "wrong",
      "my credit",
      "credit report",
      "report is",
      "is wrong",
    ]);
    expect(wordNgrams("a bb cc dd", [2, 3])).toEqual(["bb cc", "bb cc dd", "cc dd"]);
    expect(wordNgrams("bb", [2, 3]), "shorter than the smallest n-gram").toEqual([]);
  });

  it("char_wb n-grams pad each word with spaces; a short word counts once (scikit-learn's rule)", () => {
    expect(charWbNgrams("ab  cde", [2, 3])).toEqual([
      " a",
      "ab",
      "b ",
      " ab",
      "ab ",
      " c",
      "cd",
      "de",
      "e ",
      " cd",
      "cde",
      "de ",
    ]);
    expect(charWbNgrams("a", [3, 5])).toEqual([" a "]);
    // Code points, not UTF-16 units: an emoji is one character.
    expect(charWbNgrams("😀x", [2, 2])).toEqual([" 😀", "😀x", "x "]);
  });

  it("orders terms by code point (Python's order), not by UTF-16 unit", () => {
    const terms = ["\u{1F600}", "\uFF21", "b", "a"].sort(compareCodePoints);
    expect(terms).toEqual(["a", "b", "\uFF21", "\u{1F600}"]);
  });

  it("maxFeatures keeps the most frequent terms; ties at the cut go to the term first in code-point order", () => {
    const v = TfidfVectorizer.fit(
      ["zz yy yy xx", "zz ww", "vv vv"],
      options({ ngramRange: [1, 1], minDf: 1, maxFeatures: 3 }),
    );
    // Counts: yy 2, zz 2, vv 2, xx 1, ww 1 → all three 2s; with maxFeatures 2 the cut falls between vv/yy/zz.
    expect(v.featureNames()).toEqual(["vv", "yy", "zz"]);
    const two = TfidfVectorizer.fit(
      ["zz yy yy xx", "zz ww", "vv vv"],
      options({ ngramRange: [1, 1], minDf: 1, maxFeatures: 2 }),
    );
    expect(two.featureNames()).toEqual(["vv", "yy"]);
  });

  it("transform: unknown terms are ignored, an empty text is a zero row, rows have unit norm", () => {
    const v = TfidfVectorizer.fit(["late fee charged", "fee on loan", "loan late"], options({ minDf: 1 }));
    const x = v.transform(["late fee", "", "nothing known here", "late late loan"]);
    expect(x.rows).toBe(4);
    expect(x.indptr[2]! - x.indptr[1]!, "empty text").toBe(0);
    expect(x.indptr[3]! - x.indptr[2]!, "only unknown terms").toBe(0);
    for (const r of [0, 3]) {
      let s = 0;
      for (let k = x.indptr[r]!; k < x.indptr[r + 1]!; k++) s += x.data[k]! ** 2;
      expect(s).toBeCloseTo(1, 6);
    }
    // sublinear tf: "late" twice weighs (1 + ln 2) × idf before normalising.
    const names = v.featureNames();
    const at = (r: number, term: string) => {
      const c = names.indexOf(term);
      for (let k = x.indptr[r]!; k < x.indptr[r + 1]!; k++) if (x.indices[k] === c) return x.data[k]!;
      return 0;
    };
    const idf = (term: string) => v.state.blocks[0]!.idf[names.indexOf(term)]!;
    expect(at(3, "late") / at(3, "loan")).toBeCloseTo(((1 + Math.log(2)) * idf("late")) / idf("loan"), 5);
  });

  it("is deterministic, and its JSON state round-trips to identical matrices", () => {
    const texts = complaintsSample().texts.slice(0, 120);
    const o = options({ ngramRange: [1, 2], charNgramRange: [3, 4], charMaxFeatures: 400, maxFeatures: 800 });
    const a = TfidfVectorizer.fit(texts, o);
    const b = TfidfVectorizer.fit(texts, o);
    expect(JSON.stringify(a.state)).toBe(JSON.stringify(b.state));
    const loaded = tfidfFromJson(JSON.parse(JSON.stringify(a.state)), "test");
    expect(loaded.transform(texts)).toEqual(a.transform(texts));
    expect(a.size).toBe(1200);
    expect(a.featureNames().filter((n) => n.startsWith("char:")).length).toBe(400);
    expect(a.featureNames()).toContain('char:" cr"');
  });

  it("refuses bad options with TFIDF_PARAMS_INVALID and a vocabulary pruned to nothing with TFIDF_EMPTY_VOCABULARY", () => {
    const texts = ["one two", "three four"];
    const cases: [Partial<TfidfOptions>, string][] = [
      [{ ngramRange: [2, 1] }, "TF-IDF: ngramRange [2, 1] must be whole numbers with 1 ≤ min ≤ max."],
      [{ charNgramRange: [0, 3] }, "TF-IDF: charNgramRange [0, 3] must be whole numbers with 1 ≤ min ≤ max."],
      [
        { minDf: 1.5 },
        "TF-IDF: minDf 1.5 is neither a fraction in [0, 1) nor a whole number of documents ≥ 1.",
      ],
      [
        { maxDf: 2.5 },
        "TF-IDF: maxDf 2.5 is neither a fraction in (0, 1] nor a whole number of documents > 1.",
      ],
      [{ maxDf: 0 }, "TF-IDF: maxDf 0 is neither a fraction in (0, 1] nor a whole number of documents > 1."],
      [{ maxFeatures: 0 }, "TF-IDF: maxFeatures 0 must be a whole number ≥ 1 (or null for all terms)."],
    ];
    for (const [o, message] of cases) {
      const e = thrownBy(() => TfidfVectorizer.fit(texts, options(o)));
      expect(e.code, message).toBe("TFIDF_PARAMS_INVALID");
      expect(e.message).toBe(message);
    }
    expect(thrownBy(() => TfidfVectorizer.fit([], options())).message).toBe(
      "TF-IDF: no training texts to fit on.",
    );
    const empty = thrownBy(() => TfidfVectorizer.fit(texts, options({ minDf: 2 })));
    expect(empty.code).toBe("TFIDF_EMPTY_VOCABULARY");
    expect(empty.message).toBe(
      "TF-IDF: no word n-gram of the 2 training texts is in at least minDf = 2 and at most maxDf = 1 documents; lower minDf or raise maxDf (or check that the text column is not empty).",
    );
    expect(documentLimits(0.5, 1, 10)).toEqual({ min: 5, max: 10 });
    expect(documentLimits(2, 4, 10)).toEqual({ min: 2, max: 4 });
  });

  it("refuses a damaged state with TFIDF_STATE_INVALID naming the problem", () => {
    const good = TfidfVectorizer.fit(["aa bb", "bb cc"], options({ minDf: 1 })).state;
    const cases: [unknown, string][] = [
      [null, "it is not a JSON object"],
      [{ ...good, format: "other" }, "it is not a workbench-tfidf file"],
      [{ ...good, version: 2 }, "format version 2; this build reads 1"],
      [{ ...good, blocks: [] }, "it has no blocks"],
      [{ ...good, blocks: [{ ...good.blocks[0]!, analyzer: "char" }] }, "block 0 has analyzer char"],
      [{ ...good, blocks: [{ ...good.blocks[0]!, idf: [1] }] }, "block 0 needs one idf ≥ 1 per term"],
      [
        { ...good, blocks: [{ ...good.blocks[0]!, terms: ["aa", "aa", "bb", "bb cc", "cc"] }] },
        "block 0 repeats a term",
      ],
    ];
    for (const [state, problem] of cases) {
      const e = thrownBy(() => tfidfFromJson(state, "/models/x"));
      expect(e.code).toBe("TFIDF_STATE_INVALID");
      expect(e.message).toBe(`The TF-IDF vocabulary in /models/x cannot be loaded: ${problem}.`);
    }
  });
});

describe("CSR helpers", () => {
  const m: CsrMatrix = {
    rows: 3,
    cols: 4,
    indptr: Int32Array.from([0, 2, 2, 3]),
    indices: Int32Array.from([0, 3, 1]),
    data: Float32Array.from([1, 2, 3]),
  };

  it("slices rows, stacks sparse and dense columns, densifies and takes row dot products", () => {
    const picked = csrRows(m, Int32Array.from([2, 0]));
    expect(Array.from(toDense(picked))).toEqual([0, 3, 0, 0, 1, 0, 0, 2]);
    const stacked = hstackCsr(m, m);
    expect(stacked.cols).toBe(8);
    expect(Array.from(toDense(stacked)).slice(0, 8)).toEqual([1, 0, 0, 2, 1, 0, 0, 2]);
    const dense = {
      rows: 3,
      cols: 2,
      values: Float32Array.from([5, 0, Number.NaN, 7, 0, 0]),
      featureNames: ["u", "v"],
    };
    const withDense = hstackDense(m, dense);
    expect(withDense.cols).toBe(6);
    expect(Array.from(toDense(withDense)), "zeros and NaN are not stored (NaN → 0)").toEqual([
      1, 0, 0, 2, 5, 0, 0, 0, 0, 0, 0, 7, 0, 3, 0, 0, 0, 0,
    ]);
    expect(withDense.indices.length).toBe(5);
    expect(hstackDense(m, { rows: 3, cols: 0, values: new Float32Array(0), featureNames: [] })).toBe(m);
    expect(rowDot(m, 0, Float64Array.from([10, 0, 0, 1]))).toBe(12);
    expect(() => hstackCsr(m, csrRows(m, Int32Array.from([0])))).toThrow(RangeError);
  });
});
