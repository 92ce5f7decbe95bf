// The kit's KV and chat suites against the installed @larder/storage-redis with the ioredis version
// installed next to it (the driver matrix of scripts/pack-check.sh).
import { createRequire } from "node:module";
import { afterAll, describe } from "vitest";
import { Redis } from "ioredis";
import { uniqueNamespace } from "@larder/conformance";
import { describeChatStore } from "@larder/conformance/chat";
import { describeKVStore } from "@larder/conformance/kv";
import { RedisChatStore, RedisKVStore } from "@larder/storage-redis";
import { env, reachable } from "./services.js";

const version = (createRequire(import.meta.url)("ioredis/package.json") as { version: string }).version;
const client = new Redis(env["LARDER_REDIS_URL"]!, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true });
client.on("error", () => {});
const skip = await reachable(`Redis at ${env["LARDER_REDIS_URL"]}`, () => client.ping());
afterAll(() => client.quit().catch(() => undefined));

async function deletePrefix(prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    if (keys.length) await client.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}

describe.skipIf(skip !== undefined)(`ioredis ${version}${skip ? ` (skipped: ${skip})` : ""}`, () => {
  describeKVStore({
    name: `RedisKVStore (ioredis ${version})`,
    create: () => new RedisKVStore({ client, prefix: `${uniqueNamespace("packkv")}:` }),
    dispose: async (store) => {
      await deletePrefix((store as RedisKVStore).prefix);
      await store.close?.();
    },
  });
  describeChatStore({
    name: `RedisChatStore (ioredis ${version})`,
    create: () => new RedisChatStore({ client, prefix: `${uniqueNamespace("packchat")}:` }),
    dispose: async (store) => {
      await deletePrefix((store as RedisChatStore).prefix);
    },
  });
});
