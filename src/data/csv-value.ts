/**
 * One reading of a CSV field, shared by training (data/validate.ts), batch scoring and the service's CSV
 * bodies: what counts as missing, and what counts as a number. `Number()` alone is too lenient: it reads
 * "0x31" as 49, "0b1" as 1, "" as 0 and " 7 " as 7, so a corrupted field would be scored silently.
 */

/** Field values read as missing (after trimming): empty, NA, N/A, null, NULL, None, NaN. */
export const MISSING_TOKENS: readonly string[] = ["", "NA", "N/A", "null", "NULL", "None", "NaN"];

const missing = new Set(MISSING_TOKENS);

/** True when a raw CSV field means "no value". */
export function isMissingField(raw: string): boolean {
  return missing.has(raw.trim());
}

// Plain decimal notation with an optional exponent: "12", "-3.5", ".5", "1e-3", "+7". No hex/binary/octal
// prefixes, no digit separators, no "Infinity".
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The number a CSV field holds, or undefined when it is not plain decimal notation or not finite. */
export function parseNumberField(raw: string): number | undefined {
  const text = raw.trim();
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** A category code as written in a manifest: "2", "2.0" and "02" all mean category "2". */
export function categoryKey(raw: string): string {
  const text = raw.trim();
  return /^-?\d+(\.0+)?$/.test(text) ? String(Number(text)) : text;
}
