import { describe, expect, it } from "vitest";
import { DEFAULT_TEXT_NORMALIZE, normalizeText } from "../../../../src/features/text/normalize.js";
import { FIRST_WORD_ID, OOV_ID, PAD_ID, Tokenizer } from "../../../../src/features/text/tokenizer.js";
import { thrownBy } from "../../../helpers/expect-error.js";

const texts = [
  "late fee charged on my mortgage",
  "the late fee was charged again",
  "debt collector called about a debt",
  "mortgage escrow late",
];

describe("Tokenizer: vocabulary fitted on normalised training texts", () => {
  it("keeps words seen minFrequency times, most frequent first, ties in code-point order; ids 0 and 1 reserved", () => {
    const t = Tokenizer.fit(texts, { minFrequency: 2, maxSize: 100 });
    // late ×3; charged, debt, fee, mortgage ×2 (ties sorted); the rest once.
    expect(t.vocabulary, "frequency order, then code-point order").toEqual([
      "late",
      "charged",
      "debt",
      "fee",
      "mortgage",
    ]);
    expect(t.id("late")).toBe(FIRST_WORD_ID);
    expect(t.id("mortgage")).toBe(FIRST_WORD_ID + 4);
    expect(t.id("escrow"), "a word seen once is out of vocabulary").toBe(OOV_ID);
    expect(t.size, "vocabulary plus padding and OOV").toBe(7);
    expect([PAD_ID, OOV_ID, FIRST_WORD_ID]).toEqual([0, 1, 2]);
  });

  it("maxSize keeps the most frequent words only", () => {
    const t = Tokenizer.fit(texts, { minFrequency: 1, maxSize: 3 });
    expect(t.vocabulary).toEqual(["late", "charged", "debt"]);
  });

  it("tokens are the wordTokens of the normalised text (one-letter words and punctuation dropped)", () => {
    const t = Tokenizer.fit(["a b cd, ef! cd"], { minFrequency: 1, maxSize: 10 });
    expect(t.vocabulary).toEqual(["cd", "ef"]);
  });

  it("the same texts give the same vocabulary whatever their order (deterministic ties)", () => {
    const a = Tokenizer.fit(texts, { minFrequency: 1, maxSize: 100 });
    const b = Tokenizer.fit([...texts].reverse(), { minFrequency: 1, maxSize: 100 });
    expect(b.vocabulary).toEqual(a.vocabulary);
  });

  it("encodes to rows × maxLength ids, padded with 0 at the end, truncated at the end by default", () => {
    const t = Tokenizer.fit(texts, { minFrequency: 2, maxSize: 100 });
    const e = t.encode(["late fee", "mortgage late fee charged debt unknown"], { maxLength: 4 });
    expect(e.rows).toBe(2);
    expect(e.maxLength).toBe(4);
    expect(Array.from(e.ids)).toEqual([2, 5, 0, 0, 6, 2, 5, 3]);
    expect(e.tokens, "tokens counted before truncation").toBe(8);
    expect(e.oov).toBe(1);
    expect(e.oovRate).toBeCloseTo(1 / 8, 10);
    expect(e.truncated).toBe(1);
  });

  it("truncation 'start' keeps the last tokens; padding 'start' pads before the tokens", () => {
    const t = Tokenizer.fit(texts, { minFrequency: 2, maxSize: 100 });
    const e = t.encode(["mortgage late fee charged debt", "late"], {
      maxLength: 3,
      truncation: "start",
      padding: "start",
    });
    expect(Array.from(e.ids)).toEqual([5, 3, 4, 0, 0, 2]);
  });

  it("an empty text is all padding and counts no token", () => {
    const t = Tokenizer.fit(texts, { minFrequency: 1, maxSize: 100 });
    const e = t.encode(["", "   "], { maxLength: 3 });
    expect(Array.from(e.ids)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(e.oovRate, "no token: an OOV rate of 0, not NaN").toBe(0);
  });

  it("JSON state round-trips to the same ids", () => {
    const t = Tokenizer.fit(texts, { minFrequency: 1, maxSize: 100 });
    const back = Tokenizer.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect(back.vocabulary).toEqual(t.vocabulary);
    expect(back.options).toEqual(t.options);
    expect(back.encode(texts, { maxLength: 8 }).ids).toEqual(t.encode(texts, { maxLength: 8 }).ids);
  });

  it("on the CFPB complaints wording: masks dropped by the normaliser never reach the vocabulary", () => {
    const raw = [
      "On XX/XX/2019 I paid {$1200.00} to XXXX XXXX for my mortgage.",
      "XXXX called me about a debt of {$50.00} on XX/XX/XXXX.",
    ];
    const t = Tokenizer.fit(
      raw.map((r) => normalizeText(r, DEFAULT_TEXT_NORMALIZE)),
      { minFrequency: 1, maxSize: 100 },
    );
    expect(
      t.vocabulary.some((w) => /x{2,}/i.test(w)),
      "no mask word",
    ).toBe(false);
    expect(t.vocabulary).toContain("mortgage");
  });

  describe("bad input", () => {
    for (const [name, options] of [
      ["minFrequency 0", { minFrequency: 0, maxSize: 10 }],
      ["minFrequency 1.5", { minFrequency: 1.5, maxSize: 10 }],
      ["maxSize 0", { minFrequency: 1, maxSize: 0 }],
      ["maxSize NaN", { minFrequency: 1, maxSize: Number.NaN }],
    ] as const)
      it(`refuses ${name} with TOKENIZER_PARAMS_INVALID`, () => {
        const error = thrownBy(() => Tokenizer.fit(texts, options));
        expect(error.code).toBe("TOKENIZER_PARAMS_INVALID");
        const param = name.split(" ")[0]!;
        expect(error.message).toMatch(new RegExp(`^Tokenizer: ${param} must be a positive integer \\(got `));
      });

    it("refuses maxLength 0 and an unknown truncation with TOKENIZER_PARAMS_INVALID", () => {
      const t = Tokenizer.fit(texts, { minFrequency: 1, maxSize: 10 });
      const length = thrownBy(() => t.encode(texts, { maxLength: 0 }));
      expect(length.code).toBe("TOKENIZER_PARAMS_INVALID");
      expect(length.message).toBe("Tokenizer: maxLength must be a positive integer (got 0).");
      const truncation = thrownBy(() => t.encode(texts, { truncation: "middle" as unknown as "end" }));
      expect(truncation.code).toBe("TOKENIZER_PARAMS_INVALID");
      expect(truncation.message).toBe('Tokenizer: truncation must be "end" or "start" (got "middle").');
    });

    it("no word frequent enough: TOKENIZER_VOCABULARY_EMPTY saying what to change", () => {
      const error = thrownBy(() => Tokenizer.fit(["one two", "three"], { minFrequency: 2, maxSize: 10 }));
      expect(error.code).toBe("TOKENIZER_VOCABULARY_EMPTY");
      expect(error.message).toBe(
        "Tokenizer: no word occurs 2 times or more in the 2 training texts; lower minFrequency or check that the text column is not empty.",
      );
    });

    it("a damaged state: TOKENIZER_STATE_INVALID naming the field", () => {
      const wrongVersion = thrownBy(() =>
        Tokenizer.fromJSON({ version: 2, minFrequency: 1, maxSize: 5, vocabulary: ["a"] }),
      );
      expect(wrongVersion.code).toBe("TOKENIZER_STATE_INVALID");
      expect(wrongVersion.message).toMatch(/^Tokenizer state is invalid \(version: /);
      const duplicates = thrownBy(() =>
        Tokenizer.fromJSON({ version: 1, minFrequency: 1, maxSize: 5, vocabulary: ["aa", "aa"] }),
      );
      expect(duplicates.code).toBe("TOKENIZER_STATE_INVALID");
      expect(duplicates.message).toBe(
        "Tokenizer state is invalid (duplicate words or more words than maxSize); the model folder is damaged.",
      );
      expect(thrownBy(() => Tokenizer.fromJSON("nonsense")).code).toBe("TOKENIZER_STATE_INVALID");
    });
  });
});
