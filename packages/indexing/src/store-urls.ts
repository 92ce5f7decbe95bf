import {
  type ChatStore,
  type DocStore,
  errors,
  type IndexStore,
  type KVStore,
  LLAMAINDEX_FILES,
  type MetadataFilter,
  type MetadataFilters,
  MANIFEST_FILE,
  type PersistFormat,
  type PersistResult,
  type PropertyGraphStore,
  redactCredentials,
  resolveFileSystem,
  StorageContext,
  SimpleVectorStore,
  StorageError,
  validateFilters,
  createFilterPredicate,
  type VectorStore,
  type VectorStoreQuery,
} from "@larder/core";
import { createHash } from "node:crypto";
import { KVVectorStore } from "./kv-vector-store.js";

/**
 * Where each kind of store lives, as URLs. Kinds not given are in-memory stores persisted to
 * `persist` (when given) — see {@link openStorageContext}.
 */
export interface StoreSpec {
  /** Document store and index store: `redis://`, `postgres://`. */
  docs?: string;
  /**
   * The default vector store: `redis://` (a `RedisVectorStore` on the query engine when the server
   * has it, else KV-backed), `postgres://` (pgvector).
   */
  vectors?: string;
  /** Property graph store: `neo4j://`, `bolt://` (and `neo4j+s://`, `bolt+s://`...). */
  graph?: string;
  /** Chat store: `redis://`, `postgres://`. */
  chat?: string;
  /** Where the in-memory stores are loaded from and persisted to: a path, `file://`, `memory://`, `s3://`. */
  persist?: string;
}

export type StoreKind = "docs" | "vectors" | "graph" | "chat" | "persist";
export const STORE_KINDS: readonly StoreKind[] = ["docs", "vectors", "graph", "chat", "persist"];

export type Backend = "local" | "memory" | "s3" | "redis" | "postgres" | "neo4j";

export interface OpenStorageOptions {
  /**
   * Open for writing: a persist location with nothing in it gives empty stores (default true).
   * With `false`, a local/memory/S3 location with nothing persisted is `NOT_FOUND`.
   */
  create?: boolean;
  /** Format of `persist()` (default `"larder"`). */
  format?: PersistFormat;
  /**
   * When the ANN index of a `postgres://` vector store is built (`PostgresVectorStore`'s
   * `indexBuild`): `"on-create"` (default) maintains it on every add; `"manual"` leaves a new table
   * without it until the caller runs `buildIndex()` once after a bulk load (what `larder ingest` does).
   */
  vectorIndexBuild?: "on-create" | "manual";
  /** How adapter packages are loaded (tests). Default: dynamic `import()`. */
  importModule?: (specifier: string) => Promise<unknown>;
  /**
   * Receives notices about how a URL is served — e.g. that a `redis://` server has no query engine,
   * so its vectors use the KV-backed store. Called once per URL per call. Default: Node's
   * `process.emitWarning` (printed once per process on stderr, code `LARDER_REDIS_VECTORS`).
   */
  onNotice?: (message: string) => void;
}

export interface OpenedStorage {
  storageContext: StorageContext;
  /**
   * The resolved spec (each kind's URL, credentials redacted) and its backend. For `vectors`,
   * `store` names the vector store class used (`RedisVectorStore`, `KVVectorStore`,
   * `PostgresVectorStore`).
   */
  parts: Partial<Record<StoreKind, { url: string; backend: Backend; store?: string }>>;
  /** Where in-memory stores persist, if anywhere. */
  persistTarget: string | undefined;
  /** Whether something was already persisted at `persistTarget` when opened. */
  existed: boolean;
  /** Writes the in-memory stores to the persist target (no-op without one). Remote stores write through. */
  persist(): Promise<PersistResult | undefined>;
  /** Closes every connection this call opened. */
  close(): Promise<void>;
}

/** Packages to install for each backend (shown when one is missing). */
export const ADAPTER_PACKAGES: Record<Exclude<Backend, "local" | "memory">, { pkg: string; sdk: string }> = {
  redis: { pkg: "@larder/storage-redis", sdk: "ioredis" },
  postgres: { pkg: "@larder/storage-postgres", sdk: "pg" },
  neo4j: { pkg: "@larder/storage-neo4j", sdk: "neo4j-driver" },
  s3: { pkg: "@larder/fs-s3", sdk: "@aws-sdk/client-s3 @aws-sdk/lib-storage" },
};

/** The backend a URL (or plain path) names. Unknown schemes are INVALID_ARGUMENT. */
export function backendOf(url: string): Backend {
  if (typeof url !== "string" || url.trim() === "") throw errors.invalid("empty store URL");
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url);
  if (!m) return "local";
  const scheme = m[1]!.toLowerCase();
  if (scheme === "file") return "local";
  if (scheme === "memory") return "memory";
  if (scheme === "s3") return "s3";
  if (scheme === "redis" || scheme === "rediss") return "redis";
  if (scheme === "postgres" || scheme === "postgresql") return "postgres";
  if (/^(neo4j|bolt)(\+s|\+ssc)?$/.test(scheme)) return "neo4j";
  throw errors.invalid(
    `unknown store URL scheme "${scheme}://" in ${redactCredentials(url)}; use a path, file://, memory://, s3://, redis://, postgres://, neo4j:// or bolt://`,
  );
}

/**
 * Parses a store spec string: either one URL (see {@link openStorageContext} for what it means)
 * or comma-separated `kind=url` pairs, e.g.
 * `docs=redis://127.0.0.1:6379,vectors=postgres://u:p@db/app,graph=neo4j://db:7687,persist=./storage`.
 */
export function parseStoreSpec(input: string | StoreSpec): StoreSpec {
  if (typeof input === "object" && input !== null) {
    for (const k of Object.keys(input)) {
      if (!STORE_KINDS.includes(k as StoreKind)) throw errors.invalid(`unknown store kind ${JSON.stringify(k)} (known: ${STORE_KINDS.join(", ")})`);
    }
    const spec: StoreSpec = {};
    for (const [k, v] of Object.entries(input)) if (v !== undefined) spec[k as StoreKind] = String(v);
    if (Object.keys(spec).length === 0) throw errors.invalid("store spec names no store");
    return spec;
  }
  if (typeof input !== "string" || input.trim() === "") throw errors.invalid("empty store URL");
  const s = input.trim();
  if (!/^(docs|vectors|graph|chat|persist)=/.test(s)) return singleUrlSpec(s);
  const spec: StoreSpec = {};
  for (const part of s.split(/,(?=(?:docs|vectors|graph|chat|persist)=)/)) {
    const eq = part.indexOf("=");
    const kind = part.slice(0, eq) as StoreKind;
    const url = part.slice(eq + 1);
    if (spec[kind] !== undefined) throw errors.invalid(`store kind ${kind} given twice`);
    if (url === "") throw errors.invalid(`empty URL for ${kind}`);
    spec[kind] = url;
  }
  return spec;
}

function singleUrlSpec(url: string): StoreSpec {
  switch (backendOf(url)) {
    case "local":
    case "memory":
    case "s3":
      return { persist: url };
    case "redis":
    case "postgres":
      return { docs: url, vectors: url, chat: url };
    case "neo4j":
      return { graph: url };
  }
}

const ALLOWED: Record<Exclude<StoreKind, "persist">, readonly Backend[]> = {
  docs: ["redis", "postgres"],
  vectors: ["redis", "postgres"],
  graph: ["neo4j"],
  chat: ["redis", "postgres"],
};

/**
 * Opens a {@link StorageContext} from store URLs.
 *
 * One URL:
 * - a path, `file:///dir`, `memory://name`, `s3://bucket/prefix?endpoint=...`: every store is an
 *   in-memory store loaded from there (when something is persisted there) and `persist()` writes
 *   them back (Larder format by default);
 * - `redis://host:port/db?prefix=app1:`: docstore, index store, chat store and the vector store in
 *   Redis, under an optional key prefix. Vectors: a `RedisVectorStore` (searched inside Redis) when
 *   the server has the query engine (`FT._LIST` answers), unless the prefix already holds KV-backed
 *   vectors; otherwise a {@link KVVectorStore}, with a notice (see {@link OpenStorageOptions.onNotice});
 * - `postgres://user:pass@host/db?namespace=app1`: docstore + index store in the KV table
 *   `{namespace}_kv`, vectors in `{namespace}_vectors` (pgvector), chats in `{namespace}_chat`;
 *   default namespace `larder`; `?schema=` picks the schema (default `public`);
 * - `neo4j://user:pass@host:7687?database=neo4j&namespace=App1` / `bolt://...`: the property
 *   graph in Neo4j; every other store is in memory and not persisted.
 *
 * Or a {@link StoreSpec} (or its string form `docs=...,vectors=...,graph=...,chat=...,persist=...`)
 * to mix backends; kinds not given live in memory and persist to `persist`.
 *
 * Adapters are loaded with `import()` only when a URL needs them; a missing one is UNSUPPORTED
 * with the install command in the message.
 */
export async function openStorageContext(input: string | StoreSpec, options: OpenStorageOptions = {}): Promise<OpenedStorage> {
  const spec = parseStoreSpec(input);
  const importModule = options.importModule ?? ((s: string) => import(s));
  const parts: OpenedStorage["parts"] = {};
  for (const kind of STORE_KINDS) {
    const url = spec[kind];
    if (url === undefined) continue;
    const backend = backendOf(url);
    if (kind === "persist" ? !["local", "memory", "s3"].includes(backend) : !ALLOWED[kind].includes(backend)) {
      const ok = kind === "persist" ? ["local", "memory", "s3"] : ALLOWED[kind];
      throw errors.invalid(`${kind} cannot live in ${backend} (${redactCredentials(url)}); it can be: ${ok.join(", ")}`);
    }
    parts[kind] = { url: redactCredentials(url), backend };
  }

  const notify = options.onNotice ?? emitNoticeOnce;
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    // Reverse order: stores before the clients/pools they share.
    for (const c of closers.reverse()) await c().catch(() => undefined);
    closers.length = 0;
  };
  try {
    const init: { docStore?: DocStore; indexStore?: IndexStore; vectorStore?: VectorStore; propertyGraphStore?: PropertyGraphStore; chatStore?: ChatStore } = {};
    const redis = new Map<string, Promise<{ mod: RedisModule; kv: RedisKV }>>();
    const pgPools = new Map<string, Promise<{ mod: PostgresModule; pool: unknown; ns: string; schema: string | undefined }>>();

    const openRedis = (url: string) => {
      let p = redis.get(url);
      if (!p) {
        p = (async () => {
          const mod = (await loadAdapter(importModule, "redis")) as RedisModule;
          const { clean, params } = takeParams(url, ["prefix"]);
          const kv = new mod.RedisKVStore({ url: clean, prefix: params["prefix"] ?? "" });
          closers.push(() => kv.close());
          return { mod, kv };
        })();
        redis.set(url, p);
      }
      return p;
    };
    const openPg = (url: string) => {
      let p = pgPools.get(url);
      if (!p) {
        p = (async () => {
          const mod = (await loadAdapter(importModule, "postgres")) as PostgresModule;
          const pgMod = (await importModule("pg").catch((e) => rethrowMissing(e, "postgres"))) as { default?: PgModule } & PgModule;
          const Pool = (pgMod.default ?? pgMod).Pool;
          const { clean, params } = takeParams(url, ["namespace", "schema"]);
          const ns = params["namespace"] ?? "larder";
          if (!/^[a-z_][a-z0-9_]{0,40}$/.test(ns)) throw errors.invalid(`namespace must match [a-z_][a-z0-9_]{0,40}, got ${JSON.stringify(ns)}`);
          const pool = new Pool({ connectionString: clean, max: 6, connectionTimeoutMillis: 5000, idleTimeoutMillis: 10_000 });
          (pool as { on(e: string, f: () => void): void }).on("error", () => {});
          closers.push(() => (pool as { end(): Promise<void> }).end());
          return { mod, pool, ns, schema: params["schema"] };
        })();
        pgPools.set(url, p);
      }
      return p;
    };

    if (spec.docs) {
      if (backendOf(spec.docs) === "redis") {
        const { mod, kv } = await openRedis(spec.docs);
        init.docStore = new mod.RedisDocumentStore(kv);
        init.indexStore = new mod.RedisIndexStore(kv);
      } else {
        const { mod, pool, ns, schema } = await openPg(spec.docs);
        const kv = new mod.PostgresKVStore({ pool, table: `${ns}_kv`, ...(schema ? { schema } : {}) });
        init.docStore = new mod.PostgresDocumentStore({ kvStore: kv });
        init.indexStore = new mod.PostgresIndexStore({ kvStore: kv });
      }
    }
    if (spec.vectors) {
      if (backendOf(spec.vectors) === "redis") {
        const { mod, kv } = await openRedis(spec.vectors);
        const chosen = await redisVectorStore(mod, kv, spec.vectors, notify);
        init.vectorStore = chosen.store;
        parts.vectors = { ...parts.vectors!, store: chosen.store instanceof KVVectorStore ? "KVVectorStore" : "RedisVectorStore" };
      } else {
        const { mod, pool, ns, schema } = await openPg(spec.vectors);
        const vs = new mod.PostgresVectorStore({
          pool,
          table: `${ns}_vectors`,
          ...(schema ? { schema } : {}),
          ...(options.vectorIndexBuild ? { indexBuild: options.vectorIndexBuild } : {}),
        });
        closers.push(() => vs.close?.() ?? Promise.resolve());
        init.vectorStore = vs;
        parts.vectors = { ...parts.vectors!, store: "PostgresVectorStore" };
      }
    }
    if (spec.chat) {
      if (backendOf(spec.chat) === "redis") {
        const { mod, kv } = await openRedis(spec.chat);
        const { params } = takeParams(spec.chat, ["prefix"]);
        init.chatStore = new mod.RedisChatStore({ client: kv.client, prefix: `${params["prefix"] ?? ""}chat:` });
      } else {
        const { mod, pool, ns, schema } = await openPg(spec.chat);
        init.chatStore = new mod.PostgresChatStore({ pool, table: `${ns}_chat`, ...(schema ? { schema } : {}) });
      }
    }
    if (spec.graph) {
      const mod = (await loadAdapter(importModule, "neo4j")) as Neo4jModule;
      const { clean, params } = takeParams(spec.graph, ["database", "namespace"]);
      const u = new URL(clean);
      const username = decodeURIComponent(u.username) || process.env["NEO4J_USERNAME"] || "neo4j";
      const password = decodeURIComponent(u.password) || process.env["NEO4J_PASSWORD"];
      u.username = "";
      u.password = "";
      const store = new mod.Neo4jPropertyGraphStore({
        url: u.href.replace(/\/$/, ""),
        username,
        ...(password !== undefined ? { password } : {}),
        ...(params["database"] ? { database: params["database"] } : {}),
        ...(params["namespace"] ? { namespace: params["namespace"] } : {}),
      });
      closers.push(() => store.close?.() ?? Promise.resolve());
      init.propertyGraphStore = store;
    }

    const target = spec.persist;
    if (target !== undefined && backendOf(target) === "s3") {
      const unregister = await registerS3(importModule);
      closers.push(async () => unregister());
    }
    let ctx: StorageContext;
    let existed = false;
    if (target === undefined) {
      ctx = await StorageContext.fromDefaults(init);
    } else if ((await persistedAt(target)) === "nothing") {
      if (options.create === false) {
        throw errors.notFound(`nothing persisted at ${redactCredentials(target)} (no ${MANIFEST_FILE} and no LlamaIndex files)`);
      }
      ctx = await StorageContext.fromDefaults(init);
    } else {
      // Something is there: whatever keeps it from loading (a missing or damaged file, a conflict)
      // is the caller's error. Treating it as empty would let the next persist replace it.
      ctx = await StorageContext.fromPersistDir(target, init);
      existed = true;
    }
    return {
      storageContext: ctx,
      parts,
      persistTarget: target,
      existed,
      persist: async () => (target === undefined ? undefined : ctx.persist(target, { format: options.format ?? "larder" })),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

const LLAMAINDEX_NAMES: ReadonlySet<string> = new Set(Object.values(LLAMAINDEX_FILES));
/** A Larder component file name (`g000042-1a2b3c4d.docstore.jsonl`). */
const LARDER_COMPONENT_FILE = /^g\d{6,}-[0-9a-f]{8}\./;

/**
 * Whether a persist location holds a store. `"nothing"` only when it has no `larder.json`, no
 * LlamaIndex file (`docstore.json`, `index_store.json`, `*vector_store.json`, `graph_store.json`,
 * `property_graph_store.json`, `chat_store.json`) and no Larder component file. Larder component
 * files without a manifest are CORRUPT (the manifest is missing): they are not "nothing", and a
 * persist over them would clean them up.
 */
export async function persistedAt(target: string): Promise<"nothing" | "store"> {
  const fs = await resolveFileSystem(target);
  if (await fs.exists(MANIFEST_FILE)) return "store";
  const names = (await fs.list("")).filter((n) => !n.includes("/"));
  if (names.some((n) => LLAMAINDEX_NAMES.has(n) || n.endsWith("vector_store.json"))) return "store";
  const orphans = names.filter((n) => LARDER_COMPONENT_FILE.test(n));
  if (orphans.length) {
    const shown = orphans.slice(0, 3).join(", ") + (orphans.length > 3 ? `, ... (${orphans.length} files)` : "");
    throw errors.corrupt(
      `${redactCredentials(target)} holds Larder data files (${shown}) but no ${MANIFEST_FILE}: the manifest is missing, so nothing there can be loaded or safely replaced; restore ${MANIFEST_FILE}, or move the files away if they are leftovers of an interrupted first write`,
      { details: { file: MANIFEST_FILE } },
    );
  }
  return "nothing";
}

/** What a command is about to write (see {@link assertCanHold}). */
export interface DataToWrite {
  /** Documents and nodes (docstore) and index structs (index store). */
  documents?: boolean;
  /** Vector namespaces (`"default"`, `"image"`, ...). */
  vectors?: readonly string[];
  /** Property graph nodes and relations. */
  graph?: boolean;
  /** Chat conversations. */
  chats?: boolean;
}

const WHERE: Record<Backend, string> = {
  local: "a directory (path or file://)",
  memory: "memory:// (this process only)",
  s3: "s3://",
  redis: "redis://",
  postgres: "postgres://",
  neo4j: "neo4j:// or bolt://",
};
const DURABLE_PERSIST: readonly Backend[] = ["local", "s3"];

/**
 * Checks, before anything is opened or written, that a store spec keeps every kind of data in
 * `data` somewhere: in the store its URL names, or in memory persisted to `persist`. A kind that
 * would live only in memory, unpersisted (e.g. documents and vectors given a `neo4j://` URL, which
 * holds only a property graph), is UNSUPPORTED, naming the URL kinds that can hold it and how to
 * combine them. Vector namespaces other than `"default"` live only in a persist location.
 */
export function assertCanHold(input: string | StoreSpec, data: DataToWrite, action = "this"): void {
  const spec = parseStoreSpec(input);
  const persisted = spec.persist !== undefined;
  const missing: { what: string; where: Backend[] }[] = [];
  if (data.documents && spec.docs === undefined && !persisted) missing.push({ what: "documents and index structs", where: [...DURABLE_PERSIST, ...ALLOWED.docs] });
  for (const ns of data.vectors ?? []) {
    if (persisted) continue;
    if (ns === "default") {
      if (spec.vectors === undefined) missing.push({ what: "vectors", where: [...DURABLE_PERSIST, ...ALLOWED.vectors] });
    } else missing.push({ what: `vectors of namespace ${JSON.stringify(ns)}`, where: [...DURABLE_PERSIST] });
  }
  if (data.graph && spec.graph === undefined && !persisted) missing.push({ what: "a property graph", where: [...DURABLE_PERSIST, ...ALLOWED.graph] });
  if (data.chats && spec.chat === undefined && !persisted) missing.push({ what: "chats", where: [...DURABLE_PERSIST, ...ALLOWED.chat] });
  if (missing.length === 0) return;
  const given = typeof input === "string" ? redactCredentials(input.trim()) : Object.entries(spec).map(([k, u]) => `${k}=${redactCredentials(u)}`).join(",");
  const KIND_TEXT: Record<Exclude<StoreKind, "persist">, string> = { docs: "documents and index structs", vectors: "default vectors", graph: "a property graph", chat: "chats" };
  const holds = (Object.keys(spec) as StoreKind[]).filter((k) => k !== "persist").map((k) => KIND_TEXT[k as Exclude<StoreKind, "persist">]);
  const lines = missing.map((m) => `${m.what} can live in ${[...new Set(m.where)].map((b) => WHERE[b]).join(", ")}`);
  const graphOnly = spec.graph !== undefined ? redactCredentials(spec.graph) : undefined;
  const combine = graphOnly
    ? `keep the graph there and the rest in a folder with "graph=${graphOnly},persist=./storage", or in servers with "graph=${graphOnly},docs=redis://...,vectors=postgres://...,chat=redis://..."`
    : `name a place for each kind, e.g. "${given},persist=./storage"`;
  throw new StorageError(
    "UNSUPPORTED",
    `${action} writes ${missing.map((m) => m.what).join(", ")}, which ${given} cannot hold (it holds only ${holds.length ? holds.join(", ") : "nothing"}; the rest would stay in memory and be lost when the process ends): nothing was written. ${lines.join("; ")}. To combine: ${combine}`,
    { details: { missing: missing.map((m) => m.what) } },
  );
}

/**
 * Registers the `s3://` scheme in core's FileSystem registry (loading `@larder/fs-s3`), with the
 * endpoint from `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` when set (MinIO, R2...); credentials
 * come from the AWS SDK's default chain (`AWS_ACCESS_KEY_ID`, ...). Returns the unregister function.
 */
export async function registerS3(importModule: (s: string) => Promise<unknown> = (s) => import(s)): Promise<() => void> {
  const s3 = (await loadAdapter(importModule, "s3")) as S3Module;
  const endpoint = process.env["AWS_ENDPOINT_URL_S3"] ?? process.env["AWS_ENDPOINT_URL"];
  return s3.registerS3Scheme(endpoint ? { endpoint, forcePathStyle: true } : {});
}

/** Where {@link KVVectorStore} keeps a `redis://` URL's vectors: the hash `<prefix>vector_store/data`. */
const KV_VECTORS_COLLECTION = "vector_store/data";

/**
 * The vector store of a `redis://` URL. One probe per URL: `FT._LIST` (the query engine's command;
 * Redis Stack, Redis 8 and Redis Cloud answer it, a plain Redis says "unknown command").
 * - query engine, and no KV-backed vectors under the prefix: `RedisVectorStore`, searched inside
 *   Redis. Prefix `""`: the store's defaults (index `larder_vectors`, keys
 *   `larder:vec:{larder_vectors}:...`), so `new RedisVectorStore({url})` sees the same vectors;
 *   prefix `p`: index `<p>larder_vectors` and keys `<p>larder:vec:{<index>}:...`.
 * - query engine, but the hash `<prefix>vector_store/data` exists (vectors written before the
 *   server had it, or by a Larder that always used the KV store): those stay where they are, in
 *   the KV-backed store, with a notice — switching silently would hide them from every query.
 * - no query engine: the KV-backed store, with a notice.
 */
async function redisVectorStore(mod: RedisModule, kv: RedisKV, url: string, notify: (message: string) => void): Promise<{ store: VectorStore }> {
  const where = redactCredentials(url);
  const client = kv.client as RedisCommands;
  // Failures are the adapter's errors (the same texts as any other Redis read), under read op names.
  const fail = (err: unknown, op: string): never => {
    if (typeof mod.toRedisStorageError === "function") throw mod.toRedisStorageError(err, "RedisVectorStore", op);
    throw new StorageError("CONNECTION", `${op}: the Redis call failed (${redactCredentials(String((err as Error)?.message ?? err))})`, { store: "RedisVectorStore", cause: err });
  };
  let engine = false;
  try {
    await client.call("FT._LIST");
    engine = true;
  } catch (err) {
    const e = err as { name?: string; message?: string };
    if (e?.name === "ReplyError" && /unknown command/i.test(e.message ?? "")) engine = false;
    else fail(err, "ping");
  }
  if (!engine) {
    notify(
      `vectors at ${where} use the KV-backed store: the server has no query engine (RediSearch), so the first query of each process reads every vector of the namespace into it. ` +
        "A Redis with the query engine (Redis Stack, Redis 8) searches them inside Redis.",
    );
    return { store: new KVVectorStore(kv, { collection: KV_VECTORS_COLLECTION }) };
  }
  const kvHash = kv.prefix + KV_VECTORS_COLLECTION;
  const kvVectors = await client.exists(kvHash).catch((err: unknown) => fail(err, "exists"));
  if (kvVectors > 0) {
    notify(
      `vectors at ${where} stay in the KV-backed store: the server has the query engine, but this prefix already holds KV-backed vectors (hash ${JSON.stringify(kvHash)}), and the first query of each process reads all of them into it. ` +
        `To search them inside Redis, copy the store to a new prefix (larder migrate ${where} "<the same URL with ?prefix=new:>"), which uses the query engine.`,
    );
    return { store: new KVVectorStore(kv, { collection: KV_VECTORS_COLLECTION }) };
  }
  if (typeof mod.RedisVectorStore !== "function") {
    notify(`vectors at ${where} use the KV-backed store: the server has the query engine, but the installed @larder/storage-redis has no RedisVectorStore (upgrade it to search inside Redis).`);
    return { store: new KVVectorStore(kv, { collection: KV_VECTORS_COLLECTION }) };
  }
  return { store: withExactFilterFallback(new mod.RedisVectorStore({ client, ...redisVectorNames(kv.prefix) })) };
}

/**
 * The URL's `RedisVectorStore`, with every filter of core's semantics: a query whose filter uses an
 * operator the query engine cannot express exactly (ordering, `text_match`...: not in the store's
 * `capabilities.filterOperators`) is answered in this process instead of failing — the nodes that
 * match the top-level `and` conditions the engine can express are read (`getNodes`, all of them when
 * there are none) and scored by a `SimpleVectorStore` with the whole filter. `getNodes` and
 * `deleteNodes` with such a filter read the same nodes and keep (delete by id) those the whole
 * filter matches, so every method honours the operators `capabilities` lists. Exact, but it reads
 * those nodes, like the KV-backed store does. Other calls go to the store itself (it is the same
 * object: `instanceof`, `indexName`, `client` work).
 */
function withExactFilterFallback(store: VectorStore): VectorStore {
  const engineOps = new Set<string>(store.capabilities.filterOperators ?? []);
  const all = new SimpleVectorStore().capabilities;
  const expressible = (f: MetadataFilter | MetadataFilters): boolean =>
    "filters" in f ? (store.capabilities.nestedFilters !== false || f.filters.every((c) => !("filters" in c))) && f.filters.every(expressible) : engineOps.has(f.operator);
  const local = async (q: VectorStoreQuery, filters: MetadataFilters) => {
    const pushed = (filters.condition ?? "and") === "and" ? filters.filters.filter(expressible) : [];
    const nodes = await store.getNodes(pushed.length ? { filters: { filters: pushed, condition: "and" } } : {});
    const metric = (store as { metric?: "cosine" | "dot" | "euclidean" }).metric;
    const mem = new SimpleVectorStore(metric ? { metric } : {});
    if (nodes.length) await mem.add(nodes);
    return mem.query(q);
  };
  const query = async (q: VectorStoreQuery) => {
    if (q === null || typeof q !== "object" || q.filters === undefined || q.filters === null) return store.query(q);
    // A malformed filter is INVALID_ARGUMENT before any I/O, as from the store itself.
    const filters = validateFilters(q.filters, { store: "RedisVectorStore" });
    return expressible(filters) ? store.query(q) : local(q, filters);
  };
  type Select = { ids?: readonly string[]; filters?: MetadataFilters };
  /** Nodes matching `args` when its filter is not expressible: the engine's part, then the whole filter here. */
  const selectHere = async (args: Select, filters: MetadataFilters) => {
    const pushed = (filters.condition ?? "and") === "and" ? filters.filters.filter(expressible) : [];
    const nodes = await store.getNodes({
      ...(args.ids !== undefined ? { ids: args.ids } : {}),
      ...(pushed.length ? { filters: { filters: pushed, condition: "and" as const } } : {}),
    });
    const matches = createFilterPredicate(filters, { store: "RedisVectorStore" });
    return nodes.filter((n) => matches(n.metadata));
  };
  const unexpressible = (args: Select | undefined): MetadataFilters | undefined => {
    if (args === null || typeof args !== "object" || args.filters === undefined || args.filters === null) return undefined;
    const filters = validateFilters(args.filters, { store: "RedisVectorStore" });
    return expressible(filters) ? undefined : filters;
  };
  const getNodes = async (args?: Select) => {
    const filters = unexpressible(args);
    return filters ? selectHere(args!, filters) : store.getNodes(args);
  };
  const deleteNodes = async (args: Select) => {
    const filters = unexpressible(args);
    if (!filters) return store.deleteNodes(args);
    const ids = (await selectHere(args, filters)).map((n) => n.id);
    if (ids.length > 0) await store.deleteNodes({ ids });
  };
  const capabilities = { ...store.capabilities, filterOperators: all.filterOperators, nestedFilters: true };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "query") return query;
      if (prop === "getNodes") return getNodes;
      if (prop === "deleteNodes") return deleteNodes;
      if (prop === "capabilities") return capabilities;
      const v = Reflect.get(target, prop, target) as unknown;
      // Methods run on the store itself (its private state); `constructor` stays the class.
      return typeof v === "function" && prop !== "constructor" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Index name and key prefix of a `redis://` URL's `RedisVectorStore` (see {@link redisVectorStore}). */
function redisVectorNames(prefix: string): { indexName?: string; prefix?: string } {
  if (prefix === "") return {};
  // Index names allow A-Z a-z 0-9 _ . : - (and braces, kept for hash tags); other prefixes get a digest.
  const indexName = /^[A-Za-z0-9_.:-]{1,150}$/.test(prefix)
    ? `${prefix}larder_vectors`
    : `larder_vectors_${createHash("sha256").update(prefix).digest("hex").slice(0, 16)}`;
  return { indexName, prefix: `${prefix}larder:vec:{${indexName}}:` };
}

const noticed = new Set<string>();
/** The default notice sink: one Node warning per distinct message per process. */
function emitNoticeOnce(message: string): void {
  if (noticed.has(message)) return;
  noticed.add(message);
  process.emitWarning(message, { code: "LARDER_REDIS_VECTORS" });
}

/** Removes Larder's own query parameters from a URL (they must not reach the driver). */
function takeParams(url: string, names: readonly string[]): { clean: string; params: Record<string, string> } {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw errors.invalid(`not a valid URL: ${redactCredentials(url)}`, { cause });
  }
  const params: Record<string, string> = {};
  for (const n of names) {
    const v = u.searchParams.get(n);
    if (v !== null) params[n] = v;
    u.searchParams.delete(n);
  }
  return { clean: u.href, params };
}

async function loadAdapter(importModule: (s: string) => Promise<unknown>, backend: keyof typeof ADAPTER_PACKAGES): Promise<unknown> {
  const { pkg } = ADAPTER_PACKAGES[backend];
  try {
    return await importModule(pkg);
  } catch (err) {
    return rethrowMissing(err, backend);
  }
}

function rethrowMissing(err: unknown, backend: keyof typeof ADAPTER_PACKAGES): never {
  const code = (err as { code?: unknown })?.code;
  if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
    const { pkg, sdk } = ADAPTER_PACKAGES[backend];
    throw new StorageError("UNSUPPORTED", `${backend} URLs need ${pkg}, which is not installed: run \`pnpm add ${pkg} ${sdk}\``, {
      cause: err,
      details: { package: pkg },
    });
  }
  throw err;
}

// Structural types of the adapter modules (so this package has no build-time dependency on them).
type Ctor<O, T> = new (options: O) => T;
type RedisKV = KVStore & { client: unknown; prefix: string; close(): Promise<void> };
interface RedisCommands {
  call(command: string, ...args: string[]): Promise<unknown>;
  exists(key: string): Promise<number>;
}
interface RedisModule {
  RedisKVStore: Ctor<{ url: string; prefix: string }, RedisKV>;
  toRedisStorageError?: (err: unknown, store: string, op: string) => StorageError;
  /** Absent in @larder/storage-redis before the query-engine store. */
  RedisVectorStore?: Ctor<{ client: unknown; indexName?: string; prefix?: string }, VectorStore>;
  RedisDocumentStore: Ctor<KVStore, DocStore>;
  RedisIndexStore: Ctor<KVStore, IndexStore>;
  RedisChatStore: Ctor<{ client: unknown; prefix: string }, ChatStore>;
}
interface PostgresModule {
  PostgresKVStore: Ctor<{ pool: unknown; table: string; schema?: string }, KVStore>;
  PostgresDocumentStore: Ctor<{ kvStore: KVStore }, DocStore>;
  PostgresIndexStore: Ctor<{ kvStore: KVStore }, IndexStore>;
  PostgresVectorStore: Ctor<{ pool: unknown; table: string; schema?: string; indexBuild?: "on-create" | "manual" }, VectorStore>;
  PostgresChatStore: Ctor<{ pool: unknown; table: string; schema?: string }, ChatStore>;
}
interface PgModule {
  Pool: new (config: Record<string, unknown>) => unknown;
}
interface Neo4jModule {
  Neo4jPropertyGraphStore: Ctor<Record<string, unknown>, PropertyGraphStore & { close?(): Promise<void> }>;
}
interface S3Module {
  registerS3Scheme(defaults?: Record<string, unknown>): () => void;
}
