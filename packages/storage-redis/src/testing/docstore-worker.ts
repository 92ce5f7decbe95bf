// Test-only (excluded from the build): one worker process of redis-docstore-processes.int.test.ts.
// Usage: docstore-worker.ts <redis url> <key prefix> <seed> <workers>; the kit's worker body on its
// own connection (see overlappingDocumentsWorker); exits 0 (1 on error).
import { overlappingDocumentsWorker } from "@larder/conformance/docstore";
import { RedisDocumentStore } from "../redis-document-store.js";

const [url, prefix, seed, workers] = process.argv.slice(2);
const ds = new RedisDocumentStore({ url: url!, prefix: prefix! });
try {
  await overlappingDocumentsWorker(ds, Number(seed), Number(workers));
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await ds.close();
}
