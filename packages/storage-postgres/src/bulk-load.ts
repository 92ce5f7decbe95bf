import { StorageError } from "@larder/core/errors";
import type { MetadataFilters } from "@larder/core/filters";
import type { BaseNode } from "@larder/core/schema";
import type { VectorStore, VectorStoreCapabilities, VectorStoreQuery, VectorStoreQueryResult } from "@larder/core/vector";
import type { PostgresVectorStore } from "./vector-store.js";

/**
 * A pipelined bulk load into a {@link PostgresVectorStore} (from `store.bulkLoad()`).
 *
 * `add(nodes)` checks and encodes the nodes exactly as the store's `add` does (every
 * `INVALID_ARGUMENT` / `DIMENSION_MISMATCH` is thrown there, before anything is written), queues
 * the write and resolves with the ids while the server is still ingesting them; the caller embeds
 * the next batch meanwhile. Writes run one after the other, in call order, each in its own
 * transaction; at most `maxPending` (default 1) are queued: a further `add` first waits for the
 * oldest. So resolved `add`s are not yet acknowledged: `flush()` resolves once every queued write
 * is committed and rejects with the first failure (a `StorageError`), after which every `add` and
 * `flush` rejects with it too and the writes queued after the failed one are not run. Record
 * anything that says "these nodes are stored" only after `flush()` resolved.
 *
 * `vectorStore` is a view of the store for code that takes a `VectorStore` (e.g. an index's
 * inserts): its `add` is this pipelined one; every other method first waits for `flush()`.
 */
export class PostgresBulkLoad {
  readonly store: PostgresVectorStore;
  /** The store with this load's pipelined `add` (see the class comment). */
  readonly vectorStore: VectorStore;
  readonly maxPending: number;
  readonly #prepare: (nodes: readonly BaseNode[]) => Promise<Prepared>;
  readonly #write: (prepared: Prepared) => Promise<void>;
  #queue: Promise<void>[] = [];
  #failed: { error: unknown } | undefined;

  /** @internal Use {@link PostgresVectorStore.bulkLoad}. */
  constructor(
    store: PostgresVectorStore,
    prepare: (nodes: readonly BaseNode[]) => Promise<Prepared>,
    write: (prepared: Prepared) => Promise<void>,
    options: { maxPending?: number } = {},
  ) {
    const maxPending = options.maxPending ?? 1;
    if (!Number.isInteger(maxPending) || maxPending < 1) {
      throw new StorageError("INVALID_ARGUMENT", "maxPending must be a positive integer", { store: "PostgresVectorStore" });
    }
    this.store = store;
    this.maxPending = maxPending;
    this.#prepare = prepare;
    this.#write = write;
    this.vectorStore = new BulkLoadView(this);
  }

  /** Checks, encodes and queues the nodes; resolves with their ids before the server has stored them. */
  async add(nodes: readonly BaseNode[]): Promise<string[]> {
    this.#throwIfFailed();
    const prepared = await this.#prepare(nodes);
    if (prepared.rows.length === 0) return prepared.ids;
    while (this.#queue.length >= this.maxPending) await this.#queue[0];
    this.#throwIfFailed();
    const previous = this.#queue[this.#queue.length - 1] ?? Promise.resolve();
    const write: Promise<void> = previous
      .then(() => (this.#failed ? undefined : this.#write(prepared)))
      .catch((error: unknown) => {
        this.#failed ??= { error };
      })
      .finally(() => {
        this.#queue.splice(this.#queue.indexOf(write), 1);
      });
    this.#queue.push(write);
    return prepared.ids;
  }

  /** Resolves once every queued write is committed; rejects with the first failure. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0) await this.#queue[this.#queue.length - 1];
    this.#throwIfFailed();
  }

  /** Waits for the queued writes to end, successful or not, and never rejects (for cleanup paths). */
  async settle(): Promise<void> {
    while (this.#queue.length > 0) await this.#queue[this.#queue.length - 1];
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failed.error;
  }
}

/** What the store's prepare step hands to its write step (opaque here). */
export interface Prepared {
  ids: string[];
  rows: readonly unknown[];
}

class BulkLoadView implements VectorStore {
  readonly #load: PostgresBulkLoad;
  constructor(load: PostgresBulkLoad) {
    this.#load = load;
  }
  get storesText(): boolean {
    return this.#load.store.storesText;
  }
  get capabilities(): VectorStoreCapabilities {
    return this.#load.store.capabilities;
  }
  add(nodes: readonly BaseNode[]): Promise<string[]> {
    return this.#load.add(nodes);
  }
  async delete(refDocId: string): Promise<void> {
    await this.#load.flush();
    return this.#load.store.delete(refDocId);
  }
  async deleteNodes(args: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<void> {
    await this.#load.flush();
    return this.#load.store.deleteNodes(args);
  }
  async getNodes(args?: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<BaseNode[]> {
    await this.#load.flush();
    return this.#load.store.getNodes(args);
  }
  async clear(): Promise<void> {
    await this.#load.flush();
    return this.#load.store.clear();
  }
  async query(query: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    await this.#load.flush();
    return this.#load.store.query(query);
  }
}
