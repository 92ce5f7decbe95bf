/**
 * A tiny FIFO async mutex. KV-backed stores keep their bookkeeping (ref-doc node lists) with
 * read-modify-write cycles; serializing those within a process makes them exact for every
 * concurrent caller of that process, whatever the backend (across processes, the KV store's
 * `transaction` lock takes over).
 */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((r) => (release = r));
    try {
      await prev;
      return await fn();
    } finally {
      release();
    }
  }
}
