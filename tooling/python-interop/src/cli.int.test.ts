// The `larder` command against real Python folders: `query --from <python dir>`, `migrate` to the
// Larder format and back to LlamaIndex's, `ingest --format llamaindex` read by Python. The CLI runs
// the library paths retrieval.int.test.ts checks on every version; here the newest one is enough.
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect, it } from "vitest";
import { DOCS, QUERIES } from "./corpus.js";
import { describePython, runPython, tempDir } from "./harness.js";
import { PACKAGE_DIR } from "./venvs.js";

const CLI_DIR = join(PACKAGE_DIR, "..", "..", "apps", "cli");
const TOP_K = 3;
/** Two queries keep the number of CLI starts (about a second each) small. */
const CLI_QUERIES = [QUERIES[0]!, QUERIES[2]!];

interface Hit {
  id: string;
  score: number;
  text: string;
}

async function larder(args: string[]): Promise<unknown> {
  const { stdout } = await promisify(execFile)("node", ["--conditions=@larder/source", "--import", "tsx", "src/main.ts", "--json", "-q", ...args], {
    cwd: CLI_DIR,
    maxBuffer: 64 << 20,
    timeout: 120_000,
  });
  return JSON.parse(stdout);
}

async function cliQuery(from: string, indexId: string | undefined, q: string): Promise<Hit[]> {
  const r = (await larder(["query", "--from", from, ...(indexId ? ["--index-id", indexId] : []), "-k", String(TOP_K), q])) as { results: Hit[] };
  return r.results.map((h) => ({ id: h.id, score: h.score, text: h.text }));
}

function expectSame(actual: Hit[], expected: Hit[], what: string): void {
  expect(actual.map((h) => h.id), what).toEqual(expected.map((h) => h.id));
  expect(actual.map((h) => h.text), what).toEqual(expected.map((h) => h.text));
  // The CLI rounds scores to 6 decimals.
  actual.forEach((h, i) => expect(Math.abs(h.score - expected[i]!.score), `${what}: score of ${h.id}`).toBeLessThan(2e-6));
}

describePython("larder CLI on Python folders", (py) => {
  let pyDir: string;
  let built: { vector_index_id: string; retrieval: Hit[][] };

  beforeAll(async () => {
    pyDir = await tempDir();
    built = await runPython(py, `emit(build_scenario(ARGS["dir"], ARGS["docs"], "doc-deleted", ARGS["queries"], ARGS["k"]))`, {
      dir: pyDir,
      docs: DOCS,
      queries: CLI_QUERIES,
      k: TOP_K,
    });
  });

  it("larder query --from <python dir> returns Python's hits with their text; so does the folder migrated to the Larder format", async () => {
    // The whole Python folder, property_graph_store.json with its nested property values included.
    const base = await tempDir();
    const migrated = join(base, "larder");
    await larder(["migrate", pyDir, migrated, "--format", "larder"]);
    expect(await readdir(migrated)).toContain("larder.json");
    // Back to LlamaIndex's format: Python's property graph file byte for byte.
    const back = join(base, "back");
    await larder(["migrate", migrated, back, "--format", "llamaindex"]);
    expect(await readFile(join(back, "property_graph_store.json"))).toEqual(await readFile(join(pyDir, "property_graph_store.json")));
    for (const [i, q] of CLI_QUERIES.entries()) {
      expect(built.retrieval[i]!.every((h) => h.text.length > 0)).toBe(true);
      expectSame(await cliQuery(pyDir, built.vector_index_id, q), built.retrieval[i]!, `query --from python dir: ${q}`);
      expectSame(await cliQuery(migrated, built.vector_index_id, q), built.retrieval[i]!, `query --from migrated dir: ${q}`);
    }
  });

  it("what `larder ingest` builds (default options) is retrieved by Python after `migrate --format llamaindex` and from `ingest --format llamaindex`", async () => {
    const src = await tempDir();
    for (const d of DOCS) await writeFile(join(src, `${d.id}.txt`), d.text);
    const base = await tempDir();
    const larderDir = join(base, "larder");
    const exported = join(base, "exported");
    const direct = join(base, "direct");
    await larder(["ingest", src, "--to", larderDir]);
    await larder(["migrate", larderDir, exported, "--format", "llamaindex"]);
    await larder(["ingest", src, "--to", direct, "--format", "llamaindex"]);
    const mine: Hit[][] = [];
    for (const q of CLI_QUERIES) mine.push(await cliQuery(larderDir, undefined, q));
    for (const dir of [exported, direct]) {
      const theirs = await runPython<{ ids: string[]; retrieval: Hit[][]; hashes: { checked: number; mismatches: object } }>(
        py,
        `
        from llama_index.core import StorageContext
        ids = [s.index_id for s in StorageContext.from_defaults(persist_dir=ARGS["dir"]).index_store.index_structs()]
        out = retrieve_and_check(ARGS["dir"], ids[0], ARGS["queries"], ARGS["k"]) if len(ids) == 1 else {}
        out["ids"] = ids
        emit(out)`,
        { dir, queries: CLI_QUERIES, k: TOP_K },
      );
      expect(theirs.ids.length, dir).toBe(1);
      mine.forEach((m, i) => {
        expect(m.every((h) => h.text.length > 0)).toBe(true);
        expectSame(theirs.retrieval[i]!, m, `Python on ${dir}: ${CLI_QUERIES[i]}`);
      });
      expect(theirs.hashes.checked).toBeGreaterThan(0);
      expect(theirs.hashes.mismatches).toEqual({});
    }
  });
}, { latestOnly: true });
