/** Every ```ts block of the README runs (and so stays consistent with the API). */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, "..", "README.md"), "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const outDir = join(here, "..", "node_modules", ".readme-blocks");

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("README code blocks", () => {
  it("has blocks", () => {
    if (blocks.length < 5) throw new Error(`expected at least 5 ts blocks, found ${blocks.length}`);
  });
  blocks.forEach((code, i) => {
    it(`block ${i + 1} runs`, async () => {
      mkdirSync(outDir, { recursive: true });
      const file = join(outDir, `block-${i + 1}.ts`);
      const src = relative(outDir, here).split("\\").join("/");
      const body = code.replace(/from "@larder\/core(?:\/([a-z]+))?"/g, (_m, sub: string | undefined) =>
        sub ? `from "${src}/${sub === "errors" ? "errors.js" : `${sub}/index.js`}"` : `from "${src}/index.js"`,
      );
      writeFileSync(file, `const console = { log: (..._a: unknown[]) => {} };\n${body}\nexport {};\n`);
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
    });
  });
});
