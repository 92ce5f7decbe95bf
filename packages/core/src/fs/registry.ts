import { resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { StorageError } from "../errors.js";
import { LocalFileSystem } from "./local-file-system.js";
import { MemoryFileSystem } from "./memory-file-system.js";
import type { FileSystem } from "./types.js";

/**
 * Builds a FileSystem rooted at `url` (e.g. `s3://bucket/prefix` -> a file system whose root is
 * that prefix). `options` are passed through from {@link resolveFileSystem} (credentials, clients...).
 */
export type FileSystemFactory = (url: URL, options: Record<string, unknown>) => FileSystem | Promise<FileSystem>;

interface Registry {
  factories: Map<string, FileSystemFactory>;
  memory: Map<string, MemoryFileSystem>;
}

// On globalThis, so two copies of @larder/core in one process (and fs-s3 registering into either) share it.
const KEY = Symbol.for("@larder/core/fs-registry");

function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  let r = g[KEY];
  if (!r) {
    r = { factories: new Map(), memory: new Map() };
    r.factories.set("file", (url) => new LocalFileSystem(fileURLToPath(url)));
    r.factories.set("memory", (url) => {
      const name = `${url.host}${url.pathname}`;
      let fs = r!.memory.get(name);
      if (!fs) {
        fs = new MemoryFileSystem({ name: `MemoryFileSystem(memory://${name})` });
        r!.memory.set(name, fs);
      }
      return fs;
    });
    g[KEY] = r;
  }
  return r;
}

function normalizeScheme(scheme: string): string {
  const s = typeof scheme === "string" ? scheme.toLowerCase().replace(/:(\/\/)?$/, "") : "";
  if (!/^[a-z][a-z0-9+.-]*$/.test(s)) {
    throw new StorageError("INVALID_ARGUMENT", `invalid URL scheme ${JSON.stringify(scheme)}`);
  }
  return s;
}

/**
 * Maps a URL scheme to a FileSystem factory. `file` and `memory` are built in; `@larder/fs-s3`
 * registers `s3` (and friends) when imported. Registering a scheme again replaces the factory.
 *
 * ```ts
 * registerFileSystemScheme("s3", (url, options) => new S3FileSystem({ url: url.href, ...options }));
 * ```
 */
export function registerFileSystemScheme(scheme: string, factory: FileSystemFactory): void {
  if (typeof factory !== "function") throw new StorageError("INVALID_ARGUMENT", "factory must be a function");
  registry().factories.set(normalizeScheme(scheme), factory);
}

export function unregisterFileSystemScheme(scheme: string): boolean {
  return registry().factories.delete(normalizeScheme(scheme));
}

export function registeredFileSystemSchemes(): string[] {
  return [...registry().factories.keys()].sort();
}

/**
 * The FileSystem for a URL: `file:///abs/dir`, `memory://name` (one shared in-memory instance per
 * name in this process), `s3://bucket/prefix` once `@larder/fs-s3` is imported, or a plain path
 * (`./storage`, `/var/data`), which means the local disk.
 */
export async function resolveFileSystem(url: string | URL, options: Record<string, unknown> = {}): Promise<FileSystem> {
  if (typeof url === "string" && !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(url)) {
    if (url === "") throw new StorageError("INVALID_ARGUMENT", "empty file system URL");
    return new LocalFileSystem(resolvePath(url));
  }
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch (cause) {
    throw new StorageError("INVALID_ARGUMENT", `not a valid URL: ${String(url)}`, { cause });
  }
  const scheme = parsed.protocol.replace(/:$/, "").toLowerCase();
  const factory = registry().factories.get(scheme);
  if (!factory) {
    const hint = scheme === "s3" || scheme === "r2" ? ' (install @larder/fs-s3 and import it, or call registerFileSystemScheme("s3", ...))' : "";
    throw new StorageError("UNSUPPORTED", `no FileSystem registered for "${scheme}://"${hint}; known: ${registeredFileSystemSchemes().join(", ")}`);
  }
  return factory(parsed, options);
}
