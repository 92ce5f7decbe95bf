/** Every ```ts block of the README runs (offline), so the README stays consistent with the API. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, "..", "README.md"), "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const outDir = join(here, "..", "node_modules", ".readme-blocks");

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("README code blocks", () => {
  it("has blocks", () => expect(blocks.length).toBeGreaterThanOrEqual(3));
  blocks.forEach((code, i) => {
    it(`block ${i + 1} runs`, async () => {
      mkdirSync(outDir, { recursive: true });
      const file = join(outDir, `block-${i + 1}.ts`);
      const src = relative(outDir, here).split("\\").join("/");
      const logs: unknown[][] = [];
      (globalThis as Record<string, unknown>)["__readmeLogs"] = logs;
      const body = code.replace(/from "@larder\/indexing"/g, `from "${src}/index.js"`);
      writeFileSync(file, `const console = { log: (...a: unknown[]) => (globalThis as any).__readmeLogs.push(a) };\n${body}\nexport {};\n`);
      await import(/* @vite-ignore */ file);
      if (i === 0) {
        // The values the README claims.
        expect(logs[0]?.[0]).toBe("cellar");
        expect(logs[1]?.[0]).toEqual([false, true]);
      }
    });
  });
});
