import { createHash } from "node:crypto";
import { StorageError } from "@larder/core/errors";

/** Postgres truncates identifiers to NAMEDATALEN - 1 = 63 bytes; we refuse longer ones instead. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Validates a schema or table name and returns it double-quoted (`"a""b"`), ready to paste into
 * SQL. Any name Postgres can hold works as is, case-sensitively; a name it cannot hold (empty,
 * NUL, longer than 63 bytes, or a schema starting with `pg_`) is INVALID_ARGUMENT.
 */
export function quoteIdentifier(name: unknown, what: string, store: string): string {
  if (typeof name !== "string" || name === "") {
    throw new StorageError("INVALID_ARGUMENT", `${what} must be a non-empty string`, { store });
  }
  if (name.includes("\u0000")) {
    throw new StorageError("INVALID_ARGUMENT", `${what} must not contain NUL characters`, { store });
  }
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > MAX_IDENTIFIER_BYTES) {
    throw new StorageError(
      "INVALID_ARGUMENT",
      `${what} is ${bytes} bytes long; Postgres identifiers hold at most ${MAX_IDENTIFIER_BYTES}`,
      { store, details: { bytes } },
    );
  }
  if (!isWellFormedUtf16(name)) {
    throw new StorageError("INVALID_ARGUMENT", `${what} contains a lone surrogate`, { store });
  }
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteSchema(name: unknown, store: string): string {
  if (typeof name === "string" && name.startsWith("pg_")) {
    throw new StorageError("INVALID_ARGUMENT", `schema names starting with "pg_" are reserved by Postgres`, { store });
  }
  return quoteIdentifier(name, "schema name", store);
}

/**
 * Name for an index or other object derived from a table: a short hash of the qualified table
 * name, so it is always a valid, short identifier whatever the table is called.
 */
export function derivedName(schema: string, table: string, suffix: string): string {
  const h = createHash("sha256").update(`${schema}\u0000${table}`).digest("hex").slice(0, 16);
  return `"larder_${h}_${suffix}"`;
}

export function isWellFormedUtf16(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (!(n >= 0xdc00 && n <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/**
 * Checks a key / collection / id that goes into a `text` column: Postgres `text` cannot hold NUL,
 * and lone surrogates cannot be encoded as UTF-8 (they would come back as U+FFFD).
 */
export function checkText(value: unknown, what: string, store: string): string {
  if (typeof value !== "string" || value === "") {
    throw new StorageError("INVALID_ARGUMENT", `${what} must be a non-empty string`, { store });
  }
  if (value.includes("\u0000")) {
    throw new StorageError("INVALID_ARGUMENT", `${what} must not contain NUL characters (Postgres text cannot hold them)`, {
      store,
    });
  }
  if (!isWellFormedUtf16(value)) {
    throw new StorageError("INVALID_ARGUMENT", `${what} contains a lone surrogate (not representable in UTF-8)`, { store });
  }
  return value;
}
