import { createHash } from "node:crypto";
import { readdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LARDER_FORMAT_VERSION, MAX_TOP_K } from "@larder/core";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTemp, json, larder, tempDir, writeCorpus } from "./helpers.js";

afterAll(cleanupTemp);

interface Hit {
  id: string;
  refDocId: string;
  score: number;
  metadata: Record<string, unknown>;
  text: string;
}

describe("larder demo", () => {
  it("ingests the repo's Markdown, persists, reloads and answers queries with and without filters", async () => {
    const dir = join(await tempDir(), "demo");
    const r = json<{ documents: number; chunks: number; vectors: number; queries: { question: string; filter?: string; results: Hit[] }[] }>(
      await larder(["--json", "demo", "--dir", dir]),
    );
    expect(r.documents).toBeGreaterThanOrEqual(5);
    expect(r.vectors).toBe(r.chunks);
    expect(r.queries).toHaveLength(4);
    for (const q of r.queries) expect(q.results.length).toBeGreaterThan(0);
    expect(String(r.queries[0]!.results[0]!.metadata["file_path"])).toMatch(/persistence|core|fs-s3/);
    expect(r.queries[1]!.results.every((h) => h.metadata["kind"] === "doc")).toBe(true);
    expect(r.queries[2]!.results.every((h) => ["@larder/storage-redis", "@larder/storage-postgres"].includes(String(h.metadata["package"])))).toBe(true);
    expect(await readdir(dir)).toContain("larder.json");
    // Human output: prose and results, no JSON.
    const human = await larder(["demo", "--dir", dir]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/0 documents \(re\)indexed/);
    expect(human.stdout).toMatch(/Q: How do I persist/);
    expect(human.stdout).toMatch(/ 1\. \d\.\d{3} {2}\S+/);
  });
});

describe("ingest -> query -> inspect -> verify -> migrate (local)", () => {
  it("works end to end and keeps the same top-k on the copy", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    const store = join(work, "store");
    const ing = json<{ files: number; documents: number; inserted: number; chunks: number }>(
      await larder(["--json", "ingest", ".", "--to", store, "--chunk-size", "40"], { cwd: work }),
    );
    expect(ing.files).toBe(4);
    expect(ing.documents).toBe(7);
    expect(ing.inserted).toBe(7);
    expect(ing.chunks).toBeGreaterThanOrEqual(7);

    // Re-ingesting unchanged files embeds nothing; a changed file is re-indexed alone.
    expect(json<{ unchanged: number; chunks: number }>(await larder(["--json", "ingest", ".", "--to", store], { cwd: work }))).toMatchObject({ unchanged: 7, chunks: 0 });
    await writeFile(join(work, "notes/filters.md"), "# Filters\n\nFilters now support text_match_insensitive.");
    expect(json(await larder(["--json", "ingest", ".", "--to", store], { cwd: work }))).toMatchObject({ updated: 1, unchanged: 6 });

    const q = json<{ results: Hit[] }>(
      await larder(["--json", "query", "root cellar vegetables winter", "--from", store, "-k", "3", "--filter", 'year >= 2010 and author in ["bob", "cy"]'], { cwd: work }),
    );
    expect(q.results[0]!.refDocId).toBe("b4");
    expect(q.results.every((h) => (h.metadata["year"] as number) >= 2010 && ["bob", "cy"].includes(String(h.metadata["author"])))).toBe(true);
    const unfiltered = json<{ results: Hit[] }>(await larder(["--json", "query", "manifest written atomically", "--from", store, "-k", "2"], { cwd: work }));
    expect(unfiltered.results[0]!.refDocId).toBe("notes/persistence.md");

    const info = json<{ docstore: { documents: number }; vectors: { default: { count: number; dimensions: number } }; persisted: { format: string; formatVersion: number; generation: number } }>(
      await larder(["--json", "inspect", store]),
    );
    expect(info.docstore.documents).toBe(7);
    expect(info.vectors.default.dimensions).toBe(384);
    expect(info.persisted).toMatchObject({ format: "larder", formatVersion: LARDER_FORMAT_VERSION, generation: 3 });
    const human = await larder(["inspect", store]);
    expect(human.stdout).toMatch(/384 dimensions/);
    expect(human.stdout).toContain(`Larder v${LARDER_FORMAT_VERSION}, generation 3`);

    const v = json<{ ok: boolean; files: { ok: boolean }[] }>(await larder(["--json", "verify", store]));
    expect(v.ok).toBe(true);
    expect(v.files.length).toBeGreaterThanOrEqual(3);

    // migrate local -> local; the copy answers the same.
    const copy = join(work, "copy");
    const m = json<{ copied: Record<string, number> }>(await larder(["--json", "migrate", store, copy, "--batch-size", "3"]));
    expect(m.copied["vectors default"]).toBe(info.vectors.default.count);
    const q2 = json<{ results: Hit[] }>(
      await larder(["--json", "query", "root cellar vegetables winter", "--from", copy, "-k", "3", "--filter", 'year >= 2010 and author in ["bob", "cy"]']),
    );
    expect(q2.results.map((h) => [h.id, h.score])).toEqual(q.results.map((h) => [h.id, h.score]));
    expect(json<{ docstore: { documents: number } }>(await larder(["--json", "inspect", copy])).docstore.documents).toBe(7);

    // A damaged file: verify names it and exits 3; loading it is CORRUPT (exit 3) too.
    const manifest = JSON.parse(await readFile(join(store, "larder.json"), "utf8")) as { components: Record<string, { file: string }> };
    const victim = manifest.components["docstore"]!.file;
    const bytes = await readFile(join(store, victim));
    const mid = Math.floor(bytes.length / 2);
    bytes[mid] = bytes[mid]! ^ 0xff;
    await writeFile(join(store, victim), bytes);
    const bad = await larder(["verify", store]);
    expect(bad.code).toBe(3);
    expect(bad.stdout).toContain(`BROKEN  ${victim}`);
    const badQuery = await larder(["query", "x", "--from", store]);
    expect(badQuery.code).toBe(3);
    expect(badQuery.stderr).toMatch(/CORRUPT/);
    expect(badQuery.stderr).not.toMatch(/\n\s+at /); // no stack without --debug
  });
});

describe("errors and exit codes", () => {
  it("reports usage, not-found and filter errors as one clear line", async () => {
    const work = await tempDir();
    const missing = await larder(["query", "x", "--from", join(work, "nothing")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.split("\n")[0]).toMatch(/^larder: NOT_FOUND: nothing persisted at/);
    const badFilter = await larder(["query", "x", "--from", work, "--filter", "year >>= 3"]);
    expect(badFilter.code).toBe(1);
    expect(badFilter.stderr).toContain("column 7");
    expect(badFilter.stderr).toContain("  year >>= 3\n        ^");
    const usage = await larder(["query"]);
    expect(usage.code).toBe(1);
    const scheme = await larder(["inspect", "ftp://x/y"]);
    expect(scheme.code).toBe(1);
    expect(scheme.stderr).toMatch(/unknown store URL scheme "ftp:\/\/"/);
    const debug = await larder(["--debug", "query", "x", "--from", join(work, "nothing")]);
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
    const creds = await larder(["inspect", "postgres://user:hunter2@127.0.0.1:1/db"]);
    expect(creds.code).toBe(4);
    expect(creds.stderr).not.toContain("hunter2");
  });
});

/** Name -> SHA-256 of every file in a directory. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = createHash("sha256").update(await readFile(join(dir, f))).digest("hex");
  return out;
}

describe("never deletes what it cannot account for", () => {
  it("ingest and migrate into a store missing one data file stop with the load error; every file stays as it was", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    const store = join(work, "store");
    json(await larder(["--json", "ingest", "notes", "--to", store, "--chunk-size", "40"], { cwd: work }));
    const manifest = JSON.parse(await readFile(join(store, "larder.json"), "utf8")) as { components: Record<string, { file: string }> };
    const victim = manifest.components["docstore"]!.file;
    await unlink(join(store, victim));
    const before = await snapshot(store);
    expect(Object.keys(before)).toContain("larder.json");

    const ing = await larder(["ingest", "books.jsonl", "--to", store], { cwd: work });
    expect(ing.code).not.toBe(0);
    expect(ing.code).not.toBe(70);
    expect(ing.stderr).toContain(victim);
    expect(ing.stderr).not.toMatch(/nothing persisted/);
    expect(ing.stdout).not.toMatch(/ingested/);
    expect(await snapshot(store)).toEqual(before);

    const src = join(work, "src");
    json(await larder(["--json", "ingest", "books.jsonl", "--to", src], { cwd: work }));
    const mig = await larder(["migrate", src, store]);
    expect(mig.code).not.toBe(0);
    expect(mig.code).not.toBe(70);
    expect(mig.stderr).toContain(victim);
    expect(await snapshot(store)).toEqual(before);

    // Also as a source: the damaged store is named, never read as empty.
    const from = await larder(["migrate", store, join(work, "copy")]);
    expect(from.code).not.toBe(0);
    expect(from.stderr).toContain(victim);
    expect(await readdir(work)).not.toContain("copy");

    // Component files whose manifest is gone are not "nothing there" either.
    await unlink(join(store, "larder.json"));
    const orphans = await larder(["ingest", "books.jsonl", "--to", store], { cwd: work });
    expect(orphans.code).toBe(3);
    expect(orphans.stderr).toMatch(/holds Larder data files .* but no larder\.json/);
    const { ["larder.json"]: _gone, ...rest } = before;
    expect(await snapshot(store)).toEqual(rest);
  });

  it("a graph-only target is refused before anything is read or written", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    // Port 1: nothing listens there; the command must fail without trying to connect.
    const r = await larder(["ingest", ".", "--to", "neo4j://user:s3cret@127.0.0.1:1"], { cwd: work });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/ingest writes documents and index structs, vectors, which neo4j:\/\/user:\*\*\*@127\.0\.0\.1:1 cannot hold/);
    expect(r.stderr).toContain("graph=neo4j://user:***@127.0.0.1:1,persist=./storage");
    expect(r.stderr).not.toContain("s3cret");
    expect(r.stderr).not.toMatch(/CONNECTION/);
  });
});

describe("option and filter errors", () => {
  it("-k: '' 0 -1 abc 1e9 above MAX_TOP_K are usage errors naming the range; --filter nesting is reported with its column", async () => {
    const work = await tempDir();
    for (const k of ["", "0", "-1", "abc", "1e9", String(MAX_TOP_K + 1), "2.5"]) {
      const r = await larder(["query", "x", "--from", join(work, "nothing"), "-k", k]);
      expect(r.code, `-k ${JSON.stringify(k)}`).toBe(1);
      expect(r.stderr, `-k ${JSON.stringify(k)}`).toContain(`--top-k must be an integer from 1 to ${MAX_TOP_K}`);
    }
    const deep = await larder(["query", "x", "--from", join(work, "nothing"), "--filter", `${"(".repeat(10_000)}a == 1${")".repeat(10_000)}`]);
    expect(deep.code).toBe(1);
    expect(deep.stderr).toMatch(/^larder: INVALID_ARGUMENT: invalid --filter at column 33: nested deeper than 32 levels/);
    expect(deep.stderr.length).toBeLessThan(1000);
  });
});
