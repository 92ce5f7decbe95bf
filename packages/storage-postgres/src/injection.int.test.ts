import { afterAll, describe, expect, it } from "vitest";
import { uniqueNamespace } from "@larder/conformance";
import { TextNode } from "@larder/core/schema";
import { PostgresChatStore, PostgresKVStore, PostgresVectorStore } from "./index.js";
import { postgresSkipReason, testPool } from "./test-support/postgres.js";

const skip = await postgresSkipReason();
const pool = testPool();
afterAll(() => pool.end());

/**
 * Injection attempts through a metadata filter key, filter values and table/schema names: each
 * does exactly what its text says as data (a key with that name, a table with that name) and
 * nothing else. A sentinel table must survive, and only the expected rows come back.
 */
describe.skipIf(skip !== undefined)(`SQL injection${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("a filter key like `a') OR 1=1 --` is only ever a key", async () => {
    const table = uniqueNamespace("inj");
    const vs = new PostgresVectorStore({ pool, table });
    try {
      const evil = "a') OR 1=1 --";
      const evil2 = "x'; DROP TABLE \"" + table + "\"; --";
      await vs.add([
        new TextNode({ id: "has-key", embedding: [1, 0], metadata: { [evil]: "yes" } }),
        new TextNode({ id: "other", embedding: [0, 1], metadata: { a: "yes" } }),
        new TextNode({ id: "third", embedding: [1, 1], metadata: { [evil2]: 1 } }),
      ]);
      const r = await vs.query({ embedding: [1, 0], topK: 10, filters: { filters: [{ key: evil, operator: "==", value: "yes" }] } });
      expect(r.ids).toEqual(["has-key"]);
      // OR 1=1 in a value, and a DROP in a key: still only data.
      const r2 = await vs.query({
        embedding: [1, 0],
        topK: 10,
        filters: { condition: "or", filters: [{ key: "a", operator: "==", value: "' OR 1=1 --" }, { key: evil2, operator: ">=", value: 1 }] },
      });
      expect(r2.ids).toEqual(["third"]);
      const r3 = await vs.query({ embedding: [1, 0], topK: 10, filters: { filters: [{ key: "a", operator: "text_match", value: "%" }] } });
      expect(r3.ids).toEqual([]);
      expect((await vs.getNodes()).length).toBe(3);
    } finally {
      await vs.drop();
    }
  });

  it("a table name like `x\"; DROP TABLE y; --` creates a table with exactly that name and drops nothing", async () => {
    const victim = uniqueNamespace("victim");
    await pool.query(`CREATE TABLE "${victim}" (x int)`);
    const evilNames = [`x"; DROP TABLE "${victim}"; --`, `${victim}" CASCADE; --`, `y'); DROP TABLE "${victim}"; --`];
    try {
      for (const name of evilNames) {
        const kv = new PostgresKVStore({ pool, table: name });
        const chat = new PostgresChatStore({ pool, table: `${name}c` });
        const vs = new PostgresVectorStore({ pool, table: `${name}v` });
        await kv.put("k", { v: 1 });
        await chat.addMessage("s", { role: "user", content: "hi" });
        await vs.add([new TextNode({ id: "n", embedding: [1, 2] })]);
        const tables = await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY($1)", [
          [name, `${name}c`, `${name}v`],
        ]);
        expect(tables.rows.map((r) => r.tablename).sort()).toEqual([name, `${name}c`, `${name}v`].sort());
        await kv.drop();
        await chat.drop();
        await vs.drop();
      }
      const still = await pool.query("SELECT to_regclass($1) IS NOT NULL AS ok", [`"${victim}"`]);
      expect(still.rows[0].ok).toBe(true);
    } finally {
      await pool.query(`DROP TABLE IF EXISTS "${victim}"`);
    }
  });
});
