/**
 * Child process of the persistence crash test (not part of the kit's API). Loads the store at
 * `argv[2]` (a URL), then loops: rewrite every node to the next version, persist, print
 * `committed <generation> <version>`. The parent SIGKILLs it at random moments and checks that
 * what is on disk is always exactly one complete version.
 */
import { TextNode } from "@larder/core/schema";
import { StorageContext } from "@larder/core/storage";
import { crashStateVersion, crashNodes, crashStaticNodes, CRASH_MAX_NODES } from "./persistence-crash-data.js";

const [dirUrl, importsJson] = process.argv.slice(2);
if (!dirUrl) throw new Error("usage: persistence-crash-child <dirUrl> [imports-json]");
// In a bundle the imports are already part of it (and their sources would need a TS loader).
if (process.env["LARDER_CRASH_PRELOADED"] !== "1") for (const m of JSON.parse(importsJson ?? "[]") as string[]) await import(m);

const ctx = await StorageContext.fromDefaults({ persistDir: dirUrl });
let version = await crashStateVersion(ctx);
const make = (v: number, i: number, emb: number[]) => new TextNode({ id: `n${i}`, text: `v${v} n${i}`, metadata: { v, i }, embedding: emb });
if (version === 0) {
  // The static nodes go in with the first version (same persist), never on their own.
  const statics = crashStaticNodes(make);
  await ctx.docStore.addDocuments(statics.map((n) => Object.assign(n.clone(), { embedding: null })));
  await ctx.vectorStore.add(statics);
}
process.stdout.write(`ready ${version}\n`);
for (;;) {
  version++;
  const nodes = crashNodes(version, make);
  const keep = new Set(nodes.map((n) => n.id));
  const gone = Array.from({ length: CRASH_MAX_NODES }, (_, i) => `n${i}`).filter((id) => !keep.has(id));
  await ctx.docStore.addDocuments(nodes.map((n) => Object.assign(n.clone(), { embedding: null })));
  for (const id of gone) await ctx.docStore.deleteDocument(id, false);
  await ctx.vectorStore.deleteNodes({ ids: gone });
  await ctx.vectorStore.add(nodes);
  await ctx.indexStore.addIndexStruct({ indexId: "idx", type: "vector_store", summary: null, data: { version, nodes_dict: {} } });
  const r = await ctx.persist();
  process.stdout.write(`committed ${r.generation} ${version}\n`);
}
