import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { POSTGRES_URL, postgresSkipReason } from "./test-support/postgres.js";

const skip = await postgresSkipReason();

// The README's Usage block, verbatim between the markers (a test below checks they are identical).
async function readmeExample() {
  const pg = (await import("pg")).default;
  const { TextNode } = await import("@larder/core/schema");
  const { PostgresChatStore, PostgresDocumentStore, PostgresIndexStore, PostgresKVStore, PostgresVectorStore } = await import("./index.js");
  // README:start
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });

  // Key-value store, and LlamaIndex's document / index stores on top of it.
  const kv = new PostgresKVStore({ pool, schema: "rag", table: "kv" });
  await kv.put("greeting", { text: "hello" });

  const docStore = new PostgresDocumentStore({ pool, schema: "rag" }); // table "larder_docstore"
  const indexStore = new PostgresIndexStore({ kvStore: kv }); // share one KV table

  // Vector store: pgvector + HNSW, cosine by default.
  const vectors = new PostgresVectorStore({ pool, schema: "rag", table: "chunks", dimensions: 3 });
  await vectors.add([
    new TextNode({ id: "a", text: "Postgres stores vectors", embedding: [1, 0, 0], metadata: { year: 2024, tags: ["db"] } }),
    new TextNode({ id: "b", text: "Redis keeps chat", embedding: [0, 1, 0], metadata: { year: 2021, tags: ["cache"] } }),
  ]);
  const hits = await vectors.query({
    embedding: [1, 0.1, 0],
    topK: 5,
    filters: { filters: [{ key: "year", operator: ">=", value: 2022 }, { key: "tags", operator: "any", value: ["db"] }] },
  });
  const hybrid = await vectors.query({ mode: "hybrid", embedding: [1, 0, 0], queryStr: "vectors", topK: 5, alpha: 0.7 });

  // Chat histories.
  const chat = new PostgresChatStore({ pool, schema: "rag" });
  await chat.addMessages("user-1", [{ role: "user", content: "hi" }, { role: "assistant", content: "hello!" }]);
  const lastTwo = await chat.getMessages("user-1", { limit: 2 });

  await pool.end(); // the stores never end a pool they were given
  // README:end
  return { kv, docStore, indexStore, hits, hybrid, lastTwo };
}

describe.skipIf(skip !== undefined)(`README example${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("the README's Usage block is this file's example, verbatim", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = /## Usage\n\n```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    const body = readFileSync(new URL(import.meta.url), "utf8").split("// README:start\n")[1]!.split("  // README:end")[0]!;
    const dedent = (s: string) => s.split("\n").map((l) => l.replace(/^ {2}/, "")).join("\n").trim();
    const code = block.split("\n").filter((l) => !l.startsWith("import") && !/^\s{2}\w+,$/.test(l) && !/^} from /.test(l)).join("\n").trim();
    expect(dedent(body)).toBe(code);
  });

  it("runs", async () => {
    process.env.DATABASE_URL = POSTGRES_URL;
    const pg = (await import("pg")).default;
    const admin = new pg.Pool({ connectionString: POSTGRES_URL });
    await admin.query('DROP SCHEMA IF EXISTS "rag" CASCADE');
    try {
      const { kv, hits, hybrid, lastTwo } = await readmeExample();
      expect(hits.ids).toEqual(["a"]);
      expect(hybrid.ids[0]).toBe("a");
      expect(lastTwo.map((m) => m.content)).toEqual(["hi", "hello!"]);
      expect(kv.qualifiedTable).toBe('"rag"."kv"');
    } finally {
      await admin.query('DROP SCHEMA IF EXISTS "rag" CASCADE');
      await admin.end();
    }
  });

  it("runs the README's pipelined-load block verbatim", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = /Pipelined loads:[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    const body = block.split("\n").filter((l) => !l.startsWith("import ")).join("\n");
    process.env.DATABASE_URL = POSTGRES_URL;
    const { PostgresVectorStore } = await import("./index.js");
    const { TextNode } = await import("@larder/core/schema");
    const pg = (await import("pg")).default;
    const admin = new pg.Pool({ connectionString: POSTGRES_URL });
    await admin.query('DROP TABLE IF EXISTS public."chunks"');
    try {
      const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
      await new AsyncFunction("PostgresVectorStore", "TextNode", body)(PostgresVectorStore, TextNode);
      expect(Number((await admin.query('SELECT count(*) AS n FROM public."chunks"')).rows[0].n)).toBe(3000);
      const idx = await admin.query("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'chunks'");
      expect(idx.rows.some((r) => / USING hnsw /.test(r.indexdef as string))).toBe(true);
    } finally {
      await admin.query('DROP TABLE IF EXISTS public."chunks"');
      await admin.end();
    }
  });
});
