import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTemp, json, larder, tempDir, writeCorpus } from "./helpers.js";

afterAll(cleanupTemp);

describe("query hits and summaries", () => {
  it("JSON-lines hits carry the document id and the file; migrate counts documents, not docstore nodes", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    const store = join(work, "store");
    json(await larder(["--json", "ingest", ".", "--to", store], { cwd: work }));
    const q = json<{ results: { refDocId: string | null; file: string | null; id: string }[] }>(
      await larder(["--json", "query", "root cellar vegetables winter", "--from", store, "-k", "7"], { cwd: work }),
    );
    const top = q.results[0]!;
    expect(top).toMatchObject({ refDocId: "b4", file: "books.jsonl" });
    expect(top.id).not.toBe("b4"); // the chunk id is a separate field
    const md = q.results.find((h) => h.file === "notes/persistence.md")!;
    expect(md.refDocId).toBe("notes/persistence.md");

    const human = await larder(["query", "root cellar vegetables winter", "--from", store, "-k", "1"], { cwd: work });
    expect(human.stdout).toMatch(/ 1\. \d\.\d{3} {2}books\.jsonl \[b4\]/);

    // The vector store keeps the text, so the docstore holds no nodes: the summary still counts 7 documents.
    const m = json<{ copied: Record<string, number> }>(await larder(["--json", "migrate", store, join(work, "copy")], { cwd: work }));
    expect(m.copied["documents"]).toBe(7);
    expect(m.copied["docstore nodes"]).toBe(0);
    const mh = await larder(["migrate", store, join(work, "copy2")], { cwd: work });
    expect(mh.stdout).toMatch(/^\s+7 {2}documents$/m);
    expect(mh.stdout).not.toMatch(/^\s+0 {2}docs$/m);
  });
});
