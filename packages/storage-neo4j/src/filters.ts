import neo4j from "neo4j-driver";
import { foldCase, foldCodePoint } from "@larder/core/filters";
import {
  errors,
  FILTER_OPERATORS,
  isFilterGroup,
  matchesFilters,
  validateFilters,
  type FilterOperator,
  type MetadataFilter,
  type MetadataFilters,
} from "@larder/core";
import { STORE_NAME } from "./cypher.js";
import { CASE_FOLD_VERSION, encodeKey, FOLD_MARKER, FOLD_PREFIX } from "./values.js";

/** Every operator compiles to Cypher with the reference semantics (see README, "Filters"). */
export const NEO4J_FILTER_OPERATORS: readonly FilterOperator[] = FILTER_OPERATORS;

const ORDERING: ReadonlySet<FilterOperator> = new Set([">", ">=", "<", "<="]);
const HIGH_UNIT = /[\uD800-\uFFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface CompiledFilter {
  /** A Cypher boolean expression over `variable`, never null (three-valued logic is closed off). */
  cypher: string;
  params: Record<string, unknown>;
  /**
   * The predicate uses `text_match_insensitive`: a node it cannot evaluate exactly (no current
   * fold properties, and characters the fold changes) makes the server raise a division by zero,
   * which the store reports as UNSUPPORTED (see {@link isFoldRefusal}).
   */
  foldCheck: boolean;
}

let noFoldPattern: string | undefined;

/**
 * A Java regular expression matching exactly the strings the fold leaves unchanged (no character
 * with a case folding): for those, `fold(v) = v`, so `v CONTAINS fold(x)` is exact without fold
 * properties. Built once from core's table.
 */
function noFold(): string {
  if (noFoldPattern !== undefined) return noFoldPattern;
  const hex = (c: number) => `\\x{${c.toString(16)}}`;
  let cls = "";
  for (let cp = 0; cp < 0x110000; cp++) {
    if (foldCodePoint(cp) === cp) continue;
    let end = cp;
    while (end + 1 < 0x110000 && foldCodePoint(end + 1) !== end + 1) end++;
    cls += end > cp ? `${hex(cp)}-${hex(end)}` : hex(cp);
    cp = end;
  }
  return (noFoldPattern = `[^${cls}]*`);
}

/** Whether `err` is the division by zero a fold check raises (a node it could not evaluate exactly). */
export function isFoldRefusal(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.endsWith("ArithmeticError")) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Compiles a metadata filter tree to a Cypher predicate on node `variable` with the reference
 * evaluator's semantics. Keys and values are parameters (`n[$f0k]`, `$f0v`): nothing from the
 * filter is pasted into the query text. Validates first (INVALID_ARGUMENT / UNSUPPORTED, no I/O).
 *
 * Each leaf is wrapped so it yields true or false, never null: Cypher's `NOT null` is null, and the
 * reference's `not` must match a node that none of its children match.
 */
export function compileFilters(filters: MetadataFilters, variable: string, prefix = "f"): CompiledFilter {
  const tree = validateFilters(filters, { store: STORE_NAME, supportedOperators: NEO4J_FILTER_OPERATORS });
  const params: Record<string, unknown> = {};
  let i = 0;
  let foldCheck = false;
  const leaf = (f: MetadataFilter): string => {
    // A key with a lone surrogate is never a stored key (core refuses them), so it is missing:
    // the leaf is the reference evaluator's answer for a missing key, a constant. (Sent over
    // Bolt it would arrive as U+FFFD and could match a different, real key.)
    if (LONE_SURROGATE.test(f.key)) return matchesFilters({}, { filters: [f] }) ? "true" : "false";
    if (f.value !== undefined && f.operator !== "is_empty") {
      if (ORDERING.has(f.operator)) {
        const bound = loneSurrogateBound(f);
        if (bound) f = bound;
        else checkOrderable(f.value);
      }
      // A lone surrogate is a code point of its own; no stored string holds one: never a substring.
      if ((f.operator === "text_match" || f.operator === "text_match_insensitive") && isLone(f.value)) return "false";
      const sendable = sendableLeaf(f.operator, f.value);
      if ("constant" in sendable) return sendable.constant ? "true" : "false";
      f = { ...f, value: sendable.value as MetadataFilter["value"] };
    }
    const n = i++;
    const k = `${prefix}${n}k`;
    const p = `${prefix}${n}v`;
    params[k] = encodeKey(f.key);
    if (f.value !== undefined) params[p] = f.value;
    const v = `${variable}[$${k}]`;
    if (f.operator === "text_match_insensitive") {
      // The fold is core's pinned table (never the server's toLower): the folded value is sent,
      // and the stored side is the node's fold property (written with the node, see values.ts).
      params[p] = foldCase(f.value as string);
      const fk = `${prefix}${n}f`;
      params[fk] = FOLD_PREFIX + encodeKey(f.key);
      if (!foldCheck) {
        foldCheck = true;
        params[`${prefix}fv`] = CASE_FOLD_VERSION;
        params[`${prefix}nofold`] = noFold();
        params[`${prefix}zero`] = neo4j.int(0);
      }
      return (
        `coalesce(CASE WHEN ${v} IS :: STRING NOT NULL THEN ` +
        `CASE WHEN ${variable}.${FOLD_MARKER} = $${prefix}fv THEN coalesce(${variable}[$${fk}], ${v}) CONTAINS $${p} ` +
        `WHEN ${v} =~ $${prefix}nofold THEN ${v} CONTAINS $${p} ` +
        `ELSE (1 / $${prefix}zero) = 0 END ELSE false END, false)`
      );
    }
    return leafCypher(f.operator, v, `$${p}`);
  };
  const group = (g: MetadataFilters): string => {
    if (g.filters.length === 0) return "true";
    // Identical siblings are one (x AND x = x OR x = x): Cypher's planning time grows with the
    // predicate, so a tree of 2,000 copies of one leaf compiles to one.
    const seen = new Set<string>();
    const children = g.filters.filter((c) => {
      const k = JSON.stringify(c);
      return seen.has(k) ? false : (seen.add(k), true);
    });
    const parts = children.map((c) => (isFilterGroup(c) ? group(c) : leaf(c)));
    switch (g.condition ?? "and") {
      case "and":
        return `(${parts.join(" AND ")})`;
      case "or":
        return `(${parts.join(" OR ")})`;
      case "not":
        return `(NOT (${parts.join(" OR ")}))`;
    }
  };
  const cypher = group(tree);
  return { cypher, params, foldCheck };
}

function leafCypher(op: FilterOperator, v: string, p: string): string {
  switch (op) {
    // Cypher `=` across types is false (never an error), `"3" = 3` is false, `1 = 1.0` is true
    // (as in JavaScript), and a list never equals a scalar.
    case "==":
      return `coalesce(${v} = ${p}, false)`;
    case "!=":
      return `(NOT coalesce(${v} = ${p}, false))`;
    // Ordering across types is null in Cypher; the type guards keep booleans and lists out.
    // Cypher orders -0.0 below 0.0 (while `-0.0 = 0.0`); the reference says -0 equals 0, so a
    // stored number is compared as `v + 0` (-0.0 + 0 is 0.0; integers stay integers) and the
    // filter value is normalised before it is sent.
    case ">":
    case ">=":
    case "<":
    case "<=":
      return (
        `coalesce(CASE WHEN ${v} IS :: STRING NOT NULL THEN ${v} ${op} ${p} ` +
        `WHEN ${v} IS :: INTEGER NOT NULL OR ${v} IS :: FLOAT NOT NULL THEN (${v} + 0) ${op} ${p} END, false)`
      );
    case "in":
      return `coalesce(CASE WHEN ${v} IS :: LIST<ANY> THEN false ELSE ${v} IN ${p} END, false)`;
    case "nin":
      return `(NOT coalesce(CASE WHEN ${v} IS :: LIST<ANY> THEN false ELSE ${v} IN ${p} END, false))`;
    case "any":
      return `coalesce(CASE WHEN ${v} IS :: LIST<ANY> NOT NULL THEN any(x IN ${v} WHERE x IN ${p}) ELSE false END, false)`;
    case "all":
      return `coalesce(CASE WHEN ${v} IS :: LIST<ANY> NOT NULL THEN all(x IN ${p} WHERE x IN ${v}) ELSE false END, false)`;
    case "contains":
      return `coalesce(CASE WHEN ${v} IS :: LIST<ANY> NOT NULL THEN ${p} IN ${v} ELSE false END, false)`;
    case "text_match":
      return `coalesce(CASE WHEN ${v} IS :: STRING NOT NULL THEN ${v} CONTAINS ${p} ELSE false END, false)`;
    case "text_match_insensitive":
      throw new Error("text_match_insensitive is compiled by compileFilters (fold properties)");
    case "is_empty":
      return `coalesce(${v} IS NULL OR ${v} = '' OR ${v} = [], false)`;
  }
}

/**
 * Ordering against a string with a lone surrogate (a code point of its own, U+D800..U+DFFF, never
 * in a stored string): with p the part before it, a stored s is below the value iff s < p + U+E000
 * by code point, iff s < p + U+10000 by UTF-16 code unit (Neo4j's order) when p has no code unit at
 * or above U+D800 — a well-formed bound that can travel over Bolt. `<=` is `<` and `>` is `>=`,
 * since no stored string equals the value. `undefined` when the rewrite does not apply.
 */
function loneSurrogateBound(f: MetadataFilter): MetadataFilter | undefined {
  if (typeof f.value !== "string") return undefined;
  const m = LONE_SURROGATE.exec(f.value);
  if (!m) return undefined;
  const p = f.value.slice(0, m.index);
  if (HIGH_UNIT.test(p)) return undefined;
  return { key: f.key, operator: f.operator === "<" || f.operator === "<=" ? "<" : ">=", value: p + "\u{10000}" };
}

/** A filter value as sent: -0 becomes 0 (Cypher orders -0.0 below 0.0). */
function normalizeZero(x: unknown): unknown {
  return x === 0 ? 0 : x;
}

const isLone = (x: unknown): boolean => typeof x === "string" && LONE_SURROGATE.test(x);

/**
 * The value to bind for a leaf, or the leaf's constant answer. A lone surrogate cannot travel
 * over Bolt (it is sent as UTF-8, where it becomes U+FFFD), but no stored string contains one
 * (core refuses them), so a string with a lone surrogate equals nothing stored: `==` and
 * `contains` are false, `!=` true, such elements of `in` / `nin` / `any` are dropped, and `all`
 * with one never matches — the reference evaluator's answers. Only `text_match`, where it could
 * be half of a stored pair, stays `UNSUPPORTED` (ordering against it is refused by
 * {@link checkOrderable}).
 */
function sendableLeaf(op: FilterOperator, value: unknown): { value: unknown } | { constant: boolean } {
  if (Array.isArray(value)) {
    const kept = value.filter((x) => !isLone(x)).map(normalizeZero);
    if (op === "all" && kept.length < value.length) return { constant: false };
    return { value: kept };
  }
  if (isLone(value)) {
    switch (op) {
      case "==":
      case "contains":
        return { constant: false };
      case "!=":
        return { constant: true };
      default:
        throw errors.unsupported(`a ${op} filter string containing a lone UTF-16 surrogate cannot be sent to Neo4j exactly`, {
          store: STORE_NAME,
        });
    }
  }
  return { value: normalizeZero(value) };
}

/**
 * Neo4j orders strings by UTF-16 code unit, the reference by code point. The two orders differ
 * only where one string has a surrogate (a character above U+FFFF) and the other a character in
 * U+E000..U+FFFF at the first difference; so when the filter value has no code unit at or above
 * U+D800, Cypher's `<` is exactly the reference's. Otherwise the comparison cannot be expressed
 * exactly in plain Cypher: UNSUPPORTED, never approximated.
 */
function checkOrderable(value: unknown): void {
  if (typeof value === "string" && HIGH_UNIT.test(value)) {
    throw errors.unsupported(
      "ordering (> >= < <=) against a string containing characters at or above U+D800 (private use, specials, or outside the BMP) cannot be evaluated exactly by Neo4j, which compares UTF-16 code units",
      { store: STORE_NAME },
    );
  }
}
