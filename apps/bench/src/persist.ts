// Persistence benchmark: Larder's StorageContext (Larder format, LlamaIndex format) vs LlamaIndexTS's
// JSON persistence (npm `llamaindex`), 100k nodes with 384-d vectors, then a persist after changing
// 1% of the nodes. Each case runs in its own child process (fresh heap, no cross-talk):
//   node --conditions=@larder/source --import tsx src/persist-worker.ts CASE N DIM DIR
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const N = Number(process.env["PERSIST_N"] ?? 100_000);
const DIM = Number(process.env["PERSIST_DIM"] ?? 384);

function runWorker(kind: string): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), `larder-bench-${kind}-`));
  const worker = fileURLToPath(new URL("./persist-worker.ts", import.meta.url));
  const r = spawnSync(
    process.execPath,
    ["--max-old-space-size=16384", "--expose-gc", "--conditions=@larder/source", "--import", "tsx", worker, kind, String(N), String(DIM), dir],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  rmSync(dir, { recursive: true, force: true });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { kind, error: `worker failed (status ${String(r.status)}): ${(r.stderr || r.stdout).slice(-600)}` };
  }
}

const fmt = (v: unknown) => (typeof v === "number" ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : v === undefined ? "-" : String(v));

export async function runPersistBench(): Promise<void> {
  console.log(`${N} nodes, ${DIM}-d float vectors, docstore + vector store + index struct; times in ms (one run each, fresh process)`);
  const rows = ["larder", "larder-nofsync", "larder-llamaindex-format", "llamaindex-ts"].map(runWorker);
  console.log("wall ms (CPU ms of this process in parentheses: user + system, less sensitive to other load on the machine)\n");
  console.log("| implementation | persist | load | persist after 1% changed | bytes written (full / 1%) | notes |");
  console.log("|---|---|---|---|---|---|");
  const both = (r: Record<string, unknown>, k: string) => (r[`${k}Ms`] === undefined ? "-" : `${fmt(r[`${k}Ms`])} (${fmt(r[`${k}CpuMs`])})`);
  for (const r of rows) {
    console.log(
      `| ${String(r["kind"])} | ${both(r, "persist")} | ${both(r, "load")} | ${both(r, "persist1pct")} | ${fmt(r["bytes"])} / ${fmt(r["bytes1pct"])} | ${String(r["error"] ?? r["note"] ?? "")} |`,
    );
  }
}
