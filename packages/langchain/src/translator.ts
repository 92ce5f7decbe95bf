import { StorageError } from "@larder/core/errors";
import { validateFilters, type FilterOperator, type FilterValue, type MetadataFilter, type MetadataFilters } from "@larder/core/filters";
import { BaseTranslator, Comparators, Operators, type Comparator, type Comparison, type Operation, type Operator, type StructuredQuery } from "@langchain/core/structured_query";
import type { LarderVectorStore } from "./vector-store.js";

const STORE = "LarderTranslator";

/** LangChain's six comparators (the ones its query-constructor parser produces) -> Larder operators. */
const COMPARATORS: Record<Comparator, FilterOperator> = { eq: "==", ne: "!=", gt: ">", gte: ">=", lt: "<", lte: "<=" };

/**
 * Comparators of LangChain's Python IR that a hand-built `Comparison` may carry (the JS parser
 * never produces them): `in`/`nin` take an array, `contain` is "the stored array contains the
 * value", `like` is SQL LIKE, translated only where Larder has the exact same meaning.
 */
const EXTRA_COMPARATORS = new Set(["in", "nin", "contain", "like"]);

function invalid(message: string): StorageError {
  return new StorageError("INVALID_ARGUMENT", message, { store: STORE });
}

function unsupported(message: string): StorageError {
  return new StorageError("UNSUPPORTED", message, { store: STORE });
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

/**
 * SQL LIKE without an escape character: `%x%` (x free of `%` and `_`) is Larder's case-sensitive
 * substring match, a pattern without wildcards is equality. Prefix/suffix patterns and `_` have no
 * Larder operator with the same meaning.
 */
function likeToFilter(key: string, pattern: unknown): MetadataFilter {
  if (typeof pattern !== "string") throw invalid(`like on ${JSON.stringify(key)} needs a string pattern`);
  if (!/[%_\\]/.test(pattern)) return { key, operator: "==", value: pattern };
  const inner = pattern.slice(1, -1);
  if (pattern.length >= 2 && pattern.startsWith("%") && pattern.endsWith("%") && !/[%_\\]/.test(inner) && inner.length > 0) {
    return { key, operator: "text_match", value: inner };
  }
  throw unsupported(
    `like pattern ${JSON.stringify(pattern)} on ${JSON.stringify(key)} has no exact Larder equivalent ` +
      `(only "%text%" -> text_match and a pattern without wildcards -> ==); use a Larder MetadataFilters filter`,
  );
}

/**
 * Translates LangChain's structured-query IR (what `SelfQueryRetriever` builds from an LLM's
 * answer) into Larder `MetadataFilters`, so the filter means the same on every Larder store.
 *
 * - `eq ne gt gte lt lte` -> `== != > >= < <=`; values keep their types (no coercion: `"3"` is
 *   not `3`). Ordering on a boolean is `INVALID_ARGUMENT`.
 * - `and`, `or`, `not` -> nested groups, at any depth.
 * - Hand-built comparisons from the Python IR: `in`, `nin` (array values), `contain` (the stored
 *   array contains the value), `like` (see {@link likeToFilter}).
 * - Anything else is a `StorageError` (`INVALID_ARGUMENT` or `UNSUPPORTED`), never dropped.
 */
export class LarderTranslator extends BaseTranslator<LarderVectorStore> {
  declare VisitOperationOutput: MetadataFilters;
  declare VisitComparisonOutput: MetadataFilter | MetadataFilters;
  declare VisitStructuredQueryOutput: { filter?: MetadataFilters };

  allowedOperators: Operator[] = [Operators["and"]!, Operators["or"]!, Operators["not"]!];
  allowedComparators: Comparator[] = [
    Comparators["eq"]!,
    Comparators["ne"]!,
    Comparators["gt"]!,
    Comparators["gte"]!,
    Comparators["lt"]!,
    Comparators["lte"]!,
  ];

  /** The Larder operator or condition a LangChain comparator or operator becomes. */
  formatFunction(func: Operator | Comparator): string {
    if (func === "and" || func === "or" || func === "not") return func;
    const op = COMPARATORS[func as Comparator];
    if (op !== undefined) return op;
    const extra = func as string;
    if (extra === "contain") return "contains";
    if (extra === "in" || extra === "nin") return extra;
    if (extra === "like") return "text_match";
    throw invalid(`unknown comparator or operator ${JSON.stringify(func)}`);
  }

  visitOperation(operation: Operation): MetadataFilters {
    const op = operation.operator as string;
    if (op !== "and" && op !== "or" && op !== "not") throw invalid(`unknown operator ${JSON.stringify(op)}`);
    const args = operation.args ?? [];
    if (args.length === 0) throw invalid(`${op}() needs at least one argument`);
    const filters = args.map((arg) => {
      const out = arg.accept(this) as unknown;
      if (typeof out !== "object" || out === null) throw invalid(`${op}() argument did not translate to a filter`);
      return out as MetadataFilter | MetadataFilters;
    });
    return { filters, condition: op };
  }

  visitComparison(comparison: Comparison<unknown>): MetadataFilter | MetadataFilters {
    const { attribute: key, value } = comparison;
    const comparator = comparison.comparator as string;
    if (typeof key !== "string" || key.length === 0) throw invalid(`comparison attribute must be a non-empty string, got ${JSON.stringify(key)}`);
    if (comparator in COMPARATORS) {
      if (!isScalar(value)) {
        throw invalid(`${comparator}(${JSON.stringify(key)}, ...) needs a string, finite number or boolean, got ${describeValue(value)}`);
      }
      const operator = COMPARATORS[comparator as Comparator];
      if (typeof value === "boolean" && operator !== "==" && operator !== "!=") {
        throw invalid(`${comparator} on ${JSON.stringify(key)} cannot order booleans`);
      }
      return { key, operator, value };
    }
    if (!EXTRA_COMPARATORS.has(comparator)) {
      throw unsupported(`comparator ${JSON.stringify(comparator)} on ${JSON.stringify(key)} has no Larder equivalent`);
    }
    if (comparator === "like") return likeToFilter(key, value);
    if (comparator === "contain") {
      if (!isScalar(value)) throw invalid(`contain on ${JSON.stringify(key)} needs a string, finite number or boolean`);
      return { key, operator: "contains", value };
    }
    if (!Array.isArray(value) || !value.every(isScalar)) {
      throw invalid(`${comparator} on ${JSON.stringify(key)} needs an array of strings, finite numbers or booleans`);
    }
    return { key, operator: comparator as "in" | "nin", value: value as FilterValue };
  }

  visitStructuredQuery(query: StructuredQuery): { filter?: MetadataFilters } {
    if (!query.filter) return {};
    const out = query.filter.accept(this) as MetadataFilter | MetadataFilters;
    const tree: MetadataFilters = "filters" in out ? out : { filters: [out], condition: "and" };
    // Malformed trees fail here, before any store sees them.
    return { filter: validateFilters(tree, { store: STORE }) };
  }

  /**
   * Combines `SelfQueryRetriever`'s `searchParams.filter` (the default) with the generated one:
   * `and`/`or` nest both in one group, `replace` keeps the generated one. Unlike LangChain's
   * `BasicTranslator`, `and` with no generated filter keeps the default filter (the conjunction
   * of the default and nothing), with or without `forceDefaultFilter`.
   */
  mergeFilters(
    defaultFilter: MetadataFilters | undefined,
    generatedFilter: MetadataFilters | undefined,
    mergeType: "and" | "or" | "replace" = "and",
    _forceDefaultFilter = false,
  ): MetadataFilters | undefined {
    const noDefault = isEmpty(defaultFilter);
    const noGenerated = isEmpty(generatedFilter);
    if (noDefault && noGenerated) return undefined;
    if (noDefault || mergeType === "replace") return noGenerated ? undefined : generatedFilter;
    if (noGenerated) return defaultFilter;
    if (mergeType !== "and" && mergeType !== "or") throw invalid(`unknown merge type ${JSON.stringify(mergeType)}`);
    return { filters: [defaultFilter!, generatedFilter!], condition: mergeType };
  }
}

function isEmpty(f: MetadataFilters | undefined): boolean {
  return f === undefined || f === null || (typeof f === "object" && Object.keys(f).length === 0);
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number") return String(v);
  return typeof v;
}
