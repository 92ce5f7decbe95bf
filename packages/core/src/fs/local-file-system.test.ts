import { promises as fsPromises, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { LocalFileSystem, isTempFileName } from "./local-file-system.js";
import { MemoryFileSystem } from "./memory-file-system.js";
import { registerFileSystemScheme, registeredFileSystemSchemes, resolveFileSystem, unregisterFileSystemScheme } from "./registry.js";
import { compareCodePoints, validatePath } from "./path.js";

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  return r.pid!;
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "larder-core-fs-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("LocalFileSystem", () => {
  it("never writes outside its root, whatever the path", async () => {
    const base = tempDir();
    const fs = new LocalFileSystem(join(base, "root"));
    for (const p of ["../outside", "a/../../outside", "/tmp/outside", "..\\outside", "a/./b", "x\u0000y"]) {
      await expect(fs.write(p, "evil")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    expect(readdirSync(base)).toEqual([]); // not even the root was created
    await fs.write("ok/file", "fine");
    expect(readdirSync(base)).toEqual(["root"]);
  });

  it("constructor does no I/O; root is created on first write", async () => {
    const base = tempDir();
    const fs = new LocalFileSystem(join(base, "lazy", "root"));
    expect(existsSync(join(base, "lazy"))).toBe(false);
    expect(await fs.list()).toEqual([]);
    expect(await fs.exists("x")).toBe(false);
    await fs.write("x", "1");
    expect(existsSync(join(base, "lazy", "root", "x"))).toBe(true);
  });

  it("ignores temp files in list/exists, refuses reserved names, and open() cleans old orphans", async () => {
    const root = tempDir();
    mkdirSync(join(root, "sub"));
    const orphan = join(root, "sub", ".data.json.0123456789abcdef.larder-tmp");
    const fresh = join(root, ".m.json.fedcba9876543210.larder-tmp");
    writeFileSync(orphan, "half");
    writeFileSync(fresh, "in progress");
    utimesSync(orphan, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    writeFileSync(join(root, "sub", "data.json"), "{}");
    expect(isTempFileName(".data.json.0123456789abcdef.larder-tmp")).toBe(true);
    expect(isTempFileName("data.json.tmp")).toBe(false);
    const fs = await LocalFileSystem.open(root);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(fresh), "a temp file younger than the cutoff may belong to a live writer").toBe(true);
    expect(await fs.list()).toEqual(["sub/data.json"]);
    await expect(fs.exists(".m.json.fedcba9876543210.larder-tmp")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await fs.cleanupTempFiles({ olderThanMs: 0 })).toBe(1);
    expect(readdirSync(root).sort()).toEqual(["sub"]);
  });

  it("cleanupTempFiles removes a dead writer's temp files at once, never a live writer's", async () => {
    const root = tempDir();
    const fs = new LocalFileSystem(root);
    await fs.write("d/x", "x");
    const dead = deadPid();
    const host = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
    const names = {
      dead: `.x.0123456789abcdef.${dead}@${host}.larder-tmp`,
      live: `.x.1123456789abcdef.${process.pid}@${host}.larder-tmp`,
      foreignNew: `.x.2123456789abcdef.${dead}@00000000.larder-tmp`,
      foreignOld: `.x.3123456789abcdef.${dead}@00000000.larder-tmp`,
      legacyNew: ".x.4123456789abcdef.larder-tmp",
    };
    for (const n of Object.values(names)) writeFileSync(join(root, "d", n), "partial");
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(root, "d", names.live), old, old);
    utimesSync(join(root, "d", names.foreignOld), old, old);
    expect(Object.values(names).every(isTempFileName)).toBe(true);
    expect(await fs.list()).toEqual(["d/x"]);
    // Only the directory asked for (the root holds none of them).
    expect(await fs.cleanupTempFiles({ dir: "" })).toBe(0);
    expect(await fs.cleanupTempFiles({ dir: "d" })).toBe(2);
    expect(readdirSync(join(root, "d")).sort()).toEqual([names.foreignNew, names.legacyNew, names.live, "x"].sort());
  });

  it("etag-conditional writes pass over claims of dead writers and yield to live ones", async () => {
    const root = tempDir();
    const fs = new LocalFileSystem(root);
    await fs.write("m", "1");
    const claimName = (etag: string, n: number) => `.m.${createHash("sha256").update(etag).digest("hex").slice(0, 12)}${n.toString(16).padStart(4, "0")}.larder-claim`;
    const owner = (pid: number, host = hostname(), at = Date.now()) => JSON.stringify({ pid, host, at });
    // A writer on this host that died holding the claim: passed over (claim 0001 is taken instead).
    let etag = (await fs.stat("m"))!.etag!;
    writeFileSync(join(root, claimName(etag, 0)), owner(deadPid()));
    await fs.write("m", "2", { ifMatch: { etag } });
    expect(new TextDecoder().decode(await fs.read("m"))).toBe("2");
    expect(existsSync(join(root, claimName(etag, 0)))).toBe(true);
    expect(existsSync(join(root, claimName(etag, 1))), "the winner drops its own claim").toBe(false);
    // A live claimer (this host, a live pid; or another host, recently): CONFLICT, nothing written.
    etag = (await fs.stat("m"))!.etag!;
    writeFileSync(join(root, claimName(etag, 0)), owner(process.ppid));
    await expect(fs.write("m", "3", { ifMatch: { etag } })).rejects.toMatchObject({ code: "CONFLICT" });
    writeFileSync(join(root, claimName(etag, 0)), owner(1234, "other-host"));
    await expect(fs.write("m", "3", { ifMatch: { etag } })).rejects.toMatchObject({ code: "CONFLICT" });
    // Another host's claim older than 10 minutes is abandoned.
    writeFileSync(join(root, claimName(etag, 0)), owner(1234, "other-host", Date.now() - 11 * 60_000));
    await fs.write("m", "3", { ifMatch: { etag } });
    expect(new TextDecoder().decode(await fs.read("m"))).toBe("3");
    // Claims of versions that are gone are cleanup's; they are never listed.
    expect(await fs.list()).toEqual(["m"]);
    expect(await fs.cleanupTempFiles({ dir: "" })).toBe(2);
    expect(readdirSync(root)).toEqual(["m"]);
  });

  it("without hard links (link() refused), create-if-absent and claims still let exactly one writer win", async () => {
    const root = tempDir();
    const fs = new LocalFileSystem(root);
    const link = fsPromises.link;
    fsPromises.link = async () => {
      throw Object.assign(new Error("EPERM: operation not permitted, link"), { code: "EPERM" });
    };
    try {
      const results = await Promise.allSettled([fs.write("m", "a", { ifMatch: "absent" }), new LocalFileSystem(root).write("m", "b", { ifMatch: "absent" })]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toMatchObject({ code: "CONFLICT" });
      const etag = (await fs.stat("m"))!.etag!;
      const again = await Promise.allSettled([fs.write("m", "c", { ifMatch: { etag } }), new LocalFileSystem(root).write("m", "d", { ifMatch: { etag } })]);
      expect(again.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect(readdirSync(root)).toEqual(["m"]);
    } finally {
      fsPromises.link = link;
    }
  });

  it("leaves no temp files behind after writes, failed conditional writes and stream failures", async () => {
    const root = tempDir();
    const fs = new LocalFileSystem(root);
    await fs.write("a/m", "1", { ifMatch: "absent" });
    await expect(fs.write("a/m", "2", { ifMatch: "absent" })).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(fs.write("a/m", "2", { ifMatch: { etag: "stale" } })).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(
      fs.writeStream("a/m", (async function* () {
        yield new Uint8Array([1]);
        throw new Error("boom");
      })()),
    ).rejects.toThrow();
    expect(readdirSync(join(root, "a"))).toEqual(["m"]);
  });

  it("prunes empty directories on delete and maps file/dir clashes to CONFLICT", async () => {
    const root = tempDir();
    const fs = new LocalFileSystem(root);
    await fs.write("a/b/c/file", "x");
    expect(await fs.delete("a/b/c/file")).toBe(true);
    expect(readdirSync(root)).toEqual([]);
    await fs.write("f", "x");
    await expect(fs.write("f/g", "y")).rejects.toMatchObject({ code: "CONFLICT" });
    await fs.write("d/e", "x");
    await expect(fs.write("d", "y")).rejects.toMatchObject({ code: "CONFLICT" });
  });

  it("a too-long name is INVALID_ARGUMENT, not a crash", async () => {
    const fs = new LocalFileSystem(tempDir());
    await expect(fs.write("x".repeat(300), "1")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("paths", () => {
  it("validatePath accepts ordinary relative paths", () => {
    for (const p of ["a", "a/b.json", "with space/ünï 🦙", ".hidden", "a/..b", "..a", "a..", "*?"]) expect(validatePath(p)).toBe(p);
  });
  it("compareCodePoints sorts like UTF-8 bytes", () => {
    const xs = ["z", "\uffff", "🦙", "a", "ä", "A", ""];
    const bytes = [...xs].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect([...xs].sort(compareCodePoints)).toEqual(bytes);
  });
});

describe("URL scheme registry", () => {
  it("resolves file://, plain paths and memory:// (shared per name)", async () => {
    const dir = tempDir();
    const a = await resolveFileSystem(pathToFileURL(dir).href);
    expect(a).toBeInstanceOf(LocalFileSystem);
    expect((a as LocalFileSystem).root).toBe(dir);
    await a.write("x.txt", "hi");
    const b = await resolveFileSystem(dir);
    expect(new TextDecoder().decode(await b.read("x.txt"))).toBe("hi");
    const m1 = await resolveFileSystem("memory://shared/place");
    const m2 = await resolveFileSystem("memory://shared/place");
    const m3 = await resolveFileSystem("memory://other");
    expect(m1).toBe(m2);
    expect(m1).not.toBe(m3);
    expect(m1).toBeInstanceOf(MemoryFileSystem);
  });

  it("unknown schemes are UNSUPPORTED with a hint, and credentials are redacted", async () => {
    unregisterFileSystemScheme("s3");
    const err = (await resolveFileSystem("s3://AKIA:supersecret@bucket/prefix").catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe("UNSUPPORTED");
    expect(err.message).toContain("@larder/fs-s3");
    expect(err.message).not.toContain("supersecret");
  });

  it("registerFileSystemScheme plugs in a factory (the fs-s3 hook)", async () => {
    const seen: string[] = [];
    registerFileSystemScheme("S3", (url, options) => {
      seen.push(`${url.host}${url.pathname}:${String(options["region"])}`);
      return new MemoryFileSystem({ name: "fake-s3" });
    });
    expect(registeredFileSystemSchemes()).toContain("s3");
    const fs = await resolveFileSystem("s3://bucket/some/prefix", { region: "auto" });
    expect(fs.name).toBe("fake-s3");
    expect(seen).toEqual(["bucket/some/prefix:auto"]);
    expect(unregisterFileSystemScheme("s3")).toBe(true);
    expect(() => registerFileSystemScheme("bad scheme", () => new MemoryFileSystem())).toThrow(/invalid URL scheme/);
  });
});
