// Creates (or reuses) the venvs once per run, before any test file starts, and hands their paths
// to the tests. With CI set, a failure fails the run; otherwise the suites are reported as skipped
// with the reason.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { SETUP_SCRIPT, setupVersions } from "./venvs.js";

declare module "vitest" {
  export interface ProvidedContext {
    pythonVenvs: Record<string, string>;
    pythonSetupError: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const versions = setupVersions();
  try {
    const { stdout } = await promisify(execFile)("bash", [SETUP_SCRIPT, ...versions], {
      maxBuffer: 16 << 20,
      timeout: 30 * 60_000,
    });
    const venvs: Record<string, string> = {};
    for (const line of stdout.split("\n")) {
      const m = /^(\S+) (.+)$/.exec(line.trim());
      if (m) venvs[m[1]!] = m[2]!;
    }
    const missing = versions.filter((v) => !venvs[v]);
    if (missing.length) throw new Error(`setup-venvs.sh reported no venv for ${missing.join(", ")}`);
    project.provide("pythonVenvs", venvs);
    project.provide("pythonSetupError", "");
  } catch (err) {
    const e = err as { message?: string; stderr?: string };
    const msg = `creating the llama-index-core venvs failed: ${e.message ?? String(err)}${e.stderr ? `\n${String(e.stderr).slice(-4000)}` : ""}`;
    if (process.env["CI"]) throw new Error(`${msg}\n(CI is set: this fails the run)`);
    project.provide("pythonVenvs", {});
    project.provide("pythonSetupError", msg);
  }
}
