import type { BaseNode } from "../schema/node.js";
import type { MetadataFilters } from "../filters/types.js";

/**
 * The vector store contract. Semantics in detail: packages/core/docs/vector.md; filters:
 * packages/core/docs/filters.md. Every store passes `describeVectorStore` (@larder/conformance/vector).
 */
export type VectorQueryMode = "default" | "mmr" | "hybrid" | "text";
/** Similarities are higher-is-better: cosine, dot product, or NEGATIVE Euclidean distance. */
export type DistanceMetric = "cosine" | "dot" | "euclidean";

/**
 * The largest `topK` a store accepts (vector stores and graph `vectorQuery`). Above it a query is
 * INVALID_ARGUMENT before any I/O: a server-side store must never be asked for an unbounded
 * candidate list. To read every node use `getNodes`.
 */
export const MAX_TOP_K = 10_000;

export interface VectorStoreQuery {
  /** Required by `default` and `mmr` (INVALID_ARGUMENT when missing, DIMENSION_MISMATCH when the wrong size). */
  embedding?: readonly number[] | Float32Array | null;
  /** Default 2 (LlamaIndex's similarity_top_k). An integer in [0, MAX_TOP_K]; 0 returns nothing. */
  topK?: number;
  filters?: MetadataFilters;
  /** Restrict to these node ids. */
  nodeIds?: readonly string[];
  /** Restrict to nodes of these ref docs. */
  docIds?: readonly string[];
  /** Default "default". A mode the store does not list in `capabilities.modes` is UNSUPPORTED. */
  mode?: VectorQueryMode;
  /** Required by `text` and `hybrid`. */
  queryStr?: string;
  /** Hybrid weight of the vector score in [0, 1] (1 = dense only), default 0.5. */
  alpha?: number;
  /** MMR lambda in [0, 1] (1 = relevance only), default 0.5. */
  mmrThreshold?: number;
  /** Keep only results whose similarity is >= this. */
  similarityCutoff?: number;
}

export interface VectorStoreQueryResult {
  ids: string[];
  /**
   * Higher is better, aligned with `ids`, sorted descending with ties broken by id ascending
   * (Unicode code point order). In `mmr` mode: pick order, and these are the query similarities.
   */
  similarities: number[];
  /** Present when the store keeps node content (`storesText`). */
  nodes?: BaseNode[];
}

export interface VectorStoreCapabilities {
  readonly modes: readonly VectorQueryMode[];
  readonly metrics: readonly DistanceMetric[];
  /** Operators the store evaluates exactly; others are `UNSUPPORTED`. */
  readonly filterOperators: readonly import("../filters/types.js").FilterOperator[];
  readonly nestedFilters: boolean;
}

export interface VectorStore {
  readonly storesText: boolean;
  readonly capabilities: VectorStoreCapabilities;
  /** Adds (upserts by id) nodes that carry embeddings; resolves their ids in order. */
  add(nodes: readonly BaseNode[]): Promise<string[]>;
  /** Deletes every node whose ref doc (SOURCE relationship) is `refDocId`; unknown ids are a no-op. */
  delete(refDocId: string): Promise<void>;
  /** Neither ids nor filters is `INVALID_ARGUMENT` (never "delete everything"). Both: intersection. */
  deleteNodes(args: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<void>;
  /** By ids (given order, unknown skipped), by filters, both (intersection), or all nodes. */
  getNodes(args?: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<BaseNode[]>;
  clear(): Promise<void>;
  query(query: VectorStoreQuery): Promise<VectorStoreQueryResult>;
  close?(): Promise<void>;
}
