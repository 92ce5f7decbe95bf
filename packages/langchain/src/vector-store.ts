import { randomUUID } from "node:crypto";
import { StorageError } from "@larder/core/errors";
import type { MetadataFilters } from "@larder/core/filters";
import { NodeRelationship, TextNode, type BaseNode } from "@larder/core/schema";
import type { VectorStore as LarderStore } from "@larder/core/vector";
import type { Callbacks } from "@langchain/core/callbacks/manager";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import { VectorStore, type MaxMarginalRelevanceSearchOptions } from "@langchain/core/vectorstores";

const STORE = "LarderVectorStore";

export interface LarderVectorStoreArgs {
  /** Any Larder vector store that keeps node text (`storesText`): `SimpleVectorStore`, `PostgresVectorStore`, ... */
  store: LarderStore;
  /**
   * A metadata key (e.g. `"source"`) naming the document each chunk comes from. When a document's
   * metadata has a string there, the node records it as its ref doc (LlamaIndex's SOURCE
   * relationship), and `deleteRefDoc(value)` removes every chunk of that document in one call.
   * The metadata itself is stored unchanged. Default: none.
   */
  refDocIdKey?: string;
}

/** Options of `addVectors` / `addDocuments`. */
export interface LarderAddOptions {
  /** One id per document; wins over `Document.id`. Without either, a random UUID. */
  ids?: string[];
}

/** What `delete` accepts: ids, a Larder filter, or both (intersection). Neither is refused. */
export interface LarderDeleteParams {
  ids?: string[];
  filter?: MetadataFilters;
}

/**
 * A LangChain `VectorStore` over any Larder `VectorStore`. Documents become Larder `TextNode`s
 * (`pageContent` -> `text`, `metadata` -> `metadata`, `id` -> `id`); filters are Larder
 * `MetadataFilters` (one meaning on every store; build them by hand or with `LarderTranslator`).
 */
export class LarderVectorStore extends VectorStore {
  declare FilterType: MetadataFilters;

  /** The Larder store underneath (for what this class does not expose, e.g. `clear()`). */
  readonly store: LarderStore;
  readonly refDocIdKey: string | undefined;

  _vectorstoreType(): string {
    return "larder";
  }

  constructor(embeddings: EmbeddingsInterface, args: LarderVectorStoreArgs) {
    super(embeddings, args as unknown as Record<string, unknown>);
    const store = args?.store;
    if (!store || typeof store.query !== "function" || typeof store.add !== "function") {
      throw new StorageError("INVALID_ARGUMENT", "args.store must be a Larder VectorStore", { store: STORE });
    }
    if (!store.storesText) {
      throw new StorageError("UNSUPPORTED", "the Larder store does not keep node text (storesText is false), so documents could not be returned", { store: STORE });
    }
    if (args.refDocIdKey !== undefined && (typeof args.refDocIdKey !== "string" || args.refDocIdKey === "")) {
      throw new StorageError("INVALID_ARGUMENT", "refDocIdKey must be a non-empty string", { store: STORE });
    }
    this.store = store;
    this.refDocIdKey = args.refDocIdKey;
  }

  /** Embeds `documents` with `embeddings.embedDocuments` and adds them; resolves their ids in order. */
  async addDocuments(documents: DocumentInterface[], options?: LarderAddOptions): Promise<string[]> {
    const ids = this.idsFor(documents, options);
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent));
    return this.addVectors(vectors, documents, { ids });
  }

  /** Adds (upserts by id) documents with their vectors in one store call; resolves their ids in order. */
  async addVectors(vectors: number[][], documents: DocumentInterface[], options?: LarderAddOptions): Promise<string[]> {
    if (!Array.isArray(vectors) || !Array.isArray(documents) || vectors.length !== documents.length) {
      throw new StorageError("INVALID_ARGUMENT", `addVectors needs one vector per document (got ${vectors?.length} vectors for ${documents?.length} documents)`, { store: STORE });
    }
    const ids = this.idsFor(documents, options);
    const nodes = documents.map((d, i) => {
      if (typeof d?.pageContent !== "string") {
        throw new StorageError("INVALID_ARGUMENT", `documents[${i}].pageContent must be a string`, { store: STORE });
      }
      const metadata = d.metadata ?? {};
      const ref = this.refDocIdKey === undefined ? undefined : metadata[this.refDocIdKey];
      const relationships = typeof ref === "string" && ref !== "" ? { [NodeRelationship.SOURCE]: { nodeId: ref } } : {};
      return new TextNode({ id: ids[i]!, text: d.pageContent, metadata, embedding: vectors[i]!, relationships });
    });
    return this.store.add(nodes);
  }

  async similaritySearchVectorWithScore(query: number[], k: number, filter?: MetadataFilters): Promise<[DocumentInterface, number][]> {
    const r = await this.store.query({ embedding: query, topK: k, ...(filter ? { filters: filter } : {}) });
    return r.ids.map((id, i) => [toDocument(nodeOf(r.nodes, i, id)), r.similarities[i]!]);
  }

  /**
   * Maximal marginal relevance among the `fetchK` (default 20) most similar documents, `lambda`
   * (default 0.5) weighing relevance against diversity: the Larder store's `mmr` mode restricted to
   * those candidates. A store without `mmr` in `capabilities.modes` is `UNSUPPORTED`.
   */
  override async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<MetadataFilters>,
    _callbacks?: Callbacks,
  ): Promise<DocumentInterface[]> {
    if (!this.store.capabilities.modes.includes("mmr")) {
      throw new StorageError("UNSUPPORTED", "maximal marginal relevance search: the Larder store does not list the mmr mode in capabilities.modes", { store: STORE });
    }
    const { k, fetchK = 20, lambda = 0.5, filter } = options;
    if (!Number.isInteger(fetchK) || fetchK < k) {
      throw new StorageError("INVALID_ARGUMENT", `fetchK must be an integer >= k (got fetchK ${fetchK}, k ${k})`, { store: STORE });
    }
    const embedding = await this.embeddings.embedQuery(query);
    const candidates = await this.store.query({ embedding, topK: fetchK, ...(filter ? { filters: filter } : {}) });
    if (candidates.ids.length === 0) return [];
    const r = await this.store.query({ embedding, topK: k, mode: "mmr", mmrThreshold: lambda, nodeIds: candidates.ids });
    return r.ids.map((id, i) => toDocument(nodeOf(r.nodes, i, id)));
  }

  /**
   * Deletes by ids, by a Larder filter, or both (the intersection). Called with neither it is
   * `INVALID_ARGUMENT` (never "delete everything": use `store.clear()`).
   */
  override async delete(params?: LarderDeleteParams): Promise<void> {
    const ids = params?.ids;
    const filter = params?.filter;
    if (ids === undefined && filter === undefined) {
      throw new StorageError("INVALID_ARGUMENT", "delete needs ids, a filter, or both (to remove everything call store.clear())", { store: STORE });
    }
    await this.store.deleteNodes({ ...(ids !== undefined ? { ids } : {}), ...(filter !== undefined ? { filters: filter } : {}) });
  }

  /**
   * Deletes every chunk whose ref doc is `refDocId` (see `refDocIdKey`), in one store call; an
   * unknown id deletes nothing.
   */
  async deleteRefDoc(refDocId: string): Promise<void> {
    if (typeof refDocId !== "string" || refDocId === "") {
      throw new StorageError("INVALID_ARGUMENT", "refDocId must be a non-empty string", { store: STORE });
    }
    await this.store.delete(refDocId);
  }

  /** The documents with these ids, in the order given; unknown ids are skipped. */
  async getByIds(ids: string[]): Promise<DocumentInterface[]> {
    if (!Array.isArray(ids)) throw new StorageError("INVALID_ARGUMENT", "ids must be an array of strings", { store: STORE });
    if (ids.length === 0) return [];
    const nodes = await this.store.getNodes({ ids });
    // Larder's contract says "in the order given"; placing the nodes by id keeps that promise
    // whatever order a store returns them in.
    const byId = new Map(nodes.map((n) => [n.id, n]));
    return ids.flatMap((id) => {
      const node = byId.get(id);
      return node ? [toDocument(node)] : [];
    });
  }

  /** Documents matching a Larder filter (every document without one). */
  async getByFilter(filter?: MetadataFilters): Promise<DocumentInterface[]> {
    return (await this.store.getNodes(filter ? { filters: filter } : {})).map(toDocument);
  }

  static override async fromTexts(texts: string[], metadatas: object[] | object, embeddings: EmbeddingsInterface, args: LarderVectorStoreArgs): Promise<LarderVectorStore> {
    const docs = texts.map(
      (pageContent, i) => new Document({ pageContent, metadata: (Array.isArray(metadatas) ? metadatas[i] : metadatas) as Record<string, unknown> }),
    );
    return LarderVectorStore.fromDocuments(docs, embeddings, args);
  }

  static override async fromDocuments(docs: DocumentInterface[], embeddings: EmbeddingsInterface, args: LarderVectorStoreArgs): Promise<LarderVectorStore> {
    const store = new LarderVectorStore(embeddings, args);
    await store.addDocuments(docs);
    return store;
  }

  private idsFor(documents: DocumentInterface[], options: LarderAddOptions | undefined): string[] {
    if (!Array.isArray(documents)) throw new StorageError("INVALID_ARGUMENT", "documents must be an array", { store: STORE });
    const given = options?.ids;
    if (given !== undefined && (!Array.isArray(given) || given.length !== documents.length)) {
      throw new StorageError("INVALID_ARGUMENT", `options.ids must have one id per document (${documents.length})`, { store: STORE });
    }
    return documents.map((d, i) => {
      const id = given?.[i] ?? d?.id ?? randomUUID();
      if (typeof id !== "string" || id === "") throw new StorageError("INVALID_ARGUMENT", `the id of documents[${i}] must be a non-empty string`, { store: STORE });
      return id;
    });
  }
}

function nodeOf(nodes: BaseNode[] | undefined, i: number, id: string): BaseNode {
  const node = nodes?.[i];
  if (!node || node.id !== id) {
    throw new StorageError("CORRUPT", `the Larder store returned no node for result ${JSON.stringify(id)}`, { store: STORE });
  }
  return node;
}

/** A Larder node as a LangChain document (text, metadata, id). */
export function toDocument(node: BaseNode): Document {
  return new Document({ pageContent: node.text, metadata: node.metadata, id: node.id });
}
