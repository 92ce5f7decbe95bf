#!/usr/bin/env node
// Writes every ```ts / ```typescript block of the given README files, verbatim, as one module each
// into <out-dir> (named <package>-<n>.ts), so `tsc` can compile them as a user would paste them.
// Usage: node scripts/readme-blocks.mjs <out-dir> <README.md>...
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const [out, ...readmes] = process.argv.slice(2);
if (!out || readmes.length === 0) {
  console.error("usage: readme-blocks.mjs <out-dir> <README.md>...");
  process.exit(2);
}
mkdirSync(out, { recursive: true });
let total = 0;
for (const readme of readmes) {
  const text = readFileSync(readme, "utf8");
  let name = basename(dirname(readme));
  try {
    name = JSON.parse(readFileSync(join(dirname(readme), "package.json"), "utf8")).name.replace(/^@/, "").replace("/", "-");
  } catch {
    // a README without a package.json next to it keeps its folder name
  }
  let n = 0;
  for (const m of text.matchAll(/^```(?:ts|typescript)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm)) {
    n++;
    writeFileSync(join(out, `${name}-${n}.ts`), m[1]);
  }
  console.log(`${readme}: ${n} TypeScript block(s)`);
  total += n;
}
if (total === 0) {
  console.error("readme-blocks: no TypeScript blocks found");
  process.exit(1);
}
