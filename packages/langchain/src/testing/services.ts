// Test-only (excluded from the build): where the shared services from tooling/services are,
// whether they answer (with a deadline, never a sleep), and the CI rule: with CI set an
// unreachable service fails the run, otherwise its tests show as skipped with the reason.
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import pg from "pg";
import { it } from "vitest";
import { servicesEnv, servicesRequired } from "../../../../tooling/services/env.mjs";

process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";

export const env = servicesEnv();
export { servicesRequired };

function deadline(): Promise<never> {
  return new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 5 s")), 5_000).unref());
}

const START = "start it with: bash tooling/services/bin/services.sh up";

export async function probeRedis(): Promise<string | undefined> {
  const c = new Redis(env.LARDER_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  c.on("error", () => {});
  try {
    await Promise.race([c.connect().then(() => c.ping()), deadline()]);
    return undefined;
  } catch (e) {
    return `Redis at ${env.LARDER_REDIS_URL} is unreachable: ${(e as Error).message} (${START})`;
  } finally {
    c.disconnect();
  }
}

/** The Redis server with the query engine (RediSearch), for RedisVectorStore. */
export async function probeRedisSearch(): Promise<string | undefined> {
  const c = new Redis(env.LARDER_REDIS_SEARCH_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  c.on("error", () => {});
  try {
    await Promise.race([c.connect().then(() => c.call("FT._LIST")), deadline()]);
    return undefined;
  } catch (e) {
    return `Redis with the query engine at ${env.LARDER_REDIS_SEARCH_URL} is unreachable or has no FT.* commands: ${(e as Error).message} (${START})`;
  } finally {
    c.disconnect();
  }
}

export async function probePostgres(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: env.LARDER_POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return undefined;
  } catch (e) {
    return `PostgreSQL at ${env.LARDER_POSTGRES_URL.replace(/:[^:@/]*@/, ":***@")} is unreachable: ${(e as Error).message} (${START})`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export function s3Client(): S3Client {
  return new S3Client({
    endpoint: env.LARDER_S3_ENDPOINT,
    region: env.LARDER_S3_REGION,
    forcePathStyle: env.LARDER_S3_FORCE_PATH_STYLE !== "false",
    credentials: { accessKeyId: env.LARDER_S3_ACCESS_KEY, secretAccessKey: env.LARDER_S3_SECRET_KEY },
    maxAttempts: 2,
  });
}

export async function probeS3(): Promise<string | undefined> {
  const c = s3Client();
  try {
    await Promise.race([c.send(new ListObjectsV2Command({ Bucket: env.LARDER_S3_BUCKET, MaxKeys: 1 })), deadline()]);
    return undefined;
  } catch (e) {
    return `S3 server at ${env.LARDER_S3_ENDPOINT} (bucket ${env.LARDER_S3_BUCKET}) is unreachable: ${(e as Error).message} (${START})`;
  } finally {
    c.destroy();
  }
}

/** Registers the tests when the service answers; else one failing test (CI) or one visible skip. */
export function whenReachable(reason: string | undefined, label: string, register: () => void): void {
  if (reason === undefined) register();
  else if (servicesRequired()) {
    it(`${label}: service reachable`, () => {
      throw new Error(reason);
    });
  } else {
    it.skip(`${label} (skipped: ${reason})`, () => {});
  }
}
