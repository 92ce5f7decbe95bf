import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearProgressLine, createProgress } from "../src/output.js";
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

describe("progress while a step waits (timer lines)", () => {
  // Not a terminal, LARDER_PROGRESS=1, the default interval (1 s); fake time.
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubEnv("LARDER_PROGRESS", "1");
    vi.stubEnv("LARDER_PROGRESS_INTERVAL_MS", "");
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  /** A progress display on a fake non-terminal stream; returns it and the lines written so far. */
  function capture(): { progress: ReturnType<typeof createProgress>; lines: string[] } {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => (lines.push(...s.split("\n").filter(Boolean)), true) } as unknown as NodeJS.WriteStream;
    return { progress: createProgress(true, "chunks", stream), lines };
  }

  it("a step without a count prints its elapsed time every second while the event loop waits", () => {
    const { progress, lines } = capture();
    progress.phase("building the vector index");
    expect(lines).toEqual(["building the vector index…"]);
    vi.advanceTimersByTime(3_500);
    expect(lines).toEqual(["building the vector index…", "building the vector index… 1.0s", "building the vector index… 2.0s", "building the vector index… 3.0s"]);
    progress.stop();
    expect(lines.at(-1)).toBe("building the vector index: done in 3.5s");
    // Stopped: no more lines.
    vi.advanceTimersByTime(5_000);
    expect(lines).toHaveLength(5);
  });

  it("a counted step repeats its count with a new rate while no update comes; the next step stops the timer", () => {
    const { progress, lines } = capture();
    progress.start(100, "embedding and storing");
    progress.update(50);
    vi.advanceTimersByTime(2_000);
    const counted = lines.filter((l) => l.startsWith("embedding and storing 50/100 chunks (50%)"));
    expect(counted.length).toBeGreaterThanOrEqual(2);
    expect(counted.at(-1)).toMatch(/\| 25 chunks\/s \| ETA 2\.0s$/);
    progress.phase("persisting");
    const n = lines.length;
    vi.advanceTimersByTime(500);
    expect(lines).toHaveLength(n);
    vi.advanceTimersByTime(600);
    expect(lines.at(-1)).toBe("persisting… 1.0s");
    progress.stop();
  });

  it("an error stops every step in progress: no progress line after the error message", () => {
    const { progress, lines } = capture();
    progress.phase("building the vector index");
    vi.advanceTimersByTime(1_000);
    expect(lines).toHaveLength(2);
    clearProgressLine(); // what the CLI does before it prints an error
    vi.advanceTimersByTime(5_000);
    progress.stop(); // and a step ended afterwards (e.g. in a finally) prints nothing either
    progress.update(3);
    expect(lines).toHaveLength(2);
  });
});
