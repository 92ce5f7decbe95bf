// S3-specific behaviour beyond the kit: pagination and batch deletes, no directory markers,
// multipart uploads, manifest races between independent writers, error mapping (missing bucket,
// wrong credentials, throttling through a fault-injecting proxy, unreachable server), s3:// URLs.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ListMultipartUploadsCommand, type S3Client } from "@aws-sdk/client-s3";
import { expectStorageError } from "@larder/conformance";
import { resolveFileSystem } from "@larder/core/fs";
import { StorageContext } from "@larder/core/storage";
import { TextNode } from "@larder/core/schema";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { registerS3Scheme } from "./scheme.js";
import { S3FileSystem } from "./s3-file-system.js";
import { deletePrefix, newClient, probe, rawKeys, s3Env, testFileSystem, uniquePrefix, whenReachable } from "./testing/env.js";

const reason = await probe();
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

whenReachable(reason, "S3FileSystem extras", () => {
  const admin: S3Client = newClient();
  const e = s3Env();
  const prefixes: string[] = [];
  const opened: S3FileSystem[] = [];
  function fresh(extra: Parameters<typeof testFileSystem>[1] = {}): S3FileSystem {
    const p = uniquePrefix("x");
    prefixes.push(p);
    const fs = testFileSystem(p, extra);
    opened.push(fs);
    return fs;
  }
  afterEach(async () => {
    for (const fs of opened.splice(0)) await fs.close();
    for (const p of prefixes.splice(0)) await deletePrefix(admin, `${p}/`);
  });
  afterAll(() => admin.destroy());

  describe("listing and batch deletes", () => {
    it("pages through more than 1000 keys, sorted by code point, and deletes them 1000 per request", async () => {
      const fs = fresh();
      const n = 1_050;
      const names = Array.from({ length: n }, (_, i) => `p/${(i * 7919) % n}-${i % 3 === 0 ? "ä" : i % 3 === 1 ? "🦙" : "Z"}`);
      // 16 writes in flight: enough to be quick, few enough not to flood a 2-core machine.
      for (let i = 0; i < n; i += 16) await Promise.all(names.slice(i, i + 16).map((p) => fs.write(p, p)));
      const listed = await fs.list("p/");
      expect(listed).toHaveLength(n);
      expect(listed).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      expect(await fs.deleteMany([...names, "p/missing-1", "p/missing-2", names[0]!])).toBe(n);
      expect(await fs.list()).toEqual([]);
      expect(await rawKeys(admin, `${fs.prefix}/`)).toEqual([]);
    });

    it("lists keys sorted by code point (BMP, astral, non-ASCII)", async () => {
      const fs = fresh();
      const paths = ["b.txt", "a/z.txt", "a/b/c.txt", "A.txt", "a.txt", "ä.txt", "z/🦙.txt", "z/\ufffd.txt", "z/\ue000.txt", "10", "9", "a-b", "a/b.txt"];
      await Promise.all(paths.map((p) => fs.write(p, p)));
      expect(await fs.list()).toEqual([...paths].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    });

    it("counts only existing keys when the range holds many more objects than were asked for", async () => {
      const fs = fresh();
      const all = Array.from({ length: 60 }, (_, i) => `d/${String(i).padStart(3, "0")}`);
      for (let i = 0; i < all.length; i += 16) await Promise.all(all.slice(i, i + 16).map((p) => fs.write(p, "x")));
      const some = ["d/000", "d/059", "d/030", "d/nope"];
      expect(await fs.deleteMany(some)).toBe(3);
      expect(await fs.list("d/")).toHaveLength(57);
    });
  });

  describe("no directory markers", () => {
    it("writes, streams and persists without creating any marker object", async () => {
      const fs = fresh({ partSize: 5 * 1024 * 1024 });
      await fs.write("a/b/c/d.json", "{}");
      await fs.writeStream("deep/x/y/stream.bin", (function* () {
        for (let i = 0; i < 12; i++) yield new Uint8Array(1024 * 1024).fill(i);
      })());
      const ctx = await StorageContext.fromDefaults();
      await ctx.docStore.addDocuments([new TextNode({ id: "n1", text: "hello" })]);
      await ctx.persist("runs/r1", { fs });
      const keys = await rawKeys(admin, `${fs.prefix}/`);
      expect(keys.filter((k) => k.endsWith("/"))).toEqual([]);
      const listedFiles = (await fs.list()).map((p) => `${fs.prefix}/${p}`);
      expect(keys.sort()).toEqual(listedFiles.sort());
      expect(keys).toContain(`${fs.prefix}/runs/r1/larder.json`);
      // No object is named like the "directory" of another one.
      for (const k of keys) expect(keys.filter((o) => o.startsWith(`${k}/`)), k).toEqual([]);
      // A "directory" is not an object.
      expect(await fs.exists("a/b")).toBe(false);
      expect(await fs.exists("runs/r1")).toBe(false);
    });
  });

  describe("multipart uploads", () => {
    it("streams 23 MB in 5 MB parts, reads it back in chunks, and leaves no upload behind", async () => {
      const fs = fresh({ partSize: 5 * 1024 * 1024, queueSize: 2 });
      const total = 23 * 1024 * 1024 + 5;
      async function* gen(): AsyncGenerator<Uint8Array> {
        // A reused buffer: the file system must copy what it keeps.
        const buf = new Uint8Array(64 * 1024);
        for (let off = 0; off < total; off += buf.length) {
          const n = Math.min(buf.length, total - off);
          for (let i = 0; i < n; i++) buf[i] = (off + i) % 251;
          yield buf.subarray(0, n);
        }
      }
      await fs.writeStream("big.bin", gen());
      const st = await fs.stat("big.bin");
      expect(st?.size).toBe(total);
      expect(st?.etag, "a multipart ETag ends in -<parts>").toMatch(/-5"?$/);
      let off = 0;
      let bad = -1;
      let chunks = 0;
      for await (const c of fs.readStream("big.bin")) {
        chunks++;
        for (let i = 0; i < c.length; i++) {
          if (c[i] !== (off + i) % 251 && bad < 0) bad = off + i;
        }
        off += c.length;
      }
      expect(bad).toBe(-1);
      expect(off).toBe(total);
      expect(chunks).toBeGreaterThan(1);
      const uploads = await admin.send(new ListMultipartUploadsCommand({ Bucket: fs.bucket, Prefix: `${fs.prefix}/` }));
      expect(uploads.Uploads ?? []).toEqual([]);
    });

    it("a conditional multipart write that loses is CONFLICT, keeps the old object and aborts its parts", async () => {
      const fs = fresh({ partSize: 5 * 1024 * 1024 });
      await fs.write("m.bin", "old");
      const etag = (await fs.stat("m.bin"))!.etag!;
      const big = () => [new Uint8Array(6 * 1024 * 1024).fill(1), new Uint8Array(6 * 1024 * 1024).fill(2)];
      await expectStorageError(() => fs.writeStream("m.bin", big(), { ifMatch: "absent" }), "CONFLICT");
      await fs.write("m.bin", "newer");
      await expectStorageError(() => fs.writeStream("m.bin", big(), { ifMatch: { etag } }), "CONFLICT");
      expect(dec(await fs.read("m.bin"))).toBe("newer");
      const cur = (await fs.stat("m.bin"))!.etag!;
      await fs.writeStream("m.bin", big(), { ifMatch: { etag: cur } });
      expect((await fs.stat("m.bin"))!.size).toBe(12 * 1024 * 1024);
      const uploads = await admin.send(new ListMultipartUploadsCommand({ Bucket: fs.bucket, Prefix: `${fs.prefix}/` }));
      expect(uploads.Uploads ?? []).toEqual([]);
    });

    it("stopping a stream read early releases it", async () => {
      const fs = fresh();
      await fs.write("r.bin", new Uint8Array(4 * 1024 * 1024).fill(7));
      for await (const c of fs.readStream("r.bin")) {
        expect(c[0]).toBe(7);
        break;
      }
      expect((await fs.read("r.bin")).length).toBe(4 * 1024 * 1024);
    });
  });

  describe("two writers on one manifest", () => {
    it("independent clients: exactly one creates it, exactly one replaces a given version", async () => {
      const a = fresh();
      const b = testFileSystem(a.prefix); // same place, its own client
      opened.push(b);
      const results = await Promise.allSettled([
        a.write("larder.json", JSON.stringify({ writer: "a", generation: 1 }), { ifMatch: "absent" }),
        b.write("larder.json", JSON.stringify({ writer: "b", generation: 1 }), { ifMatch: "absent" }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const loser = results.find((r): r is PromiseRejectedResult => r.status === "rejected")!;
      expect((loser.reason as { code?: string }).code).toBe("CONFLICT");
      const first = JSON.parse(dec(await a.read("larder.json"))) as { writer: string };
      const etag = (await b.stat("larder.json"))!.etag!;
      const second = await Promise.allSettled([
        a.write("larder.json", JSON.stringify({ writer: "a", generation: 2 }), { ifMatch: { etag } }),
        b.write("larder.json", JSON.stringify({ writer: "b", generation: 2 }), { ifMatch: { etag } }),
      ]);
      expect(second.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect(((second.find((r) => r.status === "rejected") as PromiseRejectedResult).reason as { code?: string }).code).toBe("CONFLICT");
      const now = JSON.parse(dec(await b.read("larder.json"))) as { writer: string; generation: number };
      expect(now.generation).toBe(2);
      expect(["a", "b"]).toContain(first.writer);
    });

    it("two StorageContexts persisting to one s3:// place: one commits, the other gets CONFLICT", async () => {
      const a = fresh();
      const b = testFileSystem(a.prefix);
      opened.push(b);
      const ctxA = await StorageContext.fromDefaults();
      const ctxB = await StorageContext.fromDefaults();
      await ctxA.docStore.addDocuments([new TextNode({ id: "a", text: "from a" })]);
      await ctxB.docStore.addDocuments([new TextNode({ id: "b", text: "from b" })]);
      const results = await Promise.allSettled([ctxA.persist("store", { fs: a }), ctxB.persist("store", { fs: b })]);
      const ok = results.findIndex((r) => r.status === "fulfilled");
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect(((results[1 - ok] as PromiseRejectedResult).reason as { code?: string }).code).toBe("CONFLICT");
      const loaded = await StorageContext.fromPersistDir("store", { fs: a });
      expect(await loaded.docStore.documentExists(ok === 0 ? "a" : "b")).toBe(true);
      expect(await loaded.docStore.documentExists(ok === 0 ? "b" : "a")).toBe(false);
    });
  });

  describe("errors", () => {

    it("a missing bucket is NOT_FOUND naming the bucket, for every operation", async () => {
      const fs = testFileSystem("p", { bucket: "larder-no-such-bucket" });
      opened.push(fs);
      for (const op of [() => fs.read("f"), () => fs.stat("f"), () => fs.exists("f"), () => fs.list(), () => fs.write("f", "x"), () => fs.delete("f")]) {
        const err = await expectStorageError(op, "NOT_FOUND");
        expect(err.message).toContain("larder-no-such-bucket");
      }
    });

    it("a missing key is NOT_FOUND on read, undefined on stat", async () => {
      const fs = fresh();
      const err = await expectStorageError(() => fs.read("nope/x.json"), "NOT_FOUND");
      expect(err.message).toContain("nope/x.json");
      expect(await fs.stat("nope/x.json")).toBeUndefined();
    });

    it("a wrong secret is CONNECTION, and no credential appears in the message", async () => {
      const secret = "wrong-Secret-0123456789abcdef";
      const fs = testFileSystem(uniquePrefix("cred"), { credentials: { accessKeyId: e.accessKeyId, secretAccessKey: secret } });
      opened.push(fs);
      for (const op of [() => fs.read("f"), () => fs.write("f", "x"), () => fs.list(), () => fs.stat("f")]) {
        const err = await expectStorageError(op, "CONNECTION");
        expect(err.message).toMatch(/credentials|denied/);
        expect(err.message).not.toContain(secret);
        expect(err.message).not.toContain(e.secretAccessKey);
      }
    });

    it("an unknown access key is CONNECTION, also for HEAD requests whose 404 carries no code", async () => {
      const fs = testFileSystem(uniquePrefix("cred"), { credentials: { accessKeyId: "AKIDNOSUCHUSER", secretAccessKey: "whatever-secret-value" } });
      opened.push(fs);
      for (const op of [() => fs.stat("f"), () => fs.exists("f"), () => fs.read("f"), () => fs.list()]) {
        const err = await expectStorageError(op, "CONNECTION");
        expect(err.message).not.toContain("whatever-secret-value");
      }
    });

    it("an unreachable server is CONNECTION after the bounded retries", async () => {
      const dead = await closedPort();
      const fs = S3FileSystem.minio({
        endpoint: `http://127.0.0.1:${dead}`,
        bucket: e.bucket,
        credentials: { accessKeyId: "a", secretAccessKey: "b" },
        maxAttempts: 3,
      });
      opened.push(fs);
      const err = await expectStorageError(() => fs.read("f"), "CONNECTION");
      expect(err.message).toContain("ECONNREFUSED");
    });

    it("throttling (503 SlowDown) is retried with backoff, then CONNECTION when it persists", async () => {
      const proxy = await faultProxy(new URL(e.endpoint));
      try {
        const fs = testFileSystem(uniquePrefix("slow"), { endpoint: proxy.url, maxAttempts: 4 });
        opened.push(fs);
        prefixes.push(fs.prefix);
        proxy.failNext(2);
        await fs.write("f.json", "{}");
        expect(proxy.failed).toBe(2);
        expect(dec(await fs.read("f.json"))).toBe("{}");
        proxy.failNext(100);
        const err = await expectStorageError(() => fs.read("f.json"), "CONNECTION");
        expect(err.message).toContain("SlowDown");
        expect(err.message).toContain("after 4 attempts");
        expect(proxy.failed).toBe(2 + 4);
      } finally {
        await proxy.close();
      }
    });

    it("keys too long for S3 and traversal are INVALID_ARGUMENT before any request", async () => {
      const fs = testFileSystem("p", { bucket: "larder-no-such-bucket" }); // any request would be NOT_FOUND
      opened.push(fs);
      await expectStorageError(() => fs.write(`${"é".repeat(600)}`, "x"), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.write("../x", "x"), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.write("/x", "x"), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.deleteMany(["ok", "a/../../b"]), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.write("f", "x", { ifMatch: {} as { etag: string } }), "INVALID_ARGUMENT");
    });
  });

  describe("s3:// URLs", () => {
    it("persist and load through s3://bucket/prefix with the endpoint in the URL", async () => {
      const unregister = registerS3Scheme({ credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey }, region: e.region });
      try {
        const prefix = uniquePrefix("url");
        prefixes.push(prefix);
        const url = `s3://${e.bucket}/${prefix}/run1?endpoint=${encodeURIComponent(e.endpoint)}`;
        const ctx = await StorageContext.fromDefaults();
        await ctx.docStore.addDocuments([new TextNode({ id: "n1", text: "over s3://" })]);
        const r = await ctx.persist(url);
        expect(r.generation).toBe(1);
        expect(await rawKeys(admin, `${prefix}/run1/`)).toContain(`${prefix}/run1/larder.json`);
        const loaded = await StorageContext.fromPersistDir(url);
        expect((await loaded.docStore.getDocument("n1"))?.getContent()).toBe("over s3://");
        const fs = await resolveFileSystem(url);
        expect(fs).toBeInstanceOf(S3FileSystem);
        expect((fs as S3FileSystem).prefix).toBe(`${prefix}/run1`);
        expect(await fs.list()).toContain("larder.json");
      } finally {
        unregister();
      }
    });
  });
});

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A loopback HTTP proxy in front of the real S3 server that answers the next `n` requests with
 * 503 SlowDown (S3's throttling error) and forwards everything else unchanged (Host included, so
 * SigV4 signatures still verify).
 */
async function faultProxy(target: URL): Promise<{ url: string; failNext(n: number): void; failed: number; close(): Promise<void> }> {
  let pending = 0;
  const state = { failed: 0 };
  const server: Server = createServer((req, res) => {
    if (pending > 0) {
      pending--;
      state.failed++;
      req.resume();
      res.writeHead(503, { "content-type": "application/xml" });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    failNext(n: number) {
      pending = n;
    },
    get failed() {
      return state.failed;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
