// `larder ingest` into Postgres: the bulk path (chunks COPYed into a table without its ANN index,
// one index build at the end), against the real PostgreSQL + pgvector of tooling/services.
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { servicesEnv, servicesRequired } from "@larder/services/env";
import { cleanupTemp, json, larder, tempDir } from "./helpers.js";

const env = servicesEnv();
const ns = `clibulk${randomBytes(4).toString("hex")}`;

async function probe(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: env.LARDER_POSTGRES_URL, connectionTimeoutMillis: 5000 });
  c.on("error", () => {});
  try {
    await c.connect();
    await c.query("SELECT 1");
    return undefined;
  } catch (e) {
    return `Postgres: ${(e as Error).message} (start it with: bash tooling/services/bin/services.sh up)`;
  } finally {
    await c.end().catch(() => {});
  }
}

async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: env.LARDER_POSTGRES_URL });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

const unreachable = await probe();

if (unreachable !== undefined && !servicesRequired()) {
  describe.skip(`larder ingest into Postgres (skipped: ${unreachable})`, () => {
    it("needs Postgres", () => {});
  });
} else {
  describe("larder ingest into Postgres", () => {
    afterAll(async () => {
      for (const t of ["kv", "vectors", "chat"]) await sql(`DROP TABLE IF EXISTS "public"."${ns}_${t}" CASCADE`);
      await cleanupTemp();
    });

    it("loads a new table without the ANN index and builds it once at the end; later ingests add to it; queries work", async () => {
      const work = await tempDir();
      const sentences = Array.from({ length: 3000 }, (_, i) => `Note ${i}: the cellar ${i % 41} keeps larder item ${i % 13} cold.`);
      await writeFile(join(work, "big.txt"), sentences.join(" "));
      await writeFile(join(work, "small.md"), "# Root cellars\n\nVegetables keep through the winter in a root cellar.");
      const url = `${env.LARDER_POSTGRES_URL}${env.LARDER_POSTGRES_URL.includes("?") ? "&" : "?"}namespace=${ns}`;
      const r = await larder(["ingest", "big.txt", "--to", url, "--chunk-size", "16", "--chunk-overlap", "0"], {
        cwd: work,
        env: { LARDER_PROGRESS: "1", LARDER_PROGRESS_INTERVAL_MS: "0" },
      });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stderr.split("\n");
      // The index build is its own step, after every chunk was stored.
      const stored = lines.findLastIndex((l) => /^embedding and storing (\d+)\/\1 chunks/.test(l));
      const build = lines.findIndex((l) => l === "building the vector index…");
      expect(stored).toBeGreaterThan(-1);
      expect(build).toBeGreaterThan(stored);
      const indexes = await sql<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1", [`${ns}_vectors`]);
      expect(indexes.some((i) => /USING hnsw/.test(i.indexdef))).toBe(true);
      const [{ n }] = (await sql<{ n: string }>(`SELECT count(*) AS n FROM "public"."${ns}_vectors"`)) as [{ n: string }];
      expect(Number(n)).toBeGreaterThan(2048); // several insert batches, all before the one build

      // A second ingest into the indexed table adds to it (the index stays, no second table).
      json(await larder(["--json", "ingest", "small.md", "--to", url], { cwd: work }));
      const q = json<{ results: { refDocId: string }[] }>(await larder(["--json", "query", "root cellar vegetables winter", "--from", url, "-k", "1"], { cwd: work }));
      expect(q.results[0]!.refDocId).toBe("small.md");
      const after = await sql<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1", [`${ns}_vectors`]);
      expect(after.filter((i) => /USING hnsw/.test(i.indexdef))).toHaveLength(1);
    });

    it("a large batch into a table that has rows drops its index, loads, and builds it once; a small one keeps it", async () => {
      const work = await tempDir();
      const url = `${env.LARDER_POSTGRES_URL}${env.LARDER_POSTGRES_URL.includes("?") ? "&" : "?"}namespace=${ns}b`;
      await writeFile(join(work, "a.md"), "# Root cellars\n\nVegetables keep through the winter in a root cellar.");
      json(await larder(["--json", "ingest", "a.md", "--to", url], { cwd: work }));
      const sentences = Array.from({ length: 1200 }, (_, i) => `Entry ${i}: shelf ${i % 17} of larder ${i % 7}.`);
      await writeFile(join(work, "big.txt"), sentences.join(" "));
      const progressEnv = { LARDER_PROGRESS: "1", LARDER_PROGRESS_INTERVAL_MS: "0", LARDER_BULK_MIN_CHUNKS: "100" };
      const r = await larder(["ingest", "big.txt", "--to", url, "--chunk-size", "16", "--chunk-overlap", "0"], { cwd: work, env: progressEnv });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stderr.split("\n");
      const drop = lines.findIndex((l) => /^dropping the vector index for a bulk load of about \d+ chunks…$/.test(l));
      const store = lines.findLastIndex((l) => /^embedding and storing (\d+)\/\1 chunks/.test(l));
      const build = lines.findIndex((l) => l === "building the vector index…");
      expect(drop).toBeGreaterThan(-1);
      expect(store).toBeGreaterThan(drop);
      expect(build).toBeGreaterThan(store);
      const indexes = await sql<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1", [`${ns}b_vectors`]);
      expect(indexes.filter((i) => /USING hnsw/.test(i.indexdef))).toHaveLength(1);
      const [{ n }] = (await sql<{ n: string }>(`SELECT count(*) AS n FROM "public"."${ns}b_vectors"`)) as [{ n: string }];
      const loaded = Number(/embedding and storing (\d+)\/\1 chunks/.exec(lines[store]!)![1]);
      expect(Number(n)).toBe(loaded + 1);
      // (A filtered query: over 1200 near-identical chunks HNSW's approximate top 1 may miss the one outlier.)
      const q = json<{ results: { refDocId: string }[] }>(
        await larder(["--json", "query", "root cellar vegetables winter", "--from", url, "-k", "1", "--filter", 'file_name == "a.md"'], { cwd: work }),
      );
      expect(q.results[0]!.refDocId).toBe("a.md");

      // A small batch (fewer chunks than the table holds) keeps the index.
      await writeFile(join(work, "b.md"), "# Jars\n\nPickled onions in jars.");
      const small = await larder(["ingest", "b.md", "--to", url], { cwd: work, env: progressEnv });
      expect(small.code, small.stderr).toBe(0);
      expect(small.stderr).not.toMatch(/dropping the vector index/);
      for (const t of ["kv", "vectors", "chat"]) await sql(`DROP TABLE IF EXISTS "public"."${ns}b_${t}" CASCADE`);
    });

    it("a write the server refuses mid-load (pipelined COPY) fails the ingest and acknowledges nothing: the next run redoes the document", async () => {
      const work = await tempDir();
      const url = `${env.LARDER_POSTGRES_URL}${env.LARDER_POSTGRES_URL.includes("?") ? "&" : "?"}namespace=${ns}c`;
      await writeFile(join(work, "a.md"), "# Root cellars\n\nVegetables keep through the winter in a root cellar.");
      json(await larder(["--json", "ingest", "a.md", "--to", url], { cwd: work }));
      // Batches of 2048 chunks: the refused chunk is in the third one, after two were written.
      const sentences = Array.from({ length: 6000 }, (_, i) => `Entry ${i}: shelf ${i % 17} of larder ${i % 7}${i === 5000 ? " boom" : ""}.`);
      await writeFile(join(work, "big.txt"), sentences.join(" "));
      await sql(`ALTER TABLE "public"."${ns}c_vectors" ADD CONSTRAINT no_boom CHECK (text NOT LIKE '%boom%')`);
      const args = ["--json", "ingest", "big.txt", "--to", url, "--chunk-size", "8", "--chunk-overlap", "0"];
      const failed = await larder(args, { cwd: work, env: { LARDER_BULK_MIN_CHUNKS: "100" } });
      expect(failed.code).not.toBe(0);
      expect(failed.stdout + failed.stderr).toMatch(/no_boom/);
      // The index dropped for the load was built again.
      const indexes = await sql<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1", [`${ns}c_vectors`]);
      expect(indexes.filter((i) => /USING hnsw/.test(i.indexdef))).toHaveLength(1);
      await sql(`ALTER TABLE "public"."${ns}c_vectors" DROP CONSTRAINT no_boom`);
      // big.txt has no document hash: the next ingest treats it as new and stores all of its chunks.
      const again = json<{ inserted: number; unchanged: number; chunks: number }>(await larder(args, { cwd: work }));
      expect(again.inserted).toBe(1);
      const [{ n }] = (await sql<{ n: string }>(`SELECT count(*) AS n FROM "public"."${ns}c_vectors" WHERE ref_doc_id = 'big.txt'`)) as [{ n: string }];
      expect(Number(n)).toBe(again.chunks);
      expect(again.chunks).toBeGreaterThan(4096);
      for (const t of ["kv", "vectors", "chat"]) await sql(`DROP TABLE IF EXISTS "public"."${ns}c_${t}" CASCADE`);
    });
  });
}
