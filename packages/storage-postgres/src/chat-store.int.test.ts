import { afterAll, describe, expect, it } from "vitest";
import { describeChatStore } from "@larder/conformance/chat";
import { uniqueNamespace } from "@larder/conformance";
import { PostgresChatStore } from "./index.js";
import { postgresSkipReason, testPool } from "./test-support/postgres.js";

const skip = await postgresSkipReason();
const pool = testPool();
afterAll(() => pool.end());

describe.skipIf(skip !== undefined)(`PostgresChatStore${skip ? ` (skipped: ${skip})` : ""}`, () => {
  for (const schema of ["public", "larder chat schema"]) {
    describeChatStore({
      name: `PostgresChatStore (schema ${schema})`,
      create: () => new PostgresChatStore({ pool, schema, table: uniqueNamespace("chat") }),
      dispose: (s) => (s as PostgresChatStore).drop(),
    });
  }

  describeChatStore({
    name: "PostgresChatStore (ttlSeconds: 3600, nothing expires)",
    create: () => new PostgresChatStore({ pool, table: uniqueNamespace("chat"), ttlSeconds: 3600 }),
    dispose: (s) => (s as PostgresChatStore).drop(),
  });

  it("ttlSeconds: a history whose last write is older reads as empty and is replaced by the next write", async () => {
    const cs = new PostgresChatStore({ pool, table: uniqueNamespace("chat"), ttlSeconds: 60 });
    try {
      await cs.addMessages("old", [{ role: "user", content: "a" }, { role: "user", content: "b" }]);
      await cs.addMessages("fresh", [{ role: "user", content: "c" }]);
      // Age "old" by an hour (no sleeping): its last write is now older than the TTL.
      await pool.query(`UPDATE ${cs.qualifiedTable} SET created_at = now() - interval '1 hour' WHERE key = 'old'`);
      expect(await cs.getMessages("old")).toEqual([]);
      expect(await cs.getKeys()).toEqual(["fresh"]);
      expect(await cs.deleteLastMessage("old")).toBeUndefined();
      expect(await cs.deleteMessages("old")).toEqual([]);
      await pool.query(`UPDATE ${cs.qualifiedTable} SET created_at = now() - interval '1 hour' WHERE key = 'fresh'`);
      await cs.addMessage("fresh", { role: "user", content: "d" });
      expect(await cs.getMessages("fresh")).toEqual([{ role: "user", content: "d" }]);
      await cs.addMessage("gone", { role: "user", content: "e" });
      await pool.query(`UPDATE ${cs.qualifiedTable} SET created_at = now() - interval '1 hour' WHERE key = 'gone'`);
      expect(await cs.purgeExpired()).toBe(1);
      expect((await pool.query(`SELECT count(*)::int AS n FROM ${cs.qualifiedTable}`)).rows[0].n).toBe(1);
    } finally {
      await cs.drop();
    }
  });

  it("appends from two store instances interleave batches but never split one", async () => {
    const table = uniqueNamespace("chat");
    const a = new PostgresChatStore({ pool, table });
    const b = new PostgresChatStore({ pool, table });
    try {
      const batch = (tag: string) => Array.from({ length: 20 }, (_, i) => ({ role: "user", content: `${tag}${i}` }));
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).addMessages("s", batch(`b${i}-`))));
      const got = (await a.getMessages("s")).map((m) => m.content as string);
      expect(got).toHaveLength(200);
      for (let i = 0; i < 200; i += 20) {
        const tag = got[i]!.split("-")[0]!;
        expect(got.slice(i, i + 20)).toEqual(batch(`${tag}-`).map((m) => m.content));
      }
    } finally {
      await a.drop();
    }
  });
});
