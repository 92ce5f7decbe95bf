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

export type FilterScalar = string | number | boolean | null;
export type FilterValue = FilterScalar | FilterScalar[];

export interface MetadataFilter {
  key: string;
  operator: FilterOperator;
  /** Omitted only for `is_empty`. */
  value?: FilterValue;
}

export type FilterCondition = "and" | "or" | "not";

export interface MetadataFilters {
  filters: (MetadataFilter | MetadataFilters)[];
  /** Default "and". */
  condition?: FilterCondition;
}
