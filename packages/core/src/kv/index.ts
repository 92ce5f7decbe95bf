export * from "./types.js";
export { SimpleKVStore, materializeEntries, type KVDict } from "./simple-kv-store.js";
export {
  assertBatchSize,
  assertCollection,
  assertJsonObject,
  assertKey,
  assertKeys,
  assertSerializer,
  isJsonValue,
  isPlainObject,
  serializedObjectText,
} from "./validate.js";
export { pythonJsonDumps } from "./python-json.js";
