export {
  S3FileSystem,
  s3ClientConfig,
  type AwsPresetOptions,
  type MinioPresetOptions,
  type R2PresetOptions,
  type S3Credentials,
  type S3FileSystemOptions,
} from "./s3-file-system.js";
export { parseS3Url, registerS3Scheme, type S3SchemeDefaults } from "./scheme.js";
export { toS3StorageError, type S3CallContext } from "./errors.js";
