export * from "./types.js";
export { SimpleKVStore, materializeEntries, type KVDict } from "./simple-kv-store.js";
export {
  assertBatchSize,
  assertCollection,
  assertJsonMetadata,
  assertJsonObject,
  assertKey,
  assertKeys,
  assertSerializer,
  isJsonValue,
  isPlainObject,
  jsonProblem,
  MAX_JSON_DEPTH,
  serializedObjectText,
  type JsonCheckOptions,
} from "./validate.js";
export { pythonJsonDumps } from "./python-json.js";
