// Retrieval both ways between Python llama-index-core and Larder: same ids, scores (float32) and
// text, from folders Python wrote, Larder rewrote, Larder changed, and Larder built itself.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Document, StorageContext } from "@larder/core";
import { loadIndexFromStorage, type NodeWithScore, VectorStoreIndex } from "@larder/indexing";
import { beforeAll, expect, it } from "vitest";
import { DOCS, EXTRA_DOC, QUERIES } from "./corpus.js";
import { describePython, runPython, tempDir } from "./harness.js";

interface Hit {
  id: string;
  score: number;
  text: string;
}
interface Built {
  vector_index_id: string;
  summary_index_id: string;
  kg_index_id: string;
  retrieval: Hit[][];
}

const TOP_K = 3;
const DELETED = "doc-deleted";

function plain(hits: NodeWithScore[]): Hit[] {
  return hits.map((h) => ({ id: h.node.id, score: h.score, text: h.node.getContent() }));
}

/** Same ids in the same order, same text, scores equal within float32 precision. */
function expectSameHits(actual: Hit[][], expected: Hit[][], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  expected.forEach((exp, q) => {
    const act = actual[q]!;
    expect(act.map((h) => h.id), `${what}: ids for ${JSON.stringify(QUERIES[q])}`).toEqual(exp.map((h) => h.id));
    expect(act.map((h) => h.text), `${what}: text for ${JSON.stringify(QUERIES[q])}`).toEqual(exp.map((h) => h.text));
    act.forEach((h, i) => expect(Math.abs(h.score - exp[i]!.score), `${what}: score of ${h.id}`).toBeLessThan(1e-5));
  });
}

async function retrieveAll(index: VectorStoreIndex): Promise<Hit[][]> {
  const r = index.asRetriever({ topK: TOP_K });
  const out: Hit[][] = [];
  for (const q of QUERIES) out.push(plain(await r.retrieve(q)));
  return out;
}

async function larderRetrieve(dir: string, indexId: string): Promise<Hit[][]> {
  return retrieveAll(await loadIndexFromStorage(await StorageContext.fromPersistDir(dir), { indexId }));
}

interface Checked {
  retrieval: Hit[][];
  hashes: { checked: number; mismatches: Record<string, unknown> };
}

async function filesOf(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await readFile(join(dir, f));
  return out;
}

/** `undefined` when equal, else the file name and both sides around the first differing byte. */
function firstDifference(file: string, a: Buffer, b: Buffer): string | undefined {
  if (a.equals(b)) return undefined;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const cut = (x: Buffer) => x.subarray(Math.max(0, i - 40), i + 60).toString("utf8");
  return `${file} differs at byte ${i} (${a.length} vs ${b.length} bytes): Python ${JSON.stringify(cut(a))} / Larder ${JSON.stringify(cut(b))}`;
}

/** Python's retrieval from each folder (by name) and the node hashes it recomputes, in one process. */
function pyCheckFolders(py: Parameters<typeof runPython>[0], folders: Record<string, { dir: string; id: string }>): Promise<Record<string, Checked>> {
  return runPython<Record<string, Checked>>(
    py,
    `emit({name: retrieve_and_check(f["dir"], f["id"], ARGS["queries"], ARGS["k"]) for name, f in ARGS["folders"].items()})`,
    { folders, queries: QUERIES, k: TOP_K },
  );
}

// Two Python processes per version (each start costs seconds): one builds the folder, one reads
// every folder Larder wrote from it and by itself.
describePython("vector retrieval interop", (py) => {
  let pyDir: string;
  let built: Built;
  let rewriteDir: string;
  let changedDir: string;
  let changedLarder: Hit[][];
  let changedLive: Hit[][];
  let ownDir: string;
  let ownIndexId: string;
  let ownLive: Hit[][];
  let python: Record<string, Checked>;

  beforeAll(async () => {
    pyDir = await tempDir();
    built = await runPython<Built>(py, `emit(build_scenario(ARGS["dir"], ARGS["docs"], ARGS["deleted"], ARGS["queries"], ARGS["k"]))`, {
      dir: pyDir,
      docs: DOCS,
      deleted: DELETED,
      queries: QUERIES,
      k: TOP_K,
    });

    // An unchanged rewrite in the LlamaIndex format.
    rewriteDir = await tempDir();
    await (await StorageContext.fromPersistDir(pyDir)).persist(rewriteDir, { format: "llamaindex" });

    // Larder inserts a document into the Python index and deletes one of Python's.
    const ctx = await StorageContext.fromPersistDir(pyDir);
    const index = await loadIndexFromStorage(ctx, { indexId: built.vector_index_id });
    await index.insert(new Document({ id: EXTRA_DOC.id, text: EXTRA_DOC.text, metadata: EXTRA_DOC.metadata }));
    await index.deleteRefDoc("doc-tokyo");
    changedDir = await tempDir();
    await ctx.persist(changedDir, { format: "llamaindex" });
    changedLive = await retrieveAll(index);
    changedLarder = await larderRetrieve(changedDir, built.vector_index_id);

    // An index Larder builds itself with default options.
    const own = await VectorStoreIndex.fromDocuments(DOCS.map((d) => new Document({ id: d.id, text: d.text, metadata: d.metadata })));
    await own.deleteRefDoc(DELETED);
    ownDir = await tempDir();
    await own.storageContext.persist(ownDir, { format: "llamaindex" });
    ownIndexId = own.indexId;
    ownLive = await retrieveAll(own);

    python = await pyCheckFolders(py, {
      rewrite: { dir: rewriteDir, id: built.vector_index_id },
      changed: { dir: changedDir, id: built.vector_index_id },
      own: { dir: ownDir, id: ownIndexId },
    });
  });

  it("Python's own retrieval is non-trivial (guards the comparisons below)", () => {
    const texts = built.retrieval.flat().map((h) => h.text);
    expect(texts.length).toBe(QUERIES.length * TOP_K);
    expect(texts.every((t) => t.length > 0)).toBe(true);
    expect(texts.some((t) => t.includes("volcano"))).toBe(false);
  });

  it("Larder loads every store of the Python folder: indexes, namespaces, legacy KG, property graph, chat", async () => {
    const ctx = await StorageContext.fromPersistDir(pyDir);
    const structs = await ctx.indexStore.indexStructs();
    const types = Object.fromEntries(structs.map((s) => [s.indexId, s.type]));
    expect(types).toEqual({ [built.vector_index_id]: "vector_store", [built.summary_index_id]: "list", [built.kg_index_id]: "kg" });
    expect(Object.keys(ctx.vectorStores).sort()).toEqual(["custom", "default", "image"]);
    expect((await ctx.vectorStores["image"]!.getNodes()).map((n) => n.id)).toEqual(["img-lake"]);
    expect((await ctx.vectorStores["custom"]!.getNodes()).map((n) => n.metadata)).toEqual([{ ns: "custom", n: [1, 2] }]);
    // The deleted document left nothing behind.
    expect(await ctx.docStore.getRefDocInfo(DELETED)).toBeUndefined();
    expect(await ctx.graphStore!.get("Zürich")).toEqual([["lies on", "Zürichsee"]]);
    const pg = ctx.propertyGraphStore!;
    const entities = await pg.get();
    const zurich = entities.find((n) => "name" in n && n.name === "Zürich");
    expect(zurich?.properties).toMatchObject({ population: 421878, geo: { lat: 47.37, lon: 8.54, tags: ["lake", "alps"] } });
    const triplets = await pg.getTriplets({ entityNames: ["Zürich"] });
    expect(triplets.map(([, r]) => [r.label, r.properties])).toEqual([["LIES_ON", expect.objectContaining({ since: { year: 1200, source: "Chronik" } })]]);
    const chat = await ctx.chatStore!.getMessages("user-ü");
    // 0.10 writes `content`; 0.12+ writes `blocks` (text blocks) instead.
    const textOf = (m: (typeof chat)[number]) =>
      typeof m.content === "string" ? m.content : ((m["blocks"] ?? []) as { text?: string }[]).map((b) => b.text ?? "").join("");
    expect(chat.map((m) => [m.role, textOf(m)])).toEqual([
      ["user", "Grüezi 😀 — what is near the lake?"],
      ["assistant", "The old town."],
    ]);
    expect(chat[1]!.additional_kwargs).toEqual({ sources: [{ id: "n1", score: 0.5 }] });
  });

  it("Larder retrieves the same ids, scores and text from the Python folder", async () => {
    expectSameHits(await larderRetrieve(pyDir, built.vector_index_id), built.retrieval, "Larder on Python's folder");
  });

  it("Larder retrieves the same after migrating the Python folder to the Larder format", async () => {
    const ctx = await StorageContext.fromPersistDir(pyDir);
    const larderDir = await tempDir();
    await ctx.persist(larderDir);
    expect(await readdir(larderDir)).toContain("larder.json");
    expectSameHits(await larderRetrieve(larderDir, built.vector_index_id), built.retrieval, "Larder on the migrated folder");
  });

  it("Python retrieves the same from Larder's unchanged LlamaIndex-format rewrite, and its hashes check", () => {
    expectSameHits(python["rewrite"]!.retrieval, built.retrieval, "Python on Larder's rewrite");
    expect(python["rewrite"]!.hashes.checked).toBeGreaterThan(0);
    expect(python["rewrite"]!.hashes.mismatches).toEqual({});
  });

  it("an unchanged rewrite of the Python folder is byte-identical, every file (embeddings included)", async () => {
    const [a, b] = await Promise.all([filesOf(pyDir), filesOf(rewriteDir)]);
    expect(Object.keys(b)).toEqual(Object.keys(a));
    expect(Object.keys(a).map((f) => firstDifference(f, a[f]!, b[f]!)).filter(Boolean)).toEqual([]);
  });

  it("LlamaIndex -> Larder format -> LlamaIndex gives Python's files byte for byte", async () => {
    const larderDir = await tempDir();
    await (await StorageContext.fromPersistDir(pyDir)).persist(larderDir);
    expect(await readdir(larderDir)).toContain("larder.json");
    const back = await tempDir();
    await (await StorageContext.fromPersistDir(larderDir)).persist(back, { format: "llamaindex" });
    const [a, b] = await Promise.all([filesOf(pyDir), filesOf(back)]);
    expect(Object.keys(b)).toEqual(Object.keys(a));
    expect(Object.keys(a).map((f) => firstDifference(f, a[f]!, b[f]!)).filter(Boolean)).toEqual([]);
  });

  it("Larder inserts into and deletes from the Python index; Python sees exactly that", () => {
    const theirs = python["changed"]!;
    expectSameHits(theirs.retrieval, changedLarder, "Python vs Larder after Larder's insert/delete");
    expectSameHits(changedLive, changedLarder, "live index vs reloaded");
    const texts = theirs.retrieval.flat().map((h) => h.text);
    expect(texts.some((t) => t.includes("glaciers"))).toBe(true);
    expect(texts.some((t) => t.includes("Tokyo") || t.includes("東京"))).toBe(false);
    expect(theirs.hashes.mismatches).toEqual({});
  });

  it("an index Larder built with default options: Python retrieves what Larder retrieves (ids, scores, text)", async () => {
    expect(ownLive.flat().every((h) => h.text.length > 0)).toBe(true);
    expectSameHits(python["own"]!.retrieval, ownLive, "Python on Larder's index");
    expectSameHits(await larderRetrieve(ownDir, ownIndexId), ownLive, "Larder reloading its export");
    expect(python["own"]!.hashes.checked).toBeGreaterThan(0);
    expect(python["own"]!.hashes.mismatches).toEqual({});
  });
});
