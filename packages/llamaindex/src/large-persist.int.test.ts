// Past LlamaIndexTS's own persistence limit: its SimpleVectorStore writes one JSON string, which
// V8 cannot build past ~63k nodes of 384 dims (RangeError: Invalid string length). A LlamaIndexTS
// app on Larder's stores persists 70k nodes to a folder and a new process queries them.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TextNode, VectorStoreIndex } from "llamaindex";
import { afterAll, expect, it } from "vitest";
import { storageContextFromLarder } from "./index.js";
import { PrecomputedEmbedding, seededVector, useTestSettings } from "./test-support/fixtures.js";
import { runApp } from "./test-support/run-app.js";

const N = 70_000;
const dir = mkdtempSync(join(tmpdir(), "larder-li-70k-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it(`${N} nodes of 384 dims: ingested by VectorStoreIndex, persisted, queried from a new process`, async () => {
  useTestSettings();
  const storage = await storageContextFromLarder(dir, { embedModel: new PrecomputedEmbedding() });
  const nodes: TextNode[] = [];
  for (let i = 0; i < N; i++) {
    nodes.push(
      new TextNode({
        id_: `n${i}`,
        text: `node ${i} of document ${i % 7000}`,
        metadata: { doc: i % 7000 },
        relationships: { SOURCE: { nodeId: `doc-${i % 7000}`, metadata: {} } } as never,
        embedding: seededVector(i),
      }),
    );
  }
  await VectorStoreIndex.init({ nodes, storageContext: storage.storageContext as never });
  const result = await storage.persist();
  expect(result?.format).toBe("larder");
  expect(statSync(join(dir, "larder.json")).isFile()).toBe(true);
  expect((await storage.larder.vectorStore.getNodes({ ids: ["n0", `n${N - 1}`] })).map((n) => n.id)).toEqual(["n0", `n${N - 1}`]);
  await storage.close();

  const probes = [0, 12_345, 63_999, N - 1];
  const hits = await runApp(dir, 3, probes.map((i) => `node ${i}`), { LI_EMBED: "precomputed" });
  for (const i of probes) {
    const top = hits[`node ${i}`]![0]!;
    expect(top.id).toBe(`n${i}`);
    expect(top.score).toBeCloseTo(1, 5);
    expect(top.text).toBe(`node ${i} of document ${i % 7000}`);
  }
}, 120_000);
