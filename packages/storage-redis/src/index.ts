export { RedisKVStore, type RedisKVStoreOptions } from "./redis-kv-store.js";
export { RedisDocumentStore, type RedisDocumentStoreOptions } from "./redis-document-store.js";
export { RedisIndexStore, type RedisIndexStoreOptions } from "./redis-index-store.js";
export { RedisChatStore, type RedisChatStoreOptions } from "./redis-chat-store.js";
export { failFastRedisOptions, toRedisStorageError, type RedisClient, type RedisConnectionOptions } from "./client.js";
export { RedisVectorStore, textTerms, type RedisVectorIndex, type RedisVectorStoreOptions } from "./redis-vector-store.js";
export { ORDERED_SEARCH_FILTER_OPERATORS, SEARCH_FILTER_OPERATORS, searchLiteral } from "./search-filter.js";
