// A LlamaIndexTS app persists a folder through @larder/llamaindex (storageContextFromLarder with
// format "llamaindex"); Python LlamaIndex loads it with load_index_from_storage and retrieves the
// same ids and text. The app is packages/llamaindex/src/test-support/python-app.ts, run in its own
// Node process from that package (which has llamaindex and @larder/llamaindex installed).
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { describePython, runPython, tempDir } from "./harness.js";

const PKG = fileURLToPath(new URL("../../../packages/llamaindex/", import.meta.url));
const APP = `${PKG}src/test-support/python-app.ts`;
const QUERIES = ["apple orchards and cider", "glacier ice absorbs red light", "sourdough bread starter", "violin bow horsehair"];

interface AppOut {
  indexId: string;
  structs: number;
  hits: Record<string, { id: string; score: number; text: string }[]>;
}

function runApp(dir: string): Promise<AppOut> {
  const req = createRequire(`${PKG}package.json`);
  const tsx = createRequire(req.resolve("@larder/conformance/package.json")).resolve("tsx");
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--conditions=@larder/source", "--import", tsx, APP, dir, "3", ...QUERIES], { cwd: PKG, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`LlamaIndexTS app failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").pop()!) as AppOut);
    });
  });
}

describePython("a LlamaIndexTS app's folder (@larder/llamaindex)", (py) => {
  it("load_index_from_storage retrieves the same ids and text as the LlamaIndexTS app", async () => {
    const dir = await tempDir("larder-lits-");
    const app = await runApp(dir);
    expect(app.structs).toBe(1);
    const py_hits = await runPython<{ id: string; score: number; text: string }[][]>(py, `emit(retrieve(ARGS["dir"], ARGS["index_id"], ARGS["queries"], 3))`, {
      dir,
      index_id: app.indexId,
      queries: QUERIES,
    });
    QUERIES.forEach((q, i) => {
      const ts = app.hits[q]!;
      expect(ts.length).toBe(3);
      expect(py_hits[i]!.map((h) => h.id), q).toEqual(ts.map((h) => h.id));
      expect(py_hits[i]!.map((h) => h.text), q).toEqual(ts.map((h) => h.text));
      py_hits[i]!.forEach((h, k) => expect(h.score).toBeCloseTo(ts[k]!.score, 4));
    });
    // The document deleted through LlamaIndexTS is gone for Python too.
    // (Its sentences end in "(part 2, round n)."; doc-bread-0's in "(part 1, ...".)
    expect(py_hits[2]!.some((h) => /(bread|Bakers|dough)[^.]*\(part 1,/.test(h.text))).toBe(true);
    expect(py_hits[2]!.some((h) => /(bread|Bakers|dough)[^.]*\(part 2,/.test(h.text))).toBe(false);
  }, 180_000);
});
