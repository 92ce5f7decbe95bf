// Connection details and reachability of the test Neo4j (tooling/services). With CI set, an
// unreachable server fails the run (the import throws); without it the integration suites are
// skipped with a visible reason.
import neo4j, { type Driver } from "neo4j-driver";
import { servicesEnv, servicesRequired } from "../../../../tooling/services/env.mjs";

const env = servicesEnv();
export const NEO4J_URL = env.LARDER_NEO4J_URL;
export const NEO4J_USER = env.LARDER_NEO4J_USER;
export const NEO4J_PASSWORD = env.LARDER_NEO4J_PASSWORD;

export function testDriver(): Driver {
  return neo4j.driver(NEO4J_URL, neo4j.auth.basic(NEO4J_USER, NEO4J_PASSWORD), {
    connectionAcquisitionTimeout: 15_000,
    connectionTimeout: 5_000,
    maxTransactionRetryTime: 10_000,
  });
}

async function probe(): Promise<string | undefined> {
  const d = testDriver();
  try {
    await d.getServerInfo();
    return undefined;
  } catch (e) {
    return `Neo4j unreachable at ${NEO4J_URL}: ${(e as Error).message}`;
  } finally {
    await d.close();
  }
}

const problem = await probe();
if (problem && servicesRequired()) {
  throw new Error(`${problem} (CI is set: a missing service fails the run; start it with \`bash tooling/services/bin/services.sh up neo4j\`)`);
}
/** Why integration tests are skipped, or undefined when Neo4j is reachable. */
export const SKIP_REASON: string | undefined = problem;
