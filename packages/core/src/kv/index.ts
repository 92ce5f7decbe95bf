export * from "./types.js";
export { SimpleKVStore, materializeEntries, type KVDict } from "./simple-kv-store.js";
export { assertBatchSize, assertCollection, assertJsonObject, assertKey, assertKeys, isJsonValue, isPlainObject } from "./validate.js";
export { pythonJsonDumps } from "./python-json.js";
