import { resolve as resolvePath } from "node:path";
import { SimpleChatStore, type ChatStoreDict } from "../chat/simple-chat-store.js";
import type { ChatStore } from "../chat/types.js";
import { KVDocumentStore } from "../docstore/kv-document-store.js";
import { SimpleDocumentStore } from "../docstore/simple-document-store.js";
import type { DocStore } from "../docstore/types.js";
import { errors, isStorageError, redactCredentials } from "../errors.js";
import { resolveFileSystem } from "../fs/registry.js";
import type { FileSystem } from "../fs/types.js";
import { SimplePropertyGraphStore } from "../graph/simple-property-graph-store.js";
import type { PropertyGraphStore } from "../graph/types.js";
import { KVIndexStore } from "../indexstore/kv-index-store.js";
import { SimpleIndexStore } from "../indexstore/simple-index-store.js";
import type { IndexStore } from "../indexstore/types.js";
import { SimpleKVStore, type KVDict, type Stored } from "../kv/simple-kv-store.js";
import type { JsonObject } from "../kv/types.js";
import { SimpleVectorStore, type LlamaIndexVectorStoreDict } from "../vector/simple-vector-store.js";
import { VectorMatrix } from "../vector/kernel.js";
import type { VectorStore } from "../vector/types.js";
import { joinPath } from "./fs-io.js";
import { pyJson, pyJsonFromJsonText, pyJsonParts } from "./json-stream.js";
import { jsonTreeComponent, type LarderBase, type LarderComponent, readLarder, writeLarder } from "./larder-format.js";
import {
  chatStoreParts,
  fileVersionOf,
  compactJsonParts,
  checkLlamaIndexVersion,
  DEFAULT_LLAMAINDEX_VERSION,
  hasLlamaIndexIndexData,
  isLlamaIndexDir,
  type LlamaIndexVersion,
  propertyGraphParts,
  readChatStoreFile,
  readPropertyGraphFile,
  readKVFile,
  readVectorStoreFile,
  rememberVectorSources,
  rememberExactEmbeddings,
  vectorSourcesOf,
  rememberFileVersion,
  rememberFileVersionFrom,
  withFileVersion,
  LLAMAINDEX_FILES,
  listDir,
  normaliseChatDict,
  normaliseVectorDict,
  pyDictParts,
  readJsonFile,
  vectorNamespaces,
  vectorStoreFileName,
  vectorStoreParts,
  writePyJson,
  type VectorStoreDict,
} from "./llamaindex-format.js";
import { type ComponentEntry, type LarderManifest, MANIFEST_FILE, type SkippedEntry } from "./manifest.js";
import { checkDocstoreDict, checkIndexStoreDict } from "./llamaindex-verify.js";
import { SimpleGraphStore } from "./simple-graph-store.js";
import { llamaIndexExportKV } from "./llamaindex-export.js";
import { readVectorComponent, vectorComponent, type VectorMemory } from "./vector-component.js";
import { kvComponent as kvLarderComponent, readKVComponent, readTreeWithDeltas, type KVMemory } from "./kv-component.js";

export type PersistFormat = "larder" | "llamaindex";

/** Vector namespaces LlamaIndex uses. */
export const DEFAULT_VECTOR_NAMESPACE = "default";
export const IMAGE_VECTOR_NAMESPACE = "image";
export const DEFAULT_PERSIST_DIR = "./storage";

export interface StorageContextInit {
  docStore?: DocStore;
  indexStore?: IndexStore;
  /** Shorthand for `vectorStores: {default: vectorStore}`. */
  vectorStore?: VectorStore;
  /** Vector stores by namespace (`default`, `image`, ...). */
  vectorStores?: Record<string, VectorStore>;
  /** Added under the `image` namespace (LlamaIndex's `image_store`). */
  imageStore?: VectorStore;
  propertyGraphStore?: PropertyGraphStore;
  /** LlamaIndex's legacy triplet store (`graph_store.json`). */
  graphStore?: SimpleGraphStore;
  chatStore?: ChatStore;
}

export interface FromDefaultsOptions extends StorageContextInit {
  /**
   * Where to load from (when something is persisted there) and the default target of `persist()`.
   * A path, or a URL (`file://`, `memory://`, `s3://...` once `@larder/fs-s3` is imported).
   */
  persistDir?: string;
  /** The FileSystem `persistDir` is a path in (default: resolved from `persistDir`). */
  fs?: FileSystem;
}

export interface PersistOptions {
  /** The FileSystem `dir` is a path in. Default: resolved from `dir` (path or URL). */
  fs?: FileSystem;
  /** Default `"larder"`. */
  format?: PersistFormat;
  /**
   * Larder format: write only what changed since this context's last persist to the same place
   * (vector deltas, reuse of unchanged components). Default true. Changes are found through the
   * stores' mutation counters and change logs; no copy of persisted data is kept.
   */
  incremental?: boolean;
  /**
   * Larder format. By default a persist commits only on top of the generation this context loaded
   * from `dir` (or last committed there): if another writer committed since, or `dir` holds a store
   * this context did not load, it fails with `CONFLICT` naming both generations, and nothing is
   * written. `overwrite: true` replaces whatever generation is current with this context's state
   * (the other writer's changes are dropped). Either way the commit itself is a compare-and-swap:
   * a writer committing at the same moment makes this one fail with `CONFLICT`.
   */
  overwrite?: boolean;
  /**
   * LlamaIndex format: the Python LlamaIndex version whose file forms to write where versions
   * differ (the chat store: a JSON string for 0.10, `json.dumps` for 0.12, compact for 0.14; the
   * property graph: `json.dumps` for 0.10, compact after). Default: the form the store's file had
   * when it was loaded, else `"0.14"`.
   */
  llamaIndexVersion?: LlamaIndexVersion;
}

export interface PersistResult {
  format: PersistFormat;
  /** Larder format: the generation committed (the next persist of this context is based on it). */
  generation?: number;
  /** Files written (names inside the directory). */
  written: string[];
  /** Larder format: components whose files were reused unchanged. */
  reused: string[];
  /** Stores not written because they persist themselves (remote stores). */
  skipped: string[];
}

export interface FromPersistDirOptions extends StorageContextInit {
  fs?: FileSystem;
}

/** `StorageContext.toDict()`: LlamaIndex's shape (plus `chat_store`). */
export interface StorageContextDict {
  vector_store: Record<string, LlamaIndexVectorStoreDict>;
  doc_store: KVDict;
  index_store: KVDict;
  graph_store: { graph_dict: Record<string, [string, string][]> } | null;
  property_graph_store: Record<string, unknown> | null;
  chat_store?: ChatStoreDict | null;
}

const NAMESPACE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkNamespace(ns: string): void {
  if (typeof ns !== "string" || !NAMESPACE_RE.test(ns) || ns.includes("__") || ns.length > 100) {
    throw errors.invalid(
      `vector store namespace ${JSON.stringify(ns)} must be 1-100 characters [A-Za-z0-9._-], start with a letter or digit and not contain "__"`,
    );
  }
}

/** Docstore / index store over an in-memory SimpleKVStore: persisted by us. */
function memoryKV(store: unknown): SimpleKVStore | undefined {
  if ((store instanceof KVDocumentStore || store instanceof KVIndexStore) && store.kvStore instanceof SimpleKVStore) return store.kvStore;
  return undefined;
}

function storeName(store: object): string {
  return (store as { name?: unknown }).name && typeof (store as { name?: unknown }).name === "string"
    ? ((store as { name: string }).name)
    : store.constructor.name;
}

/** The namespace prefix of KV collections like `docstore/data` (what the file does not record). */
function inferNamespace(collections: Iterable<string>, suffixes: readonly string[], fallback: string): string {
  const prefixes = new Set<string>();
  for (const c of collections) {
    for (const s of suffixes) if (c.endsWith(s) && c.length > s.length) prefixes.add(c.slice(0, -s.length));
  }
  return prefixes.size === 1 ? [...prefixes][0]! : fallback;
}

const DOC_SUFFIXES = ["/data", "/metadata", "/ref_doc_info"];

function docStoreFromDict(dict: KVDict): SimpleDocumentStore {
  return new SimpleDocumentStore(SimpleKVStore.fromDict(dict), { namespace: inferNamespace(Object.keys(dict), DOC_SUFFIXES, "docstore") });
}

function indexStoreFromDict(dict: KVDict): SimpleIndexStore {
  return new SimpleIndexStore(SimpleKVStore.fromDict(dict), { namespace: inferNamespace(Object.keys(dict), ["/data"], "index_store") });
}

/** A stored value kept as JSON text (not parsed to be re-printed: see {@link pyJsonFromJsonText}). */
class StoredJsonText {
  constructor(readonly text: string) {}
}

/**
 * A live view of a SimpleKVStore's content (values not copied: serialised right away). Values the
 * store keeps as JSON text (node JSON, loaded values) stay text.
 */
function kvView(kv: SimpleKVStore): Record<string, Record<string, JsonObject | StoredJsonText>> {
  // Null-prototype objects: any key (even "__proto__") is an ordinary own property.
  const out = Object.create(null) as Record<string, Record<string, JsonObject | StoredJsonText>>;
  for (const [c, k, v] of kv.serializedEntries()) {
    let m = out[c];
    if (!m) {
      m = Object.create(null) as Record<string, JsonObject | StoredJsonText>;
      out[c] = m;
    }
    m[k] = typeof v === "string" ? new StoredJsonText(v) : ArrayBuffer.isView(v) ? new StoredJsonText(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("utf8")) : v;
  }
  return out;
}

/** `docstore.json` / `index_store.json`: Python's `json.dumps` of the two-level dict. */
function kvFileParts(kv: SimpleKVStore): Generator<string> {
  return pyJsonParts(kvView(kv), 2, (v, k) => (v instanceof StoredJsonText ? pyJsonFromJsonText(v.text) : pyJson(v, k)));
}

interface Target {
  fs: FileSystem;
  dir: string;
  /** Identifies the place for the persist memory. */
  key: string;
}

const fsIds = new WeakMap<FileSystem, number>();
let nextFsId = 1;

async function resolveTarget(dir: string | undefined, fs: FileSystem | undefined): Promise<Target> {
  if (fs) {
    const d = (dir ?? "").replace(/^\.\/+/, "").replace(/\/+$/, "");
    let id = fsIds.get(fs);
    if (id === undefined) {
      id = nextFsId++;
      fsIds.set(fs, id);
    }
    return { fs, dir: d === "." ? "" : d, key: `fs#${id}:${d}` };
  }
  const where = dir ?? DEFAULT_PERSIST_DIR;
  if (typeof where !== "string" || where === "") throw errors.invalid("persist dir must be a non-empty path or URL");
  const isUrl = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(where);
  const resolved = await resolveFileSystem(where);
  return { fs: resolved, dir: "", key: isUrl ? where.replace(/\/+$/, "") : resolvePath(where) };
}

/**
 * The stores of an application (LlamaIndex's `StorageContext`): a document store, an index store,
 * vector stores by namespace, optionally a property graph store, the legacy graph store and a
 * chat store. `persist` writes the in-memory ones (crash-safe Larder format by default, or
 * LlamaIndex's files); stores that live in a server persist themselves and are skipped.
 */
export class StorageContext {
  docStore: DocStore;
  indexStore: IndexStore;
  vectorStores: Record<string, VectorStore>;
  propertyGraphStore: PropertyGraphStore | undefined;
  graphStore: SimpleGraphStore | undefined;
  chatStore: ChatStore | undefined;
  /** Default target of {@link persist} (set by `fromDefaults`/`fromPersistDir`). */
  persistDir: string | undefined;
  fs: FileSystem | undefined;
  /** Per persist place: what was last written there, for incremental persists. */
  readonly #memory = new Map<string, Map<string, VectorMemory>>();
  /** Per persist place: the docstore / index store references last written there. */
  readonly #kvMemory = new Map<string, Map<string, KVMemory>>();
  /** Per persist place: the Larder generation this context loaded or last committed there. */
  readonly #bases = new Map<string, LarderBase>();
  #persisting: Promise<unknown> = Promise.resolve();

  constructor(init: StorageContextInit = {}) {
    this.docStore = init.docStore ?? new SimpleDocumentStore();
    this.indexStore = init.indexStore ?? new SimpleIndexStore();
    const vs: Record<string, VectorStore> = init.vectorStores
      ? { ...init.vectorStores }
      : { [DEFAULT_VECTOR_NAMESPACE]: init.vectorStore ?? new SimpleVectorStore() };
    if (init.vectorStores && init.vectorStore) vs[DEFAULT_VECTOR_NAMESPACE] = init.vectorStore;
    if (init.imageStore) vs[IMAGE_VECTOR_NAMESPACE] = init.imageStore;
    for (const ns of Object.keys(vs)) checkNamespace(ns);
    this.vectorStores = vs;
    this.propertyGraphStore = init.propertyGraphStore;
    this.graphStore = init.graphStore ?? new SimpleGraphStore();
    this.chatStore = init.chatStore;
    this.persistDir = undefined;
    this.fs = undefined;
  }

  /** The `default` vector store (`NOT_FOUND` when there is none). */
  get vectorStore(): VectorStore {
    const v = this.vectorStores[DEFAULT_VECTOR_NAMESPACE];
    if (!v) throw errors.notFound('no vector store under the "default" namespace');
    return v;
  }

  addVectorStore(store: VectorStore, namespace: string = DEFAULT_VECTOR_NAMESPACE): void {
    checkNamespace(namespace);
    this.vectorStores[namespace] = store;
  }

  /**
   * Builds a context from the given stores, defaulting the rest to in-memory ones. With
   * `persistDir`, stores not given are loaded from there when something is persisted there
   * (either format); an empty or missing directory gives empty stores. `persist()` then writes
   * back to `persistDir`.
   */
  static async fromDefaults(options: FromDefaultsOptions = {}): Promise<StorageContext> {
    const { persistDir, fs, ...init } = options;
    if (persistDir === undefined) return new StorageContext(init);
    const target = await resolveTarget(persistDir, fs);
    const detected = await detectFormat(target);
    const ctx = detected ? await StorageContext.#load(target, detected, init) : new StorageContext(init);
    ctx.persistDir = persistDir;
    ctx.fs = fs;
    return ctx;
  }

  /**
   * Loads a persist dir (path or URL; or a path in `fs`). The format is detected: `larder.json`
   * means the Larder format, else LlamaIndex's files (Python-written ones included). Stores given
   * in `options` are used as they are instead of being loaded.
   *
   * Nothing persisted there (no manifest, no LlamaIndex files): `NOT_FOUND` with
   * `details.reason === "empty"` — the only case a caller may treat as "no store yet". A store that
   * exists but does not load is another error: `CORRUPT` (damaged manifest or file, named in
   * `details.file`), `NOT_FOUND` naming the missing file in `details.file` (no `reason`),
   * `UNSUPPORTED` (newer format), `INVALID_ARGUMENT` (a remote store to pass in), `CONNECTION`.
   */
  static async fromPersistDir(dir: string, options: FromPersistDirOptions = {}): Promise<StorageContext> {
    const { fs, ...init } = options;
    const target = await resolveTarget(dir, fs);
    const detected = await detectFormat(target);
    if (!detected) {
      throw errors.notFound(`nothing persisted at ${JSON.stringify(dir)}: no ${MANIFEST_FILE} and no LlamaIndex files`, {
        details: { dir: redactCredentials(dir), reason: "empty" },
      });
    }
    const ctx = await StorageContext.#load(target, detected, init);
    ctx.persistDir = dir;
    ctx.fs = fs;
    return ctx;
  }

  static async #load(target: Target, format: PersistFormat, init: StorageContextInit): Promise<StorageContext> {
    if (format === "llamaindex") return loadLlamaIndex(target, init);
    const ctx = new StorageContext({ ...init, graphStore: init.graphStore ?? new SimpleGraphStore() });
    const memory = new Map<string, VectorMemory>();
    const read = await readLarder(target.fs, target.dir, async (manifest) => {
      memory.clear();
      return loadLarderComponents(target, manifest, init, memory);
    });
    if (!read) throw errors.notFound(`${joinPath(target.dir, MANIFEST_FILE)} disappeared while loading`);
    const loaded = read.value;
    if (loaded.docStore) ctx.docStore = loaded.docStore;
    if (loaded.indexStore) ctx.indexStore = loaded.indexStore;
    if (!init.vectorStores && !init.vectorStore) ctx.vectorStores = {};
    for (const [ns, v] of Object.entries(loaded.vectorStores)) ctx.vectorStores[ns] = v;
    if (loaded.propertyGraphStore) ctx.propertyGraphStore = loaded.propertyGraphStore;
    if (loaded.graphStore) ctx.graphStore = loaded.graphStore;
    if (loaded.chatStore) ctx.chatStore = loaded.chatStore;
    // (Vector memories name their store; kv memories are built here.)
    const kvMemory = new Map<string, KVMemory>();
    for (const [name, store] of [["docstore", loaded.docStore], ["index_store", loaded.indexStore]] as const) {
      const kv = store ? memoryKV(store) : undefined;
      const entry = read.manifest.components[name];
      if (kv && entry && loaded.refs[name]) kvMemory.set(name, { entry, version: kv.version, kv });
    }
    ctx.#kvMemory.set(target.key, kvMemory);
    const graphFile = read.manifest.components["graph_store"]?.file;
    if (loaded.graphStore && graphFile) ctx.#graphVersion = { store: loaded.graphStore, version: loaded.graphStore.version, key: target.key, file: graphFile };
    ctx.#memory.set(target.key, memory);
    ctx.#bases.set(target.key, read.base);
    return ctx;
  }

  /**
   * Writes the in-memory stores to `dir` (default: the context's `persistDir`, else `./storage`).
   * Larder format: a new generation, committed atomically on top of the generation this context
   * loaded or last committed there (see docs/persistence.md); if another writer committed since,
   * or the directory holds a store this context did not load, CONFLICT (unless `overwrite`). LlamaIndex format: Python-compatible files, each written
   * atomically. Persists of one context are serialised.
   */
  async persist(dir?: string, options: PersistOptions = {}): Promise<PersistResult> {
    const run = this.#persisting.then(
      () => this.#persist(dir, options),
      () => this.#persist(dir, options),
    );
    this.#persisting = run.catch(() => undefined);
    return run;
  }

  async #persist(dir: string | undefined, options: PersistOptions): Promise<PersistResult> {
    const format = options.format ?? "larder";
    if (format !== "larder" && format !== "llamaindex") throw errors.invalid(`unknown persist format ${JSON.stringify(format)}`);
    if (options.overwrite !== undefined && typeof options.overwrite !== "boolean") throw errors.invalid("persist option overwrite must be a boolean");
    for (const ns of Object.keys(this.vectorStores)) checkNamespace(ns);
    const fs = options.fs ?? (dir === undefined ? this.fs : undefined);
    const target = await resolveTarget(dir ?? this.persistDir, fs);
    const liVersion = checkLlamaIndexVersion(options.llamaIndexVersion);
    if (format === "llamaindex") return this.#persistLlamaIndex(target, liVersion);

    const skipped: Record<string, SkippedEntry> = {};
    const components: LarderComponent[] = [];
    const memory = this.#memory.get(target.key) ?? new Map<string, VectorMemory>();
    const incremental = options.incremental ?? true;

    const kvMemory = this.#kvMemory.get(target.key) ?? new Map<string, KVMemory>();
    const kvComponent = (name: "docstore" | "index_store", store: DocStore | IndexStore) => {
      const kv = memoryKV(store);
      if (!kv) {
        skipped[name] = { kind: name, store: storeName(store), reason: "remote" };
        return;
      }
      components.push(
        kvLarderComponent({
          name,
          kind: name,
          storeName: storeName(store),
          suffix: name,
          kv,
          memory: kvMemory.get(name),
          remember: (m) => kvMemory.set(name, m),
          incremental,
        }),
      );
    };
    kvComponent("docstore", this.docStore);
    kvComponent("index_store", this.indexStore);

    for (const [ns, store] of Object.entries(this.vectorStores)) {
      const name = `vector_store/${ns}`;
      if (!(store instanceof SimpleVectorStore)) {
        skipped[name] = { kind: "vector_store", namespace: ns, store: storeName(store), reason: "remote" };
        continue;
      }
      components.push(
        vectorComponent({
          name,
          namespace: ns,
          storeName: storeName(store),
          suffix: `${ns}.vectors`,
          store,
          memory: memory.get(name)?.store === store ? memory.get(name) : undefined,
          remember: (m) => memory.set(name, m),
          incremental,
        }),
      );
    }

    if (this.propertyGraphStore) {
      const pg = this.propertyGraphStore;
      if (pg instanceof SimplePropertyGraphStore) {
        components.push(
          jsonTreeComponent({
            name: "property_graph_store",
            kind: "property_graph_store",
            storeName: storeName(pg),
            suffix: "property_graph",
            depth: 2,
            tree: () => withFileVersion(pg.toDict(), pg),
          }),
        );
      } else skipped["property_graph_store"] = { kind: "property_graph_store", store: storeName(pg), reason: "remote" };
    }
    if (this.graphStore) {
      const g = this.graphStore;
      const version = g.version;
      const remembered = this.#graphVersion;
      components.push(
        jsonTreeComponent({
          name: "graph_store",
          kind: "graph_store",
          storeName: g.name,
          suffix: "graph",
          depth: 2,
          tree: () => g.toDict(),
          unchanged: (prev) => incremental && remembered?.store === g && remembered.version === version && remembered.key === target.key && remembered.file === prev.file,
          committed: (entry) => (this.#graphVersion = { store: g, version, key: target.key, file: entry.file }),
        }),
      );
    }
    if (this.chatStore) {
      const c = this.chatStore;
      if (c instanceof SimpleChatStore) {
        components.push(
          jsonTreeComponent({ name: "chat_store", kind: "chat_store", storeName: storeName(c), suffix: "chat", depth: 2, tree: () => withFileVersion(c.toDict(), c) }),
        );
      } else skipped["chat_store"] = { kind: "chat_store", store: storeName(c), reason: "remote" };
    }

    const result = await writeLarder(target.fs, target.dir, components, skipped, {
      base: options.overwrite === true ? undefined : (this.#bases.get(target.key) ?? null),
    });
    this.#bases.set(target.key, result.base);
    // Forget vector memories of namespaces that are gone.
    for (const name of [...memory.keys()]) if (!(name in result.manifest.components)) memory.delete(name);
    this.#memory.set(target.key, memory);
    for (const name of [...kvMemory.keys()]) if (!(name in result.manifest.components)) kvMemory.delete(name);
    this.#kvMemory.set(target.key, kvMemory);
    const written = Object.values(result.manifest.components)
      .filter((e) => !result.reused.includes(componentName(result.manifest, e)))
      .flatMap((e) => filesWrittenBy(e, result.manifest.generation));
    return {
      format: "larder",
      generation: result.manifest.generation,
      written: [...written, MANIFEST_FILE],
      reused: result.reused,
      skipped: Object.keys(skipped),
    };
  }

  #graphVersion: { store: SimpleGraphStore; version: number; key: string; file: string } | undefined;

  async #persistLlamaIndex(target: Target, liVersion: LlamaIndexVersion | undefined): Promise<PersistResult> {
    const { fs, dir } = target;
    if (await fs.exists(joinPath(dir, MANIFEST_FILE))) {
      throw errors.invalid(
        `${joinPath(dir, MANIFEST_FILE)} exists: this directory holds a Larder-format store, which would keep taking precedence when loading. ` +
          "Persist the LlamaIndex format to another directory (or remove the Larder files first).",
      );
    }
    const written: string[] = [];
    const skipped: string[] = [];
    // Python's retriever needs every vector row's node in the docstore and in `nodes_dict` (llamaindex-export.ts).
    const { docKV, indexKV: idxKV } = await llamaIndexExportKV({ docStore: this.docStore, indexStore: this.indexStore, vectorStore: this.vectorStores[DEFAULT_VECTOR_NAMESPACE], docKV: memoryKV(this.docStore), indexKV: memoryKV(this.indexStore) });
    // Everything is serialised from the stores before the first write, so a bad store fails early.
    const jobs: [string, Iterable<string>][] = [];
    if (docKV) jobs.push([LLAMAINDEX_FILES.docstore, kvFileParts(docKV)]);
    else skipped.push("docstore");
    if (idxKV) jobs.push([LLAMAINDEX_FILES.indexStore, kvFileParts(idxKV)]);
    else skipped.push("index_store");
    if (this.graphStore) jobs.push([LLAMAINDEX_FILES.graphStore, pyDictParts(this.graphStore.toDict() as unknown as Record<string, unknown>)]);
    if (this.propertyGraphStore instanceof SimplePropertyGraphStore) {
      const version = liVersion ?? fileVersionOf(this.propertyGraphStore) ?? DEFAULT_LLAMAINDEX_VERSION;
      jobs.push([LLAMAINDEX_FILES.propertyGraphStore, propertyGraphParts(this.propertyGraphStore.toDict() as unknown as Record<string, unknown>, version)]);
    } else if (this.propertyGraphStore) skipped.push("property_graph_store");
    for (const [ns, store] of Object.entries(this.vectorStores)) {
      if (store instanceof SimpleVectorStore) jobs.push([vectorStoreFileName(ns), vectorStoreParts(vectorDict(store), vectorSourcesOf(store))]);
      else skipped.push(`vector_store/${ns}`);
    }
    if (this.chatStore instanceof SimpleChatStore) {
      const version = liVersion ?? fileVersionOf(this.chatStore) ?? DEFAULT_LLAMAINDEX_VERSION;
      jobs.push([LLAMAINDEX_FILES.chatStore, chatStoreParts(this.chatStore.toDict() as unknown as Record<string, unknown>, version)]);
    } else if (this.chatStore) skipped.push("chat_store");
    for (const [file, parts] of jobs) {
      await writePyJson(fs, dir, file, parts);
      written.push(file);
    }
    return { format: "llamaindex", written, reused: [], skipped };
  }

  /**
   * LlamaIndex's `StorageContext.to_dict()` shape (plus `chat_store`). Only for in-memory stores:
   * a remote store is UNSUPPORTED here (it is not data this process holds).
   */
  toDict(): StorageContextDict {
    const docKV = memoryKV(this.docStore);
    const idxKV = memoryKV(this.indexStore);
    if (!docKV || !idxKV) throw errors.unsupported("toDict needs in-memory (Simple*) document and index stores");
    const vector_store: Record<string, LlamaIndexVectorStoreDict> = {};
    for (const [ns, s] of Object.entries(this.vectorStores)) {
      if (!(s instanceof SimpleVectorStore)) throw errors.unsupported(`toDict needs in-memory vector stores; "${ns}" is ${storeName(s)}`);
      vector_store[ns] = s.toDict();
    }
    let property_graph_store: Record<string, unknown> | null = null;
    if (this.propertyGraphStore) {
      if (!(this.propertyGraphStore instanceof SimplePropertyGraphStore)) throw errors.unsupported("toDict needs an in-memory property graph store");
      property_graph_store = this.propertyGraphStore.toDict() as unknown as Record<string, unknown>;
    }
    let chat_store: ChatStoreDict | null = null;
    if (this.chatStore) {
      if (!(this.chatStore instanceof SimpleChatStore)) throw errors.unsupported("toDict needs an in-memory chat store");
      chat_store = this.chatStore.toDict();
    }
    return {
      vector_store,
      doc_store: docKV.toDict(),
      index_store: idxKV.toDict(),
      graph_store: this.graphStore ? this.graphStore.toDict() : null,
      property_graph_store,
      chat_store,
    };
  }

  /** Rebuilds in-memory stores from {@link toDict}'s shape (Python's `to_dict()` output too). */
  static fromDict(d: StorageContextDict): StorageContext {
    if (typeof d !== "object" || d === null) throw errors.invalid("StorageContext.fromDict needs an object");
    const vectorStores: Record<string, VectorStore> = {};
    for (const [ns, v] of Object.entries(d.vector_store ?? {})) {
      checkNamespace(ns);
      vectorStores[ns] = SimpleVectorStore.fromDict(normaliseVectorDict(v, `vector_store.${ns}`) as LlamaIndexVectorStoreDict);
    }
    if (Object.keys(vectorStores).length === 0) vectorStores[DEFAULT_VECTOR_NAMESPACE] = new SimpleVectorStore();
    const init: StorageContextInit = {
      docStore: docStoreFromDict(d.doc_store ?? {}),
      indexStore: indexStoreFromDict(d.index_store ?? {}),
      vectorStores,
      graphStore: d.graph_store ? SimpleGraphStore.fromDict(d.graph_store) : new SimpleGraphStore(),
    };
    if (d.property_graph_store) init.propertyGraphStore = SimplePropertyGraphStore.fromDict(d.property_graph_store);
    if (d.chat_store) init.chatStore = SimpleChatStore.fromDict(d.chat_store);
    return new StorageContext(init);
  }
}

function componentName(manifest: LarderManifest, entry: ComponentEntry): string {
  return Object.entries(manifest.components).find(([, e]) => e === entry)?.[0] ?? "";
}

function filesWrittenBy(entry: ComponentEntry, generation: number): string[] {
  const out: string[] = [];
  if (entry.generation === generation) {
    out.push(entry.file);
    if (entry.vectors) out.push(entry.vectors.file);
    if (entry.exact) out.push(entry.exact.file);
  }
  for (const d of entry.deltas ?? []) {
    if (d.generation !== generation) continue;
    out.push(d.file);
    if (d.vectors) out.push(d.vectors.file);
  }
  return out;
}

/** The `__vector_store.json` dict. */
function vectorDict(store: SimpleVectorStore): VectorStoreDict {
  const d = store.toDict();
  return { embedding_dict: d.embedding_dict, text_id_to_ref_doc_id: d.text_id_to_ref_doc_id, metadata_dict: d.metadata_dict ?? {} };
}

async function detectFormat(target: Target): Promise<PersistFormat | undefined> {
  if (await target.fs.exists(joinPath(target.dir, MANIFEST_FILE))) return "larder";
  const files = await listDir(target.fs, target.dir);
  if (files.includes(MANIFEST_FILE)) return "larder";
  return isLlamaIndexDir(files) ? "llamaindex" : undefined;
}

interface LoadedStores {
  /** The values the docstore / index store adopted (for incremental persists). */
  /** The KV components loaded from the directory (not passed in), to remember for the next persist. */
  refs: Partial<Record<"docstore" | "index_store", true>>;
  docStore?: DocStore;
  indexStore?: IndexStore;
  vectorStores: Record<string, VectorStore>;
  propertyGraphStore?: PropertyGraphStore;
  graphStore?: SimpleGraphStore;
  chatStore?: ChatStore;
}

function requireOverride(entry: SkippedEntry, name: string, given: unknown, option: string): void {
  if (given === undefined) {
    throw errors.invalid(
      `${name} was a ${entry.store} (a store that persists itself) when this directory was written; pass it to fromPersistDir({${option}}) to load the rest`,
    );
  }
}

async function loadLarderComponents(
  target: Target,
  manifest: LarderManifest,
  init: StorageContextInit,
  memory: Map<string, VectorMemory>,
): Promise<LoadedStores> {
  const { fs, dir } = target;
  const out: LoadedStores = { vectorStores: {}, refs: {} };
  for (const [name, entry] of Object.entries(manifest.skipped)) {
    if (name === "docstore") requireOverride(entry, name, init.docStore, "docStore");
    else if (name === "index_store") requireOverride(entry, name, init.indexStore, "indexStore");
    else if (name === "property_graph_store") requireOverride(entry, name, init.propertyGraphStore, "propertyGraphStore");
    else if (name === "chat_store") requireOverride(entry, name, init.chatStore, "chatStore");
    else if (entry.kind === "vector_store" && entry.namespace !== undefined) {
      const given = init.vectorStores?.[entry.namespace] ?? (entry.namespace === DEFAULT_VECTOR_NAMESPACE ? init.vectorStore : undefined);
      requireOverride(entry, name, given, `vectorStores: {${entry.namespace}: ...}`);
    }
  }
  const jobs = Object.entries(manifest.components).map(async ([name, entry]) => {
    switch (entry.kind) {
      case "docstore":
        if (!init.docStore) {
          const maps = await readKVComponent(fs, dir, entry);
          out.refs.docstore = true;
          out.docStore = new SimpleDocumentStore(SimpleKVStore.fromTrustedMaps(maps), { namespace: inferNamespace(maps.keys(), DOC_SUFFIXES, "docstore") });
        }
        return;
      case "index_store":
        if (!init.indexStore) {
          const maps = await readKVComponent(fs, dir, entry);
          out.refs.index_store = true;
          out.indexStore = new SimpleIndexStore(SimpleKVStore.fromTrustedMaps(maps), { namespace: inferNamespace(maps.keys(), ["/data"], "index_store") });
        }
        return;
      case "vector_store": {
        const ns = entry.namespace ?? DEFAULT_VECTOR_NAMESPACE;
        if (init.vectorStores?.[ns] || (ns === DEFAULT_VECTOR_NAMESPACE && init.vectorStore)) return;
        // The packed vectors are read straight into the new store's kernel memory when they can be.
        let matrix: VectorMatrix | undefined;
        const rows = await readVectorComponent(fs, dir, entry, (dim, metric, count) => {
          matrix = new VectorMatrix({ dim, metric, initialCapacity: 1 });
          return matrix.packedTarget(count);
        });
        let store: SimpleVectorStore;
        try {
          const snapshot = { version: 1 as const, dim: rows.dim, metric: rows.metric, ids: rows.ids, nodes: rows.nodes };
          store = rows.vectors
            ? SimpleVectorStore.fromTrustedSnapshot({ ...snapshot, vectors: rows.vectors })
            : SimpleVectorStore.fromTrustedMatrix(snapshot, matrix!);
        } catch (err) {
          throw corruptIn(err, joinPath(dir, entry.file));
        }
        rememberExactEmbeddings(store, rows.exact);
        out.vectorStores[ns] = store;
        memory.set(name, { entry, store, version: store.version });
        return;
      }
      case "property_graph_store":
        if (!init.propertyGraphStore) {
          const tree = await readTreeWithDeltas(fs, dir, entry);
          try {
            out.propertyGraphStore = SimplePropertyGraphStore.fromDict(tree);
            rememberFileVersionFrom(out.propertyGraphStore, tree);
          } catch (err) {
            throw corruptIn(err, joinPath(dir, entry.file));
          }
        }
        return;
      case "graph_store":
        if (!init.graphStore) out.graphStore = SimpleGraphStore.fromDict(await readTreeWithDeltas(fs, dir, entry));
        return;
      case "chat_store":
        if (!init.chatStore) {
          const tree = await readTreeWithDeltas(fs, dir, entry);
          out.chatStore = SimpleChatStore.fromDict(tree as ChatStoreDict);
          rememberFileVersionFrom(out.chatStore, tree);
        }
        return;
    }
  });
  await Promise.all(jobs);
  return out;
}

function corruptIn(err: unknown, file: string): unknown {
  if (isStorageError(err, "CORRUPT") && String(err.message).includes(file)) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return errors.corrupt(`${file}: ${msg}`, { cause: err, details: { file } });
}

/** Loads a LlamaIndex persist dir (Python-written or ours), including older variants. */
async function loadLlamaIndex(target: Target, init: StorageContextInit): Promise<StorageContext> {
  const { fs, dir } = target;
  const files = await listDir(fs, dir);
  const need = async (file: string): Promise<unknown> => {
    const v = await readJsonFile(fs, dir, file);
    if (v === undefined) throw errors.notFound(`${joinPath(dir, file)} is missing`, { details: { file: joinPath(dir, file) } });
    return v;
  };
  const wrap = <T>(file: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw corruptIn(err, joinPath(dir, file));
    }
  };
  const stores: StorageContextInit = { ...init };
  // A folder with only graph and/or chat files has empty document and index stores.
  const indexData = hasLlamaIndexIndexData(files);
  // Docstore and index store values are kept as the bytes Python wrote (readKVFile): unchanged
  // values are written back exactly, in both formats.
  const needKV = async (file: string) => {
    const v = await readKVFile(fs, dir, file);
    if (v === undefined) throw errors.notFound(`${joinPath(dir, file)} is missing`, { details: { file: joinPath(dir, file) } });
    return v;
  };
  if (!init.docStore && indexData) {
    const d = await needKV(LLAMAINDEX_FILES.docstore);
    checkDocstoreDict(d.dict, joinPath(dir, LLAMAINDEX_FILES.docstore));
    stores.docStore = new SimpleDocumentStore(SimpleKVStore.fromTrustedMaps(d.maps as Map<string, Map<string, Stored>>), {
      namespace: inferNamespace(d.maps.keys(), DOC_SUFFIXES, "docstore"),
    });
  }
  if (!init.indexStore && indexData) {
    const d = await needKV(LLAMAINDEX_FILES.indexStore);
    checkIndexStoreDict(d.dict, joinPath(dir, LLAMAINDEX_FILES.indexStore));
    stores.indexStore = new SimpleIndexStore(SimpleKVStore.fromTrustedMaps(d.maps as Map<string, Map<string, Stored>>), {
      namespace: inferNamespace(d.maps.keys(), ["/data"], "index_store"),
    });
  }
  if (!init.vectorStores && !init.vectorStore) {
    const vectorStores: Record<string, VectorStore> = {};
    for (const [ns, file] of vectorNamespaces(files)) {
      const read = await readVectorStoreFile(fs, dir, file);
      if (read === undefined) throw errors.notFound(`${joinPath(dir, file)} is missing`, { details: { file: joinPath(dir, file) } });
      const store = wrap(file, () => SimpleVectorStore.fromDict(normaliseVectorDict(read.value, joinPath(dir, file)) as LlamaIndexVectorStoreDict));
      rememberVectorSources(store, read.sources); // unchanged metadata_dict entries are written back as read
      vectorStores[ns] = store;
    }
    stores.vectorStores = vectorStores;
  }
  if (!init.graphStore) {
    const g = files.includes(LLAMAINDEX_FILES.graphStore) ? await need(LLAMAINDEX_FILES.graphStore) : undefined;
    stores.graphStore = g === undefined ? new SimpleGraphStore() : wrap(LLAMAINDEX_FILES.graphStore, () => SimpleGraphStore.fromDict(g));
  }
  if (!init.propertyGraphStore && files.includes(LLAMAINDEX_FILES.propertyGraphStore)) {
    const pg = await readPropertyGraphFile(fs, dir);
    if (!pg) throw errors.notFound(`${joinPath(dir, LLAMAINDEX_FILES.propertyGraphStore)} is missing`, { details: { file: joinPath(dir, LLAMAINDEX_FILES.propertyGraphStore) } });
    const graph = wrap(LLAMAINDEX_FILES.propertyGraphStore, () => SimplePropertyGraphStore.fromDict(pg.value));
    if (pg.version) rememberFileVersion(graph, pg.version);
    stores.propertyGraphStore = graph;
  }
  if (!init.chatStore && files.includes(LLAMAINDEX_FILES.chatStore)) {
    const c = await readChatStoreFile(fs, dir);
    if (!c) throw errors.notFound(`${joinPath(dir, LLAMAINDEX_FILES.chatStore)} is missing`, { details: { file: joinPath(dir, LLAMAINDEX_FILES.chatStore) } });
    const chat = wrap(LLAMAINDEX_FILES.chatStore, () =>
      SimpleChatStore.fromDict(normaliseChatDict(c.value, joinPath(dir, LLAMAINDEX_FILES.chatStore)) as unknown as ChatStoreDict),
    );
    rememberFileVersion(chat, c.version);
    stores.chatStore = chat;
  }
  const ctx = new StorageContext(stores);
  if (!init.vectorStores && !init.vectorStore) ctx.vectorStores = stores.vectorStores ?? {};
  return ctx;
}
