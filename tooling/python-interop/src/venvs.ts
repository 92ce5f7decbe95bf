import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const SETUP_SCRIPT = join(PACKAGE_DIR, "scripts", "setup-venvs.sh");
export const PYTHON_DIR = join(PACKAGE_DIR, "python");

/** The llama-index-core versions in versions.txt. */
export const ALL_VERSIONS: readonly string[] = readFileSync(join(PACKAGE_DIR, "versions.txt"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"))
  .map((l) => l.split(/\s+/)[0]!);

/** `LARDER_PYTHON_VERSIONS=0.14.25,0.12.52` narrows a local run; default every version. */
export function setupVersions(): string[] {
  const only = process.env["LARDER_PYTHON_VERSIONS"];
  if (!only) return [...ALL_VERSIONS];
  const wanted = only.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((v) => !ALL_VERSIONS.includes(v));
  if (unknown.length) throw new Error(`LARDER_PYTHON_VERSIONS names versions not in versions.txt: ${unknown.join(", ")}`);
  return wanted;
}
