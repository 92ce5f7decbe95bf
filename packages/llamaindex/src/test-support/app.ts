// A LlamaIndexTS app in its own process (tests start it): opens a storage context from a Larder
// store URL, loads the index from it and prints retrieval results as one JSON line.
//   node --conditions=@larder/source --import tsx app.ts <url> <topK> <query>...
import { Settings, VectorStoreIndex } from "llamaindex";
import { storageContextFromLarder } from "../index.js";
import { PrecomputedEmbedding, useTestSettings } from "./fixtures.js";

const [url, topK, ...queries] = process.argv.slice(2);
useTestSettings();
// LI_EMBED=precomputed: queries "node <i>" embed as node i's 384-d vector (large-persist test).
if (process.env["LI_EMBED"] === "precomputed") Settings.embedModel = new PrecomputedEmbedding();
const storage = await storageContextFromLarder(url!, { create: false });
try {
  const index = await VectorStoreIndex.init({ storageContext: storage.storageContext as never });
  const retriever = index.asRetriever({ similarityTopK: Number(topK) });
  const out: Record<string, { id: string; score: number | undefined; text: string }[]> = {};
  for (const q of queries) {
    const hits = await retriever.retrieve({ query: q });
    out[q] = hits.map((h) => ({ id: h.node.id_, score: h.score, text: (h.node as unknown as { text: string }).text }));
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  await storage.close();
}
