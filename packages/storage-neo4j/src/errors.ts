import { StorageError, isStorageError, redactCredentials, type StorageErrorCode } from "@larder/core";
import { STORE_NAME } from "./cypher.js";

/**
 * Maps a driver error to a StorageError:
 * - the server cannot be reached / the connection dropped -> CONNECTION
 * - a constraint was violated -> CONFLICT
 * - Cypher syntax, semantic or type errors (structuredQuery, bad parameters) -> INVALID_ARGUMENT
 * - anything else keeps the driver's message under CONNECTION when transient, else INVALID_ARGUMENT
 *   for client errors; database-side failures are CONNECTION (the store could not do its job).
 */
export function mapNeo4jError(err: unknown, action: string): StorageError {
  if (isStorageError(err)) return err;
  const code = typeof (err as { code?: unknown })?.code === "string" ? (err as { code: string }).code : "";
  const detail = redactCredentials(err instanceof Error ? err.message : String(err));
  let mapped: StorageErrorCode;
  if (code === "ServiceUnavailable" || code === "SessionExpired" || code.startsWith("Neo.TransientError.")) {
    mapped = "CONNECTION";
  } else if (code === "Neo.ClientError.Schema.ConstraintValidationFailed" || code.includes("ConstraintViolation")) {
    mapped = "CONFLICT";
  } else if (code.startsWith("Neo.ClientError.Security.")) {
    mapped = "CONNECTION";
  } else if (code.startsWith("Neo.ClientError.Database.DatabaseNotFound")) {
    mapped = "NOT_FOUND";
  } else if (code.startsWith("Neo.ClientError.")) {
    mapped = "INVALID_ARGUMENT";
  } else if (/connect|ECONNREFUSED|ECONNRESET|socket|timed? ?out/i.test(detail)) {
    mapped = "CONNECTION";
  } else {
    mapped = "CONNECTION";
  }
  return new StorageError(mapped, `${action} failed${code ? ` (${code})` : ""}: ${detail}`, {
    store: STORE_NAME,
    cause: err,
  });
}
