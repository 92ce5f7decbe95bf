import { StorageError } from "@larder/core/errors";
import { CASE_FOLD_VERSION, compareByCodePoint, filterOperatorsUsed, type MetadataFilters } from "@larder/core/filters";
import { jsonToNode, type BaseNode } from "@larder/core/schema";
import {
  assertDeleteTarget,
  assertNodeMetadata,
  checkTopK,
  mmrSelect,
  type DistanceMetric,
  type VectorQueryMode,
  type VectorStore,
  type VectorStoreCapabilities,
  type VectorStoreQuery,
  type VectorStoreQueryResult,
} from "@larder/core/vector";
import { DDL_LOCK_SQL, Db, Once, type PostgresConnectionOptions, type Queryable } from "./connection.js";
import { SQL_FILTER_OPERATORS, compileFilters, foldedMetadata } from "./filter-sql.js";
import { checkText, derivedName, isWellFormedUtf16, quoteIdentifier, quoteSchema } from "./identifiers.js";
import { checkTableLayout } from "./layout.js";
import { copyBinary, type CopyField } from "./binary-copy.js";
import { PostgresBulkLoad } from "./bulk-load.js";

export type PostgresVectorIndex =
  | {
      type: "hnsw";
      /** Max connections per layer (pgvector default 16). */
      m?: number;
      /** Candidate list size while building (pgvector default 64). */
      efConstruction?: number;
      /** Candidate list size while searching; raised to topK + 1 when smaller. Default 100. */
      efSearch?: number;
      /**
       * `"halfvec"`: the graph is built over float16 copies of the unit-normalized vectors
       * (`l2_normalize(embedding)::halfvec`), which pgvector builds faster; each search takes
       * `efSearch` candidates from it and ranks them by the exact float32 cosine, so scores are exact.
       * Cosine metric on `vector` columns only, pgvector >= 0.7. `"none"`: the graph is built over the
       * float32 column. Default: `"halfvec"` where it applies, else `"none"`. A table whose index
       * already exists is queried the way that index was built.
       */
      quantization?: "halfvec" | "none";
    }
  | {
      type: "ivfflat";
      /** Number of lists (build the index after loading data). Default 100. */
      lists?: number;
      /** Lists probed per query. Default 10. */
      probes?: number;
    }
  | { type: "none" };

export interface PostgresVectorStoreOptions extends PostgresConnectionOptions {
  /** Default `"public"`. */
  schema?: string;
  /** Default `"larder_vectors"`. */
  table?: string;
  /**
   * Embedding dimensions. When omitted, taken from an existing table, or from the first `add`
   * (the table is created then).
   */
  dimensions?: number;
  /** Default `"cosine"`. */
  metric?: DistanceMetric;
  /** `vector` (float32, up to 2000 dims indexed) or `halfvec` (float16, up to 4000). Default: `vector` up to 2000 dims, else `halfvec`. */
  vectorType?: "vector" | "halfvec";
  /** ANN index. Default `{type: "hnsw", m: 16, efConstruction: 64, efSearch: 100}`. */
  index?: PostgresVectorIndex;
  /**
   * `"on-create"` (default): the ANN index is created with the table and maintained on every add.
   * `"manual"`: no index until you call {@link PostgresVectorStore.buildIndex} (faster bulk loads:
   * pgvector builds an index over existing rows much faster than row by row); queries are exact
   * scans until then.
   */
  indexBuild?: "on-create" | "manual";
  /**
   * pgvector >= 0.8 iterative index scans for filtered queries: `relaxed_order` (default; results
   * are re-sorted) or `strict_order`. A query that still returns fewer than topK rows is re-run
   * exactly, so a filtered query returns k rows whenever k rows match.
   */
  iterativeScan?: "relaxed_order" | "strict_order";
  /** Text search configuration for the `text_search` column (hybrid and text modes). Default `"simple"`. */
  textSearchConfig?: string;
  /** Hybrid search fusion: weighted sum with `alpha` (default) or reciprocal rank fusion. */
  hybridFusion?: "weighted" | "rrf";
  /** Candidates fetched per side in hybrid mode, and for MMR, as a multiple of topK. Default 4 (min 20). */
  candidateMultiplier?: number;
  /** Rows per INSERT in `add` (all in one transaction). Default 1000. */
  batchSize?: number;
  /** `maintenance_work_mem` for index builds (e.g. `"1GB"`): pgvector builds HNSW much faster when the graph fits. Default: the server's. */
  maintenanceWorkMem?: string;
  /**
   * An `add` of at least this many nodes uses binary COPY (raw float32 vectors) instead of
   * INSERT statements. 0 disables. Default 500. (`halfvec` tables always use INSERT.)
   */
  copyThreshold?: number;
  /**
   * A restricted query (filters, nodeIds or docIds) first reads at most this many matching rows;
   * when fewer match, it ranks them exactly (no ANN error on selective filters), otherwise it uses
   * the ANN index. 0 disables. Default 2000.
   */
  exactSearchThreshold?: number;
}

const STORE = "PostgresVectorStore";
const MODES: readonly VectorQueryMode[] = ["default", "mmr", "hybrid", "text"];

interface Layout {
  dims: number;
  /** Schema-qualified pgvector names. */
  vtype: string;
  op: string;
  iterative: boolean;
  /** Schema of the pgvector extension (quoted). */
  ext: string;
  /** What the ANN index is built on: the column (`vector`) or its float16 normalized copy (`halfvec`). */
  ann: "vector" | "halfvec";
  /** The case-fold table `metadata_folded` was written with (its column comment); null: unknown. */
  foldVersion: string | null;
}

/** The comment on `metadata_folded` naming the fold table of its contents. */
const FOLD_COMMENT_PREFIX = "larder:case-fold=";
const foldComment = (version: string) => {
  if (!/^[A-Za-z0-9._-]+$/.test(version)) throw new Error(`unexpected case-fold version ${JSON.stringify(version)}`);
  return `'${FOLD_COMMENT_PREFIX}${version}'`;
};

interface Row {
  id: string;
  node: string;
  emb: string;
  score: number | string | null;
  tscore?: number | string | null;
}

/**
 * A VectorStore on one Postgres table with pgvector:
 *
 *     id text PRIMARY KEY, ref_doc_id text (indexed), embedding vector(d), metadata jsonb,
 *     metadata_folded jsonb, node json (exact text: key order kept), text text, text_search tsvector (generated, GIN-indexed)
 *
 * plus an HNSW (or IVFFlat) index for the chosen metric. See the README for the layout and the
 * filter compilation rules.
 */
export class PostgresVectorStore implements VectorStore {
  readonly storesText = true;
  readonly capabilities: VectorStoreCapabilities;
  readonly schema: string;
  readonly table: string;
  readonly qualifiedTable: string;
  readonly metric: DistanceMetric;
  private readonly qSchema: string;
  private readonly db: Db;
  private readonly index: PostgresVectorIndex;
  private readonly vectorTypeOption: "vector" | "halfvec" | undefined;
  private readonly iterativeScan: "relaxed_order" | "strict_order";
  private readonly tsConfig: string;
  private readonly fusion: "weighted" | "rrf";
  private readonly candidateMultiplier: number;
  private readonly batchSize: number;
  private readonly exactSearchThreshold: number;
  private readonly indexBuild: "on-create" | "manual";
  private readonly copyThreshold: number;
  private readonly maintenanceWorkMem: string | undefined;
  private dims: number | undefined;
  private layout: Layout | undefined;
  private readonly probe: Once<Layout | undefined>;
  private create: Once<Layout> | undefined;

  constructor(options: PostgresVectorStoreOptions) {
    this.schema = options.schema ?? "public";
    this.table = options.table ?? "larder_vectors";
    this.qSchema = quoteSchema(this.schema, STORE);
    this.qualifiedTable = `${this.qSchema}.${quoteIdentifier(this.table, "table name", STORE)}`;
    this.metric = options.metric ?? "cosine";
    if (!["cosine", "dot", "euclidean"].includes(this.metric)) {
      throw new StorageError("INVALID_ARGUMENT", `unknown metric ${JSON.stringify(this.metric)}`, { store: STORE });
    }
    if (options.dimensions !== undefined) this.dims = dimensions(options.dimensions);
    this.vectorTypeOption = options.vectorType;
    if (this.vectorTypeOption !== undefined && !["vector", "halfvec"].includes(this.vectorTypeOption)) {
      throw new StorageError("INVALID_ARGUMENT", "vectorType must be \"vector\" or \"halfvec\"", { store: STORE });
    }
    this.index = options.index ?? { type: "hnsw" };
    checkIndex(this.index);
    if (this.index.type === "hnsw" && this.index.quantization === "halfvec" && this.metric !== "cosine") {
      throw new StorageError("INVALID_ARGUMENT", 'index.quantization "halfvec" applies to the cosine metric only', { store: STORE });
    }
    this.iterativeScan = options.iterativeScan ?? "strict_order";
    if (!["relaxed_order", "strict_order"].includes(this.iterativeScan)) {
      throw new StorageError("INVALID_ARGUMENT", "iterativeScan must be relaxed_order or strict_order", { store: STORE });
    }
    this.tsConfig = options.textSearchConfig ?? "simple";
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(this.tsConfig)) {
      throw new StorageError("INVALID_ARGUMENT", "textSearchConfig must be a text search configuration name", { store: STORE });
    }
    this.fusion = options.hybridFusion ?? "weighted";
    this.candidateMultiplier = positiveInt(options.candidateMultiplier ?? 4, "candidateMultiplier");
    this.batchSize = positiveInt(options.batchSize ?? 1000, "batchSize");
    this.exactSearchThreshold = options.exactSearchThreshold ?? 2000;
    this.indexBuild = options.indexBuild ?? "on-create";
    this.copyThreshold = options.copyThreshold ?? 500;
    this.maintenanceWorkMem = checkMemory(options.maintenanceWorkMem);
    if (!Number.isInteger(this.copyThreshold) || this.copyThreshold < 0) {
      throw new StorageError("INVALID_ARGUMENT", "copyThreshold must be a non-negative integer", { store: STORE });
    }
    if (this.indexBuild !== "on-create" && this.indexBuild !== "manual") {
      throw new StorageError("INVALID_ARGUMENT", 'indexBuild must be "on-create" or "manual"', { store: STORE });
    }
    if (!Number.isInteger(this.exactSearchThreshold) || this.exactSearchThreshold < 0) {
      throw new StorageError("INVALID_ARGUMENT", "exactSearchThreshold must be a non-negative integer", { store: STORE });
    }
    this.capabilities = {
      modes: MODES,
      metrics: [this.metric],
      filterOperators: SQL_FILTER_OPERATORS,
      nestedFilters: true,
    };
    this.db = new Db(options, STORE);
    this.probe = new Once(() => this.setup(undefined) as Promise<Layout | undefined>);
  }

  get client() {
    return this.db.raw;
  }

  /** The table's dimensions once known. */
  get dimensions(): number | undefined {
    return this.layout?.dims ?? this.dims;
  }

  // ------------------------------------------------------------------------------------------
  // Schema

  /** The layout when the table exists (creating it when the dimensions are known). */
  private async existing(): Promise<Layout | undefined> {
    if (this.layout) return this.layout;
    const l = await this.probe.run();
    if (!l) this.probe.reset(); // the table may be created later (by us or someone else)
    return l;
  }

  private async ensure(dims: number): Promise<Layout> {
    if (this.layout) return this.layout;
    this.create ??= new Once(async () => (await this.setup(dims))!);
    try {
      return await this.create.run();
    } catch (e) {
      this.create = undefined;
      throw e;
    }
  }

  private async setup(dimsHint: number | undefined): Promise<Layout | undefined> {
    const layout = await this.db.tx(async (q) => {
      await q.query(DDL_LOCK_SQL);
      const ext = await vectorExtension(q);
      const exists = await q.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [this.qualifiedTable]);
      let dims = this.dims ?? dimsHint;
      if (!exists.rows[0].e) {
        if (dims === undefined) return undefined;
        const vt = this.vectorTypeOption ?? (dims > 2000 ? "halfvec" : "vector");
        await q.query(`CREATE SCHEMA IF NOT EXISTS ${this.qSchema}`);
        await q.query(
          `CREATE TABLE ${this.qualifiedTable} (
             id text COLLATE "C" PRIMARY KEY,
             ref_doc_id text COLLATE "C",
             embedding ${ext.schema}.${vt}(${dims}) NOT NULL,
             metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
             metadata_folded jsonb,
             node json NOT NULL,
             text text NOT NULL DEFAULT '',
             text_search tsvector GENERATED ALWAYS AS (to_tsvector('${this.tsConfig}'::regconfig, text)) STORED)`,
        );
        await q.query(`COMMENT ON COLUMN ${this.qualifiedTable}.metadata_folded IS ${foldComment(CASE_FOLD_VERSION)}`);
        await q.query(`CREATE INDEX ${derivedName(this.schema, this.table, "ref_doc")} ON ${this.qualifiedTable} (ref_doc_id)`);
        await q.query(`CREATE INDEX ${derivedName(this.schema, this.table, "fts")} ON ${this.qualifiedTable} USING gin (text_search)`);
      }
      const cols = await checkTableLayout(
        q,
        this.schema,
        this.table,
        { id: "text", ref_doc_id: "text", metadata: "jsonb", metadata_folded: "jsonb", node: "json", text: "text", text_search: "tsvector" },
        STORE,
      );
      const emb = cols.get("embedding");
      if (!emb || (emb.type !== "vector" && emb.type !== "halfvec")) {
        throw new StorageError("CONFLICT", `table ${this.qualifiedTable} has no vector/halfvec embedding column`, { store: STORE });
      }
      const tableDims = emb.typmod;
      if (dims !== undefined && tableDims !== dims) {
        throw new StorageError("DIMENSION_MISMATCH", `table ${this.qualifiedTable} holds ${tableDims}-dimensional vectors, not ${dims}`, {
          store: STORE,
        });
      }
      dims = tableDims;
      const fc = await q.query(
        `SELECT col_description(a.attrelid, a.attnum) AS c FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname = 'metadata_folded'`,
        [this.qualifiedTable],
      );
      const comment = fc.rows[0]?.c as string | null | undefined;
      const l: Layout = {
        foldVersion: typeof comment === "string" && comment.startsWith(FOLD_COMMENT_PREFIX) ? comment.slice(FOLD_COMMENT_PREFIX.length) : null,
        dims,
        vtype: `${ext.schema}.${emb.type}`,
        op: `OPERATOR(${ext.schema}.${opFor(this.metric)})`,
        iterative: ext.iterative,
        ext: ext.schema,
        ann: this.halfvecIndex(emb.type, ext.halfvec) ? "halfvec" : "vector",
      };
      if (this.indexBuild === "on-create") {
        await this.createMetadataIndex(q);
        if (this.index.type !== "none") await this.createIndex(q, l);
      }
      l.ann = await this.annKind(q, l);
      return l;
    }, "schema setup");
    if (layout) {
      this.layout = layout;
      this.dims = layout.dims;
    }
    return layout;
  }

  /**
   * Builds the configured ANN index now if it does not exist (for `indexBuild: "manual"`, after a
   * bulk load). `maintenanceWorkMem` (e.g. `"1GB"`) is applied to the build only: pgvector builds
   * much faster when the graph fits in it.
   */
  async buildIndex(options: { maintenanceWorkMem?: string } = {}): Promise<void> {
    const mem = checkMemory(options.maintenanceWorkMem ?? this.maintenanceWorkMem);
    const layout = await this.existing();
    if (!layout) throw new StorageError("NOT_FOUND", "nothing to index yet: the table is created on the first add", { store: STORE });
    await this.db.tx((q) => this.buildIndexes(q, layout, mem), "buildIndex");
    await this.db.query(`ANALYZE ${this.qualifiedTable}`, [], "buildIndex");
  }

  /**
   * Drops the ANN and metadata indexes if present, so that a large load goes into an unindexed
   * table (with `indexBuild: "manual"`, later adds do not create them); {@link buildIndex} builds
   * them again. Queries stay correct meanwhile (exact scans). No-op before the table exists.
   */
  async dropIndex(): Promise<void> {
    const layout = await this.existing();
    if (!layout) return;
    await this.db.tx(async (q) => {
      for (const name of this.indexNames()) await q.query(`DROP INDEX IF EXISTS ${this.qSchema}.${name}`);
    }, "dropIndex");
  }

  /** Creates the metadata GIN and the ANN index if missing (in the caller's transaction). */
  private async buildIndexes(q: Queryable, layout: Layout, mem = this.maintenanceWorkMem): Promise<void> {
    if (mem) await q.query(`SET LOCAL maintenance_work_mem = '${mem}'`);
    await this.createMetadataIndex(q);
    if (this.index.type === "none") return;
    await this.createIndex(q, layout);
    layout.ann = await this.annKind(q, layout);
  }

  /**
   * Whether a new HNSW index is built over float16 normalized copies (see `quantization`):
   * cosine on a `vector` column with pgvector >= 0.7, unless `quantization: "none"`.
   */
  private halfvecIndex(columnType: string, extHasHalfvec: boolean): boolean {
    if (this.index.type !== "hnsw" || this.index.quantization === "none" || this.metric !== "cosine" || columnType !== "vector") return false;
    if (!extHasHalfvec) {
      if (this.index.quantization === "halfvec") {
        throw new StorageError("UNSUPPORTED", 'index.quantization "halfvec" needs pgvector >= 0.7', { store: STORE });
      }
      return false;
    }
    return true;
  }

  /** What the existing ANN index is built on (from its definition); the configured kind when there is none yet. */
  private async annKind(q: Queryable, layout: Layout): Promise<"vector" | "halfvec"> {
    if (this.index.type === "none") return "vector";
    const name = derivedName(this.schema, this.table, `${this.index.type}_${this.metric}`);
    const r = await q.query(`SELECT pg_get_indexdef(to_regclass($1)) AS def`, [`${this.qSchema}.${name}`]);
    const def = (r.rows[0] as { def: string | null } | undefined)?.def;
    if (typeof def !== "string") return layout.ann;
    return /l2_normalize\(embedding\)/.test(def) ? "halfvec" : "vector";
  }

  /** The expression the index orders by, for the column or a query parameter. */
  private annExpr(layout: Layout, v: string): string {
    return layout.ann === "halfvec" ? `(${layout.ext}.l2_normalize(${v})::${layout.ext}.halfvec(${layout.dims}))` : v;
  }

  /** ORDER BY key of an index scan (ascending = nearest first). */
  private annOrderSql(layout: Layout, p: string, column = "embedding"): string {
    return `${this.annExpr(layout, column)} ${layout.op} ${this.annExpr(layout, p)}`;
  }

  /**
   * An index scan for the best `limit` rows of `WHERE whereSql`, best first, selecting a query
   * result row (`id, node, emb, score`). With a float16 index: the `ef_search` nearest rows by the
   * index (`candidates`), re-ranked by the exact distance.
   */
  private annSelect(layout: Layout, p: string, whereSql: string, limit: string, candidates: number): string {
    if (layout.ann !== "halfvec") {
      const cols = `id, node::text AS node, embedding::text AS emb, ${this.scoreSql(layout, p)} AS score`;
      return `SELECT ${cols} FROM ${this.qualifiedTable} WHERE ${whereSql} ORDER BY ${this.annOrderSql(layout, p)} LIMIT ${limit}`;
    }
    return this.exactTop(
      layout,
      p,
      `(SELECT id, node, embedding FROM ${this.qualifiedTable} WHERE ${whereSql}
        ORDER BY ${this.annOrderSql(layout, p)} LIMIT ${Math.trunc(candidates)}) AS cand`,
      limit,
    );
  }

  /**
   * The best `limit` rows of `from` (which yields `id, node, embedding`) by the exact distance, best
   * first, as query result rows (`id, node, emb, score`). The rows are ranked first and only the
   * kept ones are turned into text: Postgres computes a select list before the sort under a LIMIT,
   * which would format every candidate's node and 384-number vector for the few returned.
   */
  private exactTop(layout: Layout, p: string, from: string, limit: string): string {
    return `SELECT id, node::text AS node, embedding::text AS emb, score FROM (
        SELECT id, node, embedding, ${this.scoreSql(layout, p)} AS score, ${this.exactOrderSql(layout, p)} AS rank_key
          FROM ${from} ORDER BY rank_key, id LIMIT ${limit}) AS top
      ORDER BY rank_key, id`;
  }

  /** `ef_search` for a scan that needs `k` rows (also the candidates a float16 index hands to the exact re-rank). */
  private efSearch(k: number): number {
    return Math.min(1000, Math.max(this.index.type === "hnsw" ? (this.index.efSearch ?? 100) : 0, k));
  }

  /** Names of the indexes built by {@link buildIndexes} (quoted, unqualified). */
  private indexNames(): string[] {
    const names = [derivedName(this.schema, this.table, "meta")];
    if (this.index.type !== "none") names.push(derivedName(this.schema, this.table, `${this.index.type}_${this.metric}`));
    return names;
  }

  /** GIN (jsonb_path_ops) on metadata: serves the `@>` hints the filter compiler adds for `==` / `contains`. */
  private async createMetadataIndex(q: Queryable): Promise<void> {
    await q.query(
      `CREATE INDEX IF NOT EXISTS ${derivedName(this.schema, this.table, "meta")} ON ${this.qualifiedTable} USING gin (metadata jsonb_path_ops)`,
    );
  }

  private async createIndex(q: Queryable, layout: Layout): Promise<void> {
    const ext = layout.ext;
    const vt = layout.vtype.slice(layout.vtype.lastIndexOf(".") + 1);
    const ops = { cosine: "cosine", dot: "ip", euclidean: "l2" }[this.metric];
    const opclass = `${ext}.${vt}_${ops}_ops`;
    const name = derivedName(this.schema, this.table, `${this.index.type}_${this.metric}`);
    if (this.index.type === "hnsw") {
      const m = this.index.m ?? 16;
      const ef = this.index.efConstruction ?? 64;
      const key = layout.ann === "halfvec" ? `(${this.annExpr(layout, "embedding")}) ${ext}.halfvec_${ops}_ops` : `embedding ${opclass}`;
      await q.query(`CREATE INDEX IF NOT EXISTS ${name} ON ${this.qualifiedTable} USING hnsw (${key}) WITH (m = ${m}, ef_construction = ${ef})`);
    } else if (this.index.type === "ivfflat") {
      const lists = this.index.lists ?? 100;
      await q.query(`CREATE INDEX IF NOT EXISTS ${name} ON ${this.qualifiedTable} USING ivfflat (embedding ${opclass}) WITH (lists = ${lists})`);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Writes

  async add(nodes: readonly BaseNode[]): Promise<string[]> {
    const prepared = await this.prepareAdd(nodes);
    if (prepared.rows.length > 0) await this.writeAdd(prepared);
    return prepared.ids;
  }

  /**
   * Starts a pipelined bulk load (see {@link PostgresBulkLoad}): its `add` checks and encodes the
   * nodes like {@link add}, then resolves while the server is still ingesting them, so that the
   * caller prepares (e.g. embeds) the next batch meanwhile; `flush()` waits until everything is
   * stored and rejects with the first failure. Use it with `indexBuild: "manual"` for large loads.
   */
  bulkLoad(options: { maxPending?: number } = {}): PostgresBulkLoad {
    return new PostgresBulkLoad(this, (nodes) => this.prepareAdd(nodes), (p) => this.writeAdd(p as PreparedAdd), options);
  }

  /** Validates and encodes an `add` (every INVALID_ARGUMENT / DIMENSION_MISMATCH surfaces here, before any write). */
  private async prepareAdd(nodes: readonly BaseNode[]): Promise<PreparedAdd> {
    if (!Array.isArray(nodes)) throw new StorageError("INVALID_ARGUMENT", "add takes an array of nodes", { store: STORE });
    if (nodes.length === 0) return { ids: [], rows: [], layout: undefined };
    // Validate and encode everything before the first write.
    let dims = this.dimensions;
    const rows = new Map<string, AddRow>();
    const ids: string[] = [];
    for (const node of nodes) {
      if (node === null || typeof node !== "object" || typeof (node as BaseNode).toJSON !== "function") {
        throw new StorageError("INVALID_ARGUMENT", "add takes BaseNode instances", { store: STORE });
      }
      const id = checkText(node.id, "node id", STORE);
      const emb = node.embedding as readonly number[] | Float32Array | null;
      if (!emb || !(Array.isArray(emb) || emb instanceof Float32Array) || emb.length === 0) {
        throw new StorageError("INVALID_ARGUMENT", `node ${JSON.stringify(id)} has no embedding`, { store: STORE });
      }
      dims ??= emb.length;
      if (emb.length !== dims) {
        throw new StorageError("DIMENSION_MISMATCH", `node ${JSON.stringify(id)} has ${emb.length} dimensions, the store ${dims}`, {
          store: STORE,
        });
      }
      checkFinite(emb, id);
      const ref = node.refDocId;
      if (ref !== undefined) checkText(ref, "ref doc id", STORE);
      const metaText = metadataJson(node, id);
      const folded = foldedMetadata(JSON.parse(metaText) as Record<string, unknown>);
      const json = node.toJSON();
      json.__data__ = { ...json.__data__, embedding: null };
      rows.delete(id);
      rows.set(id, {
        ref: ref ?? null,
        emb,
        meta: metaText,
        folded: folded ? JSON.stringify(folded) : null,
        node: JSON.stringify(json),
        text: searchableText(node.text),
      });
      ids.push(id);
    }
    const layout = await this.ensure(dims!);
    if (layout.dims !== dims) {
      throw new StorageError("DIMENSION_MISMATCH", `nodes have ${dims} dimensions, the table ${layout.dims}`, { store: STORE });
    }
    return { ids, rows: [...rows.entries()], layout };
  }

  /** Writes a prepared `add`: binary COPY for large batches, else batched upserts. */
  private async writeAdd(prepared: PreparedAdd): Promise<void> {
    const all = prepared.rows;
    const layout = prepared.layout!;
    const lockKey = `larder:add:${this.qualifiedTable}`;
    if (this.copyThreshold > 0 && all.length >= this.copyThreshold && layout.vtype.endsWith(".vector")) {
      // Bulk path: replace the ids (DELETE) then binary COPY, in one transaction. The exclusive
      // advisory lock keeps a concurrent add of the same id from slipping in between the two.
      await this.db.tx(async (q) => {
        await q.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [lockKey]);
        // Loading into an empty table: drop the ANN and metadata indexes and build them after the
        // COPY (same transaction), which is many times faster than maintaining them row by row.
        // DROP INDEX locks the table until commit; it was empty, so readers only wait for the data.
        const rebuild =
          this.indexBuild === "on-create" &&
          ((await q.query(`SELECT NOT EXISTS (SELECT 1 FROM ${this.qualifiedTable}) AS empty`)).rows[0] as { empty: boolean }).empty;
        if (rebuild) {
          for (const name of this.indexNames()) await q.query(`DROP INDEX IF EXISTS ${this.qSchema}.${name}`);
        } else {
          await q.query(`DELETE FROM ${this.qualifiedTable} WHERE id = ANY($1::text[])`, [all.map(([id]) => id)]);
        }
        await copyBinary(
          q,
          `${this.qualifiedTable} (id, ref_doc_id, embedding, metadata, metadata_folded, node, text)`,
          (function* () {
            for (const [id, r] of all) {
              yield [
                { kind: "text", value: id },
                { kind: "text", value: r.ref },
                { kind: "vector", value: r.emb },
                { kind: "jsonb", value: r.meta },
                { kind: "jsonb", value: r.folded },
                { kind: "json", value: r.node },
                { kind: "text", value: r.text },
              ] satisfies CopyField[];
            }
          })(),
        );
        if (rebuild) await this.buildIndexes(q, layout);
      }, "add");
      return;
    }
    // Upsert path: one statement per chunk (shared lock: upserts do not conflict with each other).
    const sql = `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(hashtextextended($8, 0)))
      INSERT INTO ${this.qualifiedTable} (id, ref_doc_id, embedding, metadata, metadata_folded, node, text)
      SELECT u.id, u.ref, u.emb::${layout.vtype}, u.meta::jsonb, u.folded::jsonb, u.node::json, u.txt
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(id, ref, emb, meta, folded, node, txt)
        CROSS JOIN l
      ON CONFLICT (id) DO UPDATE SET ref_doc_id = EXCLUDED.ref_doc_id, embedding = EXCLUDED.embedding,
        metadata = EXCLUDED.metadata, metadata_folded = EXCLUDED.metadata_folded, node = EXCLUDED.node, text = EXCLUDED.text`;
    const paramsFor = (chunk: typeof all) => [
      chunk.map(([id]) => id),
      chunk.map(([, r]) => r.ref),
      chunk.map(([id, r]) => vectorLiteral(r.emb, id)),
      chunk.map(([, r]) => r.meta),
      chunk.map(([, r]) => r.folded),
      chunk.map(([, r]) => r.node),
      chunk.map(([, r]) => r.text),
      lockKey,
    ];
    if (all.length <= this.batchSize) {
      await this.db.query(sql, paramsFor(all), "add");
    } else {
      await this.db.tx(async (q) => {
        // One statement per chunk, sequential on one connection inside one transaction.
        for (let i = 0; i < all.length; i += this.batchSize) await q.query(sql, paramsFor(all.slice(i, i + this.batchSize)));
      }, "add");
    }
  }

  async delete(refDocId: string): Promise<void> {
    if (typeof refDocId !== "string") throw new StorageError("INVALID_ARGUMENT", "refDocId must be a string", { store: STORE });
    if (!storable(refDocId)) return;
    if (!(await this.existing())) return;
    await this.db.query(`DELETE FROM ${this.qualifiedTable} WHERE ref_doc_id = $1`, [refDocId], "delete");
  }

  async deleteNodes(args: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<void> {
    const where = this.where(args ?? {}, [], { requireOne: true });
    const layout = await this.existing();
    if (!layout) return;
    this.checkFold(where, layout);
    await this.db.query(`DELETE FROM ${this.qualifiedTable} WHERE ${where.sql}`, where.params, "deleteNodes");
  }

  async clear(): Promise<void> {
    if (!(await this.existing())) return;
    await this.db.query(`DELETE FROM ${this.qualifiedTable}`, [], "clear");
  }

  /** Drops the table (tests, teardown). */
  async drop(): Promise<void> {
    await this.db.query(`DROP TABLE IF EXISTS ${this.qualifiedTable}`, [], "drop");
    this.layout = undefined;
    this.create = undefined;
    this.probe.reset();
  }

  // ------------------------------------------------------------------------------------------
  // Reads

  async getNodes(args: { ids?: readonly string[]; filters?: MetadataFilters } = {}): Promise<BaseNode[]> {
    const where = this.where(args, [], { requireOne: false });
    const layout = await this.existing();
    if (!layout) return [];
    this.checkFold(where, layout);
    const r = await this.db.query<Row>(
      `SELECT id, node::text AS node, embedding::text AS emb, NULL AS score FROM ${this.qualifiedTable} WHERE ${where.sql} ORDER BY id`,
      where.params,
      "getNodes",
    );
    const nodes = r.rows.map(toNode);
    if (args.ids === undefined) return nodes;
    // The contract returns nodes in the order the ids were given (the query orders by id).
    const byId = new Map(nodes.map((n) => [n.id, n] as const));
    const out: BaseNode[] = [];
    for (const id of new Set(args.ids)) {
      const n = byId.get(id);
      if (n) out.push(n);
    }
    return out;
  }

  async query(query: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    if (query === null || typeof query !== "object") throw new StorageError("INVALID_ARGUMENT", "query must be an object", { store: STORE });
    const mode = query.mode ?? "default";
    if (!MODES.includes(mode)) throw new StorageError("INVALID_ARGUMENT", `unknown query mode ${JSON.stringify(mode)}`, { store: STORE });
    const topK = checkTopK(query.topK, STORE);
    const needsEmbedding = mode !== "text";
    const needsText = mode === "text" || mode === "hybrid";
    let emb: string | undefined;
    if (needsEmbedding) {
      if (!query.embedding || query.embedding.length === 0) {
        throw new StorageError("INVALID_ARGUMENT", `a ${mode} query needs an embedding`, { store: STORE });
      }
      if (this.dimensions !== undefined && query.embedding.length !== this.dimensions) {
        throw new StorageError("DIMENSION_MISMATCH", `query has ${query.embedding.length} dimensions, the store ${this.dimensions}`, {
          store: STORE,
        });
      }
      emb = vectorLiteral(query.embedding, "query");
    }
    if (needsText && (typeof query.queryStr !== "string" || query.queryStr.trim() === "")) {
      throw new StorageError("INVALID_ARGUMENT", `a ${mode} query needs a non-empty queryStr`, { store: STORE });
    }
    const alpha = query.alpha ?? 0.5;
    if (typeof alpha !== "number" || !(alpha >= 0 && alpha <= 1)) {
      throw new StorageError("INVALID_ARGUMENT", "alpha must be a number in [0, 1]", { store: STORE });
    }
    const lambda = query.mmrThreshold ?? 0.5;
    if (typeof lambda !== "number" || !(lambda >= 0 && lambda <= 1)) {
      throw new StorageError("INVALID_ARGUMENT", "mmrThreshold must be a number in [0, 1]", { store: STORE });
    }
    if (query.similarityCutoff !== undefined && query.similarityCutoff !== null && !Number.isFinite(query.similarityCutoff)) {
      throw new StorageError("INVALID_ARGUMENT", "similarityCutoff must be a finite number", { store: STORE });
    }
    // Compile the filter before any I/O (INVALID_ARGUMENT / UNSUPPORTED surface here).
    const where = this.where({ ids: query.nodeIds, filters: query.filters, docIds: query.docIds }, [], { requireOne: false });
    const layout = await this.existing();
    if (topK === 0 || !layout) return { ids: [], similarities: [], nodes: [] };
    this.checkFold(where, layout);
    if (layout.dims !== (query.embedding?.length ?? layout.dims)) {
      throw new StorageError("DIMENSION_MISMATCH", `query has ${query.embedding!.length} dimensions, the store ${layout.dims}`, {
        store: STORE,
      });
    }

    let scored: { row: Row; score: number }[];
    if (mode === "default") scored = await this.vectorSearch(layout, emb!, where, topK);
    else if (mode === "mmr") {
      const n = Math.max(20, topK * this.candidateMultiplier);
      let cands = await this.vectorSearch(layout, emb!, where, n);
      const cut = query.similarityCutoff;
      if (cut !== undefined && cut !== null) cands = cands.filter((c) => c.score >= cut);
      const picks = mmrSelect(
        this.metric,
        cands.map((c) => Float64Array.from(JSON.parse(c.row.emb) as number[])),
        cands.map((c) => c.score),
        cands.map((c) => c.row.id),
        topK,
        lambda,
      );
      scored = picks.map((i) => cands[i]!);
    } else if (mode === "text") scored = await this.textSearch(where, query.queryStr!, topK);
    else scored = await this.hybridSearch(layout, emb!, where, query.queryStr!, topK, alpha);

    if (mode !== "mmr") scored.sort((a, b) => b.score - a.score || compareByCodePoint(a.row.id, b.row.id));
    const cutoff = query.similarityCutoff;
    if (cutoff !== undefined && cutoff !== null) scored = scored.filter((s) => s.score >= cutoff);
    scored = scored.slice(0, topK);
    return {
      ids: scored.map((s) => s.row.id),
      similarities: scored.map((s) => s.score),
      nodes: scored.map((s) => toNode(s.row)),
    };
  }

  /** `SET LOCAL` for the ANN index in the query's transaction (numbers validated at construction). */
  private annSettings(layout: Layout, k: number): string {
    // The ANN statement is only run to use the index: without fresh statistics (right after a bulk
    // load) the planner may prefer a full scan + sort, hundreds of times slower.
    const parts: string[] = this.index.type === "none" ? [] : ["SET LOCAL enable_seqscan = off"];
    if (this.index.type === "hnsw") {
      parts.push(`SET LOCAL hnsw.ef_search = ${this.efSearch(k)}`);
      if (layout.iterative) parts.push(`SET LOCAL hnsw.iterative_scan = ${this.iterativeScan}`);
    } else if (this.index.type === "ivfflat") {
      parts.push(`SET LOCAL ivfflat.probes = ${this.index.probes ?? 10}`);
      if (layout.iterative) parts.push(`SET LOCAL ivfflat.iterative_scan = relaxed_order`);
    }
    return parts.join("; ");
  }

  /**
   * The similarity. Cosine with a zero vector (stored or query) is 0, the rule of every store
   * (pgvector's distance is NaN there).
   */
  private scoreSql(layout: Layout, p: string, column = "embedding"): string {
    const d = `(${column} ${layout.op} ${p})`;
    return this.metric === "cosine" ? `COALESCE(NULLIF(1 - ${d}, 'NaN'::float8), 0)` : `(-${d})`;
  }

  /**
   * Exact ranking key (ascending = best first), consistent with {@link scoreSql}: a zero vector's
   * cosine distance is 1. Index scans order by the bare operator instead (pgvector leaves zero
   * vectors out of cosine indexes; see {@link vectorSearch}).
   */
  private exactOrderSql(layout: Layout, p: string, column = "embedding"): string {
    const d = `(${column} ${layout.op} ${p})`;
    return this.metric === "cosine" ? `COALESCE(NULLIF(${d}, 'NaN'::float8), 1)` : d;
  }

  /**
   * Whether an index scan's answer (k + 1 rows asked) must be settled by an exact scan: fewer than
   * k rows (the scan may stop early); the k-th and (k+1)-th similarities equal (ties go to the
   * smaller id, which the index does not order by); or, for cosine, a k-th similarity <= 0 (zero
   * vectors score 0 but pgvector leaves them out of cosine indexes, so they may belong in the answer).
   */
  private needsExact(rows: readonly Row[], k: number): boolean {
    if (this.index.type === "none") return false;
    if (rows.length < k) return true;
    if (k === 0) return false;
    const kth = Number(rows[k - 1]!.score);
    if (rows.length > k && Number(rows[k]!.score) === kth) return true;
    return this.metric === "cosine" && !(kth > 0);
  }

  /**
   * The best `k` rows (possibly one more: the caller sorts and cuts). An index scan fetches k + 1
   * rows so that a tie at the k-th place is seen; {@link needsExact} then settles it exactly.
   */
  private async vectorSearch(layout: Layout, emb: string, where: Where, k: number): Promise<{ row: Row; score: number }[]> {
    const indexed = this.index.type !== "none";
    const fetch = indexed ? k + 1 : k;
    const params = [...where.params, emb, fetch];
    const qp = `$${where.params.length + 1}::${layout.vtype}`;
    const exactScanSql = this.exactTop(layout, qp, `(SELECT id, node, embedding FROM ${this.qualifiedTable} WHERE ${where.sql}) AS m`, `$${where.params.length + 2}`);
    const sql = !indexed ? exactScanSql : this.annSelect(layout, qp, where.sql, `$${where.params.length + 2}`, this.efSearch(fetch));
    const settings = this.annSettings(layout, fetch);
    if (where.params.length === 0 && where.sql === "TRUE") {
      // Unrestricted: one round trip. A multi-statement simple query runs as one implicit
      // transaction, so SET LOCAL applies to the SELECT only (and an error rolls it all back).
      // Only numbers are inlined: the vector literal is built from finite numbers, k is an integer.
      const lit = `'${emb}'::${layout.vtype}`;
      const exact = this.exactTop(layout, lit, this.qualifiedTable, String(Math.trunc(fetch)));
      const run = async (prefix: string, select: string) => {
        const res = (await this.db.query(prefix ? `${prefix}; ${select}` : select, [], "query")) as unknown;
        const last = Array.isArray(res) ? (res[res.length - 1] as { rows: Row[] }) : (res as { rows: Row[] });
        return last.rows;
      };
      let rows = await run(settings, indexed ? this.annSelect(layout, lit, "TRUE", String(Math.trunc(fetch)), this.efSearch(fetch)) : exact);
      if (this.needsExact(rows, k)) {
        // See below: an ANN scan can stop early or miss zero vectors; an exact scan settles it.
        rows = await run("SET LOCAL enable_indexscan = off", exact);
      }
      return rows.map((row) => ({ row, score: Number(row.score) }));
    }
    const cap = where.sql !== "TRUE" && this.index.type !== "none" ? this.exactSearchThreshold : 0;
    const exactSql = `WITH m AS MATERIALIZED (SELECT id, embedding FROM ${this.qualifiedTable} WHERE ${where.sql} LIMIT $${where.params.length + 3}),
        c AS (SELECT count(*) AS n FROM m),
        top AS (SELECT id FROM m ORDER BY ${this.exactOrderSql(layout, qp)}, id LIMIT $${where.params.length + 2})
      SELECT t.id, t.node::text AS node, t.embedding::text AS emb, ${this.scoreSql(layout, qp, "t.embedding")} AS score, c.n
        FROM top JOIN ${this.qualifiedTable} t ON t.id = top.id CROSS JOIN c`;
    // Unrestricted queries send the settings with BEGIN (one round trip fewer).
    const begin = cap === 0 && settings ? `BEGIN; ${settings}` : "BEGIN";
    const rows = await this.db.tx(async (q) => {
      if (cap > 0) {
        // Selective restriction: fewer than `cap` rows match, so rank them all exactly.
        const r = (await q.query(exactSql, [...params, cap])).rows as (Row & { n: string })[];
        if (r.length === 0 || Number(r[0]!.n) < cap) return r;
        if (settings) await q.query(settings);
      }
      let r = (await q.query(sql, params)).rows as Row[];
      if (this.needsExact(r, k)) {
        // The ANN scan may stop early (max_scan_tuples, IVF probes, pgvector < 0.8): an exact scan
        // tells whether more rows match; a tie at the k-th place is decided by id; and a cosine
        // index holds no zero vectors (similarity 0). Only paid when fewer than k rows came back,
        // the k-th and (k+1)-th similarities are equal, or (cosine) the k-th is not positive.
        await q.query("SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on");
        r = (await q.query(exactScanSql, params)).rows as Row[];
      }
      return r;
    }, "query", begin);
    return rows.map((row) => ({ row, score: Number(row.score) }));
  }

  private tsQuerySql(p: string): string {
    // OR of the query's lexemes (normalized by the column's configuration), built as a tsquery
    // literal so user text is never parsed as tsquery syntax.
    return `(SELECT string_agg('''' || replace(replace(l, '\\', '\\\\'), '''', '''''') || '''', ' | ')
               FROM unnest(tsvector_to_array(to_tsvector('${this.tsConfig}'::regconfig, ${p}))) AS l)::tsquery`;
  }

  private async textSearch(where: Where, queryStr: string, k: number): Promise<{ row: Row; score: number }[]> {
    const p = `$${where.params.length + 1}::text`;
    const r = await this.db.query<Row>(
      `WITH q AS (SELECT ${this.tsQuerySql(p)} AS tsq)
       SELECT id, node::text AS node, embedding::text AS emb, score FROM (
         SELECT id, node, embedding, ts_rank_cd(text_search, q.tsq) AS score
           FROM ${this.qualifiedTable}, q WHERE ${where.sql} AND text_search @@ q.tsq
          ORDER BY score DESC, id LIMIT $${where.params.length + 2}) AS top
        ORDER BY score DESC, id`,
      [...where.params, searchableText(queryStr), k],
      "query",
    );
    return r.rows.map((row) => ({ row, score: Number(row.score) }));
  }

  private async hybridSearch(
    layout: Layout,
    emb: string,
    where: Where,
    queryStr: string,
    k: number,
    alpha: number,
  ): Promise<{ row: Row; score: number }[]> {
    const n = Math.max(20, k * this.candidateMultiplier);
    const base = where.params.length;
    const qp = `$${base + 1}::${layout.vtype}`;
    const tp = `$${base + 2}::text`;
    const sql = `WITH q AS (SELECT ${this.tsQuerySql(tp)} AS tsq),
        v AS (${
          layout.ann === "halfvec"
            ? `SELECT id FROM (SELECT id, embedding FROM ${this.qualifiedTable} WHERE ${where.sql} ORDER BY ${this.annOrderSql(layout, qp)}
                 LIMIT ${this.efSearch(n)}) AS cand ORDER BY ${this.exactOrderSql(layout, qp)}, id LIMIT $${base + 3}`
            : `SELECT id FROM ${this.qualifiedTable} WHERE ${where.sql} ORDER BY ${this.annOrderSql(layout, qp)} LIMIT $${base + 3}`
        }),
        s AS (SELECT id FROM ${this.qualifiedTable}, q WHERE ${where.sql} AND text_search @@ q.tsq
               ORDER BY ts_rank_cd(text_search, q.tsq) DESC, id LIMIT $${base + 3})
      SELECT t.id, t.node::text AS node, t.embedding::text AS emb, ${this.scoreSql(layout, qp, "t.embedding")} AS score,
             CASE WHEN t.text_search @@ q.tsq THEN ts_rank_cd(t.text_search, q.tsq) ELSE 0 END AS tscore
        FROM ${this.qualifiedTable} t, q WHERE t.id IN (SELECT id FROM v UNION SELECT id FROM s)`;
    const settings = this.annSettings(layout, n);
    const rows = await this.db.tx(async (qq) => {
      if (settings) await qq.query(settings);
      return (await qq.query(sql, [...where.params, emb, searchableText(queryStr), n])).rows as Row[];
    }, "query");
    const cands = rows.map((row) => ({ row, v: Number(row.score), t: Number(row.tscore ?? 0) }));
    if (this.fusion === "rrf") {
      const rank = (key: "v" | "t") => {
        const order = [...cands].filter((c) => key === "v" || c.t > 0).sort((a, b) => b[key] - a[key] || compareByCodePoint(a.row.id, b.row.id));
        return new Map(order.map((c, i) => [c.row.id, i + 1]));
      };
      const rv = rank("v");
      const rt = rank("t");
      return cands.map((c) => {
        const a = rv.get(c.row.id);
        const b = rt.get(c.row.id);
        const score = (a ? alpha / (60 + a) : 0) + (b ? (1 - alpha) / (60 + b) : 0);
        return { row: c.row, score };
      });
    }
    const maxT = Math.max(0, ...cands.map((c) => c.t));
    return cands.map((c) => ({ row: c.row, score: alpha * c.v + (1 - alpha) * (maxT > 0 ? c.t / maxT : 0) }));
  }

  // ------------------------------------------------------------------------------------------

  /** WHERE clause for ids / ref doc ids / filters; `TRUE` when none. */
  private where(
    args: { ids?: readonly string[] | undefined; filters?: MetadataFilters | undefined; docIds?: readonly string[] | undefined },
    params: unknown[],
    opts: { requireOne: boolean },
  ): Where {
    const parts: string[] = [];
    if (args.ids !== undefined && args.ids !== null) {
      if (!Array.isArray(args.ids) || args.ids.some((x) => typeof x !== "string")) {
        throw new StorageError("INVALID_ARGUMENT", "ids must be an array of strings", { store: STORE });
      }
      params.push(args.ids.filter(storable));
      parts.push(`id = ANY($${params.length}::text[])`);
    }
    if (args.docIds !== undefined && args.docIds !== null) {
      if (!Array.isArray(args.docIds) || args.docIds.some((x) => typeof x !== "string")) {
        throw new StorageError("INVALID_ARGUMENT", "docIds must be an array of strings", { store: STORE });
      }
      params.push(args.docIds.filter(storable));
      parts.push(`ref_doc_id = ANY($${params.length}::text[])`);
    }
    let tree: MetadataFilters | undefined;
    let fold = false;
    if (args.filters !== undefined && args.filters !== null) {
      const f = compileFilters(args.filters, { metadata: "metadata", metadataFolded: "metadata_folded" }, params.length, STORE)!;
      params.push(...f.params);
      parts.push(f.sql);
      tree = f.tree;
      fold = filterOperatorsUsed(f.tree).has("text_match_insensitive");
    }
    if (opts.requireOne) assertDeleteTarget(args.ids, tree, STORE);
    return { sql: parts.length ? parts.join(" AND ") : "TRUE", params, fold };
  }

  /**
   * `text_match_insensitive` reads `metadata_folded`, which must hold core's fold table: a table
   * folded with another one (or before versions were recorded) is refused until re-folded.
   */
  private checkFold(where: Where, layout: Layout): void {
    if (where.fold && layout.foldVersion !== CASE_FOLD_VERSION) {
      throw new StorageError(
        "UNSUPPORTED",
        `text_match_insensitive: table ${this.qualifiedTable} holds metadata folded with ${layout.foldVersion ?? "an unrecorded case-fold table"}, ` +
          `not ${CASE_FOLD_VERSION}; run refoldMetadata() once (see the README, "Case fold")`,
        { store: STORE },
      );
    }
  }

  /**
   * Re-folds `metadata_folded` of every row with core's case-fold table and records its version
   * (the column comment): the migration to run once after upgrading `@larder/core` to a version
   * whose `CASE_FOLD_VERSION` differs from the table's. Run it after every writer is upgraded
   * (writers fold with their own core). Rows are processed in id order, 1,000 per statement.
   * Returns the number of rows whose folded column changed.
   */
  async refoldMetadata(): Promise<number> {
    const layout = await this.existing();
    if (!layout) return 0;
    let after = "";
    let changed = 0;
    for (;;) {
      const r = await this.db.query<{ id: string; metadata: Record<string, unknown>; folded: Record<string, unknown> | null }>(
        `SELECT id, metadata, metadata_folded AS folded FROM ${this.qualifiedTable} WHERE id > $1 ORDER BY id LIMIT 1000`,
        [after],
        "refoldMetadata",
      );
      if (r.rows.length === 0) break;
      const ids: string[] = [];
      const values: (string | null)[] = [];
      for (const row of r.rows) {
        const f = foldedMetadata(row.metadata);
        if (JSON.stringify(f) !== JSON.stringify(row.folded)) {
          ids.push(row.id);
          values.push(f ? JSON.stringify(f) : null);
        }
      }
      if (ids.length > 0) {
        await this.db.query(
          `UPDATE ${this.qualifiedTable} AS t SET metadata_folded = u.f::jsonb FROM unnest($1::text[], $2::text[]) AS u(id, f) WHERE t.id = u.id`,
          [ids, values],
          "refoldMetadata",
        );
        changed += ids.length;
      }
      after = r.rows[r.rows.length - 1]!.id;
    }
    await this.db.query(`COMMENT ON COLUMN ${this.qualifiedTable}.metadata_folded IS ${foldComment(CASE_FOLD_VERSION)}`, [], "refoldMetadata");
    layout.foldVersion = CASE_FOLD_VERSION;
    return changed;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** One row of an `add`, encoded. */
interface AddRow {
  ref: string | null;
  emb: readonly number[] | Float32Array;
  meta: string;
  folded: string | null;
  node: string;
  text: string;
}

/** An `add` checked and encoded, ready to write (last occurrence of a repeated id wins). */
interface PreparedAdd {
  ids: string[];
  rows: [string, AddRow][];
  layout: Layout | undefined;
}

interface Where {
  sql: string;
  params: unknown[];
  /** The filter uses `text_match_insensitive` (reads `metadata_folded`). */
  fold?: boolean;
}

async function vectorExtension(q: Queryable): Promise<{ schema: string; iterative: boolean; halfvec: boolean }> {
  let r = await q.query(`SELECT n.nspname AS schema, e.extversion AS version FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`);
  if (r.rows.length === 0) {
    try {
      await q.query("SAVEPOINT larder_ext");
      await q.query("CREATE EXTENSION IF NOT EXISTS vector");
      await q.query("RELEASE SAVEPOINT larder_ext");
    } catch (cause) {
      throw new StorageError(
        "UNSUPPORTED",
        `the pgvector extension is not installed in this database and could not be created (${(cause as Error).message}); ` +
          "install pgvector >= 0.5 and run CREATE EXTENSION vector as a privileged user",
        { store: STORE, cause },
      );
    }
    r = await q.query(`SELECT n.nspname AS schema, e.extversion AS version FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`);
  }
  const row = r.rows[0] as { schema: string; version: string };
  const [major = 0, minor = 0] = row.version.split(".").map(Number);
  return { schema: quoteIdentifier(row.schema, "extension schema", STORE), iterative: major > 0 || minor >= 8, halfvec: major > 0 || minor >= 7 };
}

function opFor(metric: DistanceMetric): string {
  return metric === "cosine" ? "<=>" : metric === "dot" ? "<#>" : "<->";
}

function toNode(row: Row): BaseNode {
  const node = jsonToNode(JSON.parse(row.node));
  node.embedding = JSON.parse(row.emb) as number[];
  return node;
}

function checkMemory(mem: string | undefined): string | undefined {
  if (mem !== undefined && !/^[0-9]+\s*(kB|MB|GB)$/.test(mem)) {
    throw new StorageError("INVALID_ARGUMENT", 'maintenanceWorkMem must look like "512MB" or "2GB"', { store: STORE });
  }
  return mem;
}

function checkFinite(v: readonly number[] | Float32Array, what: string): void {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new StorageError("INVALID_ARGUMENT", `embedding of ${JSON.stringify(what)} has a non-finite value at ${i}`, { store: STORE });
    }
  }
}

function vectorLiteral(v: readonly number[] | Float32Array, what: string): string {
  let s = "[";
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new StorageError("INVALID_ARGUMENT", `embedding of ${what} has a non-finite value at ${i}`, { store: STORE });
    }
    if (i) s += ",";
    s += x;
  }
  return s + "]";
}

/**
 * Postgres' own refusal on top of core's JSON rule: JSONB cannot hold U+0000, and a lone surrogate
 * has no UTF-8 form (filters must see the exact value). Checked on the actual strings (keys and
 * values), so text such as a backslash followed by `u0000` is an ordinary string.
 */
function unstorableInJsonb(s: string): string | undefined {
  if (s.includes("\u0000")) return "contains U+0000, which Postgres JSONB cannot store";
  if (!isWellFormedUtf16(s)) return "contains a lone surrogate, which Postgres JSONB cannot store";
  return undefined;
}

/** Metadata as stored: core's JSON rule (refused, never changed) plus {@link unstorableInJsonb}. */
function metadataJson(node: BaseNode, id: string): string {
  assertNodeMetadata({ id, metadata: node.metadata }, STORE, { refuseString: unstorableInJsonb });
  return node.metadata === null || node.metadata === undefined ? "{}" : JSON.stringify(node.metadata);
}

/** Text for the full-text column: Postgres text cannot hold NUL, lone surrogates would become U+FFFD anyway. */
function searchableText(text: unknown): string {
  if (typeof text !== "string") return "";
  return isWellFormedUtf16(text) && !text.includes("\u0000") ? text : text.replace(/\u0000/g, " ").replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

function storable(s: string): boolean {
  return s !== "" && !s.includes("\u0000") && isWellFormedUtf16(s);
}

function dimensions(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 16000) {
    throw new StorageError("INVALID_ARGUMENT", "dimensions must be an integer in 1..16000", { store: STORE });
  }
  return n;
}

function positiveInt(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new StorageError("INVALID_ARGUMENT", `${what} must be a positive integer`, { store: STORE });
  return n;
}

function checkIndex(index: PostgresVectorIndex): void {
  const int = (v: unknown, what: string, lo: number, hi: number) => {
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi)) {
      throw new StorageError("INVALID_ARGUMENT", `${what} must be an integer in ${lo}..${hi}`, { store: STORE });
    }
  };
  if (index.type === "hnsw") {
    int(index.m, "index.m", 2, 100);
    int(index.efConstruction, "index.efConstruction", 4, 1000);
    int(index.efSearch, "index.efSearch", 1, 1000);
    if (index.quantization !== undefined && index.quantization !== "halfvec" && index.quantization !== "none") {
      throw new StorageError("INVALID_ARGUMENT", 'index.quantization must be "halfvec" or "none"', { store: STORE });
    }
  } else if (index.type === "ivfflat") {
    int(index.lists, "index.lists", 1, 32768);
    int(index.probes, "index.probes", 1, 32768);
  } else if (index.type !== "none") {
    throw new StorageError("INVALID_ARGUMENT", "index.type must be hnsw, ivfflat or none", { store: STORE });
  }
}
