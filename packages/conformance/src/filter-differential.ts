import { expect } from "vitest";
import {
  compareByCodePoint,
  createFilterPredicate,
  FILTER_OPERATORS,
  filterDepth,
  filterOperatorsUsed,
  validateFilters,
  type FilterOperator,
  type MetadataFilters,
} from "@larder/core/filters";
import { entityNode, nodeId, type PropertyGraphStore, type Properties } from "@larder/core/graph";
import { TextNode } from "@larder/core/schema";
import type { VectorStore } from "@larder/core/vector";
import { expectStorageError, seededRandom } from "./harness.js";
import { makeHostileMetadata, randomHostileFilter } from "./filter-hostile.js";
import { FILTER_SPEC_CASES, type FilterSpecCase } from "./filter-spec.js";

/**
 * The filter differential suite's bodies, shared by the vector and graph suites: the hostile corpus
 * and random hostile trees against the reference evaluator (0 disagreements), and the
 * `filters.spec.*` cases of filters.md.
 */

const sorted = (ids: string[]) => [...ids].sort(compareByCodePoint);
const show = (t: unknown) => {
  const s = JSON.stringify(t);
  return s.length > 400 ? `${s.slice(0, 400)}...` : s;
};

/** Whether a tree orders against a string with a code unit >= U+D800 (a declared refusal). */
function orderingAboveD800(tree: MetadataFilters): boolean {
  return tree.filters.some((f) =>
    "filters" in f
      ? orderingAboveD800(f)
      : [">", ">=", "<", "<="].includes(f.operator) && typeof f.value === "string" && /[\uD800-\uFFFF]/.test(f.value),
  );
}

function usable(tree: MetadataFilters, ops: ReadonlySet<FilterOperator>, nested: boolean): boolean {
  for (const op of filterOperatorsUsed(tree)) if (!ops.has(op)) return false;
  return nested || filterDepth(tree) <= 1;
}

function checkable(filters: unknown, ops: ReadonlySet<FilterOperator>, nested: boolean): boolean {
  try {
    return usable(validateFilters(filters), ops, nested);
  } catch {
    return true; // malformed: every store must refuse it
  }
}

/** Vector stores: hostile metadata on `size` nodes, `trees` random hostile trees through getNodes and query. */
export async function hostileVectorDifferential(store: VectorStore, opts: { seed: number; trees: number; size?: number; maxTopK?: number }): Promise<void> {
  const rng = seededRandom(opts.seed);
  const metas = makeHostileMetadata(rng, opts.size ?? 150);
  const nodes = metas.map(
    (metadata, i) => new TextNode({ id: `h${String(i).padStart(4, "0")}`, text: `hostile ${i}`, metadata, embedding: [1, (i % 7) / 7, (i % 3) / 3, 0.5] }),
  );
  await store.add(nodes);
  const ops = new Set(store.capabilities.filterOperators);
  const operators = FILTER_OPERATORS.filter((o) => ops.has(o));
  const topK = Math.min(nodes.length, opts.maxTopK ?? nodes.length);
  let nonTrivial = 0;
  for (let t = 0; t < opts.trees; t++) {
    const tree = randomHostileFilter(rng, operators, store.capabilities.nestedFilters ? 3 : 1);
    const match = createFilterPredicate(tree);
    const expected = sorted(nodes.filter((n) => match(n.metadata)).map((n) => n.id));
    if (expected.length > 0 && expected.length < nodes.length) nonTrivial++;
    const got = sorted((await store.getNodes({ filters: tree })).map((n) => n.id));
    expect(got, `getNodes, tree #${t} (seed ${opts.seed}) ${show(tree)}`).toEqual(expected);
    if (expected.length <= topK) {
      const r = await store.query({ embedding: [1, 0.5, 0.5, 0.5], topK, filters: tree });
      expect(sorted(r.ids), `query, tree #${t} (seed ${opts.seed}) ${show(tree)}`).toEqual(expected);
    }
  }
  expect(nonTrivial, "the random hostile trees discriminate").toBeGreaterThan(opts.trees / 4);
}

/** Property graph stores (vectorQuery): the graph-shaped hostile corpus, same comparison. */
export async function hostileGraphDifferential(store: PropertyGraphStore, opts: { seed: number; trees: number; size?: number }): Promise<void> {
  const rng = seededRandom(opts.seed);
  const metas = makeHostileMetadata(rng, opts.size ?? 120, { graph: true });
  const nodes = metas.map((properties, i) =>
    entityNode({ name: `h${String(i).padStart(4, "0")}`, properties: properties as Properties, embedding: [1, (i % 7) / 7, (i % 3) / 3, 0.5] }),
  );
  await store.upsertNodes(nodes);
  const caps = store.capabilities;
  const operators = FILTER_OPERATORS.filter((o) => caps.filterOperators.includes(o));
  let nonTrivial = 0;
  let compared = 0;
  for (let t = 0; t < opts.trees; t++) {
    const tree = randomHostileFilter(rng, operators, caps.nestedFilters ? 3 : 1);
    const expected = sorted(nodes.filter((n) => createFilterPredicate(tree)(n.properties)).map(nodeId));
    let got: string[];
    try {
      got = sorted((await store.vectorQuery({ embedding: [1, 0.5, 0.5, 0.5], topK: nodes.length, filters: tree })).nodes.map(nodeId));
    } catch (e) {
      // The one value-level refusal a store may declare (filters.md, "Value-level refusals"):
      // ordering against a string with code units at or above U+D800. Anything else is a failure.
      const code = (e as { code?: unknown }).code;
      const refusable = orderingAboveD800(tree);
      expect({ tree: show(tree), code, refusable }).toEqual({ tree: show(tree), code: "UNSUPPORTED", refusable: true });
      continue;
    }
    compared++;
    if (expected.length > 0 && expected.length < nodes.length) nonTrivial++;
    expect(got, `vectorQuery, tree #${t} (seed ${opts.seed}) ${show(tree)}`).toEqual(expected);
  }
  expect(compared, "too many trees refused").toBeGreaterThan(opts.trees * 0.7);
  expect(nonTrivial, "the random hostile trees discriminate").toBeGreaterThan(opts.trees / 4);
}

interface CaseStore {
  ops: ReadonlySet<FilterOperator>;
  nested: boolean;
  add(metadata: Record<string, unknown>[]): Promise<string[]>;
  select(filters: unknown): Promise<string[]>;
}

/**
 * `allowOrderingRefusal`: the graph suite accepts UNSUPPORTED for ordering against a string with a
 * code unit at or above U+D800 (the one value-level refusal a store may declare, filters.md).
 */
async function runCases(cases: readonly FilterSpecCase[], fresh: () => Promise<CaseStore>, allowOrderingRefusal = false): Promise<number> {
  let checked = 0;
  for (const c of cases) {
    const s = await fresh();
    const ids = await s.add(c.metadata);
    for (const check of c.checks) {
      if (!checkable(check.filters, s.ops, s.nested)) continue;
      const what = `${c.id}: ${show(check.filters)}`;
      if (check.expect === "INVALID_ARGUMENT") {
        await expectStorageError(() => s.select(check.filters), "INVALID_ARGUMENT");
      } else {
        let got: string[];
        try {
          got = await s.select(check.filters);
        } catch (e) {
          const refusable = allowOrderingRefusal && orderingAboveD800(validateFilters(check.filters));
          expect({ what, code: (e as { code?: unknown }).code, refusable }).toEqual({ what, code: "UNSUPPORTED", refusable: true });
          continue;
        }
        expect(sorted(got), what).toEqual(sorted(check.expect.map((i) => ids[i]!)));
      }
      checked++;
    }
  }
  return checked;
}

/** Every `filters.spec.*` case against a vector store (getNodes), one fresh store per case. */
export async function filterSpecVectorCases(create: () => Promise<VectorStore>): Promise<void> {
  const checked = await runCases(FILTER_SPEC_CASES, async () => {
    const store = await create();
    return {
      ops: new Set(store.capabilities.filterOperators),
      nested: store.capabilities.nestedFilters,
      add: async (metas) => {
        const nodes = metas.map((metadata, i) => new TextNode({ id: `spec${i}`, text: `spec ${i}`, metadata, embedding: [1, i, 0, 0] }));
        await store.add(nodes);
        return nodes.map((n) => n.id);
      },
      select: async (filters) => (await store.getNodes({ filters: filters as MetadataFilters })).map((n) => n.id),
    };
  });
  expect(checked).toBeGreaterThan(0);
}

/** Every graph-shaped `filters.spec.*` case against a property graph store (vectorQuery). */
export async function filterSpecGraphCases(create: () => Promise<PropertyGraphStore>): Promise<void> {
  const checked = await runCases(
    FILTER_SPEC_CASES.filter((c) => c.graph),
    async () => {
      const store = await create();
      return {
        ops: new Set(store.capabilities.filterOperators),
        nested: store.capabilities.nestedFilters,
        add: async (metas) => {
          const nodes = metas.map((properties, i) => entityNode({ name: `spec${i}`, properties: properties as Properties, embedding: [1, i, 0] }));
          await store.upsertNodes(nodes);
          return nodes.map(nodeId);
        },
        select: async (filters) =>
          (await store.vectorQuery({ embedding: [1, 0, 0], topK: 100, filters: filters as MetadataFilters })).nodes.map(nodeId),
      };
    },
    true,
  );
  expect(checked).toBeGreaterThan(0);
}
