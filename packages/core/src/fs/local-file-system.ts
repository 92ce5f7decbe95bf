import { createHash, randomBytes } from "node:crypto";
import { promises as fsp, type Dirent } from "node:fs";
import { hostname } from "node:os";
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

/**
 * Temp files: `.<name>.<16 hex>.<pid>@<host tag>.larder-tmp`, next to their target, so the final
 * rename is atomic. The writer's pid and a tag of its host name let cleanup tell a dead writer's
 * leftovers from a live writer's file (older versions wrote `.<name>.<16 hex>.larder-tmp`).
 * Commit claims (see {@link LocalFileSystem}): `.<name>.<16 hex>.larder-claim`.
 */
const TEMP_SUFFIX = ".larder-tmp";
const CLAIM_SUFFIX = ".larder-claim";
const TEMP_RE = /^\..*\.[0-9a-f]{16}(?:\.(\d{1,10})@([0-9a-f]{8}))?\.larder-tmp$/s;
const CLAIM_RE = /^\..*\.([0-9a-f]{12})[0-9a-f]{4}\.larder-claim$/s;

/** Names reserved for the file system's own temp and claim files: never listed, never writable. */
export function isTempFileName(name: string): boolean {
  return TEMP_RE.test(name) || CLAIM_RE.test(name);
}

const HOST = hostname();
const HOST_TAG = createHash("sha256").update(HOST).digest("hex").slice(0, 8);

/** Whether process `pid` of this host is alive (EPERM: it exists, owned by someone else). */
function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) !== "ESRCH";
  }
}

/** A claim older than this whose owner cannot be checked (another host) is stale. */
const FOREIGN_CLAIM_STALE_MS = 10 * 60_000;
/** A claim file without readable owner (being written, or a file system without hard links) counts as live this long. */
const UNREADABLE_CLAIM_LIVE_MS = 30_000;

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
 * - `ifMatch: {etag}` is a compare-and-swap across processes: the writer first *claims* the version
 *   it replaces by creating `.<name>.<hash of etag + n>.larder-claim` with `link()` (exclusive), then
 *   checks the etag again and renames. Only one writer can hold the claim on a version, so of two
 *   writers replacing the same version exactly one succeeds and the other gets `CONFLICT`. A claim
 *   whose owner died before renaming (a dead pid on this host; on another host, older than 10
 *   minutes) is passed over by claiming the next number `n+1` — claims are never taken away, so
 *   a live claimer is never overtaken. Within one process a per-path lock also serialises them.
 * - Temp files are never listed; they carry their writer's pid and host, and `cleanupTempFiles()`
 *   (called by `LocalFileSystem.open()`, and by persistence after each commit for its directory)
 *   removes those of dead writers. The constructor does no I/O; the root is created on first write.
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

  /** Creates the root if needed and removes orphan temp files (see {@link cleanupTempFiles}; `tempMaxAgeMs` default 60 s). */
  static async open(root: string, options: LocalFileSystemOptions & { tempMaxAgeMs?: number } = {}): Promise<LocalFileSystem> {
    const lfs = new LocalFileSystem(root, options);
    await fsp.mkdir(lfs.root, { recursive: true }).catch((e: unknown) => {
      throw lfs.#ioError(e, "create root", "");
    });
    await lfs.cleanupTempFiles({ olderThanMs: options.tempMaxAgeMs ?? 60_000 });
    return lfs;
  }

  /**
   * Removes temp files left by crashed writers; resolves how many. `dir`: only that directory
   * (not its subdirectories); default: the whole tree. A temp file of a writer on this host is
   * removed once that process is gone, never while it lives (up to a day without a write); one of
   * another host (or of an older version, without pid) once it is older than `olderThanMs`
   * (default 60 s). Commit claims of versions that are no longer current are removed too.
   */
  async cleanupTempFiles(options: { dir?: string; olderThanMs?: number } = {}): Promise<number> {
    const now = Date.now();
    const maxAge = options.olderThanMs ?? 60_000;
    let files: { abs: string; name: string }[];
    if (options.dir === undefined) files = await this.#walk(this.root, true);
    else {
      const start = options.dir.replace(/\/+$/, "") === "" ? this.root : this.#resolve(options.dir.replace(/\/+$/, ""));
      files = await this.#readDir(start);
    }
    let removed = 0;
    for (const { abs, name } of files) {
      try {
        if (CLAIM_RE.test(name)) {
          if (await this.#claimObsolete(abs, name)) {
            await fsp.unlink(abs);
            removed++;
          }
          continue;
        }
        const m = TEMP_RE.exec(name);
        if (!m) continue;
        const st = await fsp.stat(abs);
        const age = now - st.mtimeMs;
        const ours = m[2] === HOST_TAG;
        const dead = ours ? !pidAlive(Number(m[1])) || age > 24 * 3600_000 : age > maxAge;
        if (dead) {
          await fsp.unlink(abs);
          removed++;
        }
      } catch {
        // Best effort: it may have been renamed or removed meanwhile.
      }
    }
    return removed;
  }

  /** Whether a claim names a version its target no longer has (then nobody can need it again). */
  async #claimObsolete(abs: string, name: string): Promise<boolean> {
    const key = CLAIM_RE.exec(name)![1];
    const target = join(dirname(abs), name.slice(1, name.length - CLAIM_SUFFIX.length - 17));
    let etag: string | undefined;
    try {
      const st = await fsp.stat(target, { bigint: true });
      etag = st.isFile() ? etagOf(st) : undefined;
    } catch {
      etag = undefined;
    }
    // A name cut at 100 characters cannot be matched to its target: only its age can tell.
    if (basename(target).length >= 100) return Date.now() - (await fsp.stat(abs)).mtimeMs > FOREIGN_CLAIM_STALE_MS;
    // A claim on "absent" is current while the target does not exist; one on an etag while it has it.
    if (key === etagKey(ABSENT_VERSION)) return etag !== undefined;
    return etag === undefined || etagKey(etag) !== key;
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
    const tmp = tempName(dir, abs);
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
        await withPathLock(abs, () => this.#renameIfEtag(path, abs, tmp, options, cond.etag));
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

  /**
   * The compare-and-swap of `ifMatch: {etag}` (see the class comment): claim the version `etag`,
   * check it is still current, rename. The claim is dropped afterwards whatever happened: once the
   * rename is done the version is gone, and a failed attempt leaves it to the next claimer.
   */
  async #renameIfEtag(path: string, abs: string, tmp: string, options: WriteOptions, etag: string): Promise<void> {
    checkCondition(options, (await this.stat(path))?.etag, path, this.name);
    const claim = await this.#claim(path, abs, etag);
    try {
      checkCondition(options, (await this.stat(path))?.etag, path, this.name);
      await fsp.rename(tmp, abs);
    } finally {
      await fsp.unlink(claim).catch(() => undefined);
    }
  }

  /** Takes the claim on version `etag` of `abs` (see the class comment); resolves the claim file. */
  async #claim(path: string, abs: string, etag: string): Promise<string> {
    const dir = dirname(abs);
    const prefix = `.${basename(abs).slice(0, 100)}.${etagKey(etag)}`;
    const owner = `${JSON.stringify({ pid: process.pid, host: HOST, at: Date.now() })}\n`;
    // The claim is published with link() from a complete file, so its owner is always readable.
    const src = tempName(dir, abs);
    await fsp.writeFile(src, owner, { flag: "wx" });
    try {
      for (let n = 0; n < 0x10000; n++) {
        const claim = join(dir, `${prefix}${n.toString(16).padStart(4, "0")}${CLAIM_SUFFIX}`);
        for (;;) {
          if (await linkExclusive(src, claim, owner)) return claim;
          const state = await claimState(claim);
          if (state === "gone") continue; // its owner finished meanwhile: try this number again
          if (state === "live") {
            throw new StorageError("CONFLICT", `another writer is replacing this version of ${JSON.stringify(path)} right now`, {
              store: this.name,
              details: { claim: basename(claim) },
            });
          }
          break; // its owner died before renaming: pass it over
        }
      }
      throw new StorageError("CONFLICT", `too many abandoned claims on this version of ${JSON.stringify(path)}`, { store: this.name });
    } finally {
      await fsp.unlink(src).catch(() => undefined);
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
      // File systems without hard links: claim the "absent" version (claims then fall back to an
      // exclusive create), check, rename: still one winner across processes.
      await withPathLock(abs, async () => {
        const exists = () => new StorageError("CONFLICT", `file already exists: ${JSON.stringify(path)}`, { store: this.name });
        if (await this.exists(path)) throw exists();
        const claim = await this.#claim(path, abs, ABSENT_VERSION);
        try {
          if (await this.exists(path)) throw exists();
          await fsp.rename(tmp, abs);
        } finally {
          await fsp.unlink(claim).catch(() => undefined);
        }
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

  /** Files directly in `abs` (temp files included). Missing: empty. */
  async #readDir(abs: string): Promise<{ abs: string; name: string }[]> {
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(abs, { withFileTypes: true });
    } catch (e) {
      const code = errno(e);
      if (code === "ENOENT" || code === "ENOTDIR") return [];
      throw this.#ioError(e, "list", abs);
    }
    return entries.filter((e) => e.isFile()).map((e) => ({ abs: join(abs, String(e.name)), name: String(e.name) }));
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

/** A temp file next to `abs`, named after its writer (pid, host tag) so cleanup can tell whether it is alive. */
function tempName(dir: string, abs: string): string {
  return join(dir, `.${basename(abs).slice(0, 100)}.${randomBytes(8).toString("hex")}.${process.pid}@${HOST_TAG}${TEMP_SUFFIX}`);
}

/** The version a create-if-absent replaces (claims on file systems without hard links). */
const ABSENT_VERSION = "\u0000absent";

/** 12 hex characters naming a version (etag) in claim file names. */
function etagKey(etag: string): string {
  return createHash("sha256").update(etag).digest("hex").slice(0, 12);
}

/** link(src, dst) if dst does not exist (create + write where hard links are unsupported); false if it exists. */
async function linkExclusive(src: string, dst: string, content: string): Promise<boolean> {
  try {
    await fsp.link(src, dst);
    return true;
  } catch (e) {
    const code = errno(e);
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
  }
  try {
    await fsp.writeFile(dst, content, { flag: "wx" });
    return true;
  } catch (e) {
    if (errno(e) === "EEXIST") return false;
    throw e;
  }
}

/** Whether a claim's owner may still rename: `live`, `dead` (never will), or `gone` (no claim file). */
async function claimState(claim: string): Promise<"live" | "dead" | "gone"> {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = (await fsp.stat(claim)).mtimeMs;
    text = await fsp.readFile(claim, "utf8");
  } catch (e) {
    if (errno(e) === "ENOENT") return "gone";
    throw e;
  }
  let owner: { pid?: unknown; host?: unknown; at?: unknown } | undefined;
  try {
    owner = JSON.parse(text) as typeof owner;
  } catch {
    owner = undefined;
  }
  if (!owner || typeof owner.pid !== "number" || typeof owner.host !== "string") {
    // Being written (only where claims cannot be hard links): live for a while.
    return Date.now() - mtimeMs > UNREADABLE_CLAIM_LIVE_MS ? "dead" : "live";
  }
  if (owner.host === HOST) return pidAlive(owner.pid) ? "live" : "dead";
  return Date.now() - (typeof owner.at === "number" ? owner.at : mtimeMs) > FOREIGN_CLAIM_STALE_MS ? "dead" : "live";
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
