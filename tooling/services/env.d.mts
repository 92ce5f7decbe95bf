export interface LarderServicesEnv {
  readonly LARDER_REDIS_URL: string;
  /** Comma-separated host:port seed nodes of the 3-master Redis Cluster. */
  readonly LARDER_REDIS_CLUSTER_NODES: string;
  /** Redis Stack with the query engine (RediSearch) and RedisJSON loaded. */
  readonly LARDER_REDIS_SEARCH_URL: string;
  /** Comma-separated host:port seed nodes of the 3-master Redis Cluster with the query engine. */
  readonly LARDER_REDIS_SEARCH_CLUSTER_NODES: string;
  readonly LARDER_POSTGRES_URL: string;
  readonly LARDER_NEO4J_URL: string;
  readonly LARDER_NEO4J_USER: string;
  readonly LARDER_NEO4J_PASSWORD: string;
  readonly LARDER_S3_ENDPOINT: string;
  readonly LARDER_S3_ACCESS_KEY: string;
  readonly LARDER_S3_SECRET_KEY: string;
  readonly LARDER_S3_BUCKET: string;
  readonly LARDER_S3_REGION: string;
  /** "true": use path-style addressing (http://host:port/bucket/key). */
  readonly LARDER_S3_FORCE_PATH_STYLE: string;
}
/** The built-in loopback defaults. */
export declare const defaults: LarderServicesEnv;
/** Defaults overridden by non-empty LARDER_* variables of `env` (default: process.env). */
export declare function servicesEnv(env?: Record<string, string | undefined>): LarderServicesEnv;
export declare function redisClusterNodes(
  env?: Record<string, string | undefined>,
): { host: string; port: number }[];
/** True when CI is set: an unreachable service must fail the run, never become a skip. */
export declare function servicesRequired(env?: Record<string, string | undefined>): boolean;
export default servicesEnv;
