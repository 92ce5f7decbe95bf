import { StorageError } from "../errors.js";
import { compareCodePoints, concatBytes, toBytes, validatePath, validatePrefix } from "./path.js";
import type { FileStat, FileSystem, WriteOptions } from "./types.js";

interface Entry {
  data: Uint8Array;
  mtimeMs: number;
  version: number;
}

let versions = 0;

/**
 * A {@link FileSystem} in memory, with the same semantics as the local one (path rules, atomic
 * writes, conditional writes with etags). Bytes are copied in and out. Useful for tests and for
 * `memory://name` URLs (one shared instance per name and process, see `resolveFileSystem`).
 */
export class MemoryFileSystem implements FileSystem {
  readonly name: string;
  readonly #files = new Map<string, Entry>();

  constructor(options: { name?: string } = {}) {
    this.name = options.name ?? "MemoryFileSystem";
  }

  async read(path: string): Promise<Uint8Array> {
    validatePath(path, this.name);
    const e = this.#files.get(path);
    if (!e) throw new StorageError("NOT_FOUND", `no such file: ${JSON.stringify(path)}`, { store: this.name });
    return e.data.slice();
  }

  async *readStream(path: string): AsyncIterable<Uint8Array> {
    const data = await this.read(path);
    const chunk = 64 * 1024;
    for (let i = 0; i < data.length; i += chunk) yield data.slice(i, i + chunk);
  }

  async write(path: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    validatePath(path, this.name);
    const bytes = toBytes(data).slice();
    this.#commit(path, bytes, options);
  }

  async writeStream(path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: WriteOptions = {}): Promise<void> {
    validatePath(path, this.name);
    const parts: Uint8Array[] = [];
    // Each chunk is copied as it arrives: a producer may reuse its buffer for the next one.
    for await (const c of chunks) parts.push(toBytes(c).slice());
    const all = concatBytes(parts);
    // Nothing is visible until here: the commit is a single synchronous step.
    this.#commit(path, all, options);
  }

  async exists(path: string): Promise<boolean> {
    validatePath(path, this.name);
    return this.#files.has(path);
  }

  async list(prefix = ""): Promise<string[]> {
    validatePrefix(prefix, this.name);
    return [...this.#files.keys()].filter((p) => p.startsWith(prefix)).sort(compareCodePoints);
  }

  async delete(path: string): Promise<boolean> {
    validatePath(path, this.name);
    return this.#files.delete(path);
  }

  async deleteMany(paths: readonly string[]): Promise<number> {
    if (!Array.isArray(paths)) throw new StorageError("INVALID_ARGUMENT", "paths must be an array", { store: this.name });
    for (const p of paths) validatePath(p, this.name);
    let n = 0;
    for (const p of new Set(paths)) if (this.#files.delete(p)) n++;
    return n;
  }

  async stat(path: string): Promise<FileStat | undefined> {
    validatePath(path, this.name);
    const e = this.#files.get(path);
    return e ? { size: e.data.length, mtimeMs: e.mtimeMs, etag: etagOf(e) } : undefined;
  }

  async close(): Promise<void> {}

  #commit(path: string, bytes: Uint8Array, options: WriteOptions): void {
    const current = this.#files.get(path);
    checkCondition(options, current ? etagOf(current) : undefined, path, this.name);
    this.#files.set(path, { data: bytes, mtimeMs: Date.now(), version: ++versions });
  }
}

function etagOf(e: Entry): string {
  return `"m${e.version.toString(36)}-${e.data.length}"`;
}

/** Shared by the file systems: throws CONFLICT unless `options.ifMatch` holds for the current etag. */
export function checkCondition(options: WriteOptions, currentEtag: string | undefined, path: string, store: string): void {
  const cond = options.ifMatch;
  if (cond === undefined) return;
  if (cond === "absent") {
    if (currentEtag !== undefined) {
      throw new StorageError("CONFLICT", `file already exists: ${JSON.stringify(path)}`, { store });
    }
    return;
  }
  if (typeof cond !== "object" || cond === null || typeof cond.etag !== "string") {
    throw new StorageError("INVALID_ARGUMENT", 'ifMatch must be "absent" or {etag: string}', { store });
  }
  if (currentEtag !== cond.etag) {
    throw new StorageError(
      "CONFLICT",
      currentEtag === undefined
        ? `file ${JSON.stringify(path)} does not exist (expected etag ${cond.etag})`
        : `file ${JSON.stringify(path)} changed (etag ${currentEtag}, expected ${cond.etag})`,
      { store },
    );
  }
}
