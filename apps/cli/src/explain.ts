import { isStorageError, StorageError } from "@larder/core";

/**
 * Rewrites the errors of the storage adapters that users of the command meet most into what is
 * wrong and what to do: an S3 location without a region or credentials, a missing bucket, an
 * unreachable Redis or Postgres. The code, store, cause and details are kept; the next step goes
 * to `details.hint` (shown after the message). Any other error is returned as it is.
 */
export function explainError(err: unknown): unknown {
  if (!isStorageError(err)) return err;
  const e = err;
  const d = (e.details ?? {}) as { s3Code?: unknown; bucket?: unknown; key?: unknown };
  const msg = bareMessage(e);
  const store = e.store ?? "";
  const rewrite = (message: string, hint: string) =>
    new StorageError(e.code, message, { ...(e.store ? { store: e.store } : {}), cause: e, details: { ...e.details, hint } });

  if (store.startsWith("S3FileSystem") || typeof d.s3Code === "string") {
    const where = typeof d.bucket === "string" ? `s3://${d.bucket}${typeof d.key === "string" ? `/${d.key}` : ""}` : "the s3:// location";
    if (/Region is missing|region="" is not a valid/i.test(msg)) {
      return rewrite(
        `no AWS region is configured, so ${where} cannot be reached`,
        "set AWS_REGION (e.g. AWS_REGION=us-east-1; any region works for MinIO and other S3-compatible servers) or add ?region=<region> to the s3:// URL",
      );
    }
    if (d.s3Code === "CredentialsProviderError") {
      return rewrite(
        `no S3 credentials were found for ${where}`,
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE for a profile in ~/.aws)",
      );
    }
    if (d.s3Code === "NoSuchBucket" && typeof d.bucket === "string") {
      const endpoint = process.env["AWS_ENDPOINT_URL_S3"] ?? process.env["AWS_ENDPOINT_URL"];
      return rewrite(
        `bucket ${JSON.stringify(d.bucket)} does not exist${endpoint ? ` on ${endpoint}` : ""}`,
        "create the bucket, or fix its name in the URL (s3://<bucket>/<prefix>)" + (endpoint ? "" : "; for an S3-compatible server set AWS_ENDPOINT_URL_S3 or add ?endpoint=<url>"),
      );
    }
    if (e.code === "CONNECTION" && /rejected the credentials|denied access/.test(msg)) {
      return rewrite(msg.replace(/; check the access key id.*$/, ""), "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and that they may read and write the bucket");
    }
    return err;
  }

  if (store.startsWith("Redis") && e.code === "CONNECTION" && /unreachable/i.test(msg)) {
    // "getAll: Redis is unreachable (<client internals>); the outcome of a write ... is unknown"
    const op = /^(\w+):/.exec(msg)?.[1];
    const write = op !== undefined && !READ_OPS.has(op);
    return rewrite(
      `Redis is unreachable${op ? ` (${op})` : ""}${write ? "; a write in flight may or may not have been applied" : ""}`,
      "check that Redis is running and that the host, port and password in the redis:// URL are right",
    );
  }
  if (e.code === "CONNECTION" && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|timeout/i.test(msg)) {
    const server = store.startsWith("Postgres") ? "PostgreSQL" : store.startsWith("Neo4j") ? "Neo4j" : "the server";
    return rewrite(msg, `check that ${server} is running and that the host and port in the store URL are right`);
  }
  return err;
}

/** Redis operations that only read: their failure changed nothing. */
const READ_OPS = new Set(["get", "getMany", "getAll", "scan", "collections", "keys", "exists", "count", "getMessages", "getKeys", "ping"]);

/** The message without core's `[store] CODE: ` prefix. */
export function bareMessage(e: StorageError): string {
  let m = e.message;
  if (e.store && m.startsWith(`[${e.store}] `)) m = m.slice(e.store.length + 3);
  if (m.startsWith(`${e.code}: `)) m = m.slice(e.code.length + 2);
  return m;
}
