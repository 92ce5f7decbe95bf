import {
  type BaseNode,
  createIndexDict,
  type DocStore,
  errors,
  ImageNode,
  type IndexDict,
  indexDictAddNode,
  IndexNode,
  isIndexDict,
  KVDocumentStore,
  type MetadataFilters,
  MetadataMode,
  parseRefDocInfo,
  type RefDocInfo,
  StorageContext,
  validateFilters,
  type VectorStore,
} from "@larder/core";
import { type Embedder, HashEmbedder } from "./embedder.js";
import { SentenceSplitter } from "./splitter.js";

/** Progress of a long operation (for a progress bar): `done` of `total` items of the phase. */
export interface IndexProgress {
  phase: "split" | "embed" | "store";
  done: number;
  total: number;
}

export interface VectorStoreIndexOptions {
  storageContext?: StorageContext;
  /** Default: the offline {@link HashEmbedder} (384 dims). */
  embedder?: Embedder;
  /** Default: `new SentenceSplitter()` (256 tokens, overlap 20). */
  splitter?: SentenceSplitter;
  /** Id of the index struct. Default a random UUID (or the loaded one). */
  indexId?: string;
  /** Nodes per vector store `add` (and docstore write). Default 2048 (LlamaIndex's insert_batch_size). */
  insertBatchSize?: number;
  /**
   * Also keep nodes (without embeddings) in the docstore and map them in `nodes_dict` when the
   * vector store stores text (LlamaIndex's `store_nodes_override`). Default false. Not needed for
   * Python to read a LlamaIndex-format persist (the export adds the nodes itself), nor for an index
   * Python built (it already keeps its nodes in the docstore, see `keepsNodesInDocstore`).
   */
  storeNodesOverride?: boolean;
  onProgress?: (p: IndexProgress) => void;
}

export interface NodeWithScore {
  node: BaseNode;
  score: number;
}

export interface RetrieverOptions {
  /** Default 2 (LlamaIndex's similarity_top_k). */
  topK?: number;
  filters?: MetadataFilters;
  /** Restrict to nodes of these documents. */
  docIds?: string[];
}

/** The key under which the index struct records its embedding model (ignored by Python's loader). */
const EMBED_MODEL_KEY = "larder_embed_model";

/** Resolves after the event loop has run its pending I/O callbacks (a macrotask, unlike `await`). */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * LlamaIndex's `VectorStoreIndex`: documents are split into nodes, embedded in batches and added
 * to the context's default vector store in batches; the index struct (an `IndexDict`) goes to the
 * index store. As in LlamaIndex:
 * - every source document's hash goes to the docstore (`setDocumentHashes`), so `refreshRefDocs`
 *   knows what changed;
 * - when the index keeps nodes in the docstore ({@link VectorStoreIndex.keepsNodesInDocstore}: a
 *   vector store without text, `storeNodesOverride`, or an index Python built), nodes (without
 *   embeddings) go to the docstore and `nodes_dict` maps vector id -> node id; otherwise
 *   `nodes_dict` stays empty and the docstore gets only each node's hash and the ref-doc info
 *   (`storeText: false`), which is what `deleteRefDoc` and `refreshRefDocs` need.
 */
export class VectorStoreIndex {
  readonly storageContext: StorageContext;
  readonly embedder: Embedder;
  readonly splitter: SentenceSplitter;
  readonly indexStruct: IndexDict;
  readonly insertBatchSize: number;
  readonly storeNodesOverride: boolean;
  onProgress: ((p: IndexProgress) => void) | undefined;

  private constructor(ctx: StorageContext, struct: IndexDict, options: VectorStoreIndexOptions) {
    this.storageContext = ctx;
    this.indexStruct = struct;
    this.embedder = options.embedder ?? new HashEmbedder();
    this.splitter = options.splitter ?? new SentenceSplitter();
    this.insertBatchSize = options.insertBatchSize ?? 2048;
    if (!Number.isInteger(this.insertBatchSize) || this.insertBatchSize < 1) throw errors.invalid("insertBatchSize must be a positive integer");
    this.storeNodesOverride = options.storeNodesOverride ?? false;
    this.onProgress = options.onProgress;
    const recorded = struct.data[EMBED_MODEL_KEY];
    if (typeof recorded === "string" && recorded !== this.embedder.model) {
      throw errors.invalid(
        `index ${struct.indexId} was built with embedding model ${JSON.stringify(recorded)}, not ${JSON.stringify(this.embedder.model)}; pass an embedder for that model`,
      );
    }
    struct.data[EMBED_MODEL_KEY] = this.embedder.model;
  }

  get indexId(): string {
    return this.indexStruct.indexId;
  }
  get vectorStore(): VectorStore {
    return this.storageContext.vectorStore;
  }
  get docStore(): DocStore {
    return this.storageContext.docStore;
  }
  /**
   * Whether inserted nodes go to the docstore (and `nodes_dict`), as LlamaIndex does when the vector
   * store keeps no text: with `storeNodesOverride`, with a vector store without text, and for an
   * index whose struct already maps nodes (one Python built, or one built with the override), so
   * that Python's retriever keeps finding every node after Larder inserts into it.
   */
  get keepsNodesInDocstore(): boolean {
    if (this.storeNodesOverride || !this.vectorStore.storesText) return true;
    for (const _ in this.indexStruct.data.nodes_dict) return true;
    return false;
  }

  /** The embedding model recorded in the index struct. */
  get embedModel(): string {
    return this.embedder.model;
  }

  /** Splits, embeds and stores documents; records their hashes. */
  static async fromDocuments(documents: readonly BaseNode[], options: VectorStoreIndexOptions = {}): Promise<VectorStoreIndex> {
    const ctx = options.storageContext ?? (await StorageContext.fromDefaults());
    const index = new VectorStoreIndex(ctx, createIndexDict(options.indexId ? { indexId: options.indexId } : {}), options);
    await index.insert(documents);
    return index;
  }

  /** An index over nodes that already carry embeddings or need them (no splitting). */
  static async fromNodes(nodes: readonly BaseNode[], options: VectorStoreIndexOptions = {}): Promise<VectorStoreIndex> {
    const ctx = options.storageContext ?? (await StorageContext.fromDefaults());
    const index = new VectorStoreIndex(ctx, createIndexDict(options.indexId ? { indexId: options.indexId } : {}), options);
    await index.insertNodes(nodes);
    return index;
  }

  /** An empty index over an existing (e.g. already populated, remote) vector store. */
  static async fromVectorStore(vectorStore: VectorStore, options: Omit<VectorStoreIndexOptions, "storageContext"> = {}): Promise<VectorStoreIndex> {
    if (!vectorStore || typeof vectorStore.query !== "function") throw errors.invalid("fromVectorStore needs a VectorStore");
    const ctx = await StorageContext.fromDefaults({ vectorStore });
    const index = new VectorStoreIndex(ctx, createIndexDict(options.indexId ? { indexId: options.indexId } : {}), options);
    await ctx.indexStore.addIndexStruct(index.indexStruct);
    return index;
  }

  /** Wraps a loaded `IndexDict` (see {@link loadIndexFromStorage}). */
  static fromIndexStruct(struct: IndexDict, options: VectorStoreIndexOptions & { storageContext: StorageContext }): VectorStoreIndex {
    return new VectorStoreIndex(options.storageContext, struct, options);
  }

  /** Inserts documents (one or many): split, embed in batches, store in batches. */
  async insert(documents: BaseNode | readonly BaseNode[]): Promise<void> {
    const docs = Array.isArray(documents) ? (documents as readonly BaseNode[]) : [documents as BaseNode];
    docs.forEach((d, i) => {
      if (!d || typeof d.toJSON !== "function" || typeof d.id !== "string") throw errors.invalid(`documents[${i}] is not a node`);
    });
    const nodes = this.splitter.getNodesFromDocuments(docs);
    this.onProgress?.({ phase: "split", done: docs.length, total: docs.length });
    await this.insertNodes(nodes);
    if (docs.length) await this.docStore.setDocumentHashes(Object.fromEntries(docs.map((d) => [d.id, d.hash])));
  }

  /** Embeds (where missing) and stores nodes; one embedder call per embedder batch, one store write per insert batch. */
  async insertNodes(nodes: readonly BaseNode[]): Promise<void> {
    if (!Array.isArray(nodes)) throw errors.invalid("insertNodes takes an array of nodes");
    const total = nodes.length;
    let embedded = 0;
    let stored = 0;
    const vs = this.vectorStore;
    const keepNodes = this.keepsNodesInDocstore;
    for (let i = 0; i < nodes.length; i += this.insertBatchSize) {
      const batch = nodes.slice(i, i + this.insertBatchSize).map((n) => n.clone());
      const todo = batch.filter((n) => n.embedding === null || n.embedding.length === 0);
      for (let j = 0; j < todo.length; j += this.embedder.batchSize) {
        const part = todo.slice(j, j + this.embedder.batchSize);
        const vectors = await this.embedder.embedDocuments(part.map((n) => n.getContent(MetadataMode.EMBED)));
        if (vectors.length !== part.length) throw errors.corrupt(`embedder returned ${vectors.length} vectors for ${part.length} texts`);
        part.forEach((n, k) => (n.embedding = vectors[k]!));
        embedded += part.length;
        this.onProgress?.({ phase: "embed", done: embedded + (batch.length - todo.length), total });
        // An embedder that computes in this thread (the offline one) would otherwise hold the event
        // loop for a whole insert batch: let pending I/O run (a pipelined store write, progress).
        await yieldToEventLoop();
      }
      const ids = await vs.add(batch);
      const withoutEmbedding = (n: BaseNode): BaseNode => {
        const c = n.clone();
        c.embedding = null;
        return c;
      };
      if (keepNodes) {
        const docs = batch.map(withoutEmbedding);
        docs.forEach((n, k) => indexDictAddNode(this.indexStruct, n.id, ids[k] ?? n.id));
        await this.docStore.addDocuments(docs, { allowUpdate: true });
      } else {
        // The vector store keeps the text. Image and index nodes still go to the docstore (as in
        // LlamaIndex); every node's hash and ref-doc info go there too, for deletes and refreshes.
        // Those entries hold no node data (storeText: false), so the nodes go as they are, uncopied.
        const special: BaseNode[] = [];
        batch.forEach((n, k) => {
          if (!(n instanceof ImageNode || n instanceof IndexNode)) return;
          indexDictAddNode(this.indexStruct, n.id, ids[k] ?? n.id);
          special.push(withoutEmbedding(n));
        });
        await this.docStore.addDocuments(batch, { allowUpdate: true, storeText: false });
        if (special.length) await this.docStore.addDocuments(special, { allowUpdate: true });
      }
      stored += batch.length;
      this.onProgress?.({ phase: "store", done: stored, total });
    }
    await this.storageContext.indexStore.addIndexStruct(this.indexStruct);
  }

  /** Deletes a document's nodes from the vector store, the index struct and (by default) the docstore. */
  async deleteRefDoc(refDocId: string, options: { deleteFromDocstore?: boolean } = {}): Promise<void> {
    await this.deleteRefDocs([refDocId], options);
  }

  /** {@link deleteRefDoc} for many documents, with batched reads and one vector delete per call. */
  async deleteRefDocs(refDocIds: readonly string[], options: { deleteFromDocstore?: boolean } = {}): Promise<void> {
    if (!Array.isArray(refDocIds) || refDocIds.some((r) => typeof r !== "string" || r === "")) {
      throw errors.invalid("refDocIds must be an array of non-empty strings");
    }
    if (refDocIds.length === 0) return;
    const infos = await getRefDocInfos(this.docStore, refDocIds);
    const known: string[] = [];
    const unknown: string[] = [];
    refDocIds.forEach((r, i) => {
      const info = infos[i];
      if (info) for (const id of info.nodeIds) known.push(id);
      else unknown.push(r);
    });
    // Node ids from the docstore's ref-doc info: one delete. Docs without info (e.g. a vector store
    // filled by someone else): by ref doc id, which the contract offers one at a time.
    const knownSet = new Set(known);
    const vectorIds = new Set<string>(known);
    for (const [vid, nid] of Object.entries(this.indexStruct.data.nodes_dict)) if (knownSet.has(nid)) vectorIds.add(vid);
    if (vectorIds.size) await this.vectorStore.deleteNodes({ ids: [...vectorIds] });
    await Promise.all(unknown.map((r) => this.vectorStore.delete(r)));
    let changed = false;
    for (const [vid, nid] of Object.entries(this.indexStruct.data.nodes_dict)) {
      if (knownSet.has(nid)) {
        delete this.indexStruct.data.nodes_dict[vid];
        changed = true;
      }
    }
    if (options.deleteFromDocstore ?? true) {
      // KVDocumentStore serializes its mutations anyway; one call per document keeps its exact bookkeeping.
      for (const r of refDocIds) await this.docStore.deleteRefDoc(r, false);
    }
    if (changed) await this.storageContext.indexStore.addIndexStruct(this.indexStruct);
  }

  /**
   * Re-indexes only documents that are new or whose hash changed (LlamaIndex's
   * `refresh_ref_docs`). Resolves one boolean per document: whether it was (re)inserted.
   */
  async refreshRefDocs(documents: readonly BaseNode[]): Promise<boolean[]> {
    if (!Array.isArray(documents)) throw errors.invalid("refreshRefDocs takes an array of documents");
    const hashes = await getDocumentHashes(this.docStore, documents.map((d) => d.id));
    const changed: BaseNode[] = [];
    const existing: string[] = [];
    const result = documents.map((d, i) => {
      const old = hashes[i];
      if (old === d.hash) return false;
      if (old !== undefined) existing.push(d.id);
      changed.push(d);
      return true;
    });
    if (existing.length) await this.deleteRefDocs(existing);
    if (changed.length) await this.insert(changed);
    return result;
  }

  /** The ref-doc info of every document in the docstore. */
  async refDocInfo(): Promise<Record<string, RefDocInfo>> {
    return this.docStore.getAllRefDocInfo();
  }

  asRetriever(options: RetrieverOptions = {}): VectorIndexRetriever {
    return new VectorIndexRetriever(this, options);
  }
}

/** Retrieves the top-k nodes for a query text (LlamaIndex's `VectorIndexRetriever`). */
export class VectorIndexRetriever {
  readonly index: VectorStoreIndex;
  readonly topK: number;
  readonly filters: MetadataFilters | undefined;
  readonly docIds: string[] | undefined;

  constructor(index: VectorStoreIndex, options: RetrieverOptions = {}) {
    this.index = index;
    this.topK = options.topK ?? 2;
    if (!Number.isInteger(this.topK) || this.topK < 0) throw errors.invalid(`topK must be a non-negative integer, got ${options.topK}`);
    // Malformed filters fail here, before any I/O.
    this.filters = options.filters === undefined ? undefined : validateFilters(options.filters);
    this.docIds = options.docIds;
  }

  async retrieve(query: string): Promise<NodeWithScore[]> {
    if (typeof query !== "string") throw errors.invalid("retrieve takes a query string");
    const embedding = await this.index.embedder.embedQuery(query);
    const vs = this.index.vectorStore;
    const result = await vs.query({
      embedding,
      topK: this.topK,
      mode: "default",
      queryStr: query,
      ...(this.filters ? { filters: this.filters } : {}),
      ...(this.docIds ? { docIds: this.docIds } : {}),
    });
    const n = result.ids.length;
    const vsNodes = result.nodes && result.nodes.length === n ? result.nodes : undefined;
    const nd = this.index.indexStruct.data.nodes_dict;
    // As LlamaIndex: a hit's node comes from the docstore when the vector store returned none (it
    // keeps no text), when the index struct maps the vector id to a docstore node (`nodes_dict`: the
    // index keeps its nodes in the docstore, e.g. one Python built over a vector store without
    // text), or when it is an image or index node; and when the row came back without text (a row
    // of a LlamaIndex vector file that this index does not map: another index's node). One batched
    // read for all of them.
    const nodeIds: string[] = new Array(n);
    const fetch: string[] = [];
    for (let i = 0; i < n; i++) {
      const vid = result.ids[i]!;
      const mapped = Object.prototype.hasOwnProperty.call(nd, vid) ? nd[vid] : undefined;
      nodeIds[i] = mapped ?? vid;
      const vn = vsNodes?.[i];
      if (!vn || mapped !== undefined || vn instanceof ImageNode || vn instanceof IndexNode || vn.getContent(MetadataMode.NONE) === "") fetch.push(nodeIds[i]!);
    }
    const fetched = new Map<string, BaseNode>();
    if (fetch.length) for (const node of await this.index.docStore.getNodes([...new Set(fetch)])) fetched.set(node.id, node);
    return nodeIds.map((id, i) => {
      const vid = result.ids[i]!;
      let node = fetched.get(id);
      if (!node) {
        const vn = vsNodes?.[i];
        // A vector store row without text whose node the docstore lacks has nothing to return:
        // an error, never an empty hit.
        const mapped = Object.prototype.hasOwnProperty.call(nd, vid);
        if (vn && !(mapped && vn.getContent(MetadataMode.NONE) === "")) node = vn;
        else {
          throw errors.notFound(
            `retrieval hit ${JSON.stringify(vid)}: node ${JSON.stringify(id)} is neither in the docstore nor stored with its text in the vector store (index ${this.index.indexId})`,
          );
        }
      }
      return { node, score: result.similarities[i]! };
    });
  }
}

export interface LoadIndexOptions extends Omit<VectorStoreIndexOptions, "storageContext" | "indexId"> {
  /** Required when the index store holds several indexes. */
  indexId?: string;
}

/**
 * LlamaIndex's `load_index_from_storage` for vector indexes. Without an embedder, an index built
 * with the built-in `larder-hash-v1-*` embedder gets it back; any other model must be passed.
 */
export async function loadIndexFromStorage(storageContext: StorageContext, options: LoadIndexOptions = {}): Promise<VectorStoreIndex> {
  const struct = await storageContext.indexStore.getIndexStruct(options.indexId);
  if (!struct) {
    throw options.indexId
      ? errors.notFound(`failed to load index with id ${JSON.stringify(options.indexId)}: not in the index store`)
      : errors.notFound("no index in the storage context: check the persist dir / store URL");
  }
  if (!isIndexDict(struct)) {
    throw errors.unsupported(`index ${struct.indexId} is a ${JSON.stringify(struct.type)} index; only vector_store (IndexDict) indexes load here`);
  }
  let embedder = options.embedder;
  if (!embedder) {
    const recorded = struct.data[EMBED_MODEL_KEY];
    embedder = typeof recorded === "string" ? HashEmbedder.fromModel(recorded) : new HashEmbedder();
    if (!embedder) {
      throw errors.invalid(`index ${struct.indexId} was built with embedding model ${JSON.stringify(recorded)}; pass an embedder for it`);
    }
  }
  return VectorStoreIndex.fromIndexStruct(struct, { ...options, embedder, storageContext });
}

/** Ref-doc infos in one KV round trip when the docstore is a KVDocumentStore. */
async function getRefDocInfos(ds: DocStore, ids: readonly string[]): Promise<(RefDocInfo | undefined)[]> {
  if (ds instanceof KVDocumentStore) {
    const values = await ds.kvStore.getMany(ids, ds.refDocCollection);
    return values.map((v) => parseRefDocInfo(v));
  }
  // Other DocStore implementations only offer one-at-a-time reads: issue them concurrently.
  return Promise.all(ids.map((id) => ds.getRefDocInfo(id)));
}

/** Document hashes in one KV round trip when the docstore is a KVDocumentStore. */
async function getDocumentHashes(ds: DocStore, ids: readonly string[]): Promise<(string | undefined)[]> {
  if (ids.length === 0) return [];
  if (ds instanceof KVDocumentStore) {
    const values = await ds.kvStore.getMany(ids, ds.metadataCollection);
    return values.map((v) => (typeof v?.["doc_hash"] === "string" ? (v["doc_hash"] as string) : undefined));
  }
  return Promise.all(ids.map((id) => ds.getDocumentHash(id)));
}
