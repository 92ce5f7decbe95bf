/**
 * The one error family of Larder. Every failure a store reports is a `StorageError` with a
 * machine-readable `code`, the name of the store that raised it and, when it wraps a driver error,
 * the original as `cause`.
 *
 * Recognise it with {@link isStorageError}, not `instanceof`: a third-party store may bundle its own
 * copy of `@larder/core`, and the brand survives that.
 */
export type StorageErrorCode =
  | "NOT_FOUND"
  | "INVALID_ARGUMENT"
  | "UNSUPPORTED"
  | "CONFLICT"
  | "CORRUPT"
  | "CONNECTION"
  | "DIMENSION_MISMATCH";

export const STORAGE_ERROR_CODES: readonly StorageErrorCode[] = [
  "NOT_FOUND",
  "INVALID_ARGUMENT",
  "UNSUPPORTED",
  "CONFLICT",
  "CORRUPT",
  "CONNECTION",
  "DIMENSION_MISMATCH",
];

const BRAND = Symbol.for("@larder/core/StorageError");

export interface StorageErrorOptions {
  /** Name of the store (class name or user label) that raised the error. */
  store?: string;
  /** The underlying error (driver, fs, JSON parse...). Never contains credentials. */
  cause?: unknown;
  /** Extra structured details (e.g. the broken file, the offending key). */
  details?: Record<string, unknown>;
}

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly store: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly [BRAND] = true;

  constructor(code: StorageErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(
      redactCredentials(options.store ? `[${options.store}] ${code}: ${message}` : `${code}: ${message}`),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "StorageError";
    this.code = code;
    this.store = options.store;
    this.details = options.details;
  }
}

/** Brand check that works across copies of `@larder/core`. */
export function isStorageError(value: unknown, code?: StorageErrorCode): value is StorageError {
  if (typeof value !== "object" || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (value as StorageError).code === code;
}

/** Shorthand constructors, used throughout the stores. */
export const errors = {
  notFound: (message: string, o?: StorageErrorOptions) => new StorageError("NOT_FOUND", message, o),
  invalid: (message: string, o?: StorageErrorOptions) => new StorageError("INVALID_ARGUMENT", message, o),
  unsupported: (message: string, o?: StorageErrorOptions) => new StorageError("UNSUPPORTED", message, o),
  conflict: (message: string, o?: StorageErrorOptions) => new StorageError("CONFLICT", message, o),
  corrupt: (message: string, o?: StorageErrorOptions) => new StorageError("CORRUPT", message, o),
  connection: (message: string, o?: StorageErrorOptions) => new StorageError("CONNECTION", message, o),
  dimension: (message: string, o?: StorageErrorOptions) => new StorageError("DIMENSION_MISMATCH", message, o),
};

/**
 * Removes credentials from text that may end up in an error message or a log line:
 * `scheme://user:password@host` userinfo, and `password=...`/`secret=...`-style pairs.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*):([^/\s@]*)@/gi, "$1$2:***@")
    .replace(/((?:password|passwd|pwd|secret|secretAccessKey|secret_access_key|token)["']?\s*[=:]\s*["']?)[^\s"'&,;]+/gi, "$1***");
}

/** Wraps any thrown value as a StorageError (keeping it if it already is one). */
export function toStorageError(
  err: unknown,
  fallback: StorageErrorCode,
  message: string,
  store?: string,
): StorageError {
  if (isStorageError(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError(fallback, `${message}: ${detail}`, { store, cause: err });
}
