import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { LocalFileSystem, MemoryFileSystem } from "@larder/core/fs";
import { afterAll } from "vitest";
import { describePersistence } from "./persistence.js";

const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "larder-persist-"));
  roots.push(root);
  return root;
}

afterAll(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

describePersistence({
  name: "MemoryFileSystem",
  create: () => ({ fs: new MemoryFileSystem(), dir: "storage" }),
  skip: {
    "persistence.crash": "an in-memory file system does not survive its process; the crash test runs on LocalFileSystem",
    "persistence.concurrency.processes": "an in-memory file system is not shared between processes; the race test runs on LocalFileSystem",
  },
});

describePersistence({
  name: "LocalFileSystem",
  create: async () => ({ fs: new LocalFileSystem(await tempRoot()), dir: "" }),
  dispose: async () => {
    for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
  },
  capabilities: {
    crash: { dirUrl: async () => pathToFileURL(await tempRoot()).href, kills: Number(process.env["LARDER_CRASH_KILLS"] ?? 200) },
  },
});
