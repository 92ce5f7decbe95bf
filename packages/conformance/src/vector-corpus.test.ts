import { describe, expect, it } from "vitest";
import {
  createFilterPredicate,
  FILTER_OPERATORS,
  isFilterGroup,
  matchesLeaf,
  storedValue,
  type FilterOperator,
  type MetadataFilter,
  type MetadataFilters,
} from "@larder/core/filters";
import { seededRandom } from "./harness.js";
import { makeCorpus, randomFilterTree, randomLeaf } from "./vector-corpus.js";

// The differential suite is only worth something if its corpus and trees tell a wrong store from
// a right one. Each mutant below is a bug seen in a real backend (see the pain points); the
// seeded corpus and trees the suite uses must expose every one of them.

type Leaf = (stored: unknown, f: MetadataFilter) => boolean | undefined; // undefined: reference

function evaluator(leaf: Leaf, emptyOr = true) {
  const node = (md: Record<string, unknown>, n: MetadataFilter | MetadataFilters): boolean => {
    if (isFilterGroup(n)) {
      if (n.filters.length === 0) return n.condition === "or" ? emptyOr : true;
      const r = n.filters.map((c) => node(md, c));
      return n.condition === "or" ? r.some(Boolean) : n.condition === "not" ? !r.some(Boolean) : r.every(Boolean);
    }
    const v = storedValue(md, n.key);
    return leaf(v, n) ?? matchesLeaf(v, n.operator, n.value);
  };
  return node;
}

const MUTANTS: Record<string, { leaf: Leaf; emptyOr?: boolean }> = {
  "loose equality (\"3\" == 3)": { leaf: (v, f) => (f.operator === "==" ? v !== null && v !== undefined && !Array.isArray(v) && v == f.value : undefined) },
  "missing key never matches != / nin": { leaf: (v, f) => ((f.operator === "!=" || f.operator === "nin") && (v === undefined || v === null) ? false : undefined) },
  "nin compiled as != ANY": { leaf: (v, f) => (f.operator === "nin" ? (f.value as unknown[]).some((x) => x !== v) : undefined) },
  "in compiled as containment": { leaf: (v, f) => (f.operator === "in" ? Array.isArray(v) && (f.value as unknown[]).some((x) => v.includes(x)) : undefined) },
  "text_match case-insensitive": { leaf: (v, f) => (f.operator === "text_match" && typeof v === "string" ? v.toLowerCase().includes(String(f.value).toLowerCase()) : undefined) },
  "contains does substring on strings": { leaf: (v, f) => (f.operator === "contains" && typeof v === "string" && typeof f.value === "string" ? v.includes(f.value) : undefined) },
  "ordering by UTF-16 code units": {
    leaf: (v, f) => {
      if (typeof v !== "string" || typeof f.value !== "string" || !["<", "<=", ">", ">="].includes(f.operator)) return undefined;
      const x = f.value;
      return f.operator === "<" ? v < x : f.operator === "<=" ? v <= x : f.operator === ">" ? v > x : v >= x;
    },
  },
  "numbers compared as text": {
    leaf: (v, f) => (typeof v === "number" && typeof f.value === "number" && f.operator === ">" ? String(v) > String(f.value) : undefined),
  },
  "is_empty misses []": { leaf: (v, f) => (f.operator === "is_empty" && Array.isArray(v) && v.length === 0 ? false : undefined) },
  "empty or-group matches nothing": { leaf: () => undefined, emptyOr: false },
};

describe("vector corpus and random trees discriminate", () => {
  const nodes = makeCorpus(seededRandom(1234), 2000, 8);
  const rng = seededRandom(1236);
  const trees = Array.from({ length: 400 }, () => randomFilterTree(rng, { operators: FILTER_OPERATORS }));
  const leafRng = seededRandom(1235);
  const leaves: MetadataFilters[] = FILTER_OPERATORS.flatMap((op: FilterOperator) =>
    Array.from({ length: 12 }, () => ({ filters: [randomLeaf(leafRng, op)], condition: "and" as const })),
  );

  it("the reference-shaped evaluator used here agrees with the reference", () => {
    const same = evaluator(() => undefined);
    let mismatches = 0;
    for (const t of [...trees, ...leaves]) {
      const p = createFilterPredicate(t);
      for (const n of nodes) if (same(n.metadata, t) !== p(n.metadata)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  for (const [name, m] of Object.entries(MUTANTS)) {
    it(`exposes: ${name}`, () => {
      const bad = evaluator(m.leaf, m.emptyOr ?? true);
      const differs = (t: MetadataFilters) => {
        const p = createFilterPredicate(t);
        return nodes.some((n) => bad(n.metadata, t) !== p(n.metadata));
      };
      // The suite checks the per-operator leaves first, then 150 random trees.
      expect(leaves.some(differs) || trees.slice(0, 150).some(differs)).toBe(true);
    });
  }

  it("random trees are not degenerate: many select neither nothing nor everything", () => {
    let informative = 0;
    for (const t of trees.slice(0, 150)) {
      const p = createFilterPredicate(t);
      const k = nodes.filter((n) => p(n.metadata)).length;
      if (k > 0 && k < nodes.length) informative++;
    }
    expect(informative).toBeGreaterThan(60);
  });
});
