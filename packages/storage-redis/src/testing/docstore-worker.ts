// Test-only (excluded from the build): one worker process of redis-docstore-processes.int.test.ts.
// Usage: docstore-worker.ts <redis url> <key prefix> <seed> <workers>. Runs the kit's
// overlapping-documents workload on its own connection; once all <workers> are done with it (a
// counter in Redis), adds its own node `final-<seed>`; exits 0 (1 on error).
import { overlappingDocumentsWorkload } from "@larder/conformance/docstore";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { RedisDocumentStore } from "../redis-document-store.js";

const [url, prefix, seedText, workersText] = process.argv.slice(2);
const seed = Number(seedText);
const workers = Number(workersText);
const ds = new RedisDocumentStore({ url: url!, prefix: prefix! });
try {
  await overlappingDocumentsWorkload(ds, seed, 6);
  // Barrier: no deleteRefDoc of another worker may remove the final nodes.
  const client = ds.kvStore.client;
  await client.incr(`${prefix}barrier`);
  const deadline = Date.now() + 60_000;
  while (Number(await client.get(`${prefix}barrier`)) < workers) {
    if (Date.now() > deadline) throw new Error("barrier: the other workers did not finish within 60 s");
    await new Promise((r) => setTimeout(r, 20));
  }
  await ds.addDocuments([
    new TextNode({ id: `final-${seed}`, text: "last", relationships: { [NodeRelationship.SOURCE]: { nodeId: `R${seed % 5}` } } }),
  ]);
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await ds.close();
}
