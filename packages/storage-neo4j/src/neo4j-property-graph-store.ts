import neo4j, { type Config, type Driver, type QueryResult, type Session, type Transaction } from "neo4j-driver";
import {
  errors,
  graphSchemaFrom,
  hasCriteria,
  nodeId,
  redactCredentials,
  resolveRelMapOptions,
  seedIds,
  validateGraphSelector,
  validateGraphVectorQuery,
  validateLabel,
  validateNode,
  validateRelation,
  validateTripletSelector,
  DEFAULT_ENTITY_LABEL,
  type GraphSchema,
  type GraphSelector,
  type GraphVectorQuery,
  type GraphVectorQueryResult,
  type LabelledNode,
  type Properties,
  type PropertyGraphCapabilities,
  type PropertyGraphStore,
  type PropertyValue,
  type RelMapOptions,
  type Relation,
  type Triplet,
  type TripletSelector,
} from "@larder/core";
import {
  CHUNK_LABEL,
  ENTITY_LABEL,
  MENTIONS,
  NAMESPACE_LABEL_PREFIX,
  NODE_LABEL,
  STORE_NAME,
  checkNamespace,
  labelExpr,
  namespaceLabel,
  namespaceSchemaNames,
  quote,
} from "./cypher.js";
import { mapNeo4jError } from "./errors.js";
import { compileFilters, isFoldRefusal, NEO4J_FILTER_OPERATORS } from "./filters.js";
import {
  decodeKey,
  decodeNode,
  decodeRelation,
  encodeProperties,
  CASE_FOLD_VERSION,
  FOLD_MARKER,
  foldProperties,
  internalLabels,
  toPlain,
  userLabel,
  type NodeRow,
} from "./values.js";

/** Largest dimension a Neo4j 5 vector index accepts; larger embeddings are searched exactly. */
const MAX_INDEX_DIMENSIONS = 4096;

export interface Neo4jPropertyGraphStoreOptions {
  /** An existing driver (the store never closes it). Either this or `url`. */
  driver?: Driver;
  /** `bolt://` / `neo4j://` URL; the store creates (and `close()` closes) its own driver. */
  url?: string;
  username?: string;
  password?: string;
  /** Database name (default: the server's default database). */
  database?: string;
  /**
   * Isolates this store inside a shared database: every node also gets the label
   * `__larder_ns__:<namespace>`, and every query matches on it. Any string of 1..100 characters
   * (no control characters, no lone surrogates). The id constraint and the vector index are then
   * per namespace (`larder.ns.<namespace>.id`, `larder.ns.<namespace>.embedding`).
   */
  namespace?: string;
  /** Items per write transaction (default 1000, as LlamaIndex's `CHUNK_SIZE`). */
  batchSize?: number;
  /**
   * `"index"` (default): unfiltered vector queries over all node kinds use the Neo4j vector index
   * (approximate, HNSW), re-scored exactly; `"exact"`: always an exact scan.
   */
  vectorSearch?: "index" | "exact";
  /**
   * When the store creates the driver: how long getting a connection may take before the call
   * fails with `CONNECTION` — the driver's `connectionTimeout` (TCP connect) and
   * `connectionAcquisitionTimeout` (which also covers the Bolt handshake of a server that accepts
   * connections but does not answer, and waiting for a free pooled connection). Default 2000 ms.
   */
  connectTimeoutMs?: number;
  /**
   * How long the store retries a transaction that failed with a transient server error (deadlock,
   * lock timeout), with backoff. Default 5000 ms; 0 disables retries. A server that cannot be
   * reached is not retried (one immediate retry only when an established connection dropped).
   */
  maxRetryTimeMs?: number;
  /** Extra driver configuration when the store creates the driver (overrides the fail-fast defaults). */
  driverConfig?: Config;
}

/** Default of {@link Neo4jPropertyGraphStoreOptions.connectTimeoutMs}. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
/** Default of {@link Neo4jPropertyGraphStoreOptions.maxRetryTimeMs}. */
export const DEFAULT_MAX_RETRY_TIME_MS = 5_000;

/**
 * LlamaIndex's property graph on Neo4j 5, in plain Cypher (no APOC): nodes are `:__Node__` with a
 * unique `id`, entities `:__Entity__` plus their label, chunks `:Chunk` plus their label;
 * relation labels are relationship types. See the README for the mapping.
 */
export class Neo4jPropertyGraphStore implements PropertyGraphStore {
  readonly capabilities: PropertyGraphCapabilities = {
    structuredQuery: true,
    vectorQuery: true,
    filterOperators: NEO4J_FILTER_OPERATORS,
    nestedFilters: true,
  };

  /** The driver (the one given, or the one the store created). */
  readonly client: Driver;
  readonly database: string | undefined;
  readonly namespace: string | undefined;
  /** The label on this namespace's nodes (`__larder_ns__:<namespace>`), undefined without namespace. */
  readonly namespaceLabel: string | undefined;
  private readonly ownsDriver: boolean;
  private readonly maxRetryTimeMs: number;
  private readonly batchSize: number;
  private readonly vectorSearch: "index" | "exact";
  /** `:`__Node__`` or `:`__Node__`:`__larder_ns__:ns`` — every MATCH of the store's nodes uses it. */
  private readonly base: string;
  private readonly internal: ReadonlySet<string>;
  private readonly constraintName: string | undefined;
  readonly vectorIndexName: string;
  private schemaReady: Promise<void> | undefined;
  private schemaCache: GraphSchema | undefined;
  /** Dimension of the vector index once known (`null`: checked, no index). */
  private indexDim: number | null | undefined;

  constructor(options: Neo4jPropertyGraphStoreOptions) {
    if (typeof options !== "object" || options === null) {
      throw errors.invalid("options must be an object with a driver or a url", { store: STORE_NAME });
    }
    this.namespace = options.namespace === undefined ? undefined : checkNamespace(options.namespace);
    this.database = options.database;
    const batchSize = options.batchSize ?? 1000;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw errors.invalid(`batchSize must be an integer ≥ 1, got ${String(batchSize)}`, { store: STORE_NAME });
    }
    this.batchSize = batchSize;
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1) {
      throw errors.invalid(`connectTimeoutMs must be an integer ≥ 1, got ${String(connectTimeoutMs)}`, { store: STORE_NAME });
    }
    const maxRetryTimeMs = options.maxRetryTimeMs ?? DEFAULT_MAX_RETRY_TIME_MS;
    if (!Number.isInteger(maxRetryTimeMs) || maxRetryTimeMs < 0) {
      throw errors.invalid(`maxRetryTimeMs must be an integer ≥ 0, got ${String(maxRetryTimeMs)}`, { store: STORE_NAME });
    }
    this.maxRetryTimeMs = maxRetryTimeMs;
    this.vectorSearch = options.vectorSearch ?? "index";
    if (this.vectorSearch !== "index" && this.vectorSearch !== "exact") {
      throw errors.invalid(`vectorSearch must be "index" or "exact"`, { store: STORE_NAME });
    }
    if (options.driver) {
      this.client = options.driver;
      this.ownsDriver = false;
    } else if (typeof options.url === "string") {
      try {
        // Fail fast when the server is down: a bounded connect time; the store retries transient
        // errors itself (see `transaction`), so the driver's retry budget is not used.
        this.client = neo4j.driver(
          options.url,
          options.username !== undefined ? neo4j.auth.basic(options.username, options.password ?? "") : undefined,
          {
            connectionAcquisitionTimeout: connectTimeoutMs,
            connectionTimeout: connectTimeoutMs,
            maxTransactionRetryTime: 0,
            userAgent: "larder-storage-neo4j",
            ...options.driverConfig,
          },
        );
      } catch (e) {
        throw errors.invalid(`cannot create a Neo4j driver for ${redactCredentials(options.url)}: ${redactCredentials(String((e as Error)?.message ?? e))}`, {
          store: STORE_NAME,
          cause: e,
        });
      }
      this.ownsDriver = true;
    } else {
      throw errors.invalid("options need a driver or a url", { store: STORE_NAME });
    }
    this.namespaceLabel = this.namespace === undefined ? undefined : namespaceLabel(this.namespace);
    this.base = labelExpr(this.namespaceLabel === undefined ? [NODE_LABEL] : [NODE_LABEL, this.namespaceLabel]);
    this.internal = internalLabels(this.namespace);
    const names = this.namespace === undefined ? undefined : namespaceSchemaNames(this.namespace);
    this.constraintName = names?.constraint;
    this.vectorIndexName = names?.vectorIndex ?? "larder_node_embedding";
  }

  // -- reads ---------------------------------------------------------------------------------

  async get(selector?: GraphSelector): Promise<LabelledNode[]> {
    validateGraphSelector(selector, { store: STORE_NAME });
    const ids = selector?.ids === undefined ? null : [...new Set(selector.ids)];
    if (ids !== null && ids.length === 0) return [];
    const props = propsCriterion(selector?.properties, true);
    const query =
      (ids !== null ? `UNWIND $ids AS id MATCH (n${this.base} {id: id})` : `MATCH (n${this.base})`) +
      (props ? ` WHERE ${propsMatch("n", "$props")}` : "") +
      ` RETURN labels(n) AS labels, properties(n) AS props`;
    const rows = await this.read("get", query, { ids, props });
    return rows.map((r) => decodeNode(r as unknown as NodeRow, this.internal));
  }

  async getTriplets(selector?: TripletSelector): Promise<Triplet[]> {
    validateTripletSelector(selector, { store: STORE_NAME });
    const ids = selector?.ids === undefined ? null : [...new Set(selector.ids)];
    const names = selector?.entityNames === undefined ? null : [...new Set(selector.entityNames)];
    const types = selector?.relationNames === undefined ? null : [...new Set(selector.relationNames)];
    if (ids?.length === 0 || names?.length === 0 || types?.length === 0) return [];
    const props = propsCriterion(selector?.properties, true);
    const rprops = propsCriterion(selector?.properties, false);
    const where: string[] = [`type(r) <> $mentions`];
    let match: string;
    const anchor = ids ?? names;
    if (anchor !== null) {
      // Start from the few anchor nodes (unique-id index), then walk their relations.
      match =
        `UNWIND $anchor AS aid MATCH (a${this.base} {id: aid}) MATCH (a)-[r]-(:${quote(NODE_LABEL)}) ` +
        `WITH DISTINCT r MATCH (s${this.base})-[r]->(t${this.base})`;
    } else {
      match = `MATCH (s${this.base})-[r]->(t${this.base})`;
    }
    if (ids !== null) where.push(`(s.id IN $ids OR t.id IN $ids)`);
    if (names !== null) {
      where.push(`((s:${quote(ENTITY_LABEL)} AND s.id IN $names) OR (t:${quote(ENTITY_LABEL)} AND t.id IN $names))`);
    }
    if (types !== null) where.push(`type(r) IN $types`);
    if (props) where.push(`(${propsMatch("s", "$props")} OR ${propsMatch("r", "$rprops")} OR ${propsMatch("t", "$props")})`);
    const query =
      `${match} WHERE ${where.join(" AND ")} ` +
      `RETURN ${this.tripletReturn("s", "r", "t")}`;
    const rows = await this.read("getTriplets", query, { anchor, ids, names, types, props, rprops, mentions: MENTIONS });
    return rows.map((row) => this.decodeTriplet(row));
  }

  async getRelMap(nodes: readonly LabelledNode[], options?: RelMapOptions): Promise<Triplet[]> {
    const { depth, limit, ignoreRels } = resolveRelMapOptions(options, { store: STORE_NAME });
    const seeds = seedIds(nodes, { store: STORE_NAME });
    if (depth === 0 || limit === 0 || seeds.length === 0) return [];
    // One query: every relation reachable within `depth` hops (both directions, ignored types
    // neither walked nor returned), kept once with its smallest hop, nearest first. `depth` is a
    // validated integer: the only value written into the query text.
    const query =
      `MATCH (seed${this.base}) WHERE seed.id IN $seeds ` +
      `MATCH p = (seed)-[rels*1..${depth}]-(:${quote(NODE_LABEL)}) ` +
      `WHERE none(x IN rels WHERE type(x) IN $ignore) ` +
      (this.namespaceLabel !== undefined ? `AND all(x IN nodes(p) WHERE x:${quote(this.namespaceLabel)}) ` : "") +
      `WITH last(rels) AS r, length(p) AS hop ` +
      `WITH r, min(hop) AS hop ` +
      `MATCH (s)-[r]->(t) ` +
      `WITH s, r, t, hop ORDER BY hop, s.id, type(r), t.id LIMIT $limit ` +
      `RETURN ${this.tripletReturn("s", "r", "t")}`;
    const rows = await this.read("getRelMap", query, { seeds, ignore: [...ignoreRels, MENTIONS], limit: neo4j.int(limit) });
    return rows.map((row) => this.decodeTriplet(row));
  }

  async getSchema(refresh = false): Promise<GraphSchema> {
    if (!this.schemaCache || refresh) this.schemaCache = await this.computeSchema();
    return structuredClone(this.schemaCache);
  }

  async structuredQuery(query: string, params?: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    if (typeof query !== "string" || query.trim() === "") {
      throw errors.invalid("structuredQuery needs a non-empty Cypher string", { store: STORE_NAME });
    }
    if (params !== undefined && (typeof params !== "object" || params === null || Array.isArray(params))) {
      throw errors.invalid("structuredQuery params must be a plain object", { store: STORE_NAME });
    }
    // An auto-commit transaction, so queries like `CALL { ... } IN TRANSACTIONS` work too. Not
    // retried: the query may not be idempotent.
    const session = this.session("WRITE");
    try {
      const res = await session.run(query, params ?? {});
      this.schemaCache = undefined;
      return res.records.map((rec) => toPlain(rec.toObject()) as Record<string, unknown>);
    } catch (e) {
      throw mapNeo4jError(e, "structuredQuery");
    } finally {
      await session.close();
    }
  }

  async vectorQuery(query: GraphVectorQuery): Promise<GraphVectorQueryResult> {
    // topK is within [0, MAX_TOP_K] from here on (INVALID_ARGUMENT above it, before any I/O).
    const { topK, kinds } = validateGraphVectorQuery(query, STORE_NAME);
    const compiled = query.filters === undefined ? undefined : compileFilters(query.filters, "n");
    if (topK === 0) return { nodes: [], scores: [] };
    const embedding = Array.from(query.embedding, Number);
    let qq = 0;
    for (const x of embedding) qq += x * x;
    const qnorm = Math.sqrt(qq);
    const dim = await this.storedDimension();
    if (dim === undefined) return { nodes: [], scores: [] };
    if (dim !== embedding.length) {
      throw errors.dimension(`vectorQuery: the query has dimension ${embedding.length}; the store holds dimension ${dim}`, {
        store: STORE_NAME,
      });
    }
    const kindList = [...kinds];
    const useIndex =
      this.vectorSearch === "index" &&
      (compiled === undefined || compiled.cypher === "true") &&
      kindList.length === 2 &&
      (await this.vectorIndexDimension()) === dim;
    let rows: Record<string, unknown>[];
    if (useIndex) {
      // The index answers approximately; ask for a margin and re-score exactly, so scores and the
      // tie order equal the exact scan's whenever the true top-k is among the candidates. Bounded:
      // at most 2 × MAX_TOP_K candidates.
      const k = Math.max(topK * 2, topK + 10);
      rows = await this.read(
        "vectorQuery",
        `CALL db.index.vector.queryNodes($index, $k, $embedding) YIELD node AS n ` +
          `WHERE n:${quote(NODE_LABEL)} AND size(n.embedding) = $dim ` +
          `WITH n, ${exactCosine("n.embedding", "$embedding")} AS score ` +
          `ORDER BY score DESC, n.id ASC LIMIT $topK ` +
          `RETURN labels(n) AS labels, properties(n) AS props, score`,
        { index: this.vectorIndexName, k: neo4j.int(k), embedding, qnorm, dim: neo4j.int(dim), topK: neo4j.int(topK) },
      );
    } else {
      const kindPred =
        kindList.length === 2 ? "" : kinds.has("entity") ? ` AND n:${quote(ENTITY_LABEL)}` : ` AND NOT n:${quote(ENTITY_LABEL)}`;
      try {
        rows = await this.read(
          "vectorQuery",
          `MATCH (n${this.base}) WHERE size(n.embedding) = $dim${kindPred}` +
            (compiled ? ` AND ${compiled.cypher}` : "") +
            ` WITH n, ${exactCosine("n.embedding", "$embedding")} AS score ` +
            `ORDER BY score DESC, n.id ASC LIMIT $topK ` +
            `RETURN labels(n) AS labels, properties(n) AS props, score`,
          { ...(compiled?.params ?? {}), embedding, qnorm, dim: neo4j.int(dim), topK: neo4j.int(topK) },
        );
      } catch (e) {
        if (compiled?.foldCheck && isFoldRefusal(e)) {
          throw errors.unsupported(
            `text_match_insensitive: a node has a string property with characters the case fold changes but no fold properties of ${CASE_FOLD_VERSION} ` +
              `(written by another program or an older Larder); run refoldProperties() once`,
            { store: STORE_NAME },
          );
        }
        throw e;
      }
    }
    const nodes = rows.map((r) => decodeNode(r as unknown as NodeRow, this.internal));
    const scores = rows.map((r) => Number(r["score"]));
    // Ties are ordered by id in UTF-16 code unit order (the contract's, JavaScript's `<`). Cypher's
    // `ORDER BY n.id` already compares code units; re-sorting here keeps the rule in one place
    // and exact for ties re-scored in double precision.
    const order = nodes.map((n, i) => ({ n, s: scores[i]!, id: nodeId(n) }));
    order.sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { nodes: order.map((o) => o.n), scores: order.map((o) => o.s) };
  }

  // -- writes --------------------------------------------------------------------------------

  /**
   * Writes the fold properties (see `text_match_insensitive` in the README, "Case fold") of every
   * node of the store that lacks current ones — nodes written by Python LlamaIndex, by hand, or by
   * a Larder whose core has another `CASE_FOLD_VERSION` — 500 nodes per transaction. The migration
   * to run once after such writes or after upgrading `@larder/core`. Returns the number of nodes
   * updated.
   */
  async refoldProperties(): Promise<number> {
    await this.ensureSchema();
    let total = 0;
    for (;;) {
      const n = await this.write("refoldProperties", async (tx) => {
        const res = await tx.run(
          `MATCH (n${this.base}) WHERE n.${FOLD_MARKER} IS NULL OR n.${FOLD_MARKER} <> $fv ` +
            `RETURN n.id AS id, properties(n) AS props LIMIT $limit`,
          { fv: CASE_FOLD_VERSION, limit: neo4j.int(500) },
        );
        const rows = res.records.map((r) => ({ id: r.get("id") as unknown, props: foldProperties({}, r.get("props") as Record<string, unknown>) }));
        if (rows.length === 0) return 0;
        await tx.run(`UNWIND $rows AS row MATCH (n${this.base} {id: row.id}) SET n += row.props, n.${FOLD_MARKER} = $fv`, {
          rows,
          fv: CASE_FOLD_VERSION,
        });
        return rows.length;
      });
      if (n === 0) return total;
      total += n;
    }
  }

  async upsertNodes(nodes: readonly LabelledNode[]): Promise<void> {
    if (!Array.isArray(nodes)) throw errors.invalid("upsertNodes expects an array of nodes", { store: STORE_NAME });
    let dim: number | undefined;
    for (const n of nodes) {
      validateNode(n, { store: STORE_NAME });
      this.checkUserLabel(n.label);
      if (n.embedding) {
        if (dim !== undefined && n.embedding.length !== dim) {
          throw errors.dimension(`node ${JSON.stringify(nodeId(n))} has an embedding of dimension ${n.embedding.length}; the batch also has dimension ${dim}`, {
            store: STORE_NAME,
          });
        }
        dim = n.embedding.length;
      }
    }
    if (nodes.length === 0) return;
    await this.ensureSchema();
    if (dim !== undefined) await this.ensureDimension(dim);
    // Items of one batch apply in order: fold repeated ids into one row first.
    const folded = foldNodes(nodes);
    for (let i = 0; i < folded.length; i += this.batchSize) {
      // Sequential on purpose: one transaction per batch, in order.
      await this.write("upsertNodes", (tx) => this.upsertNodeBatch(tx, folded.slice(i, i + this.batchSize)));
    }
    this.schemaCache = undefined;
  }

  async upsertRelations(relations: readonly Relation[]): Promise<void> {
    if (!Array.isArray(relations)) throw errors.invalid("upsertRelations expects an array of relations", { store: STORE_NAME });
    for (const r of relations) {
      validateRelation(r, { store: STORE_NAME });
      if (r.label === MENTIONS) {
        throw errors.invalid(
          `relation label "${MENTIONS}" is reserved for LlamaIndex's provenance links (chunk -> entity), which this store reads as provenance, not as triplets`,
          { store: STORE_NAME },
        );
      }
    }
    if (relations.length === 0) return;
    await this.ensureSchema();
    // A relationship type cannot be a parameter in MERGE: relations are grouped by type (their
    // order is kept within a type; different types are different keys, so the result is the same
    // as applying the batch in order), then written as UNWIND batches, one transaction each.
    const placeholder = labelExpr([ENTITY_LABEL, DEFAULT_ENTITY_LABEL]);
    for (const [type, rels] of groupBy(relations, (r) => r.label)) {
      const query =
        `UNWIND $rows AS row ` +
        `MERGE (s${this.base} {id: row.s}) ON CREATE SET s${placeholder}, s.name = row.s ` +
        `MERGE (t${this.base} {id: row.t}) ON CREATE SET t${placeholder}, t.name = row.t ` +
        `MERGE (s)-[r:${quote(type)}]->(t) SET r += row.props`;
      for (let i = 0; i < rels.length; i += this.batchSize) {
        const rows = rels.slice(i, i + this.batchSize).map((r) => ({ s: r.sourceId, t: r.targetId, props: encodeProperties(r.properties, false) }));
        // Sequential on purpose: one transaction per batch (concurrent ones would deadlock on shared endpoints).
        await this.write("upsertRelations", (tx) => tx.run(query, { rows }));
      }
    }
    this.schemaCache = undefined;
  }

  async delete(selector: TripletSelector): Promise<void> {
    validateTripletSelector(selector, { store: STORE_NAME });
    if (!hasCriteria(selector)) {
      throw errors.invalid("delete needs at least one of entityNames, ids, relationNames, properties (it never deletes everything)", {
        store: STORE_NAME,
      });
    }
    const ids = selector.ids ? [...new Set(selector.ids)] : [];
    const names = selector.entityNames ? [...new Set(selector.entityNames)] : [];
    const types = selector.relationNames ? [...new Set(selector.relationNames)] : [];
    const props = propsCriterion(selector.properties, true);
    const rprops = propsCriterion(selector.properties, false);
    await this.write("delete", async (tx) => {
      if (types.length) {
        await tx.run(`MATCH (${this.base})-[r]->(${this.base}) WHERE type(r) IN $types AND type(r) <> $mentions DELETE r`, {
          types,
          mentions: MENTIONS,
        });
      }
      if (props) {
        await tx.run(`MATCH (${this.base})-[r]->(${this.base}) WHERE type(r) <> $mentions AND ${propsMatch("r", "$rprops")} DELETE r`, {
          rprops,
          mentions: MENTIONS,
        });
        await tx.run(`MATCH (n${this.base}) WHERE ${propsMatch("n", "$props")} DETACH DELETE n`, { props });
      }
      if (ids.length) await tx.run(`UNWIND $ids AS id MATCH (n${this.base} {id: id}) DETACH DELETE n`, { ids });
      if (names.length) {
        await tx.run(`UNWIND $names AS id MATCH (n${this.base} {id: id}) WHERE n:${quote(ENTITY_LABEL)} DETACH DELETE n`, { names });
      }
    });
    this.schemaCache = undefined;
  }

  /**
   * Deletes every node and relation of this store's namespace and drops its id constraint and
   * vector index (for tests and tear-down). `INVALID_ARGUMENT` without a namespace: the store
   * never deletes a whole database.
   */
  async dropNamespace(): Promise<void> {
    if (this.namespaceLabel === undefined) {
      throw errors.invalid("dropNamespace needs a store with a namespace (it never deletes a whole database)", { store: STORE_NAME });
    }
    const session = this.session("WRITE");
    try {
      await session.run(
        // Only nodes carrying this namespace's own label: no other label can equal it.
        `MATCH (n:${quote(this.namespaceLabel)}) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS`,
      );
      await session.run(`DROP INDEX ${quote(this.vectorIndexName)} IF EXISTS`);
      await session.run(`DROP CONSTRAINT ${quote(this.constraintName!)} IF EXISTS`);
    } catch (e) {
      throw mapNeo4jError(e, "dropNamespace");
    } finally {
      await session.close();
    }
    this.schemaReady = undefined;
    this.schemaCache = undefined;
    this.indexDim = undefined;
  }

  async close(): Promise<void> {
    if (this.ownsDriver) await this.client.close();
  }

  // -- internals -----------------------------------------------------------------------------

  private checkUserLabel(label: string): void {
    validateLabel(label, "label", { store: STORE_NAME });
    if (this.internal.has(label) || label.startsWith(NAMESPACE_LABEL_PREFIX)) {
      throw errors.invalid(
        `label ${JSON.stringify(label)} is reserved by the Neo4j mapping (${NODE_LABEL}, ${ENTITY_LABEL} and labels starting with ${JSON.stringify(NAMESPACE_LABEL_PREFIX)})`,
        { store: STORE_NAME },
      );
    }
  }

  private session(mode: "READ" | "WRITE"): Session {
    return this.client.session({
      defaultAccessMode: mode === "READ" ? neo4j.session.READ : neo4j.session.WRITE,
      ...(this.database !== undefined ? { database: this.database } : {}),
    });
  }

  private async read(action: string, query: string, params: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const res: QueryResult = await this.transaction("READ", action, (tx) => tx.run(query, params));
    return res.records.map((r) => r.toObject() as Record<string, unknown>);
  }

  private write<T>(action: string, work: (tx: TxRunner) => Promise<T>): Promise<T> {
    return this.transaction("WRITE", action, work);
  }

  /**
   * Runs `work` in one explicit transaction, with the store's own retry policy instead of the
   * driver's (which retries an unreachable server with 1 s, 2 s, 4 s... pauses): transient
   * server errors (deadlocks, lock timeouts) are retried with backoff for up to
   * `maxRetryTimeMs`; a dropped connection is retried once, immediately (a pooled connection the
   * server closed, e.g. after a restart); a server that cannot be reached fails at once with
   * `CONNECTION`. Every write the store makes is idempotent (MERGE / SET / DELETE), so a retry
   * after an unknown commit outcome is safe.
   */
  private async transaction<T>(mode: "READ" | "WRITE", action: string, work: (tx: TxRunner) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.maxRetryTimeMs;
    let delay = 100;
    let reconnected = false;
    for (;;) {
      const session = this.session(mode);
      try {
        const tx = session.beginTransaction();
        try {
          const out = await work(tx);
          await tx.commit();
          return out;
        } catch (e) {
          // The original error is what the caller needs; a failed rollback (the connection is
          // gone, or the server already rolled back) adds nothing to it.
          if (tx.isOpen()) await tx.rollback().catch(() => undefined);
          throw e;
        }
      } catch (e) {
        const kind = retryKind(e);
        if (kind === "connection-lost" && !reconnected) {
          reconnected = true;
        } else if (kind === "transient" && Date.now() + delay <= deadline) {
          await sleep(delay * (0.8 + 0.4 * Math.random()));
          delay *= 2;
        } else {
          throw mapNeo4jError(e, action);
        }
      } finally {
        await session.close();
      }
    }
  }

  private async runSchema(action: string, statements: (string | { query: string; params: Record<string, unknown> })[]): Promise<void> {
    const session = this.session("WRITE");
    try {
      // Sequential: schema statements each need their own auto-commit transaction.
      for (const st of statements) {
        try {
          if (typeof st === "string") await session.run(st);
          else await session.run(st.query, st.params);
        } catch (e) {
          // Two starters racing on `IF NOT EXISTS`: the other one won, which is what we wanted.
          const code = String((e as { code?: unknown })?.code ?? "");
          if (!code.includes("EquivalentSchemaRuleAlreadyExists") && !code.includes("IndexAlreadyExists") && !code.includes("ConstraintAlreadyExists")) {
            throw e;
          }
        }
      }
    } catch (e) {
      throw mapNeo4jError(e, action);
    } finally {
      await session.close();
    }
  }

  /** The unique `id` constraint, created once per store instance, lazily (never in the constructor). */
  private ensureSchema(): Promise<void> {
    if (!this.schemaReady) {
      const stmt = this.namespaceLabel !== undefined
        ? `CREATE CONSTRAINT ${quote(this.constraintName!)} IF NOT EXISTS FOR (n:${quote(this.namespaceLabel)}) REQUIRE n.id IS UNIQUE`
        : `CREATE CONSTRAINT IF NOT EXISTS FOR (n:${quote(NODE_LABEL)}) REQUIRE n.id IS UNIQUE`;
      this.schemaReady = this.runSchema("create the id constraint", [stmt]).catch((e: unknown) => {
        this.schemaReady = undefined;
        throw e;
      });
    }
    return this.schemaReady;
  }

  /** Dimension of the vector index (`null` when there is none). */
  private async vectorIndexDimension(): Promise<number | null> {
    if (this.indexDim !== undefined) return this.indexDim;
    const rows = await this.read(
      "read the vector index",
      `SHOW INDEXES YIELD name, type, state, options WHERE name = $name RETURN type, state, options`,
      { name: this.vectorIndexName },
    );
    const row = rows[0];
    if (!row) {
      this.indexDim = null;
      return null;
    }
    const opts = toPlain(row["options"]) as { indexConfig?: Record<string, unknown> } | null;
    const d = opts?.indexConfig?.["vector.dimensions"];
    this.indexDim = typeof d === "number" ? d : null;
    return this.indexDim;
  }

  /** The dimension of the stored embeddings, undefined when none is stored. */
  private async storedDimension(): Promise<number | undefined> {
    const rows = await this.read(
      "read the embedding dimension",
      `MATCH (n${this.base}) WHERE n.embedding IS NOT NULL RETURN size(n.embedding) AS d LIMIT 1`,
      {},
    );
    const d = rows[0]?.["d"];
    return d === undefined ? undefined : Number(toPlain(d));
  }

  /**
   * Checks an upsert's embedding dimension against the store's (DIMENSION_MISMATCH, before any
   * write), and creates the vector index for it when missing. A store whose embeddings were all
   * deleted accepts a new dimension (its index is rebuilt), like the in-memory store.
   */
  private async ensureDimension(dim: number): Promise<void> {
    const indexDim = await this.vectorIndexDimension();
    if (indexDim === dim) return;
    const stored = await this.storedDimension();
    if (stored !== undefined && stored !== dim) {
      throw errors.dimension(`an embedding has dimension ${dim}; the store holds dimension ${stored}`, { store: STORE_NAME });
    }
    if (dim > MAX_INDEX_DIMENSIONS) return;
    const statements: (string | { query: string; params: Record<string, unknown> })[] = [];
    if (indexDim !== null) statements.push(`DROP INDEX ${quote(this.vectorIndexName)} IF EXISTS`);
    const label = this.namespaceLabel ?? NODE_LABEL;
    statements.push(
      `CREATE VECTOR INDEX ${quote(this.vectorIndexName)} IF NOT EXISTS FOR (n:${quote(label)}) ON n.embedding ` +
        `OPTIONS {indexConfig: {\`vector.dimensions\`: ${dim}, \`vector.similarity_function\`: 'cosine'}}`,
    );
    // `dim` is a validated integer (an array length), not user text; the index name is quoted
    // above and a parameter here.
    statements.push({ query: `CALL db.awaitIndex($name, 300)`, params: { name: this.vectorIndexName } });
    this.indexDim = undefined;
    await this.runSchema("create the vector index", statements);
    this.indexDim = await this.vectorIndexDimension();
  }

  private async upsertNodeBatch(tx: TxRunner, batch: FoldedNode[]): Promise<void> {
    // Labels cannot be parameters in Cypher: read the current labels, then write one UNWIND per
    // (kind, label, labels-to-remove) group, every label quoted.
    const current = new Map<string, string[]>();
    // Nodes whose fold properties were not written with core's current fold table (or not at all:
    // written by Python or by hand) get theirs recomputed from all their properties.
    const stale = new Map<string, Record<string, unknown>>();
    const res = await tx.run(
      `UNWIND $ids AS id MATCH (n${this.base} {id: id}) ` +
        `RETURN n.id AS id, labels(n) AS labels, CASE WHEN n.${FOLD_MARKER} = $fv THEN null ELSE properties(n) END AS stale`,
      { ids: batch.map((n) => n.id), fv: CASE_FOLD_VERSION },
    );
    for (const rec of res.records) {
      current.set(rec.get("id") as string, rec.get("labels") as string[]);
      const p = rec.get("stale") as Record<string, unknown> | null;
      if (p) stale.set(rec.get("id") as string, p);
    }
    const groups = new Map<string, { add: string[]; remove: string[]; entity: boolean; rows: Record<string, unknown>[] }>();
    for (const n of batch) {
      const entity = n.kind === "entity";
      const add = [entity ? ENTITY_LABEL : CHUNK_LABEL, n.label];
      const keep = new Set([NODE_LABEL, ...(this.namespaceLabel !== undefined ? [this.namespaceLabel] : []), ...add]);
      const remove = (current.get(n.id) ?? []).filter((l) => !keep.has(l)).sort();
      const key = JSON.stringify([entity, n.label, remove]);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { add, remove, entity, rows: [] }));
      const props = encodeProperties(n.properties);
      g.rows.push({
        id: n.id,
        text: n.text,
        props: { ...props, ...foldProperties(props, stale.get(n.id)) },
        keepEmb: n.embedding === undefined,
        emb: n.embedding ?? null,
      });
    }
    for (const g of groups.values()) {
      // Sequential: statements of one transaction run one after the other anyway.
      await tx.run(
        `UNWIND $rows AS row MERGE (n${this.base} {id: row.id}) ` +
          `SET n${labelExpr(g.add)} ` +
          (g.remove.length ? `REMOVE n${labelExpr(g.remove)} ` : "") +
          (g.entity ? `SET n.name = row.id REMOVE n.text ` : `SET n.text = row.text REMOVE n.name `) +
          `SET n += row.props, n.${FOLD_MARKER} = $fv ` +
          `SET n.embedding = CASE WHEN row.keepEmb THEN n.embedding ELSE row.emb END`,
        { rows: g.rows, fv: CASE_FOLD_VERSION },
      );
    }
  }

  private tripletReturn(s: string, r: string, t: string): string {
    // Embeddings are left out of triplets (the contract allows it) to keep results small.
    return (
      `labels(${s}) AS sl, ${s} {.*, embedding: null} AS sp, type(${r}) AS type, properties(${r}) AS rp, ` +
      `labels(${t}) AS tl, ${t} {.*, embedding: null} AS tp`
    );
  }

  private decodeTriplet(row: Record<string, unknown>): Triplet {
    const s = decodeNode({ labels: row["sl"] as string[], props: row["sp"] as Record<string, unknown> }, this.internal);
    const t = decodeNode({ labels: row["tl"] as string[], props: row["tp"] as Record<string, unknown> }, this.internal);
    const r = decodeRelation(row["type"] as string, nodeId(s), nodeId(t), row["rp"] as Record<string, unknown>);
    return [s, r, t];
  }

  private async computeSchema(): Promise<GraphSchema> {
    const nodeProps = new Map<string, Set<string>>();
    const relProps = new Map<string, Set<string>>();
    const patterns = new Map<string, { source: string; relation: string; target: string }>();
    const add = (m: Map<string, Set<string>>, k: string, keys: Iterable<string>) => {
      let set = m.get(k);
      if (!set) m.set(k, (set = new Set()));
      for (const x of keys) set.add(x);
    };
    const labelOf = (labels: string[]) => userLabel(labels, labels.includes(ENTITY_LABEL), this.internal);
    const userKeys = (keys: unknown[]) => keys.map((k) => decodeKey(String(k))).filter((k): k is string => k !== undefined);
    if (this.namespaceLabel !== undefined) {
      // Built-in schema procedures see the whole database; a namespace is summarised from its own
      // nodes and relations (exact, one pass over the namespace).
      const nodes = await this.read(
        "getSchema",
        `MATCH (n${this.base}) WITH labels(n) AS labels, keys(n) AS ks UNWIND (CASE ks WHEN [] THEN [null] ELSE ks END) AS k ` +
          `RETURN labels, collect(DISTINCT k) AS keys`,
        {},
      );
      for (const r of nodes) add(nodeProps, labelOf(r["labels"] as string[]), userKeys(r["keys"] as unknown[]));
    } else {
      // Built-in procedures (no APOC): label combinations with their property keys.
      const rows = await this.read(
        "getSchema",
        `CALL db.schema.nodeTypeProperties() YIELD nodeLabels, propertyName ` +
          `WHERE $base IN nodeLabels RETURN nodeLabels AS labels, collect(DISTINCT propertyName) AS keys`,
        { base: NODE_LABEL },
      );
      for (const r of rows) add(nodeProps, labelOf(r["labels"] as string[]), userKeys((r["keys"] as unknown[]).filter((k) => k !== null)));
    }
    const rels = await this.read(
      "getSchema",
      `MATCH (a${this.base})-[r]->(b${this.base}) WHERE type(r) <> $mentions WITH labels(a) AS al, type(r) AS type, labels(b) AS bl, keys(r) AS ks ` +
        `UNWIND (CASE ks WHEN [] THEN [null] ELSE ks END) AS k ` +
        `RETURN al, type, bl, collect(DISTINCT k) AS keys`,
      { mentions: MENTIONS },
    );
    for (const r of rels) {
      const type = r["type"] as string;
      add(relProps, type, (r["keys"] as unknown[]).map((k) => decodeKey(String(k), false)!));
      const source = labelOf(r["al"] as string[]);
      const target = labelOf(r["bl"] as string[]);
      patterns.set(JSON.stringify([source, type, target]), { source, relation: type, target });
    }
    return graphSchemaFrom(nodeProps, relProps, patterns);
  }
}

/** What the store's transaction bodies use of a transaction. */
type TxRunner = Pick<Transaction, "run">;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Messages of a connection that could not be opened (as opposed to one that dropped). */
const CONNECT_FAILURE = /failed to connect|failed to establish|could not perform discovery|acquisition timed out|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN/i;

/**
 * How the store's transaction loop treats a driver error: `transient` (retry with backoff),
 * `connection-lost` (an established connection dropped: one immediate retry), else undefined.
 */
export function retryKind(e: unknown): "transient" | "connection-lost" | undefined {
  const code = typeof (e as { code?: unknown })?.code === "string" ? (e as { code: string }).code : "";
  if (code.startsWith("Neo.TransientError.")) {
    // Terminated / stopped by someone: retrying would override that decision (as in the driver).
    return code === "Neo.TransientError.Transaction.Terminated" || code === "Neo.TransientError.Transaction.LockClientStopped"
      ? undefined
      : "transient";
  }
  if (code === "SessionExpired" || code === "ServiceUnavailable") {
    const message = e instanceof Error ? e.message : String(e);
    return CONNECT_FAILURE.test(message) ? undefined : "connection-lost";
  }
  return undefined;
}

interface FoldedNode {
  id: string;
  kind: "entity" | "chunk";
  label: string;
  text: string | null;
  properties: Properties;
  embedding: number[] | null | undefined;
}

/** Folds repeated ids of one batch into one item with the in-order result (last wins, props merge). */
function foldNodes(nodes: readonly LabelledNode[]): FoldedNode[] {
  const out = new Map<string, FoldedNode>();
  for (const n of nodes) {
    const id = nodeId(n);
    const prev = out.get(id);
    const properties: Properties = { ...prev?.properties };
    for (const [k, v] of Object.entries(n.properties ?? {})) {
      Object.defineProperty(properties, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    const embedding = n.embedding === undefined ? prev?.embedding : n.embedding === null ? null : Array.from(n.embedding, Number);
    out.delete(id);
    out.set(id, {
      id,
      kind: n.kind,
      label: n.label,
      text: n.kind === "chunk" ? n.text : null,
      properties,
      embedding,
    });
  }
  return [...out.values()];
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    let list = m.get(k);
    if (!list) m.set(k, (list = []));
    list.push(it);
  }
  return m;
}

/** The `properties` criterion as stored keys, or undefined when it selects nothing extra. */
function propsCriterion(props: Properties | undefined, onNode: boolean): Record<string, PropertyValue> | undefined {
  if (props === undefined || Object.keys(props).length === 0) return undefined;
  return encodeProperties(props, onNode);
}

/** Every key of the `$props` map present with an equal value (keys are bound, never pasted). */
function propsMatch(v: string, param: string): string {
  return `all(k IN keys(${param}) WHERE coalesce(${v}[k] = ${param}[k], false))`;
}

/**
 * Cosine similarity in double precision, summed in the same order as the in-memory store so the
 * figures agree (Neo4j's `vector.similarity.cosine` is normalised to [0, 1] and float32-based).
 * `$qnorm` is the query's norm, computed once by the caller; 0 when either vector is zero.
 */
function exactCosine(v: string, q: string): string {
  return (
    `CASE WHEN $qnorm = 0.0 THEN 0.0 ELSE coalesce(` +
    `reduce(d = 0.0, i IN range(0, size(${q}) - 1) | d + ${q}[i] * ${v}[i]) / ($qnorm * sqrt(reduce(s = 0.0, x IN ${v} | s + x * x))), ` +
    `0.0) END`
  );
}
