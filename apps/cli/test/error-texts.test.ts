// What the command says when a store cannot be reached: no service is needed (an unused port, an
// S3 URL without a region), so these run everywhere.
import { errors, StorageError } from "@larder/core";
import { afterAll, describe, expect, it } from "vitest";
import { explainError } from "../src/explain.js";
import { cleanupTemp, larder, tempDir } from "./helpers.js";

afterAll(cleanupTemp);

const REPO_ADVICE = /pnpm|services:status|services\.sh/;

describe("error texts", () => {
  it("a down Redis: what is wrong and what to do, no client internals, no write-outcome warning on a read", async () => {
    for (const args of [["inspect", "redis://127.0.0.1:1"], ["query", "x", "--from", "redis://127.0.0.1:1"]]) {
      const r = await larder(args);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/CONNECTION: Redis is unreachable/);
      expect(r.stderr).toMatch(/check that Redis is running/);
      expect(r.stderr).not.toMatch(/maxRetriesPerRequest|outcome of a write/);
      expect(r.stderr).not.toMatch(REPO_ADVICE);
    }
  });

  it("a down Postgres names the server to check and never the repository's scripts", async () => {
    const r = await larder(["inspect", "postgres://u:p4ss@127.0.0.1:1/db"]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/check that PostgreSQL is running/);
    expect(r.stderr).not.toMatch(REPO_ADVICE);
    expect(r.stderr).not.toContain("p4ss");
  });

  it("S3 without a region says to set AWS_REGION; the AWS SDK prints no notices", async () => {
    const home = await tempDir();
    const r = await larder(["inspect", "s3://some-bucket/prefix"], {
      env: { HOME: home, AWS_REGION: "", AWS_DEFAULT_REGION: "", AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s", AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1", AWS_CONFIG_FILE: `${home}/none` },
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/no AWS region is configured/);
    expect(r.stderr).toMatch(/set AWS_REGION/);
    expect(r.stderr).not.toMatch(/Region is missing|NodeVersionSupportWarning|Warning:/);
    expect(r.stderr.trim().split("\n")).toHaveLength(2);
  });

  it("adapter errors are rewritten with a next step; other errors pass through unchanged", () => {
    const noCreds = explainError(errors.connection("stat s3://b/p/larder.json: the S3 server rejected the credentials or denied access (CredentialsProviderError); check the access key id, secret and the bucket's permissions", { store: "S3FileSystem(s3://b/p)", details: { bucket: "b", key: "p/larder.json", s3Code: "CredentialsProviderError" } })) as StorageError;
    expect(noCreds.message).toMatch(/no S3 credentials were found for s3:\/\/b\/p\/larder\.json/);
    expect(noCreds.details?.["hint"]).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    expect(noCreds.code).toBe("CONNECTION");
    const bucket = explainError(errors.notFound(`bucket "b" does not exist (check bucket bucket "b")`, { store: "S3FileSystem(s3://b/p)", details: { bucket: "b", s3Code: "NoSuchBucket" } })) as StorageError;
    expect(bucket.message).not.toMatch(/bucket bucket/);
    expect(bucket.details?.["hint"]).toMatch(/create the bucket/);
    const write = explainError(errors.connection(`putAll: Redis is unreachable (Reached the max retries per request limit (which is 0). Refer to "maxRetriesPerRequest" option for details.); the outcome of a write that failed this way is unknown`, { store: "RedisKVStore" })) as StorageError;
    expect(write.message).toMatch(/Redis is unreachable \(putAll\); a write in flight may or may not have been applied/);
    const other = errors.corrupt("x");
    expect(explainError(other)).toBe(other);
  });
});
