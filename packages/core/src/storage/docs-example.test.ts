import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it, vi } from "vitest";

// Runs the usage block of docs/persistence.md as written, in a temporary working directory.
it("the usage example of docs/persistence.md runs and prints what it says", async () => {
  const md = await readFile(fileURLToPath(new URL("../../docs/persistence.md", import.meta.url)), "utf8");
  const start = md.indexOf("```ts", md.indexOf("<!-- The block below is run"));
  const code = md.slice(start + 5, md.indexOf("```", start + 5));
  const cwd = process.cwd();
  const work = await mkdtemp(join(tmpdir(), "larder-doc-"));
  const file = fileURLToPath(new URL(`./.docs-example-${process.pid}.ts`, import.meta.url));
  const logs: unknown[][] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logs.push(args));
  try {
    await writeFile(file, code.replaceAll("@larder/core/storage", "./index.js").replaceAll("@larder/core/schema", "../schema/index.js"));
    process.chdir(work);
    await import(file);
  } finally {
    process.chdir(cwd);
    spy.mockRestore();
    await rm(file, { force: true });
    await rm(work, { recursive: true, force: true });
  }
  expect(logs[0]?.slice(0, 2)).toEqual([1, 2]);
  expect(logs[0]?.[2]).toEqual(expect.arrayContaining(["index_store", "vector_store/default"]));
  expect(logs[1]).toEqual([["n1"]]);
  expect(logs[2]).toEqual([["n1", "n2"]]);
});
