import { describe, expect, it } from "vitest";
import { describeIndexStore } from "@larder/conformance/indexstore";
import { uniqueNamespace } from "@larder/conformance";
import { RedisIndexStore } from "./redis-index-store.js";
import { RedisKVStore } from "./redis-kv-store.js";
import { deletePrefix, whenReachable } from "./testing/env.js";
import { redisTargets } from "./testing/targets.js";

const targets = await redisTargets();

for (const { label, reason, client } of targets) {
  whenReachable(reason, `RedisIndexStore (${label})`, () => {
    describeIndexStore({
      name: `RedisIndexStore (${label})`,
      create: () => new RedisIndexStore(new RedisKVStore({ client, prefix: `${uniqueNamespace("is")}:` })),
      dispose: async (store) => {
        await deletePrefix(client, (store as RedisIndexStore).kvStore.prefix);
      },
    });

    describe(`RedisIndexStore specifics (${label})`, () => {
      it("uses Python's collection index_store/index and reads a struct Python wrote", async () => {
        const prefix = `${uniqueNamespace("ispy")}:`;
        try {
          const is = new RedisIndexStore(new RedisKVStore({ client, prefix }));
          expect(is.collection).toBe("index_store/index");
          // What Python's RedisIndexStore stores for a VectorStoreIndex (IndexDict), double-encoded.
          await client.hset(
            `${prefix}index_store/index`,
            "idx-1",
            JSON.stringify({
              __type__: "vector_store",
              __data__: '{"index_id": "idx-1", "summary": null, "nodes_dict": {"n1": "n1"}, "doc_id_dict": {}, "embeddings_dict": {}}',
            }),
          );
          const s = await is.getIndexStruct("idx-1");
          expect(s).toEqual({ indexId: "idx-1", type: "vector_store", summary: null, data: { nodes_dict: { n1: "n1" }, doc_id_dict: {}, embeddings_dict: {} } });
          expect(await is.getIndexStruct()).toEqual(s);
        } finally {
          await deletePrefix(client, prefix);
        }
      });
    });
  });
}
