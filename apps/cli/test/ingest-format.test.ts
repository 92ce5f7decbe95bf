import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTemp, json, larder, tempDir, writeCorpus } from "./helpers.js";

afterAll(cleanupTemp);

describe("ingest --format", () => {
  it("llamaindex writes LlamaIndex's files (new folder and re-ingest); the other format beside a store is refused before writing", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    const li = join(work, "li");
    const first = json<{ persisted: { format: string } }>(await larder(["--json", "ingest", "notes", "--to", li, "--format", "llamaindex"], { cwd: work }));
    expect(first.persisted.format).toBe("llamaindex");
    const files = (await readdir(li)).sort();
    expect(files).toEqual(expect.arrayContaining(["docstore.json", "index_store.json", "default__vector_store.json"]));
    expect(files).not.toContain("larder.json");

    // Adding to the folder without --format keeps its format.
    const again = json<{ inserted: number; persisted: { format: string } }>(await larder(["--json", "ingest", ".", "--to", li], { cwd: work }));
    expect(again.persisted.format).toBe("llamaindex");
    expect(again.inserted).toBe(4);
    expect((await readdir(li)).sort()).toEqual(files);
    const human = await larder(["ingest", ".", "--to", li], { cwd: work });
    expect(human.stdout).toMatch(/LlamaIndex format/);

    // The other format beside it: refused, nothing written.
    const refused = await larder(["ingest", ".", "--to", li, "--format", "larder"], { cwd: work });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/holds a LlamaIndex-format store .* --format larder would write the Larder format beside it/);
    expect((await readdir(li)).sort()).toEqual(files);

    const larderDir = join(work, "ld");
    json(await larder(["--json", "ingest", "notes", "--to", larderDir], { cwd: work }));
    const before = (await readdir(larderDir)).sort();
    const refused2 = await larder(["ingest", "notes", "--to", larderDir, "--format", "llamaindex"], { cwd: work });
    expect(refused2.code).toBe(1);
    expect(refused2.stderr).toMatch(/holds a Larder-format store \(larder\.json\); --format llamaindex/);
    expect((await readdir(larderDir)).sort()).toEqual(before);

    // The LlamaIndex folder answers queries.
    const q = json<{ results: { refDocId: string }[] }>(await larder(["--json", "query", "root cellar winter", "--from", li, "-k", "1"], { cwd: work }));
    expect(q.results[0]!.refDocId).toBe("b4");
  });
});
