/**
 * `describePropertyGraphStore`: the conformance suite every `PropertyGraphStore` must pass.
 * It pins the semantics written in `@larder/core`'s docs/graph.md. Each test works on the fresh
 * store `create()` returns, and uses only the public contract (no in-memory specifics), so it
 * runs as is against remote backends.
 */
import { expect } from "vitest";
import { FILTER_OPERATORS, matchesFilters, type FilterOperator, type MetadataFilter } from "@larder/core/filters";
import { MAX_TOP_K } from "@larder/core/vector";
import {
  chunkNode,
  entityNode,
  nodeId,
  relation,
  TRIPLET_SOURCE_KEY,
  type LabelledNode,
  type Properties,
  type PropertyGraphCapabilities,
  type PropertyGraphStore,
} from "@larder/core/graph";
import { defineSuite, expectStorageError, seededRandom, type SuiteContext, type SuiteOptions } from "./harness.js";
import { HOSTILE_STRINGS } from "./hostile.js";
import { filterSpecGraphCases, hostileGraphDifferential } from "./filter-differential.js";

export { filterSpecGraphCases, hostileGraphDifferential } from "./filter-differential.js";
import {
  embeddingsClose,
  nodeIds,
  plain,
  randomFilters,
  randomGraph,
  relMapOracle,
  tripletKey,
  tripletKeys,
  vectorCorpus,
} from "./graph-fixtures.js";

type Ctx = SuiteContext<PropertyGraphStore, PropertyGraphCapabilities>;

const key = (s: string, l: string, t: string) => JSON.stringify([s, l, t]);
const E = (name: string, label?: string, properties?: Properties, embedding?: number[]) =>
  entityNode({ name, ...(label ? { label } : {}), ...(properties ? { properties } : {}), ...(embedding ? { embedding } : {}) });
const R = (sourceId: string, label: string, targetId: string, properties?: Properties) =>
  relation({ label, sourceId, targetId, ...(properties ? { properties } : {}) });

/** Hostile strings every store must ACCEPT (and store exactly) as labels and property keys. */
const MUST_ACCEPT = new Set([
  "plain",
  "with space",
  "single'quote",
  'double"quote',
  "back`tick",
  "cypher}) MATCH (n) DETACH DELETE n //",
  "emoji 🦙🔥",
  "ünïcødé Ω 漢字 العربية",
]);

async function getOne(store: PropertyGraphStore, id: string): Promise<LabelledNode | undefined> {
  const found = await store.get({ ids: [id] });
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0];
}

/**
 * The rel-map fixture:
 *   F -X-> A -R1-> B -R2-> C -R3-> D,   A -R1-> E,   B -IGN-> G,   H isolated
 */
async function relMapFixture(store: PropertyGraphStore): Promise<void> {
  await store.upsertNodes(["A", "B", "C", "D", "E", "F", "G", "H"].map((n) => E(n, "NODE")));
  await store.upsertRelations([
    R("F", "X", "A"),
    R("A", "R1", "B"),
    R("B", "R2", "C"),
    R("C", "R3", "D"),
    R("A", "R1", "E"),
    R("B", "IGN", "G"),
  ]);
}
const HOP1 = [key("F", "X", "A"), key("A", "R1", "B"), key("A", "R1", "E")];
const HOP2 = [key("B", "R2", "C"), key("B", "IGN", "G")];
const HOP3 = [key("C", "R3", "D")];

/** A small graph used by delete and triplet tests. */
async function smallGraph(store: PropertyGraphStore): Promise<void> {
  await store.upsertNodes([
    E("Alice", "PERSON", { age: 30, team: "x" }),
    E("Bob", "PERSON", { age: 41, team: "y" }),
    E("Acme", "ORG", { team: "x" }),
    chunkNode({ id: "c1", text: "Alice works at Acme. Bob knows Alice.", properties: { doc: "d1" } }),
  ]);
  await store.upsertRelations([
    R("Alice", "WORKS_AT", "Acme", { since: 2020, [TRIPLET_SOURCE_KEY]: "c1" }),
    R("Bob", "KNOWS", "Alice", { [TRIPLET_SOURCE_KEY]: "c1" }),
    R("Bob", "WORKS_AT", "Acme", { since: 2019 }),
    R("c1", "MENTIONS_ENTITY", "Bob"),
  ]);
}

/** The suite's test bodies by id (exported for kit-catches tests and custom runners). */
export const graphTests = {
  "graph.capabilities.declared": async (ctx: Ctx) => {
    const store = await ctx.store();
    const caps = store.capabilities;
    expect(typeof caps.structuredQuery).toBe("boolean");
    expect(typeof caps.vectorQuery).toBe("boolean");
    expect(typeof caps.nestedFilters).toBe("boolean");
    for (const op of caps.filterOperators) expect(FILTER_OPERATORS).toContain(op);
    if (ctx.capabilities.structuredQuery !== undefined) expect(caps.structuredQuery).toBe(ctx.capabilities.structuredQuery);
    if (ctx.capabilities.vectorQuery !== undefined) expect(caps.vectorQuery).toBe(ctx.capabilities.vectorQuery);
  },

  // -- nodes ---------------------------------------------------------------------------------

  "graph.nodes.entity-round-trip": async (ctx: Ctx) => {
    const store = await ctx.store();
    const props: Properties = { age: 30, score: -1.25, active: true, tags: ["a", "b"], nums: [1, 2.5], flags: [false], none: [] };
    await store.upsertNodes([E("Alice", "PERSON", props, [0.1, -0.2, 0.3])]);
    const got = await getOne(store, "Alice");
    expect(got && plain(got)).toEqual({ kind: "entity", name: "Alice", label: "PERSON", properties: props });
    expect(embeddingsClose(got?.embedding, [0.1, -0.2, 0.3])).toBe(true);
  },

  "graph.nodes.chunk-round-trip": async (ctx: Ctx) => {
    const store = await ctx.store();
    const text = "Line one.\nLigne deux — ünïcødé 🦙\ttab \"quoted\" 'single' `tick`";
    await store.upsertNodes([chunkNode({ id: "chunk-1", text, properties: { doc_id: "d1", page: 3 } })]);
    const got = await getOne(store, "chunk-1");
    expect(got && plain(got)).toEqual({ kind: "chunk", id: "chunk-1", text, label: "text_chunk", properties: { doc_id: "d1", page: 3 } });
    expect(got?.embedding ?? null).toBeNull();
  },

  "graph.nodes.default-labels": async (ctx: Ctx) => {
    const store = await ctx.store();
    const chunk = chunkNode({ text: "no id given" });
    await store.upsertNodes([E("Plain"), chunk]);
    const [e, c] = [await getOne(store, "Plain"), await getOne(store, chunk.id)];
    expect(e?.label).toBe("entity");
    expect(c?.label).toBe("text_chunk");
    expect(c?.kind).toBe("chunk");
  },

  "graph.nodes.upsert-idempotent": async (ctx: Ctx) => {
    const store = await ctx.store();
    const batch = [E("A", "T", { x: 1 }), E("B", "T"), chunkNode({ id: "c", text: "t" })];
    await store.upsertNodes(batch);
    await store.upsertNodes(batch);
    const all = await store.get();
    expect(nodeIds(all)).toEqual(["A", "B", "c"]);
    expect(all.find((n) => nodeId(n) === "A")?.properties).toEqual({ x: 1 });
  },

  "graph.nodes.merge-properties": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertNodes([E("N", "OLD", { a: 1, b: 2, keep: "k" }, [1, 0, 0])]);
    await store.upsertNodes([{ kind: "entity", name: "N", label: "NEW", properties: { b: 3, c: [1, 2], a: null } }]);
    let n = await getOne(store, "N");
    expect(n && plain(n)).toEqual({ kind: "entity", name: "N", label: "NEW", properties: { b: 3, c: [1, 2], keep: "k" } });
    expect(embeddingsClose(n?.embedding, [1, 0, 0])).toBe(true); // undefined keeps the embedding
    await store.upsertNodes([{ kind: "entity", name: "N", label: "NEW", properties: {}, embedding: null }]);
    n = await getOne(store, "N");
    expect(n?.embedding ?? null).toBeNull(); // null removes it
    expect(n?.properties).toEqual({ b: 3, c: [1, 2], keep: "k" });
  },

  "graph.nodes.batch-applies-in-order": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertNodes([E("N", "FIRST", { a: 1, b: 1 }), E("N", "SECOND", { a: 2 }), E("M")]);
    const n = await getOne(store, "N");
    expect(n && plain(n)).toEqual({ kind: "entity", name: "N", label: "SECOND", properties: { a: 2, b: 1 } });
    expect((await store.get()).length).toBe(2);
  },

  "graph.nodes.property-keys-shadowing-fields": async (ctx: Ctx) => {
    const store = await ctx.store();
    const props: Properties = {};
    for (const k of ["id", "name", "text", "label", "kind", "embedding", "properties", "__proto__", "constructor", "__Entity__"]) {
      Object.defineProperty(props, k, { value: `v-${k}`, enumerable: true, writable: true, configurable: true });
    }
    await store.upsertNodes([
      { kind: "entity", name: "Shadow", label: "L", properties: props },
      { kind: "chunk", id: "shadow-chunk", text: "real text", label: "text_chunk", properties: props },
    ]);
    const e = await getOne(store, "Shadow");
    const c = await getOne(store, "shadow-chunk");
    expect(e?.kind).toBe("entity");
    expect(e && nodeId(e)).toBe("Shadow");
    expect(e?.label).toBe("L");
    expect(c?.kind === "chunk" && c.text).toBe("real text");
    for (const n of [e, c]) {
      expect(Object.keys(n!.properties).sort()).toEqual(Object.keys(props).sort());
      for (const k of Object.keys(props)) expect(Object.getOwnPropertyDescriptor(n!.properties, k)?.value).toBe(`v-${k}`);
    }
    const byProp = await store.get({ properties: { name: "v-name" } });
    expect(nodeIds(byProp)).toEqual(["Shadow", "shadow-chunk"]);
  },

  // -- get -----------------------------------------------------------------------------------

  "graph.get.all-when-no-criteria": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    const expected = ["Acme", "Alice", "Bob", "c1"];
    expect(nodeIds(await store.get())).toEqual(expected);
    expect(nodeIds(await store.get({}))).toEqual(expected);
  },

  "graph.get.by-ids": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    expect(nodeIds(await store.get({ ids: ["Bob", "c1", "missing", "Bob"] }))).toEqual(["Bob", "c1"]);
    expect(await store.get({ ids: [] })).toEqual([]);
    expect(await store.get({ ids: ["nobody"] })).toEqual([]);
  },

  "graph.get.properties-and-no-coercion": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertNodes([
      E("n1", "T", { a: 1, b: "x", arr: ["p", "q"] }),
      E("n2", "T", { a: 1, b: "y" }),
      E("n3", "T", { a: "1", b: "x" }),
      E("n4", "T", { b: "x" }),
      chunkNode({ id: "n5", text: "t", properties: { a: 1, b: "x" } }),
    ]);
    expect(nodeIds(await store.get({ properties: { a: 1, b: "x" } }))).toEqual(["n1", "n5"]);
    expect(nodeIds(await store.get({ properties: { a: "1" } }))).toEqual(["n3"]);
    expect(nodeIds(await store.get({ properties: { arr: ["p", "q"] } }))).toEqual(["n1"]);
    expect(nodeIds(await store.get({ properties: { arr: ["q", "p"] } }))).toEqual([]);
    expect(nodeIds(await store.get({ ids: ["n1", "n2", "n3"], properties: { b: "x" } }))).toEqual(["n1", "n3"]);
  },

  "graph.get.null-selector-value-invalid": async (ctx: Ctx) => {
    const store = await ctx.store();
    await expectStorageError(() => store.get({ properties: { a: null } }), "INVALID_ARGUMENT");
  },

  // -- relations -----------------------------------------------------------------------------

  "graph.relations.round-trip": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertNodes([E("Alice", "PERSON", { age: 30 }), E("Acme", "ORG")]);
    await store.upsertRelations([R("Alice", "WORKS_AT", "Acme", { since: 2020, roles: ["dev", "lead"] })]);
    const ts = await store.getTriplets();
    expect(ts.length).toBe(1);
    const [s, r, t] = ts[0]!;
    expect(plain(s)).toEqual({ kind: "entity", name: "Alice", label: "PERSON", properties: { age: 30 } });
    expect(r).toEqual({ label: "WORKS_AT", sourceId: "Alice", targetId: "Acme", properties: { since: 2020, roles: ["dev", "lead"] } });
    expect(plain(t)).toEqual({ kind: "entity", name: "Acme", label: "ORG", properties: {} });
  },

  "graph.relations.upsert-idempotent-and-merge": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertRelations([R("A", "KNOWS", "B", { a: 1, b: 2 })]);
    await store.upsertRelations([R("A", "KNOWS", "B", { a: 1, b: 2 })]);
    expect((await store.getTriplets()).length).toBe(1);
    await store.upsertRelations([{ label: "KNOWS", sourceId: "A", targetId: "B", properties: { b: 3, c: "new", a: null } }]);
    const ts = await store.getTriplets();
    expect(ts.length).toBe(1);
    expect(ts[0]![1].properties).toEqual({ b: 3, c: "new" });
    expect(nodeIds(await store.get())).toEqual(["A", "B"]);
  },

  "graph.relations.key-is-source-label-target": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertRelations([
      R("A", "KNOWS", "B"),
      R("A", "LIKES", "B"),
      R("B", "KNOWS", "A"),
      // ids containing "_" that Python's `src_label_tgt` key would confuse
      R("x_KNOWS", "y", "z"),
      R("x", "KNOWS_y", "z"),
      R("A", "KNOWS", "B"),
    ]);
    expect(tripletKeys(await store.getTriplets())).toEqual(
      [key("A", "KNOWS", "B"), key("A", "LIKES", "B"), key("B", "KNOWS", "A"), key("x_KNOWS", "y", "z"), key("x", "KNOWS_y", "z")].sort(),
    );
  },

  "graph.relations.placeholder-endpoints": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertRelations([R("Ghost", "HAUNTS", "House")]);
    const nodes = await store.get();
    expect(nodes.map(plain).sort((a, b) => String(a["name"]).localeCompare(String(b["name"])))).toEqual([
      { kind: "entity", name: "Ghost", label: "entity", properties: {} },
      { kind: "entity", name: "House", label: "entity", properties: {} },
    ]);
    await store.upsertNodes([E("Ghost", "SPIRIT", { scary: true })]);
    const ts = await store.getTriplets();
    expect(ts.length).toBe(1);
    expect(plain(ts[0]![0])).toEqual({ kind: "entity", name: "Ghost", label: "SPIRIT", properties: { scary: true } });
  },

  "graph.relations.existing-endpoints-untouched": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertNodes([E("A", "PERSON", { p: 1 }, [1, 2]), chunkNode({ id: "c", text: "txt", properties: { q: 2 } })]);
    await store.upsertRelations([R("c", "MENTIONS_ENTITY", "A")]);
    const a = await getOne(store, "A");
    const c = await getOne(store, "c");
    expect(a && plain(a)).toEqual({ kind: "entity", name: "A", label: "PERSON", properties: { p: 1 } });
    expect(embeddingsClose(a?.embedding, [1, 2])).toBe(true);
    expect(c && plain(c)).toEqual({ kind: "chunk", id: "c", text: "txt", label: "text_chunk", properties: { q: 2 } });
  },

  // -- getTriplets ---------------------------------------------------------------------------

  "graph.triplets.all-when-no-criteria": async (ctx: Ctx) => {
    const store = await ctx.store();
    expect(await store.getTriplets()).toEqual([]);
    await smallGraph(store);
    const all = tripletKeys(await store.getTriplets());
    expect(all).toEqual(
      [key("Alice", "WORKS_AT", "Acme"), key("Bob", "KNOWS", "Alice"), key("Bob", "WORKS_AT", "Acme"), key("c1", "MENTIONS_ENTITY", "Bob")].sort(),
    );
    expect(tripletKeys(await store.getTriplets({}))).toEqual(all);
  },

  "graph.triplets.entity-names-and-ids": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    expect(tripletKeys(await store.getTriplets({ entityNames: ["Alice"] }))).toEqual(
      [key("Alice", "WORKS_AT", "Acme"), key("Bob", "KNOWS", "Alice")].sort(),
    );
    // entityNames match entities only; ids match any node
    expect(await store.getTriplets({ entityNames: ["c1"] })).toEqual([]);
    expect(tripletKeys(await store.getTriplets({ ids: ["c1"] }))).toEqual([key("c1", "MENTIONS_ENTITY", "Bob")]);
    expect(await store.getTriplets({ entityNames: [] })).toEqual([]);
    expect(await store.getTriplets({ ids: ["missing"] })).toEqual([]);
  },

  "graph.triplets.relation-names": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    expect(tripletKeys(await store.getTriplets({ relationNames: ["WORKS_AT"] }))).toEqual(
      [key("Alice", "WORKS_AT", "Acme"), key("Bob", "WORKS_AT", "Acme")].sort(),
    );
    expect(await store.getTriplets({ relationNames: ["works_at"] })).toEqual([]);
    expect(await store.getTriplets({ relationNames: [] })).toEqual([]);
  },

  "graph.triplets.properties-per-element": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    // relation property
    expect(tripletKeys(await store.getTriplets({ properties: { since: 2019 } }))).toEqual([key("Bob", "WORKS_AT", "Acme")]);
    // node property: source OR target
    expect(tripletKeys(await store.getTriplets({ properties: { team: "y" } }))).toEqual(
      [key("Bob", "KNOWS", "Alice"), key("Bob", "WORKS_AT", "Acme"), key("c1", "MENTIONS_ENTITY", "Bob")].sort(),
    );
    // AND within one element: age is on Alice, since on the relation -> no single element has both
    expect(await store.getTriplets({ properties: { age: 30, since: 2020 } })).toEqual([]);
    expect(tripletKeys(await store.getTriplets({ properties: { age: 30, team: "x" } }))).toEqual(
      [key("Alice", "WORKS_AT", "Acme"), key("Bob", "KNOWS", "Alice")].sort(),
    );
    expect(await store.getTriplets({ properties: { since: "2019" } })).toEqual([]);
  },

  "graph.triplets.criteria-combine-with-and": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    expect(tripletKeys(await store.getTriplets({ entityNames: ["Bob"], relationNames: ["WORKS_AT"] }))).toEqual([
      key("Bob", "WORKS_AT", "Acme"),
    ]);
    expect(tripletKeys(await store.getTriplets({ ids: ["Acme"], properties: { since: 2020 } }))).toEqual([
      key("Alice", "WORKS_AT", "Acme"),
    ]);
    expect(await store.getTriplets({ entityNames: ["Alice"], ids: ["c1"] })).toEqual([]);
  },

  // -- getRelMap -----------------------------------------------------------------------------

  "graph.relmap.depth-undirected": async (ctx: Ctx) => {
    const store = await ctx.store();
    await relMapFixture(store);
    const A = E("A");
    expect(tripletKeys(await store.getRelMap([A], { depth: 1 }))).toEqual([...HOP1].sort());
    expect(tripletKeys(await store.getRelMap([A], { depth: 2 }))).toEqual([...HOP1, ...HOP2].sort());
    expect(tripletKeys(await store.getRelMap([A]))).toEqual([...HOP1, ...HOP2].sort()); // default depth 2
    expect(tripletKeys(await store.getRelMap([A], { depth: 3 }))).toEqual([...HOP1, ...HOP2, ...HOP3].sort());
    expect(tripletKeys(await store.getRelMap([A], { depth: 10 }))).toEqual([...HOP1, ...HOP2, ...HOP3].sort());
    // returned with their real direction
    const fa = (await store.getRelMap([A], { depth: 1 })).find((t) => t[1].label === "X");
    expect(fa && [nodeId(fa[0]), fa[1].sourceId, fa[1].targetId, nodeId(fa[2])]).toEqual(["F", "F", "A", "A"]);
    expect(await store.getRelMap([A], { depth: 0 })).toEqual([]);
    expect(await store.getRelMap([E("H")])).toEqual([]);
    expect(await store.getRelMap([E("nowhere")])).toEqual([]);
    expect(await store.getRelMap([])).toEqual([]);
  },

  "graph.relmap.limit-keeps-nearest": async (ctx: Ctx) => {
    const store = await ctx.store();
    await relMapFixture(store);
    const A = E("A");
    expect(tripletKeys(await store.getRelMap([A], { depth: 3, limit: 3 }))).toEqual([...HOP1].sort());
    const four = tripletKeys(await store.getRelMap([A], { depth: 3, limit: 4 }));
    expect(four.length).toBe(4);
    for (const k of HOP1) expect(four).toContain(k);
    expect(HOP2).toContain(four.find((k) => !HOP1.includes(k)));
    expect(await store.getRelMap([A], { limit: 0 })).toEqual([]);
    // default limit 30
    await store.upsertRelations(Array.from({ length: 40 }, (_, i) => R("Hub", "SPOKE", `leaf${i}`)));
    expect((await store.getRelMap([E("Hub")])).length).toBe(30);
    expect((await store.getRelMap([E("Hub")], { limit: 100 })).length).toBe(40);
  },

  "graph.relmap.ignore-rels-not-walked": async (ctx: Ctx) => {
    const store = await ctx.store();
    await relMapFixture(store);
    const A = E("A");
    expect(tripletKeys(await store.getRelMap([A], { depth: 3, ignoreRels: ["IGN"] }))).toEqual([...HOP1, key("B", "R2", "C"), ...HOP3].sort());
    // R1 is neither returned nor walked: B (and everything behind it) is out of reach
    expect(tripletKeys(await store.getRelMap([A], { depth: 3, ignoreRels: ["R1"] }))).toEqual([key("F", "X", "A")]);
    // ignoreRels applies before the limit
    expect(tripletKeys(await store.getRelMap([A], { depth: 1, limit: 2, ignoreRels: ["X"] }))).toEqual([key("A", "R1", "B"), key("A", "R1", "E")]);
  },

  "graph.relmap.cycles-and-many-seeds": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertRelations([R("P", "NEXT", "Q"), R("Q", "NEXT", "R"), R("R", "NEXT", "P"), R("P", "SELF", "P")]);
    const ts = await store.getRelMap([E("P"), E("Q"), E("P")], { depth: 5, limit: 100 });
    expect(ts.length).toBe(4);
    expect(tripletKeys(ts)).toEqual([key("P", "NEXT", "Q"), key("P", "SELF", "P"), key("Q", "NEXT", "R"), key("R", "NEXT", "P")].sort());
    const chunk = chunkNode({ id: "chunk-seed", text: "t" });
    await store.upsertNodes([chunk]);
    await store.upsertRelations([R("chunk-seed", "MENTIONS_ENTITY", "P")]);
    expect(tripletKeys(await store.getRelMap([chunk], { depth: 1 }))).toEqual([key("chunk-seed", "MENTIONS_ENTITY", "P")]);
  },

  "graph.relmap.invalid-options": async (ctx: Ctx) => {
    const store = await ctx.store();
    await relMapFixture(store);
    for (const opts of [{ depth: -1 }, { depth: 1.5 }, { limit: -2 }, { limit: Number.NaN }]) {
      await expectStorageError(() => store.getRelMap([E("A")], opts), "INVALID_ARGUMENT");
    }
  },

  // -- delete --------------------------------------------------------------------------------

  "graph.delete.entity-detaches-relations": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    await store.delete({ entityNames: ["Bob"] });
    expect(nodeIds(await store.get())).toEqual(["Acme", "Alice", "c1"]);
    expect(tripletKeys(await store.getTriplets())).toEqual([key("Alice", "WORKS_AT", "Acme")]);
  },

  "graph.delete.relations-keep-endpoints": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    await store.delete({ relationNames: ["WORKS_AT"] });
    expect(nodeIds(await store.get())).toEqual(["Acme", "Alice", "Bob", "c1"]);
    expect(tripletKeys(await store.getTriplets())).toEqual([key("Bob", "KNOWS", "Alice"), key("c1", "MENTIONS_ENTITY", "Bob")].sort());
    // placeholder endpoints are not deleted with their last relation either
    await store.upsertRelations([R("P1", "TEMP", "P2")]);
    await store.delete({ relationNames: ["TEMP"] });
    expect(nodeIds(await store.get({ ids: ["P1", "P2"] }))).toEqual(["P1", "P2"]);
  },

  "graph.delete.by-ids-any-kind": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    await store.delete({ ids: ["c1", "Acme", "missing"] });
    expect(nodeIds(await store.get())).toEqual(["Alice", "Bob"]);
    expect(tripletKeys(await store.getTriplets())).toEqual([key("Bob", "KNOWS", "Alice")]);
  },

  "graph.delete.entity-names-skip-chunks": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    await store.delete({ entityNames: ["c1"] });
    expect(nodeIds(await store.get())).toEqual(["Acme", "Alice", "Bob", "c1"]);
    expect((await store.getTriplets()).length).toBe(4);
  },

  "graph.delete.by-properties-nodes-and-relations": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    // since=2019 matches one relation (its endpoints stay) and no node
    await store.delete({ properties: { since: 2019 } });
    expect(nodeIds(await store.get())).toEqual(["Acme", "Alice", "Bob", "c1"]);
    expect(tripletKeys(await store.getTriplets())).not.toContain(key("Bob", "WORKS_AT", "Acme"));
    // team=x matches Alice and Acme (AND: age+team only Alice)
    await store.delete({ properties: { team: "x", age: 30 } });
    expect(nodeIds(await store.get())).toEqual(["Acme", "Bob", "c1"]);
    expect(tripletKeys(await store.getTriplets())).toEqual([key("c1", "MENTIONS_ENTITY", "Bob")]);
  },

  "graph.delete.criteria-union": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    await store.delete({ entityNames: ["Acme"], relationNames: ["KNOWS"] });
    expect(nodeIds(await store.get())).toEqual(["Alice", "Bob", "c1"]);
    expect(tripletKeys(await store.getTriplets())).toEqual([key("c1", "MENTIONS_ENTITY", "Bob")]);
  },

  "graph.delete.empty-selector-is-invalid": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    await expectStorageError(() => store.delete({}), "INVALID_ARGUMENT");
    await expectStorageError(() => store.delete({ properties: {} }), "INVALID_ARGUMENT");
    await expectStorageError(() => (store.delete as (s?: unknown) => Promise<void>)(undefined), "INVALID_ARGUMENT");
    await store.delete({ ids: [], entityNames: [], relationNames: [] }); // empty lists select nothing
    expect((await store.get()).length).toBe(4);
    expect((await store.getTriplets()).length).toBe(4);
  },

  // -- provenance ----------------------------------------------------------------------------

  "graph.provenance.entity-to-source-chunk": async (ctx: Ctx) => {
    const store = await ctx.store();
    const c1 = chunkNode({ id: "node-1", text: "Alice works at Acme.", properties: { ref_doc_id: "doc-1" } });
    const c2 = chunkNode({ id: "node-2", text: "Bob lives in Paris." });
    await store.upsertNodes([
      c1,
      c2,
      E("Alice", "PERSON", { [TRIPLET_SOURCE_KEY]: "node-1" }),
      E("Acme", "ORG", { [TRIPLET_SOURCE_KEY]: "node-1" }),
      E("Bob", "PERSON", { [TRIPLET_SOURCE_KEY]: "node-2" }),
      E("Paris", "PLACE", { [TRIPLET_SOURCE_KEY]: "node-2" }),
    ]);
    await store.upsertRelations([
      R("Alice", "WORKS_AT", "Acme", { [TRIPLET_SOURCE_KEY]: "node-1" }),
      R("Bob", "LIVES_IN", "Paris", { [TRIPLET_SOURCE_KEY]: "node-2" }),
    ]);
    // entity -> source chunk
    const alice = await getOne(store, "Alice");
    const src = alice?.properties[TRIPLET_SOURCE_KEY];
    expect(src).toBe("node-1");
    const chunk = await getOne(store, src as string);
    expect(chunk?.kind === "chunk" && chunk.text).toBe("Alice works at Acme.");
    // chunk -> entities and triplets extracted from it
    expect(nodeIds(await store.get({ properties: { [TRIPLET_SOURCE_KEY]: "node-1" } }))).toEqual(["Acme", "Alice"]);
    expect(tripletKeys(await store.getTriplets({ properties: { [TRIPLET_SOURCE_KEY]: "node-1" } }))).toEqual([key("Alice", "WORKS_AT", "Acme")]);
    // provenance links are properties, not relations: they never show up as triplets
    expect((await store.getTriplets()).length).toBe(2);
    expect(tripletKeys(await store.getRelMap([alice!], { depth: 3 }))).toEqual([key("Alice", "WORKS_AT", "Acme")]);
    // deleting a chunk does not cascade; deleting by provenance removes what it produced
    await store.delete({ ids: ["node-1"] });
    expect(nodeIds(await store.get({ ids: ["Alice", "Acme"] }))).toEqual(["Acme", "Alice"]);
    await store.delete({ properties: { [TRIPLET_SOURCE_KEY]: "node-1" } });
    expect(nodeIds(await store.get())).toEqual(["Bob", "Paris", "node-2"]);
    expect(tripletKeys(await store.getTriplets())).toEqual([key("Bob", "LIVES_IN", "Paris")]);
  },

  // -- schema --------------------------------------------------------------------------------

  "graph.schema.labels-types-properties": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    expect(await store.getSchema(true)).toEqual({
      nodeLabels: ["ORG", "PERSON", "text_chunk"],
      relationTypes: ["KNOWS", "MENTIONS_ENTITY", "WORKS_AT"],
      nodeProperties: { ORG: ["team"], PERSON: ["age", "team"], text_chunk: ["doc"] },
      relationProperties: { KNOWS: [TRIPLET_SOURCE_KEY], MENTIONS_ENTITY: [], WORKS_AT: ["since", TRIPLET_SOURCE_KEY].sort() },
      patterns: [
        { source: "PERSON", relation: "KNOWS", target: "PERSON" },
        { source: "PERSON", relation: "WORKS_AT", target: "ORG" },
        { source: "text_chunk", relation: "MENTIONS_ENTITY", target: "PERSON" },
      ],
    });
    await store.delete({ relationNames: ["KNOWS"] });
    const after = await store.getSchema(true);
    expect(after.relationTypes).toEqual(["MENTIONS_ENTITY", "WORKS_AT"]);
    expect(after.patterns.some((p) => p.relation === "KNOWS")).toBe(false);
  },

  // -- validation ----------------------------------------------------------------------------

  "graph.validation.labels": async (ctx: Ctx) => {
    const store = await ctx.store();
    for (const bad of ["", "   ", "a\nb", "nul\u0000", "x".repeat(257), "lone\uD800", 42]) {
      await expectStorageError(
        () => store.upsertNodes([E("ok-1"), { kind: "entity", name: "bad", label: bad as string, properties: {} }]),
        "INVALID_ARGUMENT",
      );
      await expectStorageError(
        () => store.upsertRelations([R("s", "OK", "t"), { label: bad as string, sourceId: "s2", targetId: "t2", properties: {} }]),
        "INVALID_ARGUMENT",
      );
    }
    // whole batches are refused: nothing was written, not even placeholder endpoints
    expect(await store.get()).toEqual([]);
    expect(await store.getTriplets()).toEqual([]);
    await store.upsertNodes([E("fine", "x".repeat(256))]);
    expect((await getOne(store, "fine"))?.label).toBe("x".repeat(256));
  },

  "graph.validation.ids-and-kinds": async (ctx: Ctx) => {
    const store = await ctx.store();
    const bads: unknown[] = [
      { kind: "entity", name: "", label: "L", properties: {} },
      { kind: "entity", name: "x".repeat(2049), label: "L", properties: {} },
      { kind: "entity", name: 7, label: "L", properties: {} },
      { kind: "chunk", id: "", text: "t", label: "L", properties: {} },
      { kind: "chunk", id: "c", text: 5, label: "L", properties: {} },
      { kind: "node", name: "n", label: "L", properties: {} },
      null,
    ];
    for (const bad of bads) {
      await expectStorageError(() => store.upsertNodes([E("ok"), bad as LabelledNode]), "INVALID_ARGUMENT");
    }
    await expectStorageError(() => store.upsertRelations([R("a", "L", "b"), { label: "L", sourceId: "", targetId: "b", properties: {} }]), "INVALID_ARGUMENT");
    await expectStorageError(() => store.get({ ids: [""] }), "INVALID_ARGUMENT");
    expect(await store.get()).toEqual([]);
    await store.upsertNodes([E("y".repeat(2048))]);
    expect(nodeIds(await store.get())).toEqual(["y".repeat(2048)]);
  },

  "graph.validation.property-values-and-keys": async (ctx: Ctx) => {
    const store = await ctx.store();
    const badProps: unknown[] = [
      { nested: { a: 1 } },
      { nan: Number.NaN },
      { inf: Number.POSITIVE_INFINITY },
      { mixed: [1, "a"] },
      { deep: [[1]] },
      { nulls: [null] },
      { undef: undefined },
      { fn: () => 1 },
      { "": "empty key" },
      { "bad\nkey": 1 },
      "not an object",
    ];
    for (const properties of badProps) {
      await expectStorageError(() => store.upsertNodes([E("ok"), { kind: "entity", name: "n", label: "L", properties: properties as Properties }]), "INVALID_ARGUMENT");
      await expectStorageError(() => store.upsertRelations([{ label: "L", sourceId: "a", targetId: "b", properties: properties as Properties }]), "INVALID_ARGUMENT");
    }
    for (const embedding of [[], [1, Number.NaN], "abc", [1, "2"]]) {
      await expectStorageError(() => store.upsertNodes([{ kind: "entity", name: "n", label: "L", properties: {}, embedding: embedding as number[] }]), "INVALID_ARGUMENT");
    }
    expect(await store.get()).toEqual([]);
  },

  // -- hostile input -------------------------------------------------------------------------

  "graph.hostile.labels": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    const accepted: string[] = [];
    // One call per string on purpose: each hostile label must be judged on its own.
    for (const [i, s] of HOSTILE_STRINGS.entries()) {
      try {
        await store.upsertNodes([E(`hostile-${i}`, s, { i })]);
        await store.upsertRelations([R(`hostile-${i}`, s, "Alice", { i })]);
        accepted.push(s);
      } catch (e) {
        if (MUST_ACCEPT.has(s)) throw e;
        await expectStorageError(() => Promise.reject(e), "INVALID_ARGUMENT");
      }
    }
    for (const [i, s] of HOSTILE_STRINGS.entries()) {
      const n = await getOne(store, `hostile-${i}`);
      if (!accepted.includes(s)) {
        // refused as a node label, or as a relation label (then the node may exist)
        if (n) expect(n.label).toBe(s);
        continue;
      }
      expect(n?.label).toBe(s);
      const ts = await store.getTriplets({ relationNames: [s] });
      expect(ts.map(tripletKey)).toEqual([key(`hostile-${i}`, s, "Alice")]);
    }
    const schema = await store.getSchema(true);
    for (const s of accepted) {
      expect(schema.nodeLabels).toContain(s);
      expect(schema.relationTypes).toContain(s);
    }
    // nothing else was touched
    expect(tripletKeys(await store.getTriplets({ ids: ["Acme", "c1"] }))).toEqual(
      [key("Alice", "WORKS_AT", "Acme"), key("Bob", "WORKS_AT", "Acme"), key("c1", "MENTIONS_ENTITY", "Bob")].sort(),
    );
    expect(nodeIds(await store.get({ ids: ["Alice", "Bob", "Acme", "c1"] }))).toEqual(["Acme", "Alice", "Bob", "c1"]);
  },

  "graph.hostile.names-and-values": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    const accepted: string[] = [];
    for (const s of HOSTILE_STRINGS) {
      try {
        await store.upsertNodes([E(s, "HOSTILE", { value: s }), chunkNode({ id: `chunk:${s}`, text: s })]);
        await store.upsertRelations([R(s, "POINTS_TO", "Alice", { value: s })]);
        accepted.push(s);
      } catch (e) {
        if (s !== "nul\u0000byte" && s.length < 2048) throw e; // ordinary strings must be accepted as ids
        await expectStorageError(() => Promise.reject(e), "INVALID_ARGUMENT");
      }
    }
    for (const s of accepted) {
      const n = await getOne(store, s);
      expect(n && plain(n)).toEqual({ kind: "entity", name: s, label: "HOSTILE", properties: { value: s } });
      const c = await getOne(store, `chunk:${s}`);
      expect(c?.kind === "chunk" && c.text).toBe(s);
      expect(tripletKeys(await store.getTriplets({ entityNames: [s] }))).toEqual([key(s, "POINTS_TO", "Alice")]);
      expect(nodeIds(await store.get({ properties: { value: s } }))).toEqual([s]);
    }
    // hostile selectors select nothing else and never execute anything
    for (const s of HOSTILE_STRINGS) {
      if (s.length > 2048) continue;
      try {
        await store.delete({ entityNames: [`${s}-nope`], relationNames: [`nope ${s}`.slice(0, 256)], properties: { [`nope ${s}`.slice(0, 256)]: s } });
      } catch (e) {
        await expectStorageError(() => Promise.reject(e), "INVALID_ARGUMENT");
      }
    }
    expect(nodeIds(await store.get({ ids: ["Alice", "Bob", "Acme", "c1"] }))).toEqual(["Acme", "Alice", "Bob", "c1"]);
    expect((await store.getTriplets({ relationNames: ["POINTS_TO"] })).length).toBe(accepted.length);
  },

  "graph.hostile.property-keys": async (ctx: Ctx) => {
    const store = await ctx.store();
    await smallGraph(store);
    const accepted: string[] = [];
    for (const [i, s] of HOSTILE_STRINGS.entries()) {
      const props: Properties = {};
      Object.defineProperty(props, s, { value: `v${i}`, enumerable: true, writable: true, configurable: true });
      try {
        await store.upsertNodes([E(`pk-${i}`, "PK", props)]);
        await store.upsertRelations([R(`pk-${i}`, "PK_REL", "Bob", props)]);
        accepted.push(s);
      } catch (e) {
        if (MUST_ACCEPT.has(s)) throw e;
        await expectStorageError(() => Promise.reject(e), "INVALID_ARGUMENT");
      }
    }
    for (const [i, s] of HOSTILE_STRINGS.entries()) {
      if (!accepted.includes(s)) continue;
      const n = await getOne(store, `pk-${i}`);
      expect(Object.keys(n!.properties)).toEqual([s]);
      expect(n!.properties[s]).toBe(`v${i}`);
      const wanted: Properties = {};
      Object.defineProperty(wanted, s, { value: `v${i}`, enumerable: true, writable: true, configurable: true });
      expect(nodeIds(await store.get({ properties: wanted }))).toEqual([`pk-${i}`]);
      const ts = await store.getTriplets({ relationNames: ["PK_REL"], properties: wanted });
      expect(ts.map(tripletKey)).toEqual([key(`pk-${i}`, "PK_REL", "Bob")]);
      expect(ts[0]![1].properties).toEqual(wanted);
    }
    expect(nodeIds(await store.get({ ids: ["Alice", "Bob", "Acme", "c1"] }))).toEqual(["Acme", "Alice", "Bob", "c1"]);
  },

  // -- concurrency ---------------------------------------------------------------------------

  "graph.concurrency.parallel-upserts": async (ctx: Ctx) => {
    const store = await ctx.store();
    const n = 8;
    // Concurrent writers MERGE the same nodes and relations: a backend without uniqueness
    // (constraints, locks) ends up with duplicate nodes or relations, or lost property merges.
    await Promise.all([
      ...Array.from({ length: n }, (_, b) =>
        store.upsertRelations([R("hub", "LINK", "shared", { [`b${b}`]: b }), R(`n${b}`, "LINK", "hub"), R("shared", "BACK", `n${(b + 1) % n}`)]),
      ),
      ...Array.from({ length: n }, (_, b) => store.upsertNodes([E("hub", "HUB", { [`p${b}`]: b }), E(`n${b}`, "N")])),
    ]);
    const ids = Array.from({ length: n }, (_, b) => `n${b}`);
    expect(nodeIds(await store.get())).toEqual(["hub", ...ids, "shared"].sort());
    const ts = await store.getTriplets();
    expect(tripletKeys(ts)).toEqual(
      [key("hub", "LINK", "shared"), ...ids.map((i) => key(i, "LINK", "hub")), ...ids.map((i) => key("shared", "BACK", i))].sort(),
    );
    const link = ts.find(([, r]) => r.sourceId === "hub" && r.label === "LINK")!;
    expect(link[1].properties).toEqual(Object.fromEntries(ids.map((_, b) => [`b${b}`, b])));
    const hub = await getOne(store, "hub");
    expect(hub?.label).toBe("HUB");
    expect(hub?.properties).toEqual(Object.fromEntries(ids.map((_, b) => [`p${b}`, b])));
  },

  // -- scale ---------------------------------------------------------------------------------

  "graph.scale.10k-triplets": async (ctx: Ctx) => {
    const store = await ctx.store();
    const g = randomGraph(42, 2_000, 10_000);
    await store.upsertNodes(g.nodes);
    await store.upsertRelations(g.relations);
    await store.upsertRelations(g.relations.slice(0, 2_000)); // idempotent at scale
    const all = await store.getTriplets();
    expect(all.length).toBe(10_000);
    expect(new Set(all.map(tripletKey)).size).toBe(10_000);
    expect((await store.get()).length).toBe(2_000);
    const t0 = g.types[0]!;
    expect((await store.getTriplets({ relationNames: [t0] })).length).toBe(g.relations.filter((r) => r.label === t0).length);
    const seeds = ["e1", "e500", "e1999"];
    const expected = relMapOracle(g.relations, seeds, 2, [g.types[1]!]);
    const got = await store.getRelMap(seeds.map((s) => E(s)), { depth: 2, limit: 1_000_000, ignoreRels: [g.types[1]!] });
    expect(got.length).toBe(expected.size);
    expect(new Set(got.map(tripletKey))).toEqual(expected);
    const oneHop = relMapOracle(g.relations, seeds, 1);
    const limited = await store.getRelMap(seeds.map((s) => E(s)), { depth: 2, limit: oneHop.size });
    expect(new Set(limited.map(tripletKey))).toEqual(oneHop);
    await store.delete({ relationNames: [t0] });
    expect((await store.getTriplets()).length).toBe(10_000 - g.relations.filter((r) => r.label === t0).length);
    expect((await store.get()).length).toBe(2_000);
  },

  // -- vector queries (capability) -------------------------------------------------------------

  "graph.vector.top-k-order": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertNodes([
      E("x", "T", {}, [1, 0, 0]),
      E("y", "T", {}, [0, 1, 0]),
      E("xy", "T", {}, [1, 1, 0]),
      E("tie-b", "T", {}, [0, 0, 2]),
      E("tie-a", "T", {}, [0, 0, 1]),
      E("no-embedding", "T"),
      chunkNode({ id: "cx", text: "chunk", embedding: [0.9, 0.1, 0] }),
    ]);
    const r = await store.vectorQuery({ embedding: [1, 0, 0], topK: 3 });
    expect(r.nodes.map(nodeId)).toEqual(["x", "cx", "xy"]);
    expect(r.scores.length).toBe(3);
    expect(r.scores[0]).toBeCloseTo(1, 5);
    expect(r.scores[2]).toBeCloseTo(Math.SQRT1_2, 5);
    for (let i = 1; i < r.scores.length; i++) expect(r.scores[i]!).toBeLessThanOrEqual(r.scores[i - 1]!);
    const ties = await store.vectorQuery({ embedding: [0, 0, 5], topK: 2 });
    expect(ties.nodes.map(nodeId)).toEqual(["tie-a", "tie-b"]);
    expect((await store.vectorQuery({ embedding: [1, 0, 0] })).nodes.length).toBe(2); // default topK 2
    const chunksOnly = await store.vectorQuery({ embedding: [1, 0, 0], topK: 10, kinds: ["chunk"] });
    expect(chunksOnly.nodes.map(nodeId)).toEqual(["cx"]);
    const entitiesOnly = await store.vectorQuery({ embedding: [1, 0, 0], topK: 10, kinds: ["entity"] });
    expect(nodeIds(entitiesOnly.nodes)).toEqual(["tie-a", "tie-b", "x", "xy", "y"]);
  },

  "graph.vector.filters-match-reference-evaluator": async (ctx: Ctx) => {
    const store = await ctx.store();
    const caps = store.capabilities;
    const corpus = vectorCorpus(7, 90, 8);
    await store.upsertNodes(corpus);
    const rnd = seededRandom(1234);
    const operators: FilterOperator[] = [...caps.filterOperators];
    expect(operators.length).toBeGreaterThan(0);
    let nonTrivial = 0;
    for (let i = 0; i < 60; i++) {
      const filters = randomFilters(rnd, operators, caps.nestedFilters);
      const expected = corpus.filter((n) => matchesFilters(n.properties, filters)).map(nodeId).sort();
      if (expected.length > 0 && expected.length < corpus.length) nonTrivial++;
      const q = corpus[i % corpus.length]!.embedding!;
      const got = await store.vectorQuery({ embedding: q, topK: corpus.length, filters });
      expect({ filters, ids: nodeIds(got.nodes) }).toEqual({ filters, ids: expected });
      for (let j = 1; j < got.scores.length; j++) expect(got.scores[j]!).toBeLessThanOrEqual(got.scores[j - 1]! + 1e-9);
    }
    expect(nonTrivial).toBeGreaterThan(20); // the random trees really discriminate
  },

  "graph.vector.filters-hostile-differential": async (ctx: Ctx) => {
    // The filter differential suite's hostile corpus (graph-shaped) and random trees.
    await hostileGraphDifferential(await ctx.store(), { seed: 4321, trees: 80 });
  },

  "graph.vector.filters-spec-cases": async (ctx: Ctx) => {
    // The filters.spec.* cases of packages/core/docs/filters.md, one fresh store per case.
    await filterSpecGraphCases(() => ctx.store());
  },

  "graph.vector.errors": async (ctx: Ctx) => {
    const store = await ctx.store();
    await store.upsertNodes([E("a", "T", { n: 1 }, [1, 0, 0])]);
    await expectStorageError(() => store.vectorQuery({ embedding: [1, 0] }), "DIMENSION_MISMATCH");
    await expectStorageError(() => store.upsertNodes([E("b", "T", {}, [1, 0])]), "DIMENSION_MISMATCH");
    await expectStorageError(
      () => store.vectorQuery({ embedding: [1, 0, 0], filters: { filters: [{ key: "n", operator: "~~" as FilterOperator, value: 1 }] } }),
      "INVALID_ARGUMENT",
    );
    await expectStorageError(() => store.vectorQuery({ embedding: [1, 0, 0], filters: { filters: [{ key: "n", operator: "in", value: 1 }] } }), "INVALID_ARGUMENT");
    await expectStorageError(() => store.vectorQuery({ embedding: [] }), "INVALID_ARGUMENT");
    for (const topK of [-1, 1.5, Number.NaN, MAX_TOP_K + 1, 1e9, "3" as unknown as number]) {
      await expectStorageError(() => store.vectorQuery({ embedding: [1, 0, 0], topK }), "INVALID_ARGUMENT");
    }
    // topK 0 asks for nothing (as on vector stores), but the query is still validated
    expect(await store.vectorQuery({ embedding: [1, 0, 0], topK: 0 })).toEqual({ nodes: [], scores: [] });
    await expectStorageError(
      () => store.vectorQuery({ embedding: [1, 0, 0], topK: 0, filters: { filters: [{ key: "n", operator: "in", value: 1 }] } }),
      "INVALID_ARGUMENT",
    );
    const missing = FILTER_OPERATORS.filter((op) => !store.capabilities.filterOperators.includes(op));
    for (const op of missing) {
      const value = op === "is_empty" ? undefined : ["in", "nin", "any", "all"].includes(op) ? ["a"] : "a";
      await expectStorageError(
        () => store.vectorQuery({ embedding: [1, 0, 0], filters: { filters: [{ key: "n", operator: op, ...(value === undefined ? {} : { value }) }] } }),
        "UNSUPPORTED",
      );
    }
    expect((await store.get()).length).toBe(1);
  },

  "graph.vector.top-k-limits": async (ctx: Ctx) => {
    const store = await ctx.store();
    expect(await store.vectorQuery({ embedding: [1, 0], topK: 0 })).toEqual({ nodes: [], scores: [] }); // empty store
    await store.upsertNodes([E("a", "T", {}, [1, 0]), E("b", "T", {}, [0, 1])]);
    expect(await store.vectorQuery({ embedding: [1, 0], topK: 0 })).toEqual({ nodes: [], scores: [] });
    expect(await store.vectorQuery({ embedding: [1, 0], topK: 0, kinds: ["entity"], filters: { filters: [] } })).toEqual({
      nodes: [],
      scores: [],
    });
    // Above MAX_TOP_K: INVALID_ARGUMENT before any I/O, and the backend stays up.
    await expectStorageError(() => store.vectorQuery({ embedding: [1, 0], topK: 1e9 }), "INVALID_ARGUMENT");
    await expectStorageError(() => store.vectorQuery({ embedding: [1, 0], topK: MAX_TOP_K + 1 }), "INVALID_ARGUMENT");
    const all = await store.vectorQuery({ embedding: [1, 0], topK: MAX_TOP_K });
    expect(all.nodes.map(nodeId)).toEqual(["a", "b"]);
    const filtered = await store.vectorQuery({ embedding: [1, 0], topK: MAX_TOP_K, filters: { filters: [] }, kinds: ["entity"] });
    expect(filtered.nodes.map(nodeId)).toEqual(["a", "b"]);
  },

  "graph.vector.filters-edge-cases": async (ctx: Ctx) => {
    const store = await ctx.store();
    // -0 equals 0 (filters.md): in ordering operators too, on the stored side and in the filter.
    // A key with a lone surrogate is never a stored key (core refuses it), so it is missing, even
    // next to the key U+FFFD + "k" (what a lone surrogate turns into when encoded as UTF-8).
    const nodes = [
      E("neg-zero", "T", { v: -0, s: "x" }, [1, 0]),
      E("zero", "T", { v: 0 }, [1, 0]),
      E("one", "T", { v: 1, "\uFFFDk": "val" }, [1, 0]),
      E("minus-one", "T", { v: -1, tags: ["\uFFFD"] }, [1, 0]),
      E("fffd", "T", { "\uFFFDk": "val", s: "\uFFFD" }, [1, 0]),
    ];
    await store.upsertNodes(nodes);
    const everyone = ["fffd", "minus-one", "neg-zero", "one", "zero"];
    const cases: [MetadataFilter, string[]][] = [
      [{ key: "v", operator: "<", value: 0 }, ["minus-one"]],
      [{ key: "v", operator: ">=", value: 0 }, ["neg-zero", "one", "zero"]],
      [{ key: "v", operator: ">", value: -0 }, ["one"]],
      [{ key: "v", operator: "<=", value: -0 }, ["minus-one", "neg-zero", "zero"]],
      [{ key: "v", operator: "<", value: -0 }, ["minus-one"]],
      [{ key: "v", operator: ">", value: 0 }, ["one"]],
      [{ key: "v", operator: "==", value: -0 }, ["neg-zero", "zero"]],
      [{ key: "v", operator: "in", value: [-0] }, ["neg-zero", "zero"]],
      [{ key: "\uD800k", operator: "==", value: "val" }, []],
      [{ key: "\uD800k", operator: "!=", value: "val" }, everyone],
      [{ key: "\uD800k", operator: "is_empty" }, everyone],
      [{ key: "\uDC00k", operator: "in", value: ["val"] }, []],
      [{ key: "\uFFFDk", operator: "==", value: "val" }, ["fffd", "one"]],
      // a value with a lone surrogate equals no stored value
      [{ key: "s", operator: "==", value: "\uD800" }, []],
      [{ key: "s", operator: "!=", value: "\uDC00" }, everyone],
      [{ key: "s", operator: "in", value: ["\uD800", "x"] }, ["neg-zero"]],
      [{ key: "tags", operator: "contains", value: "\uD800" }, []],
      [{ key: "tags", operator: "any", value: ["\uD800"] }, []],
    ];
    for (const [filter, want] of cases) {
      const filters = { filters: [filter] };
      // The kit's expectations are the reference evaluator's.
      expect({ filter, ids: nodes.filter((n) => matchesFilters(n.properties, filters)).map(nodeId).sort() }).toEqual({ filter, ids: want });
      if (!store.capabilities.filterOperators.includes(filter.operator)) continue;
      const got = await store.vectorQuery({ embedding: [1, 0], topK: 10, filters });
      expect({ filter, ids: nodeIds(got.nodes) }).toEqual({ filter, ids: want });
      const negated = await store.vectorQuery({ embedding: [1, 0], topK: 10, filters: { filters: [filter], condition: "not" } });
      expect({ filter, not: nodeIds(negated.nodes) }).toEqual({ filter, not: everyone.filter((id) => !want.includes(id)) });
    }
  },

  "graph.vector.unsupported": async (ctx: Ctx) => {
    const store = await ctx.store();
    expect(store.capabilities.vectorQuery).toBe(false);
    await expectStorageError(() => store.vectorQuery({ embedding: [1, 0] }), "UNSUPPORTED");
  },

  // -- structured queries (capability) --------------------------------------------------------

  "graph.structured.unsupported": async (ctx: Ctx) => {
    const store = await ctx.store();
    expect(store.capabilities.structuredQuery).toBe(false);
    await expectStorageError(() => store.structuredQuery("MATCH (n) RETURN n"), "UNSUPPORTED");
  },

  "graph.structured.probe": async () => {
    throw new Error("replaced per suite run (needs the structuredQueryProbe option)");
  },
};

export type GraphTestId = keyof typeof graphTests;
export const GRAPH_TEST_IDS = Object.keys(graphTests) as GraphTestId[];

const VECTOR_TESTS: GraphTestId[] = [
  "graph.vector.top-k-order",
  "graph.vector.top-k-limits",
  "graph.vector.filters-edge-cases",
  "graph.vector.filters-match-reference-evaluator",
  "graph.vector.filters-hostile-differential",
  "graph.vector.filters-spec-cases",
  "graph.vector.errors",
];

export interface GraphSuiteOptions extends SuiteOptions<PropertyGraphStore, GraphTestId, PropertyGraphCapabilities> {
  /**
   * What the store declares; required so capability-dependent tests are skipped (visibly, with
   * the reason) or run at definition time. `graph.capabilities.declared` checks it against
   * `store.capabilities`.
   */
  capabilities: Pick<PropertyGraphCapabilities, "structuredQuery" | "vectorQuery"> & Partial<PropertyGraphCapabilities>;
  /**
   * For stores with `structuredQuery`: a query in the backend's language, run on a store holding
   * the suite's small graph (Alice, Bob, Acme, chunk c1), with its expected rows (compared with
   * `toEqual`, in order).
   */
  structuredQueryProbe?: {
    query: string;
    params?: Record<string, unknown>;
    expected: Record<string, unknown>[];
  };
}

/**
 * Registers the property graph suite (vitest `describe`/`it`) for one store implementation.
 *
 * ```ts
 * describePropertyGraphStore({
 *   name: "SimplePropertyGraphStore",
 *   create: () => new SimplePropertyGraphStore(),
 *   capabilities: { vectorQuery: true, structuredQuery: false },
 * });
 * ```
 */
export function describePropertyGraphStore(opts: GraphSuiteOptions): void {
  const capabilitySkips: Partial<Record<GraphTestId, string>> = {};
  if (opts.capabilities.vectorQuery) capabilitySkips["graph.vector.unsupported"] = "the store declares vectorQuery";
  else for (const id of VECTOR_TESTS) capabilitySkips[id] = "the store does not declare vectorQuery";
  if (opts.capabilities.structuredQuery) capabilitySkips["graph.structured.unsupported"] = "the store declares structuredQuery";
  else capabilitySkips["graph.structured.probe"] = "the store does not declare structuredQuery";

  const probe = opts.structuredQueryProbe;
  const suite = defineSuite<PropertyGraphStore, GraphTestId, PropertyGraphCapabilities>(
    "PropertyGraphStore",
    {
      ...graphTests,
      "graph.structured.probe": async (ctx: Ctx) => {
        if (!probe) throw new Error("the store declares structuredQuery: pass `structuredQueryProbe` to describePropertyGraphStore");
        const store = await ctx.store();
        await smallGraph(store);
        expect(await store.structuredQuery(probe.query, probe.params)).toEqual(probe.expected);
      },
    },
    { timeout: 120_000 },
  );
  suite({ ...opts, skip: { ...capabilitySkips, ...opts.skip } });
}

