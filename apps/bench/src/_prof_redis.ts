import { NodeRelationship, TextNode } from "@larder/core/schema";
import { RedisDocumentStore, RedisKVStore } from "@larder/storage-redis";
import { Redis } from "ioredis";
const N = 100_000;
function makeNodes(n: number): TextNode[] {
  const nodes: TextNode[] = [];
  const filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. ";
  for (let i = 0; i < n; i++) {
    const doc = Math.floor(i / 50);
    nodes.push(new TextNode({ id: `node-${i}`, text: `Chunk ${i} of document ${doc}. ${filler.repeat(4)}`,
      metadata: { file_name: `doc-${doc}.txt`, page: i % 50, author: "bench" },
      relationships: { [NodeRelationship.SOURCE]: { nodeId: `doc-${doc}`, nodeType: "4", metadata: { file_name: `doc-${doc}.txt` }, hash: "h" } },
      startCharIdx: 0, endCharIdx: 500 }));
  }
  return nodes;
}
const client = new Redis("redis://127.0.0.1:6390");
const nodes = makeNodes(N);
await new RedisDocumentStore(new RedisKVStore({ client, prefix: "prof:warm:" })).addDocuments(nodes.slice(0, 2000));
const W: number[] = [], C: number[] = [];
for (let r = 0; r < 8; r++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await new RedisDocumentStore(new RedisKVStore({ client, prefix: `prof:${r}:` })).addDocuments(nodes);
  const c = process.cpuUsage(c0);
  W.push(performance.now() - t0); C.push((c.user + c.system) / 1000);
}
const keys = await client.keys("prof:*");
if (keys.length) await client.del(...keys);
client.disconnect();
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!.toFixed(0);
console.log(`wall median ${med(W)} ms [${W.map((x) => x.toFixed(0)).join(" ")}], cpu median ${med(C)} ms`);
