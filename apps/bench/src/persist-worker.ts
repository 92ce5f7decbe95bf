// One case of the persistence benchmark (see persist.ts). Prints one JSON line.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { SimpleDocumentStore } from "@larder/core/docstore";
import { LocalFileSystem } from "@larder/core/fs";
import { SimpleIndexStore } from "@larder/core/indexstore";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { StorageContext } from "@larder/core/storage";
import { SimpleVectorStore } from "@larder/core/vector";
import { seededRandom } from "@larder/conformance";
import * as LI from "llamaindex";

const [kind = "larder", nArg = "100000", dimArg = "384", dir = "/tmp/larder-bench"] = process.argv.slice(2);
const N = Number(nArg);
const DIM = Number(dimArg);

const rand = seededRandom(1234);
const WORDS = ["storage", "vector", "larder", "index", "query", "node", "document", "persist", "crash", "safe", "json", "float", "embedding"];
function text(i: number, version = 0): string {
  const words: string[] = [];
  for (let w = 0; w < 40; w++) words.push(WORDS[Math.floor(rand() * WORDS.length)]!);
  return `Chunk ${i} v${version}: ${words.join(" ")}.`;
}
function vector(): number[] {
  const v = new Array<number>(DIM);
  for (let j = 0; j < DIM; j++) v[j] = rand() * 2 - 1;
  return v;
}

interface Input {
  id: string;
  ref: string;
  text: string;
  metadata: Record<string, string | number>;
  embedding: number[];
}
const inputs: Input[] = [];
for (let i = 0; i < N; i++) {
  inputs.push({ id: `node-${i}`, ref: `doc-${i % 1000}`, text: text(i), metadata: { file_name: `file-${i % 1000}.txt`, page: i % 97, section: `s${i % 13}` }, embedding: vector() });
}
const changed = new Set<number>();
while (changed.size < N / 100) changed.add(Math.floor(rand() * N));

/** Drops the generator's copies of the data once the stores hold it (the stores are what is measured). */
function release(): void {
  for (const x of inputs) x.embedding = [];
  (globalThis as { gc?: () => void }).gc?.();
}

function dirBytes(d: string): number {
  let n = 0;
  for (const f of readdirSync(d)) n += statSync(join(d, f)).size;
  return n;
}

/** CPU time (user + system) of the last `time()` call, in ms: less sensitive to other processes than wall time. */
const cpu: Record<string, number> = {};
async function time<T>(fn: () => Promise<T>, label?: string): Promise<[number, T]> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  if (label) cpu[label] = (c.user + c.system) / 1000;
  return [wall, r];
}

function larderNode(x: Input, withEmbedding: boolean): TextNode {
  return new TextNode({
    id: x.id,
    text: x.text,
    metadata: x.metadata,
    relationships: { [NodeRelationship.SOURCE]: { nodeId: x.ref, nodeType: "4", metadata: {}, hash: null } },
    embedding: withEmbedding ? x.embedding : null,
  });
}

async function larder(format: "larder" | "llamaindex", fsync: boolean): Promise<Record<string, unknown>> {
  const docStore = new SimpleDocumentStore();
  await docStore.addDocuments(inputs.map((x) => larderNode(x, false)));
  const vectorStore = new SimpleVectorStore();
  await vectorStore.add(inputs.map((x) => larderNode(x, true)));
  const indexStore = new SimpleIndexStore();
  await indexStore.addIndexStruct({ indexId: "index", type: "vector_store", summary: null, data: { nodes_dict: Object.fromEntries(inputs.map((x) => [x.id, x.id])), doc_id_dict: {}, embeddings_dict: {} } });
  const ctx = await StorageContext.fromDefaults({ docStore, indexStore, vectorStore });
  release();
  const fs = new LocalFileSystem(dir, { fsync });
  const [persistMs] = await time(() => ctx.persist("", { fs, format }), "persistCpuMs");
  const bytes = dirBytes(dir);
  const [loadMs, loaded] = await time(() => StorageContext.fromPersistDir("", { fs }), "loadCpuMs");
  const got = (await loaded.docStore.getAllDocumentIds()).length;
  if (got !== N) throw new Error(`loaded ${got} nodes, expected ${N}`);
  const out: Record<string, unknown> = { persistMs, loadMs, bytes };
  if (format === "larder") {
    const updates = [...changed].map((i) => ({ ...inputs[i]!, text: text(i, 1), embedding: vector() }));
    await docStore.addDocuments(updates.map((x) => larderNode(x, false)));
    await vectorStore.add(updates.map((x) => larderNode(x, true)));
    const [persist1pctMs, r] = await time(() => ctx.persist("", { fs }), "persist1pctCpuMs");
    const written = r.written.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    Object.assign(out, { persist1pctMs, bytes1pct: written, note: `1%: wrote ${r.written.join(", ")}; reused ${r.reused.join(", ")}` });
    const again = await StorageContext.fromPersistDir("", { fs });
    const q = await again.vectorStore.query({ embedding: updates[0]!.embedding, topK: 1 });
    if (q.ids[0] !== updates[0]!.id) throw new Error("1% persist did not round-trip");
  }
  return out;
}

async function llamaindexTs(): Promise<Record<string, unknown>> {
  const nodes = inputs.map(
    (x) => new LI.TextNode({ id_: x.id, text: x.text, metadata: x.metadata, embedding: x.embedding, relationships: { [LI.NodeRelationship.SOURCE]: { nodeId: x.ref, metadata: {} } } }),
  );
  const docStore = new LI.SimpleDocumentStore();
  await docStore.addDocuments(
    nodes.map((n) => new LI.TextNode({ id_: n.id_, text: n.text, metadata: n.metadata, relationships: n.relationships })),
    true,
  );
  const vectorStore = new LI.SimpleVectorStore({ embedModel: {} as LI.BaseEmbedding });
  await vectorStore.add(nodes);
  nodes.length = 0;
  release();
  const out: Record<string, unknown> = {};
  try {
    const [persistMs] = await time(async () => {
      await docStore.persist(join(dir, "doc_store.json"));
      await vectorStore.persist(join(dir, "vector_store.json"));
    }, "persistCpuMs");
    out["persistMs"] = persistMs;
    out["bytes"] = dirBytes(dir);
  } catch (e) {
    out["error"] = `persist failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    return out;
  }
  try {
    const [loadMs] = await time(async () => {
      await LI.SimpleDocumentStore.fromPersistDir(dir);
      await LI.SimpleVectorStore.fromPersistDir(dir, {} as LI.BaseEmbedding);
    }, "loadCpuMs");
    out["loadMs"] = loadMs;
  } catch (e) {
    out["error"] = `load failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  out["note"] = "no incremental persist (every persist rewrites both files)";
  return out;
}

let result: Record<string, unknown>;
try {
  if (kind === "larder") result = await larder("larder", true);
  else if (kind === "larder-nofsync") result = await larder("larder", false);
  else if (kind === "larder-llamaindex-format") result = await larder("llamaindex", true);
  else result = await llamaindexTs();
} catch (e) {
  result = { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}
console.log(JSON.stringify({ kind, ...result, ...cpu }));
