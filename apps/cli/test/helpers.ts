import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../bin/larder.js", import.meta.url));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `larder` command as a child process. */
export function larder(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env, FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function json<T = Record<string, unknown>>(r: RunResult): T {
  if (r.code !== 0) throw new Error(`larder exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const made: string[] = [];
export async function tempDir(prefix = "larder-cli-"): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
export async function cleanupTemp(): Promise<void> {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
}

/** A small corpus: Markdown, text and JSON lines with metadata (year, author). */
export async function writeCorpus(dir: string): Promise<void> {
  const files: Record<string, string> = {
    "notes/persistence.md": "# Persistence\n\nThe manifest larder.json is written last, atomically. A crash leaves the previous generation intact.\n\nOld generations are garbage collected after a commit.",
    "notes/filters.md": "# Filters\n\nMetadata filters compare numbers with numbers and strings with strings. There is no coercion.",
    "notes/sub/graph.txt": "Neo4j stores the property graph. Entities and relations are upserted in batches with Cypher parameters.",
    "books.jsonl": [
      { id: "b1", text: "A history of cellars and larders, how food was kept cold before refrigerators.", metadata: { year: 1998, author: "ann" } },
      { id: "b2", text: "Vector databases and approximate nearest neighbour search with HNSW graphs.", metadata: { year: 2019, author: "bob" } },
      { id: "b3", text: "Retrieval augmented generation: chunking documents, embeddings and vector stores.", metadata: { year: 2023, author: "cy" } },
      { id: "b4", text: "Keeping vegetables in a root cellar through the winter, a practical guide.", metadata: { year: 2012, author: "bob" } },
    ].map((o) => JSON.stringify(o)).join("\n"),
    "ignored.bin": "binary",
  };
  for (const [p, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), text);
  }
}
