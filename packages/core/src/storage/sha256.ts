import { createHash, type Hash } from "node:crypto";
import { Worker } from "node:worker_threads";

/** Hex SHA-256 of bytes or a string (UTF-8). */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Counts and hashes the bytes flowing through it, so a file's size and checksum are known the
 * moment its last chunk is written, without a second read.
 */
export class HashingCounter {
  bytes = 0;
  private readonly hash: Hash = createHash("sha256");
  private hex: string | undefined;

  update(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    this.hash.update(chunk);
  }

  digest(): string {
    this.hex ??= this.hash.digest("hex");
    return this.hex;
  }

  /** Passes chunks through unchanged, hashing each on the way. */
  async *tap(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks) {
      this.update(chunk);
      yield chunk;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Off-thread hashing: big files are hashed on a worker thread while the main thread serialises or
// parses, so SHA-256 no longer adds to persist/load time on a machine with a spare core. The
// worker gets a copy of each chunk (the caller keeps using its bytes: a write still needs them,
// and views of a store's buffer must never be detached); copying costs a fraction of hashing.
// ---------------------------------------------------------------------------------------------

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const hashes = new Map();
parentPort.on("message", (m) => {
  if (m.t === "u") {
    let h = hashes.get(m.id);
    if (!h) { h = createHash("sha256"); hashes.set(m.id, h); }
    h.update(new Uint8Array(m.b, 0, m.n));
    parentPort.postMessage({ r: m.b }, [m.b]);
  } else if (m.t === "d") {
    const h = hashes.get(m.id) ?? createHash("sha256");
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, hex: h.digest("hex") });
  } else if (m.t === "x") {
    hashes.delete(m.id);
  }
});
`;

/** Streams at least this big are hashed off-thread (smaller files: messaging would cost more). */
const OFF_THREAD_MIN_BYTES = 64 * 1024;
/**
 * Chunks travel in fixed-size buffers that the worker hands back once hashed: fresh buffers for
 * every chunk would cost more in page faults than the hashing saved.
 */
const SLOT_BYTES = 1 << 22;
const MAX_FREE_SLOTS = 8;

interface Waiter {
  resolve(hex: string): void;
  reject(err: Error): void;
}

/** One lazily started worker shared by all streams; referenced only while a digest is awaited. */
class HashWorker {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiter>();
  readonly #free: ArrayBuffer[] = [];
  #failed: Error | undefined;

  constructor(onDead: () => void) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#worker.unref();
    const fail = (err: Error) => {
      this.#failed ??= err;
      onDead();
      for (const w of this.#waiting.values()) w.reject(this.#failed);
      this.#waiting.clear();
    };
    this.#worker.on("error", fail);
    this.#worker.on("exit", (code) => fail(new Error(`the SHA-256 worker thread exited (code ${code})`)));
    this.#worker.on("message", (m: { id: number; hex: string } | { r: ArrayBuffer }) => {
      if ("r" in m) {
        if (this.#free.length < MAX_FREE_SLOTS) this.#free.push(m.r);
        return;
      }
      const w = this.#waiting.get(m.id);
      if (!w) return;
      this.#waiting.delete(m.id);
      if (this.#waiting.size === 0) {
        this.#worker.unref();
        // The buffers are for back-to-back files; an idle process gives their memory back.
        setTimeout(() => {
          if (this.#waiting.size === 0) this.#free.length = 0;
        }, 2000).unref();
      }
      w.resolve(m.hex);
    });
  }

  update(id: number, chunk: Uint8Array): void {
    if (this.#failed) return; // reported by digest()
    // The caller's bytes are copied, never transferred: they may be a view (of a Buffer pool, of a
    // store's buffer) and a write may still need them.
    for (let off = 0; off < chunk.byteLength; off += SLOT_BYTES) {
      const part = chunk.subarray(off, Math.min(off + SLOT_BYTES, chunk.byteLength));
      const slot = this.#free.pop() ?? new ArrayBuffer(SLOT_BYTES);
      new Uint8Array(slot, 0, part.byteLength).set(part);
      this.#worker.postMessage({ t: "u", id, b: slot, n: part.byteLength }, [slot]);
    }
  }

  digest(id: number): Promise<string> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise<string>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // Keeps the process alive until the answer arrives (an idle worker never does).
      this.#worker.ref();
      this.#worker.postMessage({ t: "d", id });
    });
  }

  discard(id: number): void {
    if (!this.#failed) this.#worker.postMessage({ t: "x", id });
  }
}

let sharedWorker: HashWorker | undefined;
let nextId = 1;

function hashWorker(): HashWorker | undefined {
  if (!sharedWorker) {
    try {
      const w: HashWorker = new HashWorker(() => {
        if (sharedWorker === w) sharedWorker = undefined;
      });
      sharedWorker = w;
    } catch {
      return undefined; // no worker threads here: hash on the main thread
    }
  }
  return sharedWorker;
}

/**
 * Like {@link HashingCounter}, but a big stream (a large file) is hashed on a worker thread;
 * `digest()` is asynchronous. The first bytes are held (copied) until the stream proves big or
 * ends, so a small header chunk does not keep a large file on the main thread. Call `discard()`
 * when abandoning a stream unfinished.
 */
export class AsyncHashingCounter {
  bytes = 0;
  #sync: Hash | undefined;
  #worker: HashWorker | undefined;
  #id = 0;
  #held: Uint8Array[] | undefined = [];
  #heldBytes = 0;
  #hex: Promise<string> | undefined;

  update(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    if (this.#held) {
      if (this.#heldBytes + chunk.byteLength < OFF_THREAD_MIN_BYTES) {
        const copy = new Uint8Array(chunk.byteLength);
        copy.set(chunk);
        this.#held.push(copy);
        this.#heldBytes += chunk.byteLength;
        return;
      }
      this.#worker = hashWorker();
      if (this.#worker) this.#id = nextId++;
      else this.#sync = createHash("sha256");
      this.#release();
    }
    if (this.#worker) this.#worker.update(this.#id, chunk);
    else this.#sync!.update(chunk);
  }

  /** Feeds the held bytes to the chosen hasher (the main thread's when none was chosen yet). */
  #release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    if (!this.#worker) this.#sync ??= createHash("sha256");
    for (const c of held) {
      if (this.#worker) this.#worker.update(this.#id, c);
      else this.#sync!.update(c);
    }
  }

  digest(): Promise<string> {
    if (!this.#hex) {
      if (this.#held) this.#release();
      if (this.#worker) this.#hex = this.#worker.digest(this.#id);
      else this.#hex = Promise.resolve(this.#sync!.digest("hex"));
    }
    return this.#hex;
  }

  discard(): void {
    if (this.#worker && !this.#hex) this.#worker.discard(this.#id);
    this.#held = undefined;
    this.#hex ??= Promise.resolve("");
  }

  /** Passes chunks through unchanged, hashing each on the way. */
  async *tap(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks) {
      this.update(chunk);
      yield chunk;
    }
  }
}
