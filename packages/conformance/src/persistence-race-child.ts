/**
 * Child process of the persistence race test (not part of the kit's API). Loads the store at
 * `argv[2]` (a URL) once, then for `argv[4]` rounds adds one document `<writer>-<round>` (docstore
 * and vector store) and persists. A persist that fails with CONFLICT is handled the documented way:
 * reload, re-apply this round's document, persist again. Prints `ack <id> <generation>` for every
 * persist that succeeded and `done <conflicts>` at the end; any other error ends the process.
 */
import { TextNode } from "@larder/core/schema";
import { StorageContext } from "@larder/core/storage";

const [dirUrl, writer, roundsArg, importsJson] = process.argv.slice(2);
if (!dirUrl || !writer) throw new Error("usage: persistence-race-child <dirUrl> <writer> <rounds> [imports-json]");
if (process.env["LARDER_CRASH_PRELOADED"] !== "1") for (const m of JSON.parse(importsJson ?? "[]") as string[]) await import(m);

const rounds = Number(roundsArg);
const MAX_ATTEMPTS = 1000;
let ctx = await StorageContext.fromPersistDir(dirUrl);
let conflicts = 0;
process.stdout.write("ready\n");
// Start together with the other writers: the parent writes a line once every writer is ready.
await new Promise<void>((resolve) => {
  process.stdin.once("data", () => resolve());
  process.stdin.once("end", () => resolve());
});
process.stdin.pause();
for (let i = 0; i < rounds; i++) {
  const id = `${writer}-${i}`;
  for (let attempt = 0; ; attempt++) {
    const node = new TextNode({ id, text: `${id} text`, metadata: { writer, i }, embedding: [1 + (i % 7), writer.length, i % 3, 1] });
    await ctx.docStore.addDocuments([Object.assign(node.clone(), { embedding: null })]);
    await ctx.vectorStore.add([node]);
    try {
      // Every fifth round rewrites every component (old files are then collected by the winner).
      const r = await ctx.persist(undefined, { incremental: i % 5 !== 4 });
      process.stdout.write(`ack ${id} ${r.generation}\n`);
      break;
    } catch (err) {
      if ((err as { code?: unknown })?.code !== "CONFLICT" || attempt >= MAX_ATTEMPTS) throw err;
      conflicts++;
      ctx = await StorageContext.fromPersistDir(dirUrl);
    }
  }
}
process.stdout.write(`done ${conflicts}\n`);
