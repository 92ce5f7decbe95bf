/**
 * The race test's parent: several writer processes (persistence-race-child) persist into one
 * directory at the same time, each keeping its context between rounds and reloading only after a
 * CONFLICT; meanwhile this process keeps loading the store. Checks that no acknowledged write is
 * ever lost (neither in the final state nor in any load that started after the acknowledgement),
 * that no generation is acknowledged twice, and that every load succeeds.
 */
import { spawn } from "node:child_process";
import { TextNode } from "@larder/core/schema";
import { StorageContext } from "@larder/core/storage";
import { childCommand, onChildLines } from "./persistence-crash.js";

export interface RaceTestOptions {
  dirUrl: string;
  childImports: string[];
  env: Record<string, string>;
  /** Documents each writer adds, one persist (plus retries after CONFLICT) each. */
  rounds: number;
  /** Writer processes (default 2). */
  writers?: number;
}

export interface RaceTestReport {
  /** Persists that succeeded (all writers). */
  acknowledged: number;
  /** Persists that failed with CONFLICT (then reloaded and re-applied). */
  conflicts: number;
  /** Loads done by the parent while the writers ran. */
  reads: number;
  /** Problems found (empty = pass). */
  errors: string[];
}

const BASE_ID = "base";

function node(id: string, i: number): TextNode {
  return new TextNode({ id, text: `${id} text`, metadata: { i }, embedding: [1, 0, i % 3, 1] });
}

/** Document ids and vector ids of the store at `dirUrl`; throws if it does not load or they disagree. */
async function loadIds(dirUrl: string): Promise<Set<string>> {
  const ctx = await StorageContext.fromPersistDir(dirUrl);
  const docs = (await ctx.docStore.getAllDocumentIds()).sort();
  const vectors = (await ctx.vectorStore.getNodes()).map((n) => n.id).sort();
  if (JSON.stringify(docs) !== JSON.stringify(vectors)) throw new Error(`docstore ids ${docs.join(",")} != vector ids ${vectors.join(",")}`);
  return new Set(docs);
}

export async function runRaceTest(opts: RaceTestOptions): Promise<RaceTestReport> {
  const dirUrl = opts.dirUrl.replace(/\/+$/, "");
  const errors: string[] = [];
  const acked = new Map<string, number>(); // id -> generation
  const generations = new Map<number, string>(); // generation -> id
  let conflicts = 0;

  // Generation 1: one document every writer loads.
  const base = await StorageContext.fromDefaults();
  await base.docStore.addDocuments([Object.assign(node(BASE_ID, 0), { embedding: null })]);
  await base.vectorStore.add([node(BASE_ID, 0)]);
  await base.persist(dirUrl);

  const { file, execArgv, preloaded } = await childCommand(opts.childImports, "persistence-race-child");
  const writers = Array.from({ length: Math.max(2, opts.writers ?? 2) }, (_, i) => String.fromCharCode(97 + i));
  let running = writers.length;
  let ready = 0;
  const children: { stdin: NodeJS.WritableStream | null }[] = [];
  const runs = writers.map(
    (writer) =>
      new Promise<void>((resolve) => {
        const child = spawn(process.execPath, [...execArgv, file, dirUrl, writer, String(opts.rounds), JSON.stringify(opts.childImports)], {
          stdio: ["pipe", "pipe", "pipe"],
          env: { ...process.env, ...opts.env, ...(preloaded ? { LARDER_CRASH_PRELOADED: "1" } : {}) },
        });
        children.push(child);
        child.stdin.on("error", () => undefined); // a writer that died early: reported on close
        let done = false;
        const stderr = onChildLines(child, (what, a, b) => {
          if (what === "ready" && ++ready === writers.length) for (const c of children) c.stdin?.write("go\n");
          if (what === "ack") {
            const gen = Number(b);
            const other = generations.get(gen);
            if (other !== undefined) errors.push(`generation ${gen} was acknowledged twice: to ${other} and to ${a}`);
            generations.set(gen, a!);
            acked.set(a!, gen);
          } else if (what === "done") {
            conflicts += Number(a);
            done = true;
          }
        });
        child.on("error", (err) => {
          errors.push(`writer ${writer}: ${err.message}`);
          running--;
          resolve();
        });
        child.on("close", (code, signal) => {
          // A writer that died before the start must not leave the others waiting for it.
          if (ready < writers.length) for (const c of children) c.stdin?.end();
          if (code !== 0 || !done) errors.push(`writer ${writer} failed (code ${String(code)}, signal ${String(signal)}): ${stderr().slice(-2000)}`);
          running--;
          resolve();
        });
      }),
  );

  // A reader: every load succeeds and holds every write acknowledged before it started.
  let reads = 0;
  while (running > 0 && errors.length < 5) {
    const before = [...acked.keys()];
    const started = performance.now();
    try {
      const ids = await loadIds(dirUrl);
      reads++;
      const missing = before.filter((id) => !ids.has(id));
      if (missing.length > 0) errors.push(`a load after their acknowledgement lacks ${missing.join(", ")}`);
      if (!ids.has(BASE_ID)) errors.push("a load lacks the base document");
    } catch (err) {
      errors.push(`a load during the race failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    // Reads take at most about a third of the time: the writers are what is under test.
    await new Promise((r) => setTimeout(r, 20 + 2 * (performance.now() - started)));
  }
  await Promise.all(runs);

  try {
    const ids = await loadIds(dirUrl);
    const lost = [...acked.keys()].filter((id) => !ids.has(id));
    if (lost.length > 0) errors.push(`${lost.length} acknowledged writes lost: ${lost.slice(0, 20).join(", ")}`);
    const unexpected = [...ids].filter((id) => id !== BASE_ID && !acked.has(id));
    if (unexpected.length > 0) errors.push(`documents nobody acknowledged: ${unexpected.join(", ")}`);
    if (!ids.has(BASE_ID)) errors.push("the base document is gone");
  } catch (err) {
    errors.push(`the final load failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const want = writers.length * opts.rounds;
  if (errors.length === 0 && acked.size !== want) errors.push(`${acked.size} of ${want} writes were acknowledged`);
  return { acknowledged: acked.size, conflicts, reads, errors };
}
