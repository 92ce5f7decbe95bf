import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findFiles, readAllDocuments } from "./readers.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("readAllDocuments", () => {
  it("collects a JSON-lines file of 150,000 documents (more than a spread can pass) in order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "larder-readers-"));
    dirs.push(dir);
    const n = 150_000;
    await writeFile(join(dir, "many.jsonl"), Array.from({ length: n }, (_, i) => JSON.stringify({ id: `d${i}`, text: `t${i}` })).join("\n"));
    await writeFile(join(dir, "one.md"), "# One\n\ntext");
    const { files } = await findFiles([dir], dir);
    const progress: number[] = [];
    const docs = await readAllDocuments(files, (done) => progress.push(done));
    expect(docs).toHaveLength(n + 1);
    expect(docs[0]!.id).toBe("d0");
    expect(docs[n - 1]!.id).toBe(`d${n - 1}`);
    expect(docs[n]!.id).toBe("one.md");
    expect(progress).toEqual([1, 2]);
  }, 60_000);
});
