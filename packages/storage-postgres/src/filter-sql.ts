import { StorageError } from "@larder/core/errors";
import {
  foldCase,
  foldFilters,
  validateFilters,
  type FilterOperator,
  type MetadataFilter,
  type MetadataFilters,
} from "@larder/core/filters";
import { isWellFormedUtf16 } from "./identifiers.js";

/**
 * Compiles a metadata filter tree into one SQL boolean expression over the `metadata` JSONB
 * column, with EVERY key and value bound as a parameter (nothing from the filter is pasted into the
 * SQL text). The semantics are those of core's reference evaluator (`matchesFilters`), operator by
 * operator — see the README's "Filter compilation" section for the table.
 *
 * Invariants the translation relies on:
 * - every leaf compiles to an expression that is never SQL NULL (CASE ... ELSE false / COALESCE),
 *   so `NOT (...)` is exact two-valued negation;
 * - type checks use `jsonb_typeof` inside CASE, so a cast (`::numeric`) only ever sees the type it
 *   expects (AND does not guarantee evaluation order in SQL; CASE does);
 * - stored metadata never holds U+0000 or lone surrogates (the store refuses them), so filter
 *   values containing them are rewritten to equivalent expressions that can be bound.
 */

/** Operators compiled exactly (all of them). */
export const SQL_FILTER_OPERATORS: readonly FilterOperator[] = [
  "==", "!=", ">", ">=", "<", "<=", "in", "nin", "any", "all", "contains", "text_match", "text_match_insensitive", "is_empty",
];

export interface CompiledFilter {
  /** A boolean SQL expression (never NULL). */
  sql: string;
  /** Parameters to append; the expression uses $offset+1 ... */
  params: unknown[];
}

export interface FilterColumns {
  /** JSONB column of the node's metadata. */
  metadata: string;
  /**
   * JSONB column with `toLowerCase()` of each string metadata value that changes when lower-cased
   * (keys whose value is already lower case, or not a string, are absent).
   */
  metadataFolded: string;
}

function hasNul(s: string): boolean {
  return s.includes("\u0000");
}

/** Validates (INVALID_ARGUMENT / UNSUPPORTED before any I/O) and compiles. */
export function compileFilters(
  filters: MetadataFilters | undefined,
  columns: FilterColumns,
  paramOffset: number,
  store: string,
): CompiledFilter | undefined {
  if (filters === undefined || filters === null) return undefined;
  const tree = validateFilters(filters, { store, supportedOperators: SQL_FILTER_OPERATORS });
  // Lone surrogates cannot be sent to Postgres (the driver encodes them as U+FFFD, which would
  // match other strings); refuse them rather than approximate.
  const check = (s: string, what: string) => {
    if (!isWellFormedUtf16(s)) {
      throw new StorageError("INVALID_ARGUMENT", `metadata filter ${what} contains a lone surrogate, which Postgres cannot represent`, {
        store,
      });
    }
  };
  const params: unknown[] = [];
  const bind = (v: unknown, cast: string): string => {
    params.push(v);
    return `$${paramOffset + params.length}::${cast}`;
  };
  const keyParams = new Map<string, string>();

  const leaf = (f: MetadataFilter): string => {
    check(f.key, "key");
    const values = Array.isArray(f.value) ? f.value : f.value === undefined ? [] : [f.value];
    for (const v of values) if (typeof v === "string") check(v, "value");
    // Bound lazily: a leaf that compiles to a constant must not leave an unreferenced parameter.
    const keyParam = (): string | undefined => {
      // A key with NUL can never be stored: it is always missing.
      if (hasNul(f.key)) return undefined;
      let p = keyParams.get(f.key);
      if (!p) {
        p = bind(f.key, "text");
        keyParams.set(f.key, p);
      }
      return p;
    };
    const v = () => {
      const p = keyParam();
      return p === undefined ? "NULL::jsonb" : `(${columns.metadata} -> ${p})`;
    };
    return compileLeaf(f.operator, f.value, v, keyParam, bind, columns);
  };

  // Index hints: `==` and `contains` leaves reachable from the root through AND groups only are
  // implied by `metadata @> {key: value}` (resp. `{key: [value]}`); AND-ing that containment in
  // changes nothing about the result but lets Postgres use the GIN index on metadata.
  const hints: string[] = [];
  const collectHints = (g: MetadataFilters) => {
    if ((g.condition ?? "and") !== "and") return;
    for (const c of g.filters) {
      if ("filters" in c) collectHints(c);
      else if ((c.operator === "==" || c.operator === "contains") && !hasNul(c.key) && !(typeof c.value === "string" && hasNul(c.value))) {
        const doc: Record<string, unknown> = {};
        Object.defineProperty(doc, c.key, { value: c.operator === "==" ? c.value : [c.value], enumerable: true });
        hints.push(`${columns.metadata} @> ${bind(JSON.stringify(doc), "jsonb")}`);
      }
    }
  };
  collectHints(tree);

  const sql = foldFilters(tree, {
    leaf,
    group: (condition, parts) => {
      if (parts.length === 0) return "TRUE";
      if (condition === "not") return `(NOT (${parts.join(" OR ")}))`;
      return `(${parts.join(condition === "and" ? " AND " : " OR ")})`;
    },
  });
  return { sql: hints.length ? `(${[...hints, sql].join(" AND ")})` : sql, params };
}

type Bind = (v: unknown, cast: string) => string;
const SCALAR_TYPES = `('string', 'number', 'boolean')`;

function compileLeaf(
  op: FilterOperator,
  value: MetadataFilter["value"],
  stored: () => string,
  keyParam: () => string | undefined,
  bind: Bind,
  columns: FilterColumns,
): string {
  switch (op) {
    case "==":
      return eq(stored, value, bind);
    case "!=":
      return `(NOT ${eq(stored, value, bind)})`;
    case ">":
    case ">=":
    case "<":
    case "<=":
      return ordering(op, stored(), value as string | number, bind);
    case "in":
      return inList(stored, value as (string | number | boolean)[], bind);
    case "nin":
      return `(NOT ${inList(stored, value as (string | number | boolean)[], bind)})`;
    case "any": {
      const xs = (value as (string | number | boolean)[]).filter((x) => !(typeof x === "string" && hasNul(x)));
      if (xs.length === 0) return "FALSE";
      const v = stored();
      return `(CASE WHEN jsonb_typeof(${v}) = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(${bind(
        JSON.stringify(xs),
        "jsonb",
      )}) AS e(x) WHERE ${v} @> jsonb_build_array(e.x)) ELSE false END)`;
    }
    case "all": {
      const xs = value as (string | number | boolean)[];
      // No stored string holds U+0000, so an array cannot contain such an element.
      if (xs.some((x) => typeof x === "string" && hasNul(x))) return "FALSE";
      const v = stored();
      // jsonb @> on arrays: every element of the right is a top-level element of the left, with
      // JSON equality (nested arrays/objects never equal a scalar).
      return `(CASE WHEN jsonb_typeof(${v}) = 'array' THEN ${v} @> ${bind(JSON.stringify(xs), "jsonb")} ELSE false END)`;
    }
    case "contains": {
      if (typeof value === "string" && hasNul(value)) return "FALSE";
      const v = stored();
      return `(CASE WHEN jsonb_typeof(${v}) = 'array' THEN ${v} @> ${bind(JSON.stringify([value]), "jsonb")} ELSE false END)`;
    }
    case "text_match": {
      const s = value as string;
      if (hasNul(s)) return "FALSE";
      const v = stored();
      return `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN strpos(${v} #>> '{}', ${bind(s, "text")}) > 0 ELSE false END)`;
    }
    case "text_match_insensitive": {
      const s = foldCase(value as string);
      if (hasNul(s)) return "FALSE";
      const kp = keyParam();
      if (kp === undefined) return "FALSE";
      const v = stored();
      // The fold is JavaScript's toLowerCase, computed when the node was written: exact, whatever
      // the server's locale or ICU version.
      const folded = `COALESCE(${columns.metadataFolded} ->> ${kp}, ${v} #>> '{}')`;
      return `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN strpos(${folded}, ${bind(s, "text")}) > 0 ELSE false END)`;
    }
    case "is_empty": {
      const v = stored();
      return `(${v} IS NULL OR ${v} = 'null'::jsonb OR ${v} = '""'::jsonb OR ${v} = '[]'::jsonb)`;
    }
  }
}

function eq(stored: () => string, value: MetadataFilter["value"], bind: Bind): string {
  if (typeof value === "string" && hasNul(value)) return "FALSE";
  const v = stored();
  // JSONB equality: same type and same value (numbers numerically, strings byte-wise); a stored
  // array/object/null never equals a scalar.
  return `COALESCE(${v} = ${bind(JSON.stringify(value), "jsonb")}, false)`;
}

function inList(stored: () => string, value: (string | number | boolean)[], bind: Bind): string {
  const xs = value.filter((x) => !(typeof x === "string" && hasNul(x)));
  if (xs.length === 0) return "FALSE";
  const v = stored();
  return `(CASE WHEN jsonb_typeof(${v}) IN ${SCALAR_TYPES} THEN ${bind(JSON.stringify(xs), "jsonb")} @> jsonb_build_array(${v}) ELSE false END)`;
}

function ordering(op: ">" | ">=" | "<" | "<=", v: string, value: string | number, bind: Bind): string {
  if (typeof value === "number") {
    // Stored numbers and filter numbers are both shortest round-trip decimals of doubles, so
    // numeric order equals double order.
    return `(CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::numeric ${op} ${bind(value, "numeric")} ELSE false END)`;
  }
  let x = value;
  let sqlOp: string = op;
  const nul = x.indexOf("\u0000");
  if (nul >= 0) {
    // For strings without U+0000 (all stored ones), comparing with p + "\0" + rest is comparing
    // with p: s < x <=> s <= p, s >= x <=> s > p (p = the part before the first NUL).
    x = x.slice(0, nul);
    sqlOp = op === "<" || op === "<=" ? "<=" : ">";
  }
  return `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN (${v} #>> '{}') COLLATE "C" ${sqlOp} ${bind(x, "text")} COLLATE "C" ELSE false END)`;
}

/**
 * `toLowerCase()` of every string value that changes when lower-cased, for the folded column used
 * by `text_match_insensitive`. `null` when there is none (the common case).
 */
export function foldedMetadata(metadata: Record<string, unknown>): Record<string, string> | null {
  let out: Record<string, string> | null = null;
  for (const [k, val] of Object.entries(metadata)) {
    if (typeof val !== "string") continue;
    const f = foldCase(val);
    if (f !== val) {
      out ??= {};
      Object.defineProperty(out, k, { value: f, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}
