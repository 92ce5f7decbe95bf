export { StorageContext, DEFAULT_PERSIST_DIR, DEFAULT_VECTOR_NAMESPACE, IMAGE_VECTOR_NAMESPACE } from "./storage-context.js";
export type {
  FromDefaultsOptions,
  FromPersistDirOptions,
  PersistFormat,
  PersistOptions,
  PersistResult,
  StorageContextDict,
  StorageContextInit,
} from "./storage-context.js";
export { SimpleGraphStore, type GraphStoreDict } from "./simple-graph-store.js";
export {
  LARDER_FORMAT_VERSION,
  MANIFEST_FILE,
  COMPONENT_KINDS,
  type ComponentEntry,
  type ComponentKind,
  type FileRef,
  type LarderManifest,
  type SkippedEntry,
  type VectorDelta,
  type ComponentDelta,
  type VectorFileRef,
  type ParsedManifest,
  encodeManifest,
  parseManifest,
} from "./manifest.js";
export { readManifest, collectGarbage, type LarderBase, type ManifestRead } from "./larder-format.js";
export { LLAMAINDEX_FILES, vectorStoreFileName, isLlamaIndexDir, DEFAULT_LLAMAINDEX_VERSION, copyExactSources, type LlamaIndexVersion } from "./llamaindex-format.js";
export {
  verifyLlamaIndexFolder,
  type LlamaIndexDamage,
  type LlamaIndexVerifyFile,
  type LlamaIndexVerifyResult,
} from "./llamaindex-verify.js";
export { pyJson, pyFloat, pyJsonString, parseJsonBytes, treeLines, utf8Chunks, utf8Lines } from "./json-stream.js";
export { sha256Hex, HashingCounter } from "./sha256.js";
