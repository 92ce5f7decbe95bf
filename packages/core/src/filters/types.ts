/**
 * Metadata filters: LlamaIndex's `MetadataFilters` tree, with one meaning on every backend.
 *
 * The meaning is defined by the reference evaluator {@link matchesFilters} (./evaluate.ts) and
 * written out in `packages/core/docs/filters.md`. Every store is tested against that evaluator by
 * the conformance kit's differential suite.
 */

/** LlamaIndex's 14 operators, by their wire values. */
export type FilterOperator =
  | "=="
  | "!="
  | ">"
  | ">="
  | "<"
  | "<="
  | "in"
  | "nin"
  | "any"
  | "all"
  | "contains"
  | "text_match"
  | "text_match_insensitive"
  | "is_empty";

export const FILTER_OPERATORS: readonly FilterOperator[] = [
  "==", "!=", ">", ">=", "<", "<=", "in", "nin", "any", "all", "contains", "text_match", "text_match_insensitive", "is_empty",
];

/**
 * A scalar a filter can carry. `null` is part of the stored-value model (a stored `null` behaves
 * like a missing key) but is never accepted as a filter value: use `is_empty` to find it.
 */
export type FilterScalar = string | number | boolean | null;
export type FilterValue = FilterScalar | FilterScalar[];

export interface MetadataFilter {
  /** Metadata key, matched literally (no dotted paths): any non-empty string. */
  key: string;
  operator: FilterOperator;
  /**
   * - `==`, `!=`, `contains`: a string, finite number or boolean;
   * - `>`, `>=`, `<`, `<=`: a string or finite number;
   * - `in`, `nin`, `any`, `all`: an array of strings, finite numbers or booleans (may be empty);
   * - `text_match`, `text_match_insensitive`: a string;
   * - `is_empty`: omitted (or `null`).
   */
  value?: FilterValue;
}

/** `not`: none of the children match. Default `and`. */
export type FilterCondition = "and" | "or" | "not";

export const FILTER_CONDITIONS: readonly FilterCondition[] = ["and", "or", "not"];

export interface MetadataFilters {
  /** Leaves and nested groups, at any depth (up to {@link FILTER_LIMITS}.maxDepth). */
  filters: (MetadataFilter | MetadataFilters)[];
  /** Default "and". An empty `filters` list matches everything, whatever the condition. */
  condition?: FilterCondition;
}
