import type { FilterOperator, MetadataFilter, MetadataFilters } from "./types.js";
import { foldCase } from "./case-fold.js";
import { validateFilters, type ValidateFiltersOptions } from "./validate.js";

/**
 * THE REFERENCE EVALUATOR. This module is the specification of what a filter means; every store
 * is tested against it (see docs/filters.md for the prose version, which must say the same).
 */

/** The stored value under `key`: own properties only (`"__proto__"`, `"constructor"` are plain keys). */
export function storedValue(metadata: Readonly<Record<string, unknown>> | null | undefined, key: string): unknown {
  if (metadata === null || metadata === undefined) return undefined;
  return Object.prototype.hasOwnProperty.call(metadata, key) ? metadata[key] : undefined;
}

/**
 * Compares strings by Unicode code point (what Postgres' "C" collation and a byte-wise UTF-8
 * comparison give). A surrogate pair is one code point above U+FFFF; a lone surrogate is its own
 * code point U+D800..U+DFFF, between U+D7FF and U+E000. JavaScript's `<` compares UTF-16 code
 * units, which orders U+E000..U+FFFF after astral characters; this corrects that. Returns <0, 0
 * or >0 (the sign is what counts).
 */
export function compareByCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  // The common prefix may end with the high half of a pair that only one string completes.
  if (i > 0) {
    const prev = a.charCodeAt(i - 1);
    if (prev >= 0xd800 && prev <= 0xdbff) i--;
  }
  return codePointAt(a, i) - codePointAt(b, i);
}

/** The code point starting at `i` (a lone surrogate is its own code point). */
function codePointAt(s: string, i: number): number {
  return s.codePointAt(i)!;
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/**
 * Is `needle` a substring of `haystack`, both read as sequences of code points? A lone surrogate
 * in `needle` is a code point of its own, so it never matches one half of a surrogate pair.
 */
export function includesByCodePoint(haystack: string, needle: string): boolean {
  let idx = haystack.indexOf(needle);
  if (idx < 0 || needle.length === 0) return idx >= 0;
  const startLow = isLow(needle.charCodeAt(0));
  const endHigh = isHigh(needle.charCodeAt(needle.length - 1));
  if (!startLow && !endHigh) return true;
  while (idx >= 0) {
    const end = idx + needle.length;
    const splitsStart = startLow && idx > 0 && isHigh(haystack.charCodeAt(idx - 1));
    const splitsEnd = endHigh && end < haystack.length && isLow(haystack.charCodeAt(end));
    if (!splitsStart && !splitsEnd) return true;
    idx = haystack.indexOf(needle, idx + 1);
  }
  return false;
}

export { foldCase, foldCodePoint, CASE_FOLD_VERSION, CASE_FOLD_UNICODE_VERSION } from "./case-fold.js";

function isScalar(v: unknown): v is string | number | boolean {
  const t = typeof v;
  return t === "string" || t === "number" || t === "boolean";
}

function arrayHas(arr: readonly unknown[], v: unknown): boolean {
  // Strict equality: "3" !== 3, true !== 1. Nested arrays/objects never equal a filter scalar.
  for (let i = 0; i < arr.length; i++) if (arr[i] === v) return true;
  return false;
}

/** Ordering comparison; `undefined` when the types differ (which never matches). */
function order(stored: unknown, value: unknown): number | undefined {
  if (typeof stored === "number" && typeof value === "number") {
    return stored < value ? -1 : stored > value ? 1 : stored === value ? 0 : undefined;
  }
  if (typeof stored === "string" && typeof value === "string") return compareByCodePoint(stored, value);
  return undefined;
}

/**
 * Evaluates one leaf against a stored value (`undefined` when the key is missing). Assumes the
 * leaf was validated (see {@link validateFilters}).
 */
export function matchesLeaf(stored: unknown, operator: FilterOperator, value: unknown): boolean {
  switch (operator) {
    case "==":
      return isScalar(stored) && stored === value;
    case "!=":
      return !(isScalar(stored) && stored === value);
    case ">": {
      const c = order(stored, value);
      return c !== undefined && c > 0;
    }
    case ">=": {
      const c = order(stored, value);
      return c !== undefined && c >= 0;
    }
    case "<": {
      const c = order(stored, value);
      return c !== undefined && c < 0;
    }
    case "<=": {
      const c = order(stored, value);
      return c !== undefined && c <= 0;
    }
    case "in":
      return isScalar(stored) && arrayHas(value as unknown[], stored);
    case "nin":
      return !(isScalar(stored) && arrayHas(value as unknown[], stored));
    case "any": {
      if (!Array.isArray(stored)) return false;
      for (const v of value as unknown[]) if (arrayHas(stored, v)) return true;
      return false;
    }
    case "all": {
      if (!Array.isArray(stored)) return false;
      for (const v of value as unknown[]) if (!arrayHas(stored, v)) return false;
      return true;
    }
    case "contains":
      return Array.isArray(stored) && arrayHas(stored, value);
    case "text_match":
      return typeof stored === "string" && includesByCodePoint(stored, value as string);
    case "text_match_insensitive":
      return typeof stored === "string" && includesByCodePoint(foldCase(stored), foldCase(value as string));
    case "is_empty":
      return (
        stored === undefined ||
        stored === null ||
        stored === "" ||
        (Array.isArray(stored) && stored.length === 0)
      );
  }
}

function evalNode(metadata: Readonly<Record<string, unknown>> | null | undefined, node: MetadataFilter | MetadataFilters): boolean {
  if ("filters" in node) return evalGroup(metadata, node);
  return matchesLeaf(storedValue(metadata, node.key), node.operator, node.value);
}

function evalGroup(metadata: Readonly<Record<string, unknown>> | null | undefined, group: MetadataFilters): boolean {
  const children = group.filters;
  if (children.length === 0) return true;
  switch (group.condition ?? "and") {
    case "and":
      for (const c of children) if (!evalNode(metadata, c)) return false;
      return true;
    case "or":
      for (const c of children) if (evalNode(metadata, c)) return true;
      return false;
    case "not":
      for (const c of children) if (evalNode(metadata, c)) return false;
      return true;
  }
}

/**
 * The reference evaluator: does a node with this metadata match `filters`? `undefined` filters
 * match everything. Validates the tree first (INVALID_ARGUMENT on a malformed one); when
 * evaluating one tree against many nodes, use {@link createFilterPredicate}.
 */
export function matchesFilters(
  metadata: Readonly<Record<string, unknown>> | null | undefined,
  filters: MetadataFilters | undefined,
): boolean {
  if (filters === undefined) return true;
  return evalGroup(metadata, validateFilters(filters));
}

/** Validates once, returns a predicate with {@link matchesFilters}' semantics. */
export function createFilterPredicate(
  filters: MetadataFilters | undefined,
  options?: ValidateFiltersOptions,
): (metadata: Readonly<Record<string, unknown>> | null | undefined) => boolean {
  if (filters === undefined) return () => true;
  const tree = validateFilters(filters, options);
  if (tree.filters.length === 0) return () => true;
  return (metadata) => evalGroup(metadata, tree);
}

/** Evaluates an already validated tree (no validation; for stores that validated up front). */
export function evaluateValidatedFilters(
  metadata: Readonly<Record<string, unknown>> | null | undefined,
  tree: MetadataFilters,
): boolean {
  return evalGroup(metadata, tree);
}
