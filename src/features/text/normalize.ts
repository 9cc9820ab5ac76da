// Text normalisation shared by training, batch scoring and the service: one function, plain options (JSON in the
// preprocessor state), so that what a model saw at training time is exactly what it sees when serving.
//
// The CFPB masks personal details before publishing narratives: names, account numbers and places become
// "XXXX" (runs of X, sometimes "XX"), dates become "XX/XX/XXXX" or "XX/XX/2019", and amounts are wrapped as
// "{$1200.00}". Left as words, the masks are among the most frequent tokens and leak into the top features of
// every class (how much a narrative was redacted says something about its product, nothing about its content).

/** How a text column is normalised before tokenising (the train config's `features.text`). */
export interface TextNormalizeOptions {
  /** Lower-case everything (masks are recognised before, so "xxxx" in a narrative is not a mask). */
  lowercase: boolean;
  /** CFPB masks: removed (`drop`), replaced by `__mask__` / `__date__` / `__amount__` (`token`), or left as written. */
  masks: "drop" | "token" | "keep";
  /** Digit runs (with their separators, e.g. 1,200.50): one `__num__` token, or left as written. */
  numbers: "token" | "keep";
  /** Punctuation and symbols: replaced by spaces (`strip`), or kept. */
  punctuation: "strip" | "keep";
}

export const DEFAULT_TEXT_NORMALIZE: TextNormalizeOptions = {
  lowercase: true,
  masks: "drop",
  numbers: "token",
  punctuation: "strip",
};

// A masked date: XX/XX/XXXX, XX/XX/2019, XX/XX/19 (the CFPB keeps the year in some exports).
const MASKED_DATE = /\b(?:XX|\d{1,2})\/(?:XX|\d{1,2})\/(?:XXXX|XX|\d{4}|\d{2})\b/g;
// A masked amount: {$1200.00}, {$ 50.00}, {$1,200}.
const MASKED_AMOUNT = /\{\$\s*[\d,]*(?:\.\d+)?\}/g;
// A masked word: a run of two or more capital X (XXXX, XX, XXXXXXXX), alone as a word.
const MASKED_WORD = /\bX{2,}\b/g;

/**
 * The normalised form of one text (training and serving call exactly this).
 *
 * Masks are regular expressions (each skipped when the text lacks the character it needs); the rest is one pass
 * over the (lower-cased) text that does what these replacements, in this order, do:
 *   numbers      /\d+(?:[.,]\d+)*\/g → " __num__ "
 *   lowercase    toLowerCase()      (done first here: it maps no digit, "." or ",", and a number's replacement
 *                                  starts and ends with a space where the number started and ended with a digit,
 *                                  neither of them cased nor case-ignorable, so even final-sigma context is kept)
 *   punctuation  /[^\p{L}\p{N}_\s]+/gu → " "
 *   whitespace   /\s+/g → " ", then trim()
 * tests/unit/features/text/tfidf-fast.test.ts checks it against that chain on random texts.
 */
export function normalizeText(text: string, o: TextNormalizeOptions): string {
  let out = text;
  if (o.masks !== "keep") {
    const token = (name: string) => (o.masks === "token" ? ` __${name}__ ` : " ");
    if (out.includes("/")) out = out.replace(MASKED_DATE, token("date"));
    if (out.includes("{")) out = out.replace(MASKED_AMOUNT, token("amount"));
    if (out.includes("XX")) out = out.replace(MASKED_WORD, token("mask"));
  }
  if (o.lowercase) out = out.toLowerCase();
  const numbers = o.numbers === "token";
  const strip = o.punctuation === "strip";
  return squeezeAscii(out, numbers, strip) ?? squeeze(out, numbers, strip);
}

// Scratch buffers of the squeeze functions, grown on demand and reused (normalizeText is synchronous).
let bytes = new Uint8Array(0);
let units = new Uint16Array(0);
let utf8: InstanceType<typeof TextDecoder> | undefined;
let utf16: InstanceType<typeof TextDecoder> | undefined;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isAsciiWord = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x5f;

/** Where the number /\d+(?:[.,]\d+)*\/ starting at the digit s[i] ends (greedy, as the regex matches). */
function numberEnd(s: string, i: number): number {
  const length = s.length;
  i++;
  while (i < length && isDigit(s.charCodeAt(i))) i++;
  while (i + 1 < length) {
    const sep = s.charCodeAt(i);
    if (!((sep === 0x2e || sep === 0x2c) && isDigit(s.charCodeAt(i + 1)))) break;
    i += 2;
    while (i < length && isDigit(s.charCodeAt(i))) i++;
  }
  return i;
}

/** Writes " __num__" (the space only after other units) at n; returns the new length. */
function writeNum(buf: Uint8Array | Uint16Array, n: number): number {
  if (n > 0) buf[n++] = 0x20;
  buf[n] = buf[n + 1] = buf[n + 5] = buf[n + 6] = 0x5f;
  buf[n + 2] = 0x6e;
  buf[n + 3] = 0x75;
  buf[n + 4] = 0x6d;
  return n + 7;
}

// Capacity for s: a one-digit number between two others becomes " __num__ " (8 units per unit at most).
const capacity = (s: string) => 8 * s.length + 8;

/**
 * Numbers, punctuation and whitespace of normalizeText in one pass for an ASCII text (bytes in, bytes out);
 * undefined at the first other unit.
 */
function squeezeAscii(s: string, numbers: boolean, strip: boolean): string | undefined {
  if (bytes.length < capacity(s)) bytes = new Uint8Array(capacity(s));
  const buf = bytes;
  asciiClasses ??= asciiClassTable();
  const classes = asciiClasses;
  const length = s.length;
  let n = 0;
  let space = false; // a separator is due before the next unit written
  let i = 0;
  while (i < length) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return undefined;
    const kind = classes[c]!;
    if (kind === DIGIT && numbers) {
      i = numberEnd(s, i);
      n = writeNum(buf, n);
      space = true;
      continue;
    }
    i++;
    if (kind === SPACE || (kind === OTHER && strip)) {
      space = true;
      continue;
    }
    if (space && n > 0) buf[n++] = 0x20;
    space = false;
    buf[n++] = c;
  }
  utf8 ??= new TextDecoder();
  return utf8.decode(buf.subarray(0, n));
}

// ASCII units by what squeezeAscii does with them.
const WORD_UNIT = 0;
const DIGIT = 1;
const SPACE = 2;
const OTHER = 3;
let asciiClasses: Uint8Array | undefined;

function asciiClassTable(): Uint8Array {
  return Uint8Array.from({ length: 0x80 }, (_, c) =>
    isDigit(c) ? DIGIT : isAsciiWord(c) ? WORD_UNIT : isJsSpace(c) ? SPACE : OTHER,
  );
}

/** squeezeAscii for any text: UTF-16 units, letters and digits of every script, surrogate pairs as one. */
function squeeze(s: string, numbers: boolean, strip: boolean): string {
  if (units.length < capacity(s)) units = new Uint16Array(capacity(s));
  const buf = units;
  const length = s.length;
  let n = 0;
  let space = false;
  let surrogates = false;
  let i = 0;
  while (i < length) {
    const c = s.charCodeAt(i);
    if (numbers && isDigit(c)) {
      i = numberEnd(s, i);
      n = writeNum(buf, n);
      space = true;
      continue;
    }
    const cp = codePointAt(s, i);
    const width = cp > 0xffff ? 2 : 1;
    i += width;
    if (isJsSpace(c) || (strip && !isWordCodePoint(cp))) {
      space = true;
      continue;
    }
    if (space && n > 0) buf[n++] = 0x20;
    space = false;
    buf[n++] = c;
    if (width === 2) buf[n++] = s.charCodeAt(i - 1);
    else if (c >= 0xd800 && c <= 0xdfff) surrogates = true;
  }
  // TextDecoder would turn a lone surrogate into U+FFFD: such text is rebuilt from its units.
  if (!surrogates) {
    utf16 ??= new TextDecoder("utf-16le");
    return utf16.decode(buf.subarray(0, n));
  }
  let out = "";
  for (let k = 0; k < n; k += 4096) out += String.fromCharCode(...buf.subarray(k, Math.min(n, k + 4096)));
  return out;
}

// Word characters of /[\p{L}\p{N}_]/u, decided once per BMP unit (0 = not yet, 1 = word, 2 = not).
const WORD_CHAR = /^[\p{L}\p{N}_]$/u;
let bmpClass: Uint8Array | undefined;

/** Whether a code point is a letter, a digit (any script) or "_" — a character of wordTokens' tokens. */
export function isWordCodePoint(cp: number): boolean {
  if (cp > 0xffff) return WORD_CHAR.test(String.fromCodePoint(cp));
  bmpClass ??= new Uint8Array(0x10000);
  let c = bmpClass[cp]!;
  if (c === 0) {
    // A lone surrogate is a code point of its own (category Cs) for a /u regex: not a word character.
    c = cp >= 0xd800 && cp <= 0xdfff ? 2 : WORD_CHAR.test(String.fromCharCode(cp)) ? 1 : 2;
    bmpClass[cp] = c;
  }
  return c === 1;
}

/** The code point at `i` of `s` (a lone surrogate as itself), as for-of, Array.from and /u regexes split strings. */
export function codePointAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
  }
  return c;
}

/** Whether a UTF-16 unit is JavaScript's \s (WhiteSpace or LineTerminator; all of them are in the BMP). */
export function isJsSpace(c: number): boolean {
  return c <= 0x20
    ? c === 0x20 || (c >= 0x09 && c <= 0x0d)
    : c >= 0xa0 &&
        (c === 0xa0 ||
          c === 0x1680 ||
          (c >= 0x2000 && c <= 0x200a) ||
          c === 0x2028 ||
          c === 0x2029 ||
          c === 0x202f ||
          c === 0x205f ||
          c === 0x3000 ||
          c === 0xfeff);
}

const WORD = /[\p{L}\p{N}_]{2,}/gu;

/**
 * The word tokens of a normalised text, in order: runs of two or more letters, digits or underscores (the same
 * tokens as scikit-learn's default token_pattern `(?u)\b\w\w+\b`).
 */
export function wordTokens(normalised: string): string[] {
  return normalised.match(WORD) ?? [];
}
