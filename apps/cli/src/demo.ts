import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Document, errors, StorageContext } from "@larder/core";
import { HashEmbedder, loadIndexFromStorage, SentenceSplitter, VectorStoreIndex } from "@larder/indexing";
import { type GlobalOptions, hits, type Out, printHits, type QueryHit } from "./commands.js";
import { parseFilter } from "./filter-parser.js";
import { createProgress, showIndexProgress } from "./output.js";
import { displayPath, type FoundFile, readDocuments } from "./readers.js";

/** The repository root: the nearest ancestor of this file with pnpm-workspace.yaml. */
export function findRepoRoot(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let d = from;
  for (;;) {
    if (existsSync(join(d, "pnpm-workspace.yaml"))) return d;
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

/**
 * The corpus shipped in the published package: `corpus/` next to `dist/`, a copy of the repository's
 * Markdown in the same layout (written at pack time by scripts/demo-corpus.mjs). Absent in the workspace.
 */
export function shippedCorpus(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  const corpus = join(from, "..", "corpus");
  return existsSync(join(corpus, "README.md")) ? corpus : undefined;
}

/** The demo corpus: the repository's own Markdown (READMEs, BENCHMARKS.md, core's docs). */
export async function demoCorpusFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  const add = (p: string) => {
    if (existsSync(p)) files.push(p);
  };
  add(join(root, "README.md"));
  add(join(root, "BENCHMARKS.md"));
  for (const group of ["packages", "apps", "tooling"]) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) add(join(dir, e.name, "README.md"));
    }
  }
  const docs = join(root, "packages", "core", "docs");
  if (existsSync(docs)) for (const f of (await readdir(docs)).sort()) if (f.endsWith(".md")) files.push(join(docs, f));
  return files;
}

/** Which part of the repo a file documents (a filterable metadata field). */
async function packageOf(file: string): Promise<string | undefined> {
  const pj = join(dirname(file), "package.json");
  if (!existsSync(pj)) return undefined;
  try {
    const name = (JSON.parse(await readFile(pj, "utf8")) as { name?: unknown }).name;
    return typeof name === "string" ? name : undefined;
  } catch {
    return undefined;
  }
}

export interface DemoQuery {
  question: string;
  filter?: string;
}

export const DEMO_QUERIES: DemoQuery[] = [
  { question: "How do I persist a storage context to S3 and load it back?" },
  { question: "Which metadata filter operators are supported?", filter: 'kind == "doc"' },
  { question: "Redis cluster support for the document store", filter: 'package in ["@larder/storage-redis", "@larder/storage-postgres"]' },
  { question: "crash during persist: which generation survives?", filter: 'not file_path ~ "BENCHMARKS" and words >= 300' },
];

export interface DemoOptions extends GlobalOptions {
  dir?: string;
}

export async function demo(o: DemoOptions, out: Out): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const corpus = shippedCorpus();
  const root = corpus ?? findRepoRoot();
  if (!root) throw errors.notFound("the demo reads the Larder repository's Markdown, and neither a shipped corpus nor the repository was found around the CLI");
  // An installed CLI writes into the current directory, not into its own package folder.
  const dir = resolve(o.dir ?? (corpus ? ".larder-demo" : join(root, ".larder-demo")));
  const paths = await demoCorpusFiles(root);
  const files: FoundFile[] = paths.map((p) => ({ path: p, display: displayPath(p, root), bytes: 0, kind: "markdown" }));
  const docs: Document[] = [];
  for (const f of files) {
    const pkg = await packageOf(f.path);
    const kind = f.display.includes("/docs/") ? "doc" : f.display === "BENCHMARKS.md" ? "benchmarks" : "readme";
    for (const d of await readDocuments(f, { kind, ...(pkg ? { package: pkg } : {}) })) {
      d.metadata["words"] = d.text.split(/\s+/).filter(Boolean).length;
      docs.push(d);
    }
  }
  const log = o.json ? () => {} : out;
  const shown = displayPath(dir, corpus ? process.cwd() : root);
  log(`Larder demo: ${docs.length} of Larder's Markdown files -> ${shown} (offline embedder ${new HashEmbedder().model})`);

  // 1. Ingest into the embedded default (in-memory stores persisted to a local folder).
  const t1 = performance.now();
  const ctx = await StorageContext.fromDefaults({ persistDir: dir });
  const splitter = new SentenceSplitter({ chunkSize: 200, chunkOverlap: 20 });
  let index: VectorStoreIndex;
  try {
    index = await loadIndexFromStorage(ctx, { splitter });
  } catch {
    index = await VectorStoreIndex.fromDocuments([], { storageContext: ctx, splitter, indexId: "larder-demo" });
  }
  const bar = createProgress(!o.json && !o.quiet, "chunks");
  const chunks = showIndexProgress(index, bar);
  const changed = await index.refreshRefDocs(docs);
  bar.stop();
  const persisted = await ctx.persist(dir);
  const ingestMs = performance.now() - t1;
  log(
    `1. ingested: ${changed.filter(Boolean).length} documents (re)indexed into ${chunks()} chunks, ${changed.filter((c) => !c).length} unchanged; ` +
      `persisted generation ${persisted.generation} (${persisted.written.length} files written) in ${Math.round(ingestMs)} ms`,
  );

  // 2. Reload from disk, as a new process would.
  const t2 = performance.now();
  const loaded = await StorageContext.fromPersistDir(dir);
  const reloaded = await loadIndexFromStorage(loaded);
  const vectors = (await loaded.vectorStore.getNodes()).length;
  log(`2. reloaded ${shown}: index ${reloaded.indexId}, ${vectors} vectors, in ${Math.round(performance.now() - t2)} ms`);

  // 3. Queries, with and without filters.
  const results: { question: string; filter?: string; results: QueryHit[] }[] = [];
  log("3. queries (top 3; score = cosine similarity):");
  for (const q of DEMO_QUERIES) {
    const filters = q.filter ? parseFilter(q.filter) : undefined;
    const r = hits(await reloaded.asRetriever({ topK: 3, ...(filters ? { filters } : {}) }).retrieve(q.question));
    results.push({ ...q, results: r });
    log("");
    log(`Q: ${q.question}${q.filter ? `\n   --filter '${q.filter}'` : ""}`);
    if (!o.json) printHits(out, r);
  }
  log("");
  log(`done in ${Math.round(performance.now() - t0)} ms. Ask your own question: ${corpus ? "larder" : "node apps/cli/bin/larder.js"} query "..." --from ${shown}`);
  return { dir, documents: docs.length, chunks: chunks(), vectors, generation: persisted.generation, queries: results };
}
