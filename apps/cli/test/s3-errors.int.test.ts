// What `larder` says about S3 locations it cannot use, against the S3 server of tooling/services.
import { randomBytes } from "node:crypto";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { servicesEnv, servicesRequired } from "@larder/services/env";
import { cleanupTemp, larder, tempDir } from "./helpers.js";

process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
const env = servicesEnv();
const good = {
  AWS_ACCESS_KEY_ID: env.LARDER_S3_ACCESS_KEY,
  AWS_SECRET_ACCESS_KEY: env.LARDER_S3_SECRET_KEY,
  AWS_REGION: env.LARDER_S3_REGION,
  AWS_ENDPOINT_URL_S3: env.LARDER_S3_ENDPOINT,
};

async function probe(): Promise<string | undefined> {
  const s3 = new S3Client({
    region: env.LARDER_S3_REGION,
    endpoint: env.LARDER_S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: env.LARDER_S3_ACCESS_KEY, secretAccessKey: env.LARDER_S3_SECRET_KEY },
  });
  try {
    await s3.send(new ListObjectsV2Command({ Bucket: env.LARDER_S3_BUCKET, MaxKeys: 1 }), { abortSignal: AbortSignal.timeout(5000) });
    return undefined;
  } catch (e) {
    return `S3 at ${env.LARDER_S3_ENDPOINT}: ${(e as Error).message} (start it with: bash tooling/services/bin/services.sh up)`;
  } finally {
    s3.destroy();
  }
}

const unreachable = await probe();
afterAll(cleanupTemp);

if (unreachable !== undefined && !servicesRequired()) {
  describe.skip(`S3 error texts (skipped: ${unreachable})`, () => {
    it("needs S3", () => {});
  });
} else {
  describe("S3 error texts", () => {
    it("a missing bucket, refused credentials and no credentials each say what is wrong and what to do", async () => {
      const bucket = `nobucket-${randomBytes(4).toString("hex")}`;
      const missing = await larder(["inspect", `s3://${bucket}/x`], { env: good });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(new RegExp(`NOT_FOUND: bucket "${bucket}" does not exist on ${env.LARDER_S3_ENDPOINT.replace(/[.]/g, "\\.")}`));
      expect(missing.stderr).toMatch(/-> create the bucket, or fix its name in the URL/);
      expect(missing.stderr).not.toMatch(/bucket bucket|Warning/);

      const refused = await larder(["inspect", `s3://${env.LARDER_S3_BUCKET}/x`], { env: { ...good, AWS_SECRET_ACCESS_KEY: "wrong-secret-123" } });
      expect(refused.code).toBe(4);
      expect(refused.stderr).toMatch(/rejected the credentials or denied access/);
      expect(refused.stderr).toMatch(/-> check AWS_ACCESS_KEY_ID \/ AWS_SECRET_ACCESS_KEY/);
      expect(refused.stderr).not.toContain("wrong-secret-123");

      const home = await tempDir();
      const none = await larder(["inspect", `s3://${env.LARDER_S3_BUCKET}/x`], {
        env: {
          ...good,
          AWS_ACCESS_KEY_ID: "",
          AWS_SECRET_ACCESS_KEY: "",
          HOME: home,
          AWS_CONFIG_FILE: `${home}/none`,
          AWS_SHARED_CREDENTIALS_FILE: `${home}/none`,
          AWS_EC2_METADATA_DISABLED: "true",
        },
      });
      expect(none.code).toBe(4);
      expect(none.stderr).toMatch(/no S3 credentials were found for s3:\/\//);
      expect(none.stderr).toMatch(/-> set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    });
  });
}
