export * from "./types.js";
export { LocalFileSystem, isTempFileName, type LocalFileSystemOptions } from "./local-file-system.js";
export { MemoryFileSystem, checkCondition } from "./memory-file-system.js";
export { compareCodePoints, concatBytes, toBytes, validatePath, validatePrefix } from "./path.js";
export {
  registerFileSystemScheme,
  registeredFileSystemSchemes,
  resolveFileSystem,
  unregisterFileSystemScheme,
  type FileSystemFactory,
} from "./registry.js";
