import pg from "pg";

/**
 * Connection settings for the integration tests: tooling/services/env.mjs (the one place the
 * defaults live), loaded by URL so the package's TypeScript project stays self-contained.
 */
interface ServicesEnvModule {
  servicesEnv(): Record<string, string>;
  servicesRequired(): boolean;
}
const envModule = (await import(new URL("../../../../tooling/services/env.mjs", import.meta.url).href)) as ServicesEnvModule;

export const POSTGRES_URL: string = envModule.servicesEnv()["LARDER_POSTGRES_URL"]!;
/** CI set: an unreachable service fails the run instead of skipping. */
export const SERVICES_REQUIRED: boolean = envModule.servicesRequired();

/**
 * `undefined` when Postgres answers; otherwise the reason to skip (outside CI). Under CI an
 * unreachable server throws, which fails the test file.
 */
export async function postgresSkipReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (e) {
    const reason = `PostgreSQL not reachable at ${POSTGRES_URL.replace(/:[^:@/]*@/, ":***@")} (${(e as Error).message}); start it with \`bash tooling/services/bin/services.sh up postgres\``;
    if (SERVICES_REQUIRED) throw new Error(`CI is set and ${reason}`);
    return reason;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One pool shared by a test file (closed in afterAll). */
export function testPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 6, connectionTimeoutMillis: 5000 });
  pool.on("error", () => {});
  return pool;
}
