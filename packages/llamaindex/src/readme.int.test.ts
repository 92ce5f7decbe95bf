/** Every ```ts block of the README runs (the server one against tooling/services' Redis and PostgreSQL). */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { env, probePostgres, probeRedis, whenReachable } from "./test-support/services.js";

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, "..", "README.md"), "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const outDir = join(here, "..", "node_modules", ".readme-blocks");
const [redisReason, pgReason] = await Promise.all([probeRedis(), probePostgres()]);

afterAll(async () => {
  rmSync(outDir, { recursive: true, force: true });
  // The server example's data: tables li_readme_*, keys li-readme-*.
  if (pgReason === undefined) {
    const c = new pg.Client({ connectionString: env.LARDER_POSTGRES_URL });
    await c.connect();
    const { rows } = await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'li\\_readme\\_%'");
    for (const { t } of rows) await c.query(`DROP TABLE IF EXISTS "${t.replaceAll('"', '""')}" CASCADE`);
    await c.end();
  }
  if (redisReason === undefined) {
    const r = new Redis(env.LARDER_REDIS_URL);
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", "li-readme-*", "COUNT", 1000);
      cursor = next;
      if (keys.length) await r.unlink(...keys);
    } while (cursor !== "0");
    r.disconnect();
  }
});

describe("README code blocks", () => {
  it("has blocks", () => {
    expect(blocks.length).toBe(3);
  });
  blocks.forEach((code, i) => {
    const needsServers = code.includes("postgres://");
    const register = () =>
      it(`block ${i + 1} runs`, async () => {
        mkdirSync(outDir, { recursive: true });
        const file = join(outDir, `block-${i + 1}.ts`);
        const src = relative(outDir, here).split("\\").join("/");
        const body = code.replace(/from "@larder\/llamaindex"/g, `from "${src}/index.js"`);
        const logs: unknown[][] = [];
        (globalThis as Record<string, unknown>)["__readmeLogs"] = logs;
        writeFileSync(file, `const console = { log: (...a: unknown[]) => (globalThis as any).__readmeLogs.push(a) };\n${body}\nexport {};\n`);
        const saved = process.env["TMPDIR"];
        const tmp = join(outDir, "tmp");
        mkdirSync(tmp, { recursive: true });
        process.env["TMPDIR"] = tmp;
        try {
          await import(/* @vite-ignore */ file);
        } finally {
          if (saved === undefined) delete process.env["TMPDIR"];
          else process.env["TMPDIR"] = saved;
        }
        expect(logs.length).toBeGreaterThan(0);
        if (i === 0) expect(logs[0]![0]).toBe("doc-1");
        if (i === 1) for (const l of logs) expect((l[0] as string[]).sort()).toEqual(["a", "b"]);
        if (i === 2) expect(logs[0]).toEqual([["n1"], ["n1"]]);
      }, 60_000);
    if (needsServers) whenReachable(redisReason ?? pgReason, `README block ${i + 1}`, register);
    else register();
  });
});
