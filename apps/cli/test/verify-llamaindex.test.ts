import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { json, larder, tempDir } from "./helpers.js";

const FIXTURE = fileURLToPath(new URL("../../../packages/core/test/fixtures/llamaindex/py-0.12/", import.meta.url));

describe("verify on a LlamaIndex folder", () => {
  it("parses every value: ok on Python's files, names file, collection and key of damage (exit 3)", async () => {
    const dir = await tempDir();
    await cp(FIXTURE, dir, { recursive: true });
    const ok = json<{ ok: boolean; format: string; files: { file: string; ok: boolean }[] }>(await larder(["--json", "verify", dir]));
    expect(ok.ok).toBe(true);
    expect(ok.format).toBe("llamaindex");
    expect(ok.files.map((f) => f.file)).toContain("docstore.json");

    const doc = JSON.parse(await readFile(join(dir, "docstore.json"), "utf8"));
    doc["docstore/data"]["node-1"]["__type__"] = "99";
    await writeFile(join(dir, "docstore.json"), JSON.stringify(doc));
    const bad = await larder(["--json", "verify", dir]);
    expect(bad.code).toBe(3);
    const r = JSON.parse(bad.stdout) as { ok: boolean; files: { file: string; ok: boolean; collection?: string; key?: string; problem?: string }[] };
    expect(r.ok).toBe(false);
    expect(r.files.find((f) => !f.ok)).toMatchObject({ file: "docstore.json", collection: "docstore/data", key: "node-1" });
    const text = await larder(["verify", dir]);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain("BROKEN  docstore.json");
    expect(text.stdout).toContain('key "node-1"');
  });
});
