import { expect } from "vitest";
import type { KVStore } from "@larder/core/kv";
import {
  createIndexDict,
  createIndexList,
  indexDictAddNode,
  indexDictDelete,
  type IndexStore,
  type IndexStruct,
} from "@larder/core/indexstore";
import { defineSuite, expectStorageError, type TestBody } from "./harness.js";
import { HOSTILE_STRINGS } from "./hostile.js";
import { PROTOTYPE_KEYS, acceptedOrInvalid, expectSameMembers, label } from "./kv-helpers.js";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface IndexStoreCapabilities {}

type Body = TestBody<IndexStore, IndexStoreCapabilities>;

function kvBackedIndexStore(store: IndexStore): { kvStore: KVStore; collection: string } {
  const s = store as Partial<{ kvStore: KVStore; collection: string }>;
  if (!s.kvStore || typeof s.collection !== "string") {
    throw new Error("this test reads the raw layout through store.kvStore/collection; a non-KV index store must opt out with a reason");
  }
  return s as { kvStore: KVStore; collection: string };
}

export const indexStoreTests = {
  "indexstore.add.get-roundtrip": (async (ctx) => {
    const is = await ctx.store();
    const dict = createIndexDict({ indexId: "idx-1", summary: "about llamas 🦙" });
    indexDictAddNode(dict, "node-1");
    indexDictAddNode(dict, "node-2", "vec-2");
    await is.addIndexStruct(dict);
    const got = await is.getIndexStruct("idx-1");
    expect(got).toEqual(dict);
    expect(got?.data["nodes_dict"]).toEqual({ "node-1": "node-1", "vec-2": "node-2" });
    const list = createIndexList({ indexId: "list-1", nodes: ["b", "a", "c"] });
    await is.addIndexStruct(list);
    expect(await is.getIndexStruct("list-1")).toEqual({ indexId: "list-1", type: "list", summary: null, data: { nodes: ["b", "a", "c"] } });
  }) as Body,

  "indexstore.get.missing-is-undefined": (async (ctx) => {
    const is = await ctx.store();
    expect(await is.getIndexStruct("nope")).toBeUndefined();
    await is.addIndexStruct(createIndexDict({ indexId: "a" }));
    expect(await is.getIndexStruct("nope")).toBeUndefined();
  }) as Body,

  "indexstore.get.without-id": (async (ctx) => {
    const is = await ctx.store();
    expect(await is.getIndexStruct()).toBeUndefined();
    const only = createIndexDict({ indexId: "only" });
    await is.addIndexStruct(only);
    expect(await is.getIndexStruct()).toEqual(only);
    await is.addIndexStruct(createIndexList({ indexId: "second" }));
    await expectStorageError(() => is.getIndexStruct(), "CONFLICT");
    expect(await is.deleteIndexStruct("second")).toBe(true);
    expect((await is.getIndexStruct())?.indexId).toBe("only");
  }) as Body,

  "indexstore.add.replaces": (async (ctx) => {
    const is = await ctx.store();
    const dict = createIndexDict({ indexId: "i" });
    indexDictAddNode(dict, "a");
    indexDictAddNode(dict, "b");
    await is.addIndexStruct(dict);
    expect(indexDictDelete(dict, "a")).toBe(true);
    expect(indexDictDelete(dict, "a")).toBe(false);
    dict.summary = "updated";
    await is.addIndexStruct(dict);
    const got = await is.getIndexStruct("i");
    expect(got?.data["nodes_dict"]).toEqual({ b: "b" });
    expect(got?.summary).toBe("updated");
    expect(await is.indexStructs()).toHaveLength(1);
  }) as Body,

  "indexstore.list-and-delete": (async (ctx) => {
    const is = await ctx.store();
    expect(await is.indexStructs()).toEqual([]);
    const structs: IndexStruct[] = [
      createIndexDict({ indexId: "v" }),
      createIndexList({ indexId: "l", nodes: ["x"] }),
      { indexId: "kw", type: "keyword_table", summary: null, data: { table: { llama: ["n1", "n2"] } } },
      { indexId: "tree", type: "tree", summary: "s", data: { all_nodes: { "0": "a" }, root_nodes: { "0": "a" }, node_id_to_children_ids: {} } },
    ];
    for (const s of structs) await is.addIndexStruct(s);
    const all = await is.indexStructs();
    expectSameMembers(all.map((s) => s.indexId), ["v", "l", "kw", "tree"]);
    for (const s of structs) expect(all.find((x) => x.indexId === s.indexId)).toEqual(s);
    expect(await is.deleteIndexStruct("kw")).toBe(true);
    expect(await is.deleteIndexStruct("kw")).toBe(false);
    expect(await is.deleteIndexStruct("never")).toBe(false);
    expectSameMembers((await is.indexStructs()).map((s) => s.indexId), ["v", "l", "tree"]);
  }) as Body,

  "indexstore.large-index-dict": (async (ctx) => {
    const is = await ctx.store();
    const dict = createIndexDict({ indexId: "big" });
    for (let i = 0; i < 20_000; i++) indexDictAddNode(dict, `node-${i}`);
    await is.addIndexStruct(dict);
    const got = await is.getIndexStruct("big");
    expect(Object.keys(got?.data["nodes_dict"] as object)).toHaveLength(20_000);
    expect(got).toEqual(dict);
  }) as Body,

  "indexstore.hostile.ids-and-content": (async (ctx) => {
    const is = await ctx.store();
    await is.addIndexStruct(createIndexDict({ indexId: "sentinel" }));
    const accepted: string[] = [];
    for (const s of [...HOSTILE_STRINGS, ...PROTOTYPE_KEYS]) {
      const struct = createIndexDict({ indexId: s, summary: s, nodesDict: { [s]: s } });
      if (await acceptedOrInvalid(() => is.addIndexStruct(struct), `index id ${label(s)}`)) accepted.push(s);
    }
    expect(accepted.length).toBeGreaterThan(0);
    for (const s of accepted) {
      expect(await is.getIndexStruct(s), label(s)).toEqual(createIndexDict({ indexId: s, summary: s, nodesDict: { [s]: s } }));
    }
    expectSameMembers((await is.indexStructs()).map((x) => x.indexId), [...accepted, "sentinel"]);
  }) as Body,

  "indexstore.invalid.input-writes-nothing": (async (ctx) => {
    const is = await ctx.store();
    await is.addIndexStruct(createIndexDict({ indexId: "keep" }));
    const bad: unknown[] = [
      null,
      "struct",
      { indexId: "", type: "list", data: {} },
      { indexId: "x", type: "", data: {} },
      { indexId: 5, type: "list", data: {} },
      { indexId: "x", type: "list", data: [] },
      { indexId: "x", type: "list", data: { n: Number.NaN } },
      { indexId: "x", type: "list", summary: 7, data: {} },
    ];
    for (const b of bad) await expectStorageError(() => is.addIndexStruct(b as IndexStruct), "INVALID_ARGUMENT");
    await expectStorageError(() => is.getIndexStruct(""), "INVALID_ARGUMENT");
    await expectStorageError(() => is.deleteIndexStruct(""), "INVALID_ARGUMENT");
    expect((await is.indexStructs()).map((s) => s.indexId)).toEqual(["keep"]);
  }) as Body,

  "indexstore.layout.llamaindex-double-encoded": (async (ctx) => {
    const store = await ctx.store();
    const { kvStore, collection } = kvBackedIndexStore(store);
    const dict = createIndexDict({ indexId: "6f0c-uuid" });
    indexDictAddNode(dict, "node-1");
    await store.addIndexStruct(dict);
    expect(await kvStore.get("6f0c-uuid", collection)).toEqual({
      __type__: "vector_store",
      __data__: '{"index_id": "6f0c-uuid", "summary": null, "nodes_dict": {"node-1": "node-1"}, "doc_id_dict": {}, "embeddings_dict": {}}',
    });
    // Python-written values (and already-decoded objects) load too.
    await kvStore.put("py", { __type__: "list", __data__: '{"index_id": "py", "summary": "caf\\u00e9", "nodes": ["a"]}' }, collection);
    expect(await store.getIndexStruct("py")).toEqual({ indexId: "py", type: "list", summary: "café", data: { nodes: ["a"] } });
    await kvStore.put("obj", { __type__: "list", __data__: { index_id: "obj", summary: null, nodes: [] } }, collection);
    expect((await store.getIndexStruct("obj"))?.data).toEqual({ nodes: [] });
    await kvStore.put("bad", { __type__: "list", __data__: "{not json" }, collection);
    await expectStorageError(() => store.getIndexStruct("bad"), "CORRUPT");
  }) as Body,
} satisfies Record<string, Body>;

export type IndexStoreTestId = keyof typeof indexStoreTests;

/** The index-store suite (`KVIndexStore` semantics; `indexstore.layout.*` reads the raw KV value). */
export const describeIndexStore = defineSuite<IndexStore, IndexStoreTestId, IndexStoreCapabilities>("IndexStore", indexStoreTests, {
  timeout: 120_000,
});
