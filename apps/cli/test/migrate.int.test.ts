// ingest -> query -> migrate (local -> Postgres, local -> S3, local -> Redis -> local, graph -> Neo4j)
// -> query on the copy, against the real services of tooling/services. Each test uses its own
// namespace / key prefix / bucket prefix / label and removes it afterwards.
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { chunkNode, entityNode, relation, SimpleChatStore, SimplePropertyGraphStore, StorageContext } from "@larder/core";
import { Redis } from "ioredis";
import neo4j from "neo4j-driver";
import { Neo4jPropertyGraphStore } from "@larder/storage-neo4j";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servicesEnv, servicesRequired } from "@larder/services/env";
import { cleanupTemp, json, larder, tempDir, writeCorpus } from "./helpers.js";

const env = servicesEnv();
const tag = `clit${randomBytes(4).toString("hex")}`;
const s3Env = {
  AWS_ACCESS_KEY_ID: env.LARDER_S3_ACCESS_KEY,
  AWS_SECRET_ACCESS_KEY: env.LARDER_S3_SECRET_KEY,
  AWS_REGION: env.LARDER_S3_REGION,
  AWS_ENDPOINT_URL_S3: env.LARDER_S3_ENDPOINT,
  AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
  NODE_NO_WARNINGS: "1",
};
const neo = new URL(env.LARDER_NEO4J_URL);
const neo4jUrl = `${neo.protocol}//${encodeURIComponent(env.LARDER_NEO4J_USER)}:${encodeURIComponent(env.LARDER_NEO4J_PASSWORD)}@${neo.host}?namespace=${tag}`;

async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within 5 s`)), 5000);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** undefined when every service answers, else why not (polls once with a deadline, never sleeps). */
async function probeServices(): Promise<string | undefined> {
  const problems: string[] = [];
  const r = new Redis(env.LARDER_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  r.on("error", () => {});
  try {
    await within(r.connect().then(() => r.ping()), "redis");
  } catch (e) {
    problems.push(`Redis at ${env.LARDER_REDIS_URL}: ${(e as Error).message}`);
  } finally {
    r.disconnect();
  }
  const c = new pg.Client({ connectionString: env.LARDER_POSTGRES_URL, connectionTimeoutMillis: 5000 });
  c.on("error", () => {});
  try {
    await within(c.connect().then(() => c.query("SELECT 1")), "postgres");
  } catch (e) {
    problems.push(`Postgres: ${(e as Error).message}`);
  } finally {
    await c.end().catch(() => {});
  }
  const s3 = s3Client();
  try {
    await within(s3.send(new ListObjectsV2Command({ Bucket: env.LARDER_S3_BUCKET, MaxKeys: 1 })), "s3");
  } catch (e) {
    problems.push(`S3 at ${env.LARDER_S3_ENDPOINT}: ${(e as Error).message}`);
  } finally {
    s3.destroy();
  }
  const d = neo4j.driver(env.LARDER_NEO4J_URL, neo4j.auth.basic(env.LARDER_NEO4J_USER, env.LARDER_NEO4J_PASSWORD), { connectionTimeout: 5000 });
  try {
    await within(d.verifyConnectivity(), "neo4j");
  } catch (e) {
    problems.push(`Neo4j at ${env.LARDER_NEO4J_URL}: ${(e as Error).message}`);
  } finally {
    await d.close();
  }
  return problems.length ? `${problems.join("; ")} (start them with: bash tooling/services/bin/services.sh up)` : undefined;
}

function s3Client(): S3Client {
  return new S3Client({
    region: env.LARDER_S3_REGION,
    endpoint: env.LARDER_S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: env.LARDER_S3_ACCESS_KEY, secretAccessKey: env.LARDER_S3_SECRET_KEY },
  });
}

const unreachable = await probeServices();

interface Hit {
  id: string;
  score: number;
}
const QUERY = ["root cellar vegetables winter", "-k", "3", "--filter", 'year >= 2010 or file_type == "markdown"'];

function sameTopK(a: Hit[], b: Hit[]): void {
  expect(b.map((h) => h.id)).toEqual(a.map((h) => h.id));
  b.forEach((h, i) => expect(h.score).toBeCloseTo(a[i]!.score, 4));
}

if (unreachable !== undefined && !servicesRequired()) {
  describe.skip(`larder migrate against real services (skipped: ${unreachable})`, () => {
    it("needs the services", () => {});
  });
} else {
  describe("larder migrate against real services", () => {
    let work: string;
    let store: string;
    let baseline: Hit[];

    beforeAll(async () => {
      if (unreachable !== undefined) throw new Error(unreachable);
      work = await tempDir();
      await writeCorpus(work);
      store = join(work, "store");
      json(await larder(["--json", "ingest", ".", "--to", store, "--chunk-size", "40"], { cwd: work }));
      baseline = json<{ results: Hit[] }>(await larder(["--json", "query", ...QUERY, "--from", store])).results;
      expect(baseline).toHaveLength(3);
    });

    afterAll(async () => {
      await cleanupTemp();
      if (unreachable !== undefined) return;
      const c = new pg.Client({ connectionString: env.LARDER_POSTGRES_URL });
      await c.connect();
      for (const t of ["kv", "vectors", "chat"]) await c.query(`DROP TABLE IF EXISTS "public"."${tag}_${t}" CASCADE`);
      await c.end();
      const r = new Redis(env.LARDER_REDIS_URL);
      let cursor = "0";
      do {
        const [next, keys] = await r.scan(cursor, "MATCH", `${tag}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length) await r.unlink(...keys);
      } while (cursor !== "0");
      r.disconnect();
      const s3 = s3Client();
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: env.LARDER_S3_BUCKET, Prefix: `${tag}/` }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: env.LARDER_S3_BUCKET, Delete: { Objects: keys } }));
      s3.destroy();
      // Nodes, constraint and vector index of each namespace the tests used.
      for (const namespace of [tag, `${tag}g`]) {
        const g = new Neo4jPropertyGraphStore({ url: env.LARDER_NEO4J_URL, username: env.LARDER_NEO4J_USER, password: env.LARDER_NEO4J_PASSWORD, namespace });
        await g.dropNamespace();
        await g.close();
      }
    });

    it("local -> Postgres: the copy gives the same top-k", async () => {
      const url = `${env.LARDER_POSTGRES_URL}?namespace=${tag}`;
      const m = await larder(["--json", "migrate", store, url, "--batch-size", "2"]);
      const copied = json<{ copied: Record<string, number>; to: string }>(m).copied;
      expect(copied["vectors default"]).toBe(7);
      const password = decodeURIComponent(new URL(env.LARDER_POSTGRES_URL).password);
      expect(m.stdout).not.toContain(`:${password}@`);
      expect(json<{ to: string }>(m).to).toBe(`${env.LARDER_POSTGRES_URL}?namespace=${tag}`.replace(`:${password}@`, ":***@"));
      sameTopK(baseline, json<{ results: Hit[] }>(await larder(["--json", "query", ...QUERY, "--from", url])).results);
      const info = json<{ vectors: { default: { count: number; dimensions: number } }; docstore: { documents: number } }>(await larder(["--json", "inspect", url]));
      expect(info.vectors.default).toMatchObject({ count: 7, dimensions: 384 });
      expect(info.docstore.documents).toBe(7);
    });

    it("local -> S3: the copy gives the same top-k and verifies", async () => {
      const url = `s3://${env.LARDER_S3_BUCKET}/${tag}/copy`;
      json(await larder(["--json", "migrate", store, url], { env: s3Env }));
      sameTopK(baseline, json<{ results: Hit[] }>(await larder(["--json", "query", ...QUERY, "--from", url], { env: s3Env })).results);
      const v = json<{ ok: boolean; files: unknown[] }>(await larder(["--json", "verify", url], { env: s3Env }));
      expect(v.ok).toBe(true);
      expect(v.files.length).toBeGreaterThanOrEqual(3);
    });

    it("local -> Redis -> local: the copy of the copy gives the same top-k", async () => {
      const url = `${env.LARDER_REDIS_URL}?prefix=${tag}:`;
      json(await larder(["--json", "migrate", store, url]));
      sameTopK(baseline, json<{ results: Hit[] }>(await larder(["--json", "query", ...QUERY, "--from", url])).results);
      const back = join(work, "from-redis");
      const m = json<{ copied: Record<string, number> }>(await larder(["--json", "migrate", url, back]));
      expect(m.copied["documents"]).toBe(7);
      sameTopK(baseline, json<{ results: Hit[] }>(await larder(["--json", "query", ...QUERY, "--from", back])).results);
    });

    it("a graph and chats: local -> Neo4j + Redis and back", async () => {
      const src = join(work, "graph-src");
      const ctx = await StorageContext.fromDefaults({ persistDir: src });
      const g = new SimplePropertyGraphStore();
      await g.upsertNodes([
        entityNode({ name: "Larder", label: "PROJECT", properties: { year: 2026 } }),
        entityNode({ name: "Neo4j", label: "DATABASE" }),
        chunkNode({ id: "c1", text: "Larder stores graphs in Neo4j." }),
      ]);
      await g.upsertRelations([relation({ label: "USES", sourceId: "Larder", targetId: "Neo4j", properties: { since: 2025 } })]);
      ctx.propertyGraphStore = g;
      const chat = new SimpleChatStore();
      await chat.setMessages("conv-1", [{ role: "user", content: "hello" }, { role: "assistant", content: "hi" }]);
      ctx.chatStore = chat;
      await ctx.persist(src);

      const target = `graph=${neo4jUrl},chat=${env.LARDER_REDIS_URL}?prefix=${tag}:,persist=${join(work, "graph-dst")}`;
      const m = json<{ copied: Record<string, number> }>(await larder(["--json", "migrate", src, target]));
      expect(m.copied).toMatchObject({ "graph nodes": 3, relations: 1, chats: 1 });
      const info = json<{ graph: { nodes: number; triplets: number }; chat: { conversations: number } }>(await larder(["--json", "inspect", target]));
      expect(info.graph).toEqual({ nodes: 3, triplets: 1 });
      expect(info.chat.conversations).toBe(1);
      const back = join(work, "graph-back");
      json(await larder(["--json", "migrate", target, back]));
      const loaded = await StorageContext.fromPersistDir(back);
      const triplets = await loaded.propertyGraphStore!.getTriplets();
      expect(triplets.map(([s, r, t]) => [("name" in s ? s.name : s.id), r.label, r.properties, "name" in t ? t.name : t.id])).toEqual([["Larder", "USES", { since: 2025 }, "Neo4j"]]);
      expect(await loaded.chatStore!.getMessages("conv-1")).toEqual([{ role: "user", content: "hello" }, { role: "assistant", content: "hi" }]);
    });

    it("a Neo4j-only target is refused before anything is written: ingest and migrate leave Neo4j as it was", async () => {
      const ns = `${tag}g`;
      const graphOnly = neo4jUrl.replace(`namespace=${tag}`, `namespace=${ns}`);
      // The form: a neo4j:// URL (the services give bolt://; the same server answers both).
      const neo4jScheme = graphOnly.replace(/^[a-z0-9+]+:/, "neo4j:");
      const d = neo4j.driver(env.LARDER_NEO4J_URL, neo4j.auth.basic(env.LARDER_NEO4J_USER, env.LARDER_NEO4J_PASSWORD));
      const state = async () => {
        const session = d.session();
        try {
          const nodes = await session.run("MATCH (n) WHERE $label IN labels(n) RETURN count(n) AS c", { label: `__larder_ns__:${ns}` });
          const names: string[] = [];
          for (const q of ["SHOW CONSTRAINTS YIELD name RETURN name", "SHOW INDEXES YIELD name RETURN name"]) {
            for (const r of (await session.run(q)).records) names.push(r.get("name") as string);
          }
          return { nodes: nodes.records[0]!.get("c").toNumber() as number, schema: names.filter((n) => n.includes(`.${ns}.`)) };
        } finally {
          await session.close();
        }
      };
      try {
        const before = await state();
        expect(before).toEqual({ nodes: 0, schema: [] });
        const ing = await larder(["ingest", ".", "--to", neo4jScheme], { cwd: work });
        expect(ing.code).toBe(6);
        expect(ing.stderr).toMatch(/ingest writes documents and index structs, vectors, which neo4j:\/\/.* cannot hold/);
        expect(ing.stderr).toContain(",persist=./storage");
        expect(ing.stderr).not.toContain(env.LARDER_NEO4J_PASSWORD);
        expect(ing.stdout).not.toMatch(/ingested/);
        expect(await state()).toEqual(before);

        const mig = await larder(["migrate", store, neo4jScheme]);
        expect(mig.code).toBe(6);
        expect(mig.stderr).toMatch(/migrate writes documents and index structs, vectors, which neo4j:\/\/.* cannot hold/);
        expect(await state()).toEqual(before);

        // The combination the message suggests works: the graph in Neo4j, the rest in a folder.
        const dir = join(work, "with-graph");
        const ok = json<{ inserted: number }>(await larder(["--json", "ingest", "books.jsonl", "--to", `graph=${graphOnly},persist=${dir}`], { cwd: work }));
        expect(ok.inserted).toBe(4);
        expect(await readdir(dir)).toContain("larder.json");
      } finally {
        await d.close();
      }
    });

    it("S3: ingest into a store missing one data object stops with the load error; every object stays as it was", async () => {
      const prefix = `${tag}/broken`;
      const url = `s3://${env.LARDER_S3_BUCKET}/${prefix}`;
      json(await larder(["--json", "ingest", "notes", "--to", url], { cwd: work, env: s3Env }));
      const s3 = s3Client();
      try {
        const objects = async () => {
          const listed = await s3.send(new ListObjectsV2Command({ Bucket: env.LARDER_S3_BUCKET, Prefix: `${prefix}/` }));
          return Object.fromEntries((listed.Contents ?? []).map((o) => [o.Key!.slice(prefix.length + 1), o.ETag!]));
        };
        const manifest = JSON.parse(
          await (await s3.send(new GetObjectCommand({ Bucket: env.LARDER_S3_BUCKET, Key: `${prefix}/larder.json` }))).Body!.transformToString(),
        ) as { components: Record<string, { file: string }> };
        const victim = manifest.components["docstore"]!.file;
        await s3.send(new DeleteObjectCommand({ Bucket: env.LARDER_S3_BUCKET, Key: `${prefix}/${victim}` }));
        const before = await objects();
        expect(Object.keys(before)).toContain("larder.json");
        expect(Object.keys(before)).not.toContain(victim);
        const r = await larder(["ingest", "books.jsonl", "--to", url], { cwd: work, env: s3Env });
        expect(r.code).not.toBe(0);
        expect(r.code).not.toBe(70);
        expect(r.stderr).toContain(victim);
        expect(await objects()).toEqual(before);
      } finally {
        s3.destroy();
      }
    });
  });
}
