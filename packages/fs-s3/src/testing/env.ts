// Test-only helpers (excluded from the build): where the shared S3 server is (tooling/services),
// whether it answers, per-test prefixes and their cleanup.
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { it } from "vitest";
import { servicesEnv, servicesRequired } from "../../../../tooling/services/env.mjs";
import { S3FileSystem, type S3FileSystemOptions } from "../s3-file-system.js";

export { servicesRequired };

// The SDK warns once per process that it will need Node 22 in 2027; tests run on Node 20.
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";

export interface S3TestEnv {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  region: string;
  forcePathStyle: boolean;
}

export function s3Env(): S3TestEnv {
  const e = servicesEnv();
  return {
    endpoint: e.LARDER_S3_ENDPOINT,
    accessKeyId: e.LARDER_S3_ACCESS_KEY,
    secretAccessKey: e.LARDER_S3_SECRET_KEY,
    bucket: e.LARDER_S3_BUCKET,
    region: e.LARDER_S3_REGION,
    forcePathStyle: e.LARDER_S3_FORCE_PATH_STYLE !== "false",
  };
}

/** The same settings as the AWS SDK's environment variables (for child processes and s3:// URLs). */
export function awsEnvVars(): Record<string, string> {
  const e = s3Env();
  return {
    AWS_ACCESS_KEY_ID: e.accessKeyId,
    AWS_SECRET_ACCESS_KEY: e.secretAccessKey,
    AWS_REGION: e.region,
    AWS_ENDPOINT_URL_S3: e.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
}

export function newClient(overrides: Partial<S3TestEnv> = {}, maxAttempts = 2): S3Client {
  const e = { ...s3Env(), ...overrides };
  return new S3Client({
    endpoint: e.endpoint,
    region: e.region,
    forcePathStyle: e.forcePathStyle,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    maxAttempts,
  });
}

let counter = 0;
/** A unique key prefix for one test: `larder-fs-s3/<tag>-<time>-<pid>-<n>-<rand>`. */
export function uniquePrefix(tag = "t"): string {
  counter += 1;
  return `larder-fs-s3/${tag}-${Date.now().toString(36)}-${process.pid.toString(36)}-${counter}-${Math.random().toString(36).slice(2, 7)}`;
}

/** A file system on the test bucket under a fresh prefix (MinIO preset: path-style, endpoint). */
export function testFileSystem(prefix = uniquePrefix(), extra: Partial<S3FileSystemOptions> = {}): S3FileSystem {
  const e = s3Env();
  return S3FileSystem.minio({
    endpoint: e.endpoint,
    region: e.region,
    bucket: e.bucket,
    prefix,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    ...extra,
  });
}

/** Every raw key under `prefix` in the test bucket (paginated), straight from the client. */
export async function rawKeys(client: S3Client, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3Env().bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Deletes every object under `prefix` (a test's own prefix only). */
export async function deletePrefix(client: S3Client, prefix: string): Promise<void> {
  if (!prefix.startsWith("larder-fs-s3/")) throw new Error(`refusing to clean ${prefix}`);
  const keys = await rawKeys(client, prefix);
  for (let i = 0; i < keys.length; i += 1000) {
    await client.send(
      new DeleteObjectsCommand({ Bucket: s3Env().bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }),
    );
  }
}

/** One authenticated listing with a deadline; undefined when the server answers, else the reason. */
export async function probe(): Promise<string | undefined> {
  const e = s3Env();
  const client = newClient({}, 1);
  try {
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 5 s")), 5_000).unref());
    await Promise.race([client.send(new ListObjectsV2Command({ Bucket: e.bucket, MaxKeys: 1 })), deadline]);
    return undefined;
  } catch (err) {
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return `S3 server at ${e.endpoint} (bucket ${e.bucket}) is unreachable: ${what} (start it with: bash tooling/services/bin/services.sh up)`;
  } finally {
    client.destroy();
  }
}

/**
 * Registers the tests when the server answers. When it does not: with CI set, one failing test
 * (an unreachable service must fail the run); otherwise one visibly skipped test with the reason.
 */
export function whenReachable(reason: string | undefined, label: string, register: () => void): void {
  if (reason === undefined) {
    register();
  } else if (servicesRequired()) {
    it(`${label}: S3 service reachable`, () => {
      throw new Error(reason);
    });
  } else {
    it.skip(`${label} (skipped: ${reason})`, () => {});
  }
}

/** Whether the server honours ListObjectsV2 `encoding-type=url` (AWS does; versitygw 1.8 does not). */
export async function honoursUrlEncodedListing(): Promise<boolean> {
  const client = newClient({}, 1);
  try {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3Env().bucket, MaxKeys: 1, EncodingType: "url" }));
    return page.EncodingType === "url";
  } finally {
    client.destroy();
  }
}
