export { SentenceSplitter, countTokens, deterministicId, type ChunkUnit, type SentenceSplitterOptions, type TextChunk } from "./splitter.js";
export {
  HashEmbedder,
  OpenAIEmbedder,
  EMBEDDER_RECORD_KEY,
  embedderRecord,
  embedderFromRecord,
  parseEmbedderRecord,
  describeEmbedderRecord,
  type Embedder,
  type EmbedderRecord,
  type HashEmbedderOptions,
  type OpenAIEmbedderOptions,
} from "./embedder.js";
export {
  VectorStoreIndex,
  VectorIndexRetriever,
  loadIndexFromStorage,
  type IndexProgress,
  type LoadIndexOptions,
  type NodeWithScore,
  type RetrieverOptions,
  type VectorStoreIndexOptions,
} from "./vector-store-index.js";
export { KVVectorStore, type KVVectorStoreOptions } from "./kv-vector-store.js";
export {
  openStorageContext,
  assertCanHold,
  persistedAt,
  registerS3,
  parseStoreSpec,
  backendOf,
  ADAPTER_PACKAGES,
  STORE_KINDS,
  type Backend,
  type DataToWrite,
  type OpenedStorage,
  type OpenStorageOptions,
  type StoreKind,
  type StoreSpec,
} from "./store-urls.js";
