// LlamaIndexTS's own code paths (VectorStoreIndex, retriever, query engine, docstore strategies)
// over Larder's in-memory stores and a folder, compared with LlamaIndexTS's default stores.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectStorageError } from "@larder/conformance";
import { Document, Settings, storageContextFromDefaults, VectorStoreIndex } from "llamaindex";
import { beforeAll, describe, expect, it } from "vitest";
import { storageContextFromLarder } from "./index.js";
import { corpus, stableParser, useTestSettings } from "./test-support/fixtures.js";
import { runApp } from "./test-support/run-app.js";

const QUERIES = ["apple orchards and cider", "glacier ice", "violin bow rosin", "engine pistons oil"];

// fromDocuments gives chunks random ids (see fixtures.ts), so hits are compared by ref doc + text,
// which identify a chunk; runs over the same nodes (init({nodes})) compare ids.
type Hit = { id: string; key: string; score: number };
async function retrieveAll(index: VectorStoreIndex, topK = 5, filters?: unknown): Promise<Record<string, Hit[]>> {
  const r = index.asRetriever({ similarityTopK: topK, ...(filters ? { filters: filters as never } : {}) });
  const out: Record<string, Hit[]> = {};
  for (const q of QUERIES) {
    out[q] = (await r.retrieve({ query: q })).map((h) => ({
      id: h.node.id_,
      key: `${h.node.sourceNode?.nodeId}|${(h.node as unknown as { text: string }).text}`,
      score: h.score ?? NaN,
    }));
  }
  return out;
}

/**
 * Same hits in the same order with the same scores. Hits whose scores are equal (within float32
 * rounding) are compared as a set: Larder orders ties by id, LlamaIndexTS by insertion order.
 */
function expectSameHits(actual: Record<string, Hit[]>, expected: Record<string, Hit[]>, by: "id" | "key" = "key"): void {
  const groups = (hits: Hit[]) => {
    const out: string[][] = [];
    let last = NaN;
    for (const h of hits) {
      if (out.length && Math.abs(h.score - last) < 1e-6) out[out.length - 1]!.push(h[by]);
      else out.push([h[by]]);
      last = h.score;
    }
    return out.map((g) => g.sort());
  };
  for (const q of Object.keys(expected)) {
    expect(actual[q]!.length, q).toBe(expected[q]!.length);
    actual[q]!.forEach((h, i) => expect(h.score).toBeCloseTo(expected[q]![i]!.score, 5));
    expect(groups(actual[q]!), q).toEqual(groups(expected[q]!));
  }
}

beforeAll(() => useTestSettings());

describe("LlamaIndexTS VectorStoreIndex over Larder in-memory stores", () => {
  let reference: Record<string, Hit[]>;
  beforeAll(async () => {
    const ctx = await storageContextFromDefaults({});
    reference = await retrieveAll(await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx }));
  });

  it("fromDocuments + asRetriever: same ids, order and scores as LlamaIndexTS's default stores", async () => {
    const storage = await storageContextFromLarder(`memory://li-same-${Date.now()}`);
    const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: storage.storageContext as never });
    expect(reference[QUERIES[0]!]!.length).toBe(5);
    expect(reference[QUERIES[0]!]![0]!.key).toMatch(/^doc-apples-/);
    expectSameHits(await retrieveAll(index), reference);
    // LlamaIndex's layout: nodes in the docstore and the index struct's nodes_dict.
    const structs = await storage.larder.indexStore.indexStructs();
    expect(structs).toHaveLength(1);
    expect(structs[0]!.type).toBe("vector_store");
    const mapped = Object.keys(structs[0]!.data["nodes_dict"] as object);
    expect(mapped.length).toBeGreaterThan(12);
    expect(await storage.larder.docStore.getNodes(mapped)).toHaveLength(mapped.length);
  });

  it("init({nodes}) over the same nodes: same node ids, order and scores as LlamaIndexTS's default stores", async () => {
    const nodes = await stableParser()(corpus());
    const embedded = await Settings.embedModel(nodes);
    const clone = () => embedded.map((n) => n.clone());
    const lits = await VectorStoreIndex.init({ nodes: clone(), storageContext: await storageContextFromDefaults({}) });
    const storage = await storageContextFromLarder(`memory://li-ids-${Date.now()}`);
    const ours = await VectorStoreIndex.init({ nodes: clone(), storageContext: storage.storageContext as never });
    const expected = await retrieveAll(lits, 6);
    expect(expected[QUERIES[0]!]![0]!.id).toMatch(/^doc-apples-\d#\d+$/);
    expectSameHits(await retrieveAll(ours, 6), expected, "id");
  });

  it("asQueryEngine answers with the LLM and cites the retrieved nodes", async () => {
    const storage = await storageContextFromLarder(`memory://li-qe-${Date.now()}`);
    const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: storage.storageContext as never });
    const response = await index.asQueryEngine({ similarityTopK: 3 }).query({ query: QUERIES[1]! });
    expect(response.message.content).toBe("mock answer");
    expect(response.sourceNodes!.map((n) => `${n.node.sourceNode?.nodeId}|${(n.node as unknown as { text: string }).text}`)).toEqual(
      reference[QUERIES[1]!]!.slice(0, 3).map((h) => h.key),
    );
  });

  it("flat filters give LlamaIndexTS's results; a nested filter (which its stores cannot take) works", async () => {
    const lits = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: await storageContextFromDefaults({}) });
    const storage = await storageContextFromLarder(`memory://li-f-${Date.now()}`);
    const ours = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: storage.storageContext as never });
    for (const filters of [
      { filters: [{ key: "topic", operator: "==", value: "rivers" }] },
      { filters: [{ key: "year", operator: ">", value: 2008 }, { key: "rating", operator: "<=", value: 2 }], condition: "and" },
      { filters: [{ key: "topic", operator: "in", value: ["bread", "apples"] }, { key: "year", operator: "==", value: 2004 }], condition: "or" },
    ]) {
      const expected = await retrieveAll(lits, 4, filters);
      expect(Object.values(expected).flat().length).toBeGreaterThan(0);
      expectSameHits(await retrieveAll(ours, 4, filters), expected);
    }
    // topic == apples OR (year > 2010 AND draft is empty AND NOT tags contains "odd").
    const nested = {
      condition: "or",
      filters: [
        { key: "topic", operator: "==", value: "apples" },
        {
          condition: "and",
          filters: [
            { key: "year", operator: ">", value: 2010 },
            { key: "draft", operator: "is_empty" },
            { condition: "not", filters: [{ key: "tags", operator: "contains", value: "odd" }] },
          ],
        },
      ],
    };
    const hits = await ours.asRetriever({ similarityTopK: 50, filters: nested as never }).retrieve({ query: "anything" });
    const docs = new Set(hits.map((h) => h.node.sourceNode!.nodeId));
    expect([...docs].sort()).toEqual(["doc-apples-0", "doc-apples-1", "doc-glaciers-0"]);
  });

  it("malformed filters are INVALID_ARGUMENT and unknown query modes UNSUPPORTED, before the store runs", async () => {
    const storage = await storageContextFromLarder(`memory://li-bad-${Date.now()}`);
    const vs = storage.vectorStore;
    const q = { queryEmbedding: new Array(32).fill(0.1), similarityTopK: 2, mode: "default" as never };
    await expectStorageError(() => vs.query({ ...q, filters: { filters: [{ key: "a", operator: "~=" as never, value: 1 }] } }), "INVALID_ARGUMENT");
    await expectStorageError(() => vs.query({ ...q, filters: { filters: [{ key: "a", operator: ">", value: ["x"] }] } }), "INVALID_ARGUMENT");
    await expectStorageError(() => vs.query({ ...q, mode: "svm" as never }), "UNSUPPORTED");
  });

  it("re-running fromDocuments on the same context upserts: unchanged documents are skipped, changed ones replaced", async () => {
    const storage = await storageContextFromLarder(`memory://li-up-${Date.now()}`);
    const ctx = storage.storageContext as never;
    await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx });
    const before = (await storage.larder.vectorStore.getNodes()).length;
    // Same documents again: LlamaIndexTS compares its hashes with the docstore's and adds nothing.
    await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx });
    expect((await storage.larder.vectorStore.getNodes()).length).toBe(before);
    // One document changed: its old nodes are deleted (vector store and docstore), the new ones added.
    const docs = corpus();
    docs[0] = new Document({ id_: "doc-apples-0", text: "Quinces are related to apples and pears.", metadata: { topic: "quince" } });
    const index = await VectorStoreIndex.fromDocuments(docs, { storageContext: ctx });
    const nodes = await storage.larder.vectorStore.getNodes({ filters: { filters: [{ key: "topic", operator: "in", value: ["apples", "quince"] }] } });
    const byDoc = nodes.filter((n) => n.refDocId === "doc-apples-0");
    expect(byDoc.map((n) => n.text)).toEqual(["Quinces are related to apples and pears."]);
    const hits = await index.asRetriever({ similarityTopK: 1 }).retrieve({ query: "quinces related to pears" });
    expect(hits[0]!.node.sourceNode?.nodeId).toBe("doc-apples-0");
    expect((hits[0]!.node as unknown as { text: string }).text).toBe("Quinces are related to apples and pears.");
  });

  it("deleteRefDoc removes a document's nodes from the vector store, the index struct and retrieval", async () => {
    const storage = await storageContextFromLarder(`memory://li-del-${Date.now()}`);
    const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: storage.storageContext as never });
    await index.deleteRefDoc("doc-glaciers-0");
    expect((await storage.larder.vectorStore.getNodes()).filter((n) => n.refDocId === "doc-glaciers-0")).toEqual([]);
    const struct = (await storage.larder.indexStore.indexStructs())[0]!;
    const left = await storage.larder.docStore.getNodes(Object.values(struct.data["nodes_dict"] as Record<string, string>));
    expect(left.length).toBeGreaterThan(0);
    expect(left.some((n) => n.refDocId === "doc-glaciers-0")).toBe(false);
    expect(await storage.docStore.documentExists("doc-glaciers-0")).toBe(false);
    const hits = await index.asRetriever({ similarityTopK: 20 }).retrieve({ query: "glacier ice" });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.some((h) => h.node.sourceNode?.nodeId === "doc-glaciers-0")).toBe(false);
  });
});

describe("a folder: persist, then reload in a new process", () => {
  for (const format of ["larder", "llamaindex"] as const) {
    it(`${format} format: a new LlamaIndexTS process loads the index and retrieves the same results`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `larder-li-${format}-`));
      const storage = await storageContextFromLarder(dir, { format });
      const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: storage.storageContext as never });
      const here = await retrieveAll(index);
      const result = await storage.persist();
      expect(result?.format).toBe(format);
      expect(readdirSync(dir)).toContain(format === "larder" ? "larder.json" : "docstore.json");
      const there = await runApp(dir, 5, QUERIES);
      for (const q of QUERIES) {
        expect(there[q]!.map((h) => h.id)).toEqual(here[q]!.map((h) => h.id));
        expect(there[q]!.map((h) => h.text)).toEqual(here[q]!.map((h) => h.key.slice(h.key.indexOf("|") + 1)));
        there[q]!.forEach((h, i) => expect(h.score).toBeCloseTo(here[q]![i]!.score, 5));
        expect(there[q]![0]!.text.length).toBeGreaterThan(10);
      }
    }, 60_000);
  }

  it("opening a folder with nothing persisted and create: false is NOT_FOUND", async () => {
    const dir = mkdtempSync(join(tmpdir(), "larder-li-empty-"));
    await expectStorageError(() => storageContextFromLarder(dir, { create: false }), "NOT_FOUND");
  });
});
