import { describe, expect, it } from "vitest";
import { isStorageError } from "../errors.js";
import { sha256 } from "../schema/node.js";
import {
  chunkNode,
  entityNode,
  mergeProperties,
  relation,
  relationKey,
  SimplePropertyGraphStore,
  triplet,
  TRIPLET_SOURCE_KEY,
  validateLabel,
  type LabelledNode,
} from "./index.js";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isStorageError(e) ? e.code : `not a StorageError: ${String(e)}`;
  }
  return undefined;
}

async function codeAsync(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    return isStorageError(e) ? e.code : `not a StorageError: ${String(e)}`;
  }
  return undefined;
}

// The example of docs/graph.md and of the Python reference (property_graph_store.json).
const PYTHON_DOC = {
  nodes: {
    Alice: { label: "PERSON", embedding: null, properties: { triplet_source_id: "node-1" }, name: "Alice" },
    Acme: { label: "ORG", embedding: null, properties: { triplet_source_id: "node-1" }, name: "Acme" },
    "node-1": {
      label: "text_chunk",
      embedding: [0.01, 0.02],
      properties: { _node_type: "TextNode", document_id: "doc-1", doc_id: "doc-1", ref_doc_id: "doc-1" },
      text: "Alice works at Acme.",
      id_: "node-1",
    },
  },
  relations: {
    Alice_WORKS_AT_Acme: { label: "WORKS_AT", source_id: "Alice", target_id: "Acme", properties: { triplet_source_id: "node-1" } },
  },
  triplets: [["Alice", "WORKS_AT", "Acme"]],
};

describe("graph model helpers", () => {
  it("fills LlamaIndex's defaults and derives a stable chunk id", () => {
    expect(entityNode({ name: "Alice" })).toEqual({ kind: "entity", name: "Alice", label: "entity", properties: {} });
    const c = chunkNode({ text: "hello" });
    expect(c).toEqual({ kind: "chunk", id: sha256("hello"), text: "hello", label: "text_chunk", properties: {} });
    expect(chunkNode({ text: "hello" }).id).toBe(c.id);
    const [s, r, t] = triplet(entityNode({ name: "A" }), "KNOWS", c, { w: 1 });
    expect(r).toEqual({ label: "KNOWS", sourceId: "A", targetId: c.id, properties: { w: 1 } });
    expect([s.kind, t.kind]).toEqual(["entity", "chunk"]);
  });

  it("validates eagerly with INVALID_ARGUMENT", () => {
    expect(code(() => entityNode({ name: "" }))).toBe("INVALID_ARGUMENT");
    expect(code(() => entityNode({ name: "A", label: " " }))).toBe("INVALID_ARGUMENT");
    expect(code(() => relation({ label: "", sourceId: "a", targetId: "b" }))).toBe("INVALID_ARGUMENT");
    expect(code(() => entityNode({ name: "A", properties: { x: { y: 1 } as never } }))).toBe("INVALID_ARGUMENT");
    expect(code(() => entityNode({ name: "A", embedding: [1e39] }))).toBe("INVALID_ARGUMENT");
    expect(code(() => validateLabel("a\tb"))).toBe("INVALID_ARGUMENT");
    expect(validateLabel("back`tick } MATCH (n) DETACH DELETE n")).toBe("back`tick } MATCH (n) DETACH DELETE n");
  });

  it("relation keys are unambiguous where Python's src_label_tgt is not", () => {
    expect(relationKey("a_b", "c", "d")).not.toBe(relationKey("a", "b_c", "d"));
    expect(relationKey("a", "b", "c")).toBe(relationKey("a", "b", "c"));
  });

  it("merges properties key by key, null removes, __proto__ stays an own key", () => {
    const update = JSON.parse('{"__proto__": 1, "b": null, "c": [1]}');
    const merged = mergeProperties({ a: 1, b: 2 }, update);
    expect(Object.keys(merged).sort()).toEqual(["__proto__", "a", "c"]);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
  });
});

describe("SimplePropertyGraphStore", () => {
  it("hands out frozen values that cannot corrupt the store", async () => {
    const store = new SimplePropertyGraphStore();
    const input = entityNode({ name: "A", properties: { tags: ["x"] } });
    await store.upsertNodes([input]);
    input.properties["tags"] = ["mutated"]; // the caller's object is not aliased
    const [got] = await store.get({ ids: ["A"] });
    expect(got?.properties).toEqual({ tags: ["x"] });
    expect(Object.isFrozen(got)).toBe(true);
    expect(Object.isFrozen(got?.properties["tags"])).toBe(true);
  });

  it("frees the embedding dimension when the last embedded node goes", async () => {
    const store = new SimplePropertyGraphStore();
    await store.upsertNodes([entityNode({ name: "a", embedding: [1, 0] }), entityNode({ name: "b", embedding: [0, 1] })]);
    expect(await codeAsync(() => store.upsertNodes([entityNode({ name: "c", embedding: [1, 0, 0] })]))).toBe("DIMENSION_MISMATCH");
    await store.delete({ ids: ["a"] });
    expect((await store.vectorQuery({ embedding: [0, 1], topK: 5 })).nodes.map((n) => (n as { name: string }).name)).toEqual(["b"]);
    await store.upsertNodes([{ ...entityNode({ name: "b" }), embedding: null }]);
    expect(await store.vectorQuery({ embedding: [1, 0, 0] })).toEqual({ nodes: [], scores: [] });
    await store.upsertNodes([entityNode({ name: "c", embedding: [1, 0, 0] })]);
    const r = await store.vectorQuery({ embedding: [1, 0, 0] });
    expect(r.nodes.map((n) => (n as { name: string }).name)).toEqual(["c"]);
    expect(r.scores[0]).toBeCloseTo(1, 6);
  });

  it("keeps rows consistent through swap-removes", async () => {
    const store = new SimplePropertyGraphStore();
    const nodes = Array.from({ length: 50 }, (_, i) => entityNode({ name: `n${i}`, embedding: [Math.cos(i), Math.sin(i)] }));
    await store.upsertNodes(nodes);
    await store.delete({ ids: nodes.filter((_, i) => i % 3 === 0).map((n) => n.name) });
    for (const i of [1, 2, 4, 49]) {
      const r = await store.vectorQuery({ embedding: [Math.cos(i), Math.sin(i)], topK: 1 });
      expect((r.nodes[0] as { name: string }).name).toBe(`n${i}`);
    }
  });

  it("keeps a hub's relations exact through its out-index, merges and deletes", async () => {
    const store = new SimplePropertyGraphStore();
    const rels = [];
    for (let i = 0; i < 60; i++) rels.push(relation({ label: i < 30 ? "A" : "B", sourceId: "hub", targetId: `t${i % 30}`, properties: { i } }));
    await store.upsertRelations(rels); // 30 targets x 2 labels = 60 distinct relations
    await store.upsertRelations(rels.map((r) => ({ ...r, properties: { again: true } })));
    let ts = await store.getTriplets({ ids: ["hub"] });
    expect(ts.length).toBe(60);
    expect(ts.every(([, r]) => r.properties["again"] === true)).toBe(true);
    await store.delete({ relationNames: ["A"] });
    await store.delete({ ids: ["t0", "t1"] });
    ts = await store.getTriplets({ ids: ["hub"] });
    expect(ts.map(([, r]) => `${r.label}>${r.targetId}`).sort()).toEqual(
      Array.from({ length: 28 }, (_, i) => `B>t${i + 2}`).sort(),
    );
    await store.upsertRelations([relation({ label: "A", sourceId: "hub", targetId: "t5" })]);
    expect((await store.getTriplets({ ids: ["t5"] })).length).toBe(2);
    expect((await store.getRelMap([entityNode({ name: "hub" })], { depth: 1, limit: 1000 })).length).toBe(29);
    expect(store.size).toEqual({ nodes: 29, relations: 29 });
  });

  it("reads Python's property_graph_store.json", async () => {
    const store = SimplePropertyGraphStore.fromDict(PYTHON_DOC);
    const nodes = await store.get();
    const byId = new Map(nodes.map((n): [string, LabelledNode] => [n.kind === "entity" ? n.name : n.id, n]));
    expect(byId.get("Alice")).toMatchObject({ kind: "entity", label: "PERSON", properties: { [TRIPLET_SOURCE_KEY]: "node-1" } });
    expect(byId.get("node-1")).toMatchObject({ kind: "chunk", text: "Alice works at Acme.", label: "text_chunk", embedding: [0.01, 0.02] });
    const ts = await store.getTriplets();
    expect(ts.map(([s, r, t]) => [s.kind === "entity" && s.name, r.label, t.kind === "entity" && t.name])).toEqual([["Alice", "WORKS_AT", "Acme"]]);
  });

  it("writes Python's shape and round-trips it", async () => {
    const store = SimplePropertyGraphStore.fromDict(PYTHON_DOC);
    const out = store.toDict();
    expect(out).toEqual(PYTHON_DOC);
    expect(Object.keys(out.nodes["Alice"]!)).toEqual(["label", "embedding", "properties", "name"]);
    expect(Object.keys(out.nodes["node-1"]!)).toEqual(["label", "embedding", "properties", "text", "id_"]);
    expect(Object.keys(out.relations["Alice_WORKS_AT_Acme"]!)).toEqual(["label", "source_id", "target_id", "properties"]);
    const again = SimplePropertyGraphStore.fromDict(JSON.parse(JSON.stringify(out)));
    expect(again.toDict()).toEqual(out);
  });

  it("never loses a relation to Python's ambiguous keys", async () => {
    const store = new SimplePropertyGraphStore();
    await store.upsertRelations([relation({ label: "c", sourceId: "a_b", targetId: "d" }), relation({ label: "b_c", sourceId: "a", targetId: "d" })]);
    const out = store.toDict();
    expect(Object.keys(out.relations).sort()).toEqual(["a_b_c_d", "a_b_c_d#2"]);
    expect(out.triplets.length).toBe(2);
    const back = SimplePropertyGraphStore.fromDict(JSON.parse(JSON.stringify(out)));
    expect((await back.getTriplets()).length).toBe(2);
  });

  it("takes an entity's id from its name, never its key (Python replaces quotes), and drops null properties", async () => {
    const store = SimplePropertyGraphStore.fromDict({
      nodes: { "say hi ": { label: "Q", embedding: null, properties: { a: null, b: 1 }, name: 'say hi"' } },
      relations: { x: { label: "R", source_id: "say hi ", target_id: "other", properties: {} } },
    });
    expect(await store.get({ ids: ["say hi "] })).toEqual([]);
    const nodes = await store.get({ ids: ['say hi"'] });
    expect(nodes).toEqual([{ kind: "entity", name: 'say hi"', label: "Q", properties: { b: 1 } }]);
    expect((await store.getTriplets({ entityNames: ['say hi"'] })).map(([s, r]) => [s.kind === "entity" && s.name, r.sourceId])).toEqual([['say hi"', 'say hi"']]);
    expect((await store.get({ ids: ["other"] }))[0]).toEqual({ kind: "entity", name: "other", label: "entity", properties: {} });
  });

  it("refuses malformed documents with CORRUPT", () => {
    for (const doc of [null, [], { nodes: [] }, { nodes: { a: { label: "x" } } }, { nodes: { a: { name: "a", label: "" } } }, { nodes: {}, relations: { r: { label: "L", source_id: "", target_id: "b" } } }]) {
      expect(code(() => SimplePropertyGraphStore.fromDict(doc))).toBe("CORRUPT");
    }
  });

  it("caches the schema until a write and returns copies", async () => {
    const store = new SimplePropertyGraphStore();
    await store.upsertRelations([relation({ label: "R", sourceId: "a", targetId: "b" })]);
    const s1 = await store.getSchema();
    s1.relationTypes.push("mutated");
    expect((await store.getSchema()).relationTypes).toEqual(["R"]);
    await store.upsertNodes([entityNode({ name: "a", label: "__proto__" })]);
    const s2 = await store.getSchema();
    expect(Object.keys(s2.nodeProperties).sort()).toEqual(["__proto__", "entity"]);
    expect(s2.patterns).toEqual([{ source: "__proto__", relation: "R", target: "entity" }]);
  });

  it("does not offer structured queries", async () => {
    const store = new SimplePropertyGraphStore();
    expect(store.capabilities.structuredQuery).toBe(false);
    expect(await codeAsync(() => store.structuredQuery("MATCH (n) RETURN n"))).toBe("UNSUPPORTED");
  });
});

describe("LlamaIndex node bridge", () => {
  it("turns a TextNode into a chunk with node_to_metadata_dict properties and back", async () => {
    const { TextNode, NodeRelationship } = await import("../schema/node.js");
    const { chunkNodeFromNode, nodeFromChunkNode } = await import("./llama-nodes.js");
    const node = new TextNode({
      id: "n1",
      text: "Alice works at Acme.",
      metadata: { file: "a.txt", page: 2, nested: { x: 1 }, nothing: null },
      relationships: { [NodeRelationship.SOURCE]: { nodeId: "doc-1" } },
      embedding: [0.5, 0.25],
    });
    const chunk = chunkNodeFromNode(node);
    expect(chunk.id).toBe("n1");
    expect(chunk.text).toBe("Alice works at Acme.");
    expect(chunk.label).toBe("text_chunk");
    expect(chunk.embedding).toEqual([0.5, 0.25]);
    const { _node_content, ...rest } = chunk.properties;
    expect(rest).toEqual({
      file: "a.txt",
      page: 2,
      nested: '{"x":1}',
      _node_type: "TextNode",
      document_id: "doc-1",
      doc_id: "doc-1",
      ref_doc_id: "doc-1",
    });
    const content = JSON.parse(_node_content as string);
    expect(content.text).toBe("");
    expect(content.embedding).toBeNull();
    expect(content.id_).toBe("n1");
    expect(_node_content).toContain('"id_": "n1"'); // Python json.dumps separators
    const store = new SimplePropertyGraphStore();
    await store.upsertNodes([chunk]);
    const [stored] = await store.get({ ids: ["n1"] });
    const back = nodeFromChunkNode(stored as never);
    expect(back.id).toBe("n1");
    expect(back.text).toBe("Alice works at Acme.");
    expect(back.metadata).toEqual(node.metadata);
    expect(back.refDocId).toBe("doc-1");
    expect(back.embedding).toEqual([0.5, 0.25]);
  });
});

describe("Python-written property_graph_store.json (llama-index-core 0.14.25)", async () => {
  const { readFileSync } = await import("node:fs");
  const file = new URL("../../test/fixtures/llamaindex/py-0.14-graph/property_graph_store.json", import.meta.url);
  const raw = JSON.parse(readFileSync(file, "utf8")) as { nodes: Record<string, unknown>; relations: Record<string, unknown>; triplets: string[][] };

  it("loads nodes, placeholder endpoints, relations and provenance", async () => {
    const { nodeFromChunkNode } = await import("./llama-nodes.js");
    const store = SimplePropertyGraphStore.fromDict(raw);
    expect(store.size).toEqual({ nodes: 5, relations: 3 });
    const [alice] = await store.get({ ids: ["Alice"] });
    expect(alice).toEqual({ kind: "entity", name: "Alice", label: "PERSON", properties: { triplet_source_id: "node-1", age: 30 }, embedding: [0.5, 0.25, 0] });
    const quoted = await store.getTriplets({ relationNames: ["SAID"] });
    expect(quoted.map(([, r, t]) => [r.targetId, t.kind === "entity" && t.name])).toEqual([['say "hi"', 'say "hi"']]);
    const [chunk] = await store.get({ ids: ["node-1"] });
    expect(chunk?.kind).toBe("chunk");
    const node = nodeFromChunkNode(chunk as never);
    expect(node.text).toBe('Alice works at Acme_Corp. She said "hi".');
    expect(node.metadata).toEqual({ file_name: "a.txt", page: 2 });
    expect(node.refDocId).toBe("doc-1");
    expect(node.embedding).toEqual([0.1, 0.2, 0.3]);
    const rel = await store.getRelMap([alice!], { depth: 2 });
    expect(rel.length).toBe(3);
  });

  it("writes it back identically (triplets compared as a set: Python dumps a set)", () => {
    const out = SimplePropertyGraphStore.fromDict(raw).toDict();
    // Names are never rewritten: `say "hi"` keeps its quotes and is keyed `say  hi ` as Python does.
    expect(out.nodes).toEqual(raw.nodes);
    expect(JSON.stringify(out.nodes)).toBe(JSON.stringify(raw.nodes)); // key and field order too
    expect(JSON.stringify(out.relations)).toBe(JSON.stringify(raw.relations));
    expect(out.triplets.map((t) => JSON.stringify(t)).sort()).toEqual(raw.triplets.map((t) => JSON.stringify(t)).sort());
  });

  it("chunkNodeFromNode reproduces Python's upsert_llama_nodes properties byte for byte", async () => {
    const { TextNode, NodeRelationship } = await import("../schema/node.js");
    const { chunkNodeFromNode } = await import("./llama-nodes.js");
    const node = new TextNode({
      id: "node-1",
      text: 'Alice works at Acme_Corp. She said "hi".',
      metadata: { file_name: "a.txt", page: 2 },
      relationships: { [NodeRelationship.SOURCE]: { nodeId: "doc-1" } },
      embedding: [0.1, 0.2, 0.3],
    });
    const chunk = chunkNodeFromNode(node);
    const py = raw.nodes["node-1"] as { properties: Record<string, unknown>; text: string; embedding: number[] };
    expect(chunk.properties).toEqual(py.properties);
    expect(chunk.properties["_node_content"]).toBe(py.properties["_node_content"]);
    expect(chunk.text).toBe(py.text);
    expect(chunk.embedding).toEqual(py.embedding);
  });
});

describe("formatGraphSchema", () => {
  it("renders properties and patterns, quoting labels that are not identifiers", async () => {
    const { formatGraphSchema } = await import("./model.js");
    const store = new SimplePropertyGraphStore();
    await store.upsertNodes([entityNode({ name: "Alice", label: "PERSON", properties: { age: 1 } }), entityNode({ name: "Acme", label: "Big Corp" })]);
    await store.upsertRelations([relation({ label: "WORKS_AT", sourceId: "Alice", targetId: "Acme", properties: { since: 2020 } })]);
    expect(formatGraphSchema(await store.getSchema())).toBe(
      [
        "Node properties:",
        '- "Big Corp": (none)',
        "- PERSON: age",
        "Relationship properties:",
        "- WORKS_AT: since",
        "The relationships:",
        '(:PERSON)-[:WORKS_AT]->(:"Big Corp")',
      ].join("\n"),
    );
  });
});
