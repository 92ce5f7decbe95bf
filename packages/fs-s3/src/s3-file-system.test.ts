// Unit tests (no server): options, presets, URL parsing, validation before I/O, error mapping.
import { Readable } from "node:stream";
import { S3Client } from "@aws-sdk/client-s3";
import { expectStorageError } from "@larder/conformance";
import { registeredFileSystemSchemes, resolveFileSystem } from "@larder/core/fs";
import { describe, expect, it } from "vitest";
import { toS3StorageError } from "./errors.js";
import { parseS3Url, registerS3Scheme } from "./scheme.js";
import { S3FileSystem } from "./s3-file-system.js";

process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
const creds = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "very-secret-key" };

describe("S3FileSystem options", () => {
  it("normalizes the prefix and names the file system after bucket and prefix", () => {
    const fs = new S3FileSystem({ bucket: "my-bucket", prefix: "/runs/2024/", region: "us-east-1", credentials: creds });
    expect(fs.prefix).toBe("runs/2024");
    expect(fs.name).toBe("S3FileSystem(s3://my-bucket/runs/2024)");
    expect(fs.keyOf("larder.json")).toBe("runs/2024/larder.json");
    expect(new S3FileSystem({ bucket: "my-bucket", region: "us-east-1" }).keyOf("a/b")).toBe("a/b");
  });

  it("refuses bad buckets, prefixes and sizes with INVALID_ARGUMENT", async () => {
    for (const bucket of ["", "a", "UPPER", "has_underscore", "-dash", "a..b", "x".repeat(64), 42]) {
      await expectStorageError(() => new S3FileSystem({ bucket: bucket as string }), "INVALID_ARGUMENT");
    }
    for (const prefix of ["../up", "a/../b", "a//b", "a\\b"]) {
      await expectStorageError(() => new S3FileSystem({ bucket: "ok-bucket", prefix }), "INVALID_ARGUMENT");
    }
    await expectStorageError(() => new S3FileSystem({ bucket: "ok-bucket", partSize: 1024 }), "INVALID_ARGUMENT");
    await expectStorageError(() => new S3FileSystem({ bucket: "ok-bucket", queueSize: 0 }), "INVALID_ARGUMENT");
  });

  it("does no I/O in the constructor, and validates paths before any request", async () => {
    // Port 9 (discard) on loopback: any request would fail with CONNECTION, not INVALID_ARGUMENT.
    const fs = S3FileSystem.minio({ endpoint: "http://127.0.0.1:9", bucket: "ok-bucket", credentials: creds, maxAttempts: 1 });
    await expectStorageError(() => fs.read("../etc/passwd"), "INVALID_ARGUMENT");
    await expectStorageError(() => fs.write("/abs", "x"), "INVALID_ARGUMENT");
    await expectStorageError(() => fs.write("a".repeat(1025), "x"), "INVALID_ARGUMENT");
    await expectStorageError(() => fs.write("ok", "x", { ifMatch: "present" as "absent" }), "INVALID_ARGUMENT");
    await expectStorageError(() => fs.list("../"), "INVALID_ARGUMENT");
    await expectStorageError(() => fs.deleteMany("a" as unknown as string[]), "INVALID_ARGUMENT");
    await expectStorageError(() => fs.writeStream("ok", 5 as unknown as Uint8Array[]), "INVALID_ARGUMENT");
    // A lone surrogate has no UTF-8 form (the SDK would send U+FFFD): refused, not a CONNECTION error.
    for (const p of ["a\ud800", "a\udc00", "d/\ud83d/x"]) {
      await expectStorageError(() => fs.read(p), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.write(p, "x"), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.stat(p), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.delete(p), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.list(p), "INVALID_ARGUMENT");
    }
    await expectStorageError(() => new S3FileSystem({ bucket: "ok-bucket", prefix: "p\udc00" }), "INVALID_ARGUMENT");
    await fs.close();
    await fs.close();
    await expectStorageError(() => fs.read("ok"), "CONNECTION");
  });

  it("close() destroys only a client it created", async () => {
    const client = new S3Client({ region: "us-east-1", credentials: creds });
    let destroyed = 0;
    const destroy = client.destroy.bind(client);
    client.destroy = () => {
      destroyed++;
      destroy();
    };
    const fs = new S3FileSystem({ bucket: "ok-bucket", client });
    expect(fs.client).toBe(client);
    await fs.close();
    expect(destroyed).toBe(0);
    client.destroy();
  });
});

describe("presets", () => {
  it("aws: the region, default SDK endpoint resolution", async () => {
    const fs = S3FileSystem.aws({ bucket: "my-bucket", region: "eu-west-3", credentials: creds });
    expect(await fs.client.config.region()).toBe("eu-west-3");
    expect(fs.client.config.forcePathStyle ?? false).toBe(false);
    await expectStorageError(() => S3FileSystem.aws({ bucket: "my-bucket" } as never), "INVALID_ARGUMENT");
  });

  it("r2: account endpoint, region auto, checksums only when required", async () => {
    const fs = S3FileSystem.r2({ accountId: "0123456789abcdef0123456789abcdef", bucket: "my-bucket", prefix: "p", credentials: creds });
    const ep = await fs.client.config.endpoint!();
    expect(`${ep.protocol}//${ep.hostname}`).toBe("https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com");
    expect(await fs.client.config.region()).toBe("auto");
    expect(await fs.client.config.requestChecksumCalculation()).toBe("WHEN_REQUIRED");
    expect(await fs.client.config.responseChecksumValidation()).toBe("WHEN_REQUIRED");
    const eu = S3FileSystem.r2({ accountId: "abc123", jurisdiction: "eu", bucket: "my-bucket", credentials: creds });
    expect((await eu.client.config.endpoint!()).hostname).toBe("abc123.eu.r2.cloudflarestorage.com");
    await expectStorageError(() => S3FileSystem.r2({ accountId: "evil.com/x", bucket: "my-bucket" }), "INVALID_ARGUMENT");
  });

  it("minio: path-style, default region", async () => {
    const fs = S3FileSystem.minio({ endpoint: "http://127.0.0.1:9000", bucket: "my-bucket", credentials: creds });
    expect(fs.client.config.forcePathStyle).toBe(true);
    expect(await fs.client.config.region()).toBe("us-east-1");
    const ep = await fs.client.config.endpoint!();
    expect(`${ep.hostname}:${String(ep.port)}`).toBe("127.0.0.1:9000");
    await expectStorageError(() => S3FileSystem.minio({ endpoint: "127.0.0.1:9000", bucket: "my-bucket" }), "INVALID_ARGUMENT");
  });

  it("retries: 4 attempts in standard mode unless overridden", async () => {
    const fs = S3FileSystem.minio({ endpoint: "http://127.0.0.1:9000", bucket: "my-bucket", credentials: creds });
    expect(await fs.client.config.maxAttempts()).toBe(4);
    const mode = fs.client.config.retryMode;
    expect(typeof mode === "function" ? await mode() : mode).toBe("standard");
    const fs2 = S3FileSystem.minio({ endpoint: "http://127.0.0.1:9000", bucket: "my-bucket", maxAttempts: 7, credentials: creds });
    expect(await fs2.client.config.maxAttempts()).toBe(7);
  });
});

describe("s3:// URLs", () => {
  it("parses bucket, prefix and query parameters", () => {
    expect(parseS3Url("s3://my-bucket/runs/run1")).toEqual({ bucket: "my-bucket", prefix: "runs/run1" });
    expect(parseS3Url("s3://my-bucket")).toEqual({ bucket: "my-bucket", prefix: "" });
    expect(parseS3Url("s3://my-bucket/a%20b/c?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=us-east-1")).toEqual({
      bucket: "my-bucket",
      prefix: "a b/c",
      endpoint: "http://127.0.0.1:9000",
      region: "us-east-1",
      forcePathStyle: true,
    });
    expect(parseS3Url("s3://b-1/p?endpoint=https://x.example&forcePathStyle=false").forcePathStyle).toBe(false);
  });

  it("refuses credentials in URLs, unknown parameters and ports", async () => {
    await expectStorageError(() => parseS3Url("s3://key:secret@my-bucket/p"), "INVALID_ARGUMENT");
    const err = await expectStorageError(() => parseS3Url("s3://key:very-secret-key@my-bucket/p"), "INVALID_ARGUMENT");
    expect(err.message).not.toContain("very-secret-key");
    await expectStorageError(() => parseS3Url("s3://my-bucket/p?secretAccessKey=x"), "INVALID_ARGUMENT");
    await expectStorageError(() => parseS3Url("s3://my-bucket:9000/p"), "INVALID_ARGUMENT");
    await expectStorageError(() => parseS3Url("s3://my-bucket/p?endpoint=ftp://x"), "INVALID_ARGUMENT");
  });

  it("registerS3Scheme: resolveFileSystem builds S3FileSystems; unregistering removes the scheme", async () => {
    expect(registeredFileSystemSchemes()).not.toContain("s3");
    await expectStorageError(() => resolveFileSystem("s3://my-bucket/p"), "UNSUPPORTED");
    const unregister = registerS3Scheme({ credentials: creds, region: "us-east-1" });
    try {
      const a = (await resolveFileSystem("s3://my-bucket/runs/r1?endpoint=http://127.0.0.1:9000")) as S3FileSystem;
      expect(a).toBeInstanceOf(S3FileSystem);
      expect(a.bucket).toBe("my-bucket");
      expect(a.prefix).toBe("runs/r1");
      expect(a.client.config.forcePathStyle).toBe(true);
      const b = (await resolveFileSystem("s3://my-bucket/runs/r2?endpoint=http://127.0.0.1:9000")) as S3FileSystem;
      expect(b.client, "same settings share one client").toBe(a.client);
      await a.close();
      const c = (await resolveFileSystem("s3://other-bucket/x", { region: "eu-west-1" })) as S3FileSystem;
      expect(await c.client.config.region()).toBe("eu-west-1");
    } finally {
      unregister();
    }
    expect(registeredFileSystemSchemes()).not.toContain("s3");
  });
});

describe("error mapping", () => {
  const ctx = { store: "S3FileSystem(s3://b/p)", bucket: "b", key: "p/larder.json", op: "write" };
  const sdk = (Code: string, status: number, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(`${Code} message`), { name: Code, Code, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status, attempts: 1 }, ...extra });

  it.each([
    ["NoSuchBucket", 404, "NOT_FOUND"],
    ["NoSuchKey", 404, "NOT_FOUND"],
    ["NotFound", 404, "NOT_FOUND"],
    ["PreconditionFailed", 412, "CONFLICT"],
    ["ConditionalRequestConflict", 409, "CONFLICT"],
    ["InvalidAccessKeyId", 403, "CONNECTION"],
    ["SignatureDoesNotMatch", 403, "CONNECTION"],
    ["AccessDenied", 403, "CONNECTION"],
    ["XAdminUserNotFound", 404, "CONNECTION"],
    ["SlowDown", 503, "CONNECTION"],
    ["InternalError", 500, "CONNECTION"],
    ["KeyTooLongError", 400, "INVALID_ARGUMENT"],
  ])("%s (HTTP %i) -> %s", (code, status, expected) => {
    const e = toS3StorageError(sdk(code, status), ctx);
    expect(e.code).toBe(expected);
    expect(e.message).toContain(code === "NoSuchBucket" ? '"b"' : "p/larder.json");
  });

  it("a 404 on a conditional write means the expected version is gone: CONFLICT", () => {
    expect(toS3StorageError(sdk("NoSuchKey", 404), { ...ctx, conditional: true }).code).toBe("CONFLICT");
  });

  it("network errors are CONNECTION; the cause keeps no raw HTTP response", () => {
    const net = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9000"), { name: "Error", code: "ECONNREFUSED", $metadata: { attempts: 4 } });
    const e = toS3StorageError(net, ctx);
    expect(e.code).toBe("CONNECTION");
    expect(e.message).toContain("after 4 attempts");
    const withResponse = sdk("AccessDenied", 403, { $response: { headers: { authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/..." } } });
    const mapped = toS3StorageError(withResponse, ctx);
    expect((mapped.cause as Record<string, unknown>)["$response"]).toBeUndefined();
    expect(JSON.stringify(mapped.details)).not.toContain("AKIDEXAMPLE");
  });
});

describe("read() of a response body (fake client, no server)", () => {
  function fsWith(body: Readable | undefined, contentLength: number | undefined): S3FileSystem {
    const client = { send: async () => ({ Body: body, ContentLength: contentLength }) } as unknown as S3Client;
    return new S3FileSystem({ bucket: "ok-bucket", client });
  }
  const chunks = () => [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5]), new Uint8Array([6])];

  it("fills one buffer of Content-Length from the chunks, or joins them when the length is missing", async () => {
    expect(Array.from(await fsWith(Readable.from(chunks()), 6).read("f"))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await fsWith(Readable.from(chunks()), undefined).read("f"))).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await fsWith(undefined, 0).read("f")).length).toBe(0);
    const out = await fsWith(Readable.from(chunks()), 6).read("f");
    expect(out.buffer.byteLength).toBe(6); // exactly the object, not a view into a larger buffer
  });

  it("a body shorter or longer than Content-Length is CONNECTION, and the body is destroyed", async () => {
    for (const length of [7, 5]) {
      const body = Readable.from(chunks());
      const e = await expectStorageError(() => fsWith(body, length).read("f"), "CONNECTION");
      expect(e.message).toContain("s3://ok-bucket/f");
      expect(e.message).toContain(`Content-Length`);
      expect(body.destroyed).toBe(true);
    }
  });

  it("a body failing mid-way is CONNECTION, and the body is destroyed", async () => {
    const body = Readable.from(
      (async function* () {
        yield new Uint8Array(2);
        throw Object.assign(new Error("aborted"), { code: "ECONNRESET" });
      })(),
    );
    await expectStorageError(() => fsWith(body, 10).read("f"), "CONNECTION");
    expect(body.destroyed).toBe(true);
  });
});
