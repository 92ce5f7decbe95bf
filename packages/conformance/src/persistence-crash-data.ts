/** The data the crash test's child writes, and the check that a loaded state is one whole version. */
import type { BaseNode } from "@larder/core/schema";
import type { StorageContext } from "@larder/core/storage";

export const CRASH_MAX_NODES = 17;
/** Nodes written once and never changed, so each version changes a small part and deltas get used. */
export const CRASH_STATIC_NODES = 120;
const DIM = 4;

export function crashStaticNodes(make: (v: number, i: number, embedding: number[]) => BaseNode): BaseNode[] {
  return Array.from({ length: CRASH_STATIC_NODES }, (_, i) => {
    const n = make(0, i, [-1, -i, -1, 0]);
    n.id = `s${i}`;
    n.text = `static ${i}`;
    n.metadata = { static: i };
    return n;
  });
}

/** Version v has 10 + v % 7 nodes `n0..`, text `v<v> n<i>`, metadata {v, i}, embedding [v, i, 1, v % 3]. */
export function crashNodes(version: number, make: (v: number, i: number, embedding: number[]) => BaseNode): BaseNode[] {
  const count = 10 + (version % 7);
  return Array.from({ length: count }, (_, i) => make(version, i, [version, i, 1, version % 3].slice(0, DIM)));
}

/** The version a loaded context holds (0 = empty), or throws describing the inconsistency. */
export async function crashStateVersion(ctx: StorageContext): Promise<number> {
  const all = (await ctx.docStore.getAllDocumentIds()).sort();
  const statics = all.filter((id) => id.startsWith("s"));
  const ids = all.filter((id) => !id.startsWith("s"));
  if (statics.length !== 0 && statics.length !== CRASH_STATIC_NODES) throw new Error(`${statics.length} static nodes`);
  for (const n of await ctx.docStore.getNodes(statics)) if (n.text !== `static ${n.id.slice(1)}`) throw new Error(`static node ${n.id} changed`);
  if (ids.length === 0) {
    const vs = ctx.vectorStores["default"];
    if (vs && (await vs.getNodes()).length > 0) throw new Error("empty docstore but vectors present");
    return 0;
  }
  const nodes = await ctx.docStore.getNodes(ids);
  const version = Number(/^v(\d+) /.exec(nodes[0]!.text)?.[1]);
  if (!Number.isInteger(version)) throw new Error(`unreadable node text ${JSON.stringify(nodes[0]!.text)}`);
  const count = 10 + (version % 7);
  const want = Array.from({ length: count }, (_, i) => `n${i}`).sort();
  if (JSON.stringify(ids) !== JSON.stringify(want)) throw new Error(`version ${version}: docstore ids ${ids.join(",")} != ${want.join(",")}`);
  for (const n of nodes) {
    if (!n.text.startsWith(`v${version} `) || n.metadata["v"] !== version) throw new Error(`mixed versions in docstore: ${n.id} has ${n.text}`);
  }
  const vnodes = (await ctx.vectorStore.getNodes()).filter((n) => !n.id.startsWith("s"));
  const vstatic = (await ctx.vectorStore.getNodes()).length - vnodes.length;
  if (vstatic !== CRASH_STATIC_NODES) throw new Error(`version ${version}: ${vstatic} static vectors`);
  const vids = vnodes.map((n) => n.id).sort();
  if (JSON.stringify(vids) !== JSON.stringify(want)) throw new Error(`version ${version}: vector ids ${vids.join(",")} != ${want.join(",")}`);
  for (const n of vnodes) if (n.metadata["v"] !== version) throw new Error(`mixed versions in vector store: ${n.id} has v=${String(n.metadata["v"])}`);
  const q = await ctx.vectorStore.query({ embedding: [version, 0, 1, version % 3], topK: 1 });
  if (q.ids[0] !== "n0") throw new Error(`version ${version}: nearest to n0's vector is ${q.ids[0]}`);
  const struct = await ctx.indexStore.getIndexStruct("idx");
  if (struct?.data["version"] !== version) throw new Error(`version ${version}: index struct has ${String(struct?.data["version"])}`);
  return version;
}
