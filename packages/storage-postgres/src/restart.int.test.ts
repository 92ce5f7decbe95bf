import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectStorageError } from "@larder/conformance";
import { refDocBookkeepingProblems } from "@larder/conformance/docstore";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { PostgresChatStore, PostgresDocumentStore, PostgresKVStore, PostgresVectorStore } from "./index.js";
import { PrivatePostgres } from "./test-support/private-postgres.js";
import { SERVICES_REQUIRED } from "./test-support/postgres.js";

/**
 * Fault test on a private cluster started for this file (never the shared server): a crash
 * mid-workload fails in-flight and new operations fast with CONNECTION (no credentials in the
 * message), a transaction is all-or-nothing, and the same store instances recover after restart.
 */
const bindir = PrivatePostgres.binDir();
if (!bindir && SERVICES_REQUIRED) throw new Error("CI is set but PostgreSQL server binaries (initdb, pg_ctl) are not installed");

describe.skipIf(!bindir)(`restart${bindir ? "" : " (skipped: initdb/pg_ctl not found; set LARDER_PG_BINDIR)"}`, () => {
  let pg: PrivatePostgres;
  beforeAll(async () => {
    pg = await PrivatePostgres.create();
  }, 120_000);
  afterAll(async () => {
    await pg?.destroy();
  });

  it("fails fast with CONNECTION while down, never half-writes, and recovers", async () => {
    const kv = new PostgresKVStore({ url: pg.url, table: "kv", connectionTimeoutMillis: 1000 });
    const chat = new PostgresChatStore({ url: pg.url, table: "chat", connectionTimeoutMillis: 1000 });
    const vs = new PostgresVectorStore({ url: pg.url, table: "vec", connectionTimeoutMillis: 1000 });
    const docs = new PostgresDocumentStore({ url: pg.url, table: "docs", connectionTimeoutMillis: 1000 });
    const chunk = (id: string, doc: string) => new TextNode({ id, text: id, relationships: { [NodeRelationship.SOURCE]: { nodeId: doc } } });
    try {
      await docs.addDocuments([chunk("before", "D0")]);
      await kv.put("before", { ok: true });
      await chat.addMessage("s", { role: "user", content: "before" });
      await vs.add([new TextNode({ id: "a", embedding: [1, 0, 0] })]);

      // A large multi-statement transaction in flight when the server dies.
      const big = Array.from({ length: 40_000 }, (_, i) => [`big${i}`, { i, pad: "x".repeat(50) }] as const);
      const inflight = kv.putAll(big, "big", { batchSize: 500 }).then(
        () => "committed" as const,
        (e: unknown) => e,
      );
      // And a docstore write: one transaction (node, metadata and ref-doc rows) under its lock.
      const chunks = Array.from({ length: 20_000 }, (_, i) => chunk(`c${i}`, "D"));
      const docsInflight = docs.addDocuments(chunks, { batchSize: 500 }).then(
        () => "committed" as const,
        (e: unknown) => e,
      );
      await pg.kill();
      const outcome = await inflight;
      const docsOutcome = await docsInflight;
      for (const o of [outcome, docsOutcome]) {
        if (o === "committed") continue;
        expect((o as { code?: string }).code).toBe("CONNECTION");
        expect(String((o as Error).message)).not.toContain(pg.password);
      }

      // While down: every kind of call fails fast with CONNECTION, without the password.
      for (const call of [
        () => kv.get("before"),
        () => chat.getMessages("s"),
        () => vs.query({ embedding: [1, 0, 0], topK: 1 }),
        () => docs.addDocuments([chunk("lost", "D0")]),
      ]) {
        const t0 = performance.now();
        const err = await expectStorageError(call, "CONNECTION");
        expect(performance.now() - t0).toBeLessThan(3000);
        expect(err.message).not.toContain(pg.password);
      }

      await pg.start();
      // Same instances, same pools: recovered.
      expect(await kv.get("before")).toEqual({ ok: true });
      expect(await chat.getMessages("s")).toEqual([{ role: "user", content: "before" }]);
      expect((await vs.query({ embedding: [1, 0, 0], topK: 1 })).ids).toEqual(["a"]);
      // The interrupted transaction left all or nothing.
      const count = Object.keys(await kv.getAll("big")).length;
      expect(outcome === "committed" ? count === 40_000 : count === 0, `found ${count} rows of the batch`).toBe(true);
      // So did the docstore write, bookkeeping included.
      const stored = (await docs.getAllDocumentIds()).filter((id) => id !== "before").length;
      expect(docsOutcome === "committed" ? stored === 20_000 : stored === 0, `found ${stored} nodes of the docstore call`).toBe(true);
      expect((await docs.getRefDocInfo("D"))?.nodeIds.length ?? 0).toBe(stored);
      expect(await refDocBookkeepingProblems(docs)).toEqual([]);
      await docs.addDocuments([chunk("after", "D0")]);
      expect((await docs.getRefDocInfo("D0"))?.nodeIds).toEqual(["before", "after"]);
      await kv.put("after", { ok: true });
      expect(await kv.get("after")).toEqual({ ok: true });
    } finally {
      await Promise.all([kv.close(), chat.close(), vs.close(), docs.close()]);
    }
  }, 120_000);
});
