import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

/**
 * PostgreSQL's binary COPY format, for bulk `add`: the vectors go as raw float32 (pgvector's
 * `vector_recv` layout), so neither side formats or parses 384 decimal numbers per row, which is
 * most of the cost of a text INSERT of embeddings.
 *
 * Field kinds: `text` (UTF-8), `json` (UTF-8 JSON text), `jsonb` (version byte 1 + JSON text),
 * `vector` (int16 dim, int16 0, dim x float32 big-endian), null.
 */
export type CopyField =
  | { kind: "text" | "json" | "jsonb"; value: string | null }
  | { kind: "vector"; value: ArrayLike<number> };

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

function fieldSize(f: CopyField): number {
  if (f.value === null) return 4;
  if (f.kind === "vector") return 4 + 4 + 4 * f.value.length;
  return 4 + (f.kind === "jsonb" ? 1 : 0) + Buffer.byteLength(f.value as string, "utf8");
}

/** Encodes rows (each an array of fields, same arity) into COPY chunks of about `chunkBytes`. */
export function* encodeRows(rows: Iterable<CopyField[]>, chunkBytes = 1 << 20): Generator<Buffer> {
  let scratch = new Float32Array(0);
  let parts: Buffer[] = [Buffer.concat([SIGNATURE, Buffer.alloc(8)])]; // flags + header extension length
  let size = parts[0]!.length;
  for (const row of rows) {
    let n = 2;
    for (const f of row) n += fieldSize(f);
    const buf = Buffer.allocUnsafe(n);
    let o = buf.writeInt16BE(row.length, 0);
    for (const f of row) {
      if (f.value === null) {
        o = buf.writeInt32BE(-1, o);
      } else if (f.kind === "vector") {
        const v = f.value;
        o = buf.writeInt32BE(4 + 4 * v.length, o);
        o = buf.writeInt16BE(v.length, o);
        o = buf.writeInt16BE(0, o);
        // Native conversion to float32 (little-endian in memory), memcpy, then one native byte swap
        // to network order: several times faster than a writeFloatBE per component.
        if (scratch.length !== v.length) scratch = new Float32Array(v.length);
        scratch.set(v as ArrayLike<number>);
        const bytes = Buffer.from(scratch.buffer, scratch.byteOffset, 4 * v.length);
        bytes.copy(buf, o);
        buf.subarray(o, o + 4 * v.length).swap32();
        o += 4 * v.length;
      } else {
        const s = f.value as string;
        const lenAt = o;
        o += 4;
        if (f.kind === "jsonb") o = buf.writeUInt8(1, o);
        const written = buf.write(s, o, "utf8");
        o += written;
        buf.writeInt32BE(o - lenAt - 4, lenAt);
      }
    }
    parts.push(buf);
    size += n;
    if (size >= chunkBytes) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1, 0);
  parts.push(trailer);
  yield Buffer.concat(parts, size + 2);
}

/** Streams the rows into `COPY <target> FROM STDIN (FORMAT binary)` on this connection. */
export async function copyBinary(client: unknown, target: string, rows: Iterable<CopyField[]>): Promise<void> {
  const stream = (client as pg.PoolClient).query(copyFrom(`COPY ${target} FROM STDIN (FORMAT binary)`));
  await pipeline(Readable.from(encodeRows(rows)), stream);
}
