// The kit's hostile filter differential and filters.spec cases on both query paths: the exact scan
// (no ANN index) and HNSW with iterative scan (exactSearchThreshold 0, so every filtered query goes
// through the index and its exact settle).
import { afterAll, describe, it } from "vitest";
import { filterSpecVectorCases, hostileVectorDifferential } from "@larder/conformance/vector";
import { uniqueNamespace } from "@larder/conformance";
import { PostgresVectorStore, type PostgresVectorStoreOptions } from "./index.js";
import { postgresSkipReason, testPool } from "./test-support/postgres.js";

const skip = await postgresSkipReason();
const pool = testPool();
const stores: PostgresVectorStore[] = [];
afterAll(async () => {
  for (const s of stores.splice(0)) await s.drop();
  await pool.end();
});

function make(opts: Partial<PostgresVectorStoreOptions>) {
  return async () => {
    const s = new PostgresVectorStore({ pool, table: uniqueNamespace("hf"), ...opts });
    stores.push(s);
    return s;
  };
}

describe.skipIf(skip !== undefined)(`PostgresVectorStore hostile filters${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const paths: [string, Partial<PostgresVectorStoreOptions>][] = [
    ["exact scan (no index)", { index: { type: "none" } }],
    ["HNSW, every filtered query through the index", { exactSearchThreshold: 0 }],
  ];
  for (const [name, opts] of paths) {
    it(`${name}: random hostile trees match the reference evaluator`, async () => {
      await hostileVectorDifferential(await make(opts)(), { seed: 77, trees: 120 });
    }, 120_000);
    it(`${name}: filters.spec cases`, async () => {
      await filterSpecVectorCases(make(opts));
    }, 120_000);
  }
});
