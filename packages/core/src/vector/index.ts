export * from "./types.js";
export * from "./kernel.js";
export { MetadataIndex } from "./metadata-index.js";
export { mmrSelect } from "./mmr.js";
export * from "./simple-vector-store.js";
export { assertDeleteTarget, assertNodeMetadata, checkTopK, filtersHaveCondition, nodeLabel } from "./validate.js";
export { PARALLEL_MIN_ROWS, scanThreads, setScanThreads, shutdownScanPool } from "./scan-pool.js";
