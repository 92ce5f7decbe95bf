// The README's Usage example, verbatim except that the URL and cluster nodes are parameters and
// every prefix gets a unique suffix, so the test can run it against the test servers.
import { Redis } from "ioredis";
import { TextNode } from "@larder/core/schema";
import { RedisChatStore, RedisDocumentStore, RedisIndexStore, RedisKVStore } from "../index.js";

export async function readmeUsage(url: string, nodes: string[], p: string) {
  // Let the store create (and close) its client...
  const kv = new RedisKVStore({ url, prefix: `${p}myapp:` });
  await kv.putAll([["a", { n: 1 }], ["b", { n: 2 }]], "things"); // one round trip
  const [a, missing] = await kv.getMany(["a", "zzz"], "things"); // {n: 1}, undefined
  const scanned: string[] = [];
  for await (const [key] of kv.scan("things")) scanned.push(key); // HSCAN, never KEYS

  // ...or share one of yours (never closed by the stores).
  const client = new Redis(url);
  const docstore = new RedisDocumentStore(new RedisKVStore({ client, prefix: `${p}myapp:` }));
  await docstore.addDocuments([new TextNode({ id: "n1", text: "Hello" })]);
  const indexStore = new RedisIndexStore(new RedisKVStore({ client, prefix: `${p}myapp:` }));

  const chat = new RedisChatStore({ client, prefix: `${p}myapp:chat:`, ttl: 86_400, ttlMode: "sliding" });
  await chat.addMessages("user-1", [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello!" },
  ]); // RPUSH + EXPIRE in one MULTI
  const lastTwo = await chat.getMessages("user-1", { limit: 2 });

  // Redis Cluster: pass seed nodes (or your own `new Cluster(...)` as `client`).
  const clustered = new RedisKVStore({ nodes, prefix: `${p}myapp:` });
  await clustered.put("k", { on: "cluster" });
  const fromCluster = await clustered.get("k");

  const results = { a, missing, scanned, doc: (await docstore.getDocument("n1"))?.id, structs: await indexStore.indexStructs(), lastTwo, fromCluster };
  await kv.close(); // closes the client it created
  await clustered.close();
  client.disconnect(); // yours to close
  return results;
}
