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
 * What TAG membership cannot express exactly is UNSUPPORTED, declared in the store's capabilities:
 * the ordering operators (`>`, `>=`, `<`, `<=`: per-key numeric fields would need a schema change
 * per new key, and the engine has no code-point string order), `text_match` and
 * `text_match_insensitive` (no exact substring test on arbitrary strings).
 */

/** The operators compiled exactly. */
export const SEARCH_FILTER_OPERATORS: readonly FilterOperator[] = ["==", "!=", "in", "nin", "any", "all", "contains", "is_empty"];

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

/** The tokens of one node's metadata (for the `m` field), `z` first. */
export function metadataTokens(metadata: Readonly<Record<string, unknown>> | null | undefined): string[] {
  const out = new Set<string>([ALWAYS_TOKEN]);
  if (metadata) {
    for (const key of Object.keys(metadata)) {
      const v = metadata[key];
      if (v === undefined || v === null) continue;
      if (v === "") {
        out.add(eqToken(key, v)); // equal to "", but empty
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

function leaf(f: MetadataFilter): Compiled {
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
    default:
      // validateFilters refused it already (the operator list is the store's capabilities).
      throw new StorageError("UNSUPPORTED", `filter operator ${JSON.stringify(operator)} is not supported by the Redis query engine store`);
  }
}

function group(g: MetadataFilters): Compiled {
  if (g.filters.length === 0) return TRUE;
  const parts = g.filters.map((c) => ("filters" in c ? group(c) : leaf(c)));
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
export function compileFilters(filters: MetadataFilters, store: string): { tree: MetadataFilters; compiled: Compiled } {
  const tree = validateFilters(filters, { supportedOperators: SEARCH_FILTER_OPERATORS, nestedFilters: true, store });
  return { tree, compiled: group(tree) };
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
