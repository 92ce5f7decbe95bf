// LlamaIndexTS's own code paths over Larder stores on the real services: Redis and PostgreSQL
// (every store in the server) and S3 (in-memory stores persisted to an s3:// URL), each compared
// with LlamaIndexTS's default stores on the same data, then reloaded in a new process.
import { Document, storageContextFromDefaults, VectorStoreIndex } from "llamaindex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storageContextFromLarder, type LarderStorage } from "./index.js";
import { corpus, useTestSettings } from "./test-support/fixtures.js";
import { runApp } from "./test-support/run-app.js";
import {
  awsEnvVars,
  deleteRedisPrefix,
  deleteS3Prefix,
  dropPostgresNamespace,
  env,
  probePostgres,
  probeRedis,
  probeS3,
  uniqueTag,
  whenReachable,
} from "./test-support/services.js";

const QUERIES = ["apple orchards and cider", "glacier ice", "violin bow rosin"];

type Hit = { key: string; id: string; score: number; text: string };
async function retrieve(index: VectorStoreIndex, q: string, topK = 5, filters?: unknown): Promise<Hit[]> {
  const hits = await index.asRetriever({ similarityTopK: topK, ...(filters ? { filters: filters as never } : {}) }).retrieve({ query: q });
  return hits.map((h) => {
    const text = (h.node as unknown as { text: string }).text;
    return { key: `${h.node.sourceNode?.nodeId}|${text}`, id: h.node.id_, score: h.score ?? NaN, text };
  });
}

/** Same hits and scores; equal scores compared as a set (Larder orders ties by id). */
function expectSame(actual: Hit[], expected: Hit[], by: "key" | "id" = "key"): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.score, 4));
  const groups = (hs: Hit[]) => {
    const out: string[][] = [];
    let last = NaN;
    for (const h of hs) {
      if (out.length && Math.abs(h.score - last) < 1e-5) out[out.length - 1]!.push(h[by]);
      else out.push([h[by]]);
      last = h.score;
    }
    return out.map((g) => g.sort());
  };
  expect(groups(actual)).toEqual(groups(expected));
}

const [redisReason, pgReason, s3Reason] = await Promise.all([probeRedis(), probePostgres(), probeS3()]);

interface Backend {
  name: string;
  reason: string | undefined;
  url: () => string;
  cleanup: (url: string) => Promise<void>;
  childEnv?: () => Record<string, string>;
  /** In-memory stores persisted to the URL (S3) rather than stores in the server. */
  persisted: boolean;
}

const BACKENDS: Backend[] = [
  {
    name: "Redis",
    reason: redisReason,
    url: () => `${env.LARDER_REDIS_URL}?prefix=${uniqueTag("r")}:`,
    cleanup: (url) => deleteRedisPrefix(new URL(url).searchParams.get("prefix")!),
    persisted: false,
  },
  {
    name: "PostgreSQL",
    reason: pgReason,
    url: () => `${env.LARDER_POSTGRES_URL}?namespace=${uniqueTag("p")}`,
    cleanup: (url) => dropPostgresNamespace(new URL(url).searchParams.get("namespace")!),
    persisted: false,
  },
  {
    name: "S3",
    reason: s3Reason,
    url: () => `s3://${env.LARDER_S3_BUCKET}/${uniqueTag("s")}`,
    cleanup: (url) => deleteS3Prefix(`${new URL(url).pathname.slice(1)}/`),
    childEnv: () => awsEnvVars(),
    persisted: true,
  },
];

let reference: Record<string, Hit[]>;
beforeAll(async () => {
  useTestSettings();
  const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: await storageContextFromDefaults({}) });
  reference = {};
  for (const q of QUERIES) reference[q] = await retrieve(index, q);
});

for (const b of BACKENDS) {
  whenReachable(b.reason, `LlamaIndexTS over Larder (${b.name})`, () => {
    describe(`LlamaIndexTS over Larder (${b.name})`, () => {
      const urls: string[] = [];
      const opened: LarderStorage[] = [];
      const open = async (url?: string, options: Parameters<typeof storageContextFromLarder>[1] = {}) => {
        const u = url ?? b.url();
        if (!url) urls.push(u);
        const s = await storageContextFromLarder(u, options);
        opened.push(s);
        return { storage: s, url: u };
      };
      // The S3 client reads its endpoint and credentials from the environment (as an app's would).
      const saved = { ...process.env };
      beforeAll(() => {
        if (b.childEnv) Object.assign(process.env, b.childEnv());
      });
      afterAll(async () => {
        process.env = saved;
        for (const s of opened.splice(0)) await s.close();
        for (const u of urls.splice(0)) await b.cleanup(u);
      });

      it("fromDocuments + asRetriever + asQueryEngine: LlamaIndexTS's results; reloaded in a new process: the same", async () => {
        const { storage, url } = await open();
        const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: storage.storageContext as never });
        const here: Record<string, Hit[]> = {};
        for (const q of QUERIES) {
          here[q] = await retrieve(index, q);
          expectSame(here[q]!, reference[q]!);
        }
        const response = await index.asQueryEngine({ similarityTopK: 2 }).query({ query: QUERIES[0]! });
        expect(response.message.content).toBe("mock answer");
        expect(response.sourceNodes!.map((n) => n.node.sourceNode?.nodeId)).toEqual(reference[QUERIES[0]!]!.slice(0, 2).map((h) => h.key.split("|")[0]));
        if (b.persisted) expect((await storage.persist())?.format).toBe("larder");
        else expect(storage.persistTarget).toBeUndefined();

        const there = await runApp(url, 5, QUERIES, b.childEnv?.() ?? {});
        for (const q of QUERIES) {
          expect(there[q]!.map((h) => h.id)).toEqual(here[q]!.map((h) => h.id));
          expect(there[q]!.map((h) => h.text)).toEqual(here[q]!.map((h) => h.text));
          there[q]!.forEach((h, i) => expect(h.score).toBeCloseTo(here[q]![i]!.score, 5));
        }
      }, 90_000);

      it("filters: flat ones as LlamaIndexTS's; a nested tree evaluated by the store", async () => {
        const { storage } = await open();
        const ours = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: storage.storageContext as never });
        const lits = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: await storageContextFromDefaults({}) });
        const flat = { filters: [{ key: "year", operator: ">=", value: 2009 }, { key: "topic", operator: "!=", value: "bread" }], condition: "and" };
        const expected = await retrieve(lits, "rivers and glaciers", 6, flat);
        expect(expected.length).toBe(6);
        expectSame(await retrieve(ours, "rivers and glaciers", 6, flat), expected);
        const nested = {
          condition: "or",
          filters: [
            { key: "topic", operator: "==", value: "apples" },
            { condition: "and", filters: [{ key: "year", operator: ">", value: 2010 }, { key: "draft", operator: "is_empty" }, { condition: "not", filters: [{ key: "tags", operator: "contains", value: "odd" }] }] },
          ],
        };
        const hits = await retrieve(ours, "anything", 100, nested);
        expect([...new Set(hits.map((h) => h.key.split("|")[0]))].sort()).toEqual(["doc-apples-0", "doc-apples-1", "doc-glaciers-0"]);
      }, 60_000);

      it("upserts on re-ingest and deleteRefDoc leave exactly the current documents", async () => {
        const { storage } = await open();
        const ctx = storage.storageContext as never;
        await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx });
        const count = async () => (await storage.larder.vectorStore.getNodes()).length;
        const before = await count();
        await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx });
        expect(await count()).toBe(before);
        const docs = corpus();
        docs[2] = new Document({ id_: "doc-rivers-0", text: "Estuaries mix fresh river water with the sea.", metadata: { topic: "estuary" } });
        const index = await VectorStoreIndex.fromDocuments(docs, { storageContext: ctx });
        const rivers0 = (await storage.larder.vectorStore.getNodes()).filter((n) => n.refDocId === "doc-rivers-0");
        expect(rivers0.map((n) => n.text)).toEqual(["Estuaries mix fresh river water with the sea."]);
        await index.deleteRefDoc("doc-rivers-0");
        expect((await storage.larder.vectorStore.getNodes()).filter((n) => n.refDocId === "doc-rivers-0")).toEqual([]);
        expect(await storage.docStore.documentExists("doc-rivers-0")).toBe(false);
        const hits = await retrieve(index, "estuaries fresh river water", 50);
        expect(hits.some((h) => h.key.startsWith("doc-rivers-0|"))).toBe(false);
        if (b.persisted) await storage.persist();
      }, 60_000);

      it("the chat store keeps LlamaIndexTS messages (blocks, tool calls) in order", async () => {
        const { storage } = await open();
        const chat = storage.chatStore;
        const messages = [
          { role: "system" as const, content: "Be brief." },
          { role: "user" as const, content: [{ type: "text" as const, text: "What is in this picture?" }, { type: "image_url" as const, image_url: { url: "https://example.com/a.png" } }] },
          { role: "assistant" as const, content: "", options: { toolCall: [{ id: "call-1", name: "lookup", input: { q: "a.png" } }] } },
        ];
        void chat.setMessages("conv-1", messages.slice(0, 1));
        void chat.addMessage("conv-1", messages[1]!);
        void chat.addMessage("conv-1", messages[2]!);
        expect(await chat.getMessages("conv-1")).toEqual(messages);
        expect([...(await chat.getKeys())]).toEqual(["conv-1"]);
        await chat.deleteMessage("conv-1", 0);
        expect((await chat.getMessages("conv-1")).map((m) => m.role)).toEqual(["user", "assistant"]);
        await chat.deleteMessages("conv-1");
        expect(await chat.getMessages("conv-1")).toEqual([]);
      });
    });
  });
}
