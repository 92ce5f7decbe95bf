// Vector benchmark: Larder's SimpleVectorStore vs LlamaIndexTS's SimpleVectorStore (npm `llamaindex`)
// and a single-threaded C scan as the limit, N = 10k and 100k, 384 dims.
//   cd apps/bench && node --conditions=@larder/source --import tsx src/run.ts vector
// Each implementation runs in its own process (vector-worker.ts / vector-scan.c) so that peak
// memory is its own; all of them in one run, on the same machine, one after the other.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const DIM = 384;
const QUERIES = Number(process.env["VECTOR_BENCH_QUERIES"] ?? 20);
const SIZES = (process.env["VECTOR_BENCH_SIZES"] ?? "10000,100000").split(",").map(Number);
/** Each measurement is repeated and every figure is the best (lowest) of the runs: the machine is
 * shared, and contention only ever adds time. */
const RUNS = Number(process.env["VECTOR_BENCH_RUNS"] ?? 3);

interface Row {
  impl: string;
  n: number;
  addMs?: number;
  addCpuMs?: number;
  queryMs: number;
  queryMinMs: number;
  queryCpuMs: number;
  filteredMs?: number;
  filteredCpuMs?: number;
  storeRssMB?: number;
  peakRssMB?: number;
  top1?: string;
}

function compileC(fastMath: boolean): string {
  const out = join(mkdtempSync(join(tmpdir(), "larder-vscan-")), "vector-scan");
  execFileSync("gcc", ["-O3", "-march=native", ...(fastMath ? ["-ffast-math"] : []), "-o", out, join(here, "vector-scan.c"), "-lm"]);
  return out;
}

function runWorker(impl: string, n: number): Row {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", "--max-old-space-size=8192", "--conditions=@larder/source", "--import", "tsx", join(here, "vector-worker.ts"), impl, String(n), String(DIM), String(QUERIES)],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split("\n").pop()!) as Row;
}

/** Field-wise minimum of repeated measurements of one configuration. */
function best(runs: Row[]): Row {
  const out = { ...runs[0]! } as Record<string, unknown>;
  for (const r of runs.slice(1)) {
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === "number" && typeof out[k] === "number" && k !== "n" && k !== "dim" && k !== "checksum") out[k] = Math.min(out[k] as number, v);
    }
  }
  return out as unknown as Row;
}

const f = (x: number | undefined, d = 2) => (x === undefined ? "—" : x.toFixed(d));

export async function runVectorBench(): Promise<void> {
  const cpu = cpus()[0]?.model ?? "unknown";
  console.log(`machine: ${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; load average at start ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  const cPlain = compileC(false);
  const cFast = compileC(true);
  const rows: Row[] = [];
  for (const n of SIZES) {
    const runs = new Map<string, Row[]>();
    const push = (r: Row) => runs.set(r.impl, [...(runs.get(r.impl) ?? []), r]);
    // Interleaved, so every implementation sees the same spread of machine load.
    for (let run = 0; run < RUNS; run++) {
      for (const impl of ["larder", "larder-js", "llamaindex"]) push(runWorker(impl, n));
      for (const [name, bin] of [["c -O3 -march=native", cPlain], ["c -O3 -march=native -ffast-math", cFast]] as const) {
        const r = JSON.parse(execFileSync(bin, [String(n), String(DIM), String(QUERIES), "7"], { encoding: "utf8" }).trim()) as Row;
        push({ ...r, impl: name });
      }
    }
    for (const rs of runs.values()) rows.push(best(rs));
  }
  console.log(`runs per configuration: ${RUNS} (figures are the best of the runs), ${QUERIES} queries per run after 3 warm-up queries`);
  console.log(`load average at end ${loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);
  console.log("| N | implementation | add wall / cpu (ms) | exact top-10 wall median / min (ms) | exact top-10 cpu median (ms) | filtered 2% top-10 wall / cpu median (ms) | store RSS growth (MiB) | peak RSS (MiB) |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.n} | ${r.impl} | ${f(r.addMs, 0)} / ${f(r.addCpuMs, 0)} | ${f(r.queryMs)} / ${f(r.queryMinMs)} | ${f(r.queryCpuMs)} | ${f(r.filteredMs)} / ${f(r.filteredCpuMs)} | ${f(r.storeRssMB, 0)} | ${f(r.peakRssMB, 0)} |`,
    );
  }
  for (const n of SIZES) {
    const get = (impl: string) => rows.find((r) => r.n === n && r.impl === impl)!;
    const l = get("larder"), li = get("llamaindex"), c = get("c -O3 -march=native -ffast-math");
    const tops = new Set(rows.filter((r) => r.n === n && r.top1).map((r) => r.top1));
    console.log(
      `\nN=${n}: exact top-10 Larder vs LlamaIndexTS: ${(li.queryMs / l.queryMs).toFixed(1)}x (wall median), ${(li.queryCpuMs / l.queryCpuMs).toFixed(1)}x (cpu median); ` +
        `Larder / C(-ffast-math): ${(l.queryMs / c.queryMs).toFixed(2)} (wall median), ${(l.queryMinMs / c.queryMinMs).toFixed(2)} (wall min), ${(l.queryCpuMs / c.queryCpuMs).toFixed(2)} (cpu median); ` +
        `filtered / unfiltered: ${(l.filteredMs! / l.queryMs).toFixed(3)} (wall), ${(l.filteredCpuMs! / l.queryCpuMs).toFixed(3)} (cpu); same top-1 across JS implementations: ${tops.size === 1}`,
    );
  }
}
