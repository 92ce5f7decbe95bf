// Vector benchmark: Larder's SimpleVectorStore (int8 first pass + exact float32 rescoring, and the
// full float32 scan), a single-threaded C scan (the float32 limit), LlamaIndexTS's SimpleVectorStore
// (npm `llamaindex`) and Python LlamaIndex's SimpleVectorStore (llama-index-core), on the same data
// (uniform and clustered/low-rank, N = 100k and 1M, 384 dims), in one run.
//   cd apps/bench && node --conditions=@larder/source --import tsx src/run.ts vector
// Every implementation runs in its own process (vector-worker.ts, vector-scan.c, vector-peer.py)
// and reads the vectors from one binary file. Every exact query's top-10 ids are checked against a
// float64 brute force (vector-scan.c in "truth" mode).
import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..", "..");
const DIM = 384;
const QUERIES = Number(process.env["VECTOR_BENCH_QUERIES"] ?? 20);
const SIZES = (process.env["VECTOR_BENCH_SIZES"] ?? "100000,1000000").split(",").map(Number);
const DATA = (process.env["VECTOR_BENCH_DATA"] ?? "uniform,clustered").split(",") as Kind[];
/** Larder and C are measured RUNS times, interleaved, and every figure is the best of the runs
 * (the machine is shared; contention only adds time). The peers run once. */
const RUNS = Number(process.env["VECTOR_BENCH_RUNS"] ?? 2);
/** Queries of the slow peers (LlamaIndexTS, Python) from 1M rows on. */
const PEER_QUERIES_LARGE = Number(process.env["VECTOR_BENCH_PEER_QUERIES_1M"] ?? 3);
/** Python LlamaIndex keeps every vector as a list of Python floats (~32 B per component): it runs up to this N. */
const PYTHON_MAX = Number(process.env["VECTOR_BENCH_PYTHON_MAX"] ?? 100_000);
const PY_VERSION = "0.14.25";
/** Queries of Python LlamaIndex (about 2 s each at 100k). */
const PY_QUERIES = Number(process.env["VECTOR_BENCH_PY_QUERIES"] ?? 8);
/** VECTOR_BENCH_PEERS=0 skips LlamaIndexTS and Python (quick runs of Larder against C). */
const PEERS = process.env["VECTOR_BENCH_PEERS"] !== "0";

type Kind = "uniform" | "clustered";

interface Row {
  impl: string;
  n: number;
  kind?: Kind;
  addMs?: number;
  queryMs: number;
  queryMinMs: number;
  queryCpuMs: number;
  filteredMs?: number;
  storeRssMB?: number;
  peakRssMB?: number;
  quantizedMB?: number;
  rescoredMean?: number;
  persistMs?: number;
  firstQueryMs?: number;
  loadMs?: number;
  loadedStoreMB?: number;
  loadPeakMB?: number;
  top?: number[][];
  mismatches?: number;
  checked?: number;
  error?: string;
}

/** xorshift32 in [-1, 1). */
function prng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
}

/**
 * N rows and QUERIES + 3 queries. uniform: every component uniform in [-1, 1). clustered: 64
 * centres in a rank-32 subspace, each row its centre plus a variation in a rank-8 subspace plus
 * small uniform noise (queries drawn the same way).
 */
function writeData(path: string, kind: Kind, n: number): void {
  const r = prng(kind === "uniform" ? 7 : 11);
  const total = n + QUERIES + 3;
  const fd = openSync(path, "w");
  const chunkRows = 8192;
  const buf = new Float32Array(chunkRows * DIM);
  let basis: Float32Array[] = [], centers: Float32Array[] = [];
  if (kind === "clustered") {
    basis = Array.from({ length: 32 }, () => Float32Array.from({ length: DIM }, r));
    centers = Array.from({ length: 64 }, () => {
      const c = new Float32Array(DIM);
      for (const b of basis) {
        const g = r();
        for (let j = 0; j < DIM; j++) c[j] = c[j]! + g * b[j]!;
      }
      return c;
    });
  }
  for (let start = 0; start < total; start += chunkRows) {
    const m = Math.min(chunkRows, total - start);
    if (kind === "uniform") for (let i = 0; i < m * DIM; i++) buf[i] = r();
    else {
      for (let i = 0; i < m; i++) {
        const c = centers[Math.floor((r() + 1) * 32) % 64]!;
        const o = i * DIM;
        for (let j = 0; j < DIM; j++) buf[o + j] = c[j]! + 0.05 * r();
        for (let b = 0; b < 8; b++) {
          const g = 0.5 * r();
          const v = basis[b]!;
          for (let j = 0; j < DIM; j++) buf[o + j] = buf[o + j]! + g * v[j]!;
        }
      }
    }
    writeSync(fd, new Uint8Array(buf.buffer, 0, m * DIM * 4));
  }
  closeSync(fd);
}

function compileC(fastMath: boolean): string {
  const out = join(mkdtempSync(join(tmpdir(), "larder-vscan-")), "vector-scan");
  execFileSync("gcc", ["-O3", "-march=native", ...(fastMath ? ["-ffast-math"] : []), "-o", out, join(here, "vector-scan.c"), "-lm"]);
  return out;
}

const lastLine = (s: string) => JSON.parse(s.trim().split("\n").pop()!) as Row;

function runWorker(impl: string, file: string, n: number, queries: number, dir?: string): Row {
  try {
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", "--max-old-space-size=12288", "--conditions=@larder/source", "--import", "tsx", join(here, "vector-worker.ts"), impl, file, String(n), String(DIM), String(queries), ...(dir ? [dir] : [])],
      { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "pipe"] },
    );
    return lastLine(out);
  } catch (e) {
    return { impl, n, queryMs: NaN, queryMinMs: NaN, queryCpuMs: NaN, error: String((e as { stderr?: string }).stderr ?? e).trim().split("\n").slice(-3).join(" ") };
  }
}

function pythonVenv(): string | undefined {
  try {
    const out = execFileSync("bash", [join(repo, "tooling", "python-interop", "scripts", "setup-venvs.sh"), PY_VERSION], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const dir = out.trim().split("\n").pop()!.split(" ")[1];
    return dir ? join(dir, "bin", "python") : undefined;
  } catch {
    return undefined;
  }
}

function runPython(python: string, file: string, n: number, queries: number): Row {
  try {
    return lastLine(execFileSync(python, [join(here, "vector-peer.py"), file, String(n), String(DIM), String(queries)], { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "pipe"] }));
  } catch (e) {
    return { impl: `python-llamaindex-${PY_VERSION}`, n, queryMs: NaN, queryMinMs: NaN, queryCpuMs: NaN, error: String((e as { stderr?: string }).stderr ?? e).trim().split("\n").slice(-2).join(" ") };
  }
}

/** Field-wise minimum of repeated measurements of one configuration (top lists from the first). */
function best(runs: Row[]): Row {
  const out = { ...runs[0]! } as Record<string, unknown>;
  for (const r of runs.slice(1)) {
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === "number" && typeof out[k] === "number" && k !== "n" && k !== "dim" && k !== "rescoredMean") out[k] = Math.min(out[k] as number, v);
    }
  }
  out["top"] = runs.flatMap((r) => r.top ?? []);
  return out as unknown as Row;
}

const f = (x: number | undefined, d = 2) => (x === undefined || Number.isNaN(x) ? "—" : x.toFixed(d));
const NAMES: Record<string, string> = {
  larder: "Larder (int8 pass + exact rescoring, default)",
  "larder-f32": 'Larder (`scan: "off"`: every float32 row)',
  llamaindex: "LlamaIndexTS 0.12.1",
  "c -O3 -march=native": "C `-O3 -march=native`",
  "c -O3 -march=native -ffast-math": "C `-O3 -march=native -ffast-math` (float32 limit)",
};

/** Bytes a query reads from the vectors (layout arithmetic, not a measurement). */
function bytesRead(r: Row): string {
  const n = r.n;
  const rowBytes = Math.ceil(DIM / 32) * 32;
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  if (r.impl === "larder") return `${mb(n * (rowBytes + 12) + (r.rescoredMean ?? 0) * (DIM * 4 + 4))} (int8 rows + 12 B/row; ${f(r.rescoredMean, 0)} rows rescored)`;
  if (r.impl === "larder-f32" || r.impl.startsWith("c ")) return mb(n * (DIM * 4 + 4));
  if (r.impl === "llamaindex") return `≥ ${mb(n * DIM * 8)} (float64 arrays)`;
  if (r.impl.startsWith("python")) return `≥ ${mb(n * DIM * 32)} (lists of Python floats → numpy)`;
  return "—";
}

export async function runVectorBench(): Promise<void> {
  const cpu = cpus()[0]?.model ?? "unknown";
  const gccVersion = execFileSync("gcc", ["--version"], { encoding: "utf8" }).split("\n")[0];
  console.log(`machine: ${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${gccVersion}; load average at start ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  const cPlain = compileC(false);
  const cFast = compileC(true);
  const python = pythonVenv();
  const work = mkdtempSync(join(tmpdir(), "larder-vbench-"));
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      for (const kind of DATA) {
        const file = join(work, `${kind}-${n}.f32`);
        writeData(file, kind, n);
        const truth = lastLine(execFileSync(cPlain, [file, String(n), String(DIM), String(QUERIES), "truth"], { encoding: "utf8", maxBuffer: 1 << 24 })).top!;
        const runs = new Map<string, Row[]>();
        const push = (r: Row) => runs.set(r.impl, [...(runs.get(r.impl) ?? []), r]);
        const peerQueries = n >= 1_000_000 ? PEER_QUERIES_LARGE : QUERIES;
        for (let run = 0; run < RUNS; run++) {
          const dir = run === 0 ? join(work, `persist-${kind}-${n}`) : undefined;
          push(runWorker("larder", file, n, QUERIES, dir));
          if (dir) push(runWorker("larder-load", file, n, 5, dir));
          push(runWorker("larder-f32", file, n, QUERIES));
          for (const [name, bin] of [["c -O3 -march=native", cPlain], ["c -O3 -march=native -ffast-math", cFast]] as const) {
            push({ ...lastLine(execFileSync(bin, [file, String(n), String(DIM), String(QUERIES)], { encoding: "utf8", maxBuffer: 1 << 24 })), impl: name });
          }
          if (run === 0 && PEERS) {
            push(runWorker("llamaindex", file, n, peerQueries));
            if (python && n <= PYTHON_MAX) push(runPython(python, file, n, PY_QUERIES));
          }
        }
        rmSync(file, { force: true });
        for (const rs of runs.values()) {
          const b = best(rs);
          b.kind = kind;
          // Every timed exact query's top-10 against the float64 brute force (queries are the same
          // across runs and implementations; a peer with fewer queries ran the first ones).
          let bad = 0;
          const tops = b.top ?? [];
          tops.forEach((t, i) => {
            if (JSON.stringify(t) !== JSON.stringify(truth[i % QUERIES])) bad++;
          });
          b.mismatches = bad;
          b.checked = tops.length;
          rows.push(b);
        }
        console.error(`vector bench: ${kind} ${n} done (load average ${loadavg()[0]!.toFixed(1)})`);
        // Progress (the tables come at the end): one line per implementation.
        for (const r of rows.filter((x) => x.n === n && x.kind === kind)) {
          console.error(`  ${r.impl}: ${JSON.stringify({ ...r, top: undefined })}`);
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`runs: Larder and C ${RUNS} interleaved runs per configuration (best of the runs), ${QUERIES} queries per run after 3 warm-up queries; LlamaIndexTS and Python once (LlamaIndexTS ${PEER_QUERIES_LARGE} queries at 1M, Python ${PY_QUERIES})`);
  console.log(`load average at end ${loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);
  console.log("| N | data | implementation | add (s) | exact top-10 wall median / min (ms) | cpu median (ms) | × C float32 scan (wall / cpu median) | filtered 2% (ms) | filtered / unfiltered | bytes read per query | top-10 = float64 brute force | store RSS growth / peak RSS (MiB) | first query (ms) |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    if (r.impl === "larder-load") continue;
    const c = rows.find((x) => x.n === r.n && x.kind === r.kind && x.impl === "c -O3 -march=native -ffast-math");
    const name = NAMES[r.impl] ?? (r.impl.startsWith("python") ? `Python LlamaIndex ${PY_VERSION}` : r.impl);
    if (r.error) {
      console.log(`| ${r.n} | ${r.kind} | ${name} | failed: ${r.error.replace(/\|/g, "/")} ||||||||||`);
      continue;
    }
    console.log(
      `| ${r.n} | ${r.kind} | ${name} | ${r.addMs === undefined ? "—" : f(r.addMs / 1000)} | ${f(r.queryMs)} / ${f(r.queryMinMs)} | ${f(r.queryCpuMs)} | ${c ? `${f(r.queryMs / c.queryMs)} / ${f(r.queryCpuMs / c.queryCpuMs)}` : "—"} | ${f(r.filteredMs)} | ${r.filteredMs ? f(r.filteredMs / r.queryMs, 3) : "—"} | ${bytesRead(r)} | ${r.checked! - r.mismatches!}/${r.checked} | ${f(r.storeRssMB, 0)} / ${f(r.peakRssMB, 0)} | ${f(r.firstQueryMs, 0)} |`,
    );
  }
  console.log("\nPersistence of the Larder store (Larder format, LocalFileSystem with fsync), load in a fresh process:\n");
  console.log("| N | data | persist (s) | load (s) | loaded store RSS (MiB) | peak RSS during load above the start (MiB) | peak / loaded | queries after load = float64 brute force |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows.filter((x) => x.impl === "larder-load")) {
    const w = rows.find((x) => x.n === r.n && x.kind === r.kind && x.impl === "larder");
    if (r.error) {
      console.log(`| ${r.n} | ${r.kind} | ${f((w?.persistMs ?? NaN) / 1000)} | failed: ${r.error.replace(/\|/g, "/")} |||||`);
      continue;
    }
    console.log(
      `| ${r.n} | ${r.kind} | ${f((w?.persistMs ?? NaN) / 1000)} | ${f(r.loadMs! / 1000)} | ${f(r.loadedStoreMB, 0)} | ${f(r.loadPeakMB, 0)} | ${f(r.loadPeakMB! / r.loadedStoreMB!)} | ${r.checked! - r.mismatches!}/${r.checked} |`,
    );
  }
}
