import { expect, it } from "vitest";
import { readmeUsage } from "./testing/readme-usage.js";
import { awsEnvVars, deletePrefix, newClient, probe, s3Env, uniquePrefix, whenReachable } from "./testing/env.js";

const reason = await probe();

whenReachable(reason, "README usage example", () => {
  it("runs as documented", async () => {
    const e = s3Env();
    const prefix = uniquePrefix("readme");
    // The example reads credentials for s3:// URLs from the AWS_* environment, as documented.
    const vars = awsEnvVars();
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    Object.assign(process.env, vars);
    const admin = newClient();
    try {
      const r = await readmeUsage(e.endpoint, e.bucket, prefix, { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey });
      expect(r.loaded).toBe("Hello");
      expect(r.again).toBe("Hello");
      expect(r.keys).toContain("run1/larder.json");
      expect(r.keys).toContain("run2/larder.json");
      expect(r.keys.filter((k) => k.endsWith("/"))).toEqual([]);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await deletePrefix(admin, `${prefix}/`);
      admin.destroy();
    }
  });
});
