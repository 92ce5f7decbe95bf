// Test-only (excluded from the build): one worker process of docstore-processes.int.test.ts.
// Usage: docstore-worker.ts <postgres url> <table> <seed> <workers>. Runs the kit's
// overlapping-documents workload on its own pool; once all <workers> are done with it (one row
// each in a "barrier" collection), adds its own node `final-<seed>`; exits 0 (1 on error).
import { overlappingDocumentsWorkload } from "@larder/conformance/docstore";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { PostgresDocumentStore } from "../doc-index-stores.js";

const [url, table, seedText, workersText] = process.argv.slice(2);
const seed = Number(seedText);
const workers = Number(workersText);
const ds = new PostgresDocumentStore({ url: url!, table: table! });
try {
  await overlappingDocumentsWorkload(ds, seed, 6);
  // Barrier: no deleteRefDoc of another worker may remove the final nodes.
  await ds.kvStore.put(`w${seed}`, {}, "barrier");
  const deadline = Date.now() + 60_000;
  while (Object.keys(await ds.kvStore.getAll("barrier")).length < workers) {
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
