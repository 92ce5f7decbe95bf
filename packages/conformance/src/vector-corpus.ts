import type { FilterOperator, MetadataFilter, MetadataFilters } from "@larder/core/filters";

/**
 * The seeded corpus and random filter trees of the vector kit's differential suite. Exported so an
 * adapter author can reproduce a failing tree locally (`randomFilterTree(seededRandom(seed), ...)`).
 */

export type Rng = () => number;

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

/** Strings chosen to catch coercion, case, ordering and Unicode mistakes. */
export const CORPUS_STRINGS: readonly string[] = [
  "", "a", "A", "abc", "ABC", "Abc def", "abcdef", "b", "z", "Z", "3", "30", "-1", "true", "false", "null", "0",
  "x y", "with 'quote'", 'dbl"quote', "back\\slash", "per%cent", "under_score", "Ünïcödé", "über", "ÜBER", "Über",
  "ψυχή", "ΨΥΧΉ", "漢字", "漢字テキスト", "🦙 llama", "LLAMA 🦙", "é", "e\u0301", "\uFF21", "\u{1F999}", "zzz",
];
/** Numbers: negatives, fractions, zero, a large one (all exactly representable in JSON/float64). */
export const CORPUS_NUMBERS: readonly number[] = [-100, -5, -1.5, -1, -0.25, 0, 0.1, 1, 2, 2.5, 3, 3.5, 10, 42, 1e6, 123456.789];
/** Look-alikes across types, for the no-coercion rules. */
export const CORPUS_MIXED: readonly unknown[] = ["3", 3, "true", true, "false", false, 0, "0", "", null, [], ["3"], [3], [true], "1", 1];
export const CORPUS_TAGS: readonly (string | number | boolean)[] = ["red", "green", "blue", "Red", "3", 3, "true", true, "", "漢字", "🦙"];

/** Keys of the corpus metadata. Two are hostile on purpose (quotes, SQL/Cypher syntax, a dot). */
export const CORPUS_KEYS = {
  str: "s",
  num: "n",
  bool: "b",
  mixed: "mixed",
  tags: "tags",
  nums: "nums",
  uni: "ünï 键",
  hostile: `we'ird "key"; -- }) //`,
  dotted: "a.b",
  /** `g0`..`g49`: exactly 2% of the corpus each. */
  group: "grp",
  /** A key no node has. */
  absent: "never_set",
} as const;

export interface CorpusNode {
  id: string;
  refDocId: string;
  metadata: Record<string, unknown>;
  embedding: number[];
}

function maybe(rng: Rng, p: number, value: () => unknown, out: Record<string, unknown>, key: string): void {
  const r = rng();
  if (r < p) out[key] = value();
  else if (r < p + (1 - p) / 3) out[key] = null; // a third of the rest: explicit null, the others missing
}

/** A deterministic corpus of `size` nodes with embeddings of `dim` components. */
export function makeCorpus(rng: Rng, size: number, dim: number): CorpusNode[] {
  const K = CORPUS_KEYS;
  const nodes: CorpusNode[] = [];
  for (let i = 0; i < size; i++) {
    const metadata: Record<string, unknown> = {};
    maybe(rng, 0.85, () => pick(rng, CORPUS_STRINGS), metadata, K.str);
    maybe(rng, 0.85, () => (rng() < 0.8 ? pick(rng, CORPUS_NUMBERS) : Math.round((rng() * 200 - 100) * 8) / 8), metadata, K.num);
    maybe(rng, 0.7, () => rng() < 0.5, metadata, K.bool);
    if (rng() < 0.9) metadata[K.mixed] = structuredClone(pick(rng, CORPUS_MIXED));
    maybe(rng, 0.8, () => Array.from({ length: Math.floor(rng() * 5) }, () => pick(rng, CORPUS_TAGS)), metadata, K.tags);
    maybe(rng, 0.6, () => Array.from({ length: Math.floor(rng() * 4) }, () => pick(rng, CORPUS_NUMBERS)), metadata, K.nums);
    maybe(rng, 0.6, () => pick(rng, CORPUS_STRINGS.slice(23)), metadata, K.uni);
    maybe(rng, 0.3, () => (rng() < 0.5 ? pick(rng, CORPUS_STRINGS) : pick(rng, CORPUS_NUMBERS)), metadata, K.hostile);
    maybe(rng, 0.3, () => pick(rng, ["x", "y", 1, 2]), metadata, K.dotted);
    metadata[K.group] = `g${i % 50}`;
    const embedding = Array.from({ length: dim }, () => Math.round((rng() * 2 - 1) * 1e4) / 1e4);
    nodes.push({ id: `node-${String(i).padStart(5, "0")}`, refDocId: `doc-${Math.floor(i / 3)}`, metadata, embedding });
  }
  return nodes;
}

const SCALARS: readonly (string | number | boolean)[] = [...CORPUS_STRINGS, ...CORPUS_NUMBERS, true, false];

function randomCase(rng: Rng, s: string): string {
  return [...s].map((c) => (rng() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join("");
}

function substringOf(rng: Rng, s: string): string {
  const cps = [...s];
  const a = Math.floor(rng() * (cps.length + 1));
  const b = a + Math.floor(rng() * (cps.length - a + 1));
  return cps.slice(a, b).join("");
}

/** One random leaf for `operator`, with a value that often matches something in the corpus. */
export function randomLeaf(rng: Rng, operator: FilterOperator): MetadataFilter {
  const K = CORPUS_KEYS;
  const keyFor = (weights: [string, number][]): string => {
    let r = rng() * weights.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of weights) if ((r -= w) < 0) return k;
    return weights[0]![0];
  };
  const anyKey = () => keyFor([[K.str, 3], [K.num, 3], [K.bool, 1], [K.mixed, 3], [K.tags, 2], [K.nums, 1], [K.uni, 2], [K.hostile, 1], [K.dotted, 1], [K.group, 1], [K.absent, 0.3]]);
  const arrayKey = () => keyFor([[K.tags, 4], [K.nums, 3], [K.mixed, 2], [K.str, 0.5], [K.absent, 0.2]]);
  const strKey = () => keyFor([[K.str, 4], [K.uni, 3], [K.mixed, 1], [K.hostile, 1], [K.group, 0.5], [K.tags, 0.5], [K.num, 0.3]]);
  const scalar = () => (rng() < 0.1 ? pick(rng, ["g7", "g13", "x", "y", 1, 2]) : pick(rng, SCALARS));
  const scalars = (max: number) => Array.from({ length: Math.floor(rng() * (max + 1)) }, () => (rng() < 0.4 ? pick(rng, CORPUS_TAGS) : scalar()));
  switch (operator) {
    case "==":
    case "!=":
      return { key: anyKey(), operator, value: scalar() };
    case ">":
    case ">=":
    case "<":
    case "<=": {
      const numeric = rng() < 0.6;
      return {
        key: numeric ? keyFor([[K.num, 5], [K.mixed, 1], [K.hostile, 1], [K.nums, 0.5]]) : strKey(),
        operator,
        value: numeric ? (rng() < 0.7 ? pick(rng, CORPUS_NUMBERS) : Math.round((rng() * 200 - 100) * 4) / 4) : pick(rng, CORPUS_STRINGS),
      };
    }
    case "in":
    case "nin":
      return { key: anyKey(), operator, value: scalars(4) };
    case "any":
    case "all":
      return { key: arrayKey(), operator, value: scalars(3) };
    case "contains":
      return { key: arrayKey(), operator, value: rng() < 0.6 ? pick(rng, CORPUS_TAGS) : scalar() };
    case "text_match":
      return { key: strKey(), operator, value: substringOf(rng, pick(rng, CORPUS_STRINGS)) };
    case "text_match_insensitive":
      return { key: strKey(), operator, value: randomCase(rng, substringOf(rng, pick(rng, CORPUS_STRINGS))) };
    case "is_empty":
      return { key: anyKey(), operator };
  }
}

export interface RandomTreeOptions {
  operators: readonly FilterOperator[];
  /** Maximum group depth (the root is 1). Default 4. */
  maxDepth?: number;
  /** Allow nested groups. Default true. */
  nested?: boolean;
}

/** A random filter tree over the corpus keys, up to `maxDepth` levels, every condition. */
export function randomFilterTree(rng: Rng, options: RandomTreeOptions): MetadataFilters {
  const maxDepth = options.nested === false ? 1 : (options.maxDepth ?? 4);
  const group = (depth: number): MetadataFilters => {
    const n = rng() < 0.03 ? 0 : 1 + Math.floor(rng() * 3);
    const filters: (MetadataFilter | MetadataFilters)[] = [];
    for (let i = 0; i < n; i++) {
      if (depth < maxDepth && rng() < 0.35) filters.push(group(depth + 1));
      else filters.push(randomLeaf(rng, pick(rng, options.operators)));
    }
    const r = rng();
    return { filters, condition: r < 0.35 ? "and" : r < 0.8 ? "or" : "not" };
  };
  return group(1);
}
