import { readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect, it, vi } from "vitest";

// Runs the usage block of docs/docstore.md as written.
it("the usage example of docs/docstore.md runs and prints what it says", async () => {
  const md = await readFile(fileURLToPath(new URL("../../docs/docstore.md", import.meta.url)), "utf8");
  const start = md.indexOf("```ts", md.indexOf("<!-- The block below is run"));
  const code = md.slice(start + 5, md.indexOf("```", start + 5));
  const file = fileURLToPath(new URL(`./.docs-example-${process.pid}.ts`, import.meta.url));
  const logs: unknown[][] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logs.push(args));
  try {
    await writeFile(
      file,
      code
        .replaceAll("@larder/core/docstore", "./index.js")
        .replaceAll("@larder/core/kv", "../kv/index.js")
        .replaceAll("@larder/core/schema", "../schema/index.js"),
    );
    await import(file);
  } finally {
    spy.mockRestore();
    await rm(file, { force: true });
  }
  expect(logs[0]).toEqual([["n2", "n3"]]);
  expect(logs[1]).toEqual([{}]);
});
