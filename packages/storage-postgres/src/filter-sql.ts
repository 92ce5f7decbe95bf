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
 * - stored metadata never holds U+0000 or lone surrogates (the store refuses them), so filter keys
 *   and values containing them are rewritten to equivalent expressions that can be bound (a key is
 *   missing, `==` never matches, ordering and substring tests are computed against well-formed
 *   bounds): the answer is the reference evaluator's on any data Postgres can hold, never a refusal.
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
  /** The validated tree the SQL was compiled from. */
  tree: MetadataFilters;
}

export interface FilterColumns {
  /** JSONB column of the node's metadata. */
  metadata: string;
  /**
   * JSONB column with core's `foldCase()` of each string metadata value the fold changes (keys
   * whose value folds to itself, or is not a string, are absent).
   */
  metadataFolded: string;
}

function hasNul(s: string): boolean {
  return s.includes("\u0000");
}

/** A string no stored key or value can equal: it holds U+0000 or a lone surrogate. */
function unstorable(s: string): boolean {
  return hasNul(s) || !isWellFormedUtf16(s);
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** Index of the first U+0000 or lone surrogate in `s`, or -1. */
function firstUnstorable(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return i;
    if (isHigh(c)) {
      if (isLow(s.charCodeAt(i + 1))) i++;
      else return i;
    } else if (isLow(c)) return i;
  }
  return -1;
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
  // U+0000 and lone surrogates are never sent to Postgres (the driver would encode a lone surrogate
  // as U+FFFD, which would match other strings): no stored string holds them, so each leaf is
  // rewritten to what the reference evaluator answers on such data.
  const params: unknown[] = [];
  const bind = (v: unknown, cast: string): string => {
    params.push(v);
    return `$${paramOffset + params.length}::${cast}`;
  };
  const keyParams = new Map<string, string>();

  const leaf = (f: MetadataFilter): string => {
    // Bound lazily: a leaf that compiles to a constant must not leave an unreferenced parameter.
    const keyParam = (): string | undefined => {
      // A key with U+0000 or a lone surrogate can never be stored: it is always missing.
      if (unstorable(f.key)) return undefined;
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
      else if ((c.operator === "==" || c.operator === "contains") && !unstorable(c.key) && !(typeof c.value === "string" && unstorable(c.value))) {
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
  return { sql: hints.length ? `(${[...hints, sql].join(" AND ")})` : sql, params, tree };
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
      const xs = (value as (string | number | boolean)[]).filter((x) => !(typeof x === "string" && unstorable(x)));
      if (xs.length === 0) return "FALSE";
      const v = stored();
      return `(CASE WHEN jsonb_typeof(${v}) = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(${bind(
        JSON.stringify(xs),
        "jsonb",
      )}) AS e(x) WHERE ${v} @> jsonb_build_array(e.x)) ELSE false END)`;
    }
    case "all": {
      const xs = value as (string | number | boolean)[];
      // No stored string holds U+0000 or a lone surrogate, so an array cannot contain such an element.
      if (xs.some((x) => typeof x === "string" && unstorable(x))) return "FALSE";
      const v = stored();
      // jsonb @> on arrays: every element of the right is a top-level element of the left, with
      // JSON equality (nested arrays/objects never equal a scalar).
      return `(CASE WHEN jsonb_typeof(${v}) = 'array' THEN ${v} @> ${bind(JSON.stringify(xs), "jsonb")} ELSE false END)`;
    }
    case "contains": {
      if (typeof value === "string" && unstorable(value)) return "FALSE";
      const v = stored();
      return `(CASE WHEN jsonb_typeof(${v}) = 'array' THEN ${v} @> ${bind(JSON.stringify([value]), "jsonb")} ELSE false END)`;
    }
    case "text_match": {
      const s = value as string;
      const test = substringTest(s, bind);
      if (test === undefined) return "FALSE";
      const v = stored();
      return `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN ${test(`(${v} #>> '{}')`)} ELSE false END)`;
    }
    case "text_match_insensitive": {
      const s = foldCase(value as string);
      const test = substringTest(s, bind);
      if (test === undefined) return "FALSE";
      const kp = keyParam();
      if (kp === undefined) return "FALSE";
      const v = stored();
      // The fold is core's pinned table, computed when the node was written: exact, whatever the
      // server's locale or ICU version (the store refuses this operator while the table's recorded
      // fold version is not core's, see PostgresVectorStore.refoldMetadata).
      const folded = `COALESCE(${columns.metadataFolded} ->> ${kp}, ${v} #>> '{}')`;
      return `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN ${test(folded)} ELSE false END)`;
    }
    case "is_empty": {
      const v = stored();
      return `(${v} IS NULL OR ${v} = 'null'::jsonb OR ${v} = '""'::jsonb OR ${v} = '[]'::jsonb)`;
    }
  }
}

function eq(stored: () => string, value: MetadataFilter["value"], bind: Bind): string {
  if (typeof value === "string" && unstorable(value)) return "FALSE";
  const v = stored();
  // JSONB equality: same type and same value (numbers numerically, strings byte-wise); a stored
  // array/object/null never equals a scalar.
  return `COALESCE(${v} = ${bind(JSON.stringify(value), "jsonb")}, false)`;
}

function inList(stored: () => string, value: (string | number | boolean)[], bind: Bind): string {
  const xs = value.filter((x) => !(typeof x === "string" && unstorable(x)));
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
  const text = `(${v} #>> '{}')`;
  const below = op === "<" || op === "<=";
  let test: string;
  const bad = firstUnstorable(value);
  if (bad < 0) {
    test = `${text} COLLATE "C" ${op} ${bind(value, "text")} COLLATE "C"`;
  } else {
    // Stored strings hold no U+0000 and no lone surrogate, so none equals `value`, and comparing
    // with it (by code point, as the reference does: a lone surrogate is its own code point) is
    // comparing with a well-formed bound built from p, the part before the first such character.
    const p = value.slice(0, bad);
    const c = value.charCodeAt(bad);
    if (c === 0) {
      // p + "\0" + rest: s < value <=> s <= p.
      test = `${text} COLLATE "C" ${below ? "<=" : ">"} ${bind(p, "text")} COLLATE "C"`;
    } else {
      // A lone surrogate is its own code point, U+D800..U+DFFF: a stored string starting with p
      // continues with a character below it (<= U+D7FF) or above it (>= U+E000), so
      // s < value <=> s < p + U+E000.
      test = `${text} COLLATE "C" ${below ? "<" : ">="} ${bind(p + "\uE000", "text")} COLLATE "C"`;
    }
  }
  return `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN ${test} ELSE false END)`;
}

/**
 * The test "the stored text contains `s`" (code point by code point, as the reference's
 * `includesByCodePoint`), as a function of the text expression; `undefined` when no storable
 * string can contain `s`: one with U+0000 or a lone surrogate (a code point of its own, which never
 * matches half of a stored pair).
 */
function substringTest(s: string, bind: Bind): ((text: string) => string) | undefined {
  if (unstorable(s)) return undefined;
  return (text) => `strpos(${text}, ${bind(s, "text")}) > 0`;
}

/**
 * The case fold (core's `foldCase`, table `CASE_FOLD_VERSION`) of every string value it changes,
 * for the folded column used by `text_match_insensitive`. `null` when there is none (the common case).
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
