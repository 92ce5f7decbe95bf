import type { FilterOperator, MetadataFilter, MetadataFilters } from "@larder/core/filters";
import type { Rng } from "./vector-corpus.js";

/**
 * The filter differential suite's hostile corpus and generator: stored values and filter values
 * chosen where stores and languages disagree (numbers at the edges of doubles, -0, numeric strings,
 * code-point order around the surrogates, case folding across Unicode versions, keys that are SQL,
 * Cypher or JavaScript syntax). Exported so an adapter author can reproduce a failing tree with
 * `randomHostileFilter(seededRandom(seed), ...)`.
 */

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

/** Metadata keys: dots, quotes, `$`, SQL and Cypher text, JavaScript's special names, a long key. */
export const HOSTILE_FILTER_KEYS: readonly string[] = [
  "a.b",
  "it's",
  'say "hi"',
  "$where",
  "$1",
  "x'); DROP TABLE t; --",
  "n}) DETACH DELETE n //",
  "`tick`",
  "__proto__",
  "constructor",
  "ünï 键",
  "k".repeat(256),
];

/** Strings every store can hold (well-formed UTF-16, no U+0000). */
export const HOSTILE_FILTER_STRINGS: readonly string[] = [
  "", "a", "A", "0", "3", "-0", "1e3", "3.0", "9007199254740993", "9223372036854775808", "true", "null",
  "\uD7FF", "\uE000", "\uFFFD", "\uFFFF", "\u{10000}", "\u{1F600}", "\u{10FFFF}", "a\u{10000}b", "\uE000x",
  "Σ", "σ", "ς", "ΟΔΥΣΣΕΥΣ", "οδυσσευς", "İ", "i\u0307", "i", "I", "ı", "ẞ", "ß", "ss", "SS", "\u212A", "k", "ſ", "s",
  "\uA7C0", "\uA7C1", "\u2C2F", "\u2C5F", "\u1C89", "\u1C8A", "\u{10D50}", "\u{10D70}", "\u13F8", "\u13F0", "ǅ", "ǆ", "Ǆ",
  "' OR 1=1 --", "$1", "}) MATCH (n) //", "\\", "%", "_", "é", "e\u0301", "Straße", "STRASSE", "x".repeat(300),
];

/** Filter-only strings: no store keeps U+0000 or a lone surrogate, but a filter may carry them. */
export const HOSTILE_FILTER_ONLY_STRINGS: readonly string[] = [
  "\u0000", "a\u0000", "\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uD83D", "\uDE00", "a\uD800", "\uDC00b", "\uD800\uE000",
];

/** Numbers at the edges: -0, 2^53 ± 1 (2^53 + 1 is 2^53 as a double), 2^63, the smallest subnormal. */
export const HOSTILE_FILTER_NUMBERS: readonly number[] = [
  0, -0, 1, -1, 1.5, 0.1, 3, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 63, -(2 ** 63), 5e-324, -5e-324,
  1.7976931348623157e308, 1e-7, 123456789012,
];

export interface HostileCorpusOptions {
  /**
   * Only shapes a property graph store holds: no `null`, no mixed-type or nested arrays (graph.md,
   * "Property values"). Default false (vector stores: any JSON).
   */
  graph?: boolean;
}

function scalarPool(rng: Rng): string | number | boolean {
  const r = rng();
  if (r < 0.5) return pick(rng, HOSTILE_FILTER_STRINGS);
  if (r < 0.9) return pick(rng, HOSTILE_FILTER_NUMBERS);
  return rng() < 0.5;
}

function storedValue(rng: Rng, graph: boolean): unknown {
  const r = rng();
  if (r < 0.55) return scalarPool(rng);
  if (r < 0.85) {
    const n = Math.floor(rng() * 4);
    if (graph) {
      const kind = rng();
      return Array.from({ length: n }, () =>
        kind < 0.5 ? pick(rng, HOSTILE_FILTER_STRINGS) : kind < 0.9 ? pick(rng, HOSTILE_FILTER_NUMBERS) : rng() < 0.5,
      );
    }
    return Array.from({ length: n }, () => scalarPool(rng));
  }
  if (graph) return pick(rng, HOSTILE_FILTER_STRINGS);
  return r < 0.95 ? null : { nested: scalarPool(rng) };
}

/** `size` metadata records over {@link HOSTILE_FILTER_KEYS}, each key present with probability 0.6. */
export function makeHostileMetadata(rng: Rng, size: number, options: HostileCorpusOptions = {}): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < size; i++) {
    const m: Record<string, unknown> = {};
    for (const k of HOSTILE_FILTER_KEYS) {
      if (rng() < 0.6) Object.defineProperty(m, k, { value: storedValue(rng, options.graph ?? false), enumerable: true, writable: true, configurable: true });
    }
    out.push(m);
  }
  return out;
}

function randomCase(rng: Rng, s: string): string {
  // Upper-cases with the pinned fold in mind: swap in a character of the same fold class sometimes.
  const swaps: Record<string, string[]> = {
    σ: ["Σ", "ς"], ς: ["σ", "Σ"], Σ: ["ς"], s: ["S", "ſ"], k: ["K", "\u212A"], ß: ["ẞ"], ẞ: ["ß"],
    "\uA7C1": ["\uA7C0"], "\u2C5F": ["\u2C2F"], "\u1C8A": ["\u1C89"], "\u{10D70}": ["\u{10D50}"], "\u13F0": ["\u13F8"],
  };
  return [...s]
    .map((c) => {
      const alt = swaps[c];
      if (alt && rng() < 0.5) return pick(rng, alt);
      return rng() < 0.5 ? c.toUpperCase() : c;
    })
    .join("");
}

function substringOf(rng: Rng, s: string): string {
  const units = rng() < 0.15; // sometimes cut through a surrogate pair
  const parts = units ? s.split("") : [...s];
  const a = Math.floor(rng() * (parts.length + 1));
  const b = a + Math.floor(rng() * (parts.length - a + 1));
  return parts.slice(a, b).join("");
}

function filterString(rng: Rng): string {
  const r = rng();
  if (r < 0.12) return pick(rng, HOSTILE_FILTER_ONLY_STRINGS);
  return pick(rng, HOSTILE_FILTER_STRINGS);
}

function filterScalar(rng: Rng): string | number | boolean {
  const r = rng();
  if (r < 0.5) return filterString(rng);
  if (r < 0.9) return pick(rng, HOSTILE_FILTER_NUMBERS);
  return rng() < 0.5;
}

/** A random leaf over the hostile keys (and a key no record has, and keys with lone surrogates). */
export function randomHostileLeaf(rng: Rng, operator: FilterOperator): MetadataFilter {
  const r = rng();
  const key = r < 0.9 ? pick(rng, HOSTILE_FILTER_KEYS) : r < 0.95 ? "never set" : pick(rng, ["\uD800k", "k\uDC00", "a.b\u0000"]);
  const arr = (max: number) => Array.from({ length: Math.floor(rng() * (max + 1)) }, () => filterScalar(rng));
  switch (operator) {
    case "==":
    case "!=":
    case "contains":
      return { key, operator, value: filterScalar(rng) };
    case ">":
    case ">=":
    case "<":
    case "<=":
      return { key, operator, value: rng() < 0.5 ? pick(rng, HOSTILE_FILTER_NUMBERS) : filterString(rng) };
    case "in":
    case "nin":
    case "any":
    case "all":
      return { key, operator, value: arr(4) };
    case "text_match":
      return { key, operator, value: rng() < 0.85 ? substringOf(rng, pick(rng, HOSTILE_FILTER_STRINGS)) : filterString(rng) };
    case "text_match_insensitive":
      return { key, operator, value: rng() < 0.85 ? randomCase(rng, substringOf(rng, pick(rng, HOSTILE_FILTER_STRINGS))) : filterString(rng) };
    case "is_empty":
      return { key, operator };
  }
}

/** A random tree of hostile leaves, up to `maxDepth` (default 3) levels, every condition. */
export function randomHostileFilter(rng: Rng, operators: readonly FilterOperator[], maxDepth = 3): MetadataFilters {
  const group = (depth: number): MetadataFilters => {
    const n = rng() < 0.03 ? 0 : 1 + Math.floor(rng() * 3);
    const filters: (MetadataFilter | MetadataFilters)[] = [];
    for (let i = 0; i < n; i++) {
      if (depth < maxDepth && rng() < 0.3) filters.push(group(depth + 1));
      else filters.push(randomHostileLeaf(rng, pick(rng, operators)));
    }
    const c = rng();
    return { filters, condition: c < 0.35 ? "and" : c < 0.8 ? "or" : "not" };
  };
  return group(1);
}
