import type { BaseNode } from "../schema/node.js";
import type { MetadataFilters } from "../filters/types.js";

export type VectorQueryMode = "default" | "mmr" | "hybrid" | "text";
export type DistanceMetric = "cosine" | "dot" | "euclidean";

export interface VectorStoreQuery {
  embedding?: readonly number[] | Float32Array | null;
  /** Default 2 (LlamaIndex's similarity_top_k). */
  topK?: number;
  filters?: MetadataFilters;
  /** Restrict to these node ids. */
  nodeIds?: readonly string[];
  /** Restrict to nodes of these ref docs. */
  docIds?: readonly string[];
  mode?: VectorQueryMode;
  queryStr?: string;
  /** Hybrid weight of the vector score (0..1). */
  alpha?: number;
  /** MMR lambda (relevance vs diversity), default 0.5. */
  mmrThreshold?: number;
  /** Drop results scoring below this. */
  similarityCutoff?: number;
}

export interface VectorStoreQueryResult {
  ids: string[];
  /** Higher is better, aligned with `ids`, sorted descending (ties broken by id ascending). */
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
  /** Deletes every node whose ref doc is `refDocId`. */
  delete(refDocId: string): Promise<void>;
  /** Neither ids nor filters is `INVALID_ARGUMENT` (never "delete everything"). Both: intersection. */
  deleteNodes(args: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<void>;
  getNodes(args?: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<BaseNode[]>;
  clear(): Promise<void>;
  query(query: VectorStoreQuery): Promise<VectorStoreQueryResult>;
  close?(): Promise<void>;
}
