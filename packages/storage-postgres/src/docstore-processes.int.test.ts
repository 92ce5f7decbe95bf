import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { refDocBookkeepingProblems } from "@larder/conformance/docstore";
import { uniqueNamespace } from "@larder/conformance";
import { PostgresDocumentStore, PostgresKVStore } from "./index.js";
import { POSTGRES_URL, postgresSkipReason, testPool } from "./test-support/postgres.js";

// The kit's across-instances test runs 50 store instances in one process; this one runs the same
// workload from separate worker processes, each with its own pool, as a deployment does.
const skip = await postgresSkipReason();
const pool = testPool();
afterAll(() => pool.end());
const WORKERS = 6;
// tsx runs the worker's TypeScript; it comes with the conformance kit (a dev dependency here).
const require = createRequire(import.meta.url);
const TSX = createRequire(require.resolve("@larder/conformance/package.json")).resolve("tsx");

function runWorker(table: string, seed: number): Promise<{ code: number | null; stderr: string }> {
  const file = fileURLToPath(new URL("./test-support/docstore-worker.ts", import.meta.url));
  const child = spawn(process.execPath, ["--conditions=@larder/source", "--import", TSX, file, POSTGRES_URL, table, String(seed), String(WORKERS)], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

describe.skipIf(skip !== undefined)(`PostgresDocumentStore (worker processes)${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it(`${WORKERS} worker processes on one docstore leave the ref-doc bookkeeping exact`, async () => {
    const table = uniqueNamespace("dsproc");
    const ds = new PostgresDocumentStore({ pool, table });
    try {
      const results = await Promise.all(Array.from({ length: WORKERS }, (_, w) => runWorker(table, 2000 + w)));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      expect(await refDocBookkeepingProblems(ds)).toEqual([]);
      const refs = await ds.getAllRefDocInfo();
      for (let w = 0; w < WORKERS; w++) expect(refs[`R${(2000 + w) % 5}`]?.nodeIds).toContain(`final-${2000 + w}`);
    } finally {
      await (ds.kvStore as PostgresKVStore).drop();
    }
  }, 120_000);
});
