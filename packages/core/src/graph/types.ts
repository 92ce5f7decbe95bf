/**
 * The property graph contract (LlamaIndex's `PropertyGraphStore`, used by `PropertyGraphIndex`).
 *
 * A graph holds two kinds of nodes — entities (`EntityNode`, identified by their name) and text
 * chunks (`ChunkNode`, the provenance of entities) — and directed, typed relations between them.
 * The full semantics, with every decision where the Python implementations disagree, is written
 * out in `packages/core/docs/graph.md`; the conformance kit (`@larder/conformance/graph`) pins it.
 *
 * Build values with the helpers in `./model.ts` (`entityNode`, `chunkNode`, `relation`,
 * `triplet`): they fill the defaults and validate eagerly. Stores validate again, so plain objects
 * of these shapes are accepted too.
 */
import type { FilterOperator, MetadataFilters } from "../filters/types.js";

/**
 * A property value: a string, a finite number, a boolean, or a flat array whose items are all
 * strings, all numbers or all booleans (an empty array is allowed). Nested objects, nested arrays,
 * mixed-type arrays and non-finite numbers are `INVALID_ARGUMENT` — every backend (JSON, Neo4j)
 * can store exactly this set.
 *
 * `null` is accepted on input and means "no value": in an upsert it REMOVES the key (Neo4j's
 * `SET n += {k: null}`), so a stored node never carries a `null` property.
 *
 * Interop exception: a `SimplePropertyGraphStore` loaded from Python's `property_graph_store.json`
 * keeps any JSON value Python accepted (nested objects and arrays) verbatim, so reads may return
 * values outside this type there (see docs/graph.md, "Property values").
 */
export type PropertyScalar = string | number | boolean;
export type PropertyValue = PropertyScalar | null | string[] | number[] | boolean[];
/** Property keys: non-empty strings (≤ 256 UTF-16 code units, no control characters). */
export type Properties = Record<string, PropertyValue>;

/**
 * An entity. Its id IS its name (exactly, unlike Python which replaces `"` by a space): stable
 * across processes and backends.
 */
export interface EntityNode {
  kind: "entity";
  /** The id; non-empty, ≤ 2048 UTF-16 code units, well-formed Unicode. */
  name: string;
  /** Default `"entity"`. See `validateLabel` for what a label may contain. */
  label: string;
  properties: Properties;
  /**
   * Optional embedding (finite numbers). `undefined` in an upsert keeps the stored one; `null`
   * removes it. Read methods other than `get` may omit it (`undefined`) to save bandwidth.
   */
  embedding?: number[] | null;
}

/**
 * A text chunk, the provenance of the entities extracted from it (see {@link TRIPLET_SOURCE_KEY}
 * in ./model.ts). Its `id` is given by the caller (LlamaIndex passes the TextNode's id); the
 * `chunkNode` helper derives a stable one from the text (sha256) when none is given — never
 * Python's per-process `hash(text)`.
 */
export interface ChunkNode {
  kind: "chunk";
  id: string;
  text: string;
  /** Default `"text_chunk"` (LlamaIndex's). */
  label: string;
  properties: Properties;
  embedding?: number[] | null;
}

export type LabelledNode = EntityNode | ChunkNode;

/**
 * A directed, typed relation. Its key is `(sourceId, label, targetId)`: upserting the same key
 * twice leaves one relation whose properties are merged. Both endpoints always exist in a store
 * (missing ones are created as placeholder entities by `upsertRelations`).
 */
export interface Relation {
  /** Relationship type, e.g. `"WORKS_AT"`; validated like node labels. */
  label: string;
  sourceId: string;
  targetId: string;
  properties: Properties;
}

/** `[source node, relation, target node]`; the relation keeps its real direction. */
export type Triplet = [LabelledNode, Relation, LabelledNode];

/**
 * Selects nodes for `get`. Given criteria combine with AND; an omitted criterion does not
 * constrain; an EMPTY `ids` list matches nothing (Python treats `[]` as "no filter").
 */
export interface GraphSelector {
  /** Node ids (entity names or chunk ids). */
  ids?: readonly string[];
  /**
   * Every given key must be present with an equal value (AND; strict equality, no coercion:
   * `"3"` never equals `3`; arrays equal item by item). `null` values are `INVALID_ARGUMENT`
   * (use a filter's `is_empty` in `vectorQuery`, or omit the key).
   */
  properties?: Properties;
}

/**
 * Selects triplets for `getTriplets` (criteria combine with AND; NO criteria returns ALL
 * triplets, like the Neo4j store — the Python simple store returned `[]`):
 * - `entityNames`: the source or the target is an ENTITY with one of these names;
 * - `ids`: the source or the target has one of these ids (entity or chunk);
 * - `relationNames`: the relation's label is one of these;
 * - `properties`: the source, the relation or the target has ALL of them (AND within one
 *   element, OR across the three elements of the triplet).
 *
 * For `delete` the same fields select independently and the UNION is deleted — see
 * `PropertyGraphStore.delete`.
 */
export interface TripletSelector extends GraphSelector {
  entityNames?: readonly string[];
  relationNames?: readonly string[];
}

export interface RelMapOptions {
  /** Hops from the seeds, integer ≥ 0. Default 2. `0` returns `[]`. */
  depth?: number;
  /** Maximum number of triplets returned, integer ≥ 0. Default 30. */
  limit?: number;
  /** Relation labels neither traversed nor returned (applied BEFORE `limit`). */
  ignoreRels?: readonly string[];
}

export interface GraphVectorQuery {
  /** Query embedding; its dimension must match the stored embeddings (`DIMENSION_MISMATCH`). */
  embedding: readonly number[];
  /**
   * Default 2 (LlamaIndex's `similarity_top_k`, as in the vector store contract). An integer in
   * [0, MAX_TOP_K] (10,000, `@larder/core/vector`); 0 returns nothing; above it `INVALID_ARGUMENT`.
   */
  topK?: number;
  /** Evaluated on node `properties` with the one filter semantics of `@larder/core/filters`. */
  filters?: MetadataFilters;
  /** Which node kinds to search; default both (every node that has an embedding). */
  kinds?: readonly ("entity" | "chunk")[];
}

export interface GraphVectorQueryResult {
  /** Best first; ties broken by node id ascending. */
  nodes: LabelledNode[];
  /** Cosine similarity, higher is better, aligned with `nodes`. */
  scores: number[];
}

export interface PropertyGraphCapabilities {
  /** `structuredQuery` runs the backend's native query language (Cypher for Neo4j). */
  readonly structuredQuery: boolean;
  /** `vectorQuery` is available. */
  readonly vectorQuery: boolean;
  /** Filter operators `vectorQuery` evaluates exactly; others are `UNSUPPORTED`. */
  readonly filterOperators: readonly FilterOperator[];
  /** Whether nested `MetadataFilters` groups are supported in `vectorQuery`. */
  readonly nestedFilters: boolean;
}

/** A `(:source)-[:relation]->(:target)` label pattern present in the graph. */
export interface GraphSchemaPattern {
  source: string;
  relation: string;
  target: string;
}

/** What the graph holds, by label. Every list is sorted (UTF-16 code unit order), without duplicates. */
export interface GraphSchema {
  nodeLabels: string[];
  relationTypes: string[];
  /** Node label -> property keys seen on nodes of that label. */
  nodeProperties: Record<string, string[]>;
  /** Relation type -> property keys seen on relations of that type. */
  relationProperties: Record<string, string[]>;
  patterns: GraphSchemaPattern[];
}

/**
 * A property graph store. All methods validate their whole input BEFORE writing anything: a
 * batch with one invalid item is `INVALID_ARGUMENT` and leaves the store unchanged. Results are
 * fresh values or frozen ones; callers must not mutate them. Result ORDER is unspecified unless
 * stated.
 */
export interface PropertyGraphStore {
  readonly capabilities: PropertyGraphCapabilities;

  /** Nodes matching the selector (all nodes when it is omitted or empty). Embeddings included. */
  get(selector?: GraphSelector): Promise<LabelledNode[]>;

  /** Triplets matching the selector; see {@link TripletSelector}. No criteria: all triplets. */
  getTriplets(selector?: TripletSelector): Promise<Triplet[]>;

  /**
   * The neighbourhood of `nodes` (seeds, matched by id; unknown ids are ignored): every triplet
   * whose nearer endpoint lies within `depth - 1` hops of a seed, relations being walked in BOTH
   * directions (returned with their real direction). Each relation appears once. When more than
   * `limit` qualify, the nearer ones are kept (all hop-1 triplets before any hop-2 one); the order
   * among equally near triplets is unspecified. Relations whose label is in `ignoreRels` are
   * neither walked nor returned.
   */
  getRelMap(nodes: readonly LabelledNode[], options?: RelMapOptions): Promise<Triplet[]>;

  /**
   * Inserts or merges nodes by id. Merging an existing id: kind, label, name/text take the new
   * value; properties merge key by key (new values win, `null` removes the key); the embedding is
   * replaced when given, kept when `undefined`, removed when `null`. Within one batch items apply
   * in order. Idempotent: upserting the same nodes twice leaves one node per id.
   */
  upsertNodes(nodes: readonly LabelledNode[]): Promise<void>;

  /**
   * Inserts or merges relations by `(sourceId, label, targetId)`; properties merge as for nodes.
   * A missing endpoint is created as a placeholder entity (`entityNode({name: id})`: label
   * `"entity"`, no properties), which a later `upsertNodes` fills in. Existing nodes are untouched.
   */
  upsertRelations(relations: readonly Relation[]): Promise<void>;

  /**
   * Deletes the UNION of what each given criterion selects (like both Python stores):
   * - `entityNames` (entities by name), `ids` (any node by id): those nodes AND all their relations;
   * - `relationNames`: every relation of those types (graph-wide), never their endpoints;
   * - `properties`: every node having all of them (with its relations) and every relation having
   *   all of them (its endpoints stay).
   * Deleting a relation never deletes a node. An empty selector (no criterion given) is
   * `INVALID_ARGUMENT` — never "delete everything"; empty lists select nothing. Missing ids are
   * not an error.
   */
  delete(selector: TripletSelector): Promise<void>;

  /** Labels, relation types, property keys and patterns currently in the graph. */
  getSchema(refresh?: boolean): Promise<GraphSchema>;

  /**
   * Runs a query in the backend's native language with bound parameters. `UNSUPPORTED` unless
   * `capabilities.structuredQuery`.
   */
  structuredQuery(query: string, params?: Record<string, unknown>): Promise<Record<string, unknown>[]>;

  /**
   * Nearest nodes by cosine similarity among nodes that have an embedding, after `filters`.
   * `UNSUPPORTED` unless `capabilities.vectorQuery`.
   */
  vectorQuery(query: GraphVectorQuery): Promise<GraphVectorQueryResult>;

  /** Ends only what the store itself opened. */
  close?(): Promise<void>;
}
