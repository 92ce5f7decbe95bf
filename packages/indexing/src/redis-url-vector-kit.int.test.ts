import { afterAll, describe } from "vitest";
import { Redis } from "ioredis";
import type { VectorStore } from "@larder/core";
import { uniqueNamespace } from "@larder/conformance";
import { describeVectorStore } from "@larder/conformance/vector";
import { openStorageContext } from "./store-urls.js";

// The vector kit on the vector store a `redis://` URL gives on a server with the query engine:
// RedisVectorStore behind the URL layer, which answers the filters the engine cannot express
// (ordering, text_match) in the process. The kit's differential filter suites run every operator
// the store lists in its capabilities, through query, getNodes and deleteNodes.

interface ServicesEnvModule {
  servicesEnv(): Record<string, string>;
  servicesRequired(): boolean;
}
const env = (await import(new URL("../../../tooling/services/env.mjs", import.meta.url).href)) as ServicesEnvModule;
const SEARCH_URL = env.servicesEnv()["LARDER_REDIS_SEARCH_URL"]!;

const search = new Redis(SEARCH_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
let skip: string | undefined;
try {
  await search.connect();
  await search.call("FT._LIST");
} catch (e) {
  skip = `Redis with the query engine not reachable at ${SEARCH_URL} (${(e as Error).message}); start it with \`bash tooling/services/bin/services.sh up\``;
  if (env.servicesRequired()) throw new Error(`CI is set and ${skip}`);
}

const opened = new Map<VectorStore, { prefix: string; close: () => Promise<void> }>();
afterAll(() => {
  search.disconnect();
});

describe.skipIf(skip !== undefined)(`redis:// URL vector store (query engine)${skip ? ` (skipped: ${skip})` : ""}`, () => {
  describeVectorStore({
    name: "redis:// URL vector store (RedisVectorStore + in-process filters)",
    trees: 60,
    create: async () => {
      const prefix = `${uniqueNamespace("urlkit")}:`;
      const ctx = await openStorageContext(`${SEARCH_URL}?prefix=${prefix}`, { onNotice: () => undefined });
      const vs = ctx.storageContext.vectorStore;
      opened.set(vs, { prefix, close: () => ctx.close() });
      return vs;
    },
    dispose: async (store) => {
      const o = opened.get(store);
      if (!o) return;
      opened.delete(store);
      await search.call("FT.DROPINDEX", `${o.prefix}larder_vectors`, "DD").catch(() => undefined);
      let cursor = "0";
      do {
        const [next, keys] = await search.scan(cursor, "MATCH", `${o.prefix}*`, "COUNT", 1000);
        cursor = next;
        if (keys.length) await search.unlink(...keys);
      } while (cursor !== "0");
      await o.close();
    },
  });
});
