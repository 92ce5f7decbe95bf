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

describe("--json errors", () => {
  it("are one JSON document on stdout with code, message, hint and exit code; nothing on stderr", async () => {
    const work = await tempDir();
    const missing = await larder(["--json", "query", "x", "--from", join(work, "nothing-here")], { cwd: work });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("");
    const e = JSON.parse(missing.stdout) as { error: { code: string; message: string; hint: string; exitCode: number } };
    expect(e.error).toMatchObject({ code: "NOT_FOUND", exitCode: 2 });
    expect(e.error.message).toMatch(/^nothing persisted at /);
    expect(e.error.hint).toMatch(/larder inspect/);

    // Usage errors that commander finds (here --json after the command, and a missing required option).
    for (const args of [["query", "--json", "x"], ["--json", "query", "x", "--from", work, "-k", "0"]]) {
      const usage = await larder(args, { cwd: work });
      expect(usage.code).toBe(1);
      expect(usage.stderr).toBe("");
      expect(JSON.parse(usage.stdout)).toMatchObject({ error: { code: "USAGE", exitCode: 1 } });
    }
    // Without --json: prose on stderr, nothing on stdout.
    const prose = await larder(["query", "x", "--from", join(work, "nothing-here")], { cwd: work });
    expect(prose.stdout).toBe("");
    expect(prose.stderr).toMatch(/^larder: NOT_FOUND: nothing persisted/);
  });
});
