import { StorageError, isStorageError, type StorageErrorCode } from "@larder/core/errors";

/** Node socket error codes that mean "the server is not reachable / went away". */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** Driver messages (no SQLSTATE) that mean the connection is gone or could not be made. */
const CONNECTION_MESSAGES = [
  "Connection terminated",
  "connection timeout",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error",
  "Client was closed and is not queryable",
  "Cannot use a pool after calling end",
  "Query read timeout",
  "terminating connection",
  "the database system is",
];

/** Maps a SQLSTATE (and driver error) to a Larder error code. */
export function classifyPgError(err: unknown): StorageErrorCode {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; errors?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : "";
  if (NETWORK_CODES.has(code)) return "CONNECTION";
  // AggregateError from net.connect with several addresses (IPv4 + IPv6).
  if (Array.isArray(e.errors) && e.errors.some((x) => classifyPgError(x) === "CONNECTION")) return "CONNECTION";
  if (/^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    if (cls === "08" || cls === "53" || cls === "28" || cls === "3D" || code.startsWith("57P")) return "CONNECTION";
    if (code === "23505" || code === "40001" || code === "40P01" || code === "55P03") return "CONFLICT";
    // pgvector reports wrong dimensions as a data exception ("expected 3 dimensions, not 4").
    if (cls === "22" && /dimensions/.test(message)) return "DIMENSION_MISMATCH";
    if (cls === "22" || code === "23502" || code === "23514" || code === "54000" || code === "42939") {
      return "INVALID_ARGUMENT";
    }
    if (code === "0A000" || code === "58P01" || code === "42704" || code === "42883") return "UNSUPPORTED";
    // The table or schema vanished under the store (dropped by someone else).
    if (code === "42P01" || code === "3F000") return "NOT_FOUND";
    // A column missing or of another type: the table was altered under the store.
    if (code === "42703" || code === "42804") return "CONFLICT";
    if (code.startsWith("XX001") || code === "XX002") return "CORRUPT";
    return "CONNECTION";
  }
  if (CONNECTION_MESSAGES.some((m) => message.includes(m))) return "CONNECTION";
  return "CONNECTION";
}

/**
 * Wraps a pg (or network) error as a StorageError. The message keeps Postgres's text and SQLSTATE;
 * StorageError redacts anything that looks like credentials.
 */
export function wrapPgError(err: unknown, store: string, action: string): StorageError {
  if (isStorageError(err)) return err;
  const code = classifyPgError(err);
  const e = (err ?? {}) as { code?: unknown; message?: unknown; errors?: unknown };
  let detail = typeof e.message === "string" && e.message !== "" ? e.message : String(err);
  if (detail === "" && Array.isArray(e.errors)) detail = e.errors.map((x) => String((x as Error)?.message ?? x)).join("; ");
  const sqlstate = typeof e.code === "string" ? ` (${e.code})` : "";
  return new StorageError(code, `${action} failed: ${detail}${sqlstate}`, { store, cause: err });
}
