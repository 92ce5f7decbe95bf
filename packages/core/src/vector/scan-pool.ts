/**
 * Runs the quantized first pass on several cores: the rows are split in equal parts, the calling
 * thread scans one, worker threads scan the others in the same shared WebAssembly memory, and the
 * calling thread blocks (`Atomics.wait`) until they are done. A query therefore stays synchronous:
 * nothing can change the rows while they are scanned.
 *
 * The pool is one per process, shared by every store, created on the first large query:
 * `availableParallelism() - 1` workers (at most 7). Workers are `unref()`ed (they never keep the
 * process alive) and are terminated after {@link IDLE_MS} without a parallel scan, which also
 * releases every reference they took to a store's memory (a worker gets the memory with each job
 * and keeps it only until it is terminated). Below {@link PARALLEL_MIN_ROWS} rows a scan stays on
 * the calling thread.
 */
import { createRequire } from "node:module";
import { offerTopK, scanPart, type QueryBound, type QuantizedRows } from "./quantized.js";
import { int8ModuleBytes } from "./wasm-int8.js";

/** Scans of fewer rows stay on the calling thread (measured: see docs/vector.md). */
export const PARALLEL_MIN_ROWS = 65_536;
/** Gather scans (a filter's rows) wait on memory rather than bandwidth: they split from this many rows. */
export const PARALLEL_MIN_LISTED_ROWS = 16_384;
/** Workers are terminated after this long without a parallel scan. */
export const IDLE_MS = 5_000;
/** A worker that has not answered after this long is given up (its part is scanned here). */
const STALL_MS = 10_000;

type WorkerThreads = typeof import("node:worker_threads");

interface PoolWorker {
  worker: import("node:worker_threads").Worker;
  port: import("node:worker_threads").MessagePort;
  ctrl: Int32Array;
  seq: number;
}

/** The worker's program: wait for a job, run {@link scanPart} on it, report the count (or -1). */
const workerSource = () => `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const ${offerTopK.name} = ${offerTopK.toString()};
const scanPart = ${scanPart.toString()};
const ctrl = new Int32Array(workerData.ctrl);
const port = workerData.port;
const mod = new WebAssembly.Module(workerData.bytes);
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  let m = receiveMessageOnPort(port);
  while (m !== undefined) {
    try {
      const { memory, args } = m.message;
      const qscan = new WebAssembly.Instance(mod, { env: { memory } }).exports.qscan;
      Atomics.store(ctrl, 2, scanPart(qscan, memory.buffer, args));
    } catch {
      Atomics.store(ctrl, 2, -1);
    }
    m = receiveMessageOnPort(port);
  }
  Atomics.store(ctrl, 1, seen);
  Atomics.notify(ctrl, 1);
}
`;

let threadsOverride: number | undefined;
let pool: PoolWorker[] | undefined;
let broken = false;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
let wt: WorkerThreads | null | undefined;

function workerThreads(): WorkerThreads | null {
  if (wt !== undefined) return wt;
  try {
    wt = createRequire(import.meta.url)("node:worker_threads") as WorkerThreads;
  } catch {
    wt = null;
  }
  return wt;
}

/** Threads (calling thread included) a large scan uses. */
export function scanThreads(): number {
  if (threadsOverride !== undefined) return threadsOverride;
  const os = (() => {
    try {
      return createRequire(import.meta.url)("node:os") as typeof import("node:os");
    } catch {
      return undefined;
    }
  })();
  const cores = os ? (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length) : 1;
  return Math.max(1, Math.min(8, cores));
}

/**
 * Sets the number of threads (calling thread included) large scans use, for the whole process;
 * 1 keeps every scan on the calling thread. `undefined` restores the default (the core count, at
 * most 8). Running workers are shut down.
 */
export function setScanThreads(threads: number | undefined): void {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  threadsOverride = threads;
  shutdownScanPool();
}

/** Terminates the pool's workers now (they are restarted by the next large scan). */
export function shutdownScanPool(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const p = pool;
  pool = undefined;
  for (const w of p ?? []) {
    w.port.close();
    void w.worker.terminate();
  }
}

/** Whether worker threads are running (for tests). */
export function scanPoolSize(): number {
  return pool?.length ?? 0;
}

function getPool(): PoolWorker[] | undefined {
  if (pool) return pool;
  if (broken) return undefined;
  const want = scanThreads() - 1;
  const threads = workerThreads();
  if (want < 1 || !threads || typeof SharedArrayBuffer !== "function") return undefined;
  try {
    const bytes = int8ModuleBytes();
    const made: PoolWorker[] = [];
    for (let i = 0; i < want; i++) {
      const ctrl = new Int32Array(new SharedArrayBuffer(16));
      const { port1, port2 } = new threads.MessageChannel();
      const worker = new threads.Worker(workerSource(), { eval: true, workerData: { ctrl: ctrl.buffer, port: port2, bytes }, transferList: [port2] });
      worker.unref();
      port1.unref();
      // A worker that dies is dropped from the pool; its parts are then scanned here.
      worker.on("error", () => {
        broken = true;
        shutdownScanPool();
      });
      made.push({ worker, port: port1, ctrl, seq: 0 });
    }
    pool = made;
    return pool;
  } catch {
    broken = true;
    return undefined;
  }
}

function touch(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(shutdownScanPool, IDLE_MS);
  idleTimer.unref?.();
}

/**
 * Scans `n` rows (listed or all) of `q`, on several threads when `n` is large; returns each
 * part's start and the count of entries it left there (see {@link QuantizedRows.collect}).
 */
export function scanParallel(q: QuantizedRows, n: number, listed: boolean, k: number, bound: QueryBound): { lo: number; count: number }[] {
  const workers = n >= (listed ? PARALLEL_MIN_LISTED_ROWS : PARALLEL_MIN_ROWS) ? getPool() : undefined;
  if (!workers || workers.length === 0) return [{ lo: 0, count: q.scanHere(q.partArgs(0, n, n, k, bound)) }];
  touch();
  const parts = workers.length + 1;
  // Parts start on multiples of 64 rows (no cache line of the output is written by two threads).
  const cut = (i: number) => (i >= parts ? n : Math.min(n, Math.round((n * i) / parts / 64) * 64));
  const sent: { w: PoolWorker; lo: number; hi: number }[] = [];
  for (let i = 0; i < workers.length; i++) {
    const w = workers[i]!;
    const lo = cut(i + 1), hi = cut(i + 2);
    if (hi <= lo) continue;
    w.port.postMessage({ memory: q.memory, args: q.partArgs(lo, hi, n, k, bound) });
    w.seq = (w.seq + 1) | 0;
    Atomics.store(w.ctrl, 0, w.seq);
    Atomics.notify(w.ctrl, 0);
    sent.push({ w, lo, hi });
  }
  const out = [{ lo: 0, count: q.scanHere(q.partArgs(0, cut(1), n, k, bound)) }];
  for (const { w, lo, hi } of sent) {
    const start = Date.now();
    let done = Atomics.load(w.ctrl, 1);
    while (done !== w.seq) {
      if (Date.now() - start > STALL_MS) break;
      Atomics.wait(w.ctrl, 1, done, 100);
      done = Atomics.load(w.ctrl, 1);
    }
    if (done !== w.seq || Atomics.load(w.ctrl, 2) < 0) {
      // Stalled or failed: do the part here, and stop using workers in this process.
      out.push({ lo, count: q.scanHere(q.partArgs(lo, hi, n, k, bound)) });
      broken = true;
      shutdownScanPool();
    } else {
      out.push({ lo, count: Atomics.load(w.ctrl, 2) });
    }
  }
  return out;
}
