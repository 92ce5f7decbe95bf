import { randomBytes } from "node:crypto";
import { promises as fsp, type Dirent } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { StorageError, isStorageError } from "../errors.js";
import { Mutex } from "../docstore/mutex.js";
import { checkCondition } from "./memory-file-system.js";
import { compareCodePoints, toBytes, validatePath, validatePrefix } from "./path.js";
import type { FileStat, FileSystem, WriteOptions } from "./types.js";

export interface LocalFileSystemOptions {
  /** Name used in errors. Default `"LocalFileSystem"`. */
  name?: string;
  /** fsync file and directory on every write (default true). Turning it off trades crash safety for speed. */
  fsync?: boolean;
}

/** Temp files: `.<name>.<16 hex>.larder-tmp`, next to their target, so the final rename is atomic. */
const TEMP_SUFFIX = ".larder-tmp";
const TEMP_RE = /^\..*\.[0-9a-f]{16}\.larder-tmp$/s;

export function isTempFileName(name: string): boolean {
  return TEMP_RE.test(name);
}

// Conditional writes on the same absolute path are serialized process-wide (all instances).
const pathLocks = new Map<string, { mutex: Mutex; users: number }>();

async function withPathLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  let l = pathLocks.get(key);
  if (!l) {
    l = { mutex: new Mutex(), users: 0 };
    pathLocks.set(key, l);
  }
  l.users++;
  try {
    return await l.mutex.run(fn);
  } finally {
    if (--l.users === 0) pathLocks.delete(key);
  }
}

/**
 * A {@link FileSystem} on the local disk under `root`.
 *
 * - `write` is atomic: bytes go to a temp file in the target's directory, which is fsynced and
 *   renamed over the target (then the directory is fsynced). Readers see the old or the new file.
 * - `ifMatch: "absent"` publishes the temp file with `link()`, which fails if the target exists,
 *   so of two racing writers (even in different processes) exactly one wins.
 * - `ifMatch: {etag}` compares and renames under a per-path lock: exact within one process;
 *   between processes the compare and the rename can still interleave.
 * - Temp files are never listed; `LocalFileSystem.open()` (or `cleanupTempFiles()`) removes
 *   orphans left by a crash. The constructor does no I/O; the root is created on first write.
 */
/** Bytes per read syscall in `readStream`. */
const READ_BYTES = 1 << 20;
/** Largest buffer `readStream` allocates at once (a file is read into views of such slabs). */
const SLAB_BYTES = 64 << 20;
/** Bytes per read syscall in `readInto` (straight into the caller's buffer). */
const READ_INTO_BYTES = 8 << 20;
/** Slab for reads past the length the file had when opened. */
const TAIL_BYTES = 64 << 10;

export class LocalFileSystem implements FileSystem {
  readonly name: string;
  readonly root: string;
  readonly #fsync: boolean;

  constructor(root: string, options: LocalFileSystemOptions = {}) {
    this.name = options.name ?? "LocalFileSystem";
    if (typeof root !== "string" || root === "") {
      throw new StorageError("INVALID_ARGUMENT", "root must be a non-empty path", { store: this.name });
    }
    this.root = resolve(root);
    this.#fsync = options.fsync ?? true;
  }

  /** Creates the root if needed and removes orphan temp files older than `tempMaxAgeMs` (default 60 s). */
  static async open(root: string, options: LocalFileSystemOptions & { tempMaxAgeMs?: number } = {}): Promise<LocalFileSystem> {
    const lfs = new LocalFileSystem(root, options);
    await fsp.mkdir(lfs.root, { recursive: true }).catch((e: unknown) => {
      throw lfs.#ioError(e, "create root", "");
    });
    await lfs.cleanupTempFiles({ olderThanMs: options.tempMaxAgeMs ?? 60_000 });
    return lfs;
  }

  /**
   * Removes temp files left by crashed writers; resolves how many. Only files older than
   * `olderThanMs` are touched, so a write in progress in another process is not broken.
   */
  async cleanupTempFiles(options: { olderThanMs?: number } = {}): Promise<number> {
    const cutoff = Date.now() - (options.olderThanMs ?? 60_000);
    let removed = 0;
    for (const { abs, name } of await this.#walk(this.root, true)) {
      if (!isTempFileName(name)) continue;
      try {
        const st = await fsp.stat(abs);
        if (st.mtimeMs <= cutoff) {
          await fsp.unlink(abs);
          removed++;
        }
      } catch {
        // Best effort: it may have been renamed or removed meanwhile.
      }
    }
    return removed;
  }

  async read(path: string): Promise<Uint8Array> {
    const abs = this.#resolve(path);
    try {
      const buf = await fsp.readFile(abs);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      throw this.#ioError(e, "read", path);
    }
  }

  async *readStream(path: string): AsyncIterable<Uint8Array> {
    const fh = await this.#openForRead(path);
    try {
      // Reads of up to 1 MiB go into slabs of up to 64 MiB sized from the file's length, and each
      // chunk yielded is a view of its slab: one big allocation per file instead of one per chunk
      // (fresh ArrayBuffers make V8 collect garbage for "external memory pressure"). No slab is
      // ever written twice, so every chunk stays the caller's; a slab lives while a view does.
      let remaining = (await fh.stat()).size;
      let slab = new Uint8Array(0);
      let used = 0;
      for (;;) {
        if (used === slab.length) {
          // Past the length stat gave (a growing file, or the final empty read): small slabs.
          slab = new Uint8Array(Buffer.allocUnsafeSlow(remaining > 0 ? Math.min(SLAB_BYTES, remaining) : TAIL_BYTES).buffer);
          used = 0;
        }
        const { bytesRead } = await fh.read(slab, used, Math.min(READ_BYTES, slab.length - used), null);
        if (bytesRead === 0) break;
        yield slab.subarray(used, used + bytesRead);
        used += bytesRead;
        remaining = Math.max(0, remaining - bytesRead);
      }
    } catch (e) {
      throw this.#ioError(e, "read", path);
    } finally {
      await fh.close();
    }
  }

  async readInto(path: string, target: Uint8Array): Promise<number> {
    const fh = await this.#openForRead(path);
    try {
      let off = 0;
      while (off < target.length) {
        const { bytesRead } = await fh.read(target, off, Math.min(READ_INTO_BYTES, target.length - off), off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return off;
    } catch (e) {
      throw this.#ioError(e, "read", path);
    } finally {
      await fh.close();
    }
  }

  /** Opens an existing file for reading; errors as `read` reports them (NOT_FOUND, ...). */
  async #openForRead(path: string): Promise<fsp.FileHandle> {
    const abs = this.#resolve(path);
    try {
      return await fsp.open(abs, "r");
    } catch (e) {
      throw this.#ioError(e, "read", path);
    }
  }

  async write(path: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const abs = this.#resolve(path);
    const bytes = toBytes(data);
    await this.#atomicWrite(path, abs, options, async (fh) => {
      await fh.writeFile(bytes);
    });
  }

  async writeStream(path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: WriteOptions = {}): Promise<void> {
    const abs = this.#resolve(path);
    await this.#atomicWrite(path, abs, options, async (fh) => {
      for await (const c of chunks) await fh.write(toBytes(c));
    });
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  async list(prefix = ""): Promise<string[]> {
    validatePrefix(prefix, this.name);
    const slash = prefix.lastIndexOf("/");
    const dirRel = slash >= 0 ? prefix.slice(0, slash) : "";
    const start = dirRel ? join(this.root, ...dirRel.split("/")) : this.root;
    const out: string[] = [];
    for (const { rel, name } of await this.#walk(start, false, dirRel)) {
      if (!isTempFileName(name) && rel.startsWith(prefix)) out.push(rel);
    }
    return out.sort(compareCodePoints);
  }

  async delete(path: string): Promise<boolean> {
    const abs = this.#resolve(path);
    try {
      await fsp.unlink(abs);
    } catch (e) {
      const code = errno(e);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR" || code === "EPERM") {
        if (code === "EPERM" && !(await isDirectory(abs))) throw this.#ioError(e, "delete", path);
        return false;
      }
      throw this.#ioError(e, "delete", path);
    }
    await this.#pruneEmptyDirs(dirname(abs));
    return true;
  }

  async deleteMany(paths: readonly string[]): Promise<number> {
    if (!Array.isArray(paths)) throw new StorageError("INVALID_ARGUMENT", "paths must be an array", { store: this.name });
    for (const p of paths) this.#resolve(p);
    // Local unlinks are cheap system calls, not network round trips; run them concurrently.
    const results = await Promise.all([...new Set(paths)].map((p) => this.delete(p)));
    return results.filter(Boolean).length;
  }

  async stat(path: string): Promise<FileStat | undefined> {
    const abs = this.#resolve(path);
    try {
      const st = await fsp.stat(abs, { bigint: true });
      if (!st.isFile()) return undefined;
      return { size: Number(st.size), mtimeMs: Number(st.mtimeMs), etag: etagOf(st) };
    } catch (e) {
      const code = errno(e);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw this.#ioError(e, "stat", path);
    }
  }

  async close(): Promise<void> {}

  #resolve(path: string): string {
    validatePath(path, this.name);
    const segs = path.split("/");
    if (isTempFileName(segs[segs.length - 1]!)) {
      throw new StorageError("INVALID_ARGUMENT", `names like ${JSON.stringify(segs[segs.length - 1])} are reserved for temp files`, {
        store: this.name,
      });
    }
    const abs = join(this.root, ...segs);
    // Defence in depth: validatePath already rules out every way out of the root.
    if (!abs.startsWith(this.root + sep)) {
      throw new StorageError("INVALID_ARGUMENT", `path escapes the root: ${JSON.stringify(path)}`, { store: this.name });
    }
    return abs;
  }

  async #atomicWrite(path: string, abs: string, options: WriteOptions, fill: (fh: fsp.FileHandle) => Promise<void>): Promise<void> {
    const cond = options.ifMatch;
    if (cond !== undefined && cond !== "absent" && (typeof cond !== "object" || cond === null || typeof cond.etag !== "string")) {
      throw new StorageError("INVALID_ARGUMENT", 'ifMatch must be "absent" or {etag: string}', { store: this.name });
    }
    const dir = dirname(abs);
    const tmp = join(dir, `.${basename(abs).slice(0, 100)}.${randomBytes(8).toString("hex")}${TEMP_SUFFIX}`);
    let fh: fsp.FileHandle | undefined;
    // A concurrent delete may prune the directory between mkdir and open: retry a few times.
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.mkdir(dir, { recursive: true });
        fh = await fsp.open(tmp, "wx", 0o666);
        break;
      } catch (e) {
        if (errno(e) === "ENOENT" && attempt < 5) continue;
        throw this.#ioError(e, "write", path);
      }
    }
    let published = false;
    try {
      try {
        await fill(fh);
        if (this.#fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      if (cond === "absent") {
        await this.#publishIfAbsent(path, tmp, abs);
      } else if (cond !== undefined) {
        await withPathLock(abs, async () => {
          checkCondition(options, (await this.stat(path))?.etag, path, this.name);
          await fsp.rename(tmp, abs);
        });
      } else {
        await fsp.rename(tmp, abs);
      }
      published = true;
      if (this.#fsync) await fsyncDir(dir);
    } catch (e) {
      throw this.#ioError(e, "write", path);
    } finally {
      if (!published || cond === "absent") await fsp.unlink(tmp).catch(() => undefined);
    }
  }

  async #publishIfAbsent(path: string, tmp: string, abs: string): Promise<void> {
    try {
      // link() refuses to replace an existing file: an atomic create-if-absent across processes.
      await fsp.link(tmp, abs);
    } catch (e) {
      const code = errno(e);
      if (code === "EEXIST") throw new StorageError("CONFLICT", `file already exists: ${JSON.stringify(path)}`, { store: this.name });
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
      // File systems without hard links: exact within this process only.
      await withPathLock(abs, async () => {
        if (await this.exists(path)) throw new StorageError("CONFLICT", `file already exists: ${JSON.stringify(path)}`, { store: this.name });
        await fsp.rename(tmp, abs);
      });
    }
  }

  async #pruneEmptyDirs(dir: string): Promise<void> {
    let d = dir;
    while (d.startsWith(this.root + sep)) {
      try {
        await fsp.rmdir(d);
      } catch {
        return; // not empty (or gone): stop
      }
      d = dirname(d);
    }
  }

  /** Files under `start`, recursively (iterative walk). Missing start: empty. */
  async #walk(start: string, includeTemp: boolean, startRel = ""): Promise<{ abs: string; rel: string; name: string }[]> {
    const out: { abs: string; rel: string; name: string }[] = [];
    const stack: [string, string][] = [[start, startRel]];
    while (stack.length) {
      const [abs, rel] = stack.pop()!;
      let entries: Dirent[];
      try {
        entries = await fsp.readdir(abs, { withFileTypes: true });
      } catch (e) {
        const code = errno(e);
        if (code === "ENOENT" || code === "ENOTDIR") continue;
        throw this.#ioError(e, "list", rel);
      }
      for (const ent of entries) {
        const name = String(ent.name);
        const childRel = rel ? `${rel}/${name}` : name;
        if (ent.isDirectory()) stack.push([join(abs, name), childRel]);
        else if (ent.isFile() && (includeTemp || !isTempFileName(name))) out.push({ abs: join(abs, name), rel: childRel, name });
      }
    }
    return out;
  }

  #ioError(e: unknown, op: string, path: string): StorageError {
    if (isStorageError(e)) return e;
    const code = errno(e);
    const where = `${op} ${JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}…` : path)}`;
    const o = { store: this.name, cause: e, details: { errno: code } };
    if (op === "write" && (code === "EISDIR" || code === "ENOTDIR")) {
      return new StorageError("CONFLICT", `${where}: a file and a directory clash on this path`, o);
    }
    switch (code) {
      case "ENOENT":
      case "EISDIR":
        return new StorageError("NOT_FOUND", `${where}: no such file`, o);
      case "ENAMETOOLONG":
        return new StorageError("INVALID_ARGUMENT", `${where}: name too long for this file system`, o);
      case "EILSEQ":
        return new StorageError("INVALID_ARGUMENT", `${where}: name not representable on this file system`, o);
      case "ENOTDIR":
      case "EEXIST":
        return new StorageError("CONFLICT", `${where}: a file and a directory clash on this path`, o);
      default:
        return new StorageError("CONNECTION", `${where} failed: ${e instanceof Error ? e.message : String(e)}`, o);
    }
  }
}

function errno(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : undefined;
}

function etagOf(st: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  // Every write renames a fresh inode into place, so the inode number changes with each version.
  return `"${st.ino.toString(36)}-${st.size.toString(36)}-${st.mtimeNs.toString(36)}-${st.ctimeNs.toString(36)}"`;
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, "r");
    await fh.sync();
  } catch {
    // Some platforms cannot fsync a directory (Windows); the rename is still atomic there.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

async function isDirectory(abs: string): Promise<boolean> {
  try {
    return (await fsp.stat(abs)).isDirectory();
  } catch {
    return false;
  }
}
