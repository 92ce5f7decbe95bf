/**
 * The crash test's parent: spawns the child (persistence-crash-child), lets it commit for a random
 * short while, SIGKILLs it, reloads, and checks the state is exactly one complete version that is
 * the last one the child reported or the one after (committed but not yet reported).
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { rmSync } from "node:fs";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { StorageContext } from "@larder/core/storage";
import { crashStateVersion } from "./persistence-crash-data.js";

export interface CrashTestOptions {
  dirUrl: string;
  childImports: string[];
  kills: number;
  env: Record<string, string>;
  /**
   * Starting upper bound of the random delay between the child's "ready" and the kill, in ms
   * (default 150). Each lane adapts it (see runLane) so kills keep landing on both sides of commits
   * however slow the machine is.
   */
  maxDelayMs?: number;
}

export interface CrashTestReport {
  kills: number;
  /** Distinct versions observed after kills. */
  generationsSeen: number;
  /** Kills that landed before the child committed anything in that run. */
  killsBeforeFirstCommit: number;
  errors: string[];
}

const bundles = new Map<string, Promise<string | undefined>>();

/**
 * How to start the child. From compiled JS: plain node. From TypeScript sources (the workspace):
 * bundle the child and its `childImports` once with esbuild (tsx's dependency), so each of the
 * hundreds of spawns starts in milliseconds; if bundling fails, run the sources through tsx.
 * `preloaded` tells the child its imports are already in the bundle.
 */
export async function childCommand(
  childImports: readonly string[],
  child = "persistence-crash-child",
): Promise<{ file: string; execArgv: string[]; preloaded: boolean }> {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith(".ts");
  const file = here.replace(/persistence-crash\.(ts|js)$/, `${child}.$1`);
  if (!ts) return { file, execArgv: [], preloaded: false };
  const require = createRequire(import.meta.url);
  const tsx = require.resolve("tsx");
  const key = JSON.stringify([child, childImports]);
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = (async () => {
      try {
        const esbuild = (await import(pathToFileURL(createRequire(tsx).resolve("esbuild")).href)) as {
          build(o: Record<string, unknown>): Promise<unknown>;
        };
        const work = await mkdtemp(join(tmpdir(), "larder-crash-child-"));
        process.once("exit", () => rmSync(work, { recursive: true, force: true }));
        const entry = join(work, "entry.mjs");
        const imports = [...childImports.map((m) => (m.startsWith("file:") ? fileURLToPath(m) : m)), file];
        await writeFile(entry, imports.map((m) => `import ${JSON.stringify(m)};`).join("\n"));
        const out = join(work, "child.mjs");
        await esbuild.build({
          entryPoints: [entry],
          bundle: true,
          platform: "node",
          format: "esm",
          target: "node20",
          outfile: out,
          conditions: ["@larder/source"],
          // ESM entry points first: a UMD "main" (jsonc-parser's) hides its requires from the bundler.
          mainFields: ["module", "main"],
          // The packages say "sideEffects": false; these imports are run for their side effects.
          ignoreAnnotations: true,
          // Bundled CommonJS dependencies may call require(): give the ESM bundle one.
          banner: { js: "import { createRequire as __larderRequire } from 'node:module'; const require = __larderRequire(import.meta.url);" },
          logLevel: "silent",
        });
        return out;
      } catch {
        return undefined;
      }
    })();
    bundles.set(key, bundle);
  }
  const built = await bundle;
  if (built) return { file: built, execArgv: [], preloaded: true };
  return { file, execArgv: ["--conditions=@larder/source", "--import", tsx], preloaded: false };
}

/** The adaptive delay window never grows past this (ms). */
const MAX_DELAY_CAP_MS = 5_000;

interface RunResult {
  lastCommitted: number | undefined;
  /** How many commits the child reported before the kill. */
  commits: number;
  startVersion: number | undefined;
  stderr: string;
}

async function runOnce(opts: CrashTestOptions, delayMs: number): Promise<RunResult> {
  const { file, execArgv, preloaded } = await childCommand(opts.childImports);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, file, opts.dirUrl, JSON.stringify(opts.childImports)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...opts.env, ...(preloaded ? { LARDER_CRASH_PRELOADED: "1" } : {}) },
    });
    let startVersion: number | undefined;
    let lastCommitted: number | undefined;
    let commits = 0;
    let timer: NodeJS.Timeout | undefined;
    const stderr = onChildLines(child, (what, a, b) => {
      if (what === "ready") {
        startVersion = Number(a);
        // Kill after a random delay measured from the moment the child starts persisting.
        timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
      } else if (what === "committed") {
        lastCommitted = Number(b);
        commits++;
      }
    });
    child.on("error", reject);
    // "close", not "exit": it comes after the child's stdout is drained, so no "committed" line
    // written before the kill is missed.
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== "SIGKILL") {
        reject(new Error(`crash child exited by itself (code ${String(code)}): ${stderr().slice(-2000)}`));
        return;
      }
      resolve({ lastCommitted, commits, startVersion, stderr: stderr() });
    });
  });
}

/**
 * Reads a test child's stdout as space-separated protocol lines (`what a b`), calling `onLine` for
 * each complete line; returns a getter for everything the child wrote to stderr so far.
 */
export function onChildLines(
  child: { stdout: NodeJS.ReadableStream | null; stderr: NodeJS.ReadableStream | null },
  onLine: (what: string | undefined, a: string | undefined, b: string | undefined) => void,
): () => string {
  let out = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => (stderr += d));
  child.stdout?.on("data", (d: string) => {
    out += d;
    const lines = out.split("\n");
    out = lines.pop() ?? "";
    for (const line of lines) {
      const [what, a, b] = line.split(" ");
      onLine(what, a, b);
    }
  });
  return () => stderr;
}

/**
 * Runs `kills` spawn/kill/reload cycles, spread over `lanes` independent directories
 * (`<dirUrl>/lane-<i>`) run side by side; returns the problems found (empty = pass).
 */
export async function runCrashTest(opts: CrashTestOptions & { lanes?: number }): Promise<CrashTestReport> {
  const lanes = Math.max(1, opts.lanes ?? 4);
  const base = opts.dirUrl.replace(/\/+$/, "");
  const per = Math.ceil(opts.kills / lanes);
  const reports = await Promise.all(
    Array.from({ length: lanes }, (_, i) => runLane({ ...opts, dirUrl: `${base}/lane-${i}`, kills: per }, 0x9e3779b9 + i * 7919)),
  );
  return {
    kills: reports.reduce((n, r) => n + r.kills, 0),
    generationsSeen: reports.reduce((n, r) => n + r.generationsSeen, 0),
    killsBeforeFirstCommit: reports.reduce((n, r) => n + r.killsBeforeFirstCommit, 0),
    errors: reports.flatMap((r, i) => r.errors.map((e) => `lane ${i}: ${e}`)),
  };
}

async function runLane(opts: CrashTestOptions, seed0: number): Promise<CrashTestReport> {
  const errors: string[] = [];
  const seen = new Set<number>();
  let killsBeforeFirstCommit = 0;
  let known = 0; // the version on disk after the previous kill
  let done = 0;
  let seed = seed0 >>> 0;
  const rand = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  // The delay window adapts to the machine: a kill before the child's first commit widens it, a
  // run with several commits narrows it again (never below the start). On a loaded machine a
  // persist can take longer than the whole starting window; without this every kill would land
  // before the first commit and the test would only ever see version 0.
  const minDelay = opts.maxDelayMs ?? 150;
  let maxDelay = minDelay;
  while (done < opts.kills && errors.length < 5) {
    // Fractional milliseconds: timers round them, the spread still covers every phase of a persist.
    const r = await runOnce(opts, rand() * maxDelay);
    done++;
    const commits = r.commits;
    if (commits === 0) maxDelay = Math.min(maxDelay * 1.25, MAX_DELAY_CAP_MS);
    else if (commits >= 2) maxDelay = Math.max(minDelay, maxDelay * 0.9);
    if (r.startVersion === undefined) {
      errors.push(`kill ${done}: the child never reported ready: ${r.stderr.slice(-500)}`);
      continue;
    }
    if (r.startVersion !== known) errors.push(`kill ${done}: child started from version ${r.startVersion}, expected ${known}`);
    if (r.lastCommitted === undefined) killsBeforeFirstCommit++;
    const low = r.lastCommitted ?? r.startVersion;
    try {
      const ctx = await StorageContext.fromPersistDir(opts.dirUrl).catch(async (err: { code?: string }) => {
        if (err?.code === "NOT_FOUND" && low === 0) return StorageContext.fromDefaults();
        throw err;
      });
      const v = await crashStateVersion(ctx);
      if (v !== low && v !== low + 1) errors.push(`kill ${done}: loaded version ${v}, child had committed ${low} (allowed ${low} or ${low + 1})`);
      seen.add(v);
      known = v;
    } catch (err) {
      errors.push(`kill ${done}: reload failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // Killed writers' temp files do not pile up: one more commit (every writer is dead now) leaves
  // none behind. Checked where the test can look at the directory itself (a file:// URL).
  if (opts.dirUrl.startsWith("file:") && known > 0 && errors.length === 0) {
    try {
      const ctx = await StorageContext.fromPersistDir(opts.dirUrl);
      await ctx.indexStore.addIndexStruct({ indexId: "cleanup-check", type: "vector_store", summary: null, data: {} });
      await ctx.persist();
      const left = (await readdir(fileURLToPath(opts.dirUrl))).filter((f) => f.endsWith(".larder-tmp") || f.endsWith(".larder-claim"));
      if (left.length > 0) errors.push(`${left.length} temp/claim files of dead writers left after a commit: ${left.slice(0, 5).join(", ")}`);
    } catch (err) {
      errors.push(`the final commit failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { kills: done, generationsSeen: seen.size, killsBeforeFirstCommit, errors };
}
