import { afterAll, describe, expect, it } from "vitest";
import { expectStorageError, uniqueNamespace } from "@larder/conformance";
import { CASE_FOLD_VERSION, type MetadataFilters } from "@larder/core/filters";
import { TextNode } from "@larder/core/schema";
import { PostgresVectorStore } from "./index.js";
import { postgresSkipReason, testPool } from "./test-support/postgres.js";

const skip = await postgresSkipReason();
const pool = testPool();
const stores: PostgresVectorStore[] = [];
afterAll(async () => {
  for (const s of stores.splice(0)) await s.drop();
  await pool.end();
});

const insensitive = (value: string): MetadataFilters => ({ filters: [{ key: "s", operator: "text_match_insensitive", value }] });
const ids = async (s: PostgresVectorStore, f: MetadataFilters) => (await s.getNodes({ filters: f })).map((n) => n.id).sort();

describe.skipIf(skip !== undefined)(`PostgresVectorStore case fold${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("records the fold table with the data; a table folded otherwise is refused until refoldMetadata()", async () => {
    const table = uniqueNamespace("fold");
    const s = new PostgresVectorStore({ pool, table });
    stores.push(s);
    await s.add([
      new TextNode({ id: "a", embedding: [1, 0], metadata: { s: "\uA7C1 ΟΔΥΣΣΕΥΣ" } }),
      new TextNode({ id: "b", embedding: [0, 1], metadata: { s: "x\u{10D70}" } }),
      new TextNode({ id: "c", embedding: [1, 1], metadata: { s: "plain", n: 1 } }),
    ]);
    const comment = await pool.query(
      `SELECT col_description(a.attrelid, a.attnum) AS c FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname = 'metadata_folded'`,
      [s.qualifiedTable],
    );
    expect(comment.rows[0].c).toBe(`larder:case-fold=${CASE_FOLD_VERSION}`);
    expect(await ids(s, insensitive("\uA7C0"))).toEqual(["a"]);
    expect(await ids(s, insensitive("οδυσσευς"))).toEqual(["a"]);
    expect(await ids(s, insensitive("\u{10D50}"))).toEqual(["b"]);

    // A table written with another fold (or before versions were recorded): its folded column is stale.
    await pool.query(`UPDATE ${s.qualifiedTable} SET metadata_folded = '{"s": "stale"}'::jsonb WHERE id <> 'c'`);
    await pool.query(`COMMENT ON COLUMN ${s.qualifiedTable}.metadata_folded IS NULL`);
    const old = new PostgresVectorStore({ pool, table });
    const e = await expectStorageError(() => old.getNodes({ filters: insensitive("\uA7C0") }), "UNSUPPORTED");
    expect(e.message).toMatch(/refoldMetadata/);
    await expectStorageError(() => old.query({ embedding: [1, 0], topK: 3, filters: insensitive("x") }), "UNSUPPORTED");
    await expectStorageError(() => old.deleteNodes({ filters: insensitive("x") }), "UNSUPPORTED");
    // Other operators keep working.
    expect((await old.getNodes({ filters: { filters: [{ key: "n", operator: "==", value: 1 }] } })).map((n) => n.id)).toEqual(["c"]);

    expect(await old.refoldMetadata()).toBe(2);
    expect(await ids(old, insensitive("\uA7C0"))).toEqual(["a"]);
    expect(await ids(old, insensitive("ΟΔΥΣΣΕΥς"))).toEqual(["a"]);
    expect(await old.refoldMetadata()).toBe(0);
    // A new instance reads the recorded version.
    const fresh = new PostgresVectorStore({ pool, table });
    expect(await ids(fresh, insensitive("\u{10D50}"))).toEqual(["b"]);
  });
});
