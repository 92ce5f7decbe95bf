// LlamaIndexTS's `MetadataFilters` -> Larder's `MetadataFilters`.
//
// LlamaIndexTS's filters are flat (`{filters: MetadataFilter[], condition: "and" | "or"}`); Larder's
// are a tree with the same operators. The tree is accepted here too (a group in place of a filter,
// and condition "not"), so nested filters work through LlamaIndexTS's retrievers, which pass the
// object on untouched. Meaning is Larder's everywhere (packages/core/docs/filters.md); operators or
// nesting the target store cannot evaluate exactly are UNSUPPORTED before the query runs.
import {
  errors,
  type MetadataFilter as LarderMetadataFilter,
  type MetadataFilters as LarderMetadataFilters,
  validateFilters,
  type VectorStoreCapabilities,
} from "@larder/core";
import type { MetadataFilter, MetadataFilters } from "@llamaindex/core/vector-store";

/**
 * Filters as this package accepts them: LlamaIndexTS's `MetadataFilters`, or Larder's tree
 * (groups nested at any depth, condition `and` / `or` / `not`, operator `text_match_insensitive`).
 */
export type LarderFilterInput = MetadataFilters | LarderMetadataFilters | NestedMetadataFilters;

/** LlamaIndexTS's filter shape with nesting allowed. */
export interface NestedMetadataFilters {
  filters: (MetadataFilter | LarderMetadataFilter | NestedMetadataFilters)[];
  condition?: "and" | "or" | "not";
}

/**
 * Converts filters to Larder's tree and checks them with core's validator against what
 * `capabilities` says the store evaluates: shape errors (unknown operator, wrong value type) are
 * INVALID_ARGUMENT; an operator or nesting the store cannot honour is UNSUPPORTED. Nothing is sent
 * to the store in either case. `undefined` (or an empty list) means no filter.
 */
export function toLarderFilters(input: LarderFilterInput | undefined | null, capabilities?: VectorStoreCapabilities, store?: string): LarderMetadataFilters | undefined {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== "object" || Array.isArray(input)) throw errors.invalid("filters must be an object {filters: [...], condition?}");
  const raw = input as { filters?: unknown };
  if (Array.isArray(raw.filters) && raw.filters.length === 0) return undefined;
  return validateFilters(stripUndefinedValues(input), {
    ...(capabilities ? { supportedOperators: capabilities.filterOperators, nestedFilters: capabilities.nestedFilters } : {}),
    ...(store ? { store } : {}),
  });
}

/** LlamaIndexTS leaves `value: undefined` on `is_empty` filters; the validator wants it absent. */
function stripUndefinedValues(g: unknown): unknown {
  if (typeof g !== "object" || g === null || Array.isArray(g)) return g;
  const o = g as Record<string, unknown>;
  if (Array.isArray(o["filters"])) return { ...o, filters: (o["filters"] as unknown[]).map(stripUndefinedValues) };
  if ("value" in o && o["value"] === undefined) {
    const { value: _drop, ...rest } = o;
    return rest;
  }
  return o;
}
