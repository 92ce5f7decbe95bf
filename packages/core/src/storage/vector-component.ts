/**
 * Vector stores in the Larder format: packed float32 rows plus one node JSON per row, and
 * incremental persists. The context remembers, per place, the store's mutation counter at the
 * last persist (or load); the next persist asks the store which rows were written and which ids
 * deleted since ({@link SimpleVectorStore.changesSince}) and writes only a *delta* of those next to
 * the unchanged base files: no snapshot of the whole store, no copy of old rows kept in memory.
 * Deltas are folded into a new base when they exceed a quarter of the rows or number 16.
 */
import { errors } from "../errors.js";
import type { DistanceMetric } from "../vector/types.js";
import { joinPath, writeHashed } from "./fs-io.js";
import { utf8Chunks } from "./json-stream.js";
import { exactObjectJson, mayBeInexactIn, valueRangeAt } from "../schema/exact-json.js";
import {
  exactEmbedding,
  exactEmbeddingsOf,
  keptVectorSourcesOf as keptSourcesOf,
  nodeMetadataFingerprint,
  VECTOR_ENTRY_KEY_SET,
  type ExactEmbedding,
  type VectorSources,
} from "./llamaindex-format.js";
import { type ComponentWriteContext, type LarderComponent, readVectors, readVectorsInto, readVerifiedLineBytes, readVerifiedLines, sameFiles, writeVectors, type PackedVectors } from "./larder-format.js";
import { pyFloatList } from "./json-stream.js";
import type { ComponentEntry, FileRef, VectorDelta } from "./manifest.js";
import type { FileSystem } from "../fs/types.js";
import type { PersistedRows, SimpleVectorStore } from "../vector/simple-vector-store.js";

/** What the format needs from a vector store (SimpleVectorStore's `toSnapshot()` shape). */
export interface VectorRows {
  dim: number | null;
  metric: DistanceMetric;
  ids: string[];
  /** `ids.length * dim` floats; `undefined` when they were read straight into a `VectorTarget`. */
  vectors: Float32Array | undefined;
  /** Node JSON (without embedding) per row, as UTF-8 bytes read from the file (views; not decoded). */
  nodes: Uint8Array[];
  /** Exact embeddings of rows no delta changed (the component's `exact` file), by node id. */
  exact?: Map<string, ExactEmbedding>;
}

/** The last state written to (or read from) a directory: which store, at which mutation counter. */
export interface VectorMemory {
  entry: ComponentEntry;
  store: SimpleVectorStore;
  version: number;
}

const MAX_DELTAS = 16;
const MAX_DELTA_FRACTION = 0.25;


function* rowLines(kind: "base" | "delta", rows: PersistedRows, deleted: readonly string[], sources?: VectorSources): Generator<string | Uint8Array> {
  const n = rows.ids.length;
  yield `${JSON.stringify({ format: "larder-vector-rows", kind, dim: rows.dim, metric: rows.metric, count: n, deleted: deleted.length })}\n`;
  yield `${JSON.stringify(rows.ids)}\n`;
  yield `${JSON.stringify(deleted)}\n`;
  for (let i = 0; i < n; i++) {
    const line = rows.node(i);
    if (typeof line === "string") yield `${sources === undefined ? line : withExactMetadata(line, rows.ids[i]!, sources)}\n`;
    else {
      yield line; // a loaded row's bytes, as they were read
      yield "\n";
    }
  }
}

/**
 * A row of a store loaded from a Python `{ns}__vector_store.json`: when the node's metadata is still
 * what the file held, the row gets that metadata as Python wrote it (JS values lose `1.0`, big
 * integers and key order), so the Larder format keeps it exact too.
 */
function withExactMetadata(line: string, id: string, sources: VectorSources): string {
  const src = sources.metadata.get(id);
  if (src === undefined) return line;
  const range = valueRangeAt(line, ["__data__", "metadata"]);
  if (range === undefined) return line;
  const current: unknown = JSON.parse(line.slice(range[0], range[1]));
  if (!mayBeInexactIn(current, src.text) || nodeMetadataFingerprint(current) !== src.fingerprint) return line;
  const exact = exactObjectJson(src.text, [], VECTOR_ENTRY_KEY_SET);
  return exact === undefined ? line : line.slice(0, range[0]) + exact + line.slice(range[1]);
}

/**
 * The `exact` file's lines for `ids` (a store loaded from a LlamaIndex file whose embeddings
 * float32 would change): a header, then `[id, list]` per row that has an exact embedding, `list`
 * being the embedding as LlamaIndex's file writes it. `undefined` when no row has one.
 */
function exactLines(store: SimpleVectorStore, ids: readonly string[]): string[] | undefined {
  const exact = exactEmbeddingsOf(store);
  if (exact === undefined) return undefined;
  const lines: string[] = [];
  for (const id of ids) {
    const e = exact.get(id);
    if (e !== undefined) lines.push(`${JSON.stringify([id, typeof e === "string" ? e : pyFloatList(e)])}\n`);
  }
  if (lines.length === 0) return undefined;
  return [`${JSON.stringify({ format: "larder-vector-exact", count: lines.length })}\n`, ...lines];
}

async function writeExact(ctx: ComponentWriteContext, suffix: string, lines: string[] | undefined): Promise<FileRef | undefined> {
  if (lines === undefined) return undefined;
  const file = ctx.fileName(`${suffix}.exact.jsonl`);
  const w = await writeHashed(ctx.fs, joinPath(ctx.dir, file), utf8Chunks(lines));
  return { file, bytes: w.bytes, sha256: w.sha256 };
}

async function writeRows(ctx: ComponentWriteContext, suffix: string, kind: "base" | "delta", rows: PersistedRows, deleted: string[], sources?: VectorSources) {
  const file = ctx.fileName(`${suffix}.${kind === "base" ? "rows" : "delta"}.jsonl`);
  // Both files are written side by side: the packed vectors' write and fsync (kernel work) overlap
  // the serialisation of the node JSON on the main thread. Both settle before any error is thrown.
  const [w, vectors] = await Promise.allSettled([
    writeHashed(ctx.fs, joinPath(ctx.dir, file), utf8Chunks(rowLines(kind, rows, deleted, sources))),
    writeVectors(ctx.fs, ctx.dir, ctx.fileName(`${suffix}.${kind === "base" ? "rows" : "delta"}.f32`), {
      dim: rows.dim ?? 0,
      count: rows.ids.length,
      data: rows.vectors,
    }),
  ]);
  if (w.status === "rejected") throw w.reason;
  if (vectors.status === "rejected") throw vectors.reason;
  return { file, bytes: w.value.bytes, sha256: w.value.sha256, vectors: vectors.value };
}

export function vectorComponent(args: {
  name: string;
  namespace: string;
  storeName: string;
  suffix: string;
  store: SimpleVectorStore;
  /** What this context last wrote to / read from this directory for this store. */
  memory: VectorMemory | undefined;
  remember: (m: VectorMemory) => void;
  incremental: boolean;
}): LarderComponent {
  let pending: number | undefined;
  return {
    name: args.name,
    kind: "vector_store",
    namespace: args.namespace,
    storeName: args.storeName,
    async write(ctx) {
      const { store } = args;
      // Everything below up to the first await reads the store synchronously: a consistent state.
      const version = store.version;
      pending = version;
      const prev = ctx.previous;
      const mem = args.memory;
      const changes =
        args.incremental && prev?.encoding === "vector-rows" && mem && mem.store === store && sameFiles(prev, mem.entry) && prev.vectors?.dim === (store.dim ?? 0)
          ? store.changesSince(mem.version)
          : undefined;
      if (changes) {
        const { rows: upserts, deleted } = changes;
        if (upserts.length === 0 && deleted.length === 0) return { entry: prev!, reused: true };
        const deltas = prev!.deltas ?? [];
        const pendingRows = deltas.reduce((n, d) => n + (d.vectors?.count ?? 0) + d.deleted, 0) + upserts.length + deleted.length;
        if (deltas.length < MAX_DELTAS && pendingRows <= MAX_DELTA_FRACTION * Math.max(store.size, 1)) {
          const w = await writeRows(ctx, args.suffix, "delta", store.snapshotRows(upserts), deleted, keptSourcesOf(store));
          const delta: VectorDelta = { ...w, generation: ctx.generation, deleted: deleted.length };
          return { entry: { ...prev!, deltas: [...deltas, delta] }, reused: false };
        }
      }
      // The vectors are written from a live view of the store's buffer (no 150 MB copy per 100k
      // rows). A mutation while the files are written (other tasks run during the awaits) shows as
      // a new version: then the base is written again from a copy taken at once.
      // (A failed add can also grow the buffer, detaching the view, without a new version.)
      const rows = store.snapshotRows(null, { viewVectors: true });
      if (rows.dim === null && rows.ids.length > 0) throw errors.invalid("vector rows without a dimension", { store: args.storeName });
      const moved = () => store.version !== version || (rows.vectors.length > 0 && rows.vectors.buffer.byteLength === 0);
      const sources = keptSourcesOf(store);
      let exact = exactLines(store, rows.ids);
      let w = await writeRows(ctx, args.suffix, "base", rows, [], sources).catch((err: unknown) => {
        if (!moved()) throw err;
        return undefined;
      });
      if (!w || moved()) {
        pending = store.version;
        const again = store.snapshotRows(null);
        exact = exactLines(store, again.ids);
        w = await writeRows(ctx, args.suffix, "base", again, [], sources);
      }
      const exactRef = await writeExact(ctx, args.suffix, exact);
      const entry: ComponentEntry = {
        kind: "vector_store",
        encoding: "vector-rows",
        namespace: args.namespace,
        file: w.file,
        bytes: w.bytes,
        sha256: w.sha256,
        vectors: w.vectors,
        ...(exactRef !== undefined ? { exact: exactRef } : {}),
        generation: ctx.generation,
        store: args.storeName,
      };
      return { entry, reused: false };
    },
    committed(entry) {
      if (pending !== undefined && args.incremental) args.remember({ entry, store: args.store, version: pending });
      pending = undefined;
    },
  };
}

interface RowsFile {
  header: { dim: number | null; metric: DistanceMetric; count: number; deleted: number };
  ids: string[];
  deleted: string[];
  /** Each row's node JSON: a view of the bytes it was read in. */
  nodes: Uint8Array[];
}

async function readRowsFile(fs: FileSystem, dir: string, ref: FileRef, what: string, onHeader?: (h: RowsFile["header"]) => void): Promise<RowsFile> {
  const path = joinPath(dir, ref.file);
  let n = 0;
  const out: RowsFile = { header: { dim: null, metric: "cosine", count: 0, deleted: 0 }, ids: [], deleted: [], nodes: [] };
  await readVerifiedLineBytes(fs, dir, ref, what, (bytes, start, end) => {
    n++;
    if (n === 1) {
      out.header = JSON.parse(bytes.toString("utf8", start, end)) as RowsFile["header"];
      onHeader?.(out.header);
    }
    else if (n === 2) out.ids = JSON.parse(bytes.toString("utf8", start, end)) as string[];
    else if (n === 3) out.deleted = JSON.parse(bytes.toString("utf8", start, end)) as string[];
    else out.nodes.push(new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start));
  });
  const h = out.header;
  if (
    typeof h !== "object" ||
    h === null ||
    !Array.isArray(out.ids) ||
    !Array.isArray(out.deleted) ||
    out.ids.length !== h.count ||
    out.nodes.length !== h.count ||
    out.deleted.length !== h.deleted
  ) {
    throw errors.corrupt(`${path}: row counts do not match its header`, { details: { file: path } });
  }
  return out;
}

/**
 * Where a base file's packed vectors may be read straight to (the vector kernel's memory): given
 * the rows file's header (dim, metric) and the row count, a byte view exactly `count * dim * 4`
 * long, or `undefined` to get them as a `Float32Array` instead.
 */
export type VectorTarget = (dim: number, metric: DistanceMetric, count: number) => Uint8Array | undefined;

/**
 * Reads a `vector-rows` component (base plus deltas) back into rows; verifies every file. With
 * `target` and no deltas, the packed vectors go straight into the view it returns (then `vectors`
 * is `undefined` in the result).
 */
export async function readVectorComponent(fs: FileSystem, dir: string, entry: ComponentEntry, target?: VectorTarget): Promise<VectorRows> {
  const what = `vector store ${entry.namespace ?? ""}`;
  const ref = entry.vectors!;
  const direct = target !== undefined && (entry.deltas ?? []).length === 0;
  // The packed vectors are read (kernel work) while the rows file is parsed; both verified. A
  // direct read waits for the rows file's first line (dim and metric) to place them.
  let header!: (h: RowsFile["header"]) => void;
  const headerRead = new Promise<RowsFile["header"]>((resolve) => (header = resolve));
  const rowsP = readRowsFile(fs, dir, entry, what, direct ? header : undefined);
  const vecP = direct
    ? (async (): Promise<PackedVectors | undefined> => {
        const h = await Promise.race([headerRead, rowsP.then((r) => r.header)]);
        const into = h.dim === ref.dim && ref.dim > 0 ? target(ref.dim, h.metric, ref.count) : undefined;
        if (!into || into.byteLength !== ref.bytes) return readVectors(fs, dir, ref);
        await readVectorsInto(fs, dir, ref, into);
        return undefined;
      })()
    : readVectors(fs, dir, ref);
  const [rowsRead, vecRead] = await Promise.allSettled([rowsP, vecP]);
  if (rowsRead.status === "rejected") throw rowsRead.reason;
  if (vecRead.status === "rejected") throw vecRead.reason;
  const baseFile = rowsRead.value;
  const baseVec = vecRead.value ?? { dim: ref.dim, count: ref.count, data: undefined };
  const dim = baseFile.header.dim;
  const metric = baseFile.header.metric;
  if (baseVec.count !== baseFile.ids.length || (dim !== null && baseVec.dim !== dim)) {
    throw errors.corrupt(`${joinPath(dir, entry.vectors!.file)} does not match ${joinPath(dir, entry.file)}`, {
      details: { file: joinPath(dir, entry.vectors!.file) },
    });
  }
  const exact = entry.exact ? await readExact(fs, dir, entry.exact, what) : undefined;
  const deltas = entry.deltas ?? [];
  if (deltas.length === 0) return { dim, metric, ids: baseFile.ids, vectors: baseVec.data, nodes: baseFile.nodes, ...(exact ? { exact } : {}) };
  if (!baseVec.data) throw new Error("unreachable: direct vector read with deltas");
  const baseData = baseVec.data;

  // Apply deltas in order: id -> [source, row] with source -1 = base.
  const loaded = await Promise.all(
    deltas.map(async (d) => {
      if (!d.vectors) throw errors.corrupt(`${joinPath(dir, d.file)}: vector delta without packed rows`, { details: { file: joinPath(dir, d.file) } });
      return { rows: await readRowsFile(fs, dir, d, `${what} delta`), vec: await readVectors(fs, dir, d.vectors) };
    }),
  );
  const where = new Map<string, [number, number]>();
  for (let i = 0; i < baseFile.ids.length; i++) where.set(baseFile.ids[i]!, [-1, i]);
  loaded.forEach((d, k) => {
    if (d.vec.count !== d.rows.ids.length || (d.rows.ids.length > 0 && d.vec.dim !== (dim ?? d.vec.dim))) {
      const f = joinPath(dir, deltas[k]!.vectors!.file);
      throw errors.corrupt(`${f} does not match its delta`, { details: { file: f } });
    }
    for (const id of d.rows.deleted) {
      where.delete(id);
      exact?.delete(id);
    }
    for (let i = 0; i < d.rows.ids.length; i++) {
      where.set(d.rows.ids[i]!, [k, i]);
      exact?.delete(d.rows.ids[i]!);
    }
  });
  const d0 = dim ?? 0;
  const ids: string[] = new Array(where.size);
  const nodes: Uint8Array[] = new Array(where.size);
  const vectors = new Float32Array(where.size * d0);
  let r = 0;
  for (const [id, [src, i]] of where) {
    ids[r] = id;
    if (src < 0) {
      nodes[r] = baseFile.nodes[i]!;
      vectors.set(baseData.subarray(i * d0, (i + 1) * d0), r * d0);
    } else {
      const d = loaded[src]!;
      nodes[r] = d.rows.nodes[i]!;
      vectors.set(d.vec.data.subarray(i * d0, (i + 1) * d0), r * d0);
    }
    r++;
  }
  return { dim, metric, ids, vectors, nodes, ...(exact && exact.size > 0 ? { exact } : {}) };
}

/** Reads a component's `exact` file (verified) into id -> exact embedding. */
async function readExact(fs: FileSystem, dir: string, ref: FileRef, what: string): Promise<Map<string, ExactEmbedding>> {
  const path = joinPath(dir, ref.file);
  const out = new Map<string, ExactEmbedding>();
  let header: { format?: unknown; count?: unknown } | undefined;
  const bad = (cause?: unknown) => errors.corrupt(`${path}: not a larder-vector-exact file`, { cause, details: { file: path } });
  await readVerifiedLines(fs, dir, ref, `${what} exact embeddings`, (line) => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (cause) {
      throw bad(cause);
    }
    if (header === undefined) {
      header = v as typeof header;
      if (typeof v !== "object" || v === null || header!.format !== "larder-vector-exact") throw bad();
      return;
    }
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== "string" || typeof v[1] !== "string") throw bad();
    const text = v[1] as string;
    let values: unknown;
    try {
      values = JSON.parse(text);
    } catch (cause) {
      throw bad(cause);
    }
    if (!Array.isArray(values) || values.some((x) => typeof x !== "number")) throw bad();
    const e = exactEmbedding(values as number[], () => text);
    if (e !== undefined) out.set(v[0] as string, e);
  });
  if (header === undefined || header.count !== out.size) throw bad();
  return out;
}

