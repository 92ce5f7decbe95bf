import { describe, expect, it } from "vitest";
import { SimpleKVStore, TextNode } from "@larder/core";
import { describeVectorStore } from "@larder/conformance/vector";
import { KVVectorStore } from "./kv-vector-store.js";

// The vector kit over the in-memory KV store (the Redis and Postgres KV runs are in
// kv-vector-store.int.test.ts). Every test gets a fresh KV store.
describeVectorStore({ name: "KVVectorStore (SimpleKVStore)", create: () => new KVVectorStore(new SimpleKVStore()), trees: 60 });

describe("KVVectorStore entries", () => {
  it("stores the node JSON at the top of the entry and reads the earlier {node, embedding} layout", async () => {
    const kv = new SimpleKVStore();
    const store = new KVVectorStore(kv);
    await store.add([new TextNode({ id: "a", text: "x", embedding: [1, 0.5], metadata: { k: 1 } })]);
    const entry = (await kv.get("a", "vector_store/data"))!;
    expect(Object.keys(entry).sort()).toEqual(["__data__", "__type__", "embedding_f32le"]);
    expect((entry["__data__"] as Record<string, unknown>)["metadata"]).toEqual({ k: 1 });
    const legacy = { node: { __data__: entry["__data__"]!, __type__: entry["__type__"]! }, embedding: entry["embedding_f32le"]! };
    await kv.put("b", { ...legacy, node: { ...legacy.node, __data__: { ...(legacy.node.__data__ as object), id_: "b" } } }, "vector_store/data");
    const reopened = new KVVectorStore(kv);
    const got = await reopened.getNodes({ ids: ["a", "b"] });
    expect(got.map((n) => [n.id, n.text, n.metadata, n.embedding])).toEqual([
      ["a", "x", { k: 1 }, [1, 0.5]],
      ["b", "x", { k: 1 }, [1, 0.5]],
    ]);
  });

  it("refuses a bad batch before anything reaches the KV store, with the message every store gives", async () => {
    const kv = new SimpleKVStore();
    const store = new KVVectorStore(kv);
    const bad = new TextNode({ id: "bad", embedding: [1, 0], metadata: { when: new Date(0), n: Number.NaN } });
    await expect(store.add([new TextNode({ id: "ok", embedding: [1, 0] }), bad])).rejects.toThrow(
      'node "bad" metadata.when is an instance of Date, not a plain JSON object',
    );
    await expect(store.add([new TextNode({ id: "u", embedding: [1, 0], metadata: { u: undefined } })])).rejects.toThrow(
      'node "u" metadata.u is undefined, which JSON cannot represent',
    );
    expect(await kv.getAll("vector_store/data")).toEqual({});
  });
});
