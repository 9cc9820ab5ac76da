import { describe, expect, it } from "vitest";
import {
  categoryKey,
  isMissingField,
  MISSING_TOKENS,
  parseNumberField,
} from "../../../src/data/csv-value.js";

describe("one reading of a CSV field (training, batch scoring, service)", () => {
  it.each(["", "NA", "N/A", "null", "NULL", "None", "NaN"])(
    "given the missing token %j, then it is missing, also padded with spaces",
    (token) => {
      expect(MISSING_TOKENS, `${token} is a documented missing token`).toContain(token);
      expect(isMissingField(token), `${JSON.stringify(token)} is missing`).toBe(true);
      expect(isMissingField(` ${token}  `), `${JSON.stringify(` ${token}  `)} is missing`).toBe(true);
    },
  );

  it.each(["0", "na", "n/a", "nan", "none", "missing", "-", "?", '""', "NA NA"])(
    "given %j, then it is a value, not missing",
    (raw) => {
      expect(isMissingField(raw), `${JSON.stringify(raw)} is a value`).toBe(false);
    },
  );

  it.each([
    ["12", 12],
    ["-3.5", -3.5],
    ["+7", 7],
    [" 7 ", 7],
    ["1e3", 1000],
    ["1E-3", 0.001],
    [".5", 0.5],
    ["5.", 5],
    ["0", 0],
    ["-0.0", -0],
    ["007", 7],
  ])("given the plain decimal %j, then it reads as %d", (raw, expected) => {
    expect(parseNumberField(raw), `${JSON.stringify(raw)}`).toBe(expected);
  });

  it.each([
    ["0x31", "hexadecimal (Number() reads 49)"],
    ["0X1F", "hexadecimal, upper case"],
    ["0b1", "binary (Number() reads 1)"],
    ["0o17", "octal (Number() reads 15)"],
    ["-0x31", "signed hexadecimal"],
    ["1_000", "digit separator"],
    ["20,000", "thousands separator"],
    ["Infinity", "not finite"],
    ["-Infinity", "not finite"],
    ["1e999", "overflows to Infinity"],
    [".", "a lone point"],
    ["", "empty (Number() reads 0)"],
    ["   ", "blanks (Number() reads 0)"],
    ["NA", "a missing token is not a number"],
    ["NaN", "NaN is missing, not a number"],
    ["abc", "text"],
    ["1.2.3", "two points"],
    ["e5", "exponent without mantissa"],
    ["1e", "mantissa without exponent digits"],
    ["--1", "double sign"],
    ["12abc", "trailing text"],
  ])("given %j (%s), then it is not a number", (raw) => {
    expect(parseNumberField(raw), `${JSON.stringify(raw)} must not parse`).toBeUndefined();
  });

  it.each([
    ["2", "2"],
    ["2.0", "2"],
    ["02", "2"],
    ["-1", "-1"],
    ["-1.00", "-1"],
    [" 3 ", "3"],
    ["2.5", "2.5"],
    ["a", "a"],
    [" b ", "b"],
    ["0x2", "0x2"],
  ])("given the category %j, then its key is %j", (raw, key) => {
    expect(categoryKey(raw)).toBe(key);
  });
});
