/**
 * The real-Python interop harness. In a `*.int.test.ts` of this package:
 *
 *   import { describePython, runPython, tempDir } from "./harness.js";
 *   describePython("my check", (py) => {
 *     it("reads what Python wrote", async () => {
 *       const dir = await tempDir();
 *       const out = await runPython(py, `
 *   from llama_index.core import Document, VectorStoreIndex
 *   index = VectorStoreIndex.from_documents([Document(text="hi")])
 *   index.storage_context.persist(persist_dir=ARGS["dir"])
 *   emit({"id": index.index_id})`, { dir });
 *       // ... load `dir` with Larder, compare with out.id
 *     });
 *   });
 *
 * `describePython` runs its body once per llama-index-core version (`py.version`). Scripts run in
 * that version's venv with `larder_interop` (python/larder_interop.py) already imported as `*`:
 * offline settings, Larder's hash embedder, `splitter()`, `retrieve()`, `hits()`, `emit()`.
 * `ARGS` is the JSON object passed as the third argument. Network access is blocked (proxies point
 * at a closed port), so a download attempt fails at once instead of hanging.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, inject, it } from "vitest";
import { PYTHON_DIR, setupVersions } from "./venvs.js";

export { ALL_VERSIONS } from "./venvs.js";

export interface PythonEnv {
  /** llama-index-core version, e.g. "0.14.25". */
  version: string;
  /** The venv's directory. */
  venv: string;
  /** [major, minor, patch]. */
  parts: [number, number, number];
}

const MARKER = "@@larder-result@@";

export interface DescribePythonOptions {
  /**
   * Only the newest version selected for the run (for checks of Larder's side that do not depend
   * on the llama-index version, to keep the suite short). Default: every version.
   */
  latestOnly?: boolean;
}

/** Registers `body` once per version, as `describe("<name> [llama-index-core <v>]")`. */
export function describePython(name: string, body: (py: PythonEnv) => void, options: DescribePythonOptions = {}): void {
  const venvs = inject("pythonVenvs");
  const setupError = inject("pythonSetupError");
  const selected = setupVersions();
  for (const version of options.latestOnly ? selected.slice(-1) : selected) {
    const venv = venvs[version];
    const title = `${name} [llama-index-core ${version}]`;
    if (!venv) {
      // Only outside CI (global-setup throws under CI): a visible skip with the reason.
      describe(title, () => it.skip(`no venv: ${setupError || "not created"}`, () => {}));
      continue;
    }
    const parts = version.split(".").map(Number) as [number, number, number];
    describe(title, () => body({ version, venv, parts }));
  }
}

export interface RunPythonOptions {
  /** Kill the script after this long. Default 120 s. */
  timeoutMs?: number;
  cwd?: string;
}

/**
 * Runs Python source in the version's venv and resolves what the script passed to `emit(...)`.
 * A non-zero exit or a script that emits nothing rejects with its stderr.
 */
export async function runPython<T = unknown>(py: PythonEnv, code: string, args: Record<string, unknown> = {}, options: RunPythonOptions = {}): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "larder-py-"));
  const file = join(dir, "script.py");
  const src = `import json as _json, sys as _sys\nfrom larder_interop import *\nARGS = _json.loads(_sys.argv[1])\n${dedent(code)}\n`;
  await writeFile(file, src);
  const closed = "http://127.0.0.1:9";
  try {
    const { stdout } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        join(py.venv, "bin", "python"),
        [file, JSON.stringify(args)],
        {
          cwd: options.cwd ?? dir,
          timeout: options.timeoutMs ?? 120_000,
          maxBuffer: 256 << 20,
          env: {
            PATH: process.env["PATH"] ?? "/usr/bin:/bin",
            HOME: process.env["HOME"] ?? dir,
            PYTHONPATH: PYTHON_DIR,
            PYTHONHASHSEED: "0",
            PYTHONDONTWRITEBYTECODE: "1",
            PYTHONIOENCODING: "utf-8",
            HTTP_PROXY: closed,
            HTTPS_PROXY: closed,
            http_proxy: closed,
            https_proxy: closed,
            NO_PROXY: "",
            HF_HUB_OFFLINE: "1",
            TOKENIZERS_PARALLELISM: "false",
          },
        },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`python (llama-index-core ${py.version}) failed (${err.killed ? "timed out" : `exit ${String(err.code)}`}):\n${stderr.slice(-6000)}`));
          else resolve({ stdout, stderr });
        },
      );
    });
    const at = stdout.lastIndexOf(`\n${MARKER}`);
    if (at < 0) throw new Error(`python script emitted no result; stdout:\n${stdout.slice(-2000)}`);
    return JSON.parse(stdout.slice(at + MARKER.length + 1)) as T;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const made: string[] = [];
let cleanupRegistered = false;

/** A fresh temporary directory, removed after the test file. */
export async function tempDir(prefix = "larder-interop-"): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  made.push(d);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    afterAll(async () => {
      await Promise.all(made.splice(0).map((p) => rm(p, { recursive: true, force: true })));
    });
  }
  return d;
}

/** Removes the common leading indentation of a template literal's lines. */
function dedent(code: string): string {
  const lines = code.replace(/^\n/, "").split("\n");
  const indents = lines.filter((l) => l.trim() !== "").map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join("\n");
}
