export interface FileStat {
  size: number;
  /** Milliseconds since the epoch, when the backend knows it. */
  mtimeMs?: number;
  /** Opaque version tag (ETag on S3), when the backend has one. */
  etag?: string;
}

export interface WriteOptions {
  /**
   * Conditional write: `"absent"` fails with `CONFLICT` if the file exists; `{etag}` fails with
   * `CONFLICT` unless the current version has that tag. Used to commit manifests.
   */
  ifMatch?: "absent" | { etag: string };
}

/**
 * A byte store addressed by relative paths (`a/b/c.json`). Paths are validated: absolute paths,
 * `..` segments, empty segments, backslashes and NUL are `INVALID_ARGUMENT`.
 * `write` is atomic: a concurrent reader sees the old or the new bytes, never a mix.
 */
export interface FileSystem {
  readonly name: string;
  read(path: string): Promise<Uint8Array>;
  /**
   * Streaming read for big files. Every chunk yielded belongs to the caller: the file system never
   * reuses or changes it afterwards (persistence keeps views into chunks as loaded values).
   */
  readStream?(path: string): AsyncIterable<Uint8Array>;
  /**
   * Optional: reads the file from its start straight into `target` (no buffer of its own) and
   * resolves the number of bytes read: the file's size, or `target.length` when the file is longer
   * (compare with `stat` first). Persistence uses it to read packed vectors directly into the
   * vector kernel's memory. Missing file: `NOT_FOUND`.
   */
  readInto?(path: string, target: Uint8Array): Promise<number>;
  write(path: string, data: Uint8Array | string, options?: WriteOptions): Promise<void>;
  /**
   * Streaming atomic write for big files (chunks are written in order; visible only once complete).
   * A chunk is only valid until the next one is requested: a producer may reuse its buffer, so a
   * file system that keeps data past that point must copy it (the kit checks this).
   */
  writeStream?(path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: WriteOptions): Promise<void>;
  exists(path: string): Promise<boolean>;
  /**
   * Files (not directories) whose path starts with `prefix` (a plain string prefix, as on S3:
   * `"docs/a"` matches `docs/a.json` and `docs/ab/c`; use a trailing `/` for a directory), as paths
   * relative to the root, sorted by Unicode code point (= UTF-8 byte order).
   */
  list(prefix?: string): Promise<string[]>;
  /** Whether something was deleted. */
  delete(path: string): Promise<boolean>;
  /** Deletes many in as few requests as the backend allows; resolves how many existed. */
  deleteMany?(paths: readonly string[]): Promise<number>;
  /** `undefined` when missing. */
  stat(path: string): Promise<FileStat | undefined>;
  /**
   * Optional, for file systems whose atomic writes leave temp files behind when a writer is killed
   * (`LocalFileSystem`): removes those of directory `dir` (default: everything under the root)
   * whose writer is known to be dead, or that are older than `olderThanMs` when that cannot be
   * known. Never removes a temp file a live writer is still writing. Resolves how many were removed.
   * Persistence calls it on the persist directory after each commit.
   */
  cleanupTempFiles?(options?: { dir?: string; olderThanMs?: number }): Promise<number>;
  close?(): Promise<void>;
}
