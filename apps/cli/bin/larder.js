#!/usr/bin/env node
// The `larder` command. In the workspace (src/main.ts present) it re-runs Node with the
// "@larder/source" condition and tsx, so workspace packages resolve to TypeScript; an installed
// package (no src) runs the compiled dist/main.js.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../src/main.ts", import.meta.url));
if (!existsSync(src)) {
  const { run } = await import(new URL("../dist/main.js", import.meta.url).href);
  process.exitCode = await run(process.argv.slice(2));
} else {
  const r = spawnSync(process.execPath, ["--conditions=@larder/source", "--import", import.meta.resolve("tsx"), src, ...process.argv.slice(2)], {
    stdio: "inherit",
    cwd: process.cwd(),
  });
  process.exitCode = r.status ?? 70;
}
