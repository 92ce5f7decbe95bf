/**
 * Vector stores in the Larder format: packed float32 rows plus one node JSON per row, and
 * incremental persists. When the context still holds what it wrote last time (ids, rows, node
 * JSON), a persist compares the current snapshot with it and writes only a *delta* (changed and
 * new rows, deleted ids) next to the unchanged base files. Deltas are folded into a new base when
 * they exceed a quarter of the rows or number 16.
 */
import { errors } from "../errors.js";
import type { DistanceMetric } from "../vector/types.js";
import { joinPath, writeHashed } from "./fs-io.js";
import { utf8Chunks } from "./json-stream.js";
import { type ComponentWriteContext, type LarderComponent, readVectors, readVerifiedLines, sameFiles, writeVectors } from "./larder-format.js";
import type { ComponentEntry, FileRef, VectorDelta } from "./manifest.js";
import type { FileSystem } from "../fs/types.js";

/** What the format needs from a vector store (SimpleVectorStore's `toSnapshot()` shape). */
export interface VectorRows {
  dim: number | null;
  metric: DistanceMetric;
  ids: string[];
  /** `ids.length * dim` floats. */
  vectors: Float32Array;
  /** Node JSON (without embedding) per row; must not contain a raw newline (JSON never does). */
  nodes: string[];
}

/** The last state written to (or read from) a directory, to diff the next persist against. */
export interface VectorMemory {
  entry: ComponentEntry;
  rows: VectorRows;
  rowOf: Map<string, number>;
}

const MAX_DELTAS = 16;
const MAX_DELTA_FRACTION = 0.25;

function rowIndex(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) m.set(ids[i]!, i);
  return m;
}

function* rowLines(kind: "base" | "delta", rows: VectorRows, pick: readonly number[] | null, deleted: readonly string[]): Generator<string> {
  const n = pick ? pick.length : rows.ids.length;
  yield `${JSON.stringify({ format: "larder-vector-rows", kind, dim: rows.dim, metric: rows.metric, count: n, deleted: deleted.length })}\n`;
  yield `${JSON.stringify(pick ? pick.map((r) => rows.ids[r]) : rows.ids)}\n`;
  yield `${JSON.stringify(deleted)}\n`;
  for (let i = 0; i < n; i++) yield `${rows.nodes[pick ? pick[i]! : i]}\n`;
}

function pickRows(rows: VectorRows, pick: readonly number[]): Float32Array {
  const dim = rows.dim ?? 0;
  const out = new Float32Array(pick.length * dim);
  for (let i = 0; i < pick.length; i++) out.set(rows.vectors.subarray(pick[i]! * dim, (pick[i]! + 1) * dim), i * dim);
  return out;
}

async function writeRows(ctx: ComponentWriteContext, suffix: string, kind: "base" | "delta", rows: VectorRows, pick: number[] | null, deleted: string[]) {
  const file = ctx.fileName(`${suffix}.${kind === "base" ? "rows" : "delta"}.jsonl`);
  const w = await writeHashed(ctx.fs, joinPath(ctx.dir, file), utf8Chunks(rowLines(kind, rows, pick, deleted)));
  const data = pick ? pickRows(rows, pick) : rows.vectors;
  const vectors = await writeVectors(ctx.fs, ctx.dir, ctx.fileName(`${suffix}.${kind === "base" ? "rows" : "delta"}.f32`), {
    dim: rows.dim ?? 0,
    count: pick ? pick.length : rows.ids.length,
    data,
  });
  return { file, bytes: w.bytes, sha256: w.sha256, vectors };
}

/** Bit-exact row comparison (integer views: -0/NaN payloads count as changes, as they should). */
function sameRow(a: VectorRows, ia: Int32Array, ra: number, b: VectorRows, ib: Int32Array, rb: number, dim: number): boolean {
  if (a.nodes[ra] !== b.nodes[rb]) return false;
  const oa = ra * dim;
  const ob = rb * dim;
  for (let j = 0; j < dim; j++) if (ia[oa + j] !== ib[ob + j]) return false;
  return true;
}

const int32View = (f: Float32Array) => new Int32Array(f.buffer, f.byteOffset, f.length);

export function vectorComponent(args: {
  name: string;
  namespace: string;
  storeName: string;
  suffix: string;
  rows: () => VectorRows;
  /** What this context last wrote to / read from this directory for this store. */
  memory: VectorMemory | undefined;
  remember: (m: VectorMemory) => void;
  incremental: boolean;
}): LarderComponent {
  let pending: VectorRows | undefined;
  return {
    name: args.name,
    kind: "vector_store",
    namespace: args.namespace,
    storeName: args.storeName,
    async write(ctx) {
      const rows = args.rows();
      if (rows.dim === null && rows.ids.length > 0) throw errors.invalid("vector rows without a dimension", { store: args.storeName });
      pending = rows;
      const prev = ctx.previous;
      const mem = args.memory;
      if (
        args.incremental &&
        prev?.encoding === "vector-rows" &&
        mem &&
        sameFiles(prev, mem.entry) &&
        mem.rows.dim === rows.dim &&
        mem.rows.metric === rows.metric
      ) {
        const upserts: number[] = [];
        const dim = rows.dim ?? 0;
        const cur = int32View(rows.vectors);
        const old = int32View(mem.rows.vectors);
        for (let r = 0; r < rows.ids.length; r++) {
          const p = mem.rowOf.get(rows.ids[r]!);
          if (p === undefined || !sameRow(rows, cur, r, mem.rows, old, p, dim)) upserts.push(r);
        }
        const current = rowIndex(rows.ids);
        const deleted = mem.rows.ids.filter((id) => !current.has(id));
        if (upserts.length === 0 && deleted.length === 0) return { entry: prev, reused: true };
        const deltas = prev.deltas ?? [];
        const pendingRows = deltas.reduce((n, d) => n + (d.vectors?.count ?? 0) + d.deleted, 0) + upserts.length + deleted.length;
        if (deltas.length < MAX_DELTAS && pendingRows <= MAX_DELTA_FRACTION * Math.max(rows.ids.length, 1)) {
          const w = await writeRows(ctx, args.suffix, "delta", rows, upserts, deleted);
          const delta: VectorDelta = { ...w, generation: ctx.generation, deleted: deleted.length };
          return { entry: { ...prev, deltas: [...deltas, delta] }, reused: false };
        }
      }
      const w = await writeRows(ctx, args.suffix, "base", rows, null, []);
      const entry: ComponentEntry = {
        kind: "vector_store",
        encoding: "vector-rows",
        namespace: args.namespace,
        file: w.file,
        bytes: w.bytes,
        sha256: w.sha256,
        vectors: w.vectors,
        generation: ctx.generation,
        store: args.storeName,
      };
      return { entry, reused: false };
    },
    committed(entry) {
      if (pending && args.incremental) args.remember({ entry, rows: pending, rowOf: rowIndex(pending.ids) });
      pending = undefined;
    },
  };
}

interface RowsFile {
  header: { dim: number | null; metric: DistanceMetric; count: number; deleted: number };
  ids: string[];
  deleted: string[];
  nodes: string[];
}

async function readRowsFile(fs: FileSystem, dir: string, ref: FileRef, what: string): Promise<RowsFile> {
  const path = joinPath(dir, ref.file);
  let n = 0;
  const out: RowsFile = { header: { dim: null, metric: "cosine", count: 0, deleted: 0 }, ids: [], deleted: [], nodes: [] };
  await readVerifiedLines(fs, dir, ref, what, (line) => {
    n++;
    if (n === 1) out.header = JSON.parse(line) as RowsFile["header"];
    else if (n === 2) out.ids = JSON.parse(line) as string[];
    else if (n === 3) out.deleted = JSON.parse(line) as string[];
    else out.nodes.push(line);
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

/** Reads a `vector-rows` component (base plus deltas) back into rows; verifies every file. */
export async function readVectorComponent(fs: FileSystem, dir: string, entry: ComponentEntry): Promise<VectorRows> {
  const what = `vector store ${entry.namespace ?? ""}`;
  const baseFile = await readRowsFile(fs, dir, entry, what);
  const baseVec = await readVectors(fs, dir, entry.vectors!);
  const dim = baseFile.header.dim;
  const metric = baseFile.header.metric;
  if (baseVec.count !== baseFile.ids.length || (dim !== null && baseVec.dim !== dim)) {
    throw errors.corrupt(`${joinPath(dir, entry.vectors!.file)} does not match ${joinPath(dir, entry.file)}`, {
      details: { file: joinPath(dir, entry.vectors!.file) },
    });
  }
  const deltas = entry.deltas ?? [];
  if (deltas.length === 0) return { dim, metric, ids: baseFile.ids, vectors: baseVec.data, nodes: baseFile.nodes };

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
    for (const id of d.rows.deleted) where.delete(id);
    for (let i = 0; i < d.rows.ids.length; i++) where.set(d.rows.ids[i]!, [k, i]);
  });
  const d0 = dim ?? 0;
  const ids: string[] = new Array(where.size);
  const nodes: string[] = new Array(where.size);
  const vectors = new Float32Array(where.size * d0);
  let r = 0;
  for (const [id, [src, i]] of where) {
    ids[r] = id;
    if (src < 0) {
      nodes[r] = baseFile.nodes[i]!;
      vectors.set(baseVec.data.subarray(i * d0, (i + 1) * d0), r * d0);
    } else {
      const d = loaded[src]!;
      nodes[r] = d.rows.nodes[i]!;
      vectors.set(d.vec.data.subarray(i * d0, (i + 1) * d0), r * d0);
    }
    r++;
  }
  return { dim, metric, ids, vectors, nodes };
}

export { rowIndex };
