/** Every ```ts block of the README runs (in-memory stores, no service) and logs what its comments say. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, "..", "README.md"), "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const outDir = join(here, "..", "node_modules", ".readme-blocks");

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** What each block's console.log calls print, as the README's comments state them. */
const EXPECTED_LOGS: unknown[][][] = [
  [[["a", "b", "c"]], [["b", "c"]], [2], [["c", "a"]], [["b"]], [1]],
  [
    ['{"filters":[{"key":"genre","operator":"==","value":"science fiction"},{"key":"year","operator":">","value":2000}],"condition":"and"}'],
    [["m2"]],
  ],
  [[true], [[0, 255, 7]], [true], [true], [true, { source: "a.md" }]],
  [[["human", "ai", "human", "ai"]], [{ city: "Lima" }], [["user", "assistant", "user", "assistant", "assistant"]]],
  [["d1"], [1]],
];

describe("README code blocks", () => {
  it("has one block per documented entry point", () => expect(blocks.length).toBe(EXPECTED_LOGS.length));
  blocks.forEach((code, i) => {
    it(`block ${i + 1} runs and logs what its comments say`, async () => {
      mkdirSync(outDir, { recursive: true });
      const file = join(outDir, `block-${i + 1}.ts`);
      const src = relative(outDir, here).split("\\").join("/");
      const logs: unknown[][] = [];
      (globalThis as Record<string, unknown>)["__readmeLogs"] = logs;
      const body = code.replace(/from "@larder\/langchain"/g, `from "${src}/index.js"`);
      writeFileSync(file, `const console = { log: (...a: unknown[]) => (globalThis as any).__readmeLogs.push(a) };\n${body}\nexport {};\n`);
      // Blocks that use os.tmpdir() write under outDir, which is removed afterwards.
      const tmp = join(outDir, "tmp");
      mkdirSync(tmp, { recursive: true });
      const saved = process.env["TMPDIR"];
      process.env["TMPDIR"] = tmp;
      try {
        await import(/* @vite-ignore */ file);
      } finally {
        if (saved === undefined) delete process.env["TMPDIR"];
        else process.env["TMPDIR"] = saved;
      }
      expect(logs).toEqual(EXPECTED_LOGS[i]);
    });
  });
});
