#!/usr/bin/env node
// Writes the `larder demo` corpus into the given folder (apps/cli's `prepack`): the repository's
// Markdown (README.md, BENCHMARKS.md, every package's README.md with a package.json holding only its
// name, packages/core/docs/*.md) in the repository's layout, so the installed CLI demos without the repo.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dest = resolve(process.argv[2] ?? "corpus");
rmSync(dest, { recursive: true, force: true });
const copy = (rel) => {
  const from = join(root, rel);
  if (!existsSync(from)) return;
  mkdirSync(dirname(join(dest, rel)), { recursive: true });
  cpSync(from, join(dest, rel));
};
copy("README.md");
copy("BENCHMARKS.md");
for (const group of ["packages", "apps", "tooling"]) {
  if (!existsSync(join(root, group))) continue;
  for (const e of readdirSync(join(root, group), { withFileTypes: true })) {
    if (!e.isDirectory() || !existsSync(join(root, group, e.name, "README.md"))) continue;
    copy(join(group, e.name, "README.md"));
    const pj = join(root, group, e.name, "package.json");
    if (existsSync(pj)) {
      const { name } = JSON.parse(readFileSync(pj, "utf8"));
      writeFileSync(join(dest, group, e.name, "package.json"), `${JSON.stringify({ name })}\n`);
    }
  }
}
const docs = join(root, "packages", "core", "docs");
if (existsSync(docs)) for (const f of readdirSync(docs)) if (f.endsWith(".md")) copy(join("packages", "core", "docs", f));
if (!existsSync(join(dest, "README.md"))) {
  console.error(`demo-corpus: no README.md under ${root}`);
  process.exit(1);
}
