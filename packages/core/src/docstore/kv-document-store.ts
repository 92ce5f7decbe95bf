import { StorageError } from "../errors.js";
import type { JsonObject, KVStore } from "../kv/types.js";
import { assertJsonObject, assertKey, isPlainObject } from "../kv/validate.js";
import { type BaseNode, isPlainTextNodeJson, jsonToNode, nodeJsonText } from "../schema/node.js";
import { Mutex } from "./mutex.js";
import type { AddDocumentsOptions, DocStore, RefDocInfo } from "./types.js";

export const DEFAULT_DOCSTORE_NAMESPACE = "docstore";

export interface KVDocumentStoreOptions {
  /** Prefix of the three collections. Default `"docstore"`. Not stored anywhere: load with the same one. */
  namespace?: string;
  /** Default `"/data"` (`RedisDocumentStore` in Python used `"/doc"`). */
  nodeCollectionSuffix?: string;
  /** Default `"/ref_doc_info"`. */
  refDocCollectionSuffix?: string;
  /** Default `"/metadata"`. */
  metadataCollectionSuffix?: string;
  /** Passed to the KV store's `putAll`. */
  batchSize?: number;
  /** Name used in errors. Default the class name. */
  name?: string;
}

/** The stored metadata value: `{doc_hash, ref_doc_id?}` (LlamaIndex's exact shape). */
interface MetadataValue {
  doc_hash?: string;
  ref_doc_id?: string;
  [k: string]: unknown;
}

/**
 * LlamaIndex's `KVDocumentStore` over any {@link KVStore}, with LlamaIndex's three collections and
 * value shapes, so every KV backend is also a document store:
 *
 * | collection          | key                 | value                                   |
 * |---------------------|---------------------|-----------------------------------------|
 * | `{ns}/data`         | node id             | `{__data__, __type__}` (node JSON)      |
 * | `{ns}/metadata`     | node or document id | `{doc_hash, ref_doc_id?}`               |
 * | `{ns}/ref_doc_info` | source document id  | `{node_ids: [...], metadata: {...}}`    |
 *
 * Differences from the Python original (all deliberate): every call does a bounded number of KV
 * round trips (batched reads and writes, never one per node); ref-doc bookkeeping is exact after
 * every kind of delete and when a node moves to another source document; `setDocumentHash` keeps
 * `ref_doc_id`; `getAllDocumentHashes` maps id -> hash.
 *
 * Concurrency: every mutation (`addDocuments`, `deleteDocument`, `deleteRefDoc`,
 * `setDocumentHash(es)`) is a read-modify-write of the bookkeeping, run as one exclusive section per
 * call. Within a process, the sections of every `KVDocumentStore` over the same KV store object and
 * namespace are serialized. When the KV store has the optional {@link KVStore.transaction}
 * capability (Redis, Postgres), the section also holds the backend's lock for the namespace, so
 * any number of store instances in any number of processes keep the bookkeeping exact. A KV store
 * without it (the in-memory `SimpleKVStore`, whose data lives in one process anyway) is exact for
 * the callers of that process only.
 */
export class KVDocumentStore implements DocStore {
  readonly name: string;
  readonly kvStore: KVStore;
  readonly namespace: string;
  readonly nodeCollection: string;
  readonly refDocCollection: string;
  readonly metadataCollection: string;
  readonly #batchSize: number | undefined;

  constructor(kvStore: KVStore, options: KVDocumentStoreOptions = {}) {
    this.name = options.name ?? new.target.name;
    if (kvStore === null || typeof kvStore !== "object" || typeof (kvStore as KVStore).getMany !== "function") {
      throw new StorageError("INVALID_ARGUMENT", "kvStore must be a KVStore", { store: this.name });
    }
    this.kvStore = kvStore;
    this.namespace = options.namespace ?? DEFAULT_DOCSTORE_NAMESPACE;
    assertKey(this.namespace, this.name, "namespace");
    this.nodeCollection = `${this.namespace}${options.nodeCollectionSuffix ?? "/data"}`;
    this.refDocCollection = `${this.namespace}${options.refDocCollectionSuffix ?? "/ref_doc_info"}`;
    this.metadataCollection = `${this.namespace}${options.metadataCollectionSuffix ?? "/metadata"}`;
    this.#batchSize = options.batchSize;
  }

  async addDocuments(nodes: readonly BaseNode[], options: AddDocumentsOptions = {}): Promise<void> {
    const allowUpdate = options.allowUpdate ?? true;
    const storeText = options.storeText ?? true;
    const batchSize = options.batchSize ?? this.#batchSize;
    if (!Array.isArray(nodes)) throw this.#invalid("nodes must be an array of nodes");
    // Cheap checks (shapes, ids) first, so that the reads below can go out before the expensive part.
    const byId = new Map<string, Pending>();
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (node === null || typeof node !== "object" || typeof (node as BaseNode).toJSON !== "function") {
        throw this.#invalid(`nodes[${i}] is not a node`);
      }
      // The messages name the node's position: built only when a check fails (100k nodes).
      const id = node.id;
      if (typeof id !== "string" || id === "") assertKey(id, this.name, `nodes[${i}].id`);
      const refDocId = node.refDocId;
      if (refDocId !== undefined && (typeof refDocId !== "string" || refDocId === "")) {
        assertKey(refDocId, this.name, `nodes[${i}] SOURCE node id`);
      }
      if (byId.has(id)) {
        if (!allowUpdate) {
          throw new StorageError("CONFLICT", `node id ${JSON.stringify(id)} appears twice and allowUpdate is false`, { store: this.name });
        }
        byId.delete(id); // a later duplicate wins, and keeps the later position
      }
      byId.set(id, { node, refDocId, value: undefined, meta: "" });
    }
    if (byId.size === 0) return;
    const ids = [...byId.keys()];

    await this.#exclusive(async (kv) => {
      // The first read is answered while the nodes are serialized below; if serialization refuses a
      // node, its result is dropped (nothing has been written). With allowUpdate false it is the
      // existence check (a conflict then costs one read), otherwise the old metadata.
      const existingP = allowUpdate ? undefined : quiet(kv.getMany(ids, this.nodeCollection));
      let oldMetaP = allowUpdate ? quiet(kv.getMany(ids, this.metadataCollection)) : undefined;

      // Validate every node before anything is written. When the KV store can pull JSON text
      // (`putAllSerialized`), a node's text is only made when the store is about to send it, so
      // 100k texts never pile up in memory (their garbage dies young); a plain TextNode is checked
      // from its fields without building its JSON. Otherwise the validated JSON objects are kept.
      const serialized = typeof kv.putAllSerialized === "function";
      for (const e of byId.values()) {
        const plain = serialized && isPlainTextNodeJson(e.node);
        // A plain TextNode's hash is sha256 of its text and the repr of metadata that just passed
        // validation: it cannot fail, so it is computed when its metadata entry is sent (short-lived
        // garbage, instead of 100k hashes and metadata texts kept through the call).
        if (plain && !Object.hasOwn(e.node, "hash")) continue;
        if (!plain) {
          const json = e.node.toJSON() as unknown;
          assertJsonObject(json, this.name, `node ${JSON.stringify(e.node.id)}`);
          if (!serialized) e.value = json;
        }
        const hash: unknown = e.node.hash;
        if (typeof hash !== "string") throw this.#invalid(`the hash of node ${JSON.stringify(e.node.id)} is not a string`);
        // The metadata value is `{doc_hash, ref_doc_id?}` of strings: JSON by construction.
        e.meta = serialized
          ? metadataJsonText(hash, e.refDocId)
          : e.refDocId === undefined
            ? { doc_hash: hash }
            : { doc_hash: hash, ref_doc_id: e.refDocId };
      }

      if (existingP) {
        const existing = await existingP;
        const taken = ids.filter((_, i) => existing[i] !== undefined);
        if (taken.length > 0) {
          throw new StorageError(
            "CONFLICT",
            `node id ${JSON.stringify(taken[0])}${taken.length > 1 ? ` (and ${taken.length - 1} more)` : ""} already exists; set allowUpdate to overwrite`,
            { store: this.name, details: { ids: taken.slice(0, 20) } },
          );
        }
      }
      const oldMeta = await (oldMetaP ??= kv.getMany(ids, this.metadataCollection));

      // Every ref doc touched: the new ones, and the old ones of nodes that move to another ref doc.
      const refIds = new Set<string>();
      for (const { refDocId } of byId.values()) if (refDocId !== undefined) refIds.add(refDocId);
      const moved: [string, string][] = [];
      ids.forEach((id, i) => {
        const old = refDocIdOf(oldMeta[i]);
        if (old !== undefined && old !== byId.get(id)?.refDocId) {
          moved.push([id, old]);
          refIds.add(old);
        }
      });
      const refList = [...refIds];
      const refValues = refList.length ? await kv.getMany(refList, this.refDocCollection) : [];
      const infos = new Map<string, RefDocInfo>();
      refList.forEach((r, i) => infos.set(r, parseRefDocInfo(refValues[i]) ?? { nodeIds: [], metadata: {} }));

      const leaving = new Map<string, Set<string>>();
      for (const [id, old] of moved) {
        let set = leaving.get(old);
        if (set === undefined) leaving.set(old, (set = new Set()));
        set.add(id);
      }
      for (const [old, ids] of leaving) {
        const info = infos.get(old)!;
        info.nodeIds = info.nodeIds.filter((n) => !ids.has(n));
      }
      // Membership through a Set per ref doc: one document with 100k chunks stays linear.
      const members = new Map<string, Set<string>>();
      for (const { node, refDocId } of byId.values()) {
        if (refDocId === undefined) continue;
        const info = infos.get(refDocId)!;
        let have = members.get(refDocId);
        if (have === undefined) members.set(refDocId, (have = new Set(info.nodeIds)));
        if (!have.has(node.id)) {
          have.add(node.id);
          info.nodeIds.push(node.id);
        }
        if (Object.keys(info.metadata).length === 0) info.metadata = refDocMetadataFor(node);
      }

      const refPuts: [string, JsonObject][] = [];
      const emptied: string[] = [];
      for (const [r, info] of infos) {
        if (info.nodeIds.length > 0) refPuts.push([r, refDocInfoToJson(info)]);
        else emptied.push(r);
      }
      // A ref doc left without nodes is gone, like after deleting its last node. If it is itself
      // being (re)added in this call, keep its own data and hash.
      const emptiedOwn = emptied.filter((r) => !byId.has(r));

      // Everything that goes out is validated above or here, before the first write; then the three
      // collections are written concurrently (no gap while one drains before the next starts), and
      // every write has settled before the call does or the mutex is released.
      const pending = ids.map((id) => byId.get(id)!);
      const writeMeta = serialized
        ? () => kv.putAllSerialized!(ids, (i) => metadataText(pending[i]!), this.metadataCollection, { batchSize })
        : this.#prepareWrite(kv, pending.map((e) => [e.node.id, e.meta] as const), this.metadataCollection, batchSize);
      const writeRefs = refPuts.length ? this.#prepareWrite(kv, refPuts, this.refDocCollection, batchSize) : undefined;
      const writes: Promise<unknown>[] = [];
      if (storeText) {
        writes.push(
          serialized
            ? kv.putAllSerialized!(ids, (i) => nodeJsonText(pending[i]!.node), this.nodeCollection, { batchSize })
            : kv.putAll(
                pending.map((e) => [e.node.id, e.value!] as const),
                this.nodeCollection,
                { batchSize },
              ),
        );
      }
      writes.push(writeMeta());
      if (writeRefs) writes.push(writeRefs());
      await allOrFirstError(writes);
      if (emptied.length) await kv.deleteMany(emptied, this.refDocCollection);
      if (emptiedOwn.length) {
        await kv.deleteMany(emptiedOwn, this.nodeCollection);
        await kv.deleteMany(emptiedOwn, this.metadataCollection);
      }
    });
  }

  async getDocument(id: string, raiseError = false): Promise<BaseNode | undefined> {
    assertKey(id, this.name, "id");
    const json = await this.kvStore.get(id, this.nodeCollection);
    if (json === undefined) {
      if (raiseError) throw new StorageError("NOT_FOUND", `document ${JSON.stringify(id)} not found`, { store: this.name });
      return undefined;
    }
    return this.#decode(id, json);
  }

  async getNodes(ids: readonly string[], raiseError = false): Promise<BaseNode[]> {
    if (!Array.isArray(ids)) throw this.#invalid("ids must be an array of strings");
    for (const id of ids) assertKey(id, this.name, "id");
    if (ids.length === 0) return [];
    const values = await this.kvStore.getMany(ids, this.nodeCollection);
    const out: BaseNode[] = [];
    values.forEach((v, i) => {
      const id = ids[i]!;
      if (v === undefined) {
        if (raiseError) throw new StorageError("NOT_FOUND", `node ${JSON.stringify(id)} not found`, { store: this.name });
        return;
      }
      out.push(this.#decode(id, v));
    });
    return out;
  }

  async documentExists(id: string): Promise<boolean> {
    assertKey(id, this.name, "id");
    return (await this.kvStore.get(id, this.nodeCollection)) !== undefined;
  }

  async deleteDocument(id: string, raiseError = true): Promise<boolean> {
    assertKey(id, this.name, "id");
    return this.#exclusive(async (kv) => {
      const deleted = await this.#deleteNodes(kv, [id]);
      if (deleted === 0 && raiseError) {
        throw new StorageError("NOT_FOUND", `document ${JSON.stringify(id)} not found`, { store: this.name });
      }
      return deleted > 0;
    });
  }

  async deleteRefDoc(refDocId: string, raiseError = true): Promise<boolean> {
    assertKey(refDocId, this.name, "refDocId");
    return this.#exclusive(async (kv) => {
      const info = parseRefDocInfo(await kv.get(refDocId, this.refDocCollection));
      if (info === undefined) {
        if (raiseError) throw new StorageError("NOT_FOUND", `ref doc ${JSON.stringify(refDocId)} not found`, { store: this.name });
        return false;
      }
      // Only delete nodes that still belong to this ref doc (files written by Python may list stale ids).
      const ids = info.nodeIds.filter((n) => n !== refDocId);
      if (ids.length) {
        const metas = await kv.getMany(ids, this.metadataCollection);
        const own = ids.filter((_, i) => {
          const r = refDocIdOf(metas[i]);
          return r === undefined || r === refDocId;
        });
        if (own.length) {
          await kv.deleteMany(own, this.nodeCollection);
          await kv.deleteMany(own, this.metadataCollection);
        }
      }
      await kv.delete(refDocId, this.refDocCollection);
      await kv.delete(refDocId, this.nodeCollection);
      await kv.delete(refDocId, this.metadataCollection);
      return true;
    });
  }

  async getRefDocInfo(refDocId: string): Promise<RefDocInfo | undefined> {
    assertKey(refDocId, this.name, "refDocId");
    return this.#parseInfo(refDocId, await this.kvStore.get(refDocId, this.refDocCollection));
  }

  async getAllRefDocInfo(): Promise<Record<string, RefDocInfo>> {
    const all = await this.kvStore.getAll(this.refDocCollection);
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, this.#parseInfo(k, v)!])) as Record<string, RefDocInfo>;
  }

  async refDocExists(refDocId: string): Promise<boolean> {
    return (await this.getRefDocInfo(refDocId)) !== undefined;
  }

  async setDocumentHash(id: string, hash: string): Promise<void> {
    await this.setDocumentHashes({ [id]: hash });
  }

  async setDocumentHashes(hashes: Record<string, string>): Promise<void> {
    if (!isPlainObject(hashes)) throw this.#invalid("hashes must be an object of id -> hash");
    const entries = Object.entries(hashes);
    for (const [id, hash] of entries) {
      assertKey(id, this.name, "id");
      assertKey(hash, this.name, `hash of ${JSON.stringify(id)}`);
    }
    if (entries.length === 0) return;
    await this.#exclusive(async (kv) => {
      // Merge into the existing value: replacing it would drop ref_doc_id (a bug in the Python original).
      const ids = entries.map(([id]) => id);
      const existing = await kv.getMany(ids, this.metadataCollection);
      const puts = entries.map(([id, hash], i) => {
        const old = existing[i];
        return [id, { ...(old ?? {}), doc_hash: hash }] as const;
      });
      await kv.putAll(puts, this.metadataCollection, { batchSize: this.#batchSize });
    });
  }

  async getDocumentHash(id: string): Promise<string | undefined> {
    assertKey(id, this.name, "id");
    const v = await this.kvStore.get(id, this.metadataCollection);
    const h = v?.["doc_hash"];
    return typeof h === "string" ? h : undefined;
  }

  async getAllDocumentHashes(): Promise<Record<string, string>> {
    const out: [string, string][] = [];
    for await (const [id, v] of this.kvStore.scan(this.metadataCollection)) {
      const h = v["doc_hash"];
      if (typeof h === "string" && h !== "") out.push([id, h]);
    }
    return Object.fromEntries(out);
  }

  async getAllDocumentIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const [id] of this.kvStore.scan(this.nodeCollection)) ids.push(id);
    return ids;
  }

  /** All stored nodes, id -> node (LlamaIndex's `docs`). Loads the whole node collection. */
  async getAllDocuments(): Promise<Record<string, BaseNode>> {
    const out: [string, BaseNode][] = [];
    for await (const [id, v] of this.kvStore.scan(this.nodeCollection)) out.push([id, this.#decode(id, v)]);
    return Object.fromEntries(out);
  }

  async close(): Promise<void> {
    await this.kvStore.close?.();
  }

  /**
   * Validates entries whose values are either JSON text made by this class (only when the KV store
   * has `putAllSerialized`) or objects, and returns the write, not yet started. Objects are
   * validated here in either case, so a refusal comes before any write of the call.
   */
  #prepareWrite(
    kv: KVStore,
    entries: (readonly [string, JsonObject | string])[],
    collection: string,
    batchSize: number | undefined,
  ): () => Promise<void> {
    if (kv.putAllSerialized) {
      const texts = entries.map(([, v]) => {
        if (typeof v === "string") return v;
        assertJsonObject(v, this.name);
        return JSON.stringify(v);
      });
      const keys = entries.map(([k]) => k);
      return () => kv.putAllSerialized!(keys, (i) => texts[i]!, collection, { batchSize });
    }
    for (const [, v] of entries) assertJsonObject(v, this.name);
    return () => kv.putAll(entries as (readonly [string, JsonObject])[], collection, { batchSize });
  }

  /** Deletes nodes (text + metadata) and fixes their ref docs; resolves how many existed. Caller is in {@link #exclusive}. */
  async #deleteNodes(kv: KVStore, ids: string[]): Promise<number> {
    const metas = await kv.getMany(ids, this.metadataCollection);
    const refIds = [...new Set(metas.map(refDocIdOf).filter((r): r is string => r !== undefined))];
    const nData = await kv.deleteMany(ids, this.nodeCollection);
    const nMeta = await kv.deleteMany(ids, this.metadataCollection);
    if (refIds.length) {
      const infos = await kv.getMany(refIds, this.refDocCollection);
      const puts: [string, JsonObject][] = [];
      const emptied: string[] = [];
      const gone = new Set(ids);
      refIds.forEach((r, i) => {
        const info = parseRefDocInfo(infos[i]);
        if (!info) return;
        info.nodeIds = info.nodeIds.filter((n) => !gone.has(n));
        if (info.nodeIds.length) puts.push([r, refDocInfoToJson(info)]);
        else emptied.push(r);
      });
      if (puts.length) await kv.putAll(puts, this.refDocCollection, { batchSize: this.#batchSize });
      if (emptied.length) {
        // The last node of a document is gone: so is the document (entry, text and hash), as in LlamaIndex.
        await kv.deleteMany(emptied, this.refDocCollection);
        await kv.deleteMany(emptied, this.nodeCollection);
        await kv.deleteMany(emptied, this.metadataCollection);
      }
    }
    // A hash-only entry (stored with storeText: false) counts as a document too.
    return Math.max(nData, nMeta);
  }

  /**
   * Runs one mutation's read-modify-write as an exclusive section (see the class comment): first
   * in line among this process's docstores on the same KV store and namespace, then, when the KV
   * store can, under its cross-process lock, with `fn` reading and writing through the `kv` given.
   */
  #exclusive<T>(fn: (kv: KVStore) => Promise<T>): Promise<T> {
    const kv = this.kvStore;
    return localLock(kv, this.namespace).run(() =>
      typeof kv.transaction === "function" ? kv.transaction(`${this.refDocCollection}:lock`, fn) : fn(kv),
    );
  }

  #decode(id: string, json: JsonObject): BaseNode {
    try {
      return jsonToNode(json);
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      throw new StorageError("CORRUPT", `stored node ${JSON.stringify(id)} in ${this.nodeCollection} cannot be read: ${detail}`, {
        store: this.name,
        cause: e,
      });
    }
  }

  #parseInfo(id: string, v: JsonObject | undefined): RefDocInfo | undefined {
    const info = parseRefDocInfo(v);
    if (v !== undefined && info === undefined) {
      throw new StorageError("CORRUPT", `ref doc info ${JSON.stringify(id)} is not {node_ids, metadata}`, { store: this.name });
    }
    return info;
  }

  #invalid(message: string): StorageError {
    return new StorageError("INVALID_ARGUMENT", message, { store: this.name });
  }
}

/**
 * A node of an `addDocuments` call; `meta` is filled in once the node is validated, and `value` (its
 * validated JSON) only when the KV store takes objects rather than pulling text.
 */
interface Pending {
  node: BaseNode;
  refDocId: string | undefined;
  value: JsonObject | undefined;
  meta: JsonObject | string;
}

/** One in-process lock per KV store object and namespace, shared by every docstore over them. */
const localLocks = new WeakMap<KVStore, Map<string, Mutex>>();

function localLock(kv: KVStore, namespace: string): Mutex {
  let byNamespace = localLocks.get(kv);
  if (byNamespace === undefined) localLocks.set(kv, (byNamespace = new Map()));
  let mutex = byNamespace.get(namespace);
  if (mutex === undefined) byNamespace.set(namespace, (mutex = new Mutex()));
  return mutex;
}

/** `{doc_hash, ref_doc_id?}` as JSON text: made during validation, or now from the node's hash (plain TextNodes). */
function metadataText(e: Pending): string {
  return typeof e.meta === "string" && e.meta !== "" ? e.meta : metadataJsonText(e.node.hash, e.refDocId);
}

function metadataJsonText(hash: string, refDocId: string | undefined): string {
  return `{"doc_hash":${JSON.stringify(hash)}${refDocId === undefined ? "" : `,"ref_doc_id":${JSON.stringify(refDocId)}`}}`;
}

/** Waits for every promise to settle, then rethrows the first rejection (if any). */
async function allOrFirstError(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  for (const r of results) if (r.status === "rejected") throw r.reason;
}

/** The same promise, with its rejection marked as handled: it is awaited later, or dropped on purpose. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

function refDocIdOf(meta: JsonObject | undefined): string | undefined {
  const r = (meta as MetadataValue | undefined)?.ref_doc_id;
  return typeof r === "string" && r !== "" ? r : undefined;
}

/** Reads `{node_ids, metadata}` and the legacy `{doc_ids, extra_info}`; `undefined` if neither. */
export function parseRefDocInfo(v: JsonObject | undefined): RefDocInfo | undefined {
  if (v === undefined) return undefined;
  const ids = v["node_ids"] ?? v["doc_ids"];
  const metadata = v["metadata"] ?? v["extra_info"] ?? {};
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== "string") || !isPlainObject(metadata)) return undefined;
  return { nodeIds: [...new Set(ids as string[])], metadata: structuredClone(metadata as JsonObject) };
}

/** LlamaIndex's `RefDocInfo.to_dict()`: `{node_ids, metadata}`. */
export function refDocInfoToJson(info: RefDocInfo): JsonObject {
  return { node_ids: [...info.nodeIds], metadata: info.metadata };
}

/** The metadata a new ref-doc entry gets: the source document's (from the SOURCE relationship), else the node's. */
function refDocMetadataFor(node: BaseNode): JsonObject {
  const fromSource = node.sourceNode?.metadata;
  const m = fromSource && Object.keys(fromSource).length > 0 ? fromSource : node.metadata;
  return structuredClone(m) as JsonObject;
}
