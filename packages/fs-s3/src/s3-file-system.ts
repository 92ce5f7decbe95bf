import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { StorageError } from "@larder/core/errors";
import {
  compareCodePoints,
  concatBytes,
  toBytes,
  validatePath,
  validatePrefix,
  type FileStat,
  type FileSystem,
  type WriteOptions,
} from "@larder/core/fs";
import { isNotFound, toS3StorageError } from "./errors.js";

/** Static credentials; or leave them out to use the AWS SDK's default chain (env `AWS_*`, profiles, IMDS...). */
export type S3Credentials = NonNullable<S3ClientConfig["credentials"]>;

export interface S3FileSystemOptions {
  /** The bucket. Checked against S3's naming rules (3-63 chars of `a-z 0-9 . -`). */
  bucket: string;
  /**
   * The root of this file system inside the bucket (`"runs/2024"`); `""` (default) is the whole
   * bucket. Leading and trailing `/` are ignored; `..` and empty segments are refused.
   */
  prefix?: string;
  /** An existing client. It is used as is and never destroyed by {@link S3FileSystem.close}. */
  client?: S3Client;
  /** Options for the client this file system creates when no `client` is given. */
  clientOptions?: S3ClientConfig;
  /** Shortcuts merged over `clientOptions`. */
  region?: string;
  endpoint?: string;
  credentials?: S3Credentials;
  forcePathStyle?: boolean;
  /** Attempts per request, including the first (default 4): throttling, 5xx and network errors are retried with backoff. */
  maxAttempts?: number;
  /** Part size of multipart uploads in bytes (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** Parts uploaded in parallel (default 4). Memory of a streaming write is about `(queueSize + 1) * partSize`. */
  queueSize?: number;
  /** `write()` of a buffer larger than this uses a multipart upload (default 64 MiB). */
  multipartThreshold?: number;
  /** Shown in errors (default `S3FileSystem(s3://bucket/prefix)`). */
  name?: string;
}

type PresetBase = Omit<S3FileSystemOptions, "endpoint" | "region" | "forcePathStyle">;

export interface AwsPresetOptions extends PresetBase {
  region: string;
}

export interface R2PresetOptions extends PresetBase {
  /** The Cloudflare account id (32 hex characters). */
  accountId: string;
  /** Data-location jurisdiction of the bucket (`"eu"`, `"fedramp"`), when it has one. */
  jurisdiction?: string;
}

export interface MinioPresetOptions extends PresetBase {
  /** E.g. `http://127.0.0.1:9000`. */
  endpoint: string;
  /** Default `us-east-1` (MinIO's default region). */
  region?: string;
}

const MIB = 1024 * 1024;
const MIN_PART = 5 * MIB;
const DELETE_BATCH = 1000; // DeleteObjects' limit
const MAX_KEY_BYTES = 1024; // S3's key limit
const HEAD_CONCURRENCY = 16;
const MAX_READ_BYTES = 2 ** 32 - 1; // below every Node version's largest typed array
const utf8 = new TextEncoder();

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * A {@link FileSystem} on an S3 bucket (AWS S3, Cloudflare R2, MinIO and other S3-compatible
 * servers), rooted at a key prefix. Paths map to keys `prefix/path`; no directory-marker objects
 * are ever created (a "directory" is only a key prefix).
 *
 * Atomicity: an S3 PUT (and the completion of a multipart upload) replaces an object at once, so a
 * reader sees the old or the new object, never a mix; parts are invisible until completion.
 * Conditional writes map to `If-None-Match: *` (`ifMatch: "absent"`) and `If-Match: <etag>`, which
 * the server checks atomically: a refused condition is `CONFLICT`.
 *
 * The constructor does no I/O; `close()` destroys only a client this file system created.
 */
export class S3FileSystem implements FileSystem {
  readonly name: string;
  readonly bucket: string;
  /** The normalized root prefix (no leading or trailing `/`; `""` for the whole bucket). */
  readonly prefix: string;
  readonly client: S3Client;
  readonly #ownsClient: boolean;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #multipartThreshold: number;
  #bucketChecked: Promise<void> | undefined;
  #closed = false;

  constructor(options: S3FileSystemOptions) {
    if (typeof options !== "object" || options === null) throw invalid("options must be an object");
    const bucket = options.bucket;
    if (typeof bucket !== "string" || !BUCKET_RE.test(bucket) || bucket.includes("..")) {
      throw invalid(`bucket must be a valid S3 bucket name (3-63 characters of a-z, 0-9, "." and "-"), got ${JSON.stringify(bucket)}`);
    }
    this.bucket = bucket;
    this.prefix = normalizePrefix(options.prefix);
    this.name = options.name ?? `S3FileSystem(s3://${bucket}${this.prefix ? `/${this.prefix}` : ""})`;
    this.#partSize = checkSize(options.partSize, 8 * MIB, MIN_PART, "partSize");
    this.#queueSize = checkSize(options.queueSize, 4, 1, "queueSize");
    this.#multipartThreshold = checkSize(options.multipartThreshold, 64 * MIB, 0, "multipartThreshold");
    if (options.client !== undefined) {
      if (!(options.client instanceof S3Client) && typeof (options.client as { send?: unknown }).send !== "function") {
        throw invalid("client must be an S3Client");
      }
      this.client = options.client;
      this.#ownsClient = false;
    } else {
      this.client = new S3Client(s3ClientConfig(options));
      this.#ownsClient = true;
    }
  }

  /** AWS S3 in `region`. Credentials default to the SDK's chain (env `AWS_ACCESS_KEY_ID`..., profiles, roles). */
  static aws(options: AwsPresetOptions): S3FileSystem {
    if (typeof options?.region !== "string" || options.region === "") throw invalid("aws(): region is required (e.g. \"us-east-1\")");
    return new S3FileSystem({ ...options, region: options.region });
  }

  /**
   * Cloudflare R2: endpoint `https://<accountId>.r2.cloudflarestorage.com`, region `auto`, and
   * checksums only when an operation requires them (R2 does not accept every checksum the AWS SDK
   * sends by default).
   */
  static r2(options: R2PresetOptions): S3FileSystem {
    const { accountId, jurisdiction, ...rest } = options ?? ({} as R2PresetOptions);
    if (typeof accountId !== "string" || !/^[A-Za-z0-9]{1,64}$/.test(accountId)) {
      throw invalid("r2(): accountId must be the Cloudflare account id (letters and digits)");
    }
    if (jurisdiction !== undefined && !/^[a-z]{2,16}$/.test(jurisdiction)) throw invalid("r2(): jurisdiction must be like \"eu\"");
    const host = jurisdiction ? `${accountId}.${jurisdiction}.r2.cloudflarestorage.com` : `${accountId}.r2.cloudflarestorage.com`;
    return new S3FileSystem({
      ...rest,
      clientOptions: {
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        ...rest.clientOptions,
      },
      endpoint: `https://${host}`,
      region: "auto",
    });
  }

  /** MinIO (or another self-hosted S3 server) at `endpoint`, with path-style addressing. */
  static minio(options: MinioPresetOptions): S3FileSystem {
    if (typeof options?.endpoint !== "string" || !/^https?:\/\//.test(options.endpoint)) {
      throw invalid("minio(): endpoint must be an http(s) URL such as http://127.0.0.1:9000");
    }
    return new S3FileSystem({ ...options, region: options.region ?? "us-east-1", forcePathStyle: true });
  }

  /** The object key of a path (validated: relative, no `..`, at most 1024 UTF-8 bytes with the prefix). */
  keyOf(path: string): string {
    validatePath(path, this.name);
    const key = this.prefix === "" ? path : `${this.prefix}/${path}`;
    if (utf8.encode(key).length > MAX_KEY_BYTES) {
      throw new StorageError("INVALID_ARGUMENT", `path is too long for S3 (the key ${this.prefix ? "with its prefix " : ""}exceeds ${MAX_KEY_BYTES} UTF-8 bytes)`, {
        store: this.name,
      });
    }
    return key;
  }

  /**
   * The whole object in one buffer of its `Content-Length`, filled from the body stream as it
   * arrives: peak memory is about the object's size (the SDK's `transformToByteArray` keeps every
   * chunk and then a joined copy, about twice the size).
   */
  async read(path: string): Promise<Uint8Array> {
    return this.#getBody(path, new Uint8Array(0), (body, length, where) => readBody(body, length, where, this.name));
  }

  /**
   * {@link FileSystem.readInto}: the object's body copied straight into `target` as it arrives (no
   * buffer of its own); reading stops once `target` is full. Persistence reads packed vectors
   * directly into the vector kernel's memory with it.
   */
  async readInto(path: string, target: Uint8Array): Promise<number> {
    return this.#getBody(path, 0, async (body, expected, where) => {
      if (!(Symbol.asyncIterator in (body as object))) {
        const all = await readBody(body, expected, where, this.name);
        const n = Math.min(all.length, target.length);
        target.set(all.subarray(0, n));
        return n;
      }
      let at = 0;
      if (target.length > 0) {
        for await (const c of body as unknown as AsyncIterable<Uint8Array>) {
          const take = Math.min(c.length, target.length - at);
          target.set(take === c.length ? c : c.subarray(0, take), at);
          at += take;
          if (at === target.length) break;
        }
      }
      if (expected !== undefined && at < Math.min(expected, target.length)) {
        throw new StorageError(
          "CONNECTION",
          `read ${where}: the response body ended after ${at} of ${expected} bytes (Content-Length); the connection was cut`,
          { store: this.name, details: { contentLength: expected, received: at } },
        );
      }
      // Stopped early (target full before the end): the rest of the body must not hold the socket.
      if (expected === undefined || expected > at) discardBody(body);
      return at;
    });
  }

  /**
   * GETs the object at `path` and hands its body to `consume` (`empty` when there is none). On any
   * failure the body is discarded, so a half-read body never keeps its socket out of the pool, and
   * the error is mapped like every other read error.
   */
  async #getBody<T>(path: string, empty: T, consume: (body: S3Body, contentLength: number | undefined, where: string) => Promise<T>): Promise<T> {
    const key = this.keyOf(path);
    this.#open();
    let body: unknown;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      body = out.Body;
      if (!out.Body) return empty;
      return await consume(out.Body, out.ContentLength, `s3://${this.bucket}/${key}`);
    } catch (err) {
      discardBody(body);
      throw await this.#error(err, "read", key);
    }
  }

  async *readStream(path: string): AsyncIterable<Uint8Array> {
    const key = this.keyOf(path);
    this.#open();
    let body: Readable | undefined;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      body = out.Body as Readable | undefined;
    } catch (err) {
      throw await this.#error(err, "read", key);
    }
    if (!body) return;
    try {
      for await (const chunk of body) yield chunk as Uint8Array;
    } catch (err) {
      throw await this.#error(err, "read", key);
    } finally {
      // A consumer that stops early must not leave the socket half-read.
      body.destroy();
    }
  }

  async write(path: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const key = this.keyOf(path);
    const condition = this.#condition(options);
    const bytes = toBytes(data);
    this.#open();
    // A buffer the caller already holds is sliced into parts without copies.
    if (bytes.length > this.#multipartThreshold) return this.#upload(key, bytes, condition);
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentLength: bytes.length, ...condition }),
      );
    } catch (err) {
      throw await this.#error(err, "write", key, condition);
    }
  }

  /**
   * Streams `chunks` into one object: up to `partSize` bytes are buffered, a bigger stream becomes
   * a multipart upload with `queueSize` parts in flight, so memory stays about
   * `(queueSize + 1) * partSize` whatever the size. Nothing is visible before the upload completes;
   * a failing producer aborts it (no parts are left behind).
   */
  async writeStream(
    path: string,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<void> {
    const key = this.keyOf(path);
    const condition = this.#condition(options);
    if (chunks === null || typeof chunks !== "object" || (!(Symbol.asyncIterator in chunks) && !(Symbol.iterator in chunks))) {
      throw new StorageError("INVALID_ARGUMENT", "chunks must be an iterable of Uint8Array", { store: this.name });
    }
    this.#open();
    return this.#upload(key, chunks, condition);
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  async stat(path: string): Promise<FileStat | undefined> {
    const key = this.keyOf(path);
    this.#open();
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const stat: FileStat = { size: out.ContentLength ?? 0 };
      if (out.LastModified) stat.mtimeMs = out.LastModified.getTime();
      if (out.ETag) stat.etag = out.ETag;
      return stat;
    } catch (err) {
      if (isNotFound(err)) {
        // A HEAD response has no body, so a 404 cannot say whether the key, the bucket or (on some
        // servers) the access key is missing. Tell them apart once per file system with a listing.
        await this.#checkBucket();
        return undefined;
      }
      throw await this.#error(err, "stat", key);
    }
  }

  async list(prefix = ""): Promise<string[]> {
    validatePrefix(prefix, this.name);
    this.#open();
    const root = this.prefix === "" ? "" : `${this.prefix}/`;
    const out: string[] = [];
    for await (const key of this.#listKeys(root + prefix)) {
      // Keys ending in "/" are directory markers made by other tools: not files.
      if (key.startsWith(root) && !key.endsWith("/")) out.push(key.slice(root.length));
    }
    return out.sort(compareCodePoints);
  }

  /** Two requests (HEAD, then DELETE): S3 answers a DELETE the same whether or not the key existed. */
  async delete(path: string): Promise<boolean> {
    const key = this.keyOf(path);
    if ((await this.stat(path)) === undefined) return false;
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      throw await this.#error(err, "delete", key);
    }
  }

  /**
   * Deletes with `DeleteObjects`, 1000 keys per request. The count of keys that existed comes from
   * one listing of the range the keys span (or HEAD requests, when that range holds far more keys
   * than were asked for); under concurrent writers it is a best effort, the deletion is not.
   */
  async deleteMany(paths: readonly string[]): Promise<number> {
    if (!Array.isArray(paths)) throw new StorageError("INVALID_ARGUMENT", "paths must be an array", { store: this.name });
    const keys = [...new Set(paths.map((p) => this.keyOf(p)))];
    if (keys.length === 0) return 0;
    this.#open();
    const existing = await this.#existingKeys(keys);
    if (existing.length === 0) return 0;
    const batches: string[][] = [];
    for (let i = 0; i < existing.length; i += DELETE_BATCH) batches.push(existing.slice(i, i + DELETE_BATCH));
    await mapLimit(batches, 4, async (batch) => {
      let result;
      try {
        result = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
      } catch (err) {
        throw await this.#error(err, "deleteMany", batch[0]);
      }
      const failed = (result.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length > 0) {
        const first = failed[0]!;
        throw toS3StorageError(
          { name: first.Code ?? "DeleteError", Code: first.Code, $fault: "server", message: first.Message },
          { store: this.name, bucket: this.bucket, key: first.Key, op: `deleteMany (${failed.length} of ${batch.length} keys failed)` },
        );
      }
    });
    return existing.length;
  }

  /** Destroys the client if this file system created it; an injected client is left open. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) this.client.destroy();
  }

  // ---------------------------------------------------------------------------------------------

  #open(): void {
    if (this.#closed) throw new StorageError("CONNECTION", "the file system is closed", { store: this.name });
  }

  #condition(options: WriteOptions | undefined): { IfNoneMatch?: string; IfMatch?: string } {
    if (options === undefined || options === null) return {};
    if (typeof options !== "object") throw invalid("write options must be an object", this.name);
    const cond = options.ifMatch;
    if (cond === undefined) return {};
    if (cond === "absent") return { IfNoneMatch: "*" };
    if (typeof cond === "object" && cond !== null && typeof cond.etag === "string" && cond.etag !== "") {
      return { IfMatch: cond.etag };
    }
    throw invalid('ifMatch must be "absent" or {etag: string}', this.name);
  }

  async #upload(
    key: string,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array,
    condition: { IfNoneMatch?: string; IfMatch?: string },
  ): Promise<void> {
    let producerError: { error: unknown } | undefined;
    async function* copied(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
      try {
        // Copies: lib-storage keeps chunks until a part is full, and a producer may reuse its buffers.
        for await (const c of source) yield Uint8Array.prototype.slice.call(toBytes(c));
      } catch (error) {
        producerError = { error };
        throw error;
      }
    }
    const body = chunks instanceof Uint8Array ? chunks : Readable.from(copied(chunks), { objectMode: false, highWaterMark: 1 });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ...condition },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      if (producerError) throw producerError.error;
      throw await this.#error(err, "write", key, condition);
    }
  }

  /** Keys under `prefix`, page by page (each page needs the previous page's token: sequential by nature). */
  async *#listKeys(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix === "" ? undefined : prefix,
            ContinuationToken: token,
            // Keys with control characters (\r) do not survive XML; URL-encoded they do.
            EncodingType: "url",
          }),
        );
      } catch (err) {
        throw await this.#error(err, "list", prefix === "" ? undefined : prefix);
      }
      const encoded = page.EncodingType === "url";
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield encoded ? decodeKey(o.Key) : o.Key;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Which of `keys` exist: one listing of the range they span, unless it is far bigger than the keys. */
  async #existingKeys(keys: string[]): Promise<string[]> {
    const wanted = new Set(keys);
    if (keys.length > 8) {
      const sorted = [...keys].sort(compareCodePoints);
      const first = sorted[0]!;
      const last = sorted[sorted.length - 1]!;
      const budget = keys.length * 4 + 2000; // keys we accept to list before giving up on listing
      const found: string[] = [];
      let seen = 0;
      let complete = true;
      for await (const key of this.#listKeys(commonPrefix(first, last))) {
        if (compareCodePoints(key, last) > 0) break;
        if (wanted.has(key)) found.push(key);
        if (++seen > budget) {
          complete = false;
          break;
        }
      }
      if (complete) return found;
    }
    const exists = await mapLimit(keys, HEAD_CONCURRENCY, async (key) => {
      try {
        await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
        return true;
      } catch (err) {
        if (isNotFound(err)) {
          await this.#checkBucket();
          return false;
        }
        throw await this.#error(err, "deleteMany", key);
      }
    });
    return keys.filter((_, i) => exists[i]);
  }

  /** Once per file system: a one-key listing, which reports a missing bucket or rejected credentials with a code. */
  #checkBucket(): Promise<void> {
    this.#bucketChecked ??= (async () => {
      try {
        await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1, Prefix: this.prefix || undefined }));
      } catch (err) {
        this.#bucketChecked = undefined;
        throw toS3StorageError(err, { store: this.name, bucket: this.bucket, op: "access" });
      }
    })();
    return this.#bucketChecked;
  }

  async #error(err: unknown, op: string, key: string | undefined, condition?: object): Promise<StorageError> {
    const conditional = condition !== undefined && Object.keys(condition).length > 0;
    // HEAD-like 404s without a code may hide a missing bucket: check before calling it NOT_FOUND.
    if (isNotFound(err) && !conditional) {
      try {
        await this.#checkBucket();
      } catch (bucketError) {
        return bucketError as StorageError;
      }
    }
    return toS3StorageError(err, { store: this.name, bucket: this.bucket, key, op, conditional });
  }
}

function invalid(message: string, store?: string): StorageError {
  return new StorageError("INVALID_ARGUMENT", message, { store });
}

function normalizePrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === null) return "";
  if (typeof prefix !== "string") throw invalid(`prefix must be a string, got ${typeof prefix}`);
  const p = prefix.replace(/^\/+/, "").replace(/\/+$/, "");
  if (p === "") return "";
  validatePath(p, "S3FileSystem prefix");
  return p;
}

function checkSize(value: number | undefined, fallback: number, min: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) throw invalid(`${what} must be an integer >= ${min}`);
  return value;
}

/** The client settings of `options` (retries: 4 attempts, standard mode with backoff, unless overridden). */
export function s3ClientConfig(options: S3FileSystemOptions): S3ClientConfig {
  const config: S3ClientConfig = { maxAttempts: 4, retryMode: "standard", ...options.clientOptions };
  if (options.region !== undefined) config.region = options.region;
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  return config;
}

/** A GetObject response body (the SDK's stream mixin). */
type S3Body = { transformToByteArray(): Promise<Uint8Array> };

/**
 * Copies a GetObject body into one `Uint8Array` of `contentLength` bytes; without a length (never
 * the case for S3's GetObject, but a proxy may drop it) the chunks are collected and joined.
 */
async function readBody(
  body: S3Body,
  contentLength: number | undefined,
  where: string,
  store: string,
): Promise<Uint8Array> {
  // A body that is not async-iterable (a browser Blob) is left to the SDK.
  if (!(Symbol.asyncIterator in body)) return body.transformToByteArray();
  const chunks = body as unknown as AsyncIterable<Uint8Array>;
  if (contentLength === undefined || !Number.isSafeInteger(contentLength) || contentLength < 0) {
    const parts: Uint8Array[] = [];
    for await (const c of chunks) parts.push(c);
    return concatBytes(parts);
  }
  if (contentLength > MAX_READ_BYTES) {
    throw new StorageError(
      "INVALID_ARGUMENT",
      `read ${where}: the object (${contentLength} bytes) is larger than one buffer can hold (${MAX_READ_BYTES} bytes); use readStream()`,
      { store },
    );
  }
  const out = new Uint8Array(contentLength);
  let at = 0;
  for await (const c of chunks) {
    if (at + c.length > contentLength) {
      throw new StorageError("CONNECTION", `read ${where}: the response body is longer than its Content-Length (${contentLength} bytes)`, {
        store,
        details: { contentLength },
      });
    }
    out.set(c, at);
    at += c.length;
  }
  if (at !== contentLength) {
    throw new StorageError(
      "CONNECTION",
      `read ${where}: the response body ended after ${at} of ${contentLength} bytes (Content-Length); the connection was cut`,
      { store, details: { contentLength, received: at } },
    );
  }
  return out;
}

/** Stops a response body (Node stream or web stream) that will not be read to its end; never throws. */
function discardBody(body: unknown): void {
  if (typeof body !== "object" || body === null) return;
  try {
    const b = body as { destroy?: () => void; cancel?: () => Promise<void>; locked?: boolean };
    if (typeof b.destroy === "function") b.destroy();
    else if (typeof b.cancel === "function" && !b.locked) b.cancel().catch(() => {});
  } catch {
    // Best effort: the error being reported matters more.
  }
}

function decodeKey(key: string): string {
  // S3 URL-encodes listed keys with "+" for spaces (form encoding).
  return decodeURIComponent(key.replace(/\+/g, "%20"));
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // Do not split a surrogate pair.
  if (i > 0 && a.charCodeAt(i - 1) >= 0xd800 && a.charCodeAt(i - 1) <= 0xdbff) i--;
  return a.slice(0, i);
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}
