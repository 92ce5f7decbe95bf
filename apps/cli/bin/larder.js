#!/usr/bin/env node
// The `larder` command. A built package runs dist/main.js; in the workspace (no build) it re-runs
// Node with the "@larder/source" condition and tsx, so workspace packages resolve to TypeScript.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/main.js", import.meta.url);
if (existsSync(fileURLToPath(dist))) {
  const { run } = await import(dist.href);
  process.exitCode = await run(process.argv.slice(2));
} else {
  const src = fileURLToPath(new URL("../src/main.ts", import.meta.url));
  const r = spawnSync(process.execPath, ["--conditions=@larder/source", "--import", import.meta.resolve("tsx"), src, ...process.argv.slice(2)], {
    stdio: "inherit",
    cwd: process.cwd(),
  });
  process.exitCode = r.status ?? 70;
}
