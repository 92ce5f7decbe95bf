import { StorageError } from "../errors.js";

/**
 * Path rules shared by every FileSystem (local, memory, S3): a path is a non-empty string of
 * `/`-separated segments, relative to the file system's root. Refused with `INVALID_ARGUMENT`:
 * absolute paths, empty segments (`a//b`, trailing `/`), `.` and `..` segments, backslashes, NUL and
 * lone UTF-16 surrogates (a string that is not valid Unicode has no UTF-8 form: encoders would turn
 * `a\ud800` and `a\udc00` into the same `a\ufffd` name). A backend may refuse more (e.g. S3's 1024-byte key limit, a local 255-byte name limit).
 */
export function validatePath(path: unknown, store?: string): string {
  if (typeof path !== "string") throw invalidPath(`path must be a string, got ${typeof path}`, store);
  if (path === "") throw invalidPath("path must not be empty", store);
  checkCommon(path, store);
  for (const seg of path.split("/")) checkSegment(seg, path, store);
  return path;
}

/**
 * A `list` prefix: `""` (everything), a directory with a trailing `/` (`"docs/"`), or any string
 * prefix of paths (`"docs/a"` matches `docs/a.json` and `docs/ab/c`). Same rules as paths, except
 * that it may be empty and its last segment may be empty or partial.
 */
export function validatePrefix(prefix: unknown, store?: string): string {
  if (prefix === undefined) return "";
  if (typeof prefix !== "string") throw invalidPath(`prefix must be a string, got ${typeof prefix}`, store);
  if (prefix === "") return "";
  checkCommon(prefix, store);
  const segs = prefix.split("/");
  segs.forEach((seg, i) => {
    if (i === segs.length - 1 && (seg === "" || seg === ".")) return;
    checkSegment(seg, prefix, store);
  });
  return prefix;
}

function checkCommon(path: string, store?: string): void {
  if (path.includes("\u0000")) throw invalidPath("path must not contain NUL", store);
  if (!isWellFormed(path)) throw invalidPath(`path must be valid Unicode (it has a lone surrogate): ${show(path)}`, store);
  if (path.includes("\\")) throw invalidPath(`path must use "/" separators, not backslashes: ${show(path)}`, store);
  if (path.startsWith("/")) throw invalidPath(`path must be relative, not absolute: ${show(path)}`, store);
}

/** Whether `s` has no lone UTF-16 surrogate (`String.prototype.isWellFormed`, Node 20+). */
function isWellFormed(s: string): boolean {
  const f = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof f === "function") return f.call(s);
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

function checkSegment(seg: string, path: string, store?: string): void {
  if (seg === "") throw invalidPath(`path has an empty segment: ${show(path)}`, store);
  if (seg === "." || seg === "..") throw invalidPath(`path must not contain "${seg}" segments: ${show(path)}`, store);
}

function invalidPath(message: string, store?: string): StorageError {
  return new StorageError("INVALID_ARGUMENT", message, { store });
}

function show(path: string): string {
  return JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}…` : path);
}

/** Orders strings by Unicode code point (= UTF-8 byte order, the order S3 lists keys in). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort after every BMP code unit in code point order.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Bytes of a `write` argument: strings are UTF-8. */
/** The parts joined into one new buffer (unpooled: a view of it never pins someone else's memory). */
export function concatBytes(parts: readonly Uint8Array[]): Buffer {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = Buffer.allocUnsafeSlow(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export function toBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data === "string") return new TextEncoder().encode(data);
  if (data instanceof Uint8Array) return data;
  throw new StorageError("INVALID_ARGUMENT", "data must be a Uint8Array or a string");
}
