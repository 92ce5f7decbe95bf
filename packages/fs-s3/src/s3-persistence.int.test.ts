// The kit's persistence suite on the S3 server from tooling/services: every test persists under
// its own key prefix; the crash test SIGKILLs child processes that persist to an s3:// URL.
import { pathToFileURL } from "node:url";
import { describePersistence } from "@larder/conformance/persistence";
import { afterAll } from "vitest";
import { registerS3Scheme } from "./scheme.js";
import type { S3FileSystem } from "./s3-file-system.js";
import { awsEnvVars, deletePrefix, newClient, probe, s3Env, testFileSystem, uniquePrefix, whenReachable } from "./testing/env.js";

const reason = await probe();
const admin = newClient();
const crashPrefixes: string[] = [];

whenReachable(reason, "S3 persistence", () => {
  const e = s3Env();
  // The parent reloads the crash test's s3:// URLs with the same settings the child gets via env.
  const unregister = registerS3Scheme({
    endpoint: e.endpoint,
    region: e.region,
    forcePathStyle: e.forcePathStyle,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
  });
  afterAll(async () => {
    unregister();
    for (const p of crashPrefixes.splice(0)) await deletePrefix(admin, `${p}/`);
    admin.destroy();
  });

  describePersistence({
    name: "S3FileSystem (tooling/services S3 server)",
    create: () => ({ fs: testFileSystem(uniquePrefix("persist")), dir: "storage" }),
    dispose: async ({ fs }) => {
      const s3 = fs as S3FileSystem;
      await deletePrefix(admin, `${s3.prefix}/`);
      await s3.close();
    },
    capabilities: {
      crash: {
        dirUrl: () => {
          const p = uniquePrefix("crash");
          crashPrefixes.push(p);
          return `s3://${e.bucket}/${p}`;
        },
        // The child registers s3:// from the AWS_* variables below (endpoint: AWS_ENDPOINT_URL_S3).
        childImports: [pathToFileURL(new URL("./testing/register-env.ts", import.meta.url).pathname).href],
        env: awsEnvVars(),
        // Each kill starts a TypeScript child (~1 s on 2 cores): 60 by default keeps the package's
        // tests near a minute; LARDER_CRASH_KILLS=200 is the kit's full default (run: 200 kills, 213 s).
        kills: Number(process.env["LARDER_CRASH_KILLS"] ?? 60),
      },
    },
  });
});
