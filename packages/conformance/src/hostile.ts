/**
 * The kit's hostile-string corpus: every store must round-trip each of these exactly as a key,
 * collection name, label or value — or refuse it with INVALID_ARGUMENT — and never corrupt
 * another entry.
 */
export const HOSTILE_STRINGS: readonly string[] = [
  "plain",
  "with space",
  "single'quote",
  'double"quote',
  "back`tick",
  "dollar$1 $$ ${x}",
  "sql -- comment",
  "'; DROP TABLE users; --",
  "\" OR 1=1 --",
  "cypher}) MATCH (n) DETACH DELETE n //",
  "../../etc/passwd",
  "..",
  "a/b/c",
  "back\\slash",
  "colon:and{braces}[brackets]",
  "percent%s%d%n",
  "newline\nand\ttab\r",
  "nul\u0000byte",
  "emoji 🦙🔥",
  "ünïcødé Ω 漢字 العربية",
  "\u202eRTL override",
  "zero\u200bwidth",
  "*",
  "?",
  "key with {hash} tag",
  "x".repeat(10_000),
];

/** Strings that are valid identifiers of every reasonable backend, for tests that need safe names. */
export const SAFE_NAMES: readonly string[] = ["alpha", "beta_2", "gamma-3"];
