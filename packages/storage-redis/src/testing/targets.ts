// Test-only set-up shared by the integration test files (excluded from the build): the deployments
// each file runs against, and cleanup of the prefixes a describe block hands out.
import { afterAll } from "vitest";
import { uniqueNamespace } from "@larder/conformance";
import type { RedisClient } from "../client.js";
import { deletePrefix, newClusterClient, newStandaloneClient, probe } from "./env.js";

/**
 * The standalone server and the cluster, each with its probe result (undefined when it answers,
 * else the reason for `whenReachable`) and a client of its own, disconnected after the file.
 * Call once, at the top level of a test file.
 */
export async function redisTargets() {
  const targets = [
    { label: "standalone", reason: await probe("standalone"), client: newStandaloneClient() },
    { label: "cluster", reason: await probe("cluster"), client: newClusterClient() },
  ] as const;
  afterAll(() => {
    for (const t of targets) t.client.disconnect();
  });
  return targets;
}

/**
 * Prefixes for the stores of one describe block, all deleted after the block. Called without an
 * argument it returns a fresh `<namespace>:` prefix; called with a prefix built elsewhere (a
 * `{hash tag}` one, say) it records that one for cleanup and returns it.
 */
export function cleanedPrefixes(client: RedisClient, tag: string): (prefix?: string) => string {
  const used: string[] = [];
  afterAll(async () => {
    await Promise.all(used.map((p) => deletePrefix(client, p)));
  });
  return (prefix = `${uniqueNamespace(tag)}:`) => {
    used.push(prefix);
    return prefix;
  };
}
