import { errors, type MetadataFilters as LarderMetadataFilters, type VectorQueryMode, type VectorStore } from "@larder/core";
import type { BaseEmbedding } from "@llamaindex/core/embeddings";
import type { BaseNode } from "@llamaindex/core/schema";
import {
  BaseVectorStore,
  type MetadataFilters,
  type VectorStoreQuery,
  type VectorStoreQueryResult,
} from "@llamaindex/core/vector-store";
import { type LarderFilterInput, toLarderFilters } from "./filters.js";
import { fromLarderNode, toLarderNode } from "./nodes.js";

export interface LarderVectorStoreOptions {
  /** The Larder vector store to use (any store that passes the conformance kit). */
  vectorStore: VectorStore;
  /**
   * The embedding model LlamaIndexTS uses for this store. Default: none, so the index uses
   * `Settings.embedModel` of the `llamaindex` copy the app imports (read when it embeds).
   */
  embedModel?: BaseEmbedding;
  /**
   * What LlamaIndexTS is told about text (`storesText`). Default: the Larder store's own value
   * (`true` for every Larder store). With `false`, `VectorStoreIndex` also keeps each node in the
   * docstore and the index struct — LlamaIndex's layout, which a folder must have for Python
   * LlamaIndex's `load_index_from_storage` to find the nodes (see `storageContextFromLarder`).
   */
  storesText?: boolean;
}

/** `customParams` of a LlamaIndexTS query, passed to Larder's query. */
export interface LarderQueryParams {
  /** Restrict to these node ids. */
  nodeIds?: string[];
  /** Keep only results whose similarity is >= this. */
  similarityCutoff?: number;
}

const MODES: Record<string, VectorQueryMode> = { default: "default", mmr: "mmr", hybrid: "hybrid", sparse: "text" };

/** A placeholder so that `BaseVectorStore`'s constructor does not read (another copy's) `Settings`. */
const NO_MODEL = {} as BaseEmbedding;

/**
 * LlamaIndexTS's `BaseVectorStore` over a Larder {@link VectorStore}. Queries, filters and deletes
 * are the Larder store's (its semantics and errors); nodes are converted both ways without loss.
 */
export class LarderVectorStore extends BaseVectorStore<VectorStore, LarderQueryParams> {
  storesText: boolean;
  override isEmbeddingQuery = true;
  readonly #store: VectorStore;

  constructor(options: LarderVectorStoreOptions) {
    super({ embedModel: options.embedModel ?? NO_MODEL });
    if (!options || typeof options.vectorStore?.query !== "function") throw errors.invalid("LarderVectorStore needs {vectorStore}: a Larder VectorStore");
    if (options.embedModel === undefined) {
      // Left unset: VectorStoreIndex then embeds with the Settings.embedModel of the app's llamaindex.
      this.embedModel = undefined as unknown as BaseEmbedding;
    }
    this.#store = options.vectorStore;
    this.storesText = options.storesText ?? options.vectorStore.storesText;
  }

  /** The Larder store underneath. */
  client(): VectorStore {
    return this.#store;
  }

  /** Adds nodes with their embeddings (upsert by id); resolves their ids in order. */
  async add(nodes: BaseNode[]): Promise<string[]> {
    if (!Array.isArray(nodes)) throw errors.invalid("add expects an array of nodes");
    if (nodes.length === 0) return [];
    const converted = nodes.map((n) => {
      if (!Array.isArray(n?.embedding)) throw errors.invalid(`node ${JSON.stringify(n?.id_)} has no embedding: embed nodes before adding them to a vector store`);
      return toLarderNode(n);
    });
    return this.#store.add(converted);
  }

  /** Deletes every node of a ref doc (SOURCE relationship); unknown ids are a no-op. */
  async delete(refDocId: string, _deleteOptions?: object): Promise<void> {
    if (typeof refDocId !== "string" || refDocId === "") throw errors.invalid("delete expects a non-empty ref doc id");
    await this.#store.delete(refDocId);
  }

  /** Deletes nodes by ids and/or filters (neither is INVALID_ARGUMENT). */
  async deleteNodes(args: { ids?: string[]; filters?: LarderFilterInput }): Promise<void> {
    const filters = toLarderFilters(args?.filters, this.#store.capabilities);
    if (args?.ids === undefined && filters === undefined) throw errors.invalid("deleteNodes needs ids or filters (it never deletes everything)");
    await this.#store.deleteNodes({ ...(args.ids !== undefined ? { ids: args.ids } : {}), ...(filters ? { filters } : {}) });
  }

  /** Nodes by ids (in that order), by filters, both, or all. */
  async getNodes(args: { ids?: string[]; filters?: LarderFilterInput } = {}): Promise<BaseNode[]> {
    const filters = toLarderFilters(args.filters, this.#store.capabilities);
    const nodes = await this.#store.getNodes({ ...(args.ids !== undefined ? { ids: args.ids } : {}), ...(filters ? { filters } : {}) });
    return nodes.map((n) => fromLarderNode(n));
  }

  /** Removes every node. */
  async clear(): Promise<void> {
    await this.#store.clear();
  }

  /**
   * Runs a LlamaIndexTS query on the Larder store. Modes: `default`, `mmr`, `hybrid` and `sparse`
   * (Larder's `text` mode), each where the store lists it; others are UNSUPPORTED. `filters` may be
   * LlamaIndexTS's flat filters or a Larder filter tree; `customParams` takes {@link LarderQueryParams}.
   */
  async query(query: VectorStoreQuery<LarderQueryParams>, _options?: object): Promise<VectorStoreQueryResult> {
    if (query === null || typeof query !== "object") throw errors.invalid("query must be an object");
    const modeIn = query.mode ?? "default";
    const mode = MODES[modeIn];
    if (mode === undefined) throw errors.unsupported(`query mode ${JSON.stringify(modeIn)} is not supported (use default, mmr, hybrid or sparse)`);
    const filters: LarderMetadataFilters | undefined = toLarderFilters(query.filters as MetadataFilters | LarderFilterInput | undefined, this.#store.capabilities);
    const custom = query.customParams;
    const result = await this.#store.query({
      ...(query.queryEmbedding !== undefined ? { embedding: query.queryEmbedding } : {}),
      topK: query.similarityTopK,
      mode,
      ...(filters ? { filters } : {}),
      ...(query.docIds !== undefined ? { docIds: query.docIds } : {}),
      ...(query.queryStr !== undefined ? { queryStr: query.queryStr } : {}),
      ...(query.alpha !== undefined ? { alpha: query.alpha } : {}),
      ...(query.mmrThreshold !== undefined ? { mmrThreshold: query.mmrThreshold } : {}),
      ...(custom?.nodeIds !== undefined ? { nodeIds: custom.nodeIds } : {}),
      ...(custom?.similarityCutoff !== undefined ? { similarityCutoff: custom.similarityCutoff } : {}),
    });
    return {
      ids: result.ids,
      similarities: result.similarities,
      ...(result.nodes ? { nodes: result.nodes.map((n) => fromLarderNode(n, { keepEmbedding: false })) } : {}),
    };
  }
}
