/**
 * The Larder persistence format: component files named by generation plus a manifest
 * (`larder.json`) written last, atomically and conditionally.
 *
 * Commit protocol (see docs/persistence.md):
 *  1. read the current manifest and its etag (generation G, or none) and check it is the generation
 *     the writer's data is based on (the one its context loaded or last committed), else CONFLICT;
 *  2. write every changed component under generation G+1 with a random writer token in the name;
 *     unchanged components keep pointing at their existing files;
 *  3. write `larder.json` (which carries its own checksum) with `ifMatch` = the etag read in 1 (or
 *     `"absent"`): a compare-and-swap, so a concurrent writer that committed meanwhile makes this
 *     fail with CONFLICT and nothing visible changes;
 *  4. re-read the manifest and delete files of older generations that it does not reference.
 * A crash before 3 leaves generation G intact (plus orphans that a later commit removes).
 */
import { createHash, randomBytes } from "node:crypto";
import { endianness } from "node:os";
import { errors, isStorageError } from "../errors.js";
import type { FileSystem } from "../fs/types.js";
import { joinPath, readChunks, readFile, writeHashed } from "./fs-io.js";
import { ByteLineSplitter, Utf8LineSplitter, treeLines, utf8Chunks } from "./json-stream.js";
import {
  type ComponentEntry,
  type ComponentKind,
  type FileRef,
  type LarderManifest,
  LARDER_FORMAT_VERSION,
  MANIFEST_FILE,
  type SkippedEntry,
  type VectorFileRef,
  componentFileName,
  entryFiles,
  encodeManifest,
  generationOfFile,
  parseManifest,
} from "./manifest.js";
import { AsyncHashingCounter, sha256Hex } from "./sha256.js";

const LITTLE_ENDIAN = endianness() === "LE";

/** Packed vectors handed to / returned by the format. */
export interface PackedVectors {
  dim: number;
  count: number;
  /** `count * dim` floats, row-major. */
  data: Float32Array;
}

/** Where and under which generation a component writes its files. */
export interface ComponentWriteContext {
  fs: FileSystem;
  dir: string;
  generation: number;
  token: string;
  /** The component's entry in the manifest being replaced, if any. */
  previous: ComponentEntry | undefined;
  /** File name for this generation: `gNNNNNN-token.<suffix>`. */
  fileName(suffix: string): string;
}

/** One in-memory store to persist, and how to write it. */
export interface LarderComponent {
  /** Manifest key: `docstore`, `index_store`, `vector_store/default`, ... */
  name: string;
  kind: ComponentKind;
  namespace?: string;
  storeName: string;
  /**
   * Writes the component's files (or reuses `previous` when nothing changed) and returns its
   * manifest entry. `reused` tells whether no file was written.
   */
  write(ctx: ComponentWriteContext): Promise<{ entry: ComponentEntry; reused: boolean }>;
  /** Called once the manifest referencing `entry` is committed (to remember what is on disk). */
  committed?(entry: ComponentEntry): void;
}

/** Writes `lines` as this generation's `{suffix}.jsonl` and describes it as a "json-tree-lines" entry. */
export async function writeTreeLinesEntry(
  ctx: ComponentWriteContext,
  args: { kind: ComponentKind; storeName: string; suffix: string },
  lines: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
): Promise<ComponentEntry> {
  const file = ctx.fileName(`${args.suffix}.jsonl`);
  const w = await writeHashed(ctx.fs, joinPath(ctx.dir, file), utf8Chunks(lines));
  return {
    kind: args.kind,
    file,
    bytes: w.bytes,
    sha256: w.sha256,
    encoding: "json-tree-lines",
    generation: ctx.generation,
    store: args.storeName,
  };
}

/** A JSON value written as tree lines; `unchanged()` lets a store with a mutation counter skip the write. */
export function jsonTreeComponent(args: {
  name: string;
  kind: ComponentKind;
  storeName: string;
  suffix: string;
  depth: number;
  tree: () => unknown;
  /** True when the store did not change since `previous` was written (e.g. same mutation counter). */
  unchanged?: (previous: ComponentEntry) => boolean;
  committed?: (entry: ComponentEntry) => void;
}): LarderComponent {
  const component: LarderComponent = {
    name: args.name,
    kind: args.kind,
    storeName: args.storeName,
    async write(ctx) {
      if (ctx.previous && ctx.previous.encoding === "json-tree-lines" && args.unchanged?.(ctx.previous)) {
        return { entry: ctx.previous, reused: true };
      }
      return { entry: await writeTreeLinesEntry(ctx, args, treeLines(args.tree(), args.depth)), reused: false };
    },
  };
  if (args.committed) component.committed = args.committed;
  return component;
}

export interface ManifestRead {
  manifest: LarderManifest;
  etag: string | undefined;
  /** SHA-256 of the manifest file: identifies the committed generation (see {@link LarderBase}). */
  fileSha256: string;
}

/**
 * Reads `larder.json` with a consistent etag; `undefined` when there is none. The manifest's own
 * checksum is verified (CORRUPT when it fails; see `parseManifest`).
 */
export async function readManifest(fs: FileSystem, dir: string): Promise<ManifestRead | undefined> {
  const path = joinPath(dir, MANIFEST_FILE);
  for (let attempt = 0; ; attempt++) {
    const before = await fs.stat(path);
    if (!before) return undefined;
    let bytes: Uint8Array;
    try {
      bytes = await fs.read(path);
    } catch (err) {
      if (isStorageError(err, "NOT_FOUND") && attempt < 5) continue;
      throw err;
    }
    const after = await fs.stat(path);
    // A commit between the stat and the read would pair new bytes with an old etag: re-read.
    if (before.etag !== after?.etag && attempt < 5) continue;
    const parsed = parseManifest(bytes, path);
    return { manifest: parsed.manifest, etag: after?.etag, fileSha256: parsed.fileSha256 };
  }
}

function newToken(): string {
  return randomBytes(4).toString("hex");
}

/** Writes packed float32 rows (little-endian on disk whatever the host). */
export async function writeVectors(fs: FileSystem, dir: string, file: string, v: PackedVectors): Promise<VectorFileRef> {
  if (v.data.length !== v.dim * v.count) {
    throw errors.invalid(`vector data has ${v.data.length} floats, expected ${v.count} x ${v.dim}`);
  }
  const CHUNK = 1 << 22;
  function* chunks(): Generator<Uint8Array> {
    const bytes = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
    for (let off = 0; off < bytes.byteLength; off += CHUNK) {
      const part = bytes.subarray(off, Math.min(off + CHUNK, bytes.byteLength));
      yield LITTLE_ENDIAN ? part : swap32(part);
    }
  }
  const w = await writeHashed(fs, joinPath(dir, file), chunks());
  return { file, bytes: w.bytes, sha256: w.sha256, dtype: "float32le", dim: v.dim, count: v.count };
}

function swap32(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; i += 4) {
    out[i] = bytes[i + 3]!;
    out[i + 1] = bytes[i + 2]!;
    out[i + 2] = bytes[i + 1]!;
    out[i + 3] = bytes[i]!;
  }
  return out;
}

/**
 * A committed generation a context's data is based on: the one it loaded, or the one it last
 * committed. `fileSha256` (the manifest file's hash) tells two commits of one generation number
 * apart, should a file system ever let that happen.
 */
export interface LarderBase {
  generation: number;
  fileSha256: string;
}

export interface WriteLarderOptions {
  writer?: string;
  now?: () => Date;
  /**
   * What the caller's data is based on. `null`: nothing (a context that loaded no store here), so
   * a directory that holds a manifest is CONFLICT. A {@link LarderBase}: that generation must still
   * be the current one, else CONFLICT naming both. `undefined`: replace whatever is current
   * (`overwrite`). Whatever it is, the manifest write is a compare-and-swap on the manifest read at
   * the start, so a writer that commits meanwhile makes this one fail with CONFLICT.
   */
  base?: LarderBase | null;
}

export interface WriteLarderResult {
  manifest: LarderManifest;
  /** Component names whose previous files were reused as they were. */
  reused: string[];
  /** The committed generation (what the next commit of this writer is based on). */
  base: LarderBase;
}

function describeBase(base: LarderBase | null): string {
  return base === null ? "no store (it did not load one from here)" : `generation ${base.generation}`;
}

/** CONFLICT unless `current` is what `base` says (see {@link WriteLarderOptions.base}). */
function checkBase(base: LarderBase | null | undefined, current: ManifestRead | undefined, path: string): void {
  if (base === undefined) return;
  const currentGen = current?.manifest.generation;
  if (base === null ? current === undefined : current !== undefined && current.manifest.generation === base.generation && current.fileSha256 === base.fileSha256) return;
  const details = { file: path, expectedGeneration: base?.generation ?? null, currentGeneration: currentGen ?? null };
  if (current === undefined) {
    throw errors.conflict(
      `${path} is gone: this context is based on generation ${base!.generation}, and the directory has no store any more. ` +
        "Persist with {overwrite: true} to write this context's state there anyway.",
      { details },
    );
  }
  const what =
    base !== null && base.generation === currentGen
      ? `holds another commit of generation ${currentGen} than the one this context is based on`
      : `is at generation ${currentGen}, but this context is based on ${describeBase(base)}`;
  throw errors.conflict(
    `${path} ${what}: another writer committed since, and persisting would drop its changes. ` +
      "Reload (StorageContext.fromPersistDir) and re-apply your changes, then persist again; " +
      `or persist with {overwrite: true} to replace generation ${currentGen} with this context's state.`,
    { details },
  );
}

/** Persists components as a new generation and commits it (see the protocol above). */
export async function writeLarder(
  fs: FileSystem,
  dir: string,
  components: readonly LarderComponent[],
  skipped: Record<string, SkippedEntry>,
  options: WriteLarderOptions = {},
): Promise<WriteLarderResult> {
  const manifestPath = joinPath(dir, MANIFEST_FILE);
  const current = await readManifest(fs, dir);
  checkBase(options.base, current, manifestPath);
  const generation = (current?.manifest.generation ?? 0) + 1;
  const token = newToken();
  const entries: Record<string, ComponentEntry> = {};
  const reused: string[] = [];
  const fileName = (suffix: string) => componentFileName(generation, token, suffix);
  try {
    // Components are written side by side: one's fsync/upload overlaps another's serialisation.
    const written = await Promise.allSettled(
      components.map((c) => c.write({ fs, dir, generation, token, previous: current?.manifest.components[c.name], fileName })),
    );
    written.forEach((r, i) => {
      if (r.status === "fulfilled") {
        entries[components[i]!.name] = r.value.entry;
        if (r.value.reused) reused.push(components[i]!.name);
      }
    });
    const failed = written.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  } catch (err) {
    await deleteFiles(fs, dir, filesOfToken(entries, generation, token)).catch(() => undefined);
    throw err;
  }

  const manifest: LarderManifest = {
    format: "larder",
    formatVersion: LARDER_FORMAT_VERSION,
    generation,
    createdAt: (options.now?.() ?? new Date()).toISOString(),
    writer: options.writer ?? "@larder/core",
    components: entries,
    skipped,
  };
  const body = encodeManifest(manifest);
  try {
    await fs.write(manifestPath, body, {
      // Without etags (a FileSystem that has none) the commit is unconditional: documented limitation.
      ...(current ? (current.etag !== undefined ? { ifMatch: { etag: current.etag } } : {}) : { ifMatch: "absent" as const }),
    });
  } catch (err) {
    // Our files (this writer's token) are unreferenced; remove them so a lost race leaves nothing behind.
    await deleteFiles(fs, dir, filesOfToken(entries, generation, token)).catch(() => undefined);
    if (isStorageError(err, "CONFLICT")) {
      const now = await readManifest(fs, dir).catch(() => undefined);
      const based = current ? `generation ${current.manifest.generation}` : "an empty directory";
      throw errors.conflict(
        `another writer committed ${manifestPath}${now ? ` (now generation ${now.manifest.generation})` : ""} while this one wrote generation ${generation} ` +
          `on top of ${based}; nothing of this persist was committed. Reload (StorageContext.fromPersistDir) and re-apply your changes, ` +
          "then persist again; or persist with {overwrite: true} to replace it.",
        {
          cause: err,
          details: { file: manifestPath, generation, expectedGeneration: current?.manifest.generation ?? null, currentGeneration: now?.manifest.generation ?? null },
        },
      );
    }
    throw err;
  }
  for (const c of components) c.committed?.(entries[c.name]!);
  // Cleanup works from the manifest as it is now (re-read: a later writer may have committed on
  // top of ours); it only deletes files of older generations that this manifest does not name.
  // Usually those are just the files the replaced manifest named and this one dropped (none at all
  // for a delta persist); every FULL_GC_EVERY generations the directory is listed, to collect
  // what crashed writers left.
  try {
    const now = await readManifest(fs, dir);
    if (now && now.manifest.generation >= generation) {
      if (!current || generation % FULL_GC_EVERY === 0) await collectGarbage(fs, dir, now.manifest);
      else await deleteFiles(fs, dir, droppedFiles(current.manifest, now.manifest));
    }
  } catch {
    // Best effort: leftovers go at the next commit.
  }
  await fs.cleanupTempFiles?.({ dir }).catch(() => undefined);
  return { manifest, reused, base: { generation, fileSha256: sha256Hex(body) } };
}

/** Whether two entries reference the same files with the same checksums. */
export function sameFiles(a: ComponentEntry, b: ComponentEntry): boolean {
  const fa = entryFiles(a);
  const fb = entryFiles(b);
  return fa.length === fb.length && fa.every((f, i) => f.file === fb[i]!.file && f.sha256 === fb[i]!.sha256);
}

/** Every this many generations, cleanup lists the directory (see {@link writeLarder}). */
const FULL_GC_EVERY = 8;

/** Files `before` names that `after` (a later generation) does not. */
function droppedFiles(before: LarderManifest, after: LarderManifest): string[] {
  const keep = new Set(Object.values(after.components).flatMap((e) => entryFiles(e).map((f) => f.file)));
  const out = new Set<string>();
  for (const e of Object.values(before.components)) {
    for (const f of entryFiles(e)) {
      const gen = generationOfFile(f.file);
      if (!keep.has(f.file) && gen !== undefined && gen < after.generation) out.add(f.file);
    }
  }
  return [...out];
}

/** Files of `entries` that this writer wrote (its generation and random token in the name). */
function filesOfToken(entries: Record<string, ComponentEntry>, generation: number, token: string): string[] {
  const mine = componentFileName(generation, token, "");
  return Object.values(entries)
    .flatMap((e) => entryFiles(e).map((f) => f.file))
    .filter((f) => f.startsWith(mine));
}

async function deleteFiles(fs: FileSystem, dir: string, files: readonly string[]): Promise<void> {
  if (files.length === 0) return;
  const paths = files.map((f) => joinPath(dir, f));
  if (fs.deleteMany) await fs.deleteMany(paths);
  else await Promise.all(paths.map((p) => fs.delete(p)));
}

/**
 * Deletes component files of generations older than the manifest's that it does not reference.
 * Files of the same or later generations may belong to a writer still at work and are left alone
 * (a crashed writer's leftovers go at the next commit).
 */
export async function collectGarbage(fs: FileSystem, dir: string, manifest: LarderManifest): Promise<string[]> {
  const keep = new Set(Object.values(manifest.components).flatMap((e) => entryFiles(e).map((f) => f.file)));
  const prefix = dir === "" ? "" : `${dir.replace(/\/+$/, "")}/`;
  const listed = await fs.list(prefix);
  const garbage: string[] = [];
  for (const path of listed) {
    const name = path.slice(prefix.length);
    if (name.includes("/")) continue;
    const gen = generationOfFile(name);
    if (gen !== undefined && gen < manifest.generation && !keep.has(name)) garbage.push(name);
  }
  await deleteFiles(fs, dir, garbage);
  return garbage;
}

function checkSize(ref: FileRef, path: string, actual: number): void {
  if (actual !== ref.bytes) {
    throw errors.corrupt(`${path} has ${actual} bytes, the manifest says ${ref.bytes} (truncated or overwritten)`, {
      details: { file: path, expectedBytes: ref.bytes, actualBytes: actual },
    });
  }
}

function checkSha(ref: FileRef, path: string, actual: string): void {
  if (actual !== ref.sha256) {
    throw errors.corrupt(`${path} fails its SHA-256 check (manifest ${ref.sha256.slice(0, 12)}..., file ${actual.slice(0, 12)}...)`, {
      details: { file: path },
    });
  }
}

/**
 * Feeds a file's lines to `onLine` while checking its size and SHA-256 against `ref`. A checksum
 * or size mismatch is CORRUPT naming the file, and wins over any error `onLine` threw (which is
 * rethrown only for a file that verified). Callers discard what they built when this throws.
 */
export async function readVerifiedLines(fs: FileSystem, dir: string, ref: FileRef, what: string, onLine: (line: string) => void): Promise<void> {
  const state: LineState = { error: undefined };
  const splitter = new Utf8LineSplitter((line) => {
    if (state.error !== undefined) return;
    try {
      onLine(line);
    } catch (err) {
      state.error = err;
    }
  });
  await readVerified(fs, dir, ref, what, splitter, state);
}

/**
 * {@link readVerifiedLines} without decoding: each line is `bytes[start..end)` of the chunk it was
 * read in (see {@link ByteLineSplitter}), for callers that keep values as the bytes they loaded.
 */
export async function readVerifiedLineBytes(
  fs: FileSystem,
  dir: string,
  ref: FileRef,
  what: string,
  onLine: (bytes: Buffer, start: number, end: number) => void,
): Promise<void> {
  const state: LineState = { error: undefined };
  const splitter = new ByteLineSplitter((bytes, start, end) => {
    if (state.error !== undefined) return;
    try {
      onLine(bytes, start, end);
    } catch (err) {
      state.error = err;
    }
  });
  await readVerified(fs, dir, ref, what, splitter, state);
}

/** The first error a line callback threw (later lines are skipped). */
interface LineState {
  error: unknown;
}

async function readVerified(
  fs: FileSystem,
  dir: string,
  ref: FileRef,
  what: string,
  splitter: { push(chunk: Uint8Array): void; end(): void },
  state: LineState,
): Promise<void> {
  const path = joinPath(dir, ref.file);
  const stat = await fs.stat(path);
  if (!stat) throw errors.notFound(`${path} (${what}) is missing`, { details: { file: path } });
  checkSize(ref, path, stat.size);
  // A big file is hashed on a worker thread while this thread splits and parses it; the load
  // still waits for the digest (and fails with CORRUPT) before anything is returned.
  const counter = new AsyncHashingCounter();
  try {
    for await (const chunk of readChunks(fs, path)) {
      counter.update(chunk);
      splitter.push(chunk);
    }
    splitter.end();
  } catch (err) {
    counter.discard();
    throw err;
  }
  if (counter.bytes !== ref.bytes) counter.discard();
  checkSize(ref, path, counter.bytes);
  checkSha(ref, path, await counter.digest());
  const lineError = state.error;
  if (lineError !== undefined) {
    if (isStorageError(lineError)) throw lineError;
    throw errors.corrupt(`${path}: ${(lineError as Error)?.message ?? String(lineError)}`, { cause: lineError, details: { file: path } });
  }
}

export async function readVectors(fs: FileSystem, dir: string, ref: VectorFileRef): Promise<PackedVectors> {
  const path = joinPath(dir, ref.file);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(fs, path);
  } catch (err) {
    if (isStorageError(err, "NOT_FOUND")) throw errors.notFound(`${path} (packed vectors) is missing`, { cause: err, details: { file: path } });
    throw err;
  }
  checkSize(ref, path, bytes.byteLength);
  // Hashed on the worker thread (in slices) while other components' files are parsed.
  const counter = new AsyncHashingCounter();
  const SLICE = 1 << 22;
  for (let off = 0; off < bytes.byteLength; off += SLICE) counter.update(bytes.subarray(off, Math.min(off + SLICE, bytes.byteLength)));
  checkSha(ref, path, await counter.digest());
  let data: Float32Array;
  if (!LITTLE_ENDIAN) {
    const swapped = swap32(bytes);
    data = new Float32Array(swapped.buffer, swapped.byteOffset, ref.dim * ref.count);
  } else if (bytes.byteOffset % 4 === 0) {
    data = new Float32Array(bytes.buffer, bytes.byteOffset, ref.dim * ref.count);
  } else {
    data = new Float32Array(bytes.slice().buffer, 0, ref.dim * ref.count);
  }
  return { dim: ref.dim, count: ref.count, data };
}

/**
 * Reads a packed vectors file straight into `target` (exactly `ref.bytes` long: the vector kernel's
 * memory), verifying size and SHA-256 like {@link readVectors}. Uses `FileSystem.readInto` when the
 * file system has it (one copy, from the page cache); otherwise the bytes are read and copied.
 * Little-endian hosts only (callers use {@link readVectors} elsewhere).
 */
export async function readVectorsInto(fs: FileSystem, dir: string, ref: VectorFileRef, target: Uint8Array): Promise<void> {
  const path = joinPath(dir, ref.file);
  if (!LITTLE_ENDIAN || target.byteLength !== ref.bytes) throw new RangeError("readVectorsInto: little-endian host and an exact target only");
  if (!fs.readInto) {
    const v = await readVectors(fs, dir, ref);
    target.set(new Uint8Array(v.data.buffer, v.data.byteOffset, ref.bytes));
    return;
  }
  const stat = await fs.stat(path);
  if (!stat) throw errors.notFound(`${path} (packed vectors) is missing`, { details: { file: path } });
  checkSize(ref, path, stat.size);
  let n: number;
  try {
    n = await fs.readInto(path, target);
  } catch (err) {
    if (isStorageError(err, "NOT_FOUND")) throw errors.notFound(`${path} (packed vectors) is missing`, { cause: err, details: { file: path } });
    throw err;
  }
  checkSize(ref, path, n);
  // Hashed in place on this thread, 64 MiB at a time with a yield in between (the rows file is
  // parsed meanwhile). Handing the slices to the hashing worker would copy all of them at once
  // (nothing is returned to its buffer pool during a synchronous loop): 1.5 GB more at 1M x 384.
  const hash = createHash("sha256");
  const SLICE = 1 << 26;
  for (let off = 0; off < n; off += SLICE) {
    hash.update(target.subarray(off, Math.min(off + SLICE, n)));
    if (off + SLICE < n) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  checkSha(ref, path, hash.digest("hex"));
}

/**
 * Reads the current generation with `load` (which reads the components it needs). When a file
 * vanished because a concurrent writer committed a newer generation and collected the old files,
 * the read starts over on the new manifest (a few times); a file missing for any other reason is
 * NOT_FOUND naming it.
 */
export async function readLarder<T>(
  fs: FileSystem,
  dir: string,
  load: (manifest: LarderManifest) => Promise<T>,
): Promise<{ manifest: LarderManifest; value: T; base: LarderBase } | undefined> {
  for (let attempt = 0; ; attempt++) {
    const read = await readManifest(fs, dir);
    if (!read) return undefined;
    try {
      return { manifest: read.manifest, value: await load(read.manifest), base: { generation: read.manifest.generation, fileSha256: read.fileSha256 } };
    } catch (err) {
      if (attempt < 3 && isStorageError(err) && (err.code === "NOT_FOUND" || err.code === "CORRUPT")) {
        const again = await readManifest(fs, dir).catch(() => undefined);
        if (again && again.manifest.generation !== read.manifest.generation) continue;
      }
      throw err;
    }
  }
}
