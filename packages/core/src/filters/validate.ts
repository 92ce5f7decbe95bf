import { StorageError } from "../errors.js";
import {
  FILTER_CONDITIONS,
  FILTER_OPERATORS,
  type FilterCondition,
  type FilterOperator,
  type MetadataFilter,
  type MetadataFilters,
} from "./types.js";

/** Guards against runaway trees (LLM-written filters included). Exceeding one is INVALID_ARGUMENT. */
export const FILTER_LIMITS = {
  /** Nesting depth of groups; the root group is depth 1. */
  maxDepth: 32,
  /** Entries of all `filters` arrays in one tree (leaves and nested groups; the root is not one). */
  maxNodes: 2_000,
  /** Elements of an `in`/`nin`/`any`/`all` array. */
  maxArrayLength: 10_000,
  /** UTF-16 code units of a key (`key.length`). */
  maxKeyLength: 65_536,
} as const;

/**
 * What each operator's `value` must be:
 * - `scalar`: string, finite number or boolean;
 * - `orderable`: string or finite number;
 * - `scalarArray`: array (possibly empty) of scalars;
 * - `string`: string;
 * - `none`: no value (omitted or null).
 */
export type FilterValueKind = "scalar" | "orderable" | "scalarArray" | "string" | "none";

export const OPERATOR_VALUE_KINDS: Readonly<Record<FilterOperator, FilterValueKind>> = {
  "==": "scalar",
  "!=": "scalar",
  ">": "orderable",
  ">=": "orderable",
  "<": "orderable",
  "<=": "orderable",
  in: "scalarArray",
  nin: "scalarArray",
  any: "scalarArray",
  all: "scalarArray",
  contains: "scalar",
  text_match: "string",
  text_match_insensitive: "string",
  is_empty: "none",
};

export interface ValidateFiltersOptions {
  /** Operators the store evaluates exactly; any other operator is `UNSUPPORTED`. Default: all. */
  supportedOperators?: readonly FilterOperator[];
  /** Conditions the store supports; default all three. Others are `UNSUPPORTED`. */
  supportedConditions?: readonly FilterCondition[];
  /** `false` when the store cannot evaluate nested groups (they become `UNSUPPORTED`). Default true. */
  nestedFilters?: boolean;
  /** Store name for error messages. */
  store?: string;
}

const OPERATOR_SET = new Set<string>(FILTER_OPERATORS);
const CONDITION_SET = new Set<string>(FILTER_CONDITIONS);

function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? typeof v : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    // Cyclic or BigInt values cannot be shown as JSON; their type is enough for the message.
    return typeof v;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isFilterScalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

/** True when `node` is a group (`{filters, condition}`) rather than a leaf. */
export function isFilterGroup(node: MetadataFilter | MetadataFilters): node is MetadataFilters {
  return "filters" in node;
}

/**
 * Checks a filter tree and returns a canonical copy of it (`condition` always set, `value` absent
 * for `is_empty`, arrays copied), safe to keep while the caller mutates the original.
 *
 * Throws `INVALID_ARGUMENT` for a malformed tree (not an object, unknown operator or condition,
 * empty key, a value of the wrong type for its operator, NaN/Infinity, `null` values, unknown
 * properties, limits in {@link FILTER_LIMITS} exceeded), and then `UNSUPPORTED` for an operator,
 * condition or nesting the store declared it cannot honour. Does no I/O: call it before any.
 */
export function validateFilters(filters: unknown, options: ValidateFiltersOptions = {}): MetadataFilters {
  const store = options.store;
  const invalid = (path: string, msg: string) =>
    new StorageError("INVALID_ARGUMENT", `invalid metadata filter at ${path}: ${msg}`, { store, details: { path } });
  const supported = options.supportedOperators ? new Set<string>(options.supportedOperators) : undefined;
  const conditions = options.supportedConditions ? new Set<string>(options.supportedConditions) : undefined;
  let unsupported: StorageError | undefined;
  let count = 0;

  const leaf = (raw: Record<string, unknown>, path: string): MetadataFilter => {
    for (const k of Object.keys(raw)) {
      if (k !== "key" && k !== "operator" && k !== "value") throw invalid(path, `unknown property ${describe(k)}`);
    }
    const { key, operator, value } = raw;
    if (typeof key !== "string") throw invalid(path, `key must be a string, got ${describe(key)}`);
    if (key.length === 0) throw invalid(path, "key must not be empty");
    if (key.length > FILTER_LIMITS.maxKeyLength) throw invalid(path, `key longer than ${FILTER_LIMITS.maxKeyLength} UTF-16 code units`);
    if (typeof operator !== "string" || !OPERATOR_SET.has(operator)) {
      throw invalid(
        path,
        `unknown operator ${describe(operator)} (expected one of ${FILTER_OPERATORS.join(" ")}; ` +
          `normalizeFilters() accepts LlamaIndex names such as "EQ")`,
      );
    }
    const op = operator as FilterOperator;
    const where = `operator "${op}" on key ${describe(key)}`;
    switch (OPERATOR_VALUE_KINDS[op]) {
      case "none":
        if (value !== undefined && value !== null) throw invalid(path, `${where} takes no value, got ${describe(value)}`);
        break;
      case "scalar":
        if (!isFilterScalar(value)) {
          throw invalid(path, `${where} needs a string, finite number or boolean, got ${describe(value)}` +
            (value === null ? ' (use "is_empty" to find missing or null values)' : ""));
        }
        break;
      case "orderable":
        if (typeof value !== "string" && !(typeof value === "number" && Number.isFinite(value))) {
          throw invalid(path, `${where} needs a string or finite number, got ${describe(value)}`);
        }
        break;
      case "string":
        if (typeof value !== "string") throw invalid(path, `${where} needs a string, got ${describe(value)}`);
        break;
      case "scalarArray": {
        if (!Array.isArray(value)) throw invalid(path, `${where} needs an array of strings, numbers or booleans, got ${describe(value)}`);
        if (value.length > FILTER_LIMITS.maxArrayLength) throw invalid(path, `${where}: array longer than ${FILTER_LIMITS.maxArrayLength}`);
        for (let i = 0; i < value.length; i++) {
          if (!isFilterScalar(value[i])) {
            throw invalid(path, `${where}: element ${i} must be a string, finite number or boolean, got ${describe(value[i])}`);
          }
        }
        break;
      }
    }
    if (supported && !supported.has(op) && !unsupported) {
      unsupported = new StorageError("UNSUPPORTED", `metadata filter operator "${op}" (at ${path}) is not supported by this store`, {
        store,
        details: { path, operator: op },
      });
    }
    const out: MetadataFilter = { key, operator: op };
    if (op !== "is_empty") out.value = Array.isArray(value) ? [...(value as (string | number | boolean)[])] : (value as string | number | boolean);
    return out;
  };

  const group = (raw: unknown, path: string, depth: number): MetadataFilters => {
    if (!isPlainObject(raw)) throw invalid(path, `expected {filters, condition}, got ${describe(raw)}`);
    if (depth > FILTER_LIMITS.maxDepth) throw invalid(path, `nested deeper than ${FILTER_LIMITS.maxDepth} levels`);
    for (const k of Object.keys(raw)) {
      if (k !== "filters" && k !== "condition") throw invalid(path, `unknown property ${describe(k)}`);
    }
    const { filters: children, condition } = raw;
    if (!Array.isArray(children)) throw invalid(path, `filters must be an array, got ${describe(children)}`);
    let cond: FilterCondition = "and";
    if (condition !== undefined && condition !== null) {
      if (typeof condition !== "string" || !CONDITION_SET.has(condition)) {
        throw invalid(path, `unknown condition ${describe(condition)} (expected "and", "or" or "not")`);
      }
      cond = condition as FilterCondition;
    }
    if (conditions && !conditions.has(cond) && children.length > 0 && !unsupported) {
      unsupported = new StorageError("UNSUPPORTED", `metadata filter condition "${cond}" (at ${path}) is not supported by this store`, {
        store,
        details: { path, condition: cond },
      });
    }
    const out: (MetadataFilter | MetadataFilters)[] = [];
    for (let i = 0; i < children.length; i++) {
      const child: unknown = children[i];
      const p = `${path}.filters[${i}]`;
      if (++count > FILTER_LIMITS.maxNodes) throw invalid(path, `more than ${FILTER_LIMITS.maxNodes} filters in one tree`);
      if (!isPlainObject(child)) throw invalid(p, `expected a filter or a group, got ${describe(child)}`);
      if ("filters" in child) {
        if ("key" in child || "operator" in child) throw invalid(p, "an entry is either a filter {key, operator, value} or a group {filters, condition}, not both");
        if (options.nestedFilters === false && !unsupported) {
          unsupported = new StorageError("UNSUPPORTED", `nested metadata filter groups (at ${p}) are not supported by this store`, {
            store,
            details: { path: p },
          });
        }
        out.push(group(child, p, depth + 1));
      } else {
        out.push(leaf(child, p));
      }
    }
    return { filters: out, condition: cond };
  };

  const tree = group(filters, "filters", 1);
  if (unsupported) throw unsupported;
  return tree;
}

// ---------------------------------------------------------------------------------------------
// LlamaIndex's dict form

const OPERATOR_NAMES: Readonly<Record<string, FilterOperator>> = {
  EQ: "==",
  NE: "!=",
  GT: ">",
  GTE: ">=",
  LT: "<",
  LTE: "<=",
  IN: "in",
  NIN: "nin",
  ANY: "any",
  ALL: "all",
  CONTAINS: "contains",
  TEXT_MATCH: "text_match",
  TEXT_MATCH_INSENSITIVE: "text_match_insensitive",
  IS_EMPTY: "is_empty",
};

function normalizeOperator(op: unknown): unknown {
  if (op === undefined || op === null) return "==";
  if (typeof op !== "string") return op;
  const s = op.trim().replace(/^FilterOperator\./i, "");
  if (OPERATOR_SET.has(s)) return s;
  const lower = s.toLowerCase();
  if (OPERATOR_SET.has(lower)) return lower;
  return OPERATOR_NAMES[s.toUpperCase()] ?? op;
}

function normalizeCondition(c: unknown): unknown {
  if (c === undefined || c === null) return "and";
  if (typeof c !== "string") return c;
  const s = c.trim().replace(/^FilterCondition\./i, "").toLowerCase();
  return CONDITION_SET.has(s) ? s : c;
}

function normalizeNode(raw: unknown): unknown {
  if (!isPlainObject(raw)) return raw;
  if ("filters" in raw) {
    const children = raw["filters"];
    const out: Record<string, unknown> = { ...raw, condition: normalizeCondition(raw["condition"]) };
    if (Array.isArray(children)) out["filters"] = children.map(normalizeNode);
    return out;
  }
  const out: Record<string, unknown> = { ...raw, operator: normalizeOperator(raw["operator"]) };
  if (out["operator"] === "is_empty" && out["value"] === null) delete out["value"];
  return out;
}

/**
 * Accepts filters as LlamaIndex users write them and returns a validated canonical tree:
 * - `{filters, condition}` groups, `condition` as "and"/"OR"/"FilterCondition.NOT" (any case);
 * - leaves `{key, value, operator}` with `operator` as a value ("==", "in"...), an enum name
 *   ("EQ", "nin", "TEXT_MATCH", "FilterOperator.GT") or omitted (LlamaIndex's default, `==`);
 *   `is_empty` with `value: null` (Python's `None`);
 * - a bare list of filters (as `MetadataFilters.from_dicts`), meaning `and`;
 * - a single leaf.
 * Everything else is as strict as {@link validateFilters}.
 */
export function normalizeFilters(input: unknown, options?: ValidateFiltersOptions): MetadataFilters {
  let tree: unknown = input;
  if (Array.isArray(input)) tree = { filters: input, condition: "and" };
  else if (isPlainObject(input) && !("filters" in input) && ("key" in input || "operator" in input)) {
    tree = { filters: [input], condition: "and" };
  }
  return validateFilters(normalizeNode(tree), options);
}

// ---------------------------------------------------------------------------------------------
// Helpers for filter compilers (SQL, Cypher, in-memory indexes)

export interface FilterVisitor {
  leaf?(filter: MetadataFilter, path: string, depth: number): void;
  group?(group: MetadataFilters, path: string, depth: number): void;
}

/** Depth-first, pre-order walk of a (validated) tree. The root group has depth 1. */
export function walkFilters(filters: MetadataFilters, visitor: FilterVisitor): void {
  const visit = (g: MetadataFilters, path: string, depth: number) => {
    visitor.group?.(g, path, depth);
    g.filters.forEach((c, i) => {
      const p = `${path}.filters[${i}]`;
      if (isFilterGroup(c)) visit(c, p, depth + 1);
      else visitor.leaf?.(c, p, depth + 1);
    });
  };
  visit(filters, "filters", 1);
}

/** The distinct keys a tree mentions, in first-seen order. */
export function filterKeys(filters: MetadataFilters): string[] {
  const keys = new Set<string>();
  walkFilters(filters, { leaf: (f) => keys.add(f.key) });
  return [...keys];
}

/** The distinct operators a tree uses. */
export function filterOperatorsUsed(filters: MetadataFilters): Set<FilterOperator> {
  const ops = new Set<FilterOperator>();
  walkFilters(filters, { leaf: (f) => ops.add(f.operator) });
  return ops;
}

/** Maximum group depth of a tree (1 for a flat list). */
export function filterDepth(filters: MetadataFilters): number {
  let max = 1;
  walkFilters(filters, { group: (_g, _p, d) => (max = Math.max(max, d)) });
  return max;
}

/**
 * Bottom-up fold, the shape of most compilers: `leaf` turns a filter into T, `group` combines
 * the children's results (an empty group must mean "match everything", see docs/filters.md).
 *
 * ```ts
 * const sql = foldFilters(tree, {
 *   leaf: (f) => compileLeaf(f, params),
 *   group: (cond, parts) =>
 *     parts.length === 0 ? "TRUE" : cond === "not" ? `NOT (${parts.join(" OR ")})` : `(${parts.join(cond === "and" ? " AND " : " OR ")})`,
 * });
 * ```
 */
export function foldFilters<T>(
  filters: MetadataFilters,
  fns: { leaf(filter: MetadataFilter): T; group(condition: FilterCondition, children: T[]): T },
): T {
  const go = (g: MetadataFilters): T =>
    fns.group(g.condition ?? "and", g.filters.map((c) => (isFilterGroup(c) ? go(c) : fns.leaf(c))));
  return go(filters);
}
