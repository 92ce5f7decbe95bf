// `larder ingest` into PostgreSQL + pgvector against the same ingest into a local folder (the
// embedded default, Larder format): the real CLI (apps/cli, through its bin) as a child process,
// the same generated corpus, the offline embedder, same run.
//
//   pnpm bench ingest
//   INGEST_BENCH_CHUNKS=20000 INGEST_BENCH_RUNS=3 ... (defaults 20 000 chunks, 3 runs per target)
//
// Data (deterministic, seeded): INGEST_BENCH_CHUNKS JSON-lines documents in files of 1 000 lines,
// each document about 60 words drawn from a 2 000-word vocabulary plus two metadata fields — short
// enough to be exactly one chunk with the default splitter (256 tokens), so the corpus is N chunks;
// the suite checks the chunk count the CLI reports.
//
// Measured: wall time of `larder ingest <corpus> --to <target>` (process start to exit, so the
// Node/tsx start-up of the CLI is included in both), runs alternating local, postgres, local, ...;
// each run into a fresh target (a new temp folder; a new Postgres namespace, its tables dropped
// afterwards). Median per target and the ratio postgres / local. With LARDER_PROGRESS=1 the CLI
// prints one line per step on stderr; the suite timestamps them and prints the median time of each
// step per target, which shows where the time goes.
//
// CPU time (Linux, server on this machine): the CLI's (user + system, all its threads, from this
// process's reaped-children counters) and the PostgreSQL server's (the postmaster and every process
// it started, exited ones included), read from /proc around each run and when each step starts. On a
// machine with P cores a run cannot take less wall time than (client + server CPU) / P.
//
// Index parameters: on the last postgres run's table, the vector index is dropped and built again
// with other HNSW parameters (m, ef_construction), each build timed and followed by recall@10 of
// the store's queries against the exact top 10 — what a faster building step would cost.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { seededRandom } from "@larder/conformance";
import { PostgresVectorStore } from "@larder/storage-postgres";
import { servicesEnv } from "../../../tooling/services/env.mjs";
import { printTable } from "./markdown.js";
import { exactTopK, normalize } from "./postgres.js";

const CHUNKS = Number(process.env["INGEST_BENCH_CHUNKS"] ?? 20_000);
const RUNS = Number(process.env["INGEST_BENCH_RUNS"] ?? 3);
const PG_URL = servicesEnv().LARDER_POSTGRES_URL;
const BIN = fileURLToPath(new URL("../../cli/bin/larder.js", import.meta.url));
const LINES_PER_FILE = 1000;

type Target = "local" | "postgres";
interface Run {
  seconds: number;
  chunks: number;
  /** Seconds per step (first word of the step's progress lines), in the order the steps came. */
  steps: [string, number][];
  /** CPU seconds of the CLI process (user + system, all threads); undefined without /proc. */
  clientCpu?: number;
  /** CPU seconds of the PostgreSQL server during the run, in all and per step; undefined without /proc access to it. */
  serverCpu?: number;
  serverSteps?: Map<string, number>;
}

const TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the command name (index 0 = state). */
function statFields(pid: number | "self"): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** CPU seconds of this process's waited-for children (cutime + cstime); undefined without /proc. */
function childrenCpu(): number | undefined {
  const f = statFields("self");
  return f ? (Number(f[13]) + Number(f[14])) / TICKS : undefined;
}

/**
 * CPU seconds used so far by a PostgreSQL server on this machine: its postmaster (own time and that of
 * its exited children) plus every live child. undefined when /proc does not show the postmaster.
 */
function serverCpu(postmaster: number | undefined): number | undefined {
  if (postmaster === undefined) return undefined;
  const pm = statFields(postmaster);
  if (!pm) return undefined;
  let ticks = Number(pm[11]) + Number(pm[12]) + Number(pm[13]) + Number(pm[14]);
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    if (f && Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS;
}

/** Whether /proc/<pid> is a PostgreSQL process (the name a server process runs under). */
function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim().startsWith("postgres");
  } catch {
    return false;
  }
}

/**
 * The postmaster's pid when the server runs on this machine (the parent of our backend); undefined
 * for a server elsewhere (a backend pid of another host or PID namespace is not a postgres process
 * here, or its parent is not).
 */
async function findPostmaster(pool: pg.Pool): Promise<number | undefined> {
  const r = await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const backend = r.rows[0]!.pid;
  const f = isPostgres(backend) ? statFields(backend) : undefined;
  const parent = f ? Number(f[1]) : undefined;
  return parent !== undefined && isPostgres(parent) ? parent : undefined;
}

/** Writes the corpus: JSON-lines files, one single-chunk document per line. */
export async function writeCorpus(dir: string, n: number): Promise<void> {
  const r = seededRandom(20_000);
  const syll = ["ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "di", "pa", "go", "fi", "zu", "be", "ha", "jo"];
  const vocab = Array.from({ length: 2000 }, () => {
    const len = 2 + Math.floor(r() * 3);
    let w = "";
    for (let i = 0; i < len; i++) w += syll[Math.floor(r() * syll.length)]!;
    return w;
  });
  const topics = ["storage", "retrieval", "embedding", "indexing", "graphs", "chat", "migration", "filters"];
  await mkdir(dir, { recursive: true });
  for (let f = 0; f * LINES_PER_FILE < n; f++) {
    const lines: string[] = [];
    for (let i = f * LINES_PER_FILE; i < Math.min(n, (f + 1) * LINES_PER_FILE); i++) {
      const words = Array.from({ length: 60 }, () => vocab[Math.floor(r() * vocab.length)]!);
      const text = `Document ${i}. ${words.join(" ")}.`;
      lines.push(JSON.stringify({ id: `doc-${i}`, text, metadata: { topic: topics[i % topics.length]!, year: 2000 + (i % 25) } }));
    }
    await writeFile(join(dir, `part-${String(f).padStart(3, "0")}.jsonl`), lines.join("\n") + "\n");
  }
}

/** Runs `larder ingest <corpus> --to <to>`; returns wall time, the chunk count it reports and step times. */
function ingest(corpus: string, to: string, cwd: string, postmaster: number | undefined): Promise<Run> {
  return new Promise((resolve, reject) => {
    const cpu0 = childrenCpu();
    const server0 = serverCpu(postmaster);
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, "ingest", corpus, "--to", to], {
      cwd,
      env: { ...process.env, LARDER_PROGRESS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let errBuf = "";
    const marks: { key: string; t: number; server?: number }[] = [];
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      const t = (performance.now() - t0) / 1000;
      errBuf += d;
      let nl: number;
      while ((nl = errBuf.indexOf("\n")) >= 0) {
        const line = errBuf.slice(0, nl).trim();
        errBuf = errBuf.slice(nl + 1);
        const key = /^[a-z]+/i.exec(line)?.[0];
        // The server's CPU is read (a scan of /proc) only where a step starts: steps end there.
        if (key) marks.push({ key, t, server: key === marks.at(-1)?.key ? undefined : serverCpu(postmaster) });
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = (performance.now() - t0) / 1000;
      const server1 = serverCpu(postmaster);
      const cpu1 = childrenCpu();
      const clientCpu = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
      if (code !== 0) return reject(new Error(`larder ingest --to ${to.replace(/\/\/[^@]*@/, "//***@")} exited with ${code}: ${out}${errBuf}`));
      const m = /-> (\d+) chunks in/.exec(out);
      if (!m) return reject(new Error(`no chunk count in the output of larder ingest: ${out}`));
      const steps: [string, number][] = [];
      const known = server0 !== undefined && server1 !== undefined && marks.every((k, i) => k.server !== undefined || k.key === marks[i - 1]?.key);
      const serverSteps = known ? new Map<string, number>() : undefined;
      const starts = [{ key: "start-up", t: 0, server: server0 }, ...marks];
      for (let i = 0; i < starts.length; i++) {
        const cur = starts[i]!;
        if (i > 0 && starts[i - 1]!.key === cur.key) continue;
        let j = i + 1;
        while (j < starts.length && starts[j]!.key === cur.key) j++;
        const end = j < starts.length ? starts[j]! : { t: seconds, server: server1 };
        steps.push([cur.key, end.t - cur.t]);
        if (serverSteps) serverSteps.set(cur.key, (serverSteps.get(cur.key) ?? 0) + end.server! - cur.server!);
      }
      resolve({ seconds, chunks: Number(m[1]), steps, clientCpu, serverCpu: known ? server1! - server0! : undefined, serverSteps });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function dropNamespace(pool: pg.Pool, ns: string): Promise<void> {
  for (const suffix of ["kv", "vectors", "chat"]) await pool.query(`DROP TABLE IF EXISTS "${ns}_${suffix}"`);
}

/** HNSW parameters measured against the default on the ingested table: m, ef_construction. */
const TRADEOFFS: readonly (readonly [number, number])[] = [[16, 64], [16, 40], [16, 32], [8, 64], [8, 32]];
const TRADEOFF_QUERIES = 200;

/**
 * What the index build costs against what it returns, on the last postgres run's table: for each
 * HNSW parameter pair, `dropIndex()` + `buildIndex()` (what the CLI's building step runs) timed, and
 * recall@10 of `query()` (ef_search 100, the default) against the exact top 10 over the same
 * vectors. Queries: the normalized sum of two stored vectors (seeded). `budget`: the building step
 * that would bring the postgres median to 2× the local one, the other steps unchanged.
 */
async function indexTradeoffs(pool: pg.Pool, ns: string, budget: number): Promise<void> {
  const table = `${ns}_vectors`;
  const { rows } = await pool.query<{ id: string; e: string }>(`SELECT id, embedding::text AS e FROM "${table}" ORDER BY id`);
  const ids = rows.map((r) => r.id);
  const data = rows.map((r) => normalize(Float32Array.from(JSON.parse(r.e) as number[])));
  const r = seededRandom(7);
  const queries = Array.from({ length: TRADEOFF_QUERIES }, () => {
    const a = data[Math.floor(r() * data.length)]!;
    const b = data[Math.floor(r() * data.length)]!;
    return normalize(a.map((x, j) => x + b[j]!));
  });
  const truth = queries.map((q) => new Set(exactTopK(data, ids, q, 10)));
  console.log(`\nindex parameters on the last postgres run's table (${data.length} vectors, ${TRADEOFF_QUERIES} queries):`);
  const out: string[][] = [];
  for (const [m, efConstruction] of TRADEOFFS) {
    const store = new PostgresVectorStore({ url: PG_URL, table, index: { type: "hnsw", m, efConstruction, efSearch: 100 } });
    try {
      await store.dropIndex();
      const t0 = performance.now();
      await store.buildIndex();
      const seconds = (performance.now() - t0) / 1000;
      let hits = 0;
      for (let i = 0; i < queries.length; i++) {
        const res = await store.query({ embedding: Array.from(queries[i]!), topK: 10 });
        hits += res.ids.filter((id) => truth[i]!.has(id)).length;
      }
      const recall = hits / (queries.length * 10);
      console.log(`  m ${m}, ef_construction ${efConstruction}: buildIndex() ${seconds.toFixed(1)}s, recall@10 ${recall.toFixed(3)}`);
      out.push([`${m} / ${efConstruction}${m === 16 && efConstruction === 64 ? " (default)" : ""}`, seconds.toFixed(1), recall.toFixed(3)]);
    } finally {
      await store.close();
    }
  }
  console.log();
  printTable(["HNSW m / ef_construction", "dropIndex + buildIndex (s)", "recall@10 (ef_search 100)"], out);
  console.log(`\nfor <= 2× the building step would have to take <= ${budget.toFixed(1)} s (2 × local median − the postgres median's other steps)`);
}

export async function runIngestBench(): Promise<void> {
  if (!Number.isInteger(CHUNKS) || CHUNKS < 1) throw new Error(`INGEST_BENCH_CHUNKS must be a whole number >= 1, got ${process.env["INGEST_BENCH_CHUNKS"]}`);
  if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`INGEST_BENCH_RUNS must be a whole number >= 1, got ${process.env["INGEST_BENCH_RUNS"]}`);
  const root = await mkdtemp(join(tmpdir(), "larder-bench-ingest-"));
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  const namespaces: string[] = [];
  try {
    const corpus = join(root, "corpus");
    await writeCorpus(corpus, CHUNKS);
    console.log(`corpus: ${CHUNKS} documents of one chunk each in ${Math.ceil(CHUNKS / LINES_PER_FILE)} JSON-lines files; ${RUNS} runs per target, alternating`);
    const postmaster = await findPostmaster(pool);
    const runs: Record<Target, Run[]> = { local: [], postgres: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const target of ["local", "postgres"] as const) {
        let to: string;
        if (target === "local") {
          to = join(root, `store-${i}`);
        } else {
          const ns = `bench_ingest_${process.pid}_${i}`;
          namespaces.push(ns);
          await dropNamespace(pool, ns);
          const u = new URL(PG_URL);
          u.searchParams.set("namespace", ns);
          to = u.toString();
        }
        const run = await ingest(corpus, to, root, postmaster);
        if (run.chunks !== CHUNKS) throw new Error(`${target}: larder ingest reported ${run.chunks} chunks, expected ${CHUNKS}`);
        runs[target].push(run);
        const cpu = [
          run.clientCpu === undefined ? "" : `CPU client ${run.clientCpu.toFixed(1)}s`,
          run.serverCpu === undefined ? "" : `server ${run.serverCpu.toFixed(1)}s`,
        ].filter(Boolean);
        const steps = run.steps.map(([k, s]) => `${k} ${s.toFixed(1)}s`).join(", ");
        console.log(`run ${i + 1} ${target}: ${run.seconds.toFixed(1)}s (${steps}${cpu.length ? `; ${cpu.join(", ")}` : ""})`);
        if (target === "local") await rm(to, { recursive: true, force: true });
        else if (i < RUNS - 1) await dropNamespace(pool, namespaces[namespaces.length - 1]!);
      }
    }
    const med = { local: median(runs.local.map((r) => r.seconds)), postgres: median(runs.postgres.map((r) => r.seconds)) };
    const fmt = (rs: Run[]) => rs.map((r) => r.seconds.toFixed(1)).join(" / ");
    const withClient = [...runs.local, ...runs.postgres].every((r) => r.clientCpu !== undefined);
    const withServer = runs.postgres.every((r) => r.serverCpu !== undefined);
    const cpuMedian = (t: Target, which: "client" | "server" | "both") =>
      median(runs[t].map((r) => (which === "server" ? 0 : (r.clientCpu ?? 0)) + (which === "client" ? 0 : (r.serverCpu ?? 0))));
    console.log();
    printTable(
      ["target", "runs (s)", "median (s)", "chunks/s (median)", "CPU s, client / server (median)", "vs local"],
      (["local", "postgres"] as const).map((t) => [
        t === "local" ? "local folder (embedded, Larder format)" : "postgres:// (pgvector, bulk path)",
        fmt(runs[t]),
        med[t].toFixed(1),
        String(Math.round(CHUNKS / med[t])),
        `${withClient ? cpuMedian(t, "client").toFixed(1) : "–"} / ${withServer ? cpuMedian(t, "server").toFixed(1) : "–"}`,
        t === "local" ? "1.00×" : `${(med.postgres / med.local).toFixed(2)}×`,
      ]),
    );
    // Where the time goes: median seconds of each step (first word of its progress lines).
    const keys: string[] = [];
    for (const t of ["local", "postgres"] as const) for (const r of runs[t]) for (const [k] of r.steps) if (!keys.includes(k)) keys.push(k);
    const stepSeconds = (t: Target, k: string) => runs[t].map((r) => r.steps.filter(([kk]) => kk === k).reduce((a, [, s]) => a + s, 0));
    const stepMedian = (t: Target, k: string) => {
      const xs = stepSeconds(t, k);
      return xs.some((x) => x > 0) ? median(xs).toFixed(1) : "–";
    };
    const serverStepMedian = (k: string) => {
      const xs = runs.postgres.map((r) => r.serverSteps?.get(k) ?? 0);
      return withServer && xs.some((x) => x > 0.05) ? median(xs).toFixed(1) : "–";
    };
    console.log();
    printTable(
      ["step (median s)", "local", "postgres", "postgres: server CPU (s)"],
      keys.map((k) => [k, stepMedian("local", k), stepMedian("postgres", k), serverStepMedian(k)]),
    );
    console.log(`\nratio postgres / local (median wall time): ${(med.postgres / med.local).toFixed(2)}× (target <= 2×)`);
    if (withClient && withServer) {
      const cores = availableParallelism();
      const floor = cpuMedian("postgres", "both") / cores;
      console.log(
        `CPU floor of the postgres ingest on this machine's ${cores} cores: (client + server CPU) / ${cores} = ${floor.toFixed(1)} s, ` +
          `${(floor / med.local).toFixed(2)}× the local median wall time`,
      );
    }
    const building = median(stepSeconds("postgres", "building"));
    await indexTradeoffs(pool, namespaces[namespaces.length - 1]!, 2 * med.local - (med.postgres - building));
  } finally {
    for (const ns of namespaces) await dropNamespace(pool, ns).catch(() => {});
    await pool.end();
    await rm(root, { recursive: true, force: true });
  }
}
