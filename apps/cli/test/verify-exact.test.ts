import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StorageContext } from "@larder/core";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTemp, json, larder, tempDir } from "./helpers.js";

afterAll(cleanupTemp);

describe("verify checks a vector component's exact-embeddings file", { timeout: 120_000 }, () => {
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

describe("migrate keeps the exact embeddings of a LlamaIndex folder", { timeout: 120_000 }, () => {
  it("LlamaIndex folder -> migrate (Larder) -> migrate (LlamaIndex) gives Python's vector file byte for byte", async () => {
    const work = await tempDir();
    const py = join(work, "py");
    await mkdir(py);
    const VECTORS =
      '{"embedding_dict": {"a": [0.1, -0.01848489090922291, 1e-05], "b": [1, 0.5, -0.0]}, "text_id_to_ref_doc_id": {"a": "d1", "b": "d1"}, ' +
      '"metadata_dict": {"a": {"n": 1.0, "_node_type": "TextNode", "document_id": "d1", "doc_id": "d1", "ref_doc_id": "d1"}, ' +
      '"b": {"big": 9007199254740993, "_node_type": "TextNode", "document_id": "d1", "doc_id": "d1", "ref_doc_id": "d1"}}}';
    await writeFile(join(py, "docstore.json"), '{"docstore/data": {}}');
    await writeFile(join(py, "index_store.json"), '{"index_store/data": {}}');
    await writeFile(join(py, "default__vector_store.json"), VECTORS);
    json(await larder(["--json", "migrate", py, join(work, "larder")]));
    json(await larder(["--json", "migrate", join(work, "larder"), join(work, "li"), "--format", "llamaindex"]));
    expect(await readFile(join(work, "li", "default__vector_store.json"), "utf8")).toBe(VECTORS);
    json(await larder(["--json", "migrate", py, join(work, "li2"), "--format", "llamaindex"]));
    expect(await readFile(join(work, "li2", "default__vector_store.json"), "utf8")).toBe(VECTORS);
  });
});
