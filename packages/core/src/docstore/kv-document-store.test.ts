import { describe, expect, it } from "vitest";
import { SimpleKVStore } from "../kv/simple-kv-store.js";
import type { JsonObject, KVStore } from "../kv/types.js";
import { Document, NodeRelationship, TextNode } from "../schema/node.js";
import { KVDocumentStore } from "./kv-document-store.js";
import { SimpleDocumentStore } from "./simple-document-store.js";

/** Counts KV calls: each call of a remote KV is one round trip. */
function counting(kv: KVStore): { kv: KVStore; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(kv, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kv: proxy, calls };
}

const chunk = (id: string, ref: string) =>
  new TextNode({ id, text: id, relationships: { [NodeRelationship.SOURCE]: { nodeId: ref, metadata: { src: ref } } } });

describe("KVDocumentStore batching", () => {
  it("addDocuments does a bounded number of KV calls, whatever the node count", async () => {
    const { kv, calls } = counting(new SimpleKVStore());
    const ds = new KVDocumentStore(kv);
    await ds.addDocuments(Array.from({ length: 1000 }, (_, i) => chunk(`n${i}`, `d${i % 10}`)));
    expect(calls.length).toBeLessThanOrEqual(6);
    expect(calls.filter((c) => c === "get" || c === "put")).toEqual([]);
    calls.length = 0;
    await ds.addDocuments(Array.from({ length: 1000 }, (_, i) => chunk(`n${i}`, `e${i % 7}`)), { allowUpdate: false }).catch(() => undefined);
    expect(calls).toEqual(["getMany"]);
    calls.length = 0;
    // Moving all of them to new ref docs: still bounded (old ref docs emptied in one deleteMany per collection).
    await ds.addDocuments(Array.from({ length: 1000 }, (_, i) => chunk(`n${i}`, `e${i % 7}`)));
    expect(calls.length).toBeLessThanOrEqual(8);
    expect(Object.keys(await ds.getAllRefDocInfo()).sort()).toEqual(["e0", "e1", "e2", "e3", "e4", "e5", "e6"]);
  });

  it("deleteRefDoc and getNodes are bounded too", async () => {
    const { kv, calls } = counting(new SimpleKVStore());
    const ds = new KVDocumentStore(kv);
    await ds.addDocuments(Array.from({ length: 500 }, (_, i) => chunk(`n${i}`, "big")));
    calls.length = 0;
    expect(await ds.getNodes(Array.from({ length: 500 }, (_, i) => `n${i}`))).toHaveLength(500);
    expect(calls).toEqual(["getMany"]);
    calls.length = 0;
    await ds.deleteRefDoc("big");
    expect(calls.length).toBeLessThanOrEqual(7);
    expect(await ds.getAllDocumentIds()).toEqual([]);
  });

  it("passes batchSize to putAll and to putAllSerialized", async () => {
    const spy = (hidden: "putAllSerialized" | undefined) => {
      const seen: [string, number | undefined][] = [];
      const base = new SimpleKVStore();
      const kv = new Proxy(base, {
        get(target, prop) {
          if (prop === hidden) return undefined;
          if (prop === "putAll" || prop === "putAllSerialized") {
            const fn = Reflect.get(target, prop) as (...a: unknown[]) => Promise<void>;
            return (...args: unknown[]) => {
              const o = args[prop === "putAll" ? 2 : 3] as { batchSize?: number } | undefined;
              seen.push([prop, o?.batchSize]);
              return fn.apply(target, args);
            };
          }
          const v = Reflect.get(target, prop) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      return { kv, seen };
    };
    // A store that takes text: node JSON, metadata and ref-doc info all go through putAllSerialized.
    const withText = spy(undefined);
    await new KVDocumentStore(withText.kv, { batchSize: 17 }).addDocuments([chunk("a", "d")]);
    expect(withText.seen).toEqual([
      ["putAllSerialized", 17],
      ["putAllSerialized", 17],
      ["putAllSerialized", 17],
    ]);
    // Without the capability: putAll of objects.
    const objects = spy("putAllSerialized");
    const ds = new KVDocumentStore(objects.kv, { batchSize: 17 });
    await ds.addDocuments([chunk("a", "d")]);
    expect(objects.seen).toEqual([
      ["putAll", 17],
      ["putAll", 17],
      ["putAll", 17],
    ]);
    expect((await ds.getDocument("a"))?.toJSON()).toEqual(chunk("a", "d").toJSON());
  });
});

describe("SimpleDocumentStore", () => {
  it("toDict is docstore.json content, and fromDict reads it back (custom namespace)", async () => {
    const ds = new SimpleDocumentStore(undefined, { namespace: "ns" });
    const node = chunk("node-1", "doc-1");
    await ds.addDocuments([node]);
    const d = ds.toDict();
    expect(Object.keys(d).sort()).toEqual(["ns/data", "ns/metadata", "ns/ref_doc_info"]);
    expect(d["ns/ref_doc_info"]).toEqual({ "doc-1": { node_ids: ["node-1"], metadata: { src: "doc-1" } } });
    const back = SimpleDocumentStore.fromDict(JSON.parse(JSON.stringify(d)) as typeof d, { namespace: "ns" });
    expect((await back.getDocument("node-1"))?.toJSON()).toEqual(node.toJSON());
    expect(await back.getRefDocInfo("doc-1")).toEqual({ nodeIds: ["node-1"], metadata: { src: "doc-1" } });
  });

  it("reads a Python-written docstore.json", async () => {
    const py = {
      "docstore/metadata": { "doc-1": { doc_hash: "h1" }, "node-1": { doc_hash: "h2", ref_doc_id: "doc-1" } },
      "docstore/data": {
        "node-1": {
          __data__: {
            id_: "node-1",
            embedding: null,
            metadata: { file_name: "a.txt" },
            excluded_embed_metadata_keys: [],
            excluded_llm_metadata_keys: [],
            relationships: { "1": { node_id: "doc-1", node_type: "4", metadata: { file_name: "a.txt" }, hash: "h1", class_name: "RelatedNodeInfo" } },
            metadata_template: "{key}: {value}",
            metadata_separator: "\n",
            text: "Hello world.",
            mimetype: "text/plain",
            start_char_idx: 0,
            end_char_idx: 12,
            text_template: "{metadata_str}\n\n{content}",
            class_name: "TextNode",
          },
          __type__: "1",
        },
      },
      "docstore/ref_doc_info": { "doc-1": { node_ids: ["node-1"], metadata: { file_name: "a.txt" } } },
    };
    const ds = SimpleDocumentStore.fromDict(py as never);
    const n = await ds.getDocument("node-1");
    expect(n?.text).toBe("Hello world.");
    expect(n?.refDocId).toBe("doc-1");
    expect(await ds.getAllDocumentHashes()).toEqual({ "doc-1": "h1", "node-1": "h2" });
    expect(await ds.deleteRefDoc("doc-1")).toBe(true);
    expect(ds.toDict()).toEqual({});
  });

  it("unknown node type in stored JSON is CORRUPT on read; a Document without SOURCE has no ref doc", async () => {
    const ds = SimpleDocumentStore.fromDict({ "docstore/data": { x: { __type__: "7", __data__: { id_: "x" } } } });
    await expect(ds.getDocument("x")).rejects.toMatchObject({ code: "CORRUPT" });
    await ds.addDocuments([new Document({ id: "d", text: "doc" })]);
    expect(await ds.getAllRefDocInfo()).toEqual({});
  });
});
