// Where the shared test services are (tooling/services) and whether they answer. With CI set, an
// unreachable service is a failing test; otherwise a visibly skipped one with the reason.
import { randomUUID } from "node:crypto";
import { DeleteObjectsCommand, HeadBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import pg from "pg";
import { it } from "vitest";
import { servicesEnv, servicesRequired } from "../../../../tooling/services/env.mjs";

export const env = servicesEnv();

/** The AWS SDK environment an app would set for the S3 server of tooling/services. */
export function awsEnvVars(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: env.LARDER_S3_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: env.LARDER_S3_SECRET_KEY,
    AWS_REGION: env.LARDER_S3_REGION,
    AWS_ENDPOINT_URL_S3: env.LARDER_S3_ENDPOINT,
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
  };
}

export function newS3Client(): S3Client {
  return new S3Client({
    endpoint: env.LARDER_S3_ENDPOINT,
    region: env.LARDER_S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: env.LARDER_S3_ACCESS_KEY, secretAccessKey: env.LARDER_S3_SECRET_KEY },
    maxAttempts: 2,
  });
}

export async function probeS3(): Promise<string | undefined> {
  const c = newS3Client();
  try {
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 5 s")), 5_000).unref());
    await Promise.race([c.send(new HeadBucketCommand({ Bucket: env.LARDER_S3_BUCKET })), deadline]);
    return undefined;
  } catch (e) {
    return `S3 at ${env.LARDER_S3_ENDPOINT} (bucket ${env.LARDER_S3_BUCKET}) is unreachable: ${(e as Error).message} (start it with: bash tooling/services/bin/services.sh up)`;
  } finally {
    c.destroy();
  }
}

/** Deletes every object under `prefix` of the test bucket. */
export async function deleteS3Prefix(prefix: string): Promise<void> {
  const c = newS3Client();
  try {
    let token: string | undefined;
    do {
      const page = await c.send(new ListObjectsV2Command({ Bucket: env.LARDER_S3_BUCKET, Prefix: prefix, ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length) await c.send(new DeleteObjectsCommand({ Bucket: env.LARDER_S3_BUCKET, Delete: { Objects: keys } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    c.destroy();
  }
}

export function uniqueTag(kind: string): string {
  return `li_${kind}_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

export async function probeRedis(): Promise<string | undefined> {
  const r = new Redis(env.LARDER_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 5000 });
  r.on("error", () => {});
  try {
    await r.connect();
    await r.ping();
    return undefined;
  } catch (e) {
    return `Redis at ${env.LARDER_REDIS_URL} is unreachable: ${(e as Error).message} (start it with: bash tooling/services/bin/services.sh up)`;
  } finally {
    r.disconnect();
  }
}

export async function probePostgres(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: env.LARDER_POSTGRES_URL, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return undefined;
  } catch (e) {
    return `PostgreSQL is unreachable: ${(e as Error).message} (start it with: bash tooling/services/bin/services.sh up)`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Deletes every Redis key under `prefix`. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const r = new Redis(env.LARDER_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await r.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    r.disconnect();
  }
}

/** Drops the tables of a `postgres://...?namespace=ns` store. */
export async function dropPostgresNamespace(ns: string): Promise<void> {
  const c = new pg.Client({ connectionString: env.LARDER_POSTGRES_URL });
  await c.connect();
  try {
    for (const t of ["kv", "vectors", "chat"]) await c.query(`DROP TABLE IF EXISTS "${ns}_${t}" CASCADE`);
  } finally {
    await c.end();
  }
}

export function whenReachable(reason: string | undefined, label: string, register: () => void): void {
  if (reason === undefined) register();
  else if (servicesRequired()) {
    it(`${label}: service reachable`, () => {
      throw new Error(reason);
    });
  } else it.skip(`${label} (skipped: ${reason})`, () => {});
}
