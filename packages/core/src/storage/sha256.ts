import { createHash, type Hash } from "node:crypto";

/** Hex SHA-256 of bytes or a string (UTF-8). */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Counts and hashes the bytes flowing through it, so a file's size and checksum are known the
 * moment its last chunk is written, without a second read.
 */
export class HashingCounter {
  bytes = 0;
  private readonly hash: Hash = createHash("sha256");
  private hex: string | undefined;

  update(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    this.hash.update(chunk);
  }

  digest(): string {
    this.hex ??= this.hash.digest("hex");
    return this.hex;
  }

  /** Passes chunks through unchanged, hashing each on the way. */
  async *tap(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks) {
      this.update(chunk);
      yield chunk;
    }
  }
}
