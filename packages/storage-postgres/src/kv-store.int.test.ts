import { afterAll, describe, expect, it } from "vitest";
import { describeKVStore } from "@larder/conformance/kv";
import { describeDocStore } from "@larder/conformance/docstore";
import { describeIndexStore } from "@larder/conformance/indexstore";
import { HOSTILE_STRINGS, expectStorageError, uniqueNamespace } from "@larder/conformance";
import { StorageError } from "@larder/core/errors";
import { TextNode } from "@larder/core/schema";
import { PostgresChatStore, PostgresDocumentStore, PostgresIndexStore, PostgresKVStore, PostgresVectorStore } from "./index.js";
import { POSTGRES_URL, postgresSkipReason, testPool } from "./test-support/postgres.js";

const skip = await postgresSkipReason();
const pool = testPool();
afterAll(() => pool.end());

const NON_PUBLIC = "larder it schema";

describe.skipIf(skip !== undefined)(`PostgresKVStore${skip ? ` (skipped: ${skip})` : ""}`, () => {
  for (const schema of ["public", NON_PUBLIC]) {
    describeKVStore({
      name: `PostgresKVStore (schema ${schema})`,
      create: () => new PostgresKVStore({ pool, schema, table: uniqueNamespace("kv") }),
      dispose: (s) => (s as PostgresKVStore).drop(),
    });
    describeDocStore({
      name: `PostgresDocumentStore (schema ${schema})`,
      create: () => new PostgresDocumentStore({ pool, schema, table: uniqueNamespace("ds") }),
      // Another worker: its own document and KV store objects on the same table (the advisory lock is what they share).
      openAnother: (store) => new PostgresDocumentStore({ pool, schema, table: ((store as PostgresDocumentStore).kvStore as PostgresKVStore).table }),
      dispose: (s) => ((s as PostgresDocumentStore).kvStore as PostgresKVStore).drop(),
    });
    describeIndexStore({
      name: `PostgresIndexStore (schema ${schema})`,
      create: () => new PostgresIndexStore({ pool, schema, table: uniqueNamespace("is") }),
      dispose: (s) => ((s as PostgresIndexStore).kvStore as PostgresKVStore).drop(),
    });
  }

  describe("PostgresKVStore specifics", () => {
    it("hostile table and schema names work as given (KV, chat, vector) or are INVALID_ARGUMENT, and never touch other tables", async () => {
      const sentinel = new PostgresKVStore({ pool, table: uniqueNamespace("sentinel") });
      await sentinel.put("k", { alive: true });
      const accepted: string[] = [];
      for (const name of HOSTILE_STRINGS) {
        let store: PostgresKVStore;
        try {
          store = new PostgresKVStore({ pool, schema: NON_PUBLIC, table: name });
        } catch (e) {
          expect((e as { code?: string }).code, JSON.stringify(name.slice(0, 30))).toBe("INVALID_ARGUMENT");
          continue;
        }
        // The same name for a chat and a vector table (in their own schemas).
        const chat = new PostgresChatStore({ pool, schema: "larder it chat", table: name });
        const vec = new PostgresVectorStore({ pool, schema: "larder it vec", table: name });
        try {
          await store.put("key", { name });
          expect(await store.get("key")).toEqual({ name });
          await chat.addMessage("s", { role: "user", content: name });
          expect(await chat.getMessages("s")).toEqual([{ role: "user", content: name }]);
          await vec.add([new TextNode({ id: "n", embedding: [1, 0], metadata: { name } })]);
          expect((await vec.query({ embedding: [1, 0], topK: 1, filters: { filters: [{ key: "name", operator: "==", value: name }] } })).ids).toEqual(["n"]);
          // The tables are really named exactly that (case and punctuation kept).
          const r = await pool.query("SELECT schemaname FROM pg_tables WHERE tablename = $1 ORDER BY 1", [name]);
          expect(r.rows.map((x) => x.schemaname)).toEqual(["larder it chat", NON_PUBLIC, "larder it vec"].sort());
          accepted.push(name);
        } finally {
          await store.drop();
          await chat.drop();
          await vec.drop();
        }
      }
      expect(accepted).toContain("'; DROP TABLE users; --");
      expect(accepted).toContain('double"quote');
      expect(accepted).not.toContain("nul\u0000byte");
      expect(accepted).not.toContain("x".repeat(10_000));
      // Hostile schema names too.
      for (const schema of ["Mixed Case", 'sch"ema', "x\"; DROP SCHEMA public CASCADE; --"]) {
        const s = new PostgresKVStore({ pool, schema, table: "t" });
        await s.put("a", { b: 1 });
        expect(await s.get("a")).toEqual({ b: 1 });
        await pool.query(`DROP SCHEMA "${schema.replace(/"/g, '""')}" CASCADE`);
      }
      expect(() => new PostgresKVStore({ pool, schema: "pg_catalog", table: "t" })).toThrow(/reserved/);
      expect(await sentinel.get("k")).toEqual({ alive: true });
      await sentinel.drop();
    });

    it("values with NUL and lone surrogates round-trip through JSONB", async () => {
      const kv = new PostgresKVStore({ pool, table: uniqueNamespace("nul") });
      try {
        const odd = {
          nul: "a\u0000b",
          lone: "x\ud800y",
          low: "\udc00",
          marker: "\uffffstarts with the escape mark",
          markerInside: "mid\uffffdle",
          ["key\u0000with nul"]: ["\u0000", { "\uffff": "\uffff\u0000" }],
          plain: "ok",
        };
        await kv.put("odd", odd);
        expect(await kv.get("odd")).toEqual(odd);
        // Plain values are stored as plain JSON (queryable with SQL).
        await kv.put("plain", { a: "b" });
        const r = await pool.query(`SELECT value->>'a' AS a FROM ${kv.qualifiedTable} WHERE key = 'plain'`);
        expect(r.rows[0].a).toBe("b");
        await expectStorageError(() => kv.put("nul\u0000key", { a: 1 }), "INVALID_ARGUMENT");
      } finally {
        await kv.drop();
      }
    });

    it("refuses an existing table with another layout with CONFLICT", async () => {
      const table = uniqueNamespace("layout");
      await pool.query(`CREATE TABLE "${table}" (id serial primary key, k varchar, v json)`);
      try {
        const kv = new PostgresKVStore({ pool, table });
        const err = await expectStorageError(() => kv.put("a", { b: 1 }), "CONFLICT");
        expect(err.message).toMatch(/missing column collection/);
      } finally {
        await pool.query(`DROP TABLE "${table}"`);
      }
    });

    it("concurrent first use by many instances creates the table once (advisory lock)", async () => {
      const table = uniqueNamespace("race");
      const stores = Array.from({ length: 8 }, () => new PostgresKVStore({ pool, table, schema: uniqueNamespace("s").slice(0, 20) === "" ? "x" : "race schema" }));
      await Promise.all(stores.map((s, i) => s.put(`k${i}`, { i })));
      expect(Object.keys(await stores[0]!.getAll())).toHaveLength(8);
      await stores[0]!.drop();
    });

    it("transaction: holders of one lock never overlap across instances, and each commits all or nothing", async () => {
      const table = uniqueNamespace("tx");
      const stores = Array.from({ length: 5 }, () => new PostgresKVStore({ pool, table }));
      try {
        await stores[0]!.put("n", { v: 0 }, "counter");
        let inside = 0;
        let overlaps = 0;
        await Promise.all(
          stores.flatMap((kv) =>
            [1, 2, 3, 4].map(() =>
              kv.transaction("ns/lock", async (tx) => {
                if (++inside > 1) overlaps++;
                const v = ((await tx.get("n", "counter"))?.["v"] as number) + 1;
                await tx.putAll([["n", { v }], [`seen${v}`, { v }]], "counter", { batchSize: 1 });
                inside--;
              }),
            ),
          ),
        );
        expect(overlaps).toBe(0);
        expect(await stores[0]!.get("n", "counter")).toEqual({ v: 20 });
        // A rejection rolls back every write made through the transaction's store, multi-statement ones included.
        const err = await expectStorageError(
          () =>
            stores[1]!.transaction("ns/lock", async (tx) => {
              await tx.putAll([["n", { v: -1 }], ["other", { x: 1 }]], "counter", { batchSize: 1 });
              await tx.deleteMany(["seen1", "seen2"], "counter");
              expect(await tx.get("n", "counter")).toEqual({ v: -1 }); // it reads its own writes
              expect(await stores[2]!.get("n", "counter")).toEqual({ v: 20 }); // others do not, yet
              throw new StorageError("CONFLICT", "changed my mind");
            }),
          "CONFLICT",
        );
        expect(err.message).toContain("changed my mind");
        const all = await stores[0]!.getAll("counter");
        expect(all["n"]).toEqual({ v: 20 });
        expect(all["other"]).toBeUndefined();
        expect(Object.keys(all)).toHaveLength(21);
        await expectStorageError(() => stores[0]!.transaction("", async () => 1), "INVALID_ARGUMENT");
        // Any rejection of fn comes back as it is; the same lock inside fn joins the transaction.
        const mine = new TypeError("not a storage error");
        await expect(stores[0]!.transaction("ns/lock", async () => Promise.reject(mine))).rejects.toBe(mine);
        expect(await stores[0]!.transaction("ns/lock", (tx) => tx.transaction!("ns/lock", async (inner) => (await inner.get("n", "counter"))?.["v"]))).toBe(20);
      } finally {
        await stores[0]!.drop();
      }
    });

    it("putAll is one statement per batch and all-or-nothing across batches", async () => {
      const kv = new PostgresKVStore({ pool, table: uniqueNamespace("batch") });
      try {
        const entries = Array.from({ length: 2500 }, (_, i) => [`k${i}`, { i }] as const);
        await kv.putAll(entries, "c", { batchSize: 1000 });
        expect(Object.keys(await kv.getAll("c"))).toHaveLength(2500);
      } finally {
        await kv.drop();
      }
    });

    it("accepts {url} and {client}, and close() ends only what it opened", async () => {
      const table = uniqueNamespace("conn");
      const viaUrl = new PostgresKVStore({ url: POSTGRES_URL, table });
      await viaUrl.put("a", { via: "url" });
      await viaUrl.close();
      await expectStorageError(() => viaUrl.get("a"), "CONNECTION");
      const { default: pg } = await import("pg");
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        const viaClient = new PostgresKVStore({ client, table });
        expect(await viaClient.get("a")).toEqual({ via: "url" });
        await Promise.all([viaClient.putAll([["b", { n: 1 }]], "data", { batchSize: 1 }), viaClient.put("c", { n: 2 })]);
        await viaClient.close();
        expect((await client.query("SELECT 1 AS x")).rows[0].x).toBe(1); // still usable
        await new PostgresKVStore({ client, table }).drop();
      } finally {
        await client.end();
      }
      expect(() => new PostgresKVStore({ table })).toThrow(/exactly one/);
    });
  });
});
