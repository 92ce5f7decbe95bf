/**
 * Exact values of JSON text that JavaScript values cannot hold: integers beyond 2^53, `-0.0`, the
 * difference between `1.0` and `1`, and the order of integer-like object keys (JavaScript lists
 * `"2"` and `"10"` before `"b"`). Python LlamaIndex hashes `str(metadata)`, which shows all of them,
 * so a node read from JSON keeps the exact form of its metadata next to the plain JS object that
 * users see (see `BaseNode.metadata`). The text is tokenised by `jsonc-parser` (strict JSON only
 * reaches here: every text was accepted by `JSON.parse` first).
 */
import { createScanner, findNodeAtLocation, parseTree } from "jsonc-parser";
import { pyFloat } from "../storage/json-stream.js";
export { hasNegativeZero, jsonTextKeepingNegativeZero } from "../storage/json-stream.js";
import { pyStrRepr } from "./python-repr.js";

/** jsonc-parser's `SyntaxKind` values (a `const enum` in its types, so spelled out here). */
const SyntaxKind = {
  OpenBraceToken: 1,
  CloseBraceToken: 2,
  OpenBracketToken: 3,
  CloseBracketToken: 4,
  CommaToken: 5,
  ColonToken: 6,
  NullKeyword: 7,
  TrueKeyword: 8,
  FalseKeyword: 9,
  StringLiteral: 10,
  NumericLiteral: 11,
  EOF: 17,
} as const;

/** Where a parsed object keeps the JSON text it was parsed from (non-enumerable; not copied by structuredClone). */
const JSON_SOURCE: unique symbol = Symbol.for("larder.jsonSource");

/**
 * `JSON.parse(text)`, with the text remembered on the result (when it is an object) so that
 * {@link jsonToNode} can recover exact metadata. The result is an ordinary JSON value.
 */
export function parseJsonKeepingSource(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (typeof value === "object" && value !== null) {
    Object.defineProperty(value, JSON_SOURCE, { value: text, enumerable: false, writable: false, configurable: true });
  }
  return value;
}

/** The text {@link parseJsonKeepingSource} parsed `value` from, if it was. */
export function jsonSourceOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const src = (value as { [JSON_SOURCE]?: unknown })[JSON_SOURCE];
  return typeof src === "string" ? src : undefined;
}

/** Python's `repr` of a float (`1.0`, `-0.0`, `1e+16`, `inf`). */
function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  return pyFloat(n);
}

/** Python's `repr(json.loads(token))` for a JSON number token: ints exactly, floats in repr form. */
export function pyReprOfNumberToken(token: string): string {
  if (!/[.eE]/.test(token)) return token === "-0" ? "0" : token;
  return pyFloatRepr(Number(token));
}

/**
 * Python's `repr(json.loads(text))` computed from the text: keys in the text's order, ints of any
 * size, floats as Python prints them, strings with Python's quoting and escapes, `True`/`False`/`None`.
 */
export function pyReprOfJsonText(text: string): string {
  const scanner = createScanner(text, true);
  let out = "";
  for (let kind: number = scanner.scan(); kind !== SyntaxKind.EOF; kind = scanner.scan()) {
    switch (kind) {
      case SyntaxKind.OpenBraceToken:
        out += "{";
        break;
      case SyntaxKind.CloseBraceToken:
        out += "}";
        break;
      case SyntaxKind.OpenBracketToken:
        out += "[";
        break;
      case SyntaxKind.CloseBracketToken:
        out += "]";
        break;
      case SyntaxKind.CommaToken:
        out += ", ";
        break;
      case SyntaxKind.ColonToken:
        out += ": ";
        break;
      case SyntaxKind.StringLiteral:
        out += pyStrRepr(scanner.getTokenValue());
        break;
      case SyntaxKind.NumericLiteral:
        out += pyReprOfNumberToken(text.slice(scanner.getTokenOffset(), scanner.getTokenOffset() + scanner.getTokenLength()));
        break;
      case SyntaxKind.TrueKeyword:
        out += "True";
        break;
      case SyntaxKind.FalseKeyword:
        out += "False";
        break;
      case SyntaxKind.NullKeyword:
        out += "None";
        break;
      default:
        throw new SyntaxError(`unexpected token at offset ${scanner.getTokenOffset()}`);
    }
  }
  return out;
}

/** One metadata member as Python sees it: `repr(value)` and `str(value)`. */
export interface ExactMember {
  key: string;
  repr: string;
  str: string;
}

/** A metadata object's exact form, read from JSON text. */
export interface ExactMetadata {
  /** The members in the text's order. */
  members: ExactMember[];
  /** Python's `str(metadata)`. */
  repr: string;
  /** The object's JSON text as read, without whitespace outside strings (number tokens untouched). */
  json: string;
}

/** `text` without whitespace outside strings; every token as it is. */
export function compactJsonText(text: string): string {
  const scanner = createScanner(text, true);
  let out = "";
  for (let kind: number = scanner.scan(); kind !== SyntaxKind.EOF; kind = scanner.scan()) {
    out += text.slice(scanner.getTokenOffset(), scanner.getTokenOffset() + scanner.getTokenLength());
  }
  return out;
}

/**
 * The exact form of the object at `path` in `text` (JSON that `JSON.parse` accepted), or
 * `undefined` when there is no object there.
 */
export function exactObjectAt(text: string, path: readonly string[]): ExactMetadata | undefined {
  const root = parseTree(text);
  if (!root) return undefined;
  const node = path.length === 0 ? root : findNodeAtLocation(root, [...path]);
  if (!node || node.type !== "object") return undefined;
  const members: ExactMember[] = [];
  const seen = new Map<string, number>();
  for (const prop of node.children ?? []) {
    const [k, v] = prop.children ?? [];
    if (!k || !v) continue;
    const key = k.value as string;
    const repr = pyReprOfJsonText(text.slice(v.offset, v.offset + v.length));
    const member = { key, repr, str: v.type === "string" ? (v.value as string) : repr };
    // A repeated key keeps its first place and its last value (a Python dict built by json.loads).
    const at = seen.get(key);
    if (at === undefined) {
      seen.set(key, members.length);
      members.push(member);
    } else members[at] = member;
  }
  return {
    members,
    repr: `{${members.map((m) => `${pyStrRepr(m.key)}: ${m.repr}`).join(", ")}}`,
    json: compactJsonText(text.slice(node.offset, node.offset + node.length)),
  };
}

const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/** Number tokens whose value JavaScript holds as an integer that Python does not read as that int. */
const INEXACT_NUMBER_TOKEN = /\d\.0(?![0-9])|\d[eE][+-]?\d|\d{16}/;

/**
 * Whether a JSON value parsed by `JSON.parse` from `text` may differ from the text in Python's
 * eyes: it holds an integer-like key (JavaScript reorders those), or an integral number while the
 * text has a token such as `1.0`, `1e+16` or 16+ digits (JavaScript cannot tell `1.0` from `1`,
 * nor keep big integers). Other values are exact as JavaScript holds them. The text is only
 * searched, so a match inside a string costs a closer look, nothing else.
 */
export function mayBeInexactIn(value: unknown, text: string): boolean {
  let integral = false;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "number") {
      if (Number.isInteger(v)) integral = true;
    } else if (typeof v === "object" && v !== null) {
      if (Array.isArray(v)) for (const x of v) stack.push(x);
      else {
        for (const k of Object.keys(v)) {
          if (INDEX_KEY.test(k)) return true;
          stack.push((v as Record<string, unknown>)[k]);
        }
      }
    }
  }
  return integral && INEXACT_NUMBER_TOKEN.test(text);
}

/**
 * Whether a JSON value may differ from the text it was parsed from in Python's eyes: it holds a
 * number or an integer-like key (see {@link mayBeInexactIn}, which also looks at the text).
 */
export function mayBeInexact(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "number") return true;
    if (typeof v !== "object" || v === null) continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else {
      for (const k of Object.keys(v)) {
        if (INDEX_KEY.test(k)) return true;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return false;
}

/**
 * A string that changes when the JSON value `v` changes as JavaScript sees it (keys in
 * `Object.keys` order; `-0` told from `0`). Used to tell whether metadata was edited since it was
 * read.
 */
export function valueFingerprint(v: unknown): string {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v !== "object" || v === null) return String(v);
  if (Array.isArray(v)) return `[${v.map(valueFingerprint).join(",")}]`;
  let out = "{";
  for (const k of Object.keys(v)) out += `${JSON.stringify(k)}:${valueFingerprint((v as Record<string, unknown>)[k])},`;
  return `${out}}`;
}

/**
 * The object at `path` in `text` as compact JSON with every token as it was (number tokens, key
 * order, escapes), leaving out the members named in `without`; `undefined` when there is no
 * object there.
 */
export function exactObjectJson(text: string, path: readonly string[], without?: ReadonlySet<string>): string | undefined {
  const root = parseTree(text);
  if (!root) return undefined;
  const node = path.length === 0 ? root : findNodeAtLocation(root, [...path]);
  if (!node || node.type !== "object") return undefined;
  const parts: string[] = [];
  for (const prop of node.children ?? []) {
    const [k, v] = prop.children ?? [];
    if (!k || !v || (without !== undefined && without.has(k.value as string))) continue;
    parts.push(`${text.slice(k.offset, k.offset + k.length)}:${compactJsonText(text.slice(v.offset, v.offset + v.length))}`);
  }
  return `{${parts.join(",")}}`;
}

/** Offsets `[start, end)` of the value at `path` in `text` (JSON), if there is one. */
export function valueRangeAt(text: string, path: readonly string[]): [number, number] | undefined {
  const root = parseTree(text);
  const node = root && findNodeAtLocation(root, [...path]);
  return node ? [node.offset, node.offset + node.length] : undefined;
}
