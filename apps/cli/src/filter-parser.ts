/**
 * The `--filter` mini-language (grammar in EBNF in the README): comparisons `key op value`
 * combined with `and`, `or`, `not` and parentheses, compiled to core's `MetadataFilters`.
 * A small recursive-descent parser; every error is an INVALID_ARGUMENT StorageError whose
 * message ends with the filter text and a caret under the offending column.
 */
import {
  FILTER_LIMITS,
  type FilterOperator,
  type FilterScalar,
  type FilterValue,
  type MetadataFilter,
  type MetadataFilters,
  StorageError,
  validateFilters,
} from "@larder/core";

type TokenKind = "ident" | "string" | "number" | "punct" | "eof";
interface Token {
  kind: TokenKind;
  text: string;
  /** Decoded value for strings and numbers. */
  value?: string | number;
  /** 0-based offset in the input. */
  pos: number;
}

const PUNCT = ["==", "!=", ">=", "<=", "~*", "(", ")", "[", "]", ",", "=", ">", "<", "~"];

/** Symbolic and word operators (case-insensitive words) -> core operator. */
const OPERATORS: Record<string, FilterOperator> = {
  "==": "==",
  "=": "==",
  "!=": "!=",
  ">": ">",
  ">=": ">=",
  "<": "<",
  "<=": "<=",
  "~": "text_match",
  "~*": "text_match_insensitive",
  in: "in",
  nin: "nin",
  any: "any",
  all: "all",
  contains: "contains",
  text_match: "text_match",
  text_match_insensitive: "text_match_insensitive",
};

const KEYWORDS = new Set(["and", "or", "not", "true", "false", "null", "is_empty", ...Object.keys(OPERATORS).filter((k) => /^[a-z]/.test(k))]);


/** Characters of the filter echoed on each side of the caret when the filter is long. */
const ECHO = 60;

function fail(input: string, pos: number, message: string): never {
  const col = pos + 1;
  // A long filter is echoed around the error only, so the caret line stays readable.
  let shown = input;
  let caret = pos;
  if (input.length > 2 * ECHO + 20) {
    const from = Math.max(0, pos - ECHO);
    const to = Math.min(input.length, pos + ECHO);
    shown = `${from > 0 ? "…" : ""}${input.slice(from, to)}${to < input.length ? "…" : ""}`;
    caret = pos - from + (from > 0 ? 1 : 0);
  }
  throw new StorageError("INVALID_ARGUMENT", `invalid --filter at column ${col}: ${message}\n  ${shown}\n  ${" ".repeat(caret)}^`, {
    details: { column: col, input: input.length > 1000 ? `${input.slice(0, 1000)}…` : input },
  });
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      let out = "";
      i++;
      for (;;) {
        if (i >= input.length) fail(input, start, `unterminated string (missing closing ${c})`);
        const ch = input[i]!;
        if (ch === c) {
          i++;
          break;
        }
        if (ch === "\\") {
          const n = input[i + 1];
          const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'" };
          if (n === "u" && /^[0-9a-fA-F]{4}$/.test(input.slice(i + 2, i + 6))) {
            out += String.fromCharCode(parseInt(input.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          if (n === undefined || !(n in map)) fail(input, i, `unknown escape \\${n ?? ""} (known: \\" \\' \\\\ \\n \\t \\r \\uXXXX)`);
          out += map[n]!;
          i += 2;
          continue;
        }
        out += ch;
        i++;
      }
      tokens.push({ kind: "string", text: input.slice(start, i), value: out, pos: start });
      continue;
    }
    const num = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(input.slice(i));
    if (num && (c !== "-" || /[\d.]/.test(input[i + 1] ?? ""))) {
      const after = input[i + num[0].length];
      if (after !== undefined && /[\p{L}_]/u.test(after)) fail(input, i + num[0].length, `unexpected character ${JSON.stringify(after)} after the number ${num[0]}`);
      const value = Number(num[0]);
      if (!Number.isFinite(value)) fail(input, start, `number ${num[0]} is out of range`);
      tokens.push({ kind: "number", text: num[0], value, pos: start });
      i += num[0].length;
      continue;
    }
    const ident = /^[\p{L}_][\p{L}\p{N}_.-]*/u.exec(input.slice(i));
    if (ident) {
      tokens.push({ kind: "ident", text: ident[0], pos: start });
      i += ident[0].length;
      continue;
    }
    const p = PUNCT.find((x) => input.startsWith(x, i));
    if (p) {
      tokens.push({ kind: "punct", text: p, pos: start });
      i += p.length;
      continue;
    }
    fail(input, i, `unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ kind: "eof", text: "", pos: input.length });
  return tokens;
}

type Node = { leaf: MetadataFilter; pos: number; valuePos: number } | { group: "and" | "or" | "not"; children: Node[] };

class Parser {
  #i = 0;
  /** Open parentheses and `not`s around the current position (bounded: the parser recurses). */
  #depth = 0;
  constructor(
    readonly input: string,
    readonly tokens: Token[],
  ) {}

  get #tok(): Token {
    return this.tokens[this.#i]!;
  }
  #word(t: Token = this.#tok): string | undefined {
    return t.kind === "ident" ? t.text.toLowerCase() : undefined;
  }
  #describe(t: Token): string {
    return t.kind === "eof" ? "the end of the filter" : JSON.stringify(t.text);
  }

  parse(): Node {
    if (this.#tok.kind === "eof") fail(this.input, 0, "the filter is empty");
    const n = this.#or();
    const rest: Token = this.tokens[this.#i]!;
    if (rest.kind !== "eof") {
      const w = this.#word(rest);
      fail(this.input, rest.pos, `expected "and", "or" or the end of the filter, found ${this.#describe(rest)}${w && !KEYWORDS.has(w) ? " (quote values that are strings)" : ""}`);
    }
    return n;
  }

  #or(): Node {
    const children = [this.#and()];
    while (this.#word() === "or") {
      this.#i++;
      children.push(this.#and());
    }
    return children.length === 1 ? children[0]! : { group: "or", children };
  }

  #and(): Node {
    const children = [this.#not()];
    while (this.#word() === "and") {
      this.#i++;
      children.push(this.#not());
    }
    return children.length === 1 ? children[0]! : { group: "and", children };
  }

  #not(): Node {
    if (this.#word() === "not") {
      this.#enter(this.#tok);
      this.#i++;
      const inner = this.#not();
      this.#depth--;
      return { group: "not", children: [inner] };
    }
    return this.#primary();
  }

  /** Counts one level of nesting at `t` ("(" or "not"); deeper than core's filter depth limit is an error there. */
  #enter(t: Token): void {
    if (++this.#depth > FILTER_LIMITS.maxDepth) {
      fail(this.input, t.pos, `nested deeper than ${FILTER_LIMITS.maxDepth} levels of parentheses and "not"`);
    }
  }

  #primary(): Node {
    const t = this.#tok;
    if (t.kind === "punct" && t.text === "(") {
      this.#enter(t);
      this.#i++;
      const inner = this.#or();
      if (!(this.#tok.kind === "punct" && this.#tok.text === ")")) {
        fail(this.input, this.#tok.pos, `expected ")" to close the "(" at column ${t.pos + 1}, found ${this.#describe(this.#tok)}`);
      }
      this.#i++;
      this.#depth--;
      return inner;
    }
    return this.#comparison();
  }

  #comparison(): Node {
    const k = this.#tok;
    let key: string;
    if (k.kind === "string") key = k.value as string;
    else if (k.kind === "ident" && !["and", "or", "not"].includes(k.text.toLowerCase())) key = k.text;
    else fail(this.input, k.pos, `expected a metadata key, found ${this.#describe(k)}`);
    if (key === "") fail(this.input, k.pos, "a metadata key cannot be empty");
    this.#i++;
    const opTok = this.#tok;
    const w = this.#word(opTok);
    if (w === "is_empty") {
      this.#i++;
      return { leaf: { key, operator: "is_empty" }, pos: k.pos, valuePos: opTok.pos };
    }
    if (w === "is" && this.#word(this.tokens[this.#i + 1]) === "empty") {
      this.#i += 2;
      return { leaf: { key, operator: "is_empty" }, pos: k.pos, valuePos: opTok.pos };
    }
    let operator: FilterOperator | undefined;
    if (w === "not" && this.#word(this.tokens[this.#i + 1]) === "in") {
      this.#i += 2;
      operator = "nin";
    } else {
      operator = opTok.kind === "punct" ? OPERATORS[opTok.text] : w !== undefined ? OPERATORS[w] : undefined;
      if (operator === undefined) {
        fail(this.input, opTok.pos, `expected an operator after ${JSON.stringify(key)} (== != > >= < <= in nin any all contains ~ ~* is_empty), found ${this.#describe(opTok)}`);
      }
      this.#i++;
    }
    const valuePos = this.#tok.pos;
    const value = this.#value(operator);
    return { leaf: { key, operator, value }, pos: k.pos, valuePos };
  }

  #value(op: FilterOperator): FilterValue {
    const t = this.#tok;
    if (t.kind === "punct" && t.text === "[") {
      this.#i++;
      const items: FilterScalar[] = [];
      if (this.#tok.kind === "punct" && this.#tok.text === "]") {
        this.#i++;
        return items;
      }
      for (;;) {
        const itemTok = this.#tok;
        if (itemTok.kind === "punct" && itemTok.text === "[") fail(this.input, itemTok.pos, "lists cannot be nested");
        items.push(this.#scalar(op));
        const sep = this.#tok;
        if (sep.kind === "punct" && sep.text === ",") {
          this.#i++;
          continue;
        }
        if (sep.kind === "punct" && sep.text === "]") {
          this.#i++;
          return items;
        }
        fail(this.input, sep.pos, `expected "," or "]" in the list, found ${this.#describe(sep)}`);
      }
    }
    return this.#scalar(op);
  }

  #scalar(op: FilterOperator): FilterScalar {
    const t = this.#tok;
    if (t.kind === "string" || t.kind === "number") {
      this.#i++;
      return t.value!;
    }
    const w = this.#word(t);
    if (w === "true" || w === "false") {
      this.#i++;
      return w === "true";
    }
    if (w === "null") {
      this.#i++;
      return null;
    }
    const hint = t.kind === "ident" && !KEYWORDS.has(t.text.toLowerCase()) ? ` (quote strings: "${t.text}")` : "";
    fail(this.input, t.pos, `expected a value after ${op} (a "string", a number, true, false, null or a [list]), found ${this.#describe(t)}${hint}`);
  }
}

function toFilters(n: Node, input: string): MetadataFilters {
  const build = (x: Node): MetadataFilter | MetadataFilters => {
    if ("leaf" in x) {
      // Check each leaf where it is, so a type error points at its value.
      try {
        validateFilters({ filters: [x.leaf] });
      } catch (err) {
        const detail = (err as Error).message.replace(/^(\[[^\]]*\] )?INVALID_ARGUMENT: /, "");
        if (x.leaf.value === null || (Array.isArray(x.leaf.value) && x.leaf.value.includes(null))) {
          fail(input, x.valuePos, `null is not a filter value; use "${x.leaf.key} is_empty" to find a missing, null, "" or [] value`);
        }
        fail(input, x.valuePos, detail);
      }
      return x.leaf;
    }
    const children = x.children.map(build);
    // a and (b and c) -> one group: same meaning, flatter tree.
    const flat = x.group === "not" ? children : children.flatMap((c) => ("filters" in c && (c.condition ?? "and") === x.group ? c.filters : [c]));
    return { condition: x.group, filters: flat };
  };
  const root = build(n);
  return "filters" in root ? root : { condition: "and", filters: [root] };
}

/** Parses a `--filter` expression into core's `MetadataFilters` (validated). */
export function parseFilter(input: string): MetadataFilters {
  if (typeof input !== "string") throw new StorageError("INVALID_ARGUMENT", "the filter must be a string");
  const tokens = tokenize(input);
  const tree = new Parser(input, tokens).parse();
  return toFilters(tree, input);
}
