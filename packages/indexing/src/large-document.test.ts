// One document that splits into more than 200k chunks goes through every step without spreading
// huge arrays into calls (which overflows the stack near ~120k arguments): splitting, embedding
// batches, adding nodes and persisting.
import { Document, MemoryFileSystem, NodeRelationship, readManifest, StorageContext } from "@larder/core";
import { describe, expect, it } from "vitest";
import { HashEmbedder } from "./embedder.js";
import { SentenceSplitter } from "./splitter.js";
import { VectorStoreIndex } from "./vector-store-index.js";

const PARAGRAPHS = 200_050;
// "w0." ... "w200049." one per paragraph; with chunkSize 8 chars every paragraph is its own chunk.
const TEXT = Array.from({ length: PARAGRAPHS }, (_, i) => `w${i}.`).join("\n\n");
const splitter = () => new SentenceSplitter({ unit: "chars", chunkSize: 8, chunkOverlap: 0 });

describe("one document of more than 200k chunks", () => {
  it("splits into nodes, each linked to its neighbours", () => {
    const doc = new Document({ id: "big", text: TEXT });
    const nodes = splitter().getNodesFromDocuments([doc]);
    expect(nodes.length).toBeGreaterThanOrEqual(200_000);
    const last = nodes.at(-1)!;
    expect(last.text).toBe(`w${PARAGRAPHS - 1}.`);
    expect(TEXT.slice(last.startCharIdx!, last.endCharIdx!)).toBe(last.text);
    expect(nodes[1]!.relationships[NodeRelationship.PREVIOUS]?.nodeId).toBe(nodes[0]!.id);
    expect(nodes[0]!.relationships[NodeRelationship.NEXT]?.nodeId).toBe(nodes[1]!.id);
    expect(last.relationships[NodeRelationship.PREVIOUS]?.nodeId).toBe(nodes.at(-2)!.id);
    expect(last.relationships[NodeRelationship.NEXT]).toBeUndefined();
    expect(nodes[0]!.relationships[NodeRelationship.PREVIOUS]).toBeUndefined();
    expect(new Set(nodes.map((n) => n.id)).size).toBe(nodes.length);
  }, 120_000);

  // A generous timeout: the machine running the tests may be shared.
  it("is indexed and persisted whole", async () => {
    const ctx = await StorageContext.fromDefaults();
    const index = await VectorStoreIndex.fromDocuments([new Document({ id: "big", text: TEXT })], {
      storageContext: ctx,
      splitter: splitter(),
      embedder: new HashEmbedder({ dimensions: 8 }),
      // Several insert batches (each one embedder call per 256 texts, one vector store add, one
      // docstore write); fewer, larger ones than the default keep the test near 20 s on an idle machine.
      insertBatchSize: 25_000,
    });
    const chunks = (await index.refDocInfo())["big"]!.nodeIds.length;
    expect(chunks).toBeGreaterThanOrEqual(200_000);
    const fs = new MemoryFileSystem();
    await ctx.persist("big", { fs });
    const m = await readManifest(fs, "big");
    expect(m?.manifest.components["vector_store/default"]?.vectors).toMatchObject({ count: chunks, dim: 8 });
  }, 300_000);
});
