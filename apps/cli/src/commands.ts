import {
  type BaseNode,
  errors,
  type FileSystem,
  isStorageError,
  KVDocumentStore,
  MANIFEST_FILE,
  MAX_TOP_K,
  readManifest,
  resolveFileSystem,
  isLlamaIndexDir,
  verifyLlamaIndexFolder,
  sha256Hex,
  SimpleChatStore,
  SimplePropertyGraphStore,
  SimpleVectorStore,
  StorageContext,
  type VectorStore,
  type MetadataFilters,
  type JsonObject,
  type IndexStruct,
  redactCredentials,
} from "@larder/core";
import { copyExactSources } from "@larder/core";
import { planGraphCopy } from "./migrate-graph.js";
import {
  assertCanHold,
  backendOf,
  type DataToWrite,
  type Embedder,
  HashEmbedder,
  KVVectorStore,
  loadIndexFromStorage,
  type NodeWithScore,
  OpenAIEmbedder,
  openStorageContext,
  type OpenedStorage,
  parseStoreSpec,
  registerS3,
  SentenceSplitter,
  type ChunkUnit,
  describeEmbedderRecord,
  EMBEDDER_RECORD_KEY,
  embedderFromRecord,
  embedderRecord,
  type EmbedderRecord,
  parseEmbedderRecord,
  VectorStoreIndex,
} from "@larder/indexing";
import { parseFilter } from "./filter-parser.js";
import { createProgress, formatBytes, showIndexProgress, snippet } from "./output.js";
import { findFiles, readAllDocuments } from "./readers.js";

export interface GlobalOptions {
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

export interface EmbedOptions {
  embedUrl?: string;
  embedModel?: string;
  embedKeyEnv?: string;
  dimensions?: number;
}

/** Lines for humans go to stdout; with --json only the final JSON document does. */
export type Out = (line: string) => void;

/** A remark that is not the command's result (stderr). */
const note: Out = (line) => {
  process.stderr.write(`${line}\n`);
};

export function makeEmbedder(o: EmbedOptions): Embedder | undefined {
  if (o.embedUrl) {
    if (!o.embedModel) throw errors.invalid("--embed-url needs --embed-model");
    const keyEnv = o.embedKeyEnv ?? "OPENAI_API_KEY";
    const apiKey = process.env[keyEnv];
    return new OpenAIEmbedder({ baseURL: o.embedUrl, model: o.embedModel, ...(apiKey ? { apiKey } : {}), ...(o.dimensions ? { dimensions: o.dimensions } : {}) });
  }
  if (o.embedModel) {
    const h = HashEmbedder.fromModel(o.embedModel);
    if (!h) throw errors.invalid(`--embed-model ${o.embedModel} needs --embed-url (only larder-hash-v1-<dims> runs offline)`);
    return h;
  }
  if (o.dimensions) return new HashEmbedder({ dimensions: o.dimensions });
  return undefined;
}

/** The store URLs of an opened spec (credentials redacted), each once. */
function describeParts(o: OpenedStorage): string {
  return [...new Set(Object.values(o.parts).map((p) => p.url))].join(" + ");
}

/** Estimated chunks above which `ingest` drops a Postgres table's vector index for the load (`LARDER_BULK_MIN_CHUNKS`, default 10000). */
function bulkMinChunks(): number {
  const n = Number(process.env["LARDER_BULK_MIN_CHUNKS"]);
  return Number.isSafeInteger(n) && n > 0 ? n : 10_000;
}

/** About how many chunks the splitter makes of these documents (from their length; no splitting). */
function estimateChunks(docs: readonly BaseNode[], splitter: SentenceSplitter): number {
  const charsPerChunk = Math.max(1, (splitter.chunkSize - splitter.chunkOverlap) * (splitter.unit === "tokens" ? 4 : 1));
  let n = 0;
  for (const d of docs) n += Math.max(1, Math.ceil(d.text.length / charsPerChunk));
  return n;
}

/** A store URL for progress lines (credentials redacted). */
function describeUrl(url: string): string {
  return redactCredentials(url);
}

async function withStorage<T>(url: string, create: boolean, fn: (s: OpenedStorage) => Promise<T>, options: { vectorIndexBuild?: "manual" } = {}): Promise<T> {
  const opened = await openStorageContext(url, { create, ...options });
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

/**
 * The format `ingest` persists in: the one asked for, else the one already at the target (a
 * LlamaIndex folder stays a LlamaIndex folder), else Larder's. Writing the other format beside an
 * existing store would leave two stores in one place (and the Larder one takes precedence on load),
 * so that is refused before anything is read or written.
 */
async function persistFormatFor(opened: OpenedStorage, requested: "larder" | "llamaindex" | undefined): Promise<"larder" | "llamaindex"> {
  if (opened.persistTarget === undefined) {
    if (requested !== undefined) throw errors.invalid(`--format applies to a directory or s3:// target; ${describeParts(opened)} writes to its servers directly`);
    return "larder";
  }
  if (!opened.existed) return requested ?? "larder";
  const fs = await resolveFileSystem(opened.persistTarget);
  const present = (await fs.exists(MANIFEST_FILE)) ? "larder" : "llamaindex";
  if (requested !== undefined && requested !== present) {
    const [what, other] = present === "larder" ? ["a Larder-format store (larder.json)", "LlamaIndex"] : ["a LlamaIndex-format store (docstore.json, index_store.json, ...)", "Larder"];
    throw errors.invalid(
      `${describeParts(opened)} holds ${what}; --format ${requested} would write the ${other} format beside it. ` +
        `Omit --format to add to it in its own format, ingest into another location, or convert it with \`larder migrate <from> <to> --format ${requested}\``,
    );
  }
  return present;
}

const EMBED_FLAGS = "--embed-url/--embed-model/--dimensions";

/** The embedder flags the user gave, as a phrase (`--embed-model x --embed-url y`). */
function givenFlags(o: EmbedOptions): string {
  return [
    o.embedUrl !== undefined ? `--embed-url ${o.embedUrl}` : "",
    o.embedModel !== undefined ? `--embed-model ${o.embedModel}` : "",
    o.dimensions !== undefined ? `--dimensions ${o.dimensions}` : "",
  ].filter(Boolean).join(" ");
}

/** The flags that select a recorded embedder. */
function flagsFor(r: EmbedderRecord): string {
  if (r.kind === "hash") return `--embed-model ${r.model}`;
  return `--embed-url ${r.baseURL} --embed-model ${r.model}${r.dimensions !== undefined ? ` --dimensions ${r.dimensions}` : ""}`;
}

/**
 * The embedder to use with an existing index: the one recorded with it (kind, model, URL,
 * dimensions; the API key from --embed-key-env) unless flags are given; flags that name another
 * model, URL or vector length are INVALID_ARGUMENT saying which flags to drop or give. An index
 * that records nothing (built elsewhere) gets the offline embedder when its vectors have its length,
 * with a note on stderr; another length is INVALID_ARGUMENT asking for the flags.
 */
async function embedderFor(ctx: StorageContext, struct: IndexStruct, o: EmbedOptions, note: (line: string) => void): Promise<Embedder> {
  const record = parseEmbedderRecord(struct.data[EMBEDDER_RECORD_KEY]);
  const legacy = typeof struct.data["larder_embed_model"] === "string" ? (struct.data["larder_embed_model"] as string) : undefined;
  const recordedModel = record?.model ?? legacy;
  const flags = o.embedUrl !== undefined || o.embedModel !== undefined || o.dimensions !== undefined;
  const apiKey = process.env[o.embedKeyEnv ?? "OPENAI_API_KEY"];
  const id = struct.indexId;

  if (flags) {
    // The recorded URL fills in a missing --embed-url for the recorded model.
    const filled: EmbedOptions =
      o.embedUrl === undefined && record?.kind === "openai" && o.embedModel === record.model ? { ...o, embedUrl: record.baseURL! } : o;
    const e = makeEmbedder(filled) ?? new HashEmbedder();
    const mine = embedderRecord(e);
    const differs =
      (recordedModel !== undefined && e.model !== recordedModel) ||
      (record?.kind === "openai" && mine?.kind === "openai" && mine.baseURL !== record.baseURL) ||
      (record?.dimensions !== undefined && e.dimensions !== undefined && e.dimensions !== record.dimensions);
    if (differs) {
      const built = record ? describeEmbedderRecord(record) : `model ${JSON.stringify(recordedModel)}`;
      throw errors.invalid(
        `index ${id} was built with ${built}, but ${givenFlags(o)} selects ${mine ? describeEmbedderRecord(mine) : e.model}: its vectors would not be comparable. ` +
          `Omit ${EMBED_FLAGS} to use the recorded embedder${record ? ` (same as ${flagsFor(record)})` : ""}, or ingest into another index or store to use another model`,
      );
    }
    return e;
  }
  if (record) return embedderFromRecord(record, apiKey ? { apiKey } : {});
  if (legacy !== undefined) {
    const h = HashEmbedder.fromModel(legacy);
    if (h) return h;
    throw errors.invalid(`index ${id} was built with embedding model ${JSON.stringify(legacy)}, which runs behind an API: pass --embed-url <…/v1> --embed-model ${legacy}`);
  }
  const fallback = new HashEmbedder();
  const dims = await knownDimensions(ctx.vectorStore);
  if (dims !== undefined && dims !== fallback.dimensions) {
    throw errors.invalid(
      `index ${id} records no embedding model (it was not built by larder) and its vectors have ${dims} dimensions: pass the model it was built with (--embed-url <…/v1> --embed-model <name>, or --embed-model larder-hash-v1-${dims} for the offline embedder)`,
    );
  }
  note(`larder: note: index ${id} records no embedding model (it was not built by larder); using the offline ${fallback.model}. Pass --embed-url/--embed-model if it was built with another model.`);
  return fallback;
}

/** The vector length of a store when it is cheap to learn (in-memory and KV-backed stores). */
async function knownDimensions(vs: VectorStore): Promise<number | undefined> {
  if (vs instanceof SimpleVectorStore) return vs.dim ?? undefined;
  if (vs instanceof KVVectorStore) return (await vs.dimensions()) ?? undefined;
  return undefined;
}

async function openIndex(ctx: StorageContext, o: EmbedOptions & { indexId?: string }, note: (line: string) => void, extra: { splitter?: SentenceSplitter } = {}) {
  const struct = await ctx.indexStore.getIndexStruct(o.indexId);
  if (!struct) {
    // loadIndexFromStorage says what is missing.
    return loadIndexFromStorage(ctx, { ...(o.indexId ? { indexId: o.indexId } : {}), ...extra });
  }
  const embedder = await embedderFor(ctx, struct, o, note);
  return loadIndexFromStorage(ctx, { ...(o.indexId ? { indexId: o.indexId } : {}), embedder, ...extra });
}

/** Records the index's embedder (kind, model, URL, dimensions; never a key) in its struct and saves the struct. */
async function recordEmbedder(ctx: StorageContext, index: VectorStoreIndex): Promise<void> {
  const record = embedderRecord(index.embedder);
  if (!record) return;
  const before = parseEmbedderRecord(index.indexStruct.data[EMBEDDER_RECORD_KEY]);
  if (before && JSON.stringify(before) === JSON.stringify(record)) return;
  index.indexStruct.data[EMBEDDER_RECORD_KEY] = record as unknown as JsonObject;
  await ctx.indexStore.addIndexStruct(index.indexStruct);
}

// ------------------------------------------------------------------------------------ ingest

export interface IngestOptions extends GlobalOptions, EmbedOptions {
  to: string;
  indexId?: string;
  chunkSize?: number;
  chunkOverlap?: number;
  chunkUnit?: ChunkUnit;
  format?: "larder" | "llamaindex";
}

export interface IngestResult {
  target: string;
  files: number;
  documents: number;
  inserted: number;
  updated: number;
  unchanged: number;
  chunks: number;
  indexId: string;
  embedModel: string;
  seconds: number;
  persisted?: { format: string; generation?: number; written: number };
}

export async function ingest(paths: string[], o: IngestOptions, out: Out): Promise<IngestResult> {
  const t0 = performance.now();
  if (paths.length === 0) throw errors.invalid("ingest needs at least one path");
  const splitter = new SentenceSplitter({
    ...(o.chunkUnit ? { unit: o.chunkUnit } : {}),
    ...(o.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {}),
    ...(o.chunkOverlap !== undefined ? { chunkOverlap: o.chunkOverlap } : {}),
  });
  const embedder = makeEmbedder(o);
  // A target that would keep documents or vectors only in memory (e.g. neo4j://) fails here, before
  // anything is read or written.
  assertCanHold(o.to, { documents: true, vectors: ["default"] }, "ingest");
  const { files } = await findFiles(paths);
  if (files.length === 0) throw errors.notFound(`no .txt, .md or .jsonl files under ${paths.join(", ")}`);
  const showProgress = !o.json && !o.quiet;
  // One progress display for the whole command: every step shows, none is silent.
  const progress = createProgress(showProgress, "chunks");
  const reading = createProgress(showProgress, "files");
  reading.start(files.length, "reading");
  const docs = await readAllDocuments(files, (done) => reading.update(done));
  reading.stop();
  const ids = new Set<string>();
  for (const d of docs) {
    if (ids.has(d.id)) throw errors.invalid(`document id ${JSON.stringify(d.id)} appears twice in the input`);
    ids.add(d.id);
  }

  // Postgres vectors: the bulk path. A new table gets no ANN index while the chunks are added
  // (binary COPY into an unindexed table), then one index build at the end, which pgvector does
  // many times faster than maintaining HNSW row by row.
  const bulkPostgres = (() => {
    const v = parseStoreSpec(o.to).vectors;
    return v !== undefined && backendOf(v) === "postgres";
  })();
  progress.phase(`opening ${describeUrl(o.to)}`);
  return withStorage(o.to, true, async (opened) => {
    const ctx = opened.storageContext;
    const format = await persistFormatFor(opened, o.format);
    // A new index only when the store has none (or none with --index-id); every other failure to
    // open the existing one stops here, before anything is written.
    const existing = await ctx.indexStore.getIndexStruct(o.indexId);
    const index = existing
      ? await openIndex(ctx, o, note, { splitter })
      : await VectorStoreIndex.fromDocuments([], { storageContext: ctx, splitter, ...(embedder ? { embedder } : {}), ...(o.indexId ? { indexId: o.indexId } : {}) });
    const chunks = showIndexProgress(index, progress);
    const hashesBefore = await ctx.docStore.getAllDocumentHashes();
    const vs = ctx.vectorStore as VectorStore & { buildIndex?: () => Promise<void>; dropIndex?: () => Promise<void>; bulkLoad?: (options?: { maxPending?: number }) => BulkLoad };
    // A large batch into a table that already has rows (and its index): drop the index, load, build
    // it once. Large: an estimated BULK_MIN_CHUNKS new chunks or more, and at least as many as the
    // table holds (rebuilding over a much bigger table would cost more than it saves).
    let dropped = false;
    if (bulkPostgres && typeof vs.dropIndex === "function" && typeof vs.buildIndex === "function") {
      const estimate = estimateChunks(docs.filter((d) => hashesBefore[d.id] !== d.hash), splitter);
      const held = Object.keys(hashesBefore).length; // documents + chunks: an upper bound of the rows
      if (held > 0 && estimate >= bulkMinChunks() && estimate >= held) {
        progress.phase(`dropping the vector index for a bulk load of about ${estimate} chunks`);
        await vs.dropIndex();
        dropped = true;
      }
    }
    // Postgres bulk path: vector and docstore writes are pipelined (the server stores batch k while
    // batch k + 1 is embedded). The document hashes, which tell a later ingest that a document is done, are
    // written only after every queued vector write is committed; a failure therefore leaves what a
    // failed ingest always leaves: chunks of documents without a hash, which the next run redoes.
    // One write may wait behind the one in progress (maxPending 2), so that the client goes on
    // embedding when the server falls a batch behind (at most three insert batches held in memory).
    const bulk = bulkPostgres && typeof vs.bulkLoad === "function" ? pipelinedLoad(ctx, index, vs.bulkLoad({ maxPending: 2 })) : undefined;
    const loader = bulk ? bulk.index : index;
    let changed: boolean[];
    try {
      progress.phase(`comparing ${docs.length} documents with the store and splitting the changed ones`);
      changed = await loader.refreshRefDocs(docs);
      await bulk?.flush();
    } catch (err) {
      await bulk?.settle();
      // Leave the table indexed even when the load failed (best effort; the load error is the one reported).
      if (dropped) await vs.buildIndex!().catch(() => undefined);
      throw err;
    }
    const inserted = docs.filter((d, i) => changed[i] && !(d.id in hashesBefore)).length;
    const updated = changed.filter(Boolean).length - inserted;
    if (bulkPostgres && (chunks() > 0 || dropped) && typeof vs.buildIndex === "function") {
      progress.phase("building the vector index");
      await vs.buildIndex();
    }
    await recordEmbedder(ctx, index);
    if (opened.persistTarget !== undefined) progress.phase(`persisting to ${describeParts(opened)} (${format === "llamaindex" ? "LlamaIndex" : "Larder"} format)`);
    const persisted = opened.persistTarget === undefined ? undefined : await ctx.persist(opened.persistTarget, { format });
    progress.stop();
    const result: IngestResult = {
      target: describeParts(opened),
      files: files.length,
      documents: docs.length,
      inserted,
      updated,
      unchanged: docs.length - inserted - updated,
      chunks: chunks(),
      indexId: index.indexId,
      embedModel: index.embedModel,
      seconds: Math.round((performance.now() - t0) / 10) / 100,
      ...(persisted ? { persisted: { format: persisted.format, ...(persisted.generation !== undefined ? { generation: persisted.generation } : {}), written: persisted.written.length } } : {}),
    };
    if (!o.json) {
      out(`ingested ${result.files} files (${result.documents} documents: ${inserted} new, ${updated} changed, ${result.unchanged} unchanged) -> ${result.chunks} chunks in ${result.seconds}s`);
      const where = persisted ? `, ${persisted.format === "llamaindex" ? "LlamaIndex" : "Larder"} format${persisted.generation !== undefined ? `, generation ${persisted.generation}` : ""}` : "";
      out(`index ${result.indexId} (${result.embedModel}) in ${result.target}${where}`);
    }
    return result;
  }, bulkPostgres ? { vectorIndexBuild: "manual" } : {});
}

/** A pipelined vector load (`PostgresVectorStore.bulkLoad()`, typed structurally). */
interface BulkLoad {
  readonly vectorStore: VectorStore;
  flush(): Promise<void>;
  settle(): Promise<void>;
}

/**
 * Writes run one after the other, at most one queued: `push` returns once its write is queued (after
 * the previous one ended), `flush` once all ended, rejecting with the first failure; after a failure
 * every `push` and `flush` rejects with it and queued writes are not run.
 */
class WriteQueue {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  #failed: { error: unknown } | undefined;

  async push(write: () => Promise<unknown>): Promise<void> {
    this.#throwIfFailed();
    while (this.#pending > 0) await this.#tail;
    this.#throwIfFailed();
    this.#pending++;
    this.#tail = this.#tail
      .then(() => (this.#failed ? undefined : write()))
      .then(
        () => undefined,
        (error: unknown) => {
          this.#failed ??= { error };
        },
      )
      .finally(() => this.#pending--);
  }

  async flush(): Promise<void> {
    await this.settle();
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failed.error;
  }

  /** Waits for the queued writes to end; never rejects. */
  async settle(): Promise<void> {
    while (this.#pending > 0) await this.#tail;
  }
}

/**
 * The index over a context whose default vector store is the load's pipelined view and whose
 * docstore queues `addDocuments` the same way (the client goes on embedding while both are
 * written). Every other docstore call waits for the queued writes; `setDocumentHash(es)` — the
 * record that a document is done — also waits for every queued vector write to be committed.
 * `flush()` acknowledges everything (rejects with the first failure); `settle()` only waits.
 */
function pipelinedLoad(ctx: StorageContext, index: VectorStoreIndex, bulk: BulkLoad): { index: VectorStoreIndex; flush(): Promise<void>; settle(): Promise<void> } {
  const docWrites = new WriteQueue();
  const flush = async () => {
    await bulk.flush();
    await docWrites.flush();
  };
  const docStore = new Proxy(ctx.docStore, {
    get(target, p) {
      const v = Reflect.get(target, p, target) as unknown;
      if (typeof v !== "function") return v;
      const call = (args: unknown[]) => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      if (p === "addDocuments") return (...args: unknown[]) => docWrites.push(() => call(args));
      if (p === "setDocumentHash" || p === "setDocumentHashes") {
        return async (...args: unknown[]) => {
          await flush();
          return call(args);
        };
      }
      return async (...args: unknown[]) => {
        await docWrites.flush();
        return call(args);
      };
    },
  });
  const loadCtx = new StorageContext({
    docStore,
    indexStore: ctx.indexStore,
    vectorStores: { ...ctx.vectorStores, default: bulk.vectorStore },
    ...(ctx.propertyGraphStore ? { propertyGraphStore: ctx.propertyGraphStore } : {}),
    ...(ctx.chatStore ? { chatStore: ctx.chatStore } : {}),
  });
  const loader = VectorStoreIndex.fromIndexStruct(index.indexStruct, {
    storageContext: loadCtx,
    embedder: yieldingEmbedder(index.embedder),
    splitter: index.splitter,
    insertBatchSize: index.insertBatchSize,
    storeNodesOverride: index.storeNodesOverride,
  });
  loader.onProgress = index.onProgress;
  return {
    index: loader,
    flush,
    settle: async () => {
      await bulk.settle();
      await docWrites.settle();
    },
  };
}

/**
 * The embedder, returning to the event loop after each batch: an in-process embedder computes
 * without awaiting I/O, and the queued COPY data only reaches the server while the loop runs.
 */
function yieldingEmbedder(e: Embedder): Embedder {
  return new Proxy(e, {
    get(target, p) {
      const v = Reflect.get(target, p, target) as unknown;
      if (typeof v !== "function") return v;
      if (p === "embedDocuments") {
        return async (...args: unknown[]) => {
          const r = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          await new Promise((res) => setImmediate(res));
          return r;
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

// ------------------------------------------------------------------------------------- query

export interface QueryOptions extends GlobalOptions, EmbedOptions {
  from: string;
  topK?: number;
  filter?: string;
  indexId?: string;
}

export interface QueryHit {
  rank: number;
  score: number;
  /** The chunk (node) id. */
  id: string;
  /** The id of the document the chunk comes from (for a JSON-lines line, its `id`); null when unknown. */
  refDocId: string | null;
  /** The file the document was read from (`metadata.file_path`); null when it was not ingested from a file. */
  file: string | null;
  metadata: Record<string, unknown>;
  text: string;
}

export function hits(results: NodeWithScore[]): QueryHit[] {
  return results.map((r, i) => {
    const file = r.node.metadata["file_path"];
    return {
      rank: i + 1,
      score: Math.round(r.score * 1e6) / 1e6,
      id: r.node.id,
      refDocId: r.node.refDocId ?? null,
      file: typeof file === "string" ? file : null,
      metadata: r.node.metadata,
      text: r.node.text,
    };
  });
}

export function printHits(out: Out, h: QueryHit[]): void {
  if (h.length === 0) out("  (no results)");
  for (const x of h) {
    // A file holding several documents (JSON lines) also shows which one.
    const where = x.file !== null ? (x.refDocId !== null && x.refDocId !== x.file ? `${x.file} [${x.refDocId}]` : x.file) : (x.refDocId ?? x.id);
    const title = x.metadata["title"] ? ` — ${String(x.metadata["title"])}` : "";
    out(`  ${x.rank}. ${x.score.toFixed(3)}  ${where}${title}`);
    out(`     ${snippet(x.text)}`);
  }
}

export async function query(text: string, o: QueryOptions, out: Out): Promise<{ query: string; filter?: MetadataFilters; topK: number; results: QueryHit[] }> {
  // Bad input fails before any I/O.
  const filters = o.filter !== undefined ? parseFilter(o.filter) : undefined;
  const topK = o.topK ?? 5;
  if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) throw errors.invalid(`--top-k must be an integer from 1 to ${MAX_TOP_K}, got ${String(o.topK)}`);
  const progress = createProgress(!o.json && !o.quiet, "");
  progress.phase(`loading ${describeUrl(o.from)}`);
  return withStorage(o.from, false, async (opened) => {
    const index = await openIndex(opened.storageContext, o, note);
    progress.phase("retrieving");
    const results = hits(await index.asRetriever({ topK, ...(filters ? { filters } : {}) }).retrieve(text));
    progress.stop();
    if (!o.json) {
      out(`query: ${text}${o.filter ? `\nfilter: ${o.filter}` : ""}`);
      printHits(out, results);
    }
    return { query: text, ...(filters ? { filter: filters } : {}), topK, results };
  });
}

// ----------------------------------------------------------------------------------- inspect

async function vectorStats(vs: VectorStore): Promise<{ count: number; dimensions: number | undefined; store: string }> {
  const store = (vs as { name?: string }).name ?? vs.constructor.name;
  if (vs instanceof SimpleVectorStore) return { count: vs.size, dimensions: vs.dim, store };
  if (vs instanceof KVVectorStore) return { count: await vs.count(), dimensions: await vs.dimensions(), store };
  const nodes = await vs.getNodes();
  return { count: nodes.length, dimensions: nodes[0]?.embedding?.length ?? (vs as { dimensions?: number }).dimensions, store };
}

export async function inspect(url: string, o: GlobalOptions, out: Out): Promise<Record<string, unknown>> {
  const progress = createProgress(!o.json && !o.quiet, "");
  progress.phase(`loading ${describeUrl(url)}`);
  return withStorage(url, false, async (opened) => {
    progress.phase("counting");
    const ctx = opened.storageContext;
    const refDocs = await ctx.docStore.getAllRefDocInfo();
    const hashes = await ctx.docStore.getAllDocumentHashes();
    const storedNodes = await ctx.docStore.getAllDocumentIds();
    const structs = await ctx.indexStore.indexStructs();
    const vectors: Record<string, unknown> = {};
    for (const [ns, vs] of Object.entries(ctx.vectorStores)) vectors[ns] = await vectorStats(vs);
    const graph = ctx.propertyGraphStore
      ? { nodes: (await ctx.propertyGraphStore.get()).length, triplets: (await ctx.propertyGraphStore.getTriplets()).length }
      : undefined;
    const chat = ctx.chatStore ? { conversations: (await ctx.chatStore.getKeys()).length } : undefined;
    let persisted: Record<string, unknown> | undefined;
    if (opened.persistTarget) persisted = await describePersisted(opened.persistTarget);
    progress.stop();
    const report = {
      stores: opened.parts,
      docstore: { documents: Object.keys(refDocs).length, hashes: Object.keys(hashes).length, storedNodes: storedNodes.length },
      indexes: structs.map((s) => ({
        indexId: s.indexId,
        type: s.type,
        nodesDict: Object.keys((s.data["nodes_dict"] as Record<string, string> | undefined) ?? {}).length,
        embedModel: s.data["larder_embed_model"] ?? null,
        embedder: parseEmbedderRecord(s.data[EMBEDDER_RECORD_KEY]) ?? null,
      })),
      vectors,
      ...(graph ? { graph } : {}),
      ...(chat ? { chat } : {}),
      ...(persisted ? { persisted } : {}),
    };
    if (!o.json) {
      for (const [k, p] of Object.entries(opened.parts)) out(`${k.padEnd(8)} ${p.backend.padEnd(8)} ${p.url}`);
      out(`documents ${report.docstore.documents} (hashes ${report.docstore.hashes}, nodes with text in the docstore ${report.docstore.storedNodes})`);
      for (const s of report.indexes) {
        const model = s.embedder ? describeEmbedderRecord(s.embedder) : `model ${String(s.embedModel ?? "unknown")}`;
        out(`index    ${s.indexId} (${s.type}, ${model}${s.nodesDict ? `, nodes_dict ${s.nodesDict}` : ""})`);
      }
      for (const [ns, v] of Object.entries(vectors) as [string, { count: number; dimensions?: number; store: string }][]) {
        out(`vectors  ${ns}: ${v.count} vectors, ${v.dimensions ?? "?"} dimensions (${v.store})`);
      }
      if (graph) out(`graph    ${graph.nodes} nodes, ${graph.triplets} triplets`);
      if (chat) out(`chat     ${chat.conversations} conversations`);
      if (persisted) {
        if (persisted["format"] === "larder") {
          out(`format   Larder v${String(persisted["formatVersion"])}, generation ${String(persisted["generation"])}, written ${String(persisted["createdAt"])} by ${String(persisted["writer"])}`);
        } else out(`format   ${String(persisted["format"])}`);
        for (const f of persisted["files"] as { file: string; bytes: number; kind?: string }[]) out(`  ${formatBytes(f.bytes).padStart(10)}  ${f.file}${f.kind ? `  (${f.kind})` : ""}`);
        out(`  ${formatBytes(persisted["totalBytes"] as number).padStart(10)}  total`);
      }
    }
    return report;
  });
}

async function describePersisted(target: string): Promise<Record<string, unknown>> {
  const fs = await resolveFileSystem(target);
  const m = await readManifest(fs, "");
  if (m) {
    const files: { file: string; bytes: number; kind: string }[] = [];
    for (const [name, e] of Object.entries(m.manifest.components)) {
      files.push({ file: e.file, bytes: e.bytes, kind: name });
      if (e.vectors) files.push({ file: e.vectors.file, bytes: e.vectors.bytes, kind: `${name} vectors (${e.vectors.count} x ${e.vectors.dim} float32)` });
      // Deltas of JSON components (docstore) have no vectors file.
      for (const d of e.deltas ?? []) {
        files.push({ file: d.file, bytes: d.bytes, kind: `${name} delta` });
        const dv = (d as { vectors?: { file: string; bytes: number } }).vectors;
        if (dv) files.push({ file: dv.file, bytes: dv.bytes, kind: `${name} delta vectors` });
      }
    }
    const manifestBytes = (await fs.stat(MANIFEST_FILE))?.size ?? 0;
    files.unshift({ file: MANIFEST_FILE, bytes: manifestBytes, kind: "manifest" });
    return {
      format: "larder",
      formatVersion: m.manifest.formatVersion,
      generation: m.manifest.generation,
      createdAt: m.manifest.createdAt,
      writer: m.manifest.writer,
      files,
      totalBytes: files.reduce((s, f) => s + f.bytes, 0),
    };
  }
  const names = await fs.list("");
  const files = await Promise.all(names.filter((n) => !n.includes("/")).map(async (n) => ({ file: n, bytes: (await fs.stat(n))?.size ?? 0 })));
  return { format: "llamaindex", files, totalBytes: files.reduce((s, f) => s + f.bytes, 0) };
}

// ------------------------------------------------------------------------------------ verify

export interface VerifyFile {
  file: string;
  component: string;
  bytes: number;
  ok: boolean;
  problem?: string;
  /** LlamaIndex folders: where the first damaged value of the file is. */
  collection?: string;
  key?: string;
}

export async function verify(
  target: string,
  o: GlobalOptions,
  out: Out,
): Promise<{ ok: boolean; generation: number; formatVersion: number; files: VerifyFile[]; format?: "llamaindex" }> {
  const backend = backendOf(target);
  if (!["local", "memory", "s3"].includes(backend)) throw errors.invalid(`verify checks a persisted directory (a path or s3:// URL), not ${backend}`);
  const unregister = backend === "s3" ? await registerS3() : undefined;
  try {
    const fs: FileSystem = await resolveFileSystem(target);
    const m = await readManifest(fs, "");
    if (!m) {
      const top = (await fs.list("")).filter((n) => !n.includes("/"));
      if (!isLlamaIndexDir(top)) throw errors.notFound(`no ${MANIFEST_FILE} and no LlamaIndex files in ${target}`);
      // LlamaIndex files have no checksums: every value is parsed and checked instead (core).
      const r = await verifyLlamaIndexFolder(fs, "");
      const files: VerifyFile[] = r.files.map((f) => ({
        file: f.file,
        component: f.component,
        bytes: f.bytes,
        ok: f.ok,
        ...(f.damage ? { problem: f.damage.message } : {}),
        ...(f.damage?.collection !== undefined ? { collection: f.damage.collection } : {}),
        ...(f.damage?.key !== undefined ? { key: f.damage.key } : {}),
      }));
      if (!o.json) {
        out(`${target}: LlamaIndex format (no checksums: every value parsed), ${files.length} files`);
        for (const f of files) out(`  ${f.ok ? "ok     " : "BROKEN "} ${f.file}  (${f.component}, ${formatBytes(f.bytes)})${f.problem ? `: ${f.problem}` : ""}`);
        out(r.ok ? "every value parses" : `${files.filter((f) => !f.ok).length} damaged file(s)`);
      }
      return { ok: r.ok, generation: 0, formatVersion: 0, files, format: "llamaindex" };
    }
    const refs: { file: string; bytes: number; sha256: string; component: string }[] = [];
    for (const [name, e] of Object.entries(m.manifest.components)) {
      refs.push({ ...e, component: name });
      if (e.vectors) refs.push({ ...e.vectors, component: `${name} vectors` });
      if (e.exact) refs.push({ ...e.exact, component: `${name} exact embeddings` });
      for (const d of e.deltas ?? []) {
        refs.push({ ...d, component: `${name} delta` });
        const dv = (d as { vectors?: { file: string; bytes: number; sha256: string } }).vectors;
        if (dv) refs.push({ ...dv, component: `${name} delta vectors` });
      }
    }
    const progress = createProgress(!o.json && !o.quiet, "files");
    progress.start(refs.length, "verifying");
    const files: VerifyFile[] = [];
    for (const [i, r] of refs.entries()) {
      let problem: string | undefined;
      try {
        const bytes = await fs.read(r.file);
        if (bytes.length !== r.bytes) problem = `size ${bytes.length} bytes, manifest says ${r.bytes}`;
        else if (sha256Hex(bytes) !== r.sha256) problem = "SHA-256 does not match the manifest";
      } catch (err) {
        if (!isStorageError(err, "NOT_FOUND")) throw err;
        problem = "missing";
      }
      files.push({ file: r.file, component: r.component, bytes: r.bytes, ok: problem === undefined, ...(problem ? { problem } : {}) });
      progress.update(i + 1);
    }
    progress.stop();
    const ok = files.every((f) => f.ok);
    if (!o.json) {
      out(`${target}: Larder format v${m.manifest.formatVersion}, generation ${m.manifest.generation}, ${files.length} files`);
      for (const f of files) out(`  ${f.ok ? "ok     " : "BROKEN "} ${f.file}  (${f.component}, ${formatBytes(f.bytes)})${f.problem ? `: ${f.problem}` : ""}`);
      out(ok ? "all checksums match" : `${files.filter((f) => !f.ok).length} damaged file(s)`);
    }
    return { ok, generation: m.manifest.generation, formatVersion: m.manifest.formatVersion, files };
  } finally {
    unregister?.();
  }
}

// ----------------------------------------------------------------------------------- migrate

export interface MigrateOptions extends GlobalOptions {
  batchSize?: number;
  format?: "larder" | "llamaindex";
}

export interface MigrateResult {
  from: string;
  to: string;
  copied: Record<string, number>;
  seconds: number;
}

export async function migrate(from: string, to: string, o: MigrateOptions, out: Out): Promise<MigrateResult> {
  const t0 = performance.now();
  const batchSize = o.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw errors.invalid("--batch-size must be a positive integer");
  const show = !o.json && !o.quiet;
  const phases = createProgress(show, "");
  phases.phase(`reading ${describeUrl(from)}`);
  const source = await openStorageContext(from, { create: false });
  try {
    const s = source.storageContext;
    // Read what the source holds first: the target is checked against it before it is opened.
    if (!(s.docStore instanceof KVDocumentStore)) {
      throw errors.unsupported("migrate copies docstores built on a KV store (every Larder docstore is)");
    }
    const sd = s.docStore;
    const docCollections: { label: string; pick: (d: KVDocumentStore) => string; entries: [string, JsonObject][] }[] = [
      // Nodes with their text in the docstore: none when the vector store keeps the text.
      { label: "docstore nodes", pick: (d) => d.nodeCollection, entries: [] },
      { label: "hashes", pick: (d) => d.metadataCollection, entries: [] },
      // One ref-doc entry per source document: the document count.
      { label: "documents", pick: (d) => d.refDocCollection, entries: [] },
    ];
    for (const c of docCollections) {
      for await (const [k, v] of sd.kvStore.scan(c.pick(sd), { batchSize })) c.entries.push([k, v]);
    }
    const structs = await s.indexStore.indexStructs();
    const vectors: [string, BaseNode[]][] = [];
    for (const [ns, vs] of Object.entries(s.vectorStores)) {
      const nodes = await vs.getNodes();
      if (nodes.length) vectors.push([ns, nodes]);
    }
    const graphNodes = s.propertyGraphStore ? await s.propertyGraphStore.get() : [];
    const triplets = s.propertyGraphStore ? await s.propertyGraphStore.getTriplets() : [];
    const chatKeys = s.chatStore ? await s.chatStore.getKeys() : [];
    const data: DataToWrite = {
      documents: structs.length > 0 || docCollections.some((c) => c.entries.length > 0),
      vectors: vectors.map(([ns]) => ns),
      graph: graphNodes.length > 0 || triplets.length > 0,
      chats: chatKeys.length > 0,
    };
    assertCanHold(to, data, "migrate");

    phases.phase(`opening ${describeUrl(to)}`);
    const target = await openStorageContext(to, { create: true, ...(o.format ? { format: o.format } : {}) });
    phases.stop();
    try {
      const t = target.storageContext;
      if (!(t.docStore instanceof KVDocumentStore)) {
        throw errors.unsupported("migrate copies docstores built on a KV store (every Larder docstore is)");
      }
      const td = t.docStore;
      for (const [ns] of vectors) {
        if (!t.vectorStores[ns] && !target.persistTarget) throw errors.unsupported(`the target has no vector store for namespace ${JSON.stringify(ns)}`);
      }
      if (data.graph && !t.propertyGraphStore && !target.persistTarget) {
        throw errors.unsupported("the target has no graph store: add graph=neo4j://... or a persist location");
      }
      if (data.chats && !t.chatStore && !target.persistTarget) throw errors.unsupported("the target has no chat store: add chat=redis://... or a persist location");
      // Nested graph values: copied verbatim into an in-memory graph, else refused here (nothing written yet).
      const graphCopy = data.graph ? planGraphCopy(s.propertyGraphStore!, t.propertyGraphStore, graphNodes, triplets.map((x) => x[1])) : undefined;

      const copied: Record<string, number> = {};
      const step = async <T>(label: string, items: T[], write: (batch: T[]) => Promise<void>) => {
        const bar = createProgress(show, "items");
        bar.start(items.length, label.padEnd(12));
        for (let i = 0; i < items.length; i += batchSize) {
          await write(items.slice(i, i + batchSize));
          bar.update(Math.min(i + batchSize, items.length));
        }
        bar.stop();
        copied[label] = (copied[label] ?? 0) + items.length;
      };

      // Docstore: the three KV collections as they are (node JSON, hashes, ref-doc info).
      for (const c of docCollections) {
        // One putAll per batch (the KV contract: one round trip per batch).
        await step(c.label, c.entries, (b) => td.kvStore.putAll(b, c.pick(td), { batchSize }));
      }

      await step("indexes", structs, async (b) => {
        for (const st of b) await t.indexStore.addIndexStruct(st); // a handful per store
      });

      for (const [ns, nodes] of vectors) {
        let dest = t.vectorStores[ns];
        if (!dest) {
          dest = new SimpleVectorStore();
          t.addVectorStore(dest, ns);
        }
        const d = dest;
        await step(`vectors ${ns}`, nodes, async (b) => {
          await d.add(b);
        });
        // Rows read from a LlamaIndex file keep their exact embeddings and metadata entries.
        const from = s.vectorStores[ns];
        if (from instanceof SimpleVectorStore && d instanceof SimpleVectorStore) copyExactSources(from, d);
      }

      if (graphCopy?.kind === "verbatim") {
        t.propertyGraphStore = graphCopy.copy();
        copied["graph nodes"] = graphNodes.length;
        copied["relations"] = triplets.length;
      } else if (data.graph) {
        t.propertyGraphStore ??= new SimplePropertyGraphStore();
        const tg = t.propertyGraphStore;
        await step("graph nodes", graphNodes, (b) => tg.upsertNodes(b));
        await step("relations", triplets.map((x) => x[1]), (b) => tg.upsertRelations(b));
      }

      if (s.chatStore && chatKeys.length) {
        t.chatStore ??= new SimpleChatStore();
        const sc = s.chatStore;
        const tc = t.chatStore;
        await step("chats", chatKeys, async (b) => {
          // One read and one write per conversation: the chat contract has no multi-key calls.
          for (const k of b) await tc.setMessages(k, await sc.getMessages(k));
        });
      }

      if (target.persistTarget !== undefined) phases.phase(`persisting to ${describeParts(target)}`);
      const persisted = await target.persist();
      phases.stop();
      const result: MigrateResult = {
        from: describeParts(source),
        to: describeParts(target),
        copied,
        seconds: Math.round((performance.now() - t0) / 10) / 100,
      };
      if (!o.json) {
        out(`migrated ${result.from} -> ${result.to} in ${result.seconds}s`);
        for (const [k, n] of Object.entries(copied)) out(`  ${String(n).padStart(8)}  ${k}`);
        if (persisted?.generation !== undefined) out(`  persisted generation ${persisted.generation}`);
      }
      return result;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
