/**
 * `vectorQuery` for in-memory graphs: the filter semantics come from the reference evaluator of
 * `../filters`, the similarity from the vector kernel of `../vector` — one implementation of
 * each in core.
 */
import { errors } from "../errors.js";
import { createFilterPredicate } from "../filters/evaluate.js";
import { FILTER_OPERATORS, type FilterOperator } from "../filters/types.js";
import { checkEmbedding, selectTopK, type VectorMatrix } from "../vector/kernel.js";
import { MAX_TOP_K } from "../vector/types.js";
import { nodeId } from "./model.js";
import type { GraphVectorQuery, GraphVectorQueryResult, LabelledNode } from "./types.js";

export const SIMPLE_GRAPH_FILTER_OPERATORS: readonly FilterOperator[] = FILTER_OPERATORS;

export const DEFAULT_GRAPH_TOP_K = 2;

/**
 * Validates a graph vector query (no I/O); returns the resolved topK and kinds. `topK` is an
 * integer in [0, {@link MAX_TOP_K}] (default {@link DEFAULT_GRAPH_TOP_K}); 0 asks for nothing, as
 * on vector stores — callers still validate the filters, then return no nodes.
 */
export function validateGraphVectorQuery(
  query: GraphVectorQuery,
  store?: string,
): { topK: number; kinds: ReadonlySet<"entity" | "chunk"> } {
  const o = { store };
  if (typeof query !== "object" || query === null) throw errors.invalid("vectorQuery expects a query object", o);
  const e = query.embedding as unknown;
  if (!Array.isArray(e) && !(e instanceof Float32Array) && !(e instanceof Float64Array)) {
    throw errors.invalid("vectorQuery: embedding must be an array of numbers", o);
  }
  const arr = e as ArrayLike<unknown>;
  if (arr.length === 0) throw errors.invalid("vectorQuery: embedding must not be empty", o);
  for (let i = 0; i < arr.length; i++) {
    const x = arr[i];
    if (typeof x !== "number" || !Number.isFinite(Math.fround(x))) {
      throw errors.invalid(`vectorQuery: embedding[${i}] is not a finite float32 number`, o);
    }
  }
  const topK = query.topK ?? DEFAULT_GRAPH_TOP_K;
  if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 0 || topK > MAX_TOP_K) {
    throw errors.invalid(`vectorQuery: topK must be an integer in [0, ${MAX_TOP_K}], got ${String(topK)}`, o);
  }
  const kinds = new Set<"entity" | "chunk">(query.kinds ?? ["entity", "chunk"]);
  for (const k of kinds) {
    if (k !== "entity" && k !== "chunk") throw errors.invalid(`vectorQuery: unknown node kind ${JSON.stringify(k)}`, o);
  }
  return { topK, kinds };
}

/** What an in-memory graph hands to {@link graphVectorQuery}. */
export interface GraphVectorIndex {
  /** The kernel's matrix of embeddings (undefined when no node has one). */
  matrix: VectorMatrix | undefined;
  /** node id -> row of `matrix` (exactly the nodes that have an embedding). */
  rowOf: ReadonlyMap<string, number>;
  /** row -> node id. */
  rowIds: readonly string[];
  node(id: string): LabelledNode | undefined;
}

/**
 * Exact top-k: the filters (reference evaluator) and kinds pick the candidate rows, the vector
 * kernel scores only those, `selectTopK` orders them (score desc, id asc).
 */
export function graphVectorQuery(index: GraphVectorIndex, query: GraphVectorQuery, store?: string): GraphVectorQueryResult {
  const { topK, kinds } = validateGraphVectorQuery(query, store);
  const predicate = createFilterPredicate(query.filters, { store, supportedOperators: SIMPLE_GRAPH_FILTER_OPERATORS });
  const { matrix } = index;
  checkEmbedding(query.embedding, matrix?.dim, "the query", store);
  if (!matrix || topK === 0) return { nodes: [], scores: [] };
  if (query.filters === undefined && kinds.size === 2) {
    // Every embedded node is a candidate: score the whole matrix in one kernel call.
    const all = matrix.scoreAll(query.embedding);
    const top = selectTopK(all, topK, (i) => index.rowIds[i]!);
    return { nodes: top.map((i) => index.node(index.rowIds[i]!)!), scores: top.map((i) => all[i]!) };
  }
  const rows: number[] = [];
  const picked: LabelledNode[] = [];
  for (const [id, row] of index.rowOf) {
    const n = index.node(id);
    if (!n || !kinds.has(n.kind) || !predicate(n.properties)) continue;
    rows.push(row);
    picked.push(n);
  }
  const scores = matrix.scoreRows(query.embedding, Int32Array.from(rows));
  const best = selectTopK(scores, topK, (i) => nodeId(picked[i]!));
  return { nodes: best.map((i) => picked[i]!), scores: best.map((i) => scores[i]!) };
}
