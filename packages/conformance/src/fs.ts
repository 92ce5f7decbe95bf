import { expect } from "vitest";
import type { FileSystem } from "@larder/core/fs";
import { defineSuite, expectStorageError, seededRandom, type TestBody } from "./harness.js";
import { HOSTILE_STRINGS } from "./hostile.js";
import { acceptedOrInvalid, collect, label } from "./kv-helpers.js";

export interface FileSystemCapabilities {
  /**
   * The etag is a hash of the content (S3: the MD5 of a single-part upload), so rewriting the same
   * bytes keeps the same etag. The kit then checks that instead of "every write changes the etag".
   */
  contentEtags?: boolean;
}

type Body = TestBody<FileSystem, FileSystemCapabilities>;

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function expectBytes(actual: Uint8Array, expected: Uint8Array, msg?: string): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual.length, msg).toBe(expected.length);
  expect(sameBytes(actual, expected), msg ?? "bytes differ").toBe(true);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function filled(size: number, byte: number): Uint8Array {
  return new Uint8Array(size).fill(byte);
}

function needs<K extends "readStream" | "writeStream" | "deleteMany">(fs: FileSystem, method: K): NonNullable<FileSystem[K]> {
  const m = fs[method];
  if (typeof m !== "function") throw new Error(`${fs.name} has no ${method}(); opt out of this test with skip and a reason`);
  return m.bind(fs) as NonNullable<FileSystem[K]>;
}

/** Paths every file system must refuse with INVALID_ARGUMENT. */
export const BAD_PATHS: readonly string[] = [
  "",
  "/etc/passwd",
  "/abs",
  "../escape",
  "a/../../escape",
  "a/..",
  "..",
  ".",
  "./a",
  "a/./b",
  "a//b",
  "a/",
  "dir\\file",
  "..\\..\\windows",
  "nul\u0000byte",
];

export const fileSystemTests = {
  "fs.write.read-roundtrip": (async (ctx) => {
    const fs = await ctx.store();
    await fs.write("hello.txt", "Hello, wörld 🦙");
    expect(dec(await fs.read("hello.txt"))).toBe("Hello, wörld 🦙");
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    await fs.write("bin/data.bin", bytes);
    expectBytes(await fs.read("bin/data.bin"), bytes);
  }) as Body,

  "fs.read.missing-is-not-found": (async (ctx) => {
    const fs = await ctx.store();
    await expectStorageError(() => fs.read("missing.txt"), "NOT_FOUND");
    await expectStorageError(() => fs.read("no/such/dir/file"), "NOT_FOUND");
    await fs.write("dir/file", "x");
    await expectStorageError(() => fs.read("dir"), "NOT_FOUND");
    expect(await fs.stat("missing.txt")).toBeUndefined();
  }) as Body,

  "fs.write.replaces": (async (ctx) => {
    const fs = await ctx.store();
    await fs.write("f", "a much longer first version of the file");
    await fs.write("f", "short");
    expect(dec(await fs.read("f"))).toBe("short");
    expect((await fs.stat("f"))?.size).toBe(5);
    expect(await fs.list()).toEqual(["f"]);
  }) as Body,

  "fs.write.binary-exact-and-empty": (async (ctx) => {
    const fs = await ctx.store();
    const all = Uint8Array.from({ length: 256 * 4 }, (_, i) => i % 256);
    await fs.write("all-bytes", all);
    expectBytes(await fs.read("all-bytes"), all);
    await fs.write("empty", new Uint8Array(0));
    expect((await fs.read("empty")).length).toBe(0);
    expect(await fs.exists("empty")).toBe(true);
    expect((await fs.stat("empty"))?.size).toBe(0);
    // Bytes that are not valid UTF-8 survive untouched.
    const invalidUtf8 = new Uint8Array([0xc3, 0x28, 0xff, 0xfe, 0x00, 0xed, 0xa0, 0x80]);
    await fs.write("invalid-utf8", invalidUtf8);
    expectBytes(await fs.read("invalid-utf8"), invalidUtf8);
  }) as Body,

  "fs.write.large-file": (async (ctx) => {
    const fs = await ctx.store();
    const big = new Uint8Array(12 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) % 251;
    await fs.write("big.bin", big);
    expectBytes(await fs.read("big.bin"), big);
    expect((await fs.stat("big.bin"))?.size).toBe(big.length);
  }) as Body,

  "fs.copy.not-aliased": (async (ctx) => {
    const fs = await ctx.store();
    const data = new Uint8Array([1, 2, 3]);
    await fs.write("f", data);
    data[0] = 99;
    const got = await fs.read("f");
    got[1] = 99;
    expectBytes(await fs.read("f"), new Uint8Array([1, 2, 3]));
  }) as Body,

  "fs.write.nested-paths": (async (ctx) => {
    const fs = await ctx.store();
    await fs.write("a/b/c/d/e.json", "{}");
    await fs.write("a/b/sibling.json", "[]");
    expect(dec(await fs.read("a/b/c/d/e.json"))).toBe("{}");
    expect(await fs.list("a/")).toEqual(["a/b/c/d/e.json", "a/b/sibling.json"]);
  }) as Body,

  "fs.exists": (async (ctx) => {
    const fs = await ctx.store();
    expect(await fs.exists("f")).toBe(false);
    await fs.write("dir/f", "x");
    expect(await fs.exists("dir/f")).toBe(true);
    expect(await fs.exists("dir"), "directories are not files").toBe(false);
    expect(await fs.exists("dir/f/g")).toBe(false);
    await fs.delete("dir/f");
    expect(await fs.exists("dir/f")).toBe(false);
  }) as Body,

  "fs.delete.reports-whether-deleted": (async (ctx) => {
    const fs = await ctx.store();
    await fs.write("d/x", "1");
    await fs.write("d/y", "2");
    expect(await fs.delete("d/x")).toBe(true);
    expect(await fs.delete("d/x")).toBe(false);
    expect(await fs.delete("never")).toBe(false);
    expect(await fs.delete("d"), "deleting a directory name deletes nothing").toBe(false);
    expect(await fs.list()).toEqual(["d/y"]);
    expect(dec(await fs.read("d/y"))).toBe("2");
    // A file can be re-created where one was deleted.
    await fs.write("d/x", "again");
    expect(dec(await fs.read("d/x"))).toBe("again");
  }) as Body,

  "fs.deleteMany": (async (ctx) => {
    const fs = await ctx.store();
    const deleteMany = needs(fs, "deleteMany");
    for (const p of ["m/1", "m/2", "m/3", "keep"]) await fs.write(p, p);
    expect(await deleteMany(["m/1", "m/3", "missing", "m/1"])).toBe(2);
    expect(await fs.list()).toEqual(["keep", "m/2"]);
    expect(await deleteMany([])).toBe(0);
    await expectStorageError(() => deleteMany(["m/2", "../keep"]), "INVALID_ARGUMENT");
    expect(await fs.list()).toEqual(["keep", "m/2"]);
  }) as Body,

  "fs.list.sorted-recursive": (async (ctx) => {
    const fs = await ctx.store();
    expect(await fs.list()).toEqual([]);
    const paths = ["b.txt", "a/z.txt", "a/b/c.txt", "A.txt", "a.txt", "ä.txt", "z/🦙.txt", "z/\uffff.txt", "10", "9", "a-b", "a/b.txt"];
    for (const p of paths) await fs.write(p, p);
    const listed = await fs.list();
    // Sorted by UTF-8 bytes (= code points), the order S3 lists keys in.
    expect(listed).toEqual([...paths].sort((x, y) => Buffer.compare(Buffer.from(x, "utf8"), Buffer.from(y, "utf8"))));
    expect(new Set(listed).size).toBe(paths.length);
  }) as Body,

  "fs.list.prefix-semantics": (async (ctx) => {
    const fs = await ctx.store();
    for (const p of ["docs/a.json", "docs/ab/x.json", "docs/b.json", "docs2/c.json", "doc", "other/docs/d.json"]) await fs.write(p, "1");
    expect(await fs.list("docs/")).toEqual(["docs/a.json", "docs/ab/x.json", "docs/b.json"]);
    expect(await fs.list("docs")).toEqual(["docs/a.json", "docs/ab/x.json", "docs/b.json", "docs2/c.json"]);
    expect(await fs.list("docs/a")).toEqual(["docs/a.json", "docs/ab/x.json"]);
    expect(await fs.list("doc")).toEqual(["doc", "docs/a.json", "docs/ab/x.json", "docs/b.json", "docs2/c.json"]);
    expect(await fs.list("nothing/")).toEqual([]);
    expect(await fs.list("docs/ab/x.json")).toEqual(["docs/ab/x.json"]);
    expect(await fs.list("")).toHaveLength(6);
    await expectStorageError(() => fs.list("../"), "INVALID_ARGUMENT");
    await expectStorageError(() => fs.list("/docs"), "INVALID_ARGUMENT");
    await expectStorageError(() => fs.list("a/../../"), "INVALID_ARGUMENT");
  }) as Body,

  "fs.stat.size-and-etag": (async (ctx) => {
    const fs = await ctx.store();
    expect(await fs.stat("f")).toBeUndefined();
    await fs.write("f", "12345");
    const s1 = await fs.stat("f");
    expect(s1?.size).toBe(5);
    if (s1?.mtimeMs !== undefined) expect(Math.abs(s1.mtimeMs - Date.now())).toBeLessThan(10 * 60_000);
    await fs.write("f", "123");
    const s2 = await fs.stat("f");
    expect(s2?.size).toBe(3);
    if (s1?.etag !== undefined) {
      expect(typeof s2?.etag).toBe("string");
      expect(s2?.etag, "the etag changes with every write").not.toBe(s1.etag);
      await fs.write("f", "123");
      if (ctx.capabilities.contentEtags) {
        expect((await fs.stat("f"))?.etag, "a content etag is the same for the same bytes").toBe(s2?.etag);
        await fs.write("f", "124");
        expect((await fs.stat("f"))?.etag, "and differs when the bytes do, even at the same size").not.toBe(s2?.etag);
      } else {
        expect((await fs.stat("f"))?.etag, "even when the size does not").not.toBe(s2?.etag);
      }
    }
  }) as Body,

  "fs.conditional.if-absent": (async (ctx) => {
    const fs = await ctx.store();
    await fs.write("m.json", "first", { ifMatch: "absent" });
    await expectStorageError(() => fs.write("m.json", "second", { ifMatch: "absent" }), "CONFLICT");
    expect(dec(await fs.read("m.json"))).toBe("first");
    expect(await fs.list()).toEqual(["m.json"]);
    await fs.delete("m.json");
    await fs.write("m.json", "third", { ifMatch: "absent" });
    expect(dec(await fs.read("m.json"))).toBe("third");
  }) as Body,

  "fs.conditional.if-absent-race-one-winner": (async (ctx) => {
    const fs = await ctx.store();
    const n = 12;
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => fs.write("race.json", `writer ${i} ${"x".repeat(i * 1000)}`, { ifMatch: "absent" })),
    );
    const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") expect((r.reason as { code?: string }).code).toBe("CONFLICT");
    }
    expect(dec(await fs.read("race.json"))).toBe(`writer ${winners[0]} ${"x".repeat(winners[0]! * 1000)}`);
    expect(await fs.list()).toEqual(["race.json"]);
  }) as Body,

  "fs.conditional.if-etag": (async (ctx) => {
    const fs = await ctx.store();
    await fs.write("m", "v1");
    const e1 = (await fs.stat("m"))?.etag;
    expect(typeof e1, "conditional writes need stat().etag").toBe("string");
    await fs.write("m", "v2", { ifMatch: { etag: e1! } });
    expect(dec(await fs.read("m"))).toBe("v2");
    await expectStorageError(() => fs.write("m", "v3", { ifMatch: { etag: e1! } }), "CONFLICT");
    expect(dec(await fs.read("m"))).toBe("v2");
    await expectStorageError(() => fs.write("missing", "x", { ifMatch: { etag: e1! } }), "CONFLICT");
    expect(await fs.exists("missing")).toBe(false);
    const e2 = (await fs.stat("m"))?.etag;
    await fs.write("m", "v3", { ifMatch: { etag: e2! } });
    expect(dec(await fs.read("m"))).toBe("v3");
    await expectStorageError(() => fs.write("m", "v4", { ifMatch: { nope: 1 } as unknown as { etag: string } }), "INVALID_ARGUMENT");
    expect(dec(await fs.read("m"))).toBe("v3");
  }) as Body,

  "fs.conditional.if-etag-race-one-winner": (async (ctx) => {
    const fs = await ctx.store();
    await fs.write("m", "base");
    const etag = (await fs.stat("m"))!.etag!;
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => fs.write("m", `w${i}`, { ifMatch: { etag } })));
    const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(dec(await fs.read("m"))).toBe(`w${winners[0]}`);
  }) as Body,

  "fs.atomic.concurrent-reader-never-sees-partial": (async (ctx) => {
    const fs = await ctx.store();
    const A = filled(1024 * 1024 + 3, 0x61);
    const B = filled(300_000, 0x62);
    await fs.write("atomic.bin", A);
    let done = false;
    const writer = (async () => {
      try {
        for (let i = 0; i < 24; i++) await fs.write("atomic.bin", i % 2 === 0 ? B : A);
      } finally {
        done = true;
      }
    })();
    let reads = 0;
    let bad: string | undefined;
    const reader = (async () => {
      while (!done || reads < 5) {
        const got = await fs.read("atomic.bin");
        reads++;
        if (!sameBytes(got, A) && !sameBytes(got, B)) {
          bad = `read ${reads} saw ${got.length} bytes (first ${got[0]}, last ${got[got.length - 1]}), neither version`;
          break;
        }
        if (reads > 2000) break;
        // Yield to timers/IO so a writer that awaits real I/O gets to run between reads.
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all([writer, reader]);
    expect(bad).toBeUndefined();
    expect(reads).toBeGreaterThan(0);
    expectBytes(await fs.read("atomic.bin"), A);
  }) as Body,

  "fs.atomic.temp-files-never-visible": (async (ctx) => {
    const fs = await ctx.store();
    let done = false;
    const writer = (async () => {
      try {
        for (let i = 0; i < 20; i++) await fs.write(`dir/file${i % 3}.bin`, filled(200_000 + i, i));
      } finally {
        done = true;
      }
    })();
    const seen = new Set<string>();
    while (!done) {
      for (const p of await fs.list()) seen.add(p);
      await new Promise((r) => setImmediate(r));
    }
    await writer;
    for (const p of await fs.list()) seen.add(p);
    expect([...seen].sort()).toEqual(["dir/file0.bin", "dir/file1.bin", "dir/file2.bin"]);
  }) as Body,

  "fs.stream.read": (async (ctx) => {
    const fs = await ctx.store();
    const readStream = needs(fs, "readStream");
    const data = Uint8Array.from({ length: 3 * 1024 * 1024 + 11 }, (_, i) => (i * 7) % 256);
    await fs.write("s.bin", data);
    const chunks = await collect(readStream("s.bin"));
    expect(chunks.length).toBeGreaterThan(0);
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const joined = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      joined.set(c, off);
      off += c.length;
    }
    expectBytes(joined, data);
    await expectStorageError(() => collect(readStream("missing")), "NOT_FOUND");
    await expectStorageError(() => collect(readStream("../x")), "INVALID_ARGUMENT");
  }) as Body,

  "fs.stream.chunks-are-the-callers": (async (ctx) => {
    // Persistence keeps views into the chunks of a read as loaded values, so a file system must never
    // reuse or change a chunk it has yielded: not for the next chunk, nor for another read.
    const fs = await ctx.store();
    const readStream = needs(fs, "readStream");
    const rand = seededRandom(42);
    const a = Uint8Array.from({ length: 2 * 1024 * 1024 + 3 }, () => Math.floor(rand() * 256));
    const b = Uint8Array.from({ length: 1024 * 1024 + 5 }, () => Math.floor(rand() * 256));
    await fs.write("a.bin", a);
    await fs.write("b.bin", b);
    const kept = await collect(readStream("a.bin"));
    const snapshot = kept.map((c) => c.slice());
    expectBytes((await collect(readStream("b.bin"))).reduce(concat, new Uint8Array(0)), b);
    kept.forEach((c, i) => expectBytes(c, snapshot[i]!, `chunk ${i} of a.bin changed after reading b.bin`));
    const joined = new Uint8Array(kept.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of kept) {
      joined.set(c, off);
      off += c.length;
    }
    expectBytes(joined, a);
  }) as Body,

  "fs.readInto.fills-the-target": (async (ctx) => {
    const fs = await ctx.store();
    const rand = seededRandom(7);
    const data = Uint8Array.from({ length: 3 * 1024 * 1024 + 17 }, () => Math.floor(rand() * 256));
    await fs.write("v.bin", data);
    if (fs.readInto === undefined) {
      // Optional capability: callers fall back to read/readStream.
      expectBytes(await fs.read("v.bin"), data);
      return;
    }
    const exact = new Uint8Array(data.length);
    expect(await fs.readInto("v.bin", exact)).toBe(data.length);
    expectBytes(exact, data);
    // A longer target: the file's size, and nothing past it is touched.
    const longer = new Uint8Array(data.length + 100).fill(0xab);
    expect(await fs.readInto("v.bin", longer)).toBe(data.length);
    expectBytes(longer.subarray(0, data.length), data);
    expect(longer.subarray(data.length).every((b) => b === 0xab)).toBe(true);
    // A shorter target (a view into a bigger buffer): the first bytes only, the rest untouched.
    const backing = new Uint8Array(2000).fill(0xcd);
    expect(await fs.readInto("v.bin", backing.subarray(500, 1500))).toBe(1000);
    expectBytes(backing.subarray(500, 1500), data.subarray(0, 1000));
    expect(backing.subarray(0, 500).every((b) => b === 0xcd) && backing.subarray(1500).every((b) => b === 0xcd)).toBe(true);
    await fs.write("empty.bin", new Uint8Array(0));
    expect(await fs.readInto("empty.bin", new Uint8Array(8))).toBe(0);
    await expectStorageError(() => fs.readInto!("missing.bin", new Uint8Array(8)), "NOT_FOUND");
    await expectStorageError(() => fs.readInto!("../x", new Uint8Array(8)), "INVALID_ARGUMENT");
  }) as Body,

  "fs.stream.write-chunks-may-be-reused": (async (ctx) => {
    // A producer may reuse its buffer once the next chunk is requested (persistence does): a file
    // system that keeps chunks must copy them.
    const fs = await ctx.store();
    const writeStream = needs(fs, "writeStream");
    const rand = seededRandom(11);
    const parts = Array.from({ length: 9 }, (_, i) => Uint8Array.from({ length: 300_000 + i * 77_777 }, () => Math.floor(rand() * 256)));
    async function* reusing(): AsyncGenerator<Uint8Array> {
      const buf = new Uint8Array(Math.max(...parts.map((p) => p.length)));
      for (const p of parts) {
        buf.set(p);
        yield buf.subarray(0, p.length);
        buf.fill(0xee); // the consumer asked for the next chunk: the previous one is the producer's again
      }
    }
    await writeStream("reused.bin", reusing());
    expectBytes(await fs.read("reused.bin"), parts.reduce(concat, new Uint8Array(0)));
  }) as Body,

  "fs.stream.write-is-atomic": (async (ctx) => {
    const fs = await ctx.store();
    const writeStream = needs(fs, "writeStream");
    await fs.write("s.txt", "old");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let produced = 0;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield enc("new-1|");
      produced++;
      await gate;
      yield enc("new-2|");
      yield filled(100_000, 0x7a);
    }
    const writing = writeStream("s.txt", chunks());
    while (produced === 0) await new Promise((r) => setTimeout(r, 1));
    // Half-written: readers still see the old bytes, list shows only the real file.
    expect(dec(await fs.read("s.txt"))).toBe("old");
    expect(await fs.list()).toEqual(["s.txt"]);
    release();
    await writing;
    const got = await fs.read("s.txt");
    expect(got.length).toBe(12 + 100_000);
    expect(dec(got.slice(0, 12))).toBe("new-1|new-2|");
    await writeStream("fresh.txt", [enc("a"), enc("b")], { ifMatch: "absent" });
    expect(dec(await fs.read("fresh.txt"))).toBe("ab");
    await expectStorageError(() => writeStream("fresh.txt", [enc("c")], { ifMatch: "absent" }), "CONFLICT");
    expect(dec(await fs.read("fresh.txt"))).toBe("ab");
  }) as Body,

  "fs.stream.failed-write-leaves-old-file": (async (ctx) => {
    const fs = await ctx.store();
    const writeStream = needs(fs, "writeStream");
    await fs.write("s.txt", "old");
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield enc("partial");
      throw new Error("producer crashed");
    }
    await expect(writeStream("s.txt", failing())).rejects.toThrow();
    expect(dec(await fs.read("s.txt"))).toBe("old");
    expect(await fs.list()).toEqual(["s.txt"]);
  }) as Body,

  "fs.path.rejects-traversal-and-malformed": (async (ctx) => {
    const fs = await ctx.store();
    await fs.write("inside.txt", "safe");
    for (const p of BAD_PATHS) {
      await expectStorageError(() => fs.write(p, "evil"), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.read(p), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.exists(p), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.stat(p), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.delete(p), "INVALID_ARGUMENT");
    }
    for (const p of [undefined, null, 42, {}] as unknown as string[]) {
      await expectStorageError(() => fs.write(p, "evil"), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.read(p), "INVALID_ARGUMENT");
    }
    expect(await fs.list()).toEqual(["inside.txt"]);
    expect(dec(await fs.read("inside.txt"))).toBe("safe");
  }) as Body,

  "fs.path.lone-surrogates-refused": (async (ctx) => {
    // A lone surrogate has no UTF-8 form: encoders turn it into U+FFFD, so `a\ud800`, `a\udc00`
    // and `a\ufffd` would all name one file. Every file system refuses it before any I/O.
    const fs = await ctx.store();
    await fs.write("a\ufffd", "replacement character");
    for (const p of ["a\ud800", "a\udc00", "\udfff/x", "d/\ud83d", "x\udc00\ud800y"]) {
      await expectStorageError(() => fs.write(p, "evil"), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.read(p), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.exists(p), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.stat(p), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.delete(p), "INVALID_ARGUMENT");
      await expectStorageError(() => fs.list(p), "INVALID_ARGUMENT");
    }
    // A well-formed astral character is an ordinary name.
    await fs.write("a\ud83e\udd99", "llama");
    expect(await fs.list()).toEqual(["a\ufffd", "a\ud83e\udd99"]);
    expect(dec(await fs.read("a\ufffd"))).toBe("replacement character");
  }) as Body,

  "fs.hostile.paths": (async (ctx) => {
    const fs = await ctx.store();
    await fs.write("sentinel", "sentinel");
    const accepted: string[] = [];
    for (const [i, s] of HOSTILE_STRINGS.entries()) {
      const p = `h/${s}`;
      if (await acceptedOrInvalid(() => fs.write(p, `content ${i}: ${s}`), `path ${label(p)}`)) accepted.push(p);
    }
    expect(accepted).toContain("h/plain");
    for (const p of accepted) {
      const i = HOSTILE_STRINGS.indexOf(p.slice(2));
      expect(dec(await fs.read(p)), label(p)).toBe(`content ${i}: ${p.slice(2)}`);
      expect(await fs.exists(p), label(p)).toBe(true);
    }
    const listed = await fs.list();
    expect([...listed].sort()).toEqual([...accepted, "sentinel"].sort());
    for (const p of accepted) expect(await fs.delete(p), label(p)).toBe(true);
    expect(await fs.list()).toEqual(["sentinel"]);
    expect(dec(await fs.read("sentinel"))).toBe("sentinel");
  }) as Body,

  "fs.concurrent.many-files": (async (ctx) => {
    const fs = await ctx.store();
    await Promise.all(Array.from({ length: 100 }, (_, i) => fs.write(`many/${i % 10}/${i}.txt`, `${i}`)));
    const listed = await fs.list("many/");
    expect(listed).toHaveLength(100);
    const contents = await Promise.all(listed.map(async (p) => dec(await fs.read(p))));
    expect(contents.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await Promise.all(listed.map((p) => fs.delete(p)));
    expect(await fs.list()).toEqual([]);
  }) as Body,
} satisfies Record<string, Body>;

export type FileSystemTestId = keyof typeof fileSystemTests;

/**
 * The FileSystem suite: path rules, atomic and conditional writes, listing, streams and the
 * hostile-path corpus. `create` returns a file system rooted at a fresh, empty location.
 */
export const describeFileSystem = defineSuite<FileSystem, FileSystemTestId, FileSystemCapabilities>("FileSystem", fileSystemTests, {
  timeout: 120_000,
});
