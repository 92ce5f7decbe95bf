import { afterAll, describe, expect, it } from "vitest";
import { expectStorageError, seededRandom, uniqueNamespace } from "@larder/conformance";
import { TextNode } from "@larder/core/schema";
import { PostgresVectorStore, type PostgresVectorStoreOptions } from "./index.js";
import { postgresSkipReason, testPool } from "./test-support/postgres.js";

const skip = await postgresSkipReason();
const pool = testPool();
afterAll(() => pool.end());

const stores: PostgresVectorStore[] = [];
function store(opts: Partial<PostgresVectorStoreOptions> = {}): PostgresVectorStore {
  const s = new PostgresVectorStore({ pool, table: uniqueNamespace("bulk"), indexBuild: "manual", ...opts });
  stores.push(s);
  return s;
}
afterAll(async () => {
  for (const s of stores.splice(0)) await s.drop();
});

function nodes(prefix: string, n: number, rng: () => number, text = (i: number) => `text ${prefix} ${i}`): TextNode[] {
  return Array.from({ length: n }, (_, i) => new TextNode({ id: `${prefix}${i}`, text: text(i), embedding: Array.from({ length: 8 }, () => rng() * 2 - 1) }));
}

const count = async (s: PostgresVectorStore) => Number((await pool.query(`SELECT count(*) AS n FROM ${s.qualifiedTable}`)).rows[0].n);

describe.skipIf(skip !== undefined)(`PostgresVectorStore.bulkLoad${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("stores every batch in order; flush resolves once all are committed; the view reads after flushing", async () => {
    const s = store();
    const rng = seededRandom(1);
    const load = s.bulkLoad({ maxPending: 2 });
    const batches = [nodes("a", 600, rng), nodes("b", 40, rng), nodes("a", 600, rng, (i) => `second ${i}`)];
    for (const b of batches) expect(await load.add(b)).toEqual(b.map((n) => n.id));
    await load.flush();
    expect(await count(s)).toBe(640);
    // The third batch replaced the first one's rows (same ids): writes ran in call order.
    expect((await s.getNodes({ ids: ["a7"] }))[0]!.text).toBe("second 7");
    // The view's other methods wait for the queued writes.
    await load.add(nodes("c", 700, rng));
    const got = await load.vectorStore.getNodes({ ids: ["c699"] });
    expect(got.map((n) => n.id)).toEqual(["c699"]);
    expect(load.vectorStore.storesText).toBe(true);
    await s.buildIndex();
    const q = await load.vectorStore.query({ embedding: batches[1]![3]!.embedding!, topK: 1 });
    expect(q.ids).toEqual(["b3"]);
  });

  it("bad input is refused before anything is queued; a failed write fails flush and every later add, and later batches are not written", async () => {
    const s = store();
    const rng = seededRandom(2);
    const load = s.bulkLoad();
    await expectStorageError(() => load.add([new TextNode({ id: "x", text: "no embedding" })]), "INVALID_ARGUMENT");
    await load.add(nodes("ok", 10, rng));
    await load.flush();
    // A server-side failure: a row the table refuses.
    await pool.query(`ALTER TABLE ${s.qualifiedTable} ADD CONSTRAINT no_boom CHECK (text <> 'boom')`);
    const bad = nodes("bad", 700, rng, (i) => (i === 650 ? "boom" : `fine ${i}`));
    await load.add(bad); // resolves: the write is only queued
    const after = load.add(nodes("later", 700, rng));
    const e1 = await expectStorageError(() => load.flush(), "INVALID_ARGUMENT");
    expect(e1.message).toMatch(/no_boom/);
    // The add queued behind the failed one either rejected or resolved without being written.
    await after.catch(() => undefined);
    await expectStorageError(() => load.add(nodes("more", 5, rng)), "INVALID_ARGUMENT");
    await expectStorageError(() => load.flush(), "INVALID_ARGUMENT");
    await load.settle();
    // Only the first, flushed batch is in the table: the failed COPY rolled back, the later batch never ran.
    expect(await count(s)).toBe(10);
    expect(() => s.bulkLoad({ maxPending: 0 })).toThrow(/maxPending/);
  });
});
