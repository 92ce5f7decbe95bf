import { createHash } from "node:crypto";
import { StorageError } from "@larder/core/errors";
import { validateFilters, type FilterOperator, type MetadataFilter, type MetadataFilters } from "@larder/core/filters";

/**
 * Metadata filters on the Redis query engine (RediSearch), exact or refused.
 *
 * Every node hash carries one TAG field, `m`, listing tokens that describe its metadata:
 *
 * | token                  | present when the stored value `v` under key `k` ...            |
 * | ---------------------- | ----------------------------------------------------------------- |
 * | `q<k>x<scalar>`        | is that scalar (string, number or boolean)                        |
 * | `c<k>x<scalar>`        | is an array with that scalar as an element                        |
 * | `r<k>`                 | is an array                                                       |
 * | `n<k>`                 | is not empty: present, not `null`, not `""`, not `[]`             |
 * | `z`                    | always (every node has the field)                                 |
 *
 * and the filter operators become TAG membership tests (`@m:{tok}`), their unions (`@m:{a|b}`),
 * intersections, and negations (`-...`), which the engine evaluates exactly over every node: a node
 * without a token is simply not in that token's posting list, so missing keys behave as the
 * reference evaluator says without any special case.
 *
 * Keys and values are never pasted into query text: {@link searchLiteral}, the ONE escaping function
 * of this package, turns every user string into lowercase hexadecimal of its UTF-16 code units
 * (4 digits per unit), which holds no character the query language gives a meaning to, and is
 * injective (lone surrogates and U+0000 included, so equality stays exact for any JavaScript string).
 *
 * The ordering operators need order tokens (below), written only with the store's `orderedFilters`
 * option; without it they are UNSUPPORTED. `text_match` and `text_match_insensitive` are always
 * UNSUPPORTED (no exact substring test on arbitrary strings), declared in the store's capabilities.
 */

/** The operators compiled exactly. */
export const SEARCH_FILTER_OPERATORS: readonly FilterOperator[] = ["==", "!=", "in", "nin", "any", "all", "contains", "is_empty"];
/** With order tokens (the store's `orderedFilters` option), the ordering operators too. */
export const ORDERED_SEARCH_FILTER_OPERATORS: readonly FilterOperator[] = [...SEARCH_FILTER_OPERATORS, ">", ">=", "<", "<="];

/**
 * Order tokens (only written with `orderedFilters`): a scalar number or string `v` under key `k`
 * is a sequence of hex digits ("nibbles") whose lexicographic order is the spec's order — for a
 * number the 16 nibbles of its order-preserving 64-bit image, for a string the nibbles of its UTF-8
 * bytes (byte order = code point order) — and the node carries a token for each of its prefixes
 * (`o<k>x<d|s><nibbles>`), for a string an end token (`o<k>xs<all nibbles>z`), and a type token
 * (`y<k>x<d|s>`). Then `v < c` is a union of exact tokens: some prefix of `c` followed by a smaller
 * nibble, or (strings) `v` ends where a proper prefix of `c` ends. A stored string keeps prefix
 * tokens for its first {@link ORDER_BYTES} bytes, which decides every comparison with a filter value
 * of at most that many bytes; a longer filter value is UNSUPPORTED (refused before any I/O).
 */
export const ORDER_BYTES = 512;

/** Name of the TAG attribute holding the metadata tokens. */
export const META_FIELD = "m";
/** The token every node carries. */
export const ALWAYS_TOKEN = "z";
/** TAG separator in the stored field (never produced by a token). */
export const TAG_SEPARATOR = ",";

/**
 * THE escaping function: a string as lowercase hex of its UTF-16 code units, 4 digits each.
 * The result matches /^[0-9a-f]*$/ and two different strings never give the same result.
 */
export function searchLiteral(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += s.charCodeAt(i).toString(16).padStart(4, "0");
  return out;
}

type Scalar = string | number | boolean;

/** A scalar with its type: `s<hex>` string, `d<hex of the number's shortest form>` number, `t`/`f` boolean. */
function scalarCode(v: Scalar): string {
  if (typeof v === "string") return `s${searchLiteral(v)}`;
  if (typeof v === "number") return `d${searchLiteral(String(v === 0 ? 0 : v))}`; // -0 is 0
  return v ? "t" : "f";
}

const isScalar = (v: unknown): v is Scalar => typeof v === "string" || (typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean";

/**
 * The engine matches TAG values only up to a few KiB: a token longer than {@link MAX_TOKEN} is
 * replaced by `l` + the SHA-256 of the token (hex), in the stored field and in queries alike, so
 * equality of long keys and values stays an equality test (of 256-bit digests).
 */
export const MAX_TOKEN = 512;
function bounded(token: string): string {
  return token.length <= MAX_TOKEN ? token : `l${createHash("sha256").update(token).digest("hex")}`;
}

export const eqToken = (key: string, v: Scalar) => bounded(`q${searchLiteral(key)}x${scalarCode(v)}`);
export const elemToken = (key: string, v: Scalar) => bounded(`c${searchLiteral(key)}x${scalarCode(v)}`);
export const arrayToken = (key: string) => bounded(`r${searchLiteral(key)}`);
export const nonEmptyToken = (key: string) => bounded(`n${searchLiteral(key)}`);

/** Nibbles (hex digits) of a number's order-preserving 64-bit image (-0 as 0). */
export function numberNibbles(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x === 0 ? 0 : x);
  let hi = view.getUint32(0);
  let lo = view.getUint32(4);
  if (hi & 0x80000000) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else {
    hi = (hi | 0x80000000) >>> 0;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

/** Nibbles of a string's UTF-8 bytes; a lone surrogate (filter values only) as its own 3-byte code. */
export function stringNibbles(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    const bytes =
      cp < 0x80
        ? [cp]
        : cp < 0x800
          ? [0xc0 | (cp >> 6), 0x80 | (cp & 63)]
          : cp < 0x10000
            ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)]
            : [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
    for (const b of bytes) out += b.toString(16).padStart(2, "0");
  }
  return out;
}

const typeToken = (key: string, t: "d" | "s") => bounded(`y${searchLiteral(key)}x${t}`);
const prefixToken = (key: string, t: "d" | "s", nibbles: string) => bounded(`o${searchLiteral(key)}x${t}${nibbles}`);
const endToken = (key: string, nibbles: string) => bounded(`o${searchLiteral(key)}xs${nibbles}z`);

function addOrderTokens(out: Set<string>, key: string, v: number | string): void {
  if (typeof v === "number") {
    const n = numberNibbles(v);
    out.add(typeToken(key, "d"));
    for (let j = 1; j <= n.length; j++) out.add(prefixToken(key, "d", n.slice(0, j)));
    return;
  }
  const n = stringNibbles(v);
  out.add(typeToken(key, "s"));
  const cap = Math.min(n.length, ORDER_BYTES * 2);
  for (let j = 1; j <= cap; j++) out.add(prefixToken(key, "s", n.slice(0, j)));
  if (n.length <= ORDER_BYTES * 2) out.add(endToken(key, n));
}

/** The tokens of one node's metadata (for the `m` field), `z` first; order tokens with `ordered`. */
export function metadataTokens(metadata: Readonly<Record<string, unknown>> | null | undefined, ordered = false): string[] {
  const out = new Set<string>([ALWAYS_TOKEN]);
  if (metadata) {
    for (const key of Object.keys(metadata)) {
      const v = metadata[key];
      if (v === undefined || v === null) continue;
      if (v === "") {
        out.add(eqToken(key, v)); // equal to "", but empty
        if (ordered) addOrderTokens(out, key, v);
        continue;
      }
      if (Array.isArray(v)) {
        out.add(arrayToken(key));
        if (v.length > 0) out.add(nonEmptyToken(key));
        for (const e of v) if (isScalar(e)) out.add(elemToken(key, e));
        continue;
      }
      out.add(nonEmptyToken(key));
      if (isScalar(v)) out.add(eqToken(key, v));
      if (ordered && (typeof v === "string" || (typeof v === "number" && Number.isFinite(v)))) addOrderTokens(out, key, v);
    }
  }
  return [...out];
}

/** A compiled filter: constant, or query text (a parenthesised RediSearch expression). */
export type Compiled = { kind: "true" } | { kind: "false" } | { kind: "query"; text: string };

const TRUE: Compiled = { kind: "true" };
const FALSE: Compiled = { kind: "false" };
const q = (text: string): Compiled => ({ kind: "query", text });

/** Tokens are [0-9a-z] only (see searchLiteral), so they go into `{...}` as they are. */
function anyOf(field: string, tokens: readonly string[]): Compiled {
  if (tokens.length === 0) return FALSE;
  return q(`@${field}:{${[...new Set(tokens)].join(" | ")}}`);
}

function not(c: Compiled): Compiled {
  if (c.kind === "true") return FALSE;
  if (c.kind === "false") return TRUE;
  return q(`(-${c.text})`);
}

function and(parts: readonly Compiled[]): Compiled {
  const texts: string[] = [];
  for (const p of parts) {
    if (p.kind === "false") return FALSE;
    if (p.kind === "query") texts.push(p.text);
  }
  if (texts.length === 0) return TRUE;
  return q(texts.length === 1 ? texts[0]! : `(${texts.join(" ")})`);
}

function or(parts: readonly Compiled[]): Compiled {
  const texts: string[] = [];
  for (const p of parts) {
    if (p.kind === "true") return TRUE;
    if (p.kind === "query") texts.push(p.text);
  }
  if (texts.length === 0) return FALSE;
  return q(texts.length === 1 ? texts[0]! : `(${texts.join(" | ")})`);
}

/** Stored values of the same type as `c` that order strictly below it (see the order tokens). */
function lessThan(key: string, c: number | string, store: string): Compiled {
  const t = typeof c === "number" ? "d" : "s";
  const n = typeof c === "number" ? numberNibbles(c) : stringNibbles(c);
  if (t === "s" && n.length > ORDER_BYTES * 2) {
    throw new StorageError(
      "UNSUPPORTED",
      `ordering against a string of more than ${ORDER_BYTES} UTF-8 bytes: the Redis query engine store keeps order tokens for the first ${ORDER_BYTES} bytes`,
      { store },
    );
  }
  const tokens: string[] = [];
  for (let j = 0; j < n.length; j++) {
    const head = n.slice(0, j);
    const digit = parseInt(n[j]!, 16);
    for (let d = 0; d < digit; d++) tokens.push(prefixToken(key, t, head + d.toString(16)));
    // A stored string that ends here (at a byte boundary) is a proper prefix of c.
    if (t === "s" && j % 2 === 0) tokens.push(endToken(key, head));
  }
  return anyOf(META_FIELD, tokens);
}

function ordering(f: MetadataFilter, store: string): Compiled {
  const c = f.value as number | string;
  const less = lessThan(f.key, c, store);
  const eq = anyOf(META_FIELD, [eqToken(f.key, c)]);
  const sameType = anyOf(META_FIELD, [typeToken(f.key, typeof c === "number" ? "d" : "s")]);
  switch (f.operator) {
    case "<":
      return less;
    case "<=":
      return or([less, eq]);
    case ">":
      return and([sameType, not(or([less, eq]))]);
    default: // ">="
      return and([sameType, not(less)]);
  }
}

function leaf(f: MetadataFilter, store: string): Compiled {
  const { key, operator } = f;
  const value = f.value;
  switch (operator) {
    case "==":
      return anyOf(META_FIELD, [eqToken(key, value as Scalar)]);
    case "!=":
      return not(anyOf(META_FIELD, [eqToken(key, value as Scalar)]));
    case "in":
      return anyOf(META_FIELD, (value as Scalar[]).map((v) => eqToken(key, v)));
    case "nin":
      return not(anyOf(META_FIELD, (value as Scalar[]).map((v) => eqToken(key, v))));
    case "contains":
      return anyOf(META_FIELD, [elemToken(key, value as Scalar)]);
    case "any":
      return anyOf(META_FIELD, (value as Scalar[]).map((v) => elemToken(key, v)));
    case "all":
      return and([anyOf(META_FIELD, [arrayToken(key)]), ...(value as Scalar[]).map((v) => anyOf(META_FIELD, [elemToken(key, v)]))]);
    case "is_empty":
      return not(anyOf(META_FIELD, [nonEmptyToken(key)]));
    case ">":
    case ">=":
    case "<":
    case "<=":
      return ordering(f, store);
    default:
      // validateFilters refused it already (the operator list is the store's capabilities).
      throw new StorageError("UNSUPPORTED", `filter operator ${JSON.stringify(operator)} is not supported by the Redis query engine store`);
  }
}

function group(g: MetadataFilters, store: string): Compiled {
  if (g.filters.length === 0) return TRUE;
  const parts = g.filters.map((c) => ("filters" in c ? group(c, store) : leaf(c, store)));
  switch (g.condition ?? "and") {
    case "and":
      return and(parts);
    case "or":
      return or(parts);
    case "not":
      return not(or(parts));
  }
}

/**
 * Validates `filters` (INVALID_ARGUMENT / UNSUPPORTED before any I/O) and compiles them. Returns
 * the validated tree too (for `assertDeleteTarget`).
 */
export function compileFilters(filters: MetadataFilters, store: string, ordered = false): { tree: MetadataFilters; compiled: Compiled } {
  const supportedOperators = ordered ? ORDERED_SEARCH_FILTER_OPERATORS : SEARCH_FILTER_OPERATORS;
  const tree = validateFilters(filters, { supportedOperators, nestedFilters: true, store });
  return { tree, compiled: group(tree, store) };
}

/** TAG restriction on a per-node attribute (`id`, `ref`): one of these strings. */
export function tagIn(field: "id" | "ref", values: readonly string[]): Compiled {
  return anyOf(field, values.map(tagValue));
}

/** The stored TAG value of `id` / `ref` (same encoding as {@link tagIn}). */
export const tagValue = (s: string) => bounded(`h${searchLiteral(s)}`);

export const allOf = and;

/** The query text for a compiled restriction (TRUE: every node). */
export function queryText(c: Compiled): string {
  if (c.kind === "true") return `@${META_FIELD}:{${ALWAYS_TOKEN}}`;
  if (c.kind === "false") throw new Error("a FALSE restriction has no query text (callers return no result)");
  // Anchor pure negations to the universe of nodes.
  return c.text.startsWith("(-") ? `(@${META_FIELD}:{${ALWAYS_TOKEN}} ${c.text})` : c.text;
}
