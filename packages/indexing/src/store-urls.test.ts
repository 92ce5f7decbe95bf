import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Document, isStorageError, MANIFEST_FILE, SimpleVectorStore } from "@larder/core";
import { describe, expect, it } from "vitest";
import { SentenceSplitter } from "./splitter.js";
import { assertCanHold, backendOf, openStorageContext, parseStoreSpec, persistedAt } from "./store-urls.js";
import { loadIndexFromStorage, VectorStoreIndex } from "./vector-store-index.js";

describe("store URLs", () => {
  it("names the backend of each URL form", () => {
    expect(backendOf("./storage")).toBe("local");
    expect(backendOf("/var/data")).toBe("local");
    expect(backendOf("file:///tmp/x")).toBe("local");
    expect(backendOf("memory://demo")).toBe("memory");
    expect(backendOf("s3://bucket/prefix")).toBe("s3");
    expect(backendOf("redis://127.0.0.1:6379/0")).toBe("redis");
    expect(backendOf("rediss://h")).toBe("redis");
    expect(backendOf("postgresql://u:p@h/db")).toBe("postgres");
    expect(backendOf("bolt://h:7687")).toBe("neo4j");
    expect(backendOf("neo4j+s://h")).toBe("neo4j");
    expect(() => backendOf("ftp://u:secret@h/x")).toThrow(/unknown store URL scheme "ftp:\/\/"/);
    expect(() => backendOf("ftp://u:secret@h/x")).not.toThrow(/secret/);
  });

  it("expands one URL into store kinds, and parses kind=url pairs", () => {
    expect(parseStoreSpec("./dir")).toEqual({ persist: "./dir" });
    expect(parseStoreSpec("redis://h:1?prefix=a:")).toEqual({ docs: "redis://h:1?prefix=a:", vectors: "redis://h:1?prefix=a:", chat: "redis://h:1?prefix=a:" });
    expect(parseStoreSpec("postgres://u:p@h/db")).toMatchObject({ docs: "postgres://u:p@h/db", vectors: "postgres://u:p@h/db" });
    expect(parseStoreSpec("neo4j://h")).toEqual({ graph: "neo4j://h" });
    expect(parseStoreSpec("docs=redis://h,vectors=postgres://u:p@h/db?a=1,b=2,graph=bolt://h,persist=./x")).toEqual({
      docs: "redis://h",
      vectors: "postgres://u:p@h/db?a=1,b=2",
      graph: "bolt://h",
      persist: "./x",
    });
    expect(() => parseStoreSpec("docs=redis://h,docs=redis://g")).toThrow(/given twice/);
    expect(() => parseStoreSpec({ bogus: "x" } as never)).toThrow(/unknown store kind/);
  });

  it("refuses a store kind on a backend that cannot hold it, before connecting", async () => {
    const err = await openStorageContext({ vectors: "neo4j://h" }).catch((e: unknown) => e);
    expect(isStorageError(err, "INVALID_ARGUMENT")).toBe(true);
    expect(String((err as Error).message)).toMatch(/vectors cannot live in neo4j/);
    await expect(openStorageContext({ persist: "redis://h" })).rejects.toThrow(/persist cannot live in redis/);
  });

  it("names the package to install when an adapter is missing", async () => {
    const missing = async (s: string) => {
      throw Object.assign(new Error(`Cannot find package '${s}'`), { code: "ERR_MODULE_NOT_FOUND" });
    };
    for (const [url, cmd] of [
      ["redis://127.0.0.1:1", "pnpm add @larder/storage-redis ioredis"],
      ["postgres://u:pw@127.0.0.1:1/db", "pnpm add @larder/storage-postgres pg"],
      ["neo4j://127.0.0.1:1", "pnpm add @larder/storage-neo4j neo4j-driver"],
      ["s3://bucket/prefix", "pnpm add @larder/fs-s3 @aws-sdk/client-s3 @aws-sdk/lib-storage"],
    ] as const) {
      const err = await openStorageContext(url, { importModule: missing }).catch((e: unknown) => e);
      expect(isStorageError(err, "UNSUPPORTED"), url).toBe(true);
      expect((err as Error).message).toContain(cmd);
      expect((err as Error).message).not.toContain("pw@");
    }
    // Any other import failure is not disguised as "not installed".
    const broken = async () => {
      throw new TypeError("boom");
    };
    await expect(openStorageContext("redis://h", { importModule: broken })).rejects.toThrow("boom");
  });

  it("memory:// and local dirs: ingest, persist, reopen, query", async () => {
    const name = `memory://idx-test-${Date.now()}`;
    const a = await openStorageContext(name);
    expect(a.existed).toBe(false);
    await VectorStoreIndex.fromDocuments([new Document({ id: "d", text: "Larders keep food. Cellars stay cold." })], {
      storageContext: a.storageContext,
      splitter: new SentenceSplitter({ chunkSize: 4, chunkOverlap: 0 }),
    });
    expect((await a.persist())?.generation).toBe(1);
    await a.close();
    const b = await openStorageContext(name, { create: false });
    expect(b.existed).toBe(true);
    expect(b.storageContext.vectorStore).toBeInstanceOf(SimpleVectorStore);
    const hits = await (await loadIndexFromStorage(b.storageContext)).asRetriever({ topK: 1 }).retrieve("cold cellars");
    expect(hits[0]!.node.text).toBe("Cellars stay cold.");
    await b.close();
    const none = await openStorageContext("memory://nothing-here", { create: false }).catch((e: unknown) => e);
    expect(isStorageError(none, "NOT_FOUND")).toBe(true);
  });

  it("a store that fails to load is an error, never an empty store; nothing is written or deleted", async () => {
    const dir = await mkdtemp(join(tmpdir(), "larder-urls-"));
    try {
      const a = await openStorageContext(dir);
      await VectorStoreIndex.fromDocuments([new Document({ id: "d", text: "Larders keep food." })], { storageContext: a.storageContext });
      await a.persist();
      await a.close();
      const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8")) as { components: Record<string, { file: string }> };
      const victim = manifest.components["docstore"]!.file;
      await unlink(join(dir, victim));
      const snapshot = async () => {
        const out: Record<string, string> = {};
        for (const f of (await readdir(dir)).sort()) out[f] = createHash("sha256").update(await readFile(join(dir, f))).digest("hex");
        return out;
      };
      const before = await snapshot();
      expect(await persistedAt(dir)).toBe("store");
      for (const create of [true, false]) {
        const err = await openStorageContext(dir, { create }).catch((e: unknown) => e);
        expect(isStorageError(err), String(err)).toBe(true);
        expect(isStorageError(err, "NOT_FOUND") && /nothing persisted/.test(String((err as Error).message))).toBe(false);
        expect(String((err as Error).message)).toContain(victim);
      }
      expect(await snapshot()).toEqual(before);

      // Component files without their manifest: CORRUPT, naming larder.json; not "nothing there".
      await unlink(join(dir, MANIFEST_FILE));
      const orphans = await openStorageContext(dir).catch((e: unknown) => e);
      expect(isStorageError(orphans, "CORRUPT")).toBe(true);
      expect(String((orphans as Error).message)).toMatch(/holds Larder data files \(g\d{6}-.*\) but no larder\.json/);

      // A directory holding only other files is empty (a new store may be written there).
      const other = await mkdtemp(join(tmpdir(), "larder-urls-"));
      await writeFile(join(other, "notes.txt"), "hello");
      expect(await persistedAt(other)).toBe("nothing");
      await rm(other, { recursive: true, force: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses to write data a target cannot hold, before opening anything, and says what can", () => {
    const err = (() => {
      try {
        assertCanHold("neo4j://user:secret@h:7687", { documents: true, vectors: ["default"] }, "ingest");
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isStorageError(err, "UNSUPPORTED")).toBe(true);
    const msg = String((err as Error).message);
    expect(msg).toMatch(/^UNSUPPORTED: ingest writes documents and index structs, vectors, which neo4j:\/\/user:\*\*\*@h:7687 cannot hold \(it holds only a property graph/);
    expect(msg).toContain("redis://");
    expect(msg).toContain("postgres://");
    expect(msg).toContain("graph=neo4j://user:***@h:7687,persist=./storage");
    expect(msg).not.toContain("secret");
    // Every kind has a home: fine.
    assertCanHold("graph=neo4j://h,persist=./x", { documents: true, vectors: ["default", "image"], graph: true, chats: true });
    assertCanHold("./dir", { documents: true, vectors: ["default", "image"], graph: true, chats: true });
    assertCanHold("redis://h", { documents: true, vectors: ["default"], chats: true });
    assertCanHold("docs=redis://h,vectors=postgres://u@h/db", { documents: true, vectors: ["default"] });
    // Redis/Postgres hold no graph and only the default vector namespace.
    expect(() => assertCanHold("redis://h", { graph: true })).toThrow(/a property graph can live in a directory \(path or file:\/\/\), s3:\/\/, neo4j:\/\/ or bolt:\/\//);
    expect(() => assertCanHold("postgres://u@h/db", { vectors: ["default", "image"] })).toThrow(/vectors of namespace "image" can live in a directory \(path or file:\/\/\), s3:\/\/\./);
    expect(() => assertCanHold("docs=redis://h", { documents: true, vectors: ["default"] })).toThrow(/writes vectors, which docs=redis:\/\/h cannot hold \(it holds only documents and index structs;/);
    expect(() => assertCanHold("neo4j://h", { chats: true })).toThrow(/chats can live in .*redis:\/\/, postgres:\/\//);
  });
});
