import { writeFile, readdir, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { StorageContext } from "@larder/core";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTemp, json, larder, tempDir } from "./helpers.js";

afterAll(cleanupTemp);

describe("verify checks a vector component's exact-embeddings file", () => {
  it("lists it and names it when it is damaged", async () => {
    const work = await tempDir();
    const py = join(work, "py");
    await mkdir(py);
    await writeFile(join(py, "docstore.json"), '{"docstore/data": {}}');
    await writeFile(join(py, "index_store.json"), '{"index_store/data": {}}');
    // Python doubles float32 would change: kept exactly in the Larder format's exact file.
    await writeFile(join(py, "default__vector_store.json"), '{"embedding_dict": {"a": [0.1, -0.01848489090922291]}, "text_id_to_ref_doc_id": {"a": "None"}, "metadata_dict": {"a": {"_node_type": "TextNode", "document_id": "None", "doc_id": "None", "ref_doc_id": "None"}}}');
    const store = join(work, "larder");
    await (await StorageContext.fromPersistDir(py)).persist(store);
    const exact = (await readdir(store)).find((f) => f.endsWith(".exact.jsonl"));
    expect(exact).toBeDefined();
    const ok = json<{ ok: boolean; files: { file: string; ok: boolean; component: string }[] }>(await larder(["--json", "verify", store]));
    expect(ok.ok).toBe(true);
    expect(ok.files.find((f) => f.file === exact)).toMatchObject({ ok: true, component: "vector_store/default exact embeddings" });
    await writeFile(join(store, exact!), "damaged\n");
    const bad = await larder(["--json", "verify", store]);
    expect(bad.code).toBe(3);
    expect(bad.stdout).toContain(exact!);
  });
});
