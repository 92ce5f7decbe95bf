import { readdir, readFile, stat } from "node:fs/promises";
import { basename, extname, join, relative, resolve, sep } from "node:path";
import { Document, errors, type Metadata } from "@larder/core";

/** File kinds `ingest` reads, by extension. */
export const TEXT_EXTENSIONS = new Set([".txt", ".text"]);
export const MARKDOWN_EXTENSIONS = new Set([".md", ".markdown", ".mdx"]);
export const JSONL_EXTENSIONS = new Set([".jsonl", ".ndjson"]);
const SKIP_DIRS = new Set(["node_modules", ".git", "dist", ".turbo", "coverage"]);

export interface FoundFile {
  path: string;
  /** Path shown and stored (relative to the current directory, `/`-separated). */
  display: string;
  bytes: number;
  kind: "text" | "markdown" | "jsonl";
}

function kindOf(path: string): FoundFile["kind"] | undefined {
  const ext = extname(path).toLowerCase();
  if (TEXT_EXTENSIONS.has(ext)) return "text";
  if (MARKDOWN_EXTENSIONS.has(ext)) return "markdown";
  if (JSONL_EXTENSIONS.has(ext)) return "jsonl";
  return undefined;
}

export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return (rel.startsWith("..") || rel === "" ? path : rel).split(sep).join("/");
}

/**
 * Files under the given paths: directories recursively (skipping dot-directories, node_modules,
 * dist, and directories holding a persisted Larder store), keeping .txt/.md/.jsonl files. A path given explicitly is read whatever its extension
 * (as text). Sorted by path, duplicates removed. A missing path is NOT_FOUND.
 */
export async function findFiles(paths: readonly string[], cwd = process.cwd()): Promise<{ files: FoundFile[]; skipped: number }> {
  const out = new Map<string, FoundFile>();
  let skipped = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    // A persisted Larder store (e.g. the --to directory inside the input) is not input.
    if (entries.some((e) => e.isFile() && e.name === "larder.json")) {
      skipped += entries.length;
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!e.name.startsWith(".") && !SKIP_DIRS.has(e.name)) await walk(p);
      } else if (e.isFile()) {
        const kind = kindOf(p);
        if (!kind) {
          skipped++;
          continue;
        }
        const s = await stat(p);
        out.set(p, { path: p, display: displayPath(p, cwd), bytes: s.size, kind });
      }
    }
  };
  for (const given of paths) {
    const p = resolve(cwd, given);
    const s = await stat(p).catch(() => undefined);
    if (!s) throw errors.notFound(`no such file or directory: ${given}`);
    if (s.isDirectory()) await walk(p);
    else out.set(p, { path: p, display: displayPath(p, cwd), bytes: s.size, kind: kindOf(p) ?? "text" });
  }
  return { files: [...out.values()].sort((a, b) => (a.display < b.display ? -1 : a.display > b.display ? 1 : 0)), skipped };
}

/** The first Markdown heading, if any. */
function markdownTitle(text: string): string | undefined {
  const m = /^#{1,6}\s+(.+?)\s*#*\s*$/m.exec(text);
  return m?.[1];
}

/**
 * Documents of a file. Text and Markdown: one document, id = the display path, metadata
 * `{file_path, file_name, file_type, title?}`. JSON lines: one document per non-empty line, an
 * object with `text` (or `content`), optional `id` (default `<path>#<line>`) and `metadata` (an
 * object; without it, the line's other top-level fields are the metadata).
 */
export async function readDocuments(file: FoundFile, extraMetadata: Metadata = {}): Promise<Document[]> {
  const raw = await readFile(file.path, "utf8");
  const base: Metadata = { file_path: file.display, file_name: basename(file.path), file_type: file.kind, ...extraMetadata };
  if (file.kind !== "jsonl") {
    const title = file.kind === "markdown" ? markdownTitle(raw) : undefined;
    return [new Document({ id: file.display, text: raw, metadata: title ? { ...base, title } : base })];
  }
  const docs: Document[] = [];
  const lines = raw.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw errors.invalid(`${file.display}:${i + 1}: not valid JSON`);
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw errors.invalid(`${file.display}:${i + 1}: each line must be a JSON object`);
    const o = obj as Record<string, unknown>;
    const text = o["text"] ?? o["content"];
    if (typeof text !== "string") throw errors.invalid(`${file.display}:${i + 1}: no string "text" (or "content") field`);
    const id = o["id"] ?? o["doc_id"];
    if (id !== undefined && (typeof id !== "string" || id === "") && typeof id !== "number") {
      throw errors.invalid(`${file.display}:${i + 1}: "id" must be a non-empty string or a number`);
    }
    let metadata: Metadata;
    if (o["metadata"] !== undefined) {
      if (typeof o["metadata"] !== "object" || o["metadata"] === null || Array.isArray(o["metadata"])) {
        throw errors.invalid(`${file.display}:${i + 1}: "metadata" must be an object`);
      }
      metadata = o["metadata"] as Metadata;
    } else {
      const { text: _t, content: _c, id: _i, doc_id: _d, ...rest } = o;
      metadata = rest;
    }
    docs.push(new Document({ id: id === undefined ? `${file.display}#${i + 1}` : String(id), text, metadata: { ...base, line: i + 1, ...metadata } }));
  });
  return docs;
}

/**
 * The documents of every file, in order, appended one by one (a JSON-lines file may hold more
 * documents than a spread can pass as call arguments). `onFile(i)` is called after file `i`.
 */
export async function readAllDocuments(files: readonly FoundFile[], onFile: (done: number) => void = () => {}): Promise<Document[]> {
  const docs: Document[] = [];
  for (const [i, f] of files.entries()) {
    for (const d of await readDocuments(f)) docs.push(d);
    onFile(i + 1);
  }
  return docs;
}
