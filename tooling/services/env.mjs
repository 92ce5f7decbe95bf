// Connection details of the test backends started by tooling/services.
// The defaults live in ./env.defaults (shared with env.sh); environment variables override them.
//
//   import { servicesEnv } from "@larder/services/env";
//   const { LARDER_POSTGRES_URL } = servicesEnv();
import { readFileSync } from "node:fs";

/** @returns {Record<string, string>} */
function readDefaults() {
  const text = readFileSync(new URL("./env.defaults", import.meta.url), "utf8");
  /** @type {Record<string, string>} */
  const out = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** The built-in loopback defaults (frozen). */
export const defaults = Object.freeze(readDefaults());

/**
 * The effective connection settings: each LARDER_* key from `env` when set (non-empty), else the default.
 * @param {Record<string, string | undefined>} [env]
 */
export function servicesEnv(env = process.env) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [key, value] of Object.entries(defaults)) {
    const override = env[key];
    out[key] = override !== undefined && override !== "" ? override : value;
  }
  return /** @type {import("./env.d.mts").LarderServicesEnv} */ (Object.freeze(out));
}

/** Redis Cluster seed nodes as {host, port} pairs (from LARDER_REDIS_CLUSTER_NODES). */
export function redisClusterNodes(env = process.env) {
  return servicesEnv(env)
    .LARDER_REDIS_CLUSTER_NODES.split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((hp) => {
      const i = hp.lastIndexOf(":");
      return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
    });
}

/** True when CI is set: a missing service must fail the run, never turn into a skip. */
export function servicesRequired(env = process.env) {
  const ci = env.CI;
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

export default servicesEnv;
