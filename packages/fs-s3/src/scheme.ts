import { S3Client } from "@aws-sdk/client-s3";
import { StorageError } from "@larder/core/errors";
import { registerFileSystemScheme, unregisterFileSystemScheme } from "@larder/core/fs";
import { S3FileSystem, s3ClientConfig, type S3FileSystemOptions } from "./s3-file-system.js";

/** Defaults for file systems built from `s3://` URLs (merged under what the URL and the call say). */
export type S3SchemeDefaults = Omit<S3FileSystemOptions, "bucket" | "prefix" | "name">;

/**
 * Parses `s3://bucket/prefix?endpoint=...&region=...&forcePathStyle=true` into options.
 * Query parameters (all optional): `endpoint` (an http(s) URL, e.g. a MinIO server), `region`,
 * `forcePathStyle` (`true`/`false`; defaults to `true` when an endpoint is given). Credentials are
 * never read from a URL: they come from options or the AWS SDK's default chain (env `AWS_*`).
 */
export function parseS3Url(url: string | URL): S3FileSystemOptions {
  let u: URL;
  try {
    u = typeof url === "string" ? new URL(url) : url;
  } catch (cause) {
    throw new StorageError("INVALID_ARGUMENT", `not a valid URL: ${String(url)}`, { cause });
  }
  if (u.protocol !== "s3:") throw new StorageError("INVALID_ARGUMENT", `expected an s3:// URL, got ${u.protocol}//`);
  if (u.username !== "" || u.password !== "") {
    throw new StorageError("INVALID_ARGUMENT", "s3:// URLs must not carry credentials; pass them as options or via AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  }
  if (u.port !== "") throw new StorageError("INVALID_ARGUMENT", "s3:// URLs name a bucket, not a host:port; use ?endpoint=http://host:port");
  const bucket = u.hostname;
  if (bucket === "") throw new StorageError("INVALID_ARGUMENT", `s3:// URL has no bucket: ${u.href}`);
  let prefix: string;
  try {
    prefix = u.pathname
      .split("/")
      .map((s) => decodeURIComponent(s))
      .join("/")
      .replace(/^\/+/, "");
  } catch (cause) {
    throw new StorageError("INVALID_ARGUMENT", `s3:// URL has a malformed path: ${u.href}`, { cause });
  }
  const options: S3FileSystemOptions = { bucket, prefix };
  for (const [k, v] of u.searchParams) {
    if (k === "endpoint") {
      if (!/^https?:\/\/[^/@\s]+/.test(v)) throw new StorageError("INVALID_ARGUMENT", "endpoint must be an http(s) URL without credentials");
      options.endpoint = v;
    } else if (k === "region") {
      options.region = v;
    } else if (k === "forcePathStyle") {
      if (v !== "true" && v !== "false") throw new StorageError("INVALID_ARGUMENT", "forcePathStyle must be true or false");
      options.forcePathStyle = v === "true";
    } else {
      throw new StorageError("INVALID_ARGUMENT", `unknown s3:// URL parameter ${JSON.stringify(k)} (known: endpoint, region, forcePathStyle)`);
    }
  }
  if (options.endpoint !== undefined && options.forcePathStyle === undefined) options.forcePathStyle = true;
  return options;
}

let schemeClients = new Map<string, S3Client>();

/**
 * Registers `s3://bucket/prefix` in core's FileSystem registry, so `ctx.persist("s3://bucket/run1")`,
 * `StorageContext.fromPersistDir("s3://bucket/run1")` and `resolveFileSystem(...)` work.
 * Call it once at startup (the package has no import-time side effects: `"sideEffects": false`).
 *
 * Options are merged in this order (later wins): `defaults` given here, the URL's query
 * parameters, the options passed to `resolveFileSystem(url, options)`. Without an explicit
 * client, file systems with the same settings share one client (and its connections), which is
 * never destroyed by their `close()`. Returns a function that unregisters the scheme.
 */
export function registerS3Scheme(defaults: S3SchemeDefaults = {}): () => void {
  if (typeof defaults !== "object" || defaults === null) throw new StorageError("INVALID_ARGUMENT", "defaults must be an object");
  const factory = (url: URL, options: Record<string, unknown>) => {
    const fromUrl = parseS3Url(url);
    const merged: S3FileSystemOptions = { ...defaults, ...fromUrl, ...(options as Partial<S3FileSystemOptions>) };
    merged.bucket = fromUrl.bucket;
    merged.prefix = fromUrl.prefix;
    // With custom client options the file system creates (and its close() destroys) its own client.
    if (!merged.client && !merged.clientOptions) merged.client = sharedClient(merged);
    return new S3FileSystem(merged);
  };
  registerFileSystemScheme("s3", factory);
  return () => {
    unregisterFileSystemScheme("s3");
    for (const c of schemeClients.values()) c.destroy();
    schemeClients = new Map();
  };
}

function sharedClient(o: S3FileSystemOptions): S3Client {
  const config = s3ClientConfig(o);
  // Shared only between identical settings (explicit credential objects by identity).
  const creds = o.credentials === undefined ? "" : (credentialIds.get(o.credentials as object) ?? newCredId(o.credentials as object));
  const key = JSON.stringify([config.region, config.endpoint, config.forcePathStyle, config.maxAttempts, config.retryMode, creds]);
  let client = schemeClients.get(key);
  if (!client) {
    client = new S3Client(config);
    schemeClients.set(key, client);
  }
  return client;
}

const credentialIds = new WeakMap<object, string>();
let nextCredId = 1;
function newCredId(c: object): string {
  const id = `c${nextCredId++}`;
  credentialIds.set(c, id);
  return id;
}
