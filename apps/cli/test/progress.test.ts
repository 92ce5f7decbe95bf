import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTemp, larder, tempDir } from "./helpers.js";

afterAll(cleanupTemp);

describe("progress (LARDER_PROGRESS=1, not a terminal)", () => {
  it("prints every step and intermediate counts, not only 0% and 100%", async () => {
    const work = await tempDir();
    const sentences = Array.from({ length: 1500 }, (_, i) => `Sentence number ${i} talks about cellar ${i % 37} and larder ${i % 11}.`);
    await writeFile(join(work, "big.txt"), sentences.join(" "));
    const r = await larder(["ingest", "big.txt", "--to", join(work, "store"), "--chunk-size", "12", "--chunk-overlap", "0"], {
      cwd: work,
      env: { LARDER_PROGRESS: "1", LARDER_PROGRESS_INTERVAL_MS: "0" },
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trim().split("\n");
    for (const step of [/^reading 1\/1 files/, /^opening /, /^comparing 1 documents/, /^embedding and storing \d+\/\d+ chunks/, /^persisting to .* \(Larder format\)/]) {
      expect(lines.some((l) => step.test(l)), String(step)).toBe(true);
    }
    const pcts = lines.filter((l) => l.startsWith("embedding and storing")).map((l) => Number(/\((\d+)%\)/.exec(l)?.[1]));
    expect(pcts.some((p) => p > 0 && p < 100), pcts.join(",")).toBe(true);
    expect(lines.at(-1)).toMatch(/^persisting to .*: done in \d+\.\ds$/);
    // stdout has only the result.
    expect(r.stdout).toMatch(/^ingested 1 files/);

    // Without LARDER_PROGRESS (and not a terminal): nothing on stderr; --json and -q: nothing either.
    const quiet = await larder(["ingest", "big.txt", "--to", join(work, "store2")], { cwd: work });
    expect(quiet.stderr).toBe("");
    const json = await larder(["--json", "ingest", "big.txt", "--to", join(work, "store3")], { cwd: work, env: { LARDER_PROGRESS: "1" } });
    expect(json.stderr).toBe("");
  });
});
