import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, cleanupTemp, json, larder, tempDir, writeCorpus } from "./helpers.js";

afterAll(cleanupTemp);

/** Runs larder with stdout closed by the reader before anything is written (as `| head -0` would). */
function larderIntoClosedPipe(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, FORCE_COLOR: "0" }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("a reader that closes stdout", () => {
  it("ends the command quietly with exit code 0 (no EPIPE stack trace)", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    const store = join(work, "store");
    json(await larder(["--json", "ingest", ".", "--to", store], { cwd: work }));
    for (const args of [["inspect", store], ["query", "root cellar", "--from", store]]) {
      const r = await larderIntoClosedPipe(args, work);
      expect(r.stderr).not.toMatch(/EPIPE|Unhandled|at /);
      expect(r.code).toBe(0);
    }
  });
});
