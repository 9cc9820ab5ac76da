// The grammar of GitHub Actions expressions, the subset our workflows use: literals, contexts with `.name`
// and `[index]` access, `!`, comparisons, `==`/`!=`, `&&`, `||`, parentheses and function calls.
// Anything else throws, naming what it could not read.

/** Thrown for syntax or names the simulated runner does not support. */
export class ExpressionError extends Error {
  override name = "ExpressionError";
}

type Token =
  | { t: "str"; v: string }
  | { t: "num"; v: number }
  | { t: "id"; v: string }
  | { t: "op"; v: string };

export type Node =
  | { k: "lit"; v: string | number | boolean | null }
  | { k: "ctx"; name: string }
  | { k: "prop"; obj: Node; key: Node }
  | { k: "not"; x: Node }
  | { k: "bin"; op: string; l: Node; r: Node }
  | { k: "call"; fn: string; args: Node[] };

const OPS = ["||", "&&", "==", "!=", "<=", ">=", "<", ">", "!", "(", ")", "[", "]", ".", ",", "*"];
const STATUS_FUNCTIONS = new Set(["always", "success", "failure", "cancelled"]);

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let v = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new ExpressionError(`Unterminated string literal in '${src}'`);
        if (src[i] === "'" && src[i + 1] === "'") {
          v += "'";
          i += 2;
        } else if (src[i] === "'") {
          i++;
          break;
        } else v += src[i++];
      }
      tokens.push({ t: "str", v });
    } else if (/[0-9]/.test(c) || (c === "-" && /[0-9]/.test(src[i + 1] ?? ""))) {
      const m = /^-?(0x[0-9a-f]+|\d+(\.\d+)?(e[+-]?\d+)?)/i.exec(src.slice(i))!;
      tokens.push({ t: "num", v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!;
      tokens.push({ t: "id", v: m[0] });
      i += m[0].length;
    } else {
      const op = OPS.find((o) => src.startsWith(o, i));
      if (!op) throw new ExpressionError(`Unsupported syntax '${src.slice(i)}' in expression '${src}'`);
      tokens.push({ t: "op", v: op });
      i += op.length;
    }
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly src: string,
  ) {}

  parse(): Node {
    const node = this.or();
    if (this.i < this.tokens.length) this.fail(`unexpected '${this.tokens[this.i]!.v}'`);
    return node;
  }

  private fail(problem: string): never {
    throw new ExpressionError(`Cannot parse expression '${this.src}': ${problem}`);
  }
  private peekOp(...ops: string[]): string | undefined {
    const t = this.tokens[this.i];
    return t?.t === "op" && ops.includes(t.v) ? t.v : undefined;
  }
  private expect(op: string): void {
    if (!this.peekOp(op)) this.fail(`expected '${op}'`);
    this.i++;
  }
  private binary(ops: string[], next: () => Node): Node {
    let left = next();
    for (let op = this.peekOp(...ops); op; op = this.peekOp(...ops)) {
      this.i++;
      left = { k: "bin", op, l: left, r: next() };
    }
    return left;
  }
  private or = (): Node => this.binary(["||"], this.and);
  private and = (): Node => this.binary(["&&"], this.eq);
  private eq = (): Node => this.binary(["==", "!="], this.cmp);
  private cmp = (): Node => this.binary(["<", "<=", ">", ">="], this.unary);
  private unary = (): Node => {
    if (this.peekOp("!")) {
      this.i++;
      return { k: "not", x: this.unary() };
    }
    return this.postfix();
  };
  private postfix(): Node {
    let node = this.primary();
    for (;;) {
      if (this.peekOp(".")) {
        this.i++;
        const t = this.tokens[this.i++];
        if (t?.t !== "id") this.fail("expected a property name after '.' ('.*' filters are not supported)");
        node = { k: "prop", obj: node, key: { k: "lit", v: t.v } };
      } else if (this.peekOp("[")) {
        this.i++;
        const key = this.or();
        this.expect("]");
        node = { k: "prop", obj: node, key };
      } else return node;
    }
  }
  private primary(): Node {
    const t = this.tokens[this.i++];
    if (!t) return this.fail("unexpected end");
    if (t.t === "str" || t.t === "num") return { k: "lit", v: t.v };
    if (t.t === "op" && t.v === "(") {
      const inner = this.or();
      this.expect(")");
      return inner;
    }
    if (t.t !== "id") return this.fail(`unexpected '${t.v}'`);
    const word = t.v.toLowerCase();
    if (word === "true" || word === "false") return { k: "lit", v: word === "true" };
    if (word === "null") return { k: "lit", v: null };
    if (this.peekOp("(")) {
      this.i++;
      const args: Node[] = [];
      if (!this.peekOp(")")) {
        args.push(this.or());
        while (this.peekOp(",")) {
          this.i++;
          args.push(this.or());
        }
      }
      this.expect(")");
      return { k: "call", fn: word, args };
    }
    return { k: "ctx", name: word };
  }
}

/** Parses an expression (the text between `${{` and `}}`); throws ExpressionError on unsupported syntax. */
export function parseExpression(src: string): Node {
  return new Parser(tokenize(src), src).parse();
}

export function usesStatusFunction(node: Node): boolean {
  switch (node.k) {
    case "call":
      return STATUS_FUNCTIONS.has(node.fn) || node.args.some(usesStatusFunction);
    case "bin":
      return usesStatusFunction(node.l) || usesStatusFunction(node.r);
    case "not":
      return usesStatusFunction(node.x);
    case "prop":
      return usesStatusFunction(node.obj) || usesStatusFunction(node.key);
    default:
      return false;
  }
}
