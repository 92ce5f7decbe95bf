import { describe, expect, it } from "vitest";
import { describeDocStore } from "@larder/conformance/docstore";
import { uniqueNamespace } from "@larder/conformance";
import { pythonJsonDumps } from "@larder/core/kv";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { RedisDocumentStore } from "./redis-document-store.js";
import { RedisKVStore } from "./redis-kv-store.js";
import { deletePrefix, whenReachable } from "./testing/env.js";
import { redisTargets } from "./testing/targets.js";

const targets = await redisTargets();

for (const { label, reason, client } of targets) {
  whenReachable(reason, `RedisDocumentStore (${label})`, () => {
    describeDocStore({
      name: `RedisDocumentStore (${label})`,
      create: () => new RedisDocumentStore(new RedisKVStore({ client, prefix: `${uniqueNamespace("ds")}:` })),
      // Another worker: its own KV and document store objects on the same prefix (the Redis lock is what they share).
      openAnother: (store) => new RedisDocumentStore(new RedisKVStore({ client, prefix: (store as RedisDocumentStore).kvStore.prefix })),
      dispose: async (store) => {
        await deletePrefix(client, (store as RedisDocumentStore).kvStore.prefix);
      },
    });

    describe(`RedisDocumentStore specifics (${label})`, () => {
      it("uses Python's RedisDocumentStore collections and reads what Python wrote", async () => {
        const prefix = `${uniqueNamespace("dspy")}:`;
        try {
          const ds = new RedisDocumentStore(new RedisKVStore({ client, prefix }));
          expect([ds.nodeCollection, ds.metadataCollection, ds.refDocCollection]).toEqual([
            "docstore/doc",
            "docstore/metadata",
            "docstore/ref_doc_info",
          ]);
          // What Python's RedisDocumentStore leaves in Redis for one node of one document
          // (json.dumps output, as redis-py sends it).
          const node = new TextNode({
            id: "node-1",
            text: "Hello",
            relationships: { [NodeRelationship.SOURCE]: { nodeId: "doc-1", nodeType: "4", metadata: {}, hash: "h" } },
          });
          await client.hset(`${prefix}docstore/doc`, "node-1", pythonJsonDumps(node.toJSON()));
          await client.hset(`${prefix}docstore/metadata`, "node-1", `{"doc_hash": "${node.hash}", "ref_doc_id": "doc-1"}`);
          await client.hset(`${prefix}docstore/ref_doc_info`, "doc-1", '{"node_ids": ["node-1"], "metadata": {}}');
          expect((await ds.getDocument("node-1"))?.toJSON()).toEqual(node.toJSON());
          expect(await ds.getRefDocInfo("doc-1")).toEqual({ nodeIds: ["node-1"], metadata: {} });
          expect(await ds.getDocumentHash("node-1")).toBe(node.hash);
          expect(await ds.deleteRefDoc("doc-1")).toBe(true);
          // One key per EXISTS: on a cluster the three hashes live in different slots.
          const left = await Promise.all(["doc", "metadata", "ref_doc_info"].map((c) => client.exists(`${prefix}docstore/${c}`)));
          expect(left).toEqual([0, 0, 0]);
        } finally {
          await deletePrefix(client, prefix);
        }
      });

      it("close() closes only a KV store it created", async () => {
        const kv = new RedisKVStore({ client, prefix: `${uniqueNamespace("dsc")}:` });
        await new RedisDocumentStore(kv).close();
        expect(await kv.client.ping()).toBe("PONG");
      });
    });
  });
}
