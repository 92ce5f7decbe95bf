import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { StorageContext } from "@larder/core";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTemp, json, larder, tempDir } from "./helpers.js";

afterAll(cleanupTemp);

/** Property graphs Python wrote, with nested property values (`address`, `meta`). */
const fixture = (v: string) => fileURLToPath(new URL(`../../../packages/core/test/fixtures/llamaindex/chat-graph/py-${v}/property_graph_store.json`, import.meta.url));

describe("migrate copies a property graph with nested values Python wrote", { timeout: 120_000 }, () => {
  for (const v of ["0.12.52", "0.14.25"]) {
    it(`${v}: LlamaIndex folder -> Larder folder -> LlamaIndex folder is byte-identical`, async () => {
      const work = await tempDir();
      const src = join(work, "py");
      await mkdir(src);
      await copyFile(fixture(v), join(src, "property_graph_store.json"));
      const m = json<{ copied: Record<string, number> }>(await larder(["--json", "migrate", src, join(work, "larder")]));
      expect(m.copied).toMatchObject({ "graph nodes": 2, relations: 1 });
      json(await larder(["--json", "migrate", join(work, "larder"), join(work, "li"), "--format", "llamaindex"]));
      expect(await readFile(join(work, "li", "property_graph_store.json"))).toEqual(await readFile(fixture(v)));
      const loaded = await StorageContext.fromPersistDir(join(work, "larder"));
      const [node] = await loaded.propertyGraphStore!.get({ ids: ["The \"Quoted\" Co"] });
      expect(node?.properties).toEqual({ address: { street: "1 Main St", geo: [48.85, 2.35], tags: { hq: true } } });
    });
  }

  it("0.10.68: the values are kept (the file is written in the compact form)", async () => {
    const work = await tempDir();
    const src = join(work, "py");
    await mkdir(src);
    await copyFile(fixture("0.10.68"), join(src, "property_graph_store.json"));
    json(await larder(["--json", "migrate", src, join(work, "li"), "--format", "llamaindex"]));
    const written = JSON.parse(await readFile(join(work, "li", "property_graph_store.json"), "utf8")) as unknown;
    expect(written).toEqual(JSON.parse(await readFile(fixture("0.10.68"), "utf8")));
  });
});
