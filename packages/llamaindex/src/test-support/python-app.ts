// A LlamaIndexTS app (its own process) for the Python interop test in tooling/python-interop:
// ingests the test corpus with Larder's HashEmbedder (Python's LarderHashEmbedding is its port)
// into a folder through storageContextFromLarder with format "llamaindex", persists, and prints
// {indexId, hits} (its own retrieval results) as one JSON line.
//   node --conditions=@larder/source --import tsx python-app.ts <dir> <topK> <query>...
import { HashEmbedder } from "@larder/indexing";
import { BaseEmbedding, Settings, VectorStoreIndex } from "llamaindex";
import { storageContextFromLarder } from "../index.js";
import { corpus, useTestSettings } from "./fixtures.js";

class LarderHashEmbedding extends BaseEmbedding {
  readonly #e = new HashEmbedder({ dimensions: 384 });
  constructor() {
    super();
  }
  async getTextEmbedding(text: string): Promise<number[]> {
    return this.#e.embedSync(text);
  }
}

const [dir, topK, ...queries] = process.argv.slice(2);
useTestSettings();
Settings.embedModel = new LarderHashEmbedding();
const storage = await storageContextFromLarder(dir!, { format: "llamaindex" });
const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: storage.storageContext as never });
// One document removed through LlamaIndexTS before persisting: Python must not see it.
await index.deleteRefDoc("doc-bread-1");
await storage.persist();
const retriever = index.asRetriever({ similarityTopK: Number(topK) });
const hits: Record<string, { id: string; score: number | undefined; text: string }[]> = {};
for (const q of queries) {
  hits[q] = (await retriever.retrieve({ query: q })).map((h) => ({ id: h.node.id_, score: h.score, text: (h.node as unknown as { text: string }).text }));
}
const structs = await storage.larder.indexStore.indexStructs();
process.stdout.write(`${JSON.stringify({ indexId: structs[0]!.indexId, structs: structs.length, hits })}\n`);
await storage.close();
