// Test-only (excluded from the build): one worker process of docstore-processes.int.test.ts.
// Usage: docstore-worker.ts <postgres url> <table> <seed> <workers>; the kit's worker body on its
// own pool (see overlappingDocumentsWorker); exits 0 (1 on error).
import { overlappingDocumentsWorker } from "@larder/conformance/docstore";
import { PostgresDocumentStore } from "../doc-index-stores.js";

const [url, table, seed, workers] = process.argv.slice(2);
const ds = new PostgresDocumentStore({ url: url!, table: table! });
try {
  await overlappingDocumentsWorker(ds, Number(seed), Number(workers));
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await ds.close();
}
