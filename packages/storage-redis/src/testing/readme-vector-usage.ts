// The README's RedisVectorStore example, verbatim except that the URL and the index name are
// parameters, so the test can run it against the test server.
import { TextNode } from "@larder/core/schema";
import { RedisVectorStore } from "../index.js";

export async function readmeVectorUsage(url: string, indexName: string) {
  const store = new RedisVectorStore({ url, indexName, metric: "cosine", index: { type: "hnsw", m: 16 } });
  await store.add([
    new TextNode({ id: "a", text: "llamas eat grass", embedding: [1, 0, 0], metadata: { lang: "en", tags: ["animal"] } }),
    new TextNode({ id: "b", text: "alpacas have soft wool", embedding: [0.9, 0.1, 0], metadata: { lang: "en", tags: ["animal", "wool"] } }),
    new TextNode({ id: "c", text: "le lama mange", embedding: [0, 1, 0], metadata: { lang: "fr" } }),
  ]); // one pipelined round trip per 500 nodes; the index is created on the first add
  const hits = await store.query({
    embedding: [1, 0, 0],
    topK: 2,
    filters: { filters: [{ key: "lang", operator: "==", value: "en" }, { key: "tags", operator: "contains", value: "wool" }] },
  }); // ids ["b"], similarities [0.99...]
  const text = await store.query({ mode: "text", queryStr: "llama", topK: 5 }); // BM25 over the node text
  const hybrid = await store.query({ mode: "hybrid", embedding: [0, 1, 0], queryStr: "wool", topK: 2, alpha: 0.5 });
  await store.deleteNodes({ filters: { filters: [{ key: "lang", operator: "==", value: "fr" }] } });
  await store.close();
  return { hits, text, hybrid };
}
