import { describe, expect, it } from "vitest";
import {
  DEFAULT_TEXT_NORMALIZE,
  normalizeText,
  type TextNormalizeOptions,
  wordTokens,
} from "../../../../src/features/text/normalize.js";

const narrative =
  'On XX/XX/2019 I paid {$1200.00} to XXXX XXXX, account XXXXXXXX. They said: "We never got it!" Call 555-1234.';

describe("text normalisation (CFPB narratives)", () => {
  it("given the defaults, then masks, amounts and dates are dropped, numbers become __num__, case and punctuation go", () => {
    expect(normalizeText(narrative, DEFAULT_TEXT_NORMALIZE)).toBe(
      "on i paid to account they said we never got it call __num__ __num__",
    );
  });

  it("given masks: token, then each mask kind becomes its own token", () => {
    const o: TextNormalizeOptions = { ...DEFAULT_TEXT_NORMALIZE, masks: "token" };
    expect(normalizeText(narrative, o)).toBe(
      "on __date__ i paid __amount__ to __mask__ __mask__ account __mask__ they said we never got it call __num__ __num__",
    );
    expect(normalizeText("due XX/XX/XXXX, then {$ 50.00} and {$1,200}", o)).toBe(
      "due __date__ then __amount__ and __amount__",
    );
  });

  it("given masks: keep and numbers: keep, then the words are only lower-cased and unpunctuated", () => {
    const o: TextNormalizeOptions = { lowercase: true, masks: "keep", numbers: "keep", punctuation: "strip" };
    expect(normalizeText("XXXX owes $1,200.50!", o)).toBe("xxxx owes 1 200 50");
  });

  it("given lowercase: false and punctuation: keep, then the text is kept apart from whitespace", () => {
    const o: TextNormalizeOptions = { lowercase: false, masks: "keep", numbers: "keep", punctuation: "keep" };
    expect(normalizeText("  Hello,\n\tWorld!  ", o)).toBe("Hello, World!");
  });

  it("given a lower-case 'xxxx' or a word containing XX, then it is not a mask", () => {
    expect(normalizeText("the xxxx and XXL sizes", DEFAULT_TEXT_NORMALIZE)).toBe("the xxxx and xxl sizes");
  });

  it("given non-Latin letters and digits, then tokens keep them (like scikit-learn's (?u)\\b\\w\\w+\\b)", () => {
    const normalised = normalizeText("Préstamo de vivienda: 3 años, a b ñu", {
      ...DEFAULT_TEXT_NORMALIZE,
      numbers: "keep",
    });
    expect(wordTokens(normalised)).toEqual(["préstamo", "de", "vivienda", "años", "ñu"]);
    expect(wordTokens("")).toEqual([]);
    expect(wordTokens("__num__ ok")).toEqual(["__num__", "ok"]);
  });
});
