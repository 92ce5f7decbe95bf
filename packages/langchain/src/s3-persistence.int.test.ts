// A LangChain app's Larder StorageContext persisted to the S3 server from tooling/services and
// loaded back, in this process and in a new one: the same LangChain calls give the same answers
// (vector search with and without a filter, chat history, the embedding cache). With CI set an
// unreachable server fails the run.
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DeleteObjectsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, expect, it } from "vitest";
import { uniqueNamespace } from "@larder/conformance";
import { StorageContext } from "@larder/core/storage";
import { build, query, s3FileSystem } from "./testing/persisted-app.js";
import { env, probeS3, s3Client, whenReachable } from "./testing/services.js";

const run = promisify(execFile);
const reason = await probeS3();

/** tsx, through the kit package that depends on it (this package does not). */
function tsxPath(): string {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve("@larder/conformance/package.json")).resolve("tsx");
}

whenReachable(reason, "S3 persistence under the LangChain adapters", () => {
  const prefix = `larder-langchain/${uniqueNamespace("persist")}`;
  const fs = s3FileSystem(prefix);
  const admin = s3Client();
  afterAll(async () => {
    const page = await admin.send(new ListObjectsV2Command({ Bucket: env.LARDER_S3_BUCKET, Prefix: `${prefix}/` }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length) await admin.send(new DeleteObjectsCommand({ Bucket: env.LARDER_S3_BUCKET, Delete: { Objects: keys, Quiet: true } }));
    admin.destroy();
    await fs.close();
  });

  it("persist, reload (here and in a new process), query again: same results, cached embeddings not recomputed", async () => {
    const before = await query(await build(fs));
    expect(before.plain).toHaveLength(5);
    expect(before.filtered.length).toBeGreaterThan(0);
    expect(before.embedderCallsForCachedTexts).toBe(0);

    const reloaded = await query(await StorageContext.fromPersistDir("storage", { fs }));
    expect(reloaded).toEqual(before);

    const child = fileURLToPath(new URL("./testing/persisted-app.ts", import.meta.url));
    const { stdout } = await run(process.execPath, ["--conditions=@larder/source", "--import", tsxPath(), child, prefix], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(JSON.parse(stdout)).toEqual(before);
  }, 120_000);
});
