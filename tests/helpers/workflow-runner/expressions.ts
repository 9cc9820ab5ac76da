// GitHub Actions expressions (`${{ … }}`), the subset our workflows use, with GitHub's semantics: loose
// equality (case-insensitive strings, numeric coercion across types), `||`/`&&` returning an operand,
// case-insensitive property names, null for missing properties. Anything outside the subset throws, so a
// test fails loudly instead of a workflow silently evaluating to something GitHub would not.

import { ExpressionError, type Node, parseExpression, usesStatusFunction } from "./expression-parser.js";

export { ExpressionError, parseExpression } from "./expression-parser.js";

/** A value an expression can produce. */
export type ExprValue = string | number | boolean | null | ExprValue[] | { [key: string]: ExprValue } | Scope;

/**
 * A context object with a policy for missing keys: "null" (GitHub's behaviour), "empty" (secrets and vars
 * read as ''), or "throw" (a typo such as `github.evnt` or an undeclared step id fails the test).
 */
export class Scope {
  constructor(
    readonly label: string,
    readonly entries: Record<string, ExprValue>,
    readonly missing: "null" | "empty" | "throw" = "null",
  ) {}
}

/** Job status the status functions read. */
export interface StatusState {
  failed: boolean;
}

export interface ExprContext {
  /** Contexts by name (github, inputs, env, steps…); a context absent here is "not available" at this place. */
  contexts: Record<string, Scope>;
  status: StatusState;
}

/** GitHub's truthiness: false, 0, NaN, '' and null are falsy. */
export function truthy(v: ExprValue): boolean {
  if (v === null) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0 && !Number.isNaN(v);
  if (typeof v === "string") return v !== "";
  return true;
}

function toNumber(v: ExprValue): number {
  if (v === null) return 0;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return v;
  if (typeof v === "string") return v.trim() === "" ? 0 : Number(v.trim());
  return Number.NaN;
}

/** How a value reads when interpolated into a string (null → ''). */
export function toText(v: ExprValue): string {
  if (v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  return JSON.stringify(v instanceof Scope ? v.entries : v);
}

function looseEquals(a: ExprValue, b: ExprValue): boolean {
  const kind = (v: ExprValue) => (v === null ? "null" : typeof v);
  if (kind(a) === kind(b)) {
    if (typeof a === "string") return a.toLowerCase() === (b as string).toLowerCase();
    return a === b;
  }
  return toNumber(a) === toNumber(b);
}

function compare(op: string, a: ExprValue, b: ExprValue): boolean {
  const [x, y] =
    typeof a === "string" && typeof b === "string"
      ? [a.toLowerCase(), b.toLowerCase()]
      : [toNumber(a), toNumber(b)];
  if (op === "<") return x < y;
  if (op === "<=") return x <= y;
  if (op === ">") return x > y;
  return x >= y;
}

function property(obj: ExprValue, key: ExprValue): ExprValue {
  if (obj instanceof Scope) {
    const name = toText(key);
    const found = Object.keys(obj.entries).find((k) => k.toLowerCase() === name.toLowerCase());
    if (found !== undefined) return obj.entries[found]!;
    if (obj.missing === "throw") {
      throw new ExpressionError(
        `'${obj.label}.${name}' is not known to the local runner (known: ${Object.keys(obj.entries).join(", ")})`,
      );
    }
    return obj.missing === "empty" ? "" : null;
  }
  if (Array.isArray(obj)) return typeof key === "number" ? (obj[key] ?? null) : null;
  if (obj !== null && typeof obj === "object") {
    const name = toText(key).toLowerCase();
    const found = Object.keys(obj).find((k) => k.toLowerCase() === name);
    return found === undefined ? null : obj[found]!;
  }
  return null;
}

function format(template: string, args: ExprValue[]): string {
  return template.replace(/\{\{|\}\}|\{(\d+)\}/g, (match, index: string | undefined) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    const arg = args[Number(index)];
    if (arg === undefined) throw new ExpressionError(`format('${template}'): no argument ${index}`);
    return toText(arg);
  });
}

function callFunction(fn: string, args: ExprValue[], ctx: ExprContext): ExprValue {
  const arity = (n: number) => {
    if (args.length !== n) throw new ExpressionError(`${fn}() takes ${n} argument(s), got ${args.length}`);
  };
  switch (fn) {
    case "always":
      arity(0);
      return true;
    case "success":
      arity(0);
      return !ctx.status.failed;
    case "failure":
      arity(0);
      return ctx.status.failed;
    case "cancelled":
      arity(0);
      return false;
    case "format":
      if (args.length < 1) throw new ExpressionError("format() needs a template");
      return format(toText(args[0]!), args.slice(1));
    case "contains": {
      arity(2);
      const [haystack, needle] = args as [ExprValue, ExprValue];
      if (Array.isArray(haystack)) return haystack.some((item) => looseEquals(item, needle));
      return toText(haystack).toLowerCase().includes(toText(needle).toLowerCase());
    }
    case "startswith":
      arity(2);
      return toText(args[0]!).toLowerCase().startsWith(toText(args[1]!).toLowerCase());
    case "endswith":
      arity(2);
      return toText(args[0]!).toLowerCase().endsWith(toText(args[1]!).toLowerCase());
    default:
      throw new ExpressionError(`Function '${fn}()' is not supported by the local runner`);
  }
}

function evaluateNode(node: Node, ctx: ExprContext): ExprValue {
  switch (node.k) {
    case "lit":
      return node.v;
    case "ctx": {
      const scope = ctx.contexts[node.name];
      if (scope === undefined) {
        throw new ExpressionError(
          `Context '${node.name}' is not available here (available: ${Object.keys(ctx.contexts).join(", ")})`,
        );
      }
      return scope;
    }
    case "prop":
      return property(evaluateNode(node.obj, ctx), evaluateNode(node.key, ctx));
    case "not":
      return !truthy(evaluateNode(node.x, ctx));
    case "call":
      return callFunction(
        node.fn,
        node.args.map((a) => evaluateNode(a, ctx)),
        ctx,
      );
    case "bin": {
      const left = evaluateNode(node.l, ctx);
      if (node.op === "||") return truthy(left) ? left : evaluateNode(node.r, ctx);
      if (node.op === "&&") return truthy(left) ? evaluateNode(node.r, ctx) : left;
      const right = evaluateNode(node.r, ctx);
      if (node.op === "==") return looseEquals(left, right);
      if (node.op === "!=") return !looseEquals(left, right);
      return compare(node.op, left, right);
    }
  }
}

/** Evaluates one expression (without the `${{ }}`). */
export function evaluate(src: string, ctx: ExprContext): ExprValue {
  return evaluateNode(parseExpression(src), ctx);
}

/** Splits a YAML value into literal text and `${{ … }}` expressions (quotes inside expressions respected). */
function templateParts(text: string): ({ text: string } | { expr: string })[] {
  const parts: ({ text: string } | { expr: string })[] = [];
  let rest = text;
  for (let open = rest.indexOf("${{"); open >= 0; open = rest.indexOf("${{")) {
    if (open > 0) parts.push({ text: rest.slice(0, open) });
    let i = open + 3;
    let quoted = false;
    for (; i < rest.length; i++) {
      if (rest[i] === "'") quoted = !quoted;
      else if (!quoted && rest.startsWith("}}", i)) break;
    }
    if (i >= rest.length) throw new ExpressionError(`Unclosed '\${{' in '${text}'`);
    parts.push({ expr: rest.slice(open + 3, i) });
    rest = rest.slice(i + 2);
  }
  if (rest !== "") parts.push({ text: rest });
  return parts;
}

/** A YAML value with `${{ }}` interpolated: one whole expression keeps its type, anything else is text. */
export function interpolate(value: string, ctx: ExprContext): ExprValue {
  const parts = templateParts(value);
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only && "expr" in only) return evaluate(only.expr, ctx);
  return parts.map((p) => ("expr" in p ? toText(evaluate(p.expr, ctx)) : p.text)).join("");
}

/** `interpolate` then text, for env values, `with:` inputs, names and run scripts. */
export function interpolateText(value: unknown, ctx: ExprContext): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  if (typeof value !== "string") throw new ExpressionError(`Expected a scalar, got ${JSON.stringify(value)}`);
  return toText(interpolate(value, ctx));
}

/**
 * A step or job `if:`. As on GitHub: `${{ }}` is optional, and a condition without a status function
 * means `success() && (condition)`. Text around an expression would make the condition a non-empty string
 * (always true on GitHub), so it throws here.
 */
export function evaluateCondition(condition: unknown, ctx: ExprContext): boolean {
  if (condition === undefined || condition === null) return !ctx.status.failed;
  if (typeof condition === "boolean") return condition && !ctx.status.failed;
  if (typeof condition !== "string") throw new ExpressionError(`if: must be a string, got ${condition}`);
  const trimmed = condition.trim();
  let src = trimmed;
  if (trimmed.includes("${{")) {
    const parts = templateParts(trimmed);
    const only = parts.length === 1 ? parts[0] : undefined;
    if (!only || !("expr" in only)) {
      throw new ExpressionError(`if: '${condition}' mixes text and \${{ }}: GitHub would always run it`);
    }
    src = only.expr;
  }
  const node = parseExpression(src);
  if (!usesStatusFunction(node) && ctx.status.failed) return false;
  return truthy(evaluateNode(node, ctx));
}
