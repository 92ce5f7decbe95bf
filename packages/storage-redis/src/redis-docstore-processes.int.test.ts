import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { refDocBookkeepingProblems } from "@larder/conformance/docstore";
import { RedisDocumentStore } from "./redis-document-store.js";
import { RedisKVStore } from "./redis-kv-store.js";
import { standaloneUrl, whenReachable } from "./testing/env.js";
import { cleanedPrefixes, redisTargets } from "./testing/targets.js";

// The kit's across-instances test runs 50 store instances in one process; this one runs the same
// workload from separate worker processes, each with its own connection, as a deployment does.
const [standalone] = await redisTargets();
const WORKERS = 6;
// tsx runs the worker's TypeScript; it comes with the conformance kit (a dev dependency here).
const require = createRequire(import.meta.url);
const TSX = createRequire(require.resolve("@larder/conformance/package.json")).resolve("tsx");

function runWorker(prefix: string, seed: number): Promise<{ code: number | null; stderr: string }> {
  const file = fileURLToPath(new URL("./testing/docstore-worker.ts", import.meta.url));
  const child = spawn(process.execPath, ["--conditions=@larder/source", "--import", TSX, file, standaloneUrl(), prefix, String(seed), String(WORKERS)], {
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

whenReachable(standalone.reason, "RedisDocumentStore (worker processes)", () => {
  const prefix = cleanedPrefixes(standalone.client, "dsproc");

  it(`${WORKERS} worker processes on one docstore leave the ref-doc bookkeeping exact`, async () => {
    const p = prefix();
    const results = await Promise.all(Array.from({ length: WORKERS }, (_, w) => runWorker(p, 2000 + w)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const ds = new RedisDocumentStore(new RedisKVStore({ client: standalone.client, prefix: p }));
    expect(await refDocBookkeepingProblems(ds)).toEqual([]);
    const refs = await ds.getAllRefDocInfo();
    for (let w = 0; w < WORKERS; w++) expect(refs[`R${(2000 + w) % 5}`]?.nodeIds).toContain(`final-${2000 + w}`);
    // The lock is gone once every writer is done.
    expect(await standalone.client.exists(`${p}docstore/ref_doc_info:lock`)).toBe(0);
  }, 120_000);
});
