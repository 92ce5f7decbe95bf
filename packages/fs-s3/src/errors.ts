import { StorageError, isStorageError } from "@larder/core/errors";

/** What a failed S3 call was doing, for the error message. */
export interface S3CallContext {
  store: string;
  bucket: string;
  /** The full object key (bucket-relative), when the call was about one object. */
  key?: string;
  /** `read`, `write`, `list`... */
  op: string;
  /** The call was a conditional write (a 404 then means "the expected version is gone"). */
  conditional?: boolean;
}

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $retryable?: unknown;
}

const CREDENTIAL_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "InvalidSecurity",
  "CredentialsProviderError",
  "AuthorizationHeaderMalformed",
  // versitygw's answer to an unknown access key.
  "XAdminUserNotFound",
]);

const CONFLICT_CODES = new Set(["PreconditionFailed", "ConditionalRequestConflict", "OperationAborted"]);

// A file-backed S3 server (versitygw's posix backend) cannot hold `a/b` and `a/b/c` at once.
const FILE_TREE_CODES = new Set(["ObjectParentIsFile", "ExistingObjectIsDirectory", "DirectoryObjectContainsData", "XNotEmpty"]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);

/** The S3 error code of an SDK error (`NoSuchKey`, `PreconditionFailed`...), or its name. */
export function s3ErrorCode(err: unknown): string {
  const e = (err ?? {}) as SdkError;
  return String(e.Code ?? e.name ?? e.code ?? "Error");
}

export function httpStatus(err: unknown): number | undefined {
  return ((err ?? {}) as SdkError).$metadata?.httpStatusCode;
}

export function isNotFound(err: unknown): boolean {
  const code = s3ErrorCode(err);
  if (code === "NoSuchBucket" || CREDENTIAL_CODES.has(code)) return false;
  return code === "NoSuchKey" || code === "NotFound" || httpStatus(err) === 404;
}

/**
 * Maps an SDK error to a StorageError. Messages name the bucket, key and S3 error code, never a
 * credential: for rejected credentials the server's own text is left out (some servers echo the
 * string-to-sign), and StorageError redacts `secret=...`-style pairs anyway.
 */
export function toS3StorageError(err: unknown, ctx: S3CallContext): StorageError {
  if (isStorageError(err)) return err;
  const e = (err ?? {}) as SdkError;
  const code = s3ErrorCode(err);
  const status = httpStatus(err);
  const attempts = e.$metadata?.attempts;
  const where = ctx.key === undefined ? `bucket ${JSON.stringify(ctx.bucket)}` : `s3://${ctx.bucket}/${ctx.key}`;
  const detail = `${code}${status ? ` (HTTP ${status})` : ""}`;
  const details = { bucket: ctx.bucket, key: ctx.key, s3Code: code, httpStatus: status, attempts };
  const opts = { store: ctx.store, cause: sanitizedCause(err), details };

  if (code === "NoSuchBucket") {
    const during = ctx.key === undefined ? "" : ` (${ctx.op} ${where})`;
    return new StorageError("NOT_FOUND", `bucket ${JSON.stringify(ctx.bucket)} does not exist${during}: create it, or check the bucket name and endpoint`, opts);
  }
  if (CREDENTIAL_CODES.has(code) || status === 401 || status === 403) {
    return new StorageError(
      "CONNECTION",
      `${ctx.op} ${where}: the S3 server rejected the credentials or denied access (${detail}); check the access key id, secret and the bucket's permissions`,
      opts,
    );
  }
  if (CONFLICT_CODES.has(code) || status === 412) {
    return new StorageError("CONFLICT", `${ctx.op} ${where}: the object changed or already exists (${detail}, conditional write refused)`, opts);
  }
  if (ctx.conditional && isNotFound(err)) {
    return new StorageError("CONFLICT", `${ctx.op} ${where}: the object to replace no longer exists (${detail})`, opts);
  }
  if (isNotFound(err)) {
    return new StorageError("NOT_FOUND", `no such file: ${where}`, opts);
  }
  if (FILE_TREE_CODES.has(code)) {
    return new StorageError(
      "CONFLICT",
      `${ctx.op} ${where}: this S3 server keeps objects as files and directories, so a key cannot also be the "directory" of another key (${detail})`,
      opts,
    );
  }
  if (code === "KeyTooLongError" || code === "InvalidObjectName" || code === "InvalidURI") {
    return new StorageError("INVALID_ARGUMENT", `${ctx.op} ${where}: the key is not acceptable to this S3 server (${detail})`, opts);
  }
  if (code === "EntityTooLarge") {
    return new StorageError("INVALID_ARGUMENT", `${ctx.op} ${where}: the object is too large (${detail})`, opts);
  }
  const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : "";
  if (NETWORK_CODES.has(code) || e.$fault === undefined || (status !== undefined && status >= 500) || code === "SlowDown" || code === "ThrottlingException") {
    const message = e.$fault === undefined && e.message ? `: ${e.message}` : "";
    return new StorageError("CONNECTION", `${ctx.op} ${where} failed${tries} (${detail}${message})`, opts);
  }
  // Any other 4xx: the request itself was refused; report the code, not the raw message.
  return new StorageError("CONNECTION", `${ctx.op} ${where} was refused by the S3 server${tries} (${detail})`, opts);
}

/**
 * The SDK error without its raw HTTP response (`$response` holds the request, whose Authorization
 * header names the access key id and carries the signature): name, message, code and metadata only.
 */
function sanitizedCause(err: unknown): unknown {
  if (typeof err !== "object" || err === null) return err;
  const e = err as SdkError & { stack?: string };
  const copy = new Error(e.message ?? String(e.name));
  copy.name = e.name ?? "Error";
  if (e.stack) copy.stack = e.stack;
  Object.assign(copy, {
    Code: e.Code,
    code: e.code,
    $fault: e.$fault,
    $metadata: e.$metadata,
  });
  return copy;
}
