import {
  assertDeleteTarget,
  assertNodeMetadata,
  type BaseNode,
  checkEmbedding,
  checkTopK,
  errors,
  type JsonObject,
  jsonToNode,
  type KVStore,
  type MetadataFilters,
  nodeLabel,
  SimpleVectorStore,
  validateFilters,
  type VectorStore,
  type VectorStoreCapabilities,
  type VectorStoreQuery,
  type VectorStoreQueryResult,
} from "@larder/core";

export interface KVVectorStoreOptions {
  /** Collection holding one entry per node. Default `"vector_store/data"`. */
  collection?: string;
  /** Entries per KV write/scan batch. Default 1000. */
  batchSize?: number;
}

/**
 * A vector store kept in any {@link KVStore} (used for `redis://` store URLs, since Redis has no
 * Larder vector store): each node is one KV entry, its LlamaIndex node JSON (`__data__` with
 * `embedding: null`, `__type__`) plus `embedding_f32le`, the embedding as base64 little-endian
 * float32 (entries of the earlier `{node, embedding}` layout are read too); queries run on an in-memory
 * {@link SimpleVectorStore} loaded from the KV store on first use (one scan). Writes go to both,
 * KV first, batched.
 *
 * Limits: the whole collection is held in memory by each process that queries it, and changes
 * made by *another* process after this one loaded are not seen until a new instance is opened.
 * Right for a CLI and for corpora up to a few hundred thousand nodes; use a real vector database
 * (Postgres + pgvector) beyond that.
 */
export class KVVectorStore implements VectorStore {
  readonly storesText = true;
  readonly name = "KVVectorStore";
  readonly kvStore: KVStore;
  readonly collection: string;
  readonly #batchSize: number;
  #memory: SimpleVectorStore | undefined;
  #loading: Promise<SimpleVectorStore> | undefined;

  constructor(kvStore: KVStore, options: KVVectorStoreOptions = {}) {
    if (!kvStore || typeof kvStore.putAll !== "function") throw errors.invalid("KVVectorStore needs a KVStore", { store: this.name });
    this.kvStore = kvStore;
    this.collection = options.collection ?? "vector_store/data";
    this.#batchSize = options.batchSize ?? 1000;
  }

  get capabilities(): VectorStoreCapabilities {
    return new SimpleVectorStore().capabilities;
  }

  /** The in-memory copy (loaded on first use). */
  async memory(): Promise<SimpleVectorStore> {
    if (this.#memory) return this.#memory;
    this.#loading ??= this.#load();
    return this.#loading;
  }

  async #load(): Promise<SimpleVectorStore> {
    const mem = new SimpleVectorStore();
    let batch: BaseNode[] = [];
    for await (const [id, v] of this.kvStore.scan(this.collection, { batchSize: this.#batchSize })) {
      batch.push(decodeEntry(id, v, this.name));
      if (batch.length >= this.#batchSize) {
        await mem.add(batch);
        batch = [];
      }
    }
    if (batch.length) await mem.add(batch);
    this.#memory = mem;
    return mem;
  }

  /** Number of nodes (loads the store). */
  async count(): Promise<number> {
    return (await this.memory()).size;
  }

  async dimensions(): Promise<number | undefined> {
    return (await this.memory()).dim;
  }

  async add(nodes: readonly BaseNode[]): Promise<string[]> {
    if (!Array.isArray(nodes)) throw errors.invalid("add() takes an array of nodes", { store: this.name });
    const mem = await this.memory();
    // Validate the whole batch as the in-memory store will (same checks, same messages) before
    // anything is written: a refused batch must not reach the KV store.
    let dim = mem.dim;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      if (!n || typeof n !== "object" || typeof (n as BaseNode).toJSON !== "function") throw errors.invalid(`nodes[${i}] is not a node`, { store: this.name });
      if (typeof n.id !== "string" || n.id.length === 0) throw errors.invalid(`nodes[${i}] has an empty or non-string id`, { store: this.name });
      checkEmbedding(n.embedding, dim, nodeLabel(n.id), this.name);
      dim ??= n.embedding!.length;
      assertNodeMetadata(n, this.name);
    }
    const entries = nodes.map((n) => [n.id, encodeEntry(n)] as const);
    await this.kvStore.putAll(entries, this.collection, { batchSize: this.#batchSize });
    return mem.add(nodes);
  }

  async delete(refDocId: string): Promise<void> {
    const mem = await this.memory();
    const ids = (await mem.getNodes()).filter((n) => n.refDocId === refDocId).map((n) => n.id);
    if (ids.length === 0) return;
    await this.kvStore.deleteMany(ids, this.collection);
    await mem.deleteNodes({ ids });
  }

  async deleteNodes(args: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<void> {
    if (args !== undefined && (typeof args !== "object" || args === null)) throw errors.invalid("deleteNodes() takes {ids?, filters?}", { store: this.name });
    const tree = args?.filters === undefined ? undefined : validateFilters(args.filters, { store: this.name });
    assertDeleteTarget(args?.ids, tree, this.name);
    const mem = await this.memory();
    const ids = (await mem.getNodes(args)).map((n) => n.id);
    if (ids.length === 0) return;
    await this.kvStore.deleteMany(ids, this.collection);
    await mem.deleteNodes({ ids });
  }

  async getNodes(args?: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<BaseNode[]> {
    return (await this.memory()).getNodes(args);
  }

  async clear(): Promise<void> {
    const mem = await this.memory();
    const ids = (await mem.getNodes()).map((n) => n.id);
    for (let i = 0; i < ids.length; i += this.#batchSize) await this.kvStore.deleteMany(ids.slice(i, i + this.#batchSize), this.collection);
    await mem.clear();
  }

  async query(q: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    if (typeof q === "object" && q !== null) checkTopK(q.topK, this.name);
    return (await this.memory()).query(q);
  }

  async close(): Promise<void> {
    await this.kvStore.close?.();
  }
}

function encodeEntry(node: BaseNode): JsonObject {
  if (!node || typeof node.toJSON !== "function") throw errors.invalid("not a node");
  const emb = node.embedding;
  if (!emb || emb.length === 0) throw errors.invalid(`node ${JSON.stringify(node.id)} has no embedding`);
  const f = Float32Array.from(emb);
  const bytes = new Uint8Array(f.length * 4);
  const view = new DataView(bytes.buffer);
  f.forEach((x, i) => view.setFloat32(i * 4, x, true));
  const json = node.toJSON();
  // The node JSON at the top of the entry: its metadata sits at the same depth as in a docstore
  // (level 3), so the JSON depth limit means the same here as on every other store.
  return { __data__: { ...json.__data__, embedding: null }, __type__: json.__type__, embedding_f32le: Buffer.from(bytes).toString("base64") } as JsonObject;
}

function decodeEntry(id: string, v: JsonObject, store: string): BaseNode {
  try {
    // The earlier layout: {node: <node JSON>, embedding: <base64>}.
    const legacy = v["embedding_f32le"] === undefined && v["node"] !== undefined;
    const node = jsonToNode(legacy ? v["node"] : { __data__: v["__data__"], __type__: v["__type__"] });
    const b = Buffer.from(String(legacy ? v["embedding"] : v["embedding_f32le"]), "base64");
    if (b.length === 0 || b.length % 4 !== 0) throw new Error("embedding is not packed float32");
    const view = new DataView(b.buffer, b.byteOffset, b.length);
    node.embedding = Array.from({ length: b.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
    return node;
  } catch (cause) {
    throw errors.corrupt(`vector entry ${JSON.stringify(id)} cannot be read: ${(cause as Error).message}`, { store, cause });
  }
}
