import { errors, type PersistResult, SimpleChatStore, SimpleVectorStore, type StorageContext, type VectorStore } from "@larder/core";
import { type OpenStorageOptions, openStorageContext, type StoreSpec } from "@larder/indexing";
import type { BaseEmbedding } from "@llamaindex/core/embeddings";
import type { BaseDocumentStore } from "@llamaindex/core/storage/doc-store";
import type { BaseIndexStore } from "@llamaindex/core/storage/index-store";
import type { VectorStoreByType } from "@llamaindex/core/vector-store";
import { LarderChatStore } from "./chat-store.js";
import { LarderDocumentStore } from "./doc-store.js";
import { LarderIndexStore } from "./index-store.js";
import { LarderVectorStore } from "./vector-store.js";

/** The shape of LlamaIndexTS's `StorageContext` (what `VectorStoreIndex` takes as `storageContext`). */
export interface LlamaIndexStorageContext {
  docStore: BaseDocumentStore;
  indexStore: BaseIndexStore;
  vectorStores: VectorStoreByType;
}

export interface LarderStorageOptions extends OpenStorageOptions {
  /** Embedding model of the vector store (default: LlamaIndexTS's `Settings.embedModel`, read by the index). */
  embedModel?: BaseEmbedding;
  /**
   * `storesText` reported to LlamaIndexTS. Default: `false` when vectors live in memory (a folder,
   * `s3://`, `memory://`, or no persist target), so `VectorStoreIndex` keeps nodes in the docstore
   * and `nodes_dict` as LlamaIndex does and a persisted folder loads in Python LlamaIndex; `true`
   * for `redis://` and `postgres://` vectors (the node text is read from the vector store).
   */
  storesText?: boolean;
}

export interface LarderStorage {
  /** Pass to LlamaIndexTS: `VectorStoreIndex.fromDocuments(docs, { storageContext })`. */
  storageContext: LlamaIndexStorageContext;
  docStore: LarderDocumentStore;
  indexStore: LarderIndexStore;
  vectorStore: LarderVectorStore;
  chatStore: LarderChatStore;
  /** The Larder context underneath (its stores, `persist`, ...). */
  larder: StorageContext;
  /** Where in-memory stores persist (`undefined`: nowhere, or server stores only). */
  persistTarget: string | undefined;
  /** Whether something was already persisted at `persistTarget` when opened. */
  existed: boolean;
  /**
   * Writes the in-memory stores to the persist target (Larder format, or LlamaIndex's with
   * `format: "llamaindex"`): crash-safe, only what changed. No-op without a persist target; server
   * stores write through.
   */
  persist(): Promise<PersistResult | undefined>;
  /** Closes every connection this call opened (never a client you passed in). */
  close(): Promise<void>;
}

/**
 * A LlamaIndexTS storage context over Larder stores, from a Larder store URL:
 *
 * - a folder path, `file://...`, `memory://name`, `s3://bucket/prefix`: in-memory stores loaded from
 *   there when something is persisted there (Larder or LlamaIndex format, auto-detected), written
 *   back by `persist()`;
 * - `redis://host:port/db?prefix=app:`: docstore, index store, chat store and vectors in Redis;
 * - `postgres://user:pass@host/db?namespace=app`: docstore and index store in `{ns}_kv`, vectors in
 *   `{ns}_vectors` (pgvector), chats in `{ns}_chat`;
 * - a {@link StoreSpec} (or `docs=...,vectors=...,chat=...,persist=...`) to mix them.
 *
 * URL resolution is `@larder/indexing`'s `openStorageContext` (same URLs as the `larder` CLI).
 * Or pass `{ larder: ctx }` to wrap a Larder `StorageContext` you built yourself.
 */
export async function storageContextFromLarder(
  input: string | StoreSpec | { larder: StorageContext },
  options: LarderStorageOptions = {},
): Promise<LarderStorage> {
  if (typeof input === "object" && input !== null && "larder" in input) {
    const ctx = input.larder;
    return wrap(ctx, options, undefined, false, async () => undefined, async () => {});
  }
  const { embedModel: _e, storesText: _s, ...openOptions } = options;
  const opened = await openStorageContext(input as string | StoreSpec, openOptions);
  try {
    return wrap(opened.storageContext, options, opened.persistTarget, opened.existed, opened.persist, opened.close);
  } catch (err) {
    await opened.close();
    throw err;
  }
}

function wrap(
  ctx: StorageContext,
  options: LarderStorageOptions,
  persistTarget: string | undefined,
  existed: boolean,
  persist: () => Promise<PersistResult | undefined>,
  close: () => Promise<void>,
): LarderStorage {
  if (!ctx || typeof ctx !== "object" || !ctx.docStore || !ctx.indexStore) throw errors.invalid("expected a Larder StorageContext");
  const larderVectors: VectorStore = ctx.vectorStore;
  // In-memory chats persist with the rest (Larder's persist writes a SimpleChatStore).
  ctx.chatStore ??= new SimpleChatStore();
  const storesText = options.storesText ?? (larderVectors instanceof SimpleVectorStore ? false : larderVectors.storesText);
  const vectorStore = new LarderVectorStore({
    vectorStore: larderVectors,
    storesText,
    ...(options.embedModel ? { embedModel: options.embedModel } : {}),
  });
  const docStore = new LarderDocumentStore(ctx.docStore);
  const indexStore = new LarderIndexStore({ indexStore: ctx.indexStore, docStore: ctx.docStore });
  const chatStore = new LarderChatStore(ctx.chatStore);
  return {
    storageContext: { docStore, indexStore, vectorStores: { TEXT: vectorStore } as VectorStoreByType },
    docStore,
    indexStore,
    vectorStore,
    chatStore,
    larder: ctx,
    persistTarget,
    existed,
    persist,
    close,
  };
}
