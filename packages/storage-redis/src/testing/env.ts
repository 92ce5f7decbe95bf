// Test-only helpers (excluded from the build): where the shared Redis services are, whether they
// answer, and cleanup of a test's prefix. Connection details come from tooling/services (env vars
// with loopback defaults), read in one place.
import { Cluster, Redis } from "ioredis";
import { it } from "vitest";
import { redisClusterNodes, servicesEnv, servicesRequired } from "../../../../tooling/services/env.mjs";
import { failFastRedisOptions, type RedisClient } from "../client.js";

export { servicesRequired };

export function standaloneUrl(): string {
  return servicesEnv().LARDER_REDIS_URL;
}

export function clusterNodes(): { host: string; port: number }[] {
  return redisClusterNodes();
}

export function newStandaloneClient(): Redis {
  const c = new Redis(standaloneUrl(), { ...failFastRedisOptions });
  c.on("error", () => {});
  return c;
}

export function newClusterClient(): Cluster {
  const c = new Cluster(clusterNodes(), {
    lazyConnect: true,
    redisOptions: { ...failFastRedisOptions },
    clusterRetryStrategy: (times) => Math.min(times * 100, 1000),
  });
  c.on("error", () => {});
  return c;
}

/**
 * Pings the service with a deadline (never a sleep). Resolves undefined when it answers, else the
 * reason. A cluster must also report cluster_state:ok.
 */
export async function probe(kind: "standalone" | "cluster"): Promise<string | undefined> {
  const client: RedisClient = kind === "standalone" ? newStandaloneClient() : newClusterClient();
  const where = kind === "standalone" ? standaloneUrl() : servicesEnv().LARDER_REDIS_CLUSTER_NODES;
  try {
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 5 s")), 5_000).unref());
    await Promise.race([client.ping(), deadline]);
    if (kind === "cluster") {
      const info = String(await Promise.race([(client as Cluster).cluster("INFO"), deadline]));
      if (!info.includes("cluster_state:ok")) return `Redis Cluster at ${where} is not healthy (cluster_state is not ok)`;
      const masters = (client as Cluster).nodes("master").length;
      if (masters < 3) return `Redis Cluster at ${where} has ${masters} masters, expected 3`;
    }
    return undefined;
  } catch (e) {
    return `Redis ${kind} at ${where} is unreachable: ${e instanceof Error ? e.message : String(e)} (start it with: bash tooling/services/bin/services.sh up)`;
  } finally {
    client.disconnect();
  }
}

/**
 * Registers the suites when the service answers. When it does not: with CI set, one failing test
 * (an unreachable service must fail the run); otherwise one visibly skipped test with the reason.
 */
export function whenReachable(reason: string | undefined, label: string, register: () => void): void {
  if (reason === undefined) {
    register();
  } else if (servicesRequired()) {
    it(`${label}: service reachable`, () => {
      throw new Error(reason);
    });
  } else {
    it.skip(`${label} (skipped: ${reason})`, () => {});
  }
}

/** Deletes every key under `prefix` (all types), on every master of a cluster. */
export async function deletePrefix(client: RedisClient, prefix: string): Promise<void> {
  const nodes = client.isCluster ? (client as Cluster).nodes("master") : [client as Redis];
  const pattern = `${prefix.replace(/[\\*?[\]]/g, (c) => `\\${c}`)}*`;
  await Promise.all(
    nodes.map(async (node) => {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        // Keys come from this very node, so deleting through it never crosses a slot owner.
        if (keys.length) await Promise.all(keys.map((k) => node.unlink(k)));
      } while (cursor !== "0");
    }),
  );
}

/** The Redis with the query engine (tooling/services `redis-search`). */
export function searchUrl(): string {
  return servicesEnv().LARDER_REDIS_SEARCH_URL;
}

export function newSearchClient(): Redis {
  const c = new Redis(searchUrl(), { ...failFastRedisOptions });
  c.on("error", () => {});
  return c;
}

/** Like {@link probe}, for the query-engine server: PING, then FT._LIST must be a known command. */
export async function probeSearch(): Promise<string | undefined> {
  const client = newSearchClient();
  try {
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 5 s")), 5_000).unref());
    await Promise.race([client.ping(), deadline]);
    await Promise.race([client.call("FT._LIST"), deadline]);
    return undefined;
  } catch (e) {
    return `Redis with the query engine at ${searchUrl()} is unreachable or has no FT.* commands: ${e instanceof Error ? e.message : String(e)} (start it with: bash tooling/services/bin/services.sh up redis-search)`;
  } finally {
    client.disconnect();
  }
}

/** Seed nodes of the Redis Cluster with the query engine (tooling/services `redis-search-cluster`). */
export function searchClusterNodes(): { host: string; port: number }[] {
  return servicesEnv()
    .LARDER_REDIS_SEARCH_CLUSTER_NODES.split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((hp) => ({ host: hp.slice(0, hp.lastIndexOf(":")), port: Number(hp.slice(hp.lastIndexOf(":") + 1)) }));
}

export function newSearchClusterClient(): Cluster {
  const c = new Cluster(searchClusterNodes(), {
    lazyConnect: true,
    redisOptions: { ...failFastRedisOptions },
    clusterRetryStrategy: (times) => Math.min(times * 100, 1000),
  });
  c.on("error", () => {});
  return c;
}

/** Like {@link probeSearch}, for the cluster: cluster_state:ok and FT._LIST on a node. */
export async function probeSearchCluster(): Promise<string | undefined> {
  const client = newSearchClusterClient();
  const where = servicesEnv().LARDER_REDIS_SEARCH_CLUSTER_NODES;
  try {
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 5 s")), 5_000).unref());
    await Promise.race([client.ping(), deadline]);
    const info = String(await Promise.race([client.cluster("INFO"), deadline]));
    if (!info.includes("cluster_state:ok")) return `Redis Cluster with the query engine at ${where} is not healthy (cluster_state is not ok)`;
    await Promise.race([client.call("FT._LIST"), deadline]);
    return undefined;
  } catch (e) {
    return `Redis Cluster with the query engine at ${where} is unreachable or has no FT.* commands: ${e instanceof Error ? e.message : String(e)} (start it with: bash tooling/services/bin/services.sh up redis-search-cluster)`;
  } finally {
    client.disconnect();
  }
}
