import { afterAll, expect, it } from "vitest";
import { uniqueNamespace } from "@larder/conformance";
import { readmeUsage } from "./testing/readme-usage.js";
import { clusterNodes, deletePrefix, newClusterClient, newStandaloneClient, probe, standaloneUrl, whenReachable } from "./testing/env.js";

const reasons = [await probe("standalone"), await probe("cluster")].filter((r) => r !== undefined);
const prefix = `${uniqueNamespace("readme")}:`;

whenReachable(reasons[0], "README usage example", () => {
  afterAll(async () => {
    const s = newStandaloneClient();
    const c = newClusterClient();
    await deletePrefix(s, prefix);
    await deletePrefix(c, prefix);
    s.disconnect();
    c.disconnect();
  });

  it("runs as documented", async () => {
    const r = await readmeUsage(standaloneUrl(), clusterNodes().map((n) => `${n.host}:${n.port}`), prefix);
    expect(r.a).toEqual({ n: 1 });
    expect(r.missing).toBeUndefined();
    expect(r.scanned.sort()).toEqual(["a", "b"]);
    expect(r.doc).toBe("n1");
    expect(r.structs).toEqual([]);
    expect(r.lastTwo).toEqual([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello!" },
    ]);
    expect(r.fromCluster).toEqual({ on: "cluster" });
  });
});
