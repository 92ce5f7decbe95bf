import { Cluster } from "ioredis";
import { StorageError, isStorageError } from "@larder/core/errors";
import { compareByCodePoint, type MetadataFilters } from "@larder/core/filters";
import { jsonToNode, type BaseNode } from "@larder/core/schema";
import {
  assertDeleteTarget,
  assertNodeMetadata,
  checkEmbedding,
  checkTopK,
  mmrSelect,
  nodeLabel,
  type DistanceMetric,
  type VectorQueryMode,
  type VectorStore,
  type VectorStoreCapabilities,
  type VectorStoreQuery,
  type VectorStoreQueryResult,
} from "@larder/core/vector";
import { closeOwned, resolveClient, toRedisStorageError, type RedisClient, type RedisConnectionOptions } from "./client.js";
import {
  META_FIELD,
  ORDERED_SEARCH_FILTER_OPERATORS,
  SEARCH_FILTER_OPERATORS,
  TAG_SEPARATOR,
  allOf,
  compileFilters,
  metadataTokens,
  queryText,
  tagIn,
  tagValue,
  type Compiled,
} from "./search-filter.js";

export type RedisVectorIndex =
  | {
      type: "hnsw";
      /** Max edges per node (engine default 16). */
      m?: number;
      /** Candidate list size while building (engine default 200). */
      efConstruction?: number;
      /** Candidate list size while searching; raised to topK when smaller. Engine default 10. */
      efRuntime?: number;
    }
  | { type: "flat" };

export interface RedisVectorStoreOptions extends RedisConnectionOptions {
  /** Name of the search index (`FT.CREATE <indexName>`). Default `"larder_vectors"`. */
  indexName?: string;
  /**
   * Key prefix of the node hashes (`<prefix>n:<node id>`) and of the store's metadata key
   * (`<prefix>meta`). Default `larder:vec:{<indexName>}:` — the `{...}` hash tag puts every key of
   * one index in one cluster slot.
   */
  prefix?: string;
  /** Embedding dimensions. When omitted: from an existing index, else from the first `add`. */
  dimensions?: number;
  /** Default `"cosine"`. */
  metric?: DistanceMetric;
  /** Vector index. Default `{type: "hnsw"}`. */
  index?: RedisVectorIndex;
  /** Nodes per pipelined write (one round trip each). Default 500. */
  batchSize?: number;
  /** Candidates fetched for `mmr` and per side for `hybrid`, as a multiple of topK (at least 20). Default 4. */
  candidateMultiplier?: number;
  /**
   * Also answer `>`, `>=`, `<`, `<=` (exactly: numbers by value, strings by code point), by writing
   * order tokens for every top-level number and string of the metadata: 17 tokens per number, about
   * 2 per UTF-8 byte of a string (up to 1,024). Costs index memory and write time; recorded in the
   * index's layout (an index written without them cannot be opened with them, and the reverse).
   * Default false.
   */
  orderedFilters?: boolean;
}

const STORE = "RedisVectorStore";
const MODES: readonly VectorQueryMode[] = ["default", "mmr", "hybrid", "text"];
/** Layout version written to the meta key; a different one is refused (CONFLICT). */
const LAYOUT = "1";
const SCORE = "__larder_score";

interface Layout {
  dims: number;
  metric: DistanceMetric;
}

interface Hit {
  id: string;
  score: number;
  fields: Map<string, Buffer>;
}

/**
 * A VectorStore on the Redis query engine (RediSearch >= 2.6, e.g. Redis Stack or Redis 8): one hash
 * per node and one `FT.CREATE` index over them. See the package README (RedisVectorStore) for the
 * layout, the filter compilation and the capabilities.
 *
 * Hash fields: `v` the indexed float32 vector (unit-normalised for cosine, scored by inner product),
 * `e` the original float32 vector (cosine only), `n` the node JSON without its embedding, `t` the
 * node text (TEXT, for the text and hybrid modes), `id` and `ref` (TAG, hex-encoded node and ref doc
 * ids), `m` (TAG, the metadata tokens of ./search-filter.ts).
 */
export class RedisVectorStore implements VectorStore {
  readonly storesText = true;
  readonly capabilities: VectorStoreCapabilities;
  readonly indexName: string;
  readonly prefix: string;
  readonly metric: DistanceMetric;
  private readonly redis: RedisClient;
  private readonly owned: boolean;
  private readonly index: RedisVectorIndex;
  private readonly batchSize: number;
  private readonly candidateMultiplier: number;
  /** Order tokens written and ordering operators answered (option `orderedFilters`). */
  readonly orderedFilters: boolean;
  private dims: number | undefined;
  private layout: Layout | undefined;
  private creating: Promise<Layout> | undefined;

  constructor(options: RedisVectorStoreOptions) {
    this.indexName = options.indexName ?? "larder_vectors";
    if (typeof this.indexName !== "string" || !/^[A-Za-z0-9_.:-]{1,200}$/.test(this.indexName)) {
      throw new StorageError("INVALID_ARGUMENT", "indexName must be 1-200 characters of A-Z a-z 0-9 _ . : -", { store: STORE });
    }
    this.prefix = options.prefix ?? `larder:vec:{${this.indexName}}:`;
    if (typeof this.prefix !== "string" || this.prefix === "" || /[*?[\]\\]/.test(this.prefix)) {
      throw new StorageError("INVALID_ARGUMENT", "prefix must be a non-empty string without glob characters (* ? [ ] \\)", { store: STORE });
    }
    this.metric = options.metric ?? "cosine";
    if (!["cosine", "dot", "euclidean"].includes(this.metric)) {
      throw new StorageError("INVALID_ARGUMENT", `unknown metric ${JSON.stringify(this.metric)}`, { store: STORE });
    }
    if (options.dimensions !== undefined) {
      if (!Number.isInteger(options.dimensions) || options.dimensions < 1 || options.dimensions > 32768) {
        throw new StorageError("INVALID_ARGUMENT", "dimensions must be an integer in 1..32768", { store: STORE });
      }
      this.dims = options.dimensions;
    }
    this.index = options.index ?? { type: "hnsw" };
    checkIndex(this.index);
    this.batchSize = positiveInt(options.batchSize ?? 500, "batchSize");
    this.candidateMultiplier = positiveInt(options.candidateMultiplier ?? 4, "candidateMultiplier");
    if (options.orderedFilters !== undefined && typeof options.orderedFilters !== "boolean") {
      throw new StorageError("INVALID_ARGUMENT", "orderedFilters must be a boolean", { store: STORE });
    }
    this.orderedFilters = options.orderedFilters ?? false;
    this.capabilities = {
      modes: MODES,
      metrics: [this.metric],
      filterOperators: this.orderedFilters ? ORDERED_SEARCH_FILTER_OPERATORS : SEARCH_FILTER_OPERATORS,
      nestedFilters: true,
    };
    const { client, owned } = resolveClient(options, STORE);
    if (client.isCluster && hashTag(this.prefix) !== this.indexName) {
      if (owned) client.disconnect();
      // The engine of a cluster shard indexes only its own keys, and routes FT.* by the index name
      // as if it were a key: the index name and every node key must hash to the same slot.
      throw new StorageError(
        "INVALID_ARGUMENT",
        `on a Redis Cluster the prefix must carry the hash tag {${this.indexName}} (its first {...}), so that the index and its nodes share one slot`,
        { store: STORE },
      );
    }
    this.redis = client;
    this.owned = owned;
  }

  /** The ioredis client, for what the store does not cover. */
  get client(): RedisClient {
    return this.redis;
  }

  /** The dimensions once known. */
  get dimensions(): number | undefined {
    return this.layout?.dims ?? this.dims;
  }

  private get nodePrefix(): string {
    return `${this.prefix}n:`;
  }

  private get metaKey(): string {
    return `${this.prefix}meta`;
  }

  // ------------------------------------------------------------------------------------------
  // Schema

  private async call(op: string, ...args: (string | Buffer | number)[]): Promise<unknown> {
    try {
      return await this.redis.callBuffer(args[0] as string, ...args.slice(1));
    } catch (e) {
      throw this.wrap(e, op);
    }
  }

  private wrap(e: unknown, op: string): StorageError {
    if (isStorageError(e)) return e;
    const msg = (e as { message?: string } | undefined)?.message ?? "";
    if (/unknown command .FT\./i.test(msg)) {
      return new StorageError("UNSUPPORTED", `${op}: this Redis server has no query engine (FT.* commands); use Redis Stack or Redis >= 8`, {
        store: STORE,
        cause: e,
      });
    }
    return toRedisStorageError(e, STORE, op);
  }

  /** The layout when the index exists (read from the meta key), else undefined. */
  private async existing(): Promise<Layout | undefined> {
    if (this.layout) return this.layout;
    let raw: Record<string, string>;
    try {
      raw = await this.redis.hgetall(this.metaKey);
    } catch (e) {
      throw this.wrap(e, "read the store layout");
    }
    if (Object.keys(raw).length === 0) return undefined;
    const layout = this.checkMeta(raw);
    // The meta key says the index exists: make sure it does (a FLUSHALL or FT.DROPINDEX elsewhere).
    await this.createIndex(layout);
    this.layout = layout;
    this.dims = layout.dims;
    return layout;
  }

  private checkMeta(raw: Record<string, string>): Layout {
    const dims = Number(raw["dims"]);
    const metric = raw["metric"] as DistanceMetric;
    if (raw["layout"] !== LAYOUT || !Number.isInteger(dims) || !["cosine", "dot", "euclidean"].includes(metric)) {
      throw new StorageError("CONFLICT", `key ${JSON.stringify(this.metaKey)} does not describe a RedisVectorStore of this version`, { store: STORE });
    }
    if (metric !== this.metric) {
      throw new StorageError("CONFLICT", `index ${this.indexName} was created with metric ${metric}, not ${this.metric}`, { store: STORE });
    }
    const ordered = raw["ordered"] === "1";
    if (ordered !== this.orderedFilters) {
      throw new StorageError(
        "CONFLICT",
        `index ${this.indexName} was written ${ordered ? "with" : "without"} order tokens: open it with orderedFilters: ${ordered}`,
        { store: STORE },
      );
    }
    if (this.dims !== undefined && dims !== this.dims) {
      throw new StorageError("DIMENSION_MISMATCH", `index ${this.indexName} holds ${dims}-dimensional vectors, not ${this.dims}`, {
        store: STORE,
        details: { expected: dims, actual: this.dims },
      });
    }
    return { dims, metric };
  }

  private async ensure(dims: number): Promise<Layout> {
    const have = await this.existing();
    if (have) return have;
    this.creating ??= (async () => {
      // The first writer records the layout (HSETNX on `dims`): a concurrent starter with other
      // dimensions reads the winner's and gets DIMENSION_MISMATCH.
      try {
        await this.redis.hsetnx(this.metaKey, "dims", String(dims));
        await this.redis.hset(this.metaKey, "layout", LAYOUT);
        await this.redis.hsetnx(this.metaKey, "metric", this.metric);
        await this.redis.hsetnx(this.metaKey, "ordered", this.orderedFilters ? "1" : "0");
      } catch (e) {
        throw this.wrap(e, "create the index");
      }
      const layout = this.checkMeta(await this.redis.hgetall(this.metaKey));
      if (layout.dims !== dims) {
        throw new StorageError("DIMENSION_MISMATCH", `index ${this.indexName} holds ${layout.dims}-dimensional vectors, not ${dims}`, {
          store: STORE,
          details: { expected: layout.dims, actual: dims },
        });
      }
      await this.createIndex(layout);
      this.layout = layout;
      this.dims = layout.dims;
      return layout;
    })();
    try {
      return await this.creating;
    } finally {
      this.creating = undefined;
    }
  }

  /** FT.CREATE, idempotent ("Index already exists" is success). */
  private async createIndex(layout: Layout): Promise<void> {
    const vec: string[] =
      this.index.type === "flat"
        ? ["FLAT", "6", "TYPE", "FLOAT32", "DIM", String(layout.dims), "DISTANCE_METRIC", distanceMetric(layout.metric)]
        : (() => {
            const a = ["TYPE", "FLOAT32", "DIM", String(layout.dims), "DISTANCE_METRIC", distanceMetric(layout.metric)];
            if (this.index.m !== undefined) a.push("M", String(this.index.m));
            if (this.index.efConstruction !== undefined) a.push("EF_CONSTRUCTION", String(this.index.efConstruction));
            if (this.index.efRuntime !== undefined) a.push("EF_RUNTIME", String(this.index.efRuntime));
            return ["HNSW", String(a.length), ...a];
          })();
    try {
      await this.redis.call(
        "FT.CREATE",
        this.indexName,
        "ON",
        "HASH",
        "PREFIX",
        "1",
        this.nodePrefix,
        "STOPWORDS",
        "0",
        "SCHEMA",
        "v",
        "VECTOR",
        ...vec,
        "id",
        "TAG",
        "SEPARATOR",
        TAG_SEPARATOR,
        "CASESENSITIVE",
        "SORTABLE",
        "ref",
        "TAG",
        "SEPARATOR",
        TAG_SEPARATOR,
        "CASESENSITIVE",
        META_FIELD,
        "TAG",
        "SEPARATOR",
        TAG_SEPARATOR,
        "CASESENSITIVE",
        "t",
        "TEXT",
      );
    } catch (e) {
      if (/already exists/i.test((e as Error).message ?? "")) return;
      throw this.wrap(e, "create the index");
    }
  }

  // ------------------------------------------------------------------------------------------
  // Writes

  async add(nodes: readonly BaseNode[]): Promise<string[]> {
    if (!Array.isArray(nodes)) throw new StorageError("INVALID_ARGUMENT", "add takes an array of nodes", { store: STORE });
    if (nodes.length === 0) return [];
    let dims = this.dimensions;
    // Validate everything before the first write; encode batch by batch while the previous one is sent.
    const rows = new Map<string, { node: BaseNode; emb: ArrayLike<number>; ref: string | undefined }>();
    const ids: string[] = [];
    for (const node of nodes) {
      if (node === null || typeof node !== "object" || typeof (node as BaseNode).toJSON !== "function") {
        throw new StorageError("INVALID_ARGUMENT", "add takes BaseNode instances", { store: STORE });
      }
      const id = checkId(node.id, "node id");
      const emb = node.embedding as unknown;
      checkEmbedding(emb, undefined, nodeLabel(id), STORE);
      dims ??= emb.length;
      if (emb.length !== dims) {
        throw new StorageError("DIMENSION_MISMATCH", `${nodeLabel(id)} has dimension ${emb.length}, the store holds dimension ${dims}`, {
          store: STORE,
          details: { expected: dims, actual: emb.length },
        });
      }
      const ref = node.refDocId ?? undefined;
      if (ref !== undefined) checkId(ref, "ref doc id");
      assertNodeMetadata({ id, metadata: node.metadata }, STORE);
      rows.delete(id); // the last of repeated ids wins, at its last place
      rows.set(id, { node, emb, ref });
      ids.push(id);
    }
    const layout = await this.ensure(dims!);
    if (layout.dims !== dims) {
      throw new StorageError("DIMENSION_MISMATCH", `nodes have dimension ${dims}, the index holds dimension ${layout.dims}`, {
        store: STORE,
        details: { expected: layout.dims, actual: dims },
      });
    }
    const all = [...rows.entries()];
    // One pipelined round trip per batch, at most two batches in flight: the next batch is encoded
    // while the server indexes the previous one (HNSW insertion is what bounds a bulk load).
    const pending: Promise<unknown>[] = [];
    try {
      for (let i = 0; i < all.length; i += this.batchSize) {
        const p = this.redis.pipeline();
        for (const [id, row] of all.slice(i, i + this.batchSize)) {
          const key = this.nodePrefix + id;
          // An upsert replaces the whole node: DEL first, so no field of an older version survives.
          p.del(key);
          p.hset(key, ...(this.encode(id, row) as [string, string | Buffer]));
        }
        const sent = this.exec(p, "add");
        sent.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
        pending.push(sent);
        if (pending.length >= 2) await pending.shift();
      }
      for (const sent of pending.splice(0)) await sent;
    } catch (e) {
      await Promise.allSettled(pending);
      throw e;
    }
    return ids;
  }

  /** The hash fields of one node (see the class comment). */
  private encode(id: string, row: { node: BaseNode; emb: ArrayLike<number>; ref: string | undefined }): (string | Buffer)[] {
    const { node, emb, ref } = row;
    const json = node.toJSON();
    json.__data__ = { ...json.__data__, embedding: null };
    const fields: (string | Buffer)[] = [
      "v",
      float32(emb, this.metric === "cosine"),
      "n",
      JSON.stringify(json),
      "t",
      typeof node.text === "string" ? node.text : "",
      "id",
      tagValue(id),
      META_FIELD,
      metadataTokens(node.metadata as Record<string, unknown> | undefined, this.orderedFilters).join(TAG_SEPARATOR),
    ];
    if (this.metric === "cosine") fields.push("e", float32(emb, false));
    if (ref !== undefined) fields.push("ref", tagValue(ref));
    return fields;
  }

  private async exec(p: ReturnType<RedisClient["pipeline"]>, op: string): Promise<unknown[]> {
    let res: [Error | null, unknown][] | null;
    try {
      res = await p.exec();
    } catch (e) {
      throw this.wrap(e, op);
    }
    const out: unknown[] = [];
    for (const [err, v] of res ?? []) {
      if (err) throw this.wrap(err, op);
      out.push(v);
    }
    return out;
  }

  async delete(refDocId: string): Promise<void> {
    if (typeof refDocId !== "string") throw new StorageError("INVALID_ARGUMENT", "delete takes a ref doc id string", { store: STORE });
    if (refDocId === "" || !isWellFormed(refDocId)) return;
    await this.deleteMatching(tagIn("ref", [refDocId]), "delete");
  }

  async deleteNodes(args: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<void> {
    if (args === null || typeof args !== "object") {
      throw new StorageError("INVALID_ARGUMENT", 'deleteNodes needs ids or filters (it never means "delete everything"; use clear())', { store: STORE });
    }
    const ids = checkIds(args.ids, "ids");
    let filter: Compiled | undefined;
    let tree: MetadataFilters | undefined;
    if (args.filters !== undefined && args.filters !== null) ({ tree, compiled: filter } = compileFilters(args.filters, STORE, this.orderedFilters));
    assertDeleteTarget(ids, tree, STORE);
    if (filter === undefined) {
      const keys = ids!.filter(storableId).map((id) => this.nodePrefix + id);
      if (keys.length === 0) return;
      for (let i = 0; i < keys.length; i += this.batchSize) {
        const p = this.redis.pipeline();
        for (const k of keys.slice(i, i + this.batchSize)) p.unlink(k);
        await this.exec(p, "deleteNodes");
      }
      return;
    }
    const parts: Compiled[] = [filter];
    if (ids !== undefined) parts.push(tagIn("id", ids.filter(storableId)));
    await this.deleteMatching(allOf(parts), "deleteNodes");
  }

  /** Deletes every node matching `where`, 1,000 per round (search, then one pipelined UNLINK). */
  private async deleteMatching(where: Compiled, op: string): Promise<void> {
    if (where.kind === "false") return;
    if (!(await this.existing())) return;
    // Each round depends on the previous one having removed its nodes from the index.
    for (;;) {
      const hits = await this.search(queryText(where), { limit: 1000, returnFields: [] }, op);
      if (hits.length === 0) return;
      const p = this.redis.pipeline();
      for (const h of hits) p.unlink(this.nodePrefix + h.id);
      await this.exec(p, op);
      if (hits.length < 1000) return;
    }
  }

  async clear(): Promise<void> {
    const layout = await this.existing();
    if (!layout) return;
    try {
      await this.redis.call("FT.DROPINDEX", this.indexName, "DD");
    } catch (e) {
      if (!/unknown index name|no such index/i.test((e as Error).message ?? "")) throw this.wrap(e, "clear");
    }
    // Nodes written under the prefix after the drop (or never indexed) go too.
    await this.unlinkPrefix();
    // The layout stays: the next add recreates the index with the same dimensions and metric.
    await this.createIndex(layout);
  }

  private async unlinkPrefix(): Promise<void> {
    const pattern = `${this.nodePrefix.replace(/[\\*?[\]]/g, (c) => `\\${c}`)}*`;
    const nodes = this.redis instanceof Cluster || this.redis.isCluster ? (this.redis as Cluster).nodes("master") : [this.redis];
    try {
      await Promise.all(
        nodes.map(async (node) => {
          let cursor = "0";
          // SCAN is cursor-driven: each call needs the previous reply's cursor.
          do {
            const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
            cursor = next;
            if (keys.length) await node.unlink(...keys);
          } while (cursor !== "0");
        }),
      );
    } catch (e) {
      throw this.wrap(e, "clear");
    }
  }

  // ------------------------------------------------------------------------------------------
  // Reads

  async getNodes(args: { ids?: readonly string[]; filters?: MetadataFilters } = {}): Promise<BaseNode[]> {
    if (args === null || typeof args !== "object") throw new StorageError("INVALID_ARGUMENT", "getNodes takes {ids?, filters?}", { store: STORE });
    const ids = checkIds(args.ids, "ids");
    const filter = args.filters !== undefined && args.filters !== null ? compileFilters(args.filters, STORE, this.orderedFilters).compiled : undefined;
    if (!(await this.existing())) return [];
    if (ids !== undefined) {
      const wanted = [...new Set(ids.filter(storableId))];
      if (wanted.length === 0) return [];
      let allowed: Set<string> | undefined;
      if (filter !== undefined) {
        const where = allOf([filter, tagIn("id", wanted)]);
        if (where.kind === "false") return [];
        allowed = new Set((await this.searchAll(queryText(where), [], "getNodes")).map((h) => h.id));
      }
      const p = this.redis.pipeline();
      for (const id of wanted) (p as unknown as { hmgetBuffer(k: string, ...f: string[]): unknown }).hmgetBuffer(this.nodePrefix + id, "n", this.embField);
      const res = (await this.exec(p, "getNodes")) as (Buffer | null)[][];
      const out: BaseNode[] = [];
      wanted.forEach((id, i) => {
        const [n, e] = res[i]!;
        if (!n || !e) return;
        if (allowed && !allowed.has(id)) return;
        out.push(this.toNode(n, e));
      });
      return out;
    }
    const where = filter ?? { kind: "true" as const };
    if (where.kind === "false") return [];
    const hits = await this.searchAll(queryText(where), ["n", this.embField], "getNodes");
    return hits.map((h) => this.toNode(h.fields.get("n"), h.fields.get(this.embField)));
  }

  private get embField(): string {
    return this.metric === "cosine" ? "e" : "v";
  }

  private toNode(n: Buffer | undefined, e: Buffer | undefined): BaseNode {
    if (n === undefined || e === undefined) {
      throw new StorageError("CORRUPT", "the query engine returned a node without its `n` or vector field", { store: STORE });
    }
    let node: BaseNode;
    try {
      node = jsonToNode(JSON.parse(n.toString("utf8")));
    } catch (cause) {
      throw new StorageError("CORRUPT", "a node hash holds JSON that is not a node", { store: STORE, cause });
    }
    node.embedding = fromFloat32(e);
    return node;
  }

  /** FT.SEARCH with DIALECT 2 and binary replies; returns hits (id without the key prefix). */
  private async search(
    query: string,
    opts: {
      limit: number;
      offset?: number;
      returnFields: string[];
      params?: (string | Buffer)[];
      scores?: boolean;
      textScorer?: boolean;
      /** Sort by the unique `id` attribute: a stable order for paging. */
      byId?: boolean;
    },
    op: string,
  ): Promise<Hit[]> {
    const args: (string | Buffer | number)[] = ["FT.SEARCH", this.indexName, query];
    if (opts.textScorer) args.push("WITHSCORES", "SCORER", "BM25");
    if (opts.returnFields.length === 0) args.push("NOCONTENT");
    else args.push("RETURN", String(opts.returnFields.length), ...opts.returnFields);
    if (opts.scores) args.push("SORTBY", SCORE, "ASC");
    else if (opts.byId) args.push("SORTBY", "id", "ASC");
    args.push("LIMIT", String(opts.offset ?? 0), String(opts.limit));
    if (opts.params?.length) args.push("PARAMS", String(opts.params.length), ...opts.params);
    // No timeout: the engine's default policy on a timeout is to return the results found so far
    // without saying so, which would make a filter or a KNN silently incomplete.
    args.push("TIMEOUT", "0", "DIALECT", "2");
    const reply = (await this.call(op, ...args)) as unknown[];
    const hits: Hit[] = [];
    const step = 1 + (opts.textScorer ? 1 : 0) + (opts.returnFields.length === 0 ? 0 : 1);
    const plen = Buffer.byteLength(this.nodePrefix);
    for (let i = 1; i + step - 1 < reply.length; i += step) {
      const key = reply[i] as Buffer;
      const fields = new Map<string, Buffer>();
      let score = 0;
      let j = i + 1;
      if (opts.textScorer) score = Number((reply[j++] as Buffer).toString());
      if (opts.returnFields.length) {
        const arr = (reply[j] ?? []) as Buffer[];
        for (let f = 0; f + 1 < arr.length; f += 2) fields.set(arr[f]!.toString(), arr[f + 1]!);
      }
      if (opts.scores) score = Number(fields.get(SCORE)?.toString());
      // A key whose hash vanished between indexing and loading comes back without fields: skip it.
      if (opts.returnFields.length && fields.size === 0) continue;
      hits.push({ id: key.subarray(plen).toString("utf8"), score, fields });
    }
    return hits;
  }

  /** Every hit of a query, 1,000 per request. */
  private async searchAll(query: string, returnFields: string[], op: string): Promise<Hit[]> {
    const out: Hit[] = [];
    // Paging: each request starts where the previous one ended.
    for (let offset = 0; ; offset += 1000) {
      const hits = await this.search(query, { limit: 1000, offset, returnFields, byId: true }, op);
      out.push(...hits);
      if (hits.length < 1000) return out;
    }
  }

  async query(query: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    if (query === null || typeof query !== "object") throw new StorageError("INVALID_ARGUMENT", "query takes a VectorStoreQuery", { store: STORE });
    const mode = query.mode ?? "default";
    if (!["default", "mmr", "hybrid", "text"].includes(mode)) {
      throw new StorageError("INVALID_ARGUMENT", `unknown query mode ${JSON.stringify(mode)}`, { store: STORE });
    }
    const k = checkTopK(query.topK, STORE);
    const alpha = unit(query.alpha, 0.5, "alpha");
    const lambda = unit(query.mmrThreshold, 0.5, "mmrThreshold");
    const cutoff = query.similarityCutoff;
    if (cutoff !== undefined && cutoff !== null && (typeof cutoff !== "number" || Number.isNaN(cutoff))) {
      throw new StorageError("INVALID_ARGUMENT", "similarityCutoff must be a number", { store: STORE });
    }
    const needsVector = mode !== "text";
    let emb: ArrayLike<number> | undefined;
    if (needsVector) {
      if (query.embedding === undefined || query.embedding === null) {
        throw new StorageError("INVALID_ARGUMENT", `mode ${mode} needs a query embedding`, { store: STORE });
      }
      checkEmbedding(query.embedding, this.dimensions, "the query", STORE);
      emb = query.embedding;
    }
    let queryStr: string | undefined;
    if (mode === "text" || mode === "hybrid") {
      if (typeof query.queryStr !== "string") throw new StorageError("INVALID_ARGUMENT", `mode ${mode} needs queryStr`, { store: STORE });
      queryStr = query.queryStr;
    }
    const parts: Compiled[] = [];
    if (query.filters !== undefined && query.filters !== null) parts.push(compileFilters(query.filters, STORE, this.orderedFilters).compiled);
    const nodeIds = checkIds(query.nodeIds, "nodeIds");
    const docIds = checkIds(query.docIds, "docIds");
    if (nodeIds !== undefined) parts.push(tagIn("id", nodeIds.filter(storableId)));
    if (docIds !== undefined) parts.push(tagIn("ref", docIds.filter(storableId)));
    const where = allOf(parts);
    const empty: VectorStoreQueryResult = { ids: [], similarities: [], nodes: [] };
    if (k === 0 || where.kind === "false") return empty;
    const layout = await this.existing();
    if (!layout) return empty;
    if (emb) checkEmbedding(emb, layout.dims, "the query", STORE);
    const filterText = where.kind === "true" ? "*" : queryText(where);

    let ranked: { id: string; score: number; hit: Hit }[];
    if (mode === "text") {
      ranked = (await this.textSearch(filterText, queryStr!, k)).map((h) => ({ id: h.id, score: h.score, hit: h }));
    } else if (mode === "hybrid") {
      ranked = await this.hybrid(layout, filterText, emb!, queryStr!, k, alpha);
    } else {
      const n = mode === "mmr" ? Math.max(20, k * this.candidateMultiplier) : k;
      const hits = await this.knn(layout, filterText, emb!, Math.min(n, 10_000), mode === "mmr");
      ranked = hits.map((h) => ({ id: h.id, score: h.score, hit: h }));
      if (mode === "mmr") {
        if (cutoff !== undefined && cutoff !== null) ranked = ranked.filter((r) => r.score >= cutoff);
        const cands = ranked.map((r) => fromFloat32(r.hit.fields.get("v")!));
        const order = mmrSelect(layout.metric, cands, ranked.map((r) => r.score), ranked.map((r) => r.id), k, lambda);
        const picked = order.map((i) => ranked[i]!);
        return this.result(picked);
      }
    }
    ranked.sort((a, b) => b.score - a.score || compareByCodePoint(a.id, b.id));
    if (cutoff !== undefined && cutoff !== null) ranked = ranked.filter((r) => r.score >= cutoff);
    return this.result(ranked.slice(0, k));
  }

  private result(picked: { id: string; score: number; hit: Hit }[]): VectorStoreQueryResult {
    return {
      ids: picked.map((p) => p.id),
      similarities: picked.map((p) => p.score),
      nodes: picked.map((p) => this.toNode(p.hit.fields.get("n"), p.hit.fields.get(this.embField))),
    };
  }

  /**
   * KNN under a pre-filter, similarities higher-is-better, in (similarity desc, id asc) order.
   * Fetches k + 1 and more while the k-th and the next similarity tie (ties are decided by id,
   * which the engine does not do), and re-runs a restricted query by brute force over the matching
   * nodes when the HNSW graph gave fewer than k (the engine's batch iteration may stop early).
   */
  private async knn(layout: Layout, filterText: string, emb: ArrayLike<number>, k: number, withVectors: boolean): Promise<Hit[]> {
    const blob = float32(emb, layout.metric === "cosine");
    const fields = ["n", this.embField, SCORE];
    if (withVectors && this.embField !== "v") fields.push("v");
    let want = Math.min(k + 1, 10_001);
    let policy = "";
    for (;;) {
      const params: (string | Buffer)[] = ["B", blob];
      let opts = policy;
      // The index's own EF_RUNTIME applies unless more candidates than that are asked for.
      if (this.index.type === "hnsw" && policy === "" && want > (this.index.efRuntime ?? 10)) {
        opts = " EF_RUNTIME $EF";
        params.push("EF", String(want));
      }
      // No restriction: a bare `*` (a parenthesised one is run as a filtered KNN, slower). ADHOC_BF
      // needs a filter: "every node" is then the always-present metadata token.
      const pre = policy !== "" && filterText === "*" ? `(${queryText({ kind: "true" })})` : filterText === "*" ? "*" : `(${filterText})`;
      const q = `${pre}=>[KNN ${want} @v $B${opts} AS ${SCORE}]`;
      const hits = await this.search(q, { limit: want, returnFields: fields, params, scores: true }, "query");
      for (const h of hits) h.score = similarityOf(layout.metric, h.score);
      hits.sort((a, b) => b.score - a.score || compareByCodePoint(a.id, b.id));
      if (hits.length < want && policy === "" && this.index.type === "hnsw") {
        // Fewer than asked: either fewer match, or the graph walk stopped early. Brute force over
        // the matching nodes is exact (and cheap when few match, which is when this happens).
        policy = " HYBRID_POLICY ADHOC_BF";
        continue;
      }
      const boundaryTie = hits.length === want && want > k && k > 0 && hits[k - 1]!.score === hits[k]!.score;
      if (boundaryTie && want < 10_001) {
        want = Math.min(want * 2, 10_001);
        continue;
      }
      return hits.slice(0, k);
    }
  }

  private async textSearch(filterText: string, queryStr: string, k: number): Promise<Hit[]> {
    const terms = textTerms(queryStr);
    if (terms.length === 0) return [];
    const q = `(@t:(${terms.join(" | ")}))${filterText === "*" ? "" : ` ${filterText}`}`;
    const hits = await this.search(q, { limit: k, returnFields: ["n", this.embField, "v"], textScorer: true }, "query");
    return hits;
  }

  private async hybrid(
    layout: Layout,
    filterText: string,
    emb: ArrayLike<number>,
    queryStr: string,
    k: number,
    alpha: number,
  ): Promise<{ id: string; score: number; hit: Hit }[]> {
    const n = Math.min(10_000, Math.max(20, k * this.candidateMultiplier));
    const [vec, text] = await Promise.all([this.knn(layout, filterText, emb, n, true), this.textSearch(filterText, queryStr, n)]);
    const q = layout.metric === "cosine" ? normalized(emb) : Float64Array.from(emb as ArrayLike<number>);
    const byId = new Map<string, { hit: Hit; v: number; t: number }>();
    for (const h of vec) byId.set(h.id, { hit: h, v: h.score, t: 0 });
    for (const h of text) {
      const c = byId.get(h.id);
      if (c) c.t = h.score;
      else byId.set(h.id, { hit: h, v: vectorSimilarity(layout.metric, q, fromFloat32(h.fields.get("v")!)), t: h.score });
    }
    const maxT = Math.max(0, ...[...byId.values()].map((c) => c.t));
    return [...byId.entries()].map(([id, c]) => ({ id, hit: c.hit, score: alpha * c.v + (1 - alpha) * (maxT > 0 ? c.t / maxT : 0) }));
  }

  async close(): Promise<void> {
    if (this.owned) await closeOwned(this.redis);
  }
}

// ------------------------------------------------------------------------------------------------

/** The hash tag of a key (what Redis Cluster hashes): the first non-empty {...}. */
function hashTag(key: string): string | undefined {
  const open = key.indexOf("{");
  if (open < 0) return undefined;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

function distanceMetric(m: DistanceMetric): string {
  // Cosine is scored as the inner product of unit vectors: the engine's own COSINE gives NaN for a
  // zero vector, where Larder's rule is similarity 0.
  return m === "euclidean" ? "L2" : "IP";
}

/** Engine distance -> Larder similarity (higher is better). IP distance is 1 - dot; L2 is squared. */
function similarityOf(metric: DistanceMetric, distance: number): number {
  if (metric === "euclidean") return -Math.sqrt(Math.max(0, distance));
  return 1 - distance;
}

function normalized(v: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  const out = Float64Array.from(v as ArrayLike<number>);
  if (n > 0) {
    const s = 1 / Math.sqrt(n);
    for (let i = 0; i < out.length; i++) out[i]! *= s;
  }
  return out;
}

/** Little-endian float32 bytes (the engine's FLOAT32 layout), unit-normalised when asked. */
function float32(v: ArrayLike<number>, unitLength: boolean): Buffer {
  const src = unitLength ? normalized(v) : v;
  const f = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) f[i] = src[i]!;
  const b = Buffer.from(f.buffer, f.byteOffset, f.byteLength);
  return isLittleEndian ? b : Buffer.from(b.swap32());
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fromFloat32(b: Buffer): number[] {
  const out = new Array<number>(b.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

function vectorSimilarity(metric: DistanceMetric, a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, l2 = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    l2 += (a[i]! - b[i]!) ** 2;
  }
  return metric === "euclidean" ? -Math.sqrt(l2) : dot;
}

/**
 * The words of a text query: runs of letters and digits. Nothing else reaches the query text, so
 * no user character can be query syntax; the engine lower-cases and stems them like the indexed text.
 */
export function textTerms(queryStr: string): string[] {
  return [...new Set(queryStr.match(/[\p{L}\p{N}]+/gu) ?? [])].slice(0, 256);
}

function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/**
 * Node ids become key names (UTF-8): a lone surrogate has no UTF-8 form, and the query engine
 * cuts key names at U+0000 when it loads a document. Ref doc ids only go into TAG tokens, but follow
 * the same rule so that every id the store accepts is one it can answer for.
 */
function checkId(id: unknown, what: string): string {
  if (typeof id !== "string" || id === "") throw new StorageError("INVALID_ARGUMENT", `${what} must be a non-empty string`, { store: STORE });
  if (!isWellFormed(id)) {
    throw new StorageError("INVALID_ARGUMENT", `${what} ${JSON.stringify(id.slice(0, 80))} holds a lone surrogate, which a Redis key cannot store`, { store: STORE });
  }
  if (id.includes("\u0000")) {
    throw new StorageError("INVALID_ARGUMENT", `${what} ${JSON.stringify(id.slice(0, 80))} holds U+0000, which the Redis query engine cannot load`, { store: STORE });
  }
  return id;
}

function storableId(id: string): boolean {
  return id !== "" && isWellFormed(id) && !id.includes("\u0000");
}

function checkIds(ids: unknown, what: string): readonly string[] | undefined {
  if (ids === undefined || ids === null) return undefined;
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== "string")) {
    throw new StorageError("INVALID_ARGUMENT", `${what} must be an array of strings`, { store: STORE });
  }
  return ids as string[];
}

function unit(v: unknown, dflt: number, what: string): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new StorageError("INVALID_ARGUMENT", `${what} must be a number in [0, 1]`, { store: STORE });
  return v;
}

function positiveInt(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new StorageError("INVALID_ARGUMENT", `${what} must be a positive integer`, { store: STORE });
  return n;
}

function checkIndex(index: RedisVectorIndex): void {
  const int = (v: unknown, what: string, lo: number, hi: number) => {
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi)) {
      throw new StorageError("INVALID_ARGUMENT", `${what} must be an integer in ${lo}..${hi}`, { store: STORE });
    }
  };
  if (index === null || typeof index !== "object") throw new StorageError("INVALID_ARGUMENT", "index must be {type: \"hnsw\" | \"flat\"}", { store: STORE });
  if (index.type === "hnsw") {
    int(index.m, "index.m", 2, 512);
    int(index.efConstruction, "index.efConstruction", 1, 4096);
    int(index.efRuntime, "index.efRuntime", 1, 10_000);
  } else if (index.type !== "flat") {
    throw new StorageError("INVALID_ARGUMENT", "index.type must be hnsw or flat", { store: STORE });
  }
}
