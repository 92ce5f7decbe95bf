import { errors, isStorageError, toStorageError } from "../errors.js";
import type { FileSystem, WriteOptions } from "../fs/types.js";
import { AsyncHashingCounter } from "./sha256.js";

/** `dir/name` inside a FileSystem (an empty dir is the root). */
export function joinPath(dir: string, name: string): string {
  const d = dir.replace(/\/+$/, "");
  return d === "" ? name : `${d}/${name}`;
}

export interface WrittenFile {
  bytes: number;
  sha256: string;
}

/**
 * Writes chunks to `path` atomically, hashing and counting them on the way. Uses the FileSystem's
 * streaming write when it has one; otherwise the chunks are concatenated as bytes (never as one
 * string) and written at once.
 */
export async function writeHashed(
  fs: FileSystem,
  path: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options?: WriteOptions,
): Promise<WrittenFile> {
  // A big file is hashed on a worker thread while the main thread produces the next chunks.
  const counter = new AsyncHashingCounter();
  try {
    if (fs.writeStream) {
      await fs.writeStream(path, counter.tap(chunks), options);
    } else {
      const parts: Uint8Array[] = [];
      for await (const c of counter.tap(chunks)) parts.push(c);
      await fs.write(path, parts.length === 1 ? parts[0]! : Buffer.concat(parts), options);
    }
  } catch (err) {
    counter.discard();
    throw err;
  }
  return { bytes: counter.bytes, sha256: await counter.digest() };
}

/** Reads a whole file; a missing file is `NOT_FOUND` naming it. */
export async function readFile(fs: FileSystem, path: string): Promise<Uint8Array> {
  try {
    return await fs.read(path);
  } catch (err) {
    throw asNotFound(err, path);
  }
}

/** {@link readFile}, or `undefined` when the file does not exist (other errors are thrown). */
export async function readFileIfExists(fs: FileSystem, path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(fs, path);
  } catch (err) {
    if (isStorageError(err, "NOT_FOUND")) return undefined;
    throw err;
  }
}

/** Streams a file's chunks (whole-file read when the FileSystem cannot stream). */
export async function* readChunks(fs: FileSystem, path: string): AsyncGenerator<Uint8Array> {
  if (!fs.readStream) {
    yield await readFile(fs, path);
    return;
  }
  try {
    yield* fs.readStream(path);
  } catch (err) {
    throw asNotFound(err, path);
  }
}

function asNotFound(err: unknown, path: string): unknown {
  if (isStorageError(err, "NOT_FOUND")) {
    return errors.notFound(`${path} is missing`, { cause: err, details: { file: path } });
  }
  if ((err as { code?: unknown })?.code === "ENOENT") {
    return errors.notFound(`${path} is missing`, { cause: err, details: { file: path } });
  }
  return toStorageError(err, "CONNECTION", `reading ${path} failed`);
}
