import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
// tsx comes with the conformance kit (a dev dependency of this package).
const TSX = createRequire(require.resolve("@larder/conformance/package.json")).resolve("tsx");

export type AppHits = Record<string, { id: string; score: number | undefined; text: string }[]>;

/** Runs test-support/app.ts in a new Node process: retrieval over the index stored at `url`. */
export function runApp(url: string, topK: number, queries: string[], env: Record<string, string> = {}): Promise<AppHits> {
  const file = fileURLToPath(new URL("./app.ts", import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--conditions=@larder/source", "--import", TSX, file, url, String(topK), ...queries],
      { cwd: fileURLToPath(new URL("../..", import.meta.url)), env: { ...process.env, ...env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`app process failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split("\n").pop()!) as AppHits);
      },
    );
  });
}
