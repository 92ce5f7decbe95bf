// Test-only (excluded from the build): the LangChain side of an app whose Larder StorageContext is
// persisted on S3. `build` fills a fresh context through the adapters; `query` runs the same
// LangChain calls on a context loaded from S3. Run as a script (`node --import tsx
// persisted-app.ts <prefix>`) it loads the context in a new process and prints `query`'s result as
// JSON on stdout.
import { KVDocumentStore } from "@larder/core/docstore";
import { StorageContext } from "@larder/core/storage";
import { SimpleChatStore } from "@larder/core/chat";
import { SimpleVectorStore } from "@larder/core/vector";
import { S3FileSystem } from "@larder/fs-s3";
import { mapChatMessagesToStoredMessages } from "@langchain/core/messages";
import { CacheBackedEmbeddings } from "@langchain/classic/embeddings/cache_backed";
import { servicesEnv } from "../../../../tooling/services/env.mjs";
import { LarderByteStore, LarderChatMessageHistory, LarderVectorStore } from "../index.js";
import { everyKindOfMessage } from "./chat-messages.js";
import { CountingEmbeddings, movies } from "./fakes.js";

export const TEXTS = ["robots in space", "a love story", "dinosaurs"];
const FILTER = { filters: [{ key: "genre", operator: "==" as const, value: "drama" }, { key: "year", operator: ">=" as const, value: 1990 }] };

export function s3FileSystem(prefix: string): S3FileSystem {
  const e = servicesEnv();
  return S3FileSystem.minio({
    endpoint: e.LARDER_S3_ENDPOINT,
    region: e.LARDER_S3_REGION,
    bucket: e.LARDER_S3_BUCKET,
    prefix,
    credentials: { accessKeyId: e.LARDER_S3_ACCESS_KEY, secretAccessKey: e.LARDER_S3_SECRET_KEY },
  });
}

function byteStoreOf(ctx: StorageContext): LarderByteStore {
  // The docstore's KV store is persisted with the context, so LangChain's byte store can live there.
  return new LarderByteStore({ kv: (ctx.docStore as KVDocumentStore).kvStore });
}

/** Fills a new context through the adapters and persists it to `storage` on `fs`. */
export async function build(fs: S3FileSystem): Promise<StorageContext> {
  const ctx = await StorageContext.fromDefaults({ vectorStore: new SimpleVectorStore(), chatStore: new SimpleChatStore() });
  const emb = new CountingEmbeddings();
  await new LarderVectorStore(emb, { store: ctx.vectorStore }).addDocuments(movies());
  await new LarderChatMessageHistory({ chatStore: ctx.chatStore!, sessionId: "session-1" }).addMessages(everyKindOfMessage());
  await CacheBackedEmbeddings.fromBytesStore(emb, byteStoreOf(ctx), { namespace: "counting-v1" }).embedDocuments(TEXTS);
  await ctx.persist("storage", { fs });
  return ctx;
}

/** The LangChain calls an app makes on a context (loaded or fresh); plain JSON. */
export async function query(ctx: StorageContext) {
  const emb = new CountingEmbeddings();
  const store = new LarderVectorStore(emb, { store: ctx.vectorStore });
  const plain = await store.similaritySearchWithScore("robots in space", 5);
  const filtered = await store.asRetriever({ k: 4, filter: FILTER }).invoke("family love");
  const messages = await new LarderChatMessageHistory({ chatStore: ctx.chatStore!, sessionId: "session-1" }).getMessages();
  const counting = new CountingEmbeddings();
  const cached = await CacheBackedEmbeddings.fromBytesStore(counting, byteStoreOf(ctx), { namespace: "counting-v1" }).embedDocuments(TEXTS);
  return {
    plain: plain.map(([d, s]) => [d.id, Math.round(s * 1e6) / 1e6, d.metadata]),
    filtered: filtered.map((d) => [d.id, d.pageContent]),
    messages: JSON.parse(JSON.stringify(mapChatMessagesToStoredMessages(messages))) as unknown,
    cached,
    embedderCallsForCachedTexts: counting.embedded,
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const fs = s3FileSystem(process.argv[2]!);
  try {
    const ctx = await StorageContext.fromPersistDir("storage", { fs });
    process.stdout.write(`${JSON.stringify(await query(ctx))}\n`);
  } finally {
    await fs.close();
  }
}
