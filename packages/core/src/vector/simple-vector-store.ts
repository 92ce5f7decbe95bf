import { StorageError } from "../errors.js";
import { compareByCodePoint, evaluateValidatedFilters } from "../filters/evaluate.js";
import { FILTER_OPERATORS, type MetadataFilters } from "../filters/types.js";
import { validateFilters } from "../filters/validate.js";
import { Document, ImageNode, IndexNode, jsonToNode, NodeRelationship, TextNode, textNodeJsonText, type BaseNode, type BaseNodeInit, type Metadata, type NodeJson, type Relationships } from "../schema/node.js";
import { cloneJson } from "./clone-json.js";
import { checkEmbedding, QUANTIZE_MIN_ROWS, selectTopK, VectorMatrix, type KernelKind } from "./kernel.js";
import { MetadataIndex } from "./metadata-index.js";
import { TextIndex } from "./text-index.js";
import { assertDeleteTarget, assertNodeMetadata, checkTopK, nodeLabel } from "./validate.js";
import type {
  DistanceMetric,
  VectorStore,
  VectorStoreCapabilities,
  VectorStoreQuery,
  VectorStoreQueryResult,
} from "./types.js";

const STORE = "SimpleVectorStore";

/** See {@link SimpleVectorStore.lastScan}. */
export interface QueryScanStats {
  rows: number;
  quantized: boolean;
  rescored: number;
  /** The quantized pass read a packed copy of a filter's rows (the filter came back unchanged). */
  packed: boolean;
}

export interface SimpleVectorStoreOptions {
  /** Default "cosine" (LlamaIndex's). */
  metric?: DistanceMetric;
  /** Fix the dimension up front; by default the first vector added sets it (until `clear()`). */
  dim?: number;
  /** "auto" (default): WebAssembly SIMD when available, else the JavaScript kernel. */
  kernel?: "auto" | KernelKind;
  /**
   * "int8" (default): past {@link QUANTIZE_MIN_ROWS} rows, keep an int8 copy of the vectors and
   * answer similarity queries with a quantized first pass plus an exact float32 rescoring of the
   * rows it cannot rule out (results identical to the full scan; cosine and dot metrics).
   * "off": always scan every float32 row.
   */
  scan?: "int8" | "off";
}

/**
 * The in-memory snapshot the persistence layer writes (Larder format): rows in store order.
 * `vectors` holds `ids.length * dim` float32 values, packed without padding; `nodes[i]` is the
 * LlamaIndex JSON (`{"__data__":...,"__type__":...}`) of row i with `embedding: null`.
 */
export interface SimpleVectorStoreSnapshot {
  version: 1;
  /** `null` for a store that never held a vector and had no `dim` option. */
  dim: number | null;
  metric: DistanceMetric;
  ids: string[];
  vectors: Float32Array;
  nodes: string[];
}

/** A snapshot read back from a checksum-verified file: rows may be the file's UTF-8 bytes. */
export type TrustedSnapshot = Omit<SimpleVectorStoreSnapshot, "nodes"> & { nodes: readonly (string | Uint8Array)[] };

/** Rows for the persistence layer ({@link SimpleVectorStore.snapshotRows}). */
export interface PersistedRows {
  dim: number | null;
  metric: DistanceMetric;
  ids: string[];
  /** `ids.length * dim` floats. */
  vectors: Float32Array;
  /** Node JSON of row `i` as text or UTF-8 bytes (embedding null; never contains a raw newline). */
  node(i: number): string | Uint8Array;
}

/** LlamaIndex's `{namespace}__vector_store.json` (`SimpleVectorStoreData.to_dict()`). */
export interface LlamaIndexVectorStoreDict {
  embedding_dict: Record<string, number[]>;
  text_id_to_ref_doc_id: Record<string, string>;
  metadata_dict?: Record<string, Record<string, unknown>>;
}

/**
 * The node class of a `metadata_dict` entry's `_node_type` (Python's `class_name()`). Python's
 * `ImageDocument` has no class of its own here: it loads as an `ImageNode`.
 */
const NODE_CLASSES: Readonly<Record<string, new (init: BaseNodeInit) => BaseNode>> = {
  TextNode,
  Document,
  ImageNode,
  ImageDocument: ImageNode,
  IndexNode,
};

/** Keys LlamaIndex adds to `metadata_dict` entries (node_to_metadata_dict); not user metadata. */
const LI_RESERVED = ["_node_content", "_node_type", "document_id", "doc_id", "ref_doc_id"] as const;

/**
 * A stored node (never holding its embedding): a plain `TextNode` (what ingestion produces) is just
 * its text, other `TextNode`s the constructor fields that differ from the defaults, other classes
 * their LlamaIndex JSON. Ids, metadata and ref docs live in per-row arrays. This is several times
 * cheaper per add than building LlamaIndex JSON for every node.
 */
type StoredNode = string | BaseNodeInit | NodeJson | RawNode;

/**
 * A row loaded from a checksum-verified Larder file, kept as the node JSON it was read as (text, or
 * the file's UTF-8 bytes, not decoded at load): loading keeps no object tree per node, metadata is
 * extracted on first use, and the next persist writes the row back as is. It becomes a node only
 * when a query or getNodes returns it.
 */
class RawNode {
  constructor(readonly raw: string | Uint8Array) {}
  get json(): string {
    return typeof this.raw === "string" ? this.raw : utf8(this.raw);
  }
  parse(): NodeJson {
    return JSON.parse(this.json) as NodeJson;
  }
}

const utf8 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");

/** The start of every TextNode-family row: `{"__data__":{"id_":` then the id's JSON and a comma. */
const ROW_HEAD = '{"__data__":{"id_":';

/** Whether the row JSON `raw` (text or UTF-8 bytes) is the row of `id`, without decoding it. */
function rowIsFor(raw: string | Uint8Array, id: string): boolean {
  if (typeof raw === "string") return raw.startsWith(`${ROW_HEAD}${JSON.stringify(id)},`);
  const n = ROW_HEAD.length;
  if (raw.length < n + id.length + 3) return false;
  for (let i = 0; i < n; i++) if (raw[i] !== ROW_HEAD.charCodeAt(i)) return false;
  // An id of printable ASCII without quote or backslash is its own JSON between quotes.
  if (raw[n] !== 34) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 34 || c === 92) {
      const prefix = `${ROW_HEAD}${JSON.stringify(id)},`;
      return utf8(raw.subarray(0, Math.min(raw.length, prefix.length * 3))).startsWith(prefix);
    }
    if (raw[n + 1 + i] !== c) return false;
  }
  return raw[n + 1 + id.length] === 34 && raw[n + 2 + id.length] === 44;
}

const isJson = (s: StoredNode): s is NodeJson => typeof s === "object" && !(s instanceof RawNode) && "__type__" in s;

/**
 * The init of a TextNode stored as an object or as a bare string (its text: a plain node whose
 * other fields are all defaults). A bare SOURCE `{nodeId}` relationship is not stored either: the
 * ref doc id kept per row restores it. The result is a fresh deep copy.
 */
function initOf(s: string | BaseNodeInit, id: string, metadata: Metadata, ref: string | undefined): BaseNodeInit {
  const init = typeof s === "string" ? { id, text: s, metadata: cloneJson(metadata) as Metadata } : (cloneJson(s) as BaseNodeInit);
  if ((typeof s === "string" || s.relationships === undefined) && ref !== undefined) {
    init.relationships = { [NodeRelationship.SOURCE]: { nodeId: ref } };
  }
  return init;
}

function storedToNode(s: StoredNode, id: string, metadata: Metadata, ref: string | undefined): BaseNode {
  if (s instanceof RawNode) return jsonToNode(s.parse());
  return isJson(s) ? jsonToNode(cloneJson(s)) : new TextNode(initOf(s, id, metadata, ref));
}

function storedToJson(s: Exclude<StoredNode, RawNode>, id: string, metadata: Metadata, ref: string | undefined): NodeJson {
  if (isJson(s)) return s;
  const json = new TextNode(initOf(s, id, metadata, ref)).toJSON();
  json.__data__["embedding"] = null;
  return json;
}

/**
 * The row's node JSON text (what the Larder format stores per row). Serialising needs no copy of
 * the stored fields (the node built here only lends them to `toJSON`, which copies what it changes).
 */
function storedToLine(s: StoredNode, id: string, metadata: Metadata, ref: string | undefined): string | Uint8Array {
  if (s instanceof RawNode) return s.raw;
  if (typeof s === "string") return textNodeJsonText({ id, text: s, metadata }, { ref, nullEmbedding: true });
  if (isJson(s)) return JSON.stringify(s);
  if (s.extra === undefined || !hasKeys(s.extra)) return textNodeJsonText(s, { ref, nullEmbedding: true });
  // Extra fields take the ordinary path (their keys may shadow or reorder the known ones).
  const init: BaseNodeInit = { ...s };
  if (s.relationships === undefined && ref !== undefined) init.relationships = { [NodeRelationship.SOURCE]: { nodeId: ref } };
  delete init.embedding;
  return JSON.stringify(new TextNode(init).toJSON());
}


function storedText(s: StoredNode): string {
  if (typeof s === "string") return s;
  const t = s instanceof RawNode ? s.parse().__data__["text"] : isJson(s) ? s.__data__["text"] : s.text;
  return typeof t === "string" ? t : "";
}

const MODES = ["default", "mmr", "text", "hybrid"] as const;

/**
 * LlamaIndex's in-memory vector store, rebuilt for speed and exactness:
 *
 * - vectors in one contiguous float32 buffer (a {@link VectorMatrix}), scored by a WebAssembly
 *   SIMD kernel; deletes swap the last row into the hole, so a scan never skips anything;
 * - an inverted index on metadata (key, value) narrows equality/`in`/`contains`/`any`/`all`
 *   filters before the scan; every candidate is then checked by the reference evaluator;
 * - exact top-k with a bounded heap and a total order (score desc, id asc);
 * - stores the whole node (`storesText: true`), so query results carry nodes.
 */
export class SimpleVectorStore implements VectorStore {
  readonly storesText = true;
  readonly capabilities: VectorStoreCapabilities;
  readonly metric: DistanceMetric;
  private readonly fixedDim: number | undefined;
  private readonly kernelOption: "auto" | KernelKind;
  private readonly quantize: boolean;
  private matrix: VectorMatrix | undefined;
  private ids: string[] = [];
  private idToRow = new Map<string, number>();
  /** The node of each row without its embedding, owned by the store (deep copies). */
  private jsons: StoredNode[] = [];
  private metas: Metadata[] = [];
  private refs: (string | undefined)[] = [];
  /** Rows of each ref doc (small arrays: a doc has a handful of chunks; cheaper than Sets). */
  private refRows = new Map<string, number[]>();
  private index = new MetadataIndex(() => this.metas);
  /** BM25 index, built by the first text/hybrid query. */
  private text: TextIndex | undefined;
  /**
   * Change tracking for incremental persists: a mutation counter, the counter value of each row's
   * last write, and the ids deleted since (an id leaves the log when it is added again). Before
   * `resetAt` (a `clear()`, or a log that grew past the store's size) changes cannot be listed.
   */
  #version = 0;
  private vers: number[] = [];
  #deletedAt = new Map<string, number>();
  #resetAt = 0;

  constructor(options: SimpleVectorStoreOptions = {}) {
    const metric = options.metric ?? "cosine";
    if (metric !== "cosine" && metric !== "dot" && metric !== "euclidean") {
      throw new StorageError("INVALID_ARGUMENT", `unknown metric ${JSON.stringify(metric)}`, { store: STORE });
    }
    if (options.dim !== undefined && (!Number.isInteger(options.dim) || options.dim <= 0)) {
      throw new StorageError("INVALID_ARGUMENT", `dim must be a positive integer, got ${options.dim}`, { store: STORE });
    }
    this.metric = metric;
    this.fixedDim = options.dim;
    this.kernelOption = options.kernel ?? "auto";
    const scan = options.scan ?? "int8";
    if (scan !== "int8" && scan !== "off") throw new StorageError("INVALID_ARGUMENT", `scan must be "int8" or "off", got ${JSON.stringify(scan)}`, { store: STORE });
    this.quantize = scan === "int8";
    this.capabilities = Object.freeze({
      modes: MODES,
      metrics: Object.freeze([metric]),
      filterOperators: FILTER_OPERATORS,
      nestedFilters: true,
    });
  }

  /** The dimension of the stored vectors (undefined until the first add, unless fixed). */
  get dim(): number | undefined {
    return this.matrix?.dim ?? this.fixedDim;
  }

  /** Number of stored nodes. */
  get size(): number {
    return this.ids.length;
  }

  #lastScan: QueryScanStats | undefined;
  /** Ascending rows of a candidate set (see {@link allowedRows}), valid for the version they were made at. */
  #sortedRows = new WeakMap<ReadonlySet<number>, { version: number; rows: Int32Array }>();

  /**
   * How the last `default`/`mmr` query was answered: rows considered, whether the int8 first pass
   * ran, and how many rows were scored exactly in float32 (every row when it did not run).
   */
  get lastScan(): QueryScanStats | undefined {
    return this.#lastScan;
  }

  /** Bytes held by the int8 copy of the vectors (0 when there is none). */
  get quantizedBytes(): number {
    return this.matrix?.quantizedByteLength ?? 0;
  }

  /** Which kernel scores queries ("wasm" = WebAssembly SIMD). */
  get kernel(): KernelKind | undefined {
    return this.matrix?.kernel;
  }

  private ensureMatrix(dim: number): VectorMatrix {
    if (!this.matrix) this.matrix = new VectorMatrix({ dim, metric: this.metric, kernel: this.kernelOption, quantize: this.quantize });
    return this.matrix;
  }

  // ----------------------------------------------------------------------------------- writes

  async add(nodes: readonly BaseNode[]): Promise<string[]> {
    if (!Array.isArray(nodes)) throw new StorageError("INVALID_ARGUMENT", "add() takes an array of nodes", { store: STORE });
    return this.addAll(nodes);
  }

  /**
   * Validates the whole batch and stages it, then commits: a bad node refuses the batch and
   * nothing stored changes. Vectors are checked while being copied into the reserved rows past
   * the end of the matrix (one pass over the floats); new rows become live by bumping the row
   * count, upserts are copied over their rows at commit.
   */
  private addAll(nodes: readonly BaseNode[]): string[] {
    if (nodes.length === 0) return [];
    this.#materialize();
    let dim = this.dim;
    if (dim === undefined) {
      const first = nodes[0];
      const e: unknown = first && typeof first === "object" ? first.embedding : undefined;
      checkEmbedding(e, undefined, "nodes[0]", STORE);
      dim = e.length;
    }
    const created = this.matrix === undefined;
    const matrix = this.ensureMatrix(dim!);
    const ids: string[] = new Array(nodes.length);
    /** Per node: the live row an upsert replaces, NEW (its id entered into idToRow by this batch, removed again on failure) or UNSEEN. */
    const target = new Int32Array(nodes.length).fill(UNSEEN);
    try {
      matrix.reserve(matrix.size + nodes.length);
      const base = matrix.size;
      const prepared: StoredNode[] = new Array(nodes.length);
      const metadatas: Metadata[] = new Array(nodes.length);
      /** Staged row of each node: new ids from `base` up, upserts from the far end down. */
      const staged = new Int32Array(nodes.length);
      let fresh = 0;
      let upserts = 0;
      for (let i = 0; i < nodes.length; i++) {
        const node = nodes[i];
        if (!node || typeof node !== "object" || typeof (node as BaseNode).toJSON !== "function") {
          throw new StorageError("INVALID_ARGUMENT", `nodes[${i}] is not a node`, { store: STORE });
        }
        const id = node.id;
        if (typeof id !== "string" || id.length === 0) {
          throw new StorageError("INVALID_ARGUMENT", `nodes[${i}] has an empty or non-string id`, { store: STORE });
        }
        const emb: unknown = node.embedding;
        const isArr = Array.isArray(emb) || emb instanceof Float32Array || emb instanceof Float64Array;
        if (!isArr || (emb as ArrayLike<number>).length !== dim) checkEmbedding(emb, dim, nodeLabel(id), STORE);
        const existing = this.idToRow.get(id);
        let row: number;
        ids[i] = id;
        if (existing === undefined) {
          row = base + fresh++;
          this.idToRow.set(id, row);
          target[i] = NEW;
        } else {
          row = base + nodes.length - 1 - upserts++;
          target[i] = existing;
        }
        staged[i] = row;
        if (matrix.write(row, emb as ArrayLike<number>) !== -1) checkEmbedding(emb, dim, nodeLabel(id), STORE);
        prepared[i] = prepare(node, metadatas, i);
      }
      // Commit: nothing below can fail on input.
      matrix.commitAppend(fresh);
      this.#version++;
      for (let i = 0; i < nodes.length; i++) {
        const node = nodes[i]!;
        const t = target[i]!;
        if (t === NEW) this.append(staged[i]!, ids[i]!, prepared[i]!, metadatas[i]!, node.refDocId);
        else {
          matrix.copyRow(staged[i]!, t);
          this.replace(t, prepared[i]!, metadatas[i]!, node.refDocId);
        }
      }
      return ids;
    } catch (e) {
      for (let i = 0; i < nodes.length; i++) if (target[i] === NEW) this.idToRow.delete(ids[i]!);
      if (created) this.matrix = undefined;
      throw e;
    }
  }

  private append(row: number, id: string, stored: StoredNode, metadata: Metadata, refDocId: string | undefined): void {
    // New rows are committed in order, so `row` is always the next index of the row arrays.
    this.ids.push(id);
    this.jsons.push(stored);
    this.metas.push(metadata);
    this.refs.push(refDocId);
    this.vers.push(this.#version);
    if (this.#deletedAt.size !== 0) this.#deletedAt.delete(id);
    // (idToRow already holds `row`: the staging loop entered it.)
    this.index.add(row, metadata);
    this.text?.add(row, storedText(stored));
    this.ref(row);
  }

  private replace(row: number, stored: StoredNode, metadata: Metadata, refDocId: string | undefined): void {
    this.index.remove(row, this.metas[row]!);
    this.text?.remove(row, storedText(this.jsons[row]!));
    this.text?.add(row, storedText(stored));
    this.unref(row);
    this.jsons[row] = stored;
    this.metas[row] = metadata;
    this.refs[row] = refDocId;
    this.vers[row] = this.#version;
    this.index.add(row, metadata);
    this.ref(row);
  }

  private ref(row: number): void {
    const r = this.refs[row];
    if (r === undefined) return;
    const s = this.refRows.get(r);
    if (s) s.push(row);
    else this.refRows.set(r, [row]);
  }

  private unref(row: number): void {
    const r = this.refs[row];
    if (r === undefined) return;
    const s = this.refRows.get(r);
    if (!s) return;
    const i = s.indexOf(row);
    if (i !== -1) {
      s[i] = s[s.length - 1]!;
      s.pop();
    }
    if (s.length === 0) this.refRows.delete(r);
  }

  /** Removes rows (any order, no duplicates needed) by swap-remove, highest row first. */
  private removeRows(rows: Iterable<number>): void {
    this.#materialize();
    const sorted = Int32Array.from(new Set(rows)).sort().reverse();
    const matrix = this.matrix;
    if (!matrix || sorted.length === 0) return;
    const version = ++this.#version;
    for (const row of sorted) {
      this.#deletedAt.set(this.ids[row]!, version);
      this.index.remove(row, this.metas[row]!);
      this.text?.remove(row, storedText(this.jsons[row]!));
      this.unref(row);
      this.idToRow.delete(this.ids[row]!);
      const moved = matrix.swapRemove(row);
      if (moved !== -1) {
        const meta = this.metas[moved]!;
        this.index.move(moved, row, meta);
        this.text?.move(moved, row, storedText(this.jsons[moved]!));
        const ref = this.refs[moved];
        if (ref !== undefined) {
          const s = this.refRows.get(ref)!;
          s[s.indexOf(moved)] = row;
        }
        this.ids[row] = this.ids[moved]!;
        this.jsons[row] = this.jsons[moved]!;
        this.metas[row] = meta;
        this.refs[row] = ref;
        this.vers[row] = this.vers[moved]!;
        this.idToRow.set(this.ids[row], row);
      }
      this.ids.pop();
      this.jsons.pop();
      this.metas.pop();
      this.refs.pop();
      this.vers.pop();
    }
    // Bound the log: past the store's size a full rewrite is as cheap as listing deletions.
    if (this.#deletedAt.size > Math.max(1024, this.ids.length)) {
      this.#deletedAt.clear();
      this.#resetAt = version;
    }
  }

  async delete(refDocId: string): Promise<void> {
    if (typeof refDocId !== "string") throw new StorageError("INVALID_ARGUMENT", "delete() takes a ref doc id string", { store: STORE });
    this.#materialize();
    const rows = this.refRows.get(refDocId);
    if (rows) this.removeRows([...rows]);
  }

  async deleteNodes(args: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<void> {
    const rows = this.selectRows(args, "deleteNodes", true);
    this.removeRows(rows);
  }

  async clear(): Promise<void> {
    this.matrix = undefined;
    this.ids = [];
    this.idToRow = new Map();
    this.jsons = [];
    this.metas = [];
    this.refs = [];
    this.vers = [];
    this.refRows = new Map();
    this.index.clear();
    this.text = undefined;
    this.#deletedAt.clear();
    this.#resetAt = ++this.#version;
    this.#lazy = false;
  }

  // ------------------------------------------------------------------------------------ reads

  /** Rows selected by ids and/or filters (validated before anything happens). */
  private selectRows(args: { ids?: readonly string[]; filters?: MetadataFilters } | undefined, method: string, requireOne: boolean): number[] {
    this.#materialize();
    if (args !== undefined && (typeof args !== "object" || args === null)) {
      throw new StorageError("INVALID_ARGUMENT", `${method}() takes {ids?, filters?}`, { store: STORE });
    }
    const ids = args?.ids;
    const filters = args?.filters;
    if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== "string"))) {
      throw new StorageError("INVALID_ARGUMENT", `${method}(): ids must be an array of strings`, { store: STORE });
    }
    const tree = filters === undefined ? undefined : validateFilters(filters, { store: STORE });
    if (requireOne) assertDeleteTarget(ids, tree, STORE);
    let rows: number[];
    if (ids !== undefined) {
      rows = [];
      const seen = new Set<number>();
      for (const id of ids) {
        const r = this.idToRow.get(id);
        if (r !== undefined && !seen.has(r)) {
          seen.add(r);
          rows.push(r);
        }
      }
    } else if (tree) {
      const cand = this.index.candidates(tree);
      rows = cand ? [...cand.rows].sort((a, b) => a - b) : range(this.ids.length);
    } else {
      rows = range(this.ids.length);
    }
    if (tree && tree.filters.length > 0) rows = rows.filter((r) => evaluateValidatedFilters(this.metas[r], tree));
    return rows;
  }

  async getNodes(args?: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<BaseNode[]> {
    return this.selectRows(args, "getNodes", false).map((r) => this.nodeAt(r));
  }

  private nodeAt(row: number): BaseNode {
    const node = storedToNode(this.jsons[row]!, this.ids[row]!, this.metas[row]!, this.refs[row]);
    node.embedding = this.matrix!.rowArray(row);
    return node;
  }

  async query(q: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    if (typeof q !== "object" || q === null) throw new StorageError("INVALID_ARGUMENT", "query() takes a VectorStoreQuery object", { store: STORE });
    const mode = q.mode ?? "default";
    if (!(MODES as readonly string[]).includes(mode)) {
      throw new StorageError("INVALID_ARGUMENT", `unknown query mode ${JSON.stringify(mode)} (modes: ${MODES.join(", ")})`, { store: STORE });
    }
    const textual = mode === "text" || mode === "hybrid";
    if (textual && typeof q.queryStr !== "string") {
      throw new StorageError("INVALID_ARGUMENT", `query mode "${mode}" needs queryStr`, { store: STORE });
    }
    const alpha = q.alpha ?? 0.5;
    if (typeof alpha !== "number" || !(alpha >= 0 && alpha <= 1)) {
      throw new StorageError("INVALID_ARGUMENT", `alpha must be a number in [0, 1], got ${String(alpha)}`, { store: STORE });
    }
    const topK = checkTopK(q.topK, STORE);
    const cutoff = q.similarityCutoff ?? undefined;
    if (cutoff !== undefined && (typeof cutoff !== "number" || Number.isNaN(cutoff))) {
      throw new StorageError("INVALID_ARGUMENT", `similarityCutoff must be a number, got ${String(cutoff)}`, { store: STORE });
    }
    const lambda = q.mmrThreshold ?? 0.5;
    if (typeof lambda !== "number" || !(lambda >= 0 && lambda <= 1)) {
      throw new StorageError("INVALID_ARGUMENT", `mmrThreshold must be a number in [0, 1], got ${String(lambda)}`, { store: STORE });
    }
    for (const [name, list] of [["nodeIds", q.nodeIds], ["docIds", q.docIds]] as const) {
      if (list !== undefined && list !== null && (!Array.isArray(list) || list.some((x) => typeof x !== "string"))) {
        throw new StorageError("INVALID_ARGUMENT", `${name} must be an array of strings`, { store: STORE });
      }
    }
    const tree = q.filters === undefined || q.filters === null ? undefined : validateFilters(q.filters, { store: STORE });
    const embedding = q.embedding;
    if (mode !== "text") checkEmbedding(embedding, this.dim, "the query", STORE);
    const matrix = this.matrix;
    if (!matrix || this.ids.length === 0 || topK === 0) return { ids: [], similarities: [], nodes: [] };

    const allowed = this.allowedRows(q.nodeIds ?? undefined, q.docIds ?? undefined, tree);
    const ids = this.ids;
    if (mode === "text") return this.textQuery(q.queryStr!, allowed, topK, cutoff);
    if (mode === "hybrid") return this.hybridQuery(matrix, embedding!, q.queryStr!, alpha, allowed, topK, cutoff);
    let picked: number[];
    let sims: Float32Array;
    let rowOf: (i: number) => number;
    const cand = mode === "default" ? matrix.candidates(embedding!, allowed, topK) : undefined;
    const scanned = allowed === null ? ids.length : allowed.length;
    this.#lastScan = cand
      ? { rows: scanned, quantized: true, rescored: cand.length, packed: matrix.lastScanPacked }
      : { rows: scanned, quantized: false, rescored: scanned, packed: false };
    if (cand) {
      // The quantized pass kept every row that can be in the exact top k: score those exactly.
      sims = matrix.scoreRows(embedding!, cand);
      rowOf = (i) => cand[i]!;
    } else if (allowed === null) {
      sims = matrix.scoreAll(embedding!);
      rowOf = (i) => i;
    } else {
      sims = matrix.scoreRows(embedding!, allowed);
      rowOf = (i) => allowed[i]!;
    }
    const idOf = (i: number) => ids[rowOf(i)]!;
    if (mode === "mmr") picked = this.mmr(matrix, sims, rowOf, idOf, topK, lambda, cutoff);
    else picked = selectTopK(sims, topK, idOf, { cutoff });
    return {
      ids: picked.map(idOf),
      similarities: picked.map((i) => sims[i]!),
      nodes: picked.map((i) => this.nodeAt(rowOf(i))),
    };
  }

  private ensureText(): TextIndex {
    this.text ??= new TextIndex(this.jsons.map(storedText));
    return this.text;
  }

  private mask(allowed: Int32Array | null): Uint8Array | null {
    if (!allowed) return null;
    const m = new Uint8Array(this.ids.length);
    for (const r of allowed) m[r] = 1;
    return m;
  }

  private result(rows: ArrayLike<number>, scores: ArrayLike<number>, picked: number[]): VectorStoreQueryResult {
    return {
      ids: picked.map((i) => this.ids[rows[i]!]!),
      similarities: picked.map((i) => scores[i]!),
      nodes: picked.map((i) => this.nodeAt(rows[i]!)),
    };
  }

  /** `text` mode: BM25 of `queryStr`; nodes without any query term are not returned. */
  private textQuery(queryStr: string, allowed: Int32Array | null, topK: number, cutoff: number | undefined): VectorStoreQueryResult {
    const { rows, scores } = this.ensureText().score(queryStr, this.mask(allowed));
    const picked = selectTopK(scores, topK, (i) => this.ids[rows[i]!]!, { cutoff });
    return this.result(rows, scores, picked);
  }

  /**
   * `hybrid` mode, exact over every allowed node: `alpha · dense + (1 − alpha) · sparse`, where
   * dense is the vector similarity min-max normalised over the allowed nodes (1 when all are equal)
   * and sparse is BM25 divided by its maximum (0 without a query term). Similarities returned are
   * these fused scores.
   */
  private hybridQuery(
    matrix: VectorMatrix,
    embedding: ArrayLike<number>,
    queryStr: string,
    alpha: number,
    allowed: Int32Array | null,
    topK: number,
    cutoff: number | undefined,
  ): VectorStoreQueryResult {
    const rows: ArrayLike<number> = allowed ?? Int32Array.from(range(this.ids.length));
    const dense = allowed ? matrix.scoreRows(embedding, allowed) : matrix.scoreAll(embedding);
    let lo = Infinity, hi = -Infinity;
    for (const d of dense) {
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
    const sparse = this.ensureText().score(queryStr, this.mask(allowed));
    let top = 0;
    for (const x of sparse.scores) if (x > top) top = x;
    const sparseByRow = new Map<number, number>();
    sparse.rows.forEach((r, i) => sparseByRow.set(r, top > 0 ? sparse.scores[i]! / top : 0));
    const fused = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const d = hi > lo ? (dense[i]! - lo) / (hi - lo) : 1;
      fused[i] = alpha * d + (1 - alpha) * (sparseByRow.get(rows[i]!) ?? 0);
    }
    const picked = selectTopK(fused, topK, (i) => this.ids[rows[i]!]!, { cutoff });
    return this.result(rows, fused, picked);
  }

  /**
   * Rows allowed by nodeIds, docIds and filters, ascending; `null` means every row. The metadata
   * index narrows selective filters so that only candidates are evaluated and scored.
   */
  private allowedRows(nodeIds: readonly string[] | undefined, docIds: readonly string[] | undefined, tree: MetadataFilters | undefined): Int32Array | null {
    if (docIds || tree) this.#materialize();
    let cand: Set<number> | ReadonlySet<number> | null = null;
    const narrow = (s: ReadonlySet<number>) => {
      if (cand === null) cand = s;
      else {
        const [small, big] = cand.size <= s.size ? [cand, s] : [s, cand];
        const out = new Set<number>();
        for (const r of small) if (big.has(r)) out.add(r);
        cand = out;
      }
    };
    if (nodeIds) {
      const s = new Set<number>();
      for (const id of nodeIds) {
        const r = this.idToRow.get(id);
        if (r !== undefined) s.add(r);
      }
      narrow(s);
    }
    if (docIds) {
      const s = new Set<number>();
      for (const d of docIds) for (const r of this.refRows.get(d) ?? []) s.add(r);
      narrow(s);
    }
    let filtering = tree !== undefined && tree.filters.length > 0;
    if (filtering) {
      const fromIndex = this.index.candidates(tree!);
      if (fromIndex) {
        narrow(fromIndex.rows);
        if (fromIndex.exact) filtering = false;
      }
    }
    if (cand === null && !filtering) return null; // (an exact index answer always sets cand)
    const metas = this.metas;
    if (cand !== null && !filtering) {
      // The rows are the candidate set itself (often an index posting, reused by the next query
      // with the same filter until a write): sorted once per version of the store.
      const set = cand as ReadonlySet<number>;
      const hit = this.#sortedRows.get(set);
      if (hit && hit.version === this.#version) return hit.rows;
      const rows = new Int32Array(set.size);
      let i = 0;
      for (const r of set) rows[i++] = r;
      rows.sort();
      this.#sortedRows.set(set, { version: this.#version, rows });
      return rows;
    }
    const out: number[] = [];
    if (cand === null) {
      for (let r = 0; r < metas.length; r++) if (evaluateValidatedFilters(metas[r], tree!)) out.push(r);
    } else {
      for (const r of cand as ReadonlySet<number>) if (evaluateValidatedFilters(metas[r], tree!)) out.push(r);
    }
    // Ascending rows keep the gather scan sequential in memory.
    return Int32Array.from(out).sort();
  }

  /**
   * Maximal marginal relevance with the textbook penalty: each pick maximises
   * `λ·sim(q, d) − (1 − λ)·max_{s ∈ picked} sim(d, s)`. Ties go to the smaller id. Returns
   * indices in pick order; the caller reports the query similarities (not the MMR scores).
   */
  private mmr(
    matrix: VectorMatrix,
    sims: Float32Array,
    rowOf: (i: number) => number,
    idOf: (i: number) => string,
    k: number,
    lambda: number,
    cutoff: number | undefined,
  ): number[] {
    const pool: number[] = [];
    for (let i = 0; i < sims.length; i++) if (cutoff === undefined || sims[i]! >= cutoff) pool.push(i);
    const rows = Int32Array.from(pool, rowOf);
    const maxSim = new Float64Array(pool.length).fill(-Infinity);
    const taken = new Uint8Array(pool.length);
    const picked: number[] = [];
    for (let t = 0; t < k && t < pool.length; t++) {
      let best = -1;
      let bestScore = -Infinity;
      for (let p = 0; p < pool.length; p++) {
        if (taken[p]) continue;
        const score = lambda * sims[pool[p]!]! - (t === 0 ? 0 : (1 - lambda) * maxSim[p]!);
        if (best === -1 || score > bestScore || (score === bestScore && compareByCodePoint(idOf(pool[p]!), idOf(pool[best]!)) < 0)) {
          best = p;
          bestScore = score;
        }
      }
      taken[best] = 1;
      picked.push(pool[best]!);
      if (t + 1 < k) {
        const toPicked = matrix.scoreRows(matrix.row(rows[best]!), rows);
        for (let p = 0; p < pool.length; p++) if (toPicked[p]! > maxSim[p]!) maxSim[p] = toPicked[p]!;
      }
    }
    return picked;
  }

  // ------------------------------------------------------------------------------ persistence

  /** A consistent copy of the contents for the persistence layer (see {@link SimpleVectorStoreSnapshot}). */
  toSnapshot(): SimpleVectorStoreSnapshot {
    return {
      version: 1,
      dim: this.dim ?? null,
      metric: this.metric,
      ids: [...this.ids],
      vectors: this.matrix ? this.matrix.packed() : new Float32Array(0),
      nodes: this.jsons.map((j, r) => {
        const line = storedToLine(j, this.ids[r]!, this.metas[r]!, this.refs[r]);
        return typeof line === "string" ? line : utf8(line);
      }),
    };
  }

  /**
   * For persistence: a mutation counter, bumped by every change (add, delete, clear). Together with
   * {@link changesSince} it lets a persist find what changed without comparing contents.
   */
  get version(): number {
    return this.#version;
  }

  /**
   * For persistence: the rows written (added or replaced) after `version` and the ids deleted after
   * it and not added again; `undefined` when that cannot be told any more (a `clear()` since, or
   * too many deletions to remember), which means "rewrite everything". An upsert of identical
   * content counts as a change.
   */
  changesSince(version: number): { rows: number[]; deleted: string[] } | undefined {
    if (version < this.#resetAt || version > this.#version) return undefined;
    const rows: number[] = [];
    const vers = this.vers;
    for (let r = 0; r < vers.length; r++) if (vers[r]! > version) rows.push(r);
    const deleted: string[] = [];
    for (const [id, v] of this.#deletedAt) if (v > version) deleted.push(id);
    return { rows, deleted };
  }

  /**
   * For persistence: a consistent snapshot of some rows (`rows`, in that order) or of all of them
   * (`null`): ids, packed float32 vectors, and each row's node JSON text through `node(i)`. The
   * node texts are produced on demand from the stored forms captured now (stored forms are never
   * mutated in place, only replaced), so a full snapshot holds no 100 MB of strings at once. With
   * `viewVectors` (all rows only) the vectors may be a live view of the store's buffer instead of a
   * copy: valid only while {@link version} stays the same.
   */
  snapshotRows(rows: readonly number[] | null, options: { viewVectors?: boolean } = {}): PersistedRows {
    const dim = this.dim ?? 0;
    const pick = rows ?? null;
    const n = pick ? pick.length : this.ids.length;
    const ids: string[] = pick ? pick.map((r) => this.ids[r]!) : this.ids.slice();
    const jsons = pick ? pick.map((r) => this.jsons[r]!) : this.jsons.slice();
    const metas = pick ? pick.map((r) => this.metas[r]!) : this.metas.slice();
    const refs = pick ? pick.map((r) => this.refs[r]) : this.refs.slice();
    let vectors: Float32Array;
    if (pick) {
      vectors = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) vectors.set(this.matrix!.row(pick[i]!), i * dim);
    } else {
      const view = options.viewVectors ? this.matrix?.packedView() : undefined;
      vectors = view ?? (this.matrix ? this.matrix.packed() : new Float32Array(0));
    }
    return {
      dim: this.dim ?? null,
      metric: this.metric,
      ids,
      vectors,
      node: (i) => storedToLine(jsons[i]!, ids[i]!, metas[i]!, refs[i]),
    };
  }

  /**
   * For persistence only: builds a store from rows read back from a checksum-verified Larder file
   * (node JSON this library wrote). Vectors go straight into the matrix (checked finite); each
   * row's node JSON is kept as text and only checked to start with its id. Metadata, ref doc and
   * the metadata index are extracted from that text on the first operation that needs them (a
   * write, a delete, a filter); a plain similarity query parses only the nodes it returns. A row
   * without the expected shape falls back to {@link fromSnapshot}'s full validation (`CORRUPT`).
   */
  static fromTrustedSnapshot(snapshot: TrustedSnapshot, options: Omit<SimpleVectorStoreOptions, "metric" | "dim"> = {}): SimpleVectorStore {
    const { dim, vectors } = snapshot;
    return SimpleVectorStore.#fromTrusted(snapshot, options, (n) => {
      if (!(vectors instanceof Float32Array) || vectors.length !== n * dim!) return undefined;
      const store = new SimpleVectorStore({ ...options, metric: snapshot.metric, dim: dim! });
      const matrix = store.ensureMatrix(dim!);
      matrix.reserve(n);
      return { store, fill: () => matrix.writePacked(0, vectors, n) === -1, vectors: () => vectors };
    });
  }

  /**
   * {@link fromTrustedSnapshot} for rows whose packed vectors were read straight into `matrix`
   * (through {@link VectorMatrix.packedTarget}); the store adopts the matrix instead of copying.
   */
  static fromTrustedMatrix(snapshot: Omit<TrustedSnapshot, "vectors">, matrix: VectorMatrix): SimpleVectorStore {
    const { dim } = snapshot;
    return SimpleVectorStore.#fromTrusted({ ...snapshot, vectors: new Float32Array(0) }, {}, (n) => {
      if (matrix.dim !== dim || matrix.metric !== snapshot.metric || matrix.size !== 0) return undefined;
      const store = new SimpleVectorStore({ metric: snapshot.metric, dim: dim! });
      store.matrix = matrix;
      if (store.quantize) matrix.enableQuantized();
      const packed = () => new Float32Array(matrix.packedTargetView(n));
      return { store, fill: () => matrix.adoptPacked(n) === -1, vectors: packed };
    });
  }

  /**
   * The shared trusted-load loop. `prepare(n)` makes the store with `n` rows of room (or
   * `undefined`: validate instead); `fill()` puts the vectors in and checks them; `vectors()` gives
   * them as floats for the validating path.
   */
  static #fromTrusted(
    snapshot: TrustedSnapshot,
    options: Omit<SimpleVectorStoreOptions, "metric" | "dim">,
    prepare: (n: number) => { store: SimpleVectorStore; fill: () => boolean; vectors: () => Float32Array } | undefined,
  ): SimpleVectorStore {
    const { dim, ids, nodes } = snapshot;
    const n = Array.isArray(ids) ? ids.length : -1;
    // Anything unexpected takes the validating path (on decoded rows).
    const validating = (vectors: Float32Array) =>
      SimpleVectorStore.fromSnapshot({ ...snapshot, vectors, nodes: nodes.map((l) => (typeof l === "string" ? l : utf8(l))) }, options);
    const ok = snapshot.version === 1 && n > 0 && dim !== null && Number.isInteger(dim) && dim > 0 && Array.isArray(nodes) && nodes.length === n;
    const made = ok ? prepare(n) : undefined;
    if (!made) {
      if (!Array.isArray(nodes)) return SimpleVectorStore.fromSnapshot(snapshot as SimpleVectorStoreSnapshot, options);
      return validating(snapshot.vectors);
    }
    const { store } = made;
    store.#version = 1;
    store.#lazy = true;
    for (let r = 0; r < n; r++) {
      const id = ids[r];
      const line = nodes[r];
      if (typeof id !== "string" || id.length === 0 || !(typeof line === "string" || line instanceof Uint8Array) || store.idToRow.has(id) || !rowIsFor(line, id)) {
        return validating(made.vectors());
      }
      store.idToRow.set(id, r);
      store.ids.push(id);
      store.jsons.push(new RawNode(line));
      store.metas.push(undefined as unknown as Metadata); // extracted by #materialize()
      store.refs.push(undefined);
      store.vers.push(1);
    }
    if (!made.fill()) return validating(made.vectors());
    store.matrix!.commitAppend(n);
    store.matrix!.buildQuantized();
    return store;
  }

  /** Rows adopted by {@link fromTrustedSnapshot} whose metadata and ref doc are not extracted yet. */
  #lazy = false;

  /** Extracts metadata and ref doc of lazily loaded rows and indexes them (once). */
  #materialize(): void {
    if (!this.#lazy) return;
    for (let r = 0; r < this.ids.length; r++) {
      if (this.metas[r] !== undefined) continue;
      const s = this.jsons[r];
      if (!(s instanceof RawNode)) continue;
      const corrupt = (cause?: unknown) =>
        new StorageError("CORRUPT", `vector store: the persisted node JSON of ${nodeLabel(this.ids[r]!)} is unreadable`, { store: STORE, cause });
      let parsed: unknown;
      try {
        parsed = s.parse();
      } catch (cause) {
        throw corrupt(cause);
      }
      const data = (parsed as { __data__?: unknown } | null)?.__data__ as Record<string, unknown> | undefined;
      const meta = data?.["metadata"];
      const rels = data?.["relationships"];
      const src = rels && typeof rels === "object" ? (rels as Record<string, unknown>)[NodeRelationship.SOURCE] : undefined;
      const ref = src && typeof src === "object" && !Array.isArray(src) ? (src as Record<string, unknown>)["node_id"] : undefined;
      if (
        typeof data !== "object" ||
        data === null ||
        Array.isArray(data) ||
        data["id_"] !== this.ids[r] ||
        typeof meta !== "object" ||
        meta === null ||
        Array.isArray(meta) ||
        (ref !== undefined && typeof ref !== "string")
      ) {
        throw corrupt();
      }
      this.metas[r] = meta as Metadata;
      this.refs[r] = ref as string | undefined;
      this.index.add(r, meta as Metadata);
      this.ref(r);
    }
    this.#lazy = false;
  }

  /** Rebuilds a store from {@link toSnapshot}'s output; inconsistent input is `CORRUPT`. */
  static fromSnapshot(snapshot: SimpleVectorStoreSnapshot, options: Omit<SimpleVectorStoreOptions, "metric" | "dim"> = {}): SimpleVectorStore {
    const corrupt = (msg: string) => new StorageError("CORRUPT", `vector store snapshot: ${msg}`, { store: STORE });
    if (typeof snapshot !== "object" || snapshot === null || snapshot.version !== 1) throw corrupt("unknown version");
    const { dim, ids, vectors, nodes } = snapshot;
    if (!Array.isArray(ids) || !Array.isArray(nodes) || !(vectors instanceof Float32Array)) throw corrupt("ids, nodes and vectors are required");
    if (ids.length !== nodes.length) throw corrupt(`${ids.length} ids but ${nodes.length} nodes`);
    if (dim !== null && (!Number.isInteger(dim) || dim <= 0)) throw corrupt(`bad dimension ${String(dim)}`);
    if (vectors.length !== ids.length * (dim ?? 0)) throw corrupt(`expected ${ids.length} x ${dim ?? 0} floats, got ${vectors.length}`);
    if (ids.length > 0 && dim === null) throw corrupt("rows without a dimension");
    const store = new SimpleVectorStore({ ...options, metric: snapshot.metric, ...(dim !== null ? { dim } : {}) });
    if (ids.length === 0) return store;
    const nodesOut: BaseNode[] = new Array(ids.length);
    const seen = new Set<string>();
    for (let r = 0; r < ids.length; r++) {
      const id = ids[r];
      if (typeof id !== "string" || id.length === 0 || seen.has(id)) throw corrupt(`bad or duplicate id at row ${r}`);
      seen.add(id);
      let node: BaseNode;
      try {
        node = jsonToNode(JSON.parse(nodes[r]!));
      } catch (cause) {
        throw new StorageError("CORRUPT", `vector store snapshot: node JSON of row ${r} is unreadable`, { store: STORE, cause });
      }
      if (node.id !== id) throw corrupt(`row ${r}: node id does not match ids[${r}]`);
      node.embedding = vectors.subarray(r * dim!, (r + 1) * dim!) as unknown as number[];
      nodesOut[r] = node;
    }
    const problem = store.tryAdd(nodesOut);
    if (problem) throw new StorageError("CORRUPT", `vector store snapshot: ${problem.message}`, { store: STORE, cause: problem });
    return store;
  }

  /**
   * LlamaIndex's `SimpleVectorStoreData.to_dict()` shape, for `{namespace}__vector_store.json`:
   * embeddings as float lists, `"None"` for nodes without a ref doc, and `metadata_dict` entries
   * as `node_to_metadata_dict(remove_text=True)` minus `_node_content` (the node's metadata plus
   * `_node_type`, `document_id`, `doc_id`, `ref_doc_id`).
   */
  toDict(): LlamaIndexVectorStoreDict {
    // Null-prototype maps: a node id such as "__proto__" must stay an ordinary key.
    const embedding_dict = Object.create(null) as Record<string, number[]>;
    const text_id_to_ref_doc_id = Object.create(null) as Record<string, string>;
    const metadata_dict = Object.create(null) as Record<string, Record<string, unknown>>;
    this.#materialize();
    for (let r = 0; r < this.ids.length; r++) {
      const id = this.ids[r]!;
      const ref = this.refs[r] ?? "None";
      embedding_dict[id] = this.matrix!.rowArray(r);
      text_id_to_ref_doc_id[id] = ref;
      const j = this.jsons[r]!;
      const cls = j instanceof RawNode ? j.parse().__data__["class_name"] : isJson(j) ? j.__data__["class_name"] : "TextNode";
      const type = typeof cls === "string" ? cls : "TextNode";
      metadata_dict[id] = { ...this.metas[r], _node_type: type, document_id: ref, doc_id: ref, ref_doc_id: ref };
    }
    return { embedding_dict, text_id_to_ref_doc_id, metadata_dict };
  }

  /**
   * Loads LlamaIndex's dict (Python- or Larder-written). Python's store keeps no text, so nodes
   * come back without text, as the class their entry's `_node_type` names (`TextNode` when it names
   * none this library has), with id, metadata (LlamaIndex's bookkeeping keys removed), ref doc and
   * embedding. Malformed input is `CORRUPT`, nothing half-loaded.
   */
  static fromDict(dict: LlamaIndexVectorStoreDict, options: SimpleVectorStoreOptions = {}): SimpleVectorStore {
    const corrupt = (msg: string) => new StorageError("CORRUPT", `LlamaIndex vector store dict: ${msg}`, { store: STORE });
    if (typeof dict !== "object" || dict === null) throw corrupt("not an object");
    const emb = dict.embedding_dict;
    const refs = dict.text_id_to_ref_doc_id ?? {};
    const metas = dict.metadata_dict ?? {};
    if (typeof emb !== "object" || emb === null || Array.isArray(emb)) throw corrupt("embedding_dict must be an object");
    const nodes: BaseNode[] = [];
    for (const id of Object.keys(emb)) {
      const meta = Object.prototype.hasOwnProperty.call(metas, id) ? metas[id] : undefined;
      if (meta !== undefined && (typeof meta !== "object" || meta === null || Array.isArray(meta))) throw corrupt(`metadata_dict[${JSON.stringify(id)}] is not an object`);
      const metadata: Metadata = {};
      for (const [k, v] of Object.entries(meta ?? {})) {
        // defineProperty: a "__proto__" key stays an own key instead of replacing the prototype.
        if (!(LI_RESERVED as readonly string[]).includes(k)) Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      const ref = Object.prototype.hasOwnProperty.call(refs, id) ? refs[id] : undefined;
      const init: BaseNodeInit = {
        id,
        metadata,
        embedding: emb[id] as number[],
        relationships: typeof ref === "string" && ref !== "None" ? { [NodeRelationship.SOURCE]: { nodeId: ref } } : {},
      };
      // The row's class (`_node_type`) is kept, so `toDict()` writes it back.
      const cls = meta?.["_node_type"];
      const Node = typeof cls === "string" && Object.prototype.hasOwnProperty.call(NODE_CLASSES, cls) ? NODE_CLASSES[cls]! : TextNode;
      nodes.push(new Node(init));
    }
    const store = new SimpleVectorStore(options);
    const problem = store.tryAdd(nodes);
    if (problem) throw new StorageError("CORRUPT", `LlamaIndex vector store dict: ${problem.message}`, { store: STORE, cause: problem });
    return store;
  }

  /** Synchronous add for loaders; returns the refusal instead of throwing it. */
  private tryAdd(nodes: BaseNode[]): StorageError | undefined {
    try {
      this.addAll(nodes);
      return undefined;
    } catch (e) {
      if (e instanceof StorageError) return e;
      throw e;
    }
  }
}

function range(n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

function badMetadata(id: string): StorageError {
  return new StorageError("INVALID_ARGUMENT", `${nodeLabel(id)}: metadata must be an object`, { store: STORE });
}

const DEFAULTS = new TextNode();

/** Markers of `addAll`'s per-node target (live rows are >= 0). */
const NEW = -1;
const UNSEEN = -2;

/** `{SOURCE: {nodeId}}` and nothing else (see {@link initWithSource}). */
function isBareSource(rels: Relationships): boolean {
  const src = rels[NodeRelationship.SOURCE];
  if (!src || typeof src !== "object" || typeof src.nodeId !== "string" || Object.keys(rels).length !== 1) return false;
  if (src.nodeType !== undefined && src.nodeType !== null) return false;
  if (src.hash !== undefined && src.hash !== null) return false;
  if (src.metadata !== undefined && (typeof src.metadata !== "object" || src.metadata === null || hasKeys(src.metadata))) return false;
  for (const k in src) if (k !== "nodeId" && k !== "nodeType" && k !== "hash" && k !== "metadata") return false;
  return true;
}
const hasKeys = (o: object) => {
  for (const _ in o) return true;
  return false;
};

/**
 * Node -> stored form: a deep copy (the JSON round trip of its fields) without the embedding; its
 * metadata goes to `metadatas[i]`. A TextNode keeps only what differs from the constructor's
 * defaults, and a plain one (the usual chunk: id, text, metadata, ref doc) is just its text:
 * adds are bound by allocation and GC of per-node objects, not by the float copy.
 */
function prepare(node: BaseNode, metadatas: Metadata[], i: number): StoredNode {
  // Metadata that is not JSON is refused, never changed (the rule of every store).
  assertNodeMetadata(node, STORE);
  try {
    if (Object.getPrototypeOf(node) === TextNode.prototype) {
      const metadata = cloneJson(node.metadata ?? {});
      if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) throw badMetadata(node.id);
      metadatas[i] = metadata as Metadata;
      const rels = node.relationships;
      const bareRels = !rels || isBareSource(rels) || !hasKeys(rels);
      const plain =
        bareRels &&
        typeof node.text === "string" &&
        !node.excludedEmbedMetadataKeys?.length &&
        !node.excludedLlmMetadataKeys?.length &&
        node.metadataTemplate === DEFAULTS.metadataTemplate &&
        node.metadataSeparator === DEFAULTS.metadataSeparator &&
        node.textTemplate === DEFAULTS.textTemplate &&
        node.mimetype === DEFAULTS.mimetype &&
        node.startCharIdx === null &&
        node.endCharIdx === null &&
        !(node.extra && hasKeys(node.extra));
      if (plain) return node.text;
      const init: BaseNodeInit = { id: node.id, metadata: metadata as Metadata };
      if (node.text !== "") init.text = node.text;
      if (!bareRels) init.relationships = cloneJson(rels) as Relationships;
      if (node.excludedEmbedMetadataKeys?.length) init.excludedEmbedMetadataKeys = cloneJson(node.excludedEmbedMetadataKeys) as string[];
      if (node.excludedLlmMetadataKeys?.length) init.excludedLlmMetadataKeys = cloneJson(node.excludedLlmMetadataKeys) as string[];
      if (node.metadataTemplate !== DEFAULTS.metadataTemplate) init.metadataTemplate = node.metadataTemplate;
      if (node.metadataSeparator !== DEFAULTS.metadataSeparator) init.metadataSeparator = node.metadataSeparator;
      if (node.textTemplate !== DEFAULTS.textTemplate) init.textTemplate = node.textTemplate;
      if (node.mimetype !== DEFAULTS.mimetype) init.mimetype = node.mimetype;
      if (node.startCharIdx !== null) init.startCharIdx = node.startCharIdx;
      if (node.endCharIdx !== null) init.endCharIdx = node.endCharIdx;
      if (node.extra && hasKeys(node.extra)) init.extra = cloneJson(node.extra) as Record<string, unknown>;
      return init;
    }
    const nj = node.toJSON();
    nj.__data__["embedding"] = null;
    const json = cloneJson(nj) as NodeJson;
    const metadata = json.__data__["metadata"] ?? {};
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) throw badMetadata(node.id);
    json.__data__["metadata"] = metadata;
    metadatas[i] = metadata as Metadata;
    return json;
  } catch (cause) {
    if (cause instanceof StorageError) throw cause;
    throw new StorageError("INVALID_ARGUMENT", `${nodeLabel(node.id)} cannot be serialized as JSON: ${(cause as Error).message}`, { store: STORE, cause });
  }
}
