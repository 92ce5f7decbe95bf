import type { MetadataFilters } from "@larder/core/filters";

/**
 * The settled points of packages/core/docs/filters.md, one case each (ids `filters.spec.*`, named
 * in that page). A case is a few metadata records and checks: a filter tree and either the indexes
 * of the records it selects, or the error code a store must throw before any I/O. The vector and
 * graph suites run every case against the store; the kit's own tests run them against the
 * reference evaluator.
 */
export interface FilterSpecCheck {
  filters: unknown;
  expect: number[] | "INVALID_ARGUMENT";
}

export interface FilterSpecCase {
  id: `filters.spec.${string}`;
  /** Whether a property graph store can hold these records (graph.md "Property values"). */
  graph: boolean;
  metadata: Record<string, unknown>[];
  checks: FilterSpecCheck[];
}

const leaf = (key: string, operator: string, value?: unknown) => (value === undefined ? { key, operator } : { key, operator, value });
const tree = (...filters: unknown[]): MetadataFilters => ({ filters, condition: "and" }) as MetadataFilters;

function nested(depth: number): unknown {
  let t: unknown = { filters: [leaf("k", "==", "v")], condition: "and" };
  for (let d = 1; d < depth; d++) t = { filters: [t], condition: "and" };
  return t;
}

export const FILTER_SPEC_CASES: readonly FilterSpecCase[] = [
  {
    id: "filters.spec.lone-surrogate-order",
    graph: true,
    metadata: [{ s: "\uD7FF" }, { s: "\uE000" }, { s: "\uFFFF" }, { s: "\u{10000}" }, { s: "a" }],
    checks: [
      // U+D800 sits between U+D7FF and U+E000.
      { filters: tree(leaf("s", "<", "\uD800")), expect: [0, 4] },
      { filters: tree(leaf("s", ">", "\uD800")), expect: [1, 2, 3] },
      { filters: tree(leaf("s", ">=", "\uDFFF")), expect: [1, 2, 3] },
      { filters: tree(leaf("s", "<", "\uE000")), expect: [0, 4] },
    ],
  },
  {
    id: "filters.spec.lone-surrogate-substring",
    graph: true,
    metadata: [{ s: "a\u{10000}b" }, { s: "\u{1F600}" }, { s: "x" }],
    checks: [
      { filters: tree(leaf("s", "text_match", "\uD800")), expect: [] },
      { filters: tree(leaf("s", "text_match", "\uDC00b")), expect: [] },
      { filters: tree(leaf("s", "text_match", "\uDE00")), expect: [] },
      { filters: tree(leaf("s", "text_match", "a\u{10000}")), expect: [0] },
      { filters: tree(leaf("s", "text_match_insensitive", "\uD83D")), expect: [] },
    ],
  },
  {
    id: "filters.spec.fold-unicode-14-16",
    graph: true,
    metadata: [{ s: "\uA7C1" }, { s: "x\u2C5Fy" }, { s: "\u1C8A" }, { s: "\u{10D70}" }, { s: "plain" }],
    checks: [
      { filters: tree(leaf("s", "text_match_insensitive", "\uA7C0")), expect: [0] },
      { filters: tree(leaf("s", "text_match_insensitive", "\u2C2F")), expect: [1] },
      { filters: tree(leaf("s", "text_match_insensitive", "\u1C89")), expect: [2] },
      { filters: tree(leaf("s", "text_match_insensitive", "\u{10D50}")), expect: [3] },
      { filters: tree(leaf("s", "text_match", "\uA7C0")), expect: [] },
    ],
  },
  {
    id: "filters.spec.fold-simple",
    graph: true,
    metadata: [{ s: "ΟΔΥΣΣΕΥΣ" }, { s: "Straße" }, { s: "İstanbul" }, { s: "\u212A" }, { s: "STRASSE" }, { s: "ſ" }],
    checks: [
      { filters: tree(leaf("s", "text_match_insensitive", "οδυσσευς")), expect: [0] },
      { filters: tree(leaf("s", "text_match_insensitive", "STRAẞE")), expect: [1] },
      { filters: tree(leaf("s", "text_match_insensitive", "ss")), expect: [4] },
      { filters: tree(leaf("s", "text_match_insensitive", "istanbul")), expect: [] },
      { filters: tree(leaf("s", "text_match_insensitive", "İSTANBUL")), expect: [2] },
      { filters: tree(leaf("s", "text_match_insensitive", "k")), expect: [3] },
      { filters: tree(leaf("s", "text_match_insensitive", "S")), expect: [1, 2, 4, 5] },
    ],
  },
  {
    id: "filters.spec.depth-limit",
    graph: true,
    metadata: [{ k: "v" }, { k: "w" }],
    checks: [
      { filters: nested(32), expect: [0] },
      { filters: nested(33), expect: "INVALID_ARGUMENT" },
    ],
  },
  {
    id: "filters.spec.entry-limit",
    graph: true,
    metadata: [{ k: "v" }, { k: "w" }],
    checks: [
      { filters: { filters: Array.from({ length: 2000 }, () => leaf("k", "==", "v")), condition: "or" }, expect: [0] },
      { filters: { filters: Array.from({ length: 2001 }, () => leaf("k", "==", "v")), condition: "or" }, expect: "INVALID_ARGUMENT" },
      // Nested groups count as entries: 1 group + 1,999 leaves inside it = 2,000.
      { filters: { filters: [{ filters: Array.from({ length: 1999 }, () => leaf("k", "==", "v")), condition: "or" }] }, expect: [0] },
      { filters: { filters: [{ filters: Array.from({ length: 2000 }, () => leaf("k", "==", "v")), condition: "or" }] }, expect: "INVALID_ARGUMENT" },
    ],
  },
  {
    id: "filters.spec.key-length",
    graph: true,
    metadata: [{ k: "v" }],
    checks: [
      // Keys are measured in UTF-16 code units: 32,768 astral characters are 65,536 units.
      { filters: tree(leaf("\u{1F600}".repeat(32_768), "is_empty")), expect: [0] },
      { filters: tree(leaf("\u{1F600}".repeat(32_768) + "x", "is_empty")), expect: "INVALID_ARGUMENT" },
      { filters: tree(leaf("x".repeat(65_537), "is_empty")), expect: "INVALID_ARGUMENT" },
    ],
  },
  {
    id: "filters.spec.condition-null",
    graph: true,
    metadata: [{ a: 1, b: 2 }, { a: 1 }],
    checks: [
      { filters: { filters: [leaf("a", "==", 1), leaf("b", "==", 2)], condition: null }, expect: [0] },
      { filters: { filters: [leaf("a", "==", 1), leaf("b", "==", 2)] }, expect: [0] },
      { filters: { filters: [leaf("a", "==", 1)], condition: "AND" }, expect: "INVALID_ARGUMENT" },
      { filters: { filters: [leaf("a", "==", 1)], condition: "" }, expect: "INVALID_ARGUMENT" },
    ],
  },
  {
    id: "filters.spec.reserved-keys",
    graph: true,
    metadata: [{ doc_id: "mine", ref_doc_id: "r1" }, { _node_type: "x" }, {}],
    checks: [
      { filters: tree(leaf("doc_id", "==", "mine")), expect: [0] },
      { filters: tree(leaf("ref_doc_id", "is_empty")), expect: [1, 2] },
      { filters: tree(leaf("_node_type", "==", "x")), expect: [1] },
      { filters: tree(leaf("document_id", "is_empty")), expect: [0, 1, 2] },
    ],
  },
  {
    // The filter sees the values the store gives back: 1.0 is the number 1, [] an empty array.
    id: "filters.spec.stored-values",
    graph: true,
    metadata: [{ n: 1.0 }, { n: 1 }, { n: "1" }, { tags: [] }, { tags: ["a", "b"] }],
    checks: [
      { filters: tree(leaf("n", "==", 1)), expect: [0, 1] },
      { filters: tree(leaf("n", "in", [1.0])), expect: [0, 1] },
      { filters: tree(leaf("tags", "is_empty")), expect: [0, 1, 2, 3] },
      { filters: tree(leaf("tags", "all", [])), expect: [3, 4] },
      { filters: tree(leaf("tags", "any", [])), expect: [] },
    ],
  },
  {
    id: "filters.spec.numbers",
    graph: true,
    metadata: [{ n: 2 ** 53 }, { n: 2 ** 63 }, { n: 5e-324 }, { n: -0 }, { n: "9007199254740993" }, { n: 1 }, { n: true }],
    checks: [
      { filters: tree(leaf("n", "==", 2 ** 53 + 1)), expect: [0] },
      { filters: tree(leaf("n", ">", 2 ** 53)), expect: [1] },
      { filters: tree(leaf("n", "==", 0)), expect: [3] },
      { filters: tree(leaf("n", ">", 0)), expect: [0, 1, 2, 5] },
      { filters: tree(leaf("n", "<", 5e-324)), expect: [3] },
      { filters: tree(leaf("n", "==", 1)), expect: [5] },
      { filters: tree(leaf("n", "in", [true])), expect: [6] },
      { filters: tree(leaf("n", "==", "9007199254740993")), expect: [4] },
    ],
  },
];
