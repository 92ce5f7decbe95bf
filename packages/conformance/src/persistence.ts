import { expect } from "vitest";
import type { FileSystem } from "@larder/core/fs";
import { KVDocumentStore } from "@larder/core/docstore";
import type { JsonObject, KVStore } from "@larder/core/kv";
import { LARDER_FORMAT_VERSION, MANIFEST_FILE, StorageContext, readManifest, type LarderManifest } from "@larder/core/storage";
import type { FileStat } from "@larder/core/fs";
import { TextNode } from "@larder/core/schema";
import { SimpleVectorStore } from "@larder/core/vector";
import { defineSuite, expectStorageError, type TestBody } from "./harness.js";
import { fingerprint, makeNodes, populatedContext } from "./persistence-fixtures.js";
import { runCrashTest } from "./persistence-crash.js";
import { runRaceTest } from "./persistence-race.js";
import { llamaIndexFolderTests } from "./persistence-llamaindex.js";

/** Where one test persists: a FileSystem and a directory inside it (fresh and empty per test). */
export interface PersistenceTarget {
  fs: FileSystem;
  dir: string;
}

export interface PersistenceCapabilities {
  /**
   * The crash test: a child process persists in a loop and is SIGKILLed at random moments. Needs a
   * place a separate process can reach (a real disk, S3...): `dirUrl()` returns a fresh URL
   * (`file:///tmp/...`, `s3://bucket/prefix`); `childImports` are absolute module URLs the child
   * imports first (e.g. fs-s3's entry, to register `s3://`); `env` is added to the child's
   * environment. `kills` defaults to 200.
   *
   * The same settings run `persistence.concurrency.processes`: two writer processes racing
   * `raceRounds` persists each into one directory (default 60, or `LARDER_RACE_ROUNDS`).
   */
  crash: {
    dirUrl: () => Promise<string> | string;
    childImports?: string[];
    kills?: number;
    env?: Record<string, string>;
    raceRounds?: number;
  };
}

type Body = TestBody<PersistenceTarget, PersistenceCapabilities>;

const path = (t: PersistenceTarget, file: string) => (t.dir === "" ? file : `${t.dir}/${file}`);

async function manifestOf(t: PersistenceTarget): Promise<LarderManifest> {
  const read = await readManifest(t.fs, t.dir);
  if (!read) throw new Error("no manifest");
  return read.manifest;
}

/** A document for the concurrency tests (no embedding: docstore only). */
function doc(id: string): TextNode {
  return new TextNode({ id, text: `${id} text`, metadata: { id } });
}

async function docIds(t: PersistenceTarget): Promise<string[]> {
  return (await (await StorageContext.fromPersistDir(t.dir, { fs: t.fs })).docStore.getAllDocumentIds()).sort();
}

/**
 * `fs` with the manifest's bytes replaced (reads, streams and stats of `larder.json` in `dir`);
 * every other call goes to `fs`. Lets a test load thousands of manifest variants without writing.
 */
function withManifestBytes(fs: FileSystem, manifestPath: string, bytes: () => Uint8Array, etag: () => string): FileSystem {
  const overlay: FileSystem = {
    name: `${fs.name} (manifest overlay)`,
    read: async (p) => (p === manifestPath ? bytes().slice() : fs.read(p)),
    write: (p, d, o) => fs.write(p, d, o),
    exists: async (p) => (p === manifestPath ? true : fs.exists(p)),
    list: (prefix) => fs.list(prefix),
    delete: (p) => fs.delete(p),
    stat: async (p): Promise<FileStat | undefined> => (p === manifestPath ? { size: bytes().length, etag: etag() } : fs.stat(p)),
  };
  if (fs.readStream) {
    const rs = fs.readStream.bind(fs);
    overlay.readStream = (p) =>
      p === manifestPath
        ? (async function* () {
            yield bytes().slice();
          })()
        : rs(p);
  }
  if (fs.readInto) overlay.readInto = fs.readInto.bind(fs);
  return overlay;
}

async function flipByte(t: PersistenceTarget, file: string, at: number): Promise<void> {
  const bytes = new Uint8Array(await t.fs.read(path(t, file)));
  const i = Math.min(at, bytes.length - 1);
  bytes[i] = bytes[i]! ^ 0x20;
  await t.fs.write(path(t, file), bytes);
}

/** A KV store that is not in-memory (stands in for Redis/Postgres): persist must skip it. */
class RemoteLikeKV implements KVStore {
  readonly name = "RemoteLikeKV";
  private readonly m = new Map<string, JsonObject>();
  private k = (key: string, c: string) => `${c}\u0000${key}`;
  async put(key: string, value: JsonObject, c = "data") {
    this.m.set(this.k(key, c), structuredClone(value));
  }
  async putAll(entries: Iterable<readonly [string, JsonObject]>, c = "data") {
    for (const [k, v] of entries) this.m.set(this.k(k, c), structuredClone(v));
  }
  async get(key: string, c = "data") {
    const v = this.m.get(this.k(key, c));
    return v && structuredClone(v);
  }
  async getMany(keys: readonly string[], c = "data") {
    return Promise.all(keys.map((k) => this.get(k, c)));
  }
  async getAll(c = "data") {
    const out: Record<string, JsonObject> = {};
    for (const [k, v] of this.m) if (k.startsWith(`${c}\u0000`)) out[k.slice(c.length + 1)] = structuredClone(v);
    return out;
  }
  async delete(key: string, c = "data") {
    return this.m.delete(this.k(key, c));
  }
  async deleteMany(keys: readonly string[], c = "data") {
    let n = 0;
    for (const k of keys) if (this.m.delete(this.k(k, c))) n++;
    return n;
  }
  async *scan(c = "data") {
    for (const [k, v] of Object.entries(await this.getAll(c))) yield [k, v] as const;
  }
  async collections() {
    return [...new Set([...this.m.keys()].map((k) => k.split("\u0000")[0]!))];
  }
}

const tests = {
  ...llamaIndexFolderTests,
  "persistence.larder.round-trip": async ({ store }) => {
    const t = await store();
    const ctx = await populatedContext();
    const before = await fingerprint(ctx);
    const r = await ctx.persist(t.dir, { fs: t.fs });
    expect(r.format).toBe("larder");
    expect(r.generation).toBe(1);
    const loaded = await StorageContext.fromPersistDir(t.dir, { fs: t.fs });
    expect(await fingerprint(loaded)).toEqual(before);
    expect(Object.keys(loaded.vectorStores).sort()).toEqual(["default", "image"]);
    const m = await manifestOf(t);
    expect(m.formatVersion).toBe(LARDER_FORMAT_VERSION);
    expect(Object.keys(m.components).sort()).toEqual(
      ["chat_store", "docstore", "graph_store", "index_store", "property_graph_store", "vector_store/default", "vector_store/image"].sort(),
    );
    for (const e of Object.values(m.components)) {
      expect(e.file).toMatch(/^g000001-[0-9a-f]{8}\./);
      expect((await t.fs.stat(path(t, e.file)))?.size).toBe(e.bytes);
    }
    const v = m.components["vector_store/default"]!.vectors!;
    expect(v).toMatchObject({ dtype: "float32le", dim: 8, count: 24, bytes: 24 * 8 * 4 });
  },

  "persistence.llamaindex.round-trip": async ({ store }) => {
    const t = await store();
    const ctx = await populatedContext();
    const before = await fingerprint(ctx, { vectorText: false });
    const r = await ctx.persist(t.dir, { fs: t.fs, format: "llamaindex" });
    expect(r.written.sort()).toEqual(
      ["chat_store.json", "default__vector_store.json", "docstore.json", "graph_store.json", "image__vector_store.json", "index_store.json", "property_graph_store.json"].sort(),
    );
    const loaded = await StorageContext.fromPersistDir(t.dir, { fs: t.fs });
    const after = await fingerprint(loaded, { vectorText: false });
    // LlamaIndex's vector files keep metadata and ref doc but no text: everything else is equal.
    expect(after).toEqual(before);
  },

  "persistence.larder.generations": async ({ store }) => {
    const t = await store();
    const ctx = await populatedContext();
    await ctx.persist(t.dir, { fs: t.fs });
    const g1 = await manifestOf(t);
    // Add two documents and delete one: the docstore gets a delta, the rest is reused as is.
    await ctx.docStore.addDocuments(makeNodes(2, 3).map((n) => Object.assign(n, { id: `extra-${n.id}`, embedding: null })));
    await ctx.docStore.deleteDocument("node-3");
    const r2 = await ctx.persist(t.dir, { fs: t.fs });
    expect(r2.generation).toBe(2);
    const g2 = await manifestOf(t);
    expect(g2.components["docstore"]!.file).toBe(g1.components["docstore"]!.file);
    expect(g2.components["docstore"]!.deltas).toHaveLength(1);
    expect(g2.components["docstore"]!.deltas![0]!.deleted).toBeGreaterThanOrEqual(1);
    expect(r2.reused).toEqual(expect.arrayContaining(["index_store", "vector_store/default", "graph_store"]));
    expect(g2.components["vector_store/default"]!.file).toBe(g1.components["vector_store/default"]!.file);
    expect(await fingerprint(await StorageContext.fromPersistDir(t.dir, { fs: t.fs }))).toEqual(await fingerprint(ctx));
    // A full rewrite: every file of generations 1 and 2 is collected after the commit.
    const r3 = await ctx.persist(t.dir, { fs: t.fs, incremental: false });
    expect(r3.reused).toEqual([]);
    const g3 = await manifestOf(t);
    for (const e of Object.values(g1.components)) expect(await t.fs.exists(path(t, e.file))).toBe(false);
    const listed = (await t.fs.list(t.dir === "" ? "" : `${t.dir}/`)).map((p) => p.slice(t.dir === "" ? 0 : t.dir.length + 1));
    const referenced = new Set([MANIFEST_FILE]);
    for (const e of Object.values(g3.components)) {
      referenced.add(e.file);
      if (e.vectors) referenced.add(e.vectors.file);
      expect(e.deltas ?? []).toEqual([]);
    }
    expect(listed.sort()).toEqual([...referenced].sort());
    expect(await fingerprint(await StorageContext.fromPersistDir(t.dir, { fs: t.fs }))).toEqual(await fingerprint(ctx));
  },

  "persistence.larder.incremental-vectors": async ({ store }) => {
    const t = await store();
    const nodes = makeNodes(200, 11);
    const vs = new SimpleVectorStore();
    await vs.add(nodes);
    const ctx = await StorageContext.fromDefaults({ vectorStore: vs });
    await ctx.persist(t.dir, { fs: t.fs });
    const base = (await manifestOf(t)).components["vector_store/default"]!;
    // Change 2 of 200 nodes, delete 1, add 1: only a delta is written.
    const changed = makeNodes(2, 12).map((n, i) => Object.assign(n, { id: `node-${i * 50}` }));
    await vs.add(changed);
    await vs.deleteNodes({ ids: ["node-7"] });
    await vs.add(makeNodes(1, 13).map((n) => Object.assign(n, { id: "new-node" })));
    const r = await ctx.persist(t.dir, { fs: t.fs });
    const entry = (await manifestOf(t)).components["vector_store/default"]!;
    expect(entry.file).toBe(base.file);
    expect(entry.deltas).toHaveLength(1);
    expect(entry.deltas![0]!.vectors?.count).toBe(3);
    expect(entry.deltas![0]!.deleted).toBe(1);
    expect(r.written.some((f) => f === base.vectors!.file)).toBe(false);
    const loaded = await StorageContext.fromPersistDir(t.dir, { fs: t.fs });
    expect(await fingerprint(loaded)).toEqual(await fingerprint(ctx));
    // Persisting the loaded context again without changes writes no component file.
    const again = await loaded.persist(t.dir, { fs: t.fs });
    expect(again.written).toEqual([MANIFEST_FILE]);
  },

  "persistence.corrupt.checksum": async ({ store }) => {
    const t = await store();
    await (await populatedContext()).persist(t.dir, { fs: t.fs });
    const m = await manifestOf(t);
    const file = m.components["docstore"]!.file;
    await flipByte(t, file, 40);
    const e = await expectStorageError(() => StorageContext.fromPersistDir(t.dir, { fs: t.fs }), "CORRUPT");
    expect(e.message).toContain(file);
  },

  "persistence.corrupt.vectors": async ({ store }) => {
    const t = await store();
    await (await populatedContext()).persist(t.dir, { fs: t.fs });
    const file = (await manifestOf(t)).components["vector_store/default"]!.vectors!.file;
    await flipByte(t, file, 17);
    const e = await expectStorageError(() => StorageContext.fromPersistDir(t.dir, { fs: t.fs }), "CORRUPT");
    expect(e.message).toContain(file);
  },

  "persistence.corrupt.truncated": async ({ store }) => {
    const t = await store();
    await (await populatedContext()).persist(t.dir, { fs: t.fs });
    const file = (await manifestOf(t)).components["vector_store/default"]!.file;
    const bytes = await t.fs.read(path(t, file));
    await t.fs.write(path(t, file), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const e = await expectStorageError(() => StorageContext.fromPersistDir(t.dir, { fs: t.fs }), "CORRUPT");
    expect(e.message).toContain(file);
  },

  "persistence.corrupt.manifest": async ({ store }) => {
    const t = await store();
    await (await populatedContext()).persist(t.dir, { fs: t.fs });
    const bytes = await t.fs.read(path(t, MANIFEST_FILE));
    await t.fs.write(path(t, MANIFEST_FILE), bytes.subarray(0, 30));
    const e = await expectStorageError(() => StorageContext.fromPersistDir(t.dir, { fs: t.fs }), "CORRUPT");
    expect(e.message).toContain(MANIFEST_FILE);
  },

  "persistence.missing-component": async ({ store }) => {
    const t = await store();
    await (await populatedContext()).persist(t.dir, { fs: t.fs });
    const file = (await manifestOf(t)).components["index_store"]!.file;
    await t.fs.delete(path(t, file));
    const e = await expectStorageError(() => StorageContext.fromPersistDir(t.dir, { fs: t.fs }), "NOT_FOUND");
    expect(e.message).toContain(file);
  },

  "persistence.format-version": async ({ store }) => {
    const t = await store();
    await (await populatedContext()).persist(t.dir, { fs: t.fs });
    const m = JSON.parse(new TextDecoder().decode(await t.fs.read(path(t, MANIFEST_FILE)))) as Record<string, unknown>;
    m["formatVersion"] = LARDER_FORMAT_VERSION + 1;
    m["writer"] = "@larder/core 9.0.0";
    await t.fs.write(path(t, MANIFEST_FILE), JSON.stringify(m));
    const e = await expectStorageError(() => StorageContext.fromPersistDir(t.dir, { fs: t.fs }), "UNSUPPORTED");
    expect(e.message).toContain(`format version ${LARDER_FORMAT_VERSION + 1}`);
    // Nothing newer is overwritten by an older writer either.
    await expectStorageError(() => StorageContext.fromDefaults().then((c) => c.persist(t.dir, { fs: t.fs })), "UNSUPPORTED");
  },

  "persistence.conflict": async ({ store }) => {
    const t = await store();
    const a = await populatedContext();
    const b = await populatedContext();
    const results = await Promise.allSettled([a.persist(t.dir, { fs: t.fs }), b.persist(t.dir, { fs: t.fs })]);
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect((failed[0]!.reason as { code?: string }).code).toBe("CONFLICT");
    // The winner's generation loads whole.
    expect(await fingerprint(await StorageContext.fromPersistDir(t.dir, { fs: t.fs }))).toEqual(await fingerprint(a));
  },

  "persistence.concurrency.stale-context": async ({ store }) => {
    const t = await store();
    await (await populatedContext()).persist(t.dir, { fs: t.fs });
    const a = await StorageContext.fromPersistDir(t.dir, { fs: t.fs });
    const b = await StorageContext.fromPersistDir(t.dir, { fs: t.fs });
    await b.docStore.addDocuments([doc("b1")]);
    expect((await b.persist()).generation).toBe(2);
    // a still holds generation 1: its persist would drop b1. CONFLICT, naming both generations.
    await a.docStore.addDocuments([doc("a1")]);
    const before = await t.fs.read(path(t, MANIFEST_FILE));
    const e = await expectStorageError(() => a.persist(), "CONFLICT");
    expect(e.message).toContain("generation 2");
    expect(e.message).toContain("generation 1");
    expect(e.message).toContain("overwrite: true");
    expect((e as { details?: unknown }).details).toMatchObject({ expectedGeneration: 1, currentGeneration: 2 });
    expect(await t.fs.read(path(t, MANIFEST_FILE))).toEqual(before);
    const ids = await docIds(t);
    expect(ids).toContain("b1");
    expect(ids).not.toContain("a1");
    // The documented way on: reload, re-apply, persist.
    const again = await StorageContext.fromPersistDir(t.dir, { fs: t.fs });
    await again.docStore.addDocuments([doc("a1")]);
    expect((await again.persist()).generation).toBe(3);
    expect(await docIds(t)).toEqual(expect.arrayContaining(["a1", "b1"]));
    // Or replace what is there with this context's state.
    await a.docStore.addDocuments([doc("a2")]);
    expect((await a.persist(undefined, { overwrite: true })).generation).toBe(4);
    const loaded = await StorageContext.fromPersistDir(t.dir, { fs: t.fs });
    expect(await fingerprint(loaded)).toEqual(await fingerprint(a));
    expect(await loaded.docStore.documentExists("b1")).toBe(false);
    // b is stale now; a goes on from its own commit.
    await expectStorageError(() => b.persist(), "CONFLICT");
    await a.docStore.addDocuments([doc("a3")]);
    expect((await a.persist()).generation).toBe(5);
  },

  "persistence.concurrency.fresh-context": async ({ store }) => {
    const t = await store();
    const first = await populatedContext();
    await first.persist(t.dir, { fs: t.fs });
    // A context that did not load the store here would replace it: CONFLICT, nothing written.
    const fresh = await StorageContext.fromDefaults();
    await fresh.docStore.addDocuments([doc("fresh")]);
    const e = await expectStorageError(() => fresh.persist(t.dir, { fs: t.fs }), "CONFLICT");
    expect(e.message).toContain("generation 1");
    expect(e.message).toContain("overwrite: true");
    expect((e as { details?: unknown }).details).toMatchObject({ expectedGeneration: null, currentGeneration: 1 });
    expect(await fingerprint(await StorageContext.fromPersistDir(t.dir, { fs: t.fs }))).toEqual(await fingerprint(first));
    // fromDefaults({persistDir}) loads what is there, so it persists on top of it.
    const loaded = await StorageContext.fromDefaults({ persistDir: t.dir, fs: t.fs });
    await loaded.docStore.addDocuments([doc("more")]);
    expect((await loaded.persist()).generation).toBe(2);
    // overwrite: the fresh context's state replaces the store.
    expect((await fresh.persist(t.dir, { fs: t.fs, overwrite: true })).generation).toBe(3);
    expect(await docIds(t)).toEqual(["fresh"]);
  },

  "persistence.concurrency.processes": async ({ capabilities }) => {
    const crash = capabilities.crash;
    if (!crash) throw new Error("the process race test needs capabilities.crash (or an explicit skip with a reason)");
    const rounds = crash.raceRounds ?? Number(process.env["LARDER_RACE_ROUNDS"] ?? 60);
    const report = await runRaceTest({ dirUrl: await crash.dirUrl(), childImports: crash.childImports ?? [], env: crash.env ?? {}, rounds });
    expect(report.errors).toEqual([]);
    expect(report.acknowledged).toBe(2 * rounds);
    // The writers did race (otherwise the test proves nothing), and the store was read meanwhile.
    expect(report.conflicts).toBeGreaterThan(0);
    expect(report.reads).toBeGreaterThan(0);
  },

  "persistence.corrupt.manifest-every-bit": async ({ store }) => {
    const t = await store();
    await (await populatedContext()).persist(t.dir, { fs: t.fs });
    const manifestPath = path(t, MANIFEST_FILE);
    const good = new Uint8Array(await t.fs.read(manifestPath));
    let current = good;
    let n = 0;
    const overlay = withManifestBytes(t.fs, manifestPath, () => current, () => `"flip-${n}"`);
    expect(await fingerprint(await StorageContext.fromPersistDir(t.dir, { fs: overlay }))).toEqual(await fingerprint(await populatedContext()));
    // Every single-bit flip of larder.json is CORRUPT naming it (never a load of other data,
    // never UNSUPPORTED because a flip changed the format version).
    const wrong: string[] = [];
    for (let bit = 0; bit < good.length * 8; bit++) {
      n++;
      current = good.slice();
      current[bit >> 3] = current[bit >> 3]! ^ (1 << (bit & 7));
      const err = await StorageContext.fromPersistDir(t.dir, { fs: overlay }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const code = (err as { code?: string } | undefined)?.code;
      if (code !== "CORRUPT" || !String((err as Error).message).includes(MANIFEST_FILE)) {
        wrong.push(`byte ${bit >> 3} bit ${bit & 7}: ${code ?? "loaded"}`);
        if (wrong.length > 20) break;
      }
      // What `larder verify` reads first.
      if (bit % 61 === 0) await expectStorageError(() => readManifest(overlay, t.dir), "CORRUPT");
    }
    expect(wrong).toEqual([]);
    // And through the file system: keys renamed inside the manifest (a vector entry's namespace).
    const text = new TextDecoder().decode(good);
    for (const [from, to] of [
      ['"namespace": "image"', '"nameqpace": "image"'],
      ['"components"', '"components" '],
    ] as const) {
      expect(text).toContain(from);
      await t.fs.write(manifestPath, text.replace(from, to));
      const e = await expectStorageError(() => StorageContext.fromPersistDir(t.dir, { fs: t.fs }), "CORRUPT");
      expect(e.message).toContain(MANIFEST_FILE);
    }
  },

  "persistence.remote-stores-skipped": async ({ store }) => {
    const t = await store();
    const remote = new KVDocumentStore(new RemoteLikeKV());
    await remote.addDocuments(makeNodes(3).map((n) => Object.assign(n, { embedding: null })));
    const ctx = await StorageContext.fromDefaults({ docStore: remote });
    const r = await ctx.persist(t.dir, { fs: t.fs });
    expect(r.skipped).toEqual(["docstore"]);
    const m = await manifestOf(t);
    expect(m.components["docstore"]).toBeUndefined();
    expect(m.skipped["docstore"]).toMatchObject({ kind: "docstore", reason: "remote" });
    await expectStorageError(() => StorageContext.fromPersistDir(t.dir, { fs: t.fs }), "INVALID_ARGUMENT");
    const loaded = await StorageContext.fromPersistDir(t.dir, { fs: t.fs, docStore: remote });
    expect(loaded.docStore).toBe(remote);
  },

  "persistence.not-found": async ({ store }) => {
    const t = await store();
    await expectStorageError(() => StorageContext.fromPersistDir(t.dir, { fs: t.fs }), "NOT_FOUND");
    // fromDefaults with an empty persistDir starts empty and persists there.
    const ctx = await StorageContext.fromDefaults({ persistDir: t.dir, fs: t.fs });
    await ctx.docStore.addDocuments(makeNodes(1).map((n) => Object.assign(n, { embedding: null })));
    await ctx.persist();
    expect((await manifestOf(t)).generation).toBe(1);
  },

  "persistence.crash": async ({ capabilities }) => {
    const crash = capabilities.crash;
    if (!crash) throw new Error("the crash test needs capabilities.crash (or an explicit skip with a reason)");
    const report = await runCrashTest({ dirUrl: await crash.dirUrl(), childImports: crash.childImports ?? [], kills: crash.kills ?? 200, env: crash.env ?? {} });
    expect(report.errors).toEqual([]);
    expect(report.kills).toBeGreaterThanOrEqual(crash.kills ?? 200);
    // Kills must have landed both before and after commits (not all in one phase).
    expect(report.generationsSeen).toBeGreaterThan(Math.min(5, report.kills / 4));
  },
} satisfies Record<string, Body>;

export type PersistenceTestId = keyof typeof tests;

/**
 * The persistence suite, run for a FileSystem: round trips of every store kind in both formats,
 * generations and garbage collection, incremental vector deltas, corrupt/truncated/missing files,
 * the manifest's own checksum (every bit flip), format versions, concurrent commits and stale
 * contexts, remote stores, and (capability `crash`) SIGKILL crashes and writer processes racing.
 */
export const describePersistence = defineSuite<PersistenceTarget, PersistenceTestId, PersistenceCapabilities>("persistence", tests, {
  timeout: 240_000,
});
