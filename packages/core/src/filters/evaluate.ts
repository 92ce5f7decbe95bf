import type { FilterOperator, MetadataFilter, MetadataFilters } from "./types.js";
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
 * comparison give). JavaScript's `<` compares UTF-16 code units, which orders U+E000..U+FFFF
 * after astral characters; this corrects that. Returns <0, 0 or >0.
 */
export function compareByCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // At the first differing code unit, shifting surrogates above the rest of the BMP restores
    // code-point order.
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The case fold of `text_match_insensitive`: Unicode default (locale-independent, full) lower-case
 * mapping, i.e. `String.prototype.toLowerCase()` (Java's `toLowerCase(Locale.ROOT)`).
 */
export function foldCase(s: string): string {
  return s.toLowerCase();
}

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
      return typeof stored === "string" && stored.includes(value as string);
    case "text_match_insensitive":
      return typeof stored === "string" && foldCase(stored).includes(foldCase(value as string));
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
