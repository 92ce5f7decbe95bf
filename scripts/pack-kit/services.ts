// Where the real services are (tooling/services, path given by scripts/pack-check.sh) and whether they
// answer. With CI set an unreachable service fails the run; without it the suites are skipped with the reason.
import { pathToFileURL } from "node:url";

const envModule = process.env["LARDER_SERVICES_ENV_MODULE"];
if (!envModule) throw new Error("LARDER_SERVICES_ENV_MODULE is not set (run through scripts/pack-check.sh)");
const services = (await import(pathToFileURL(envModule).href)) as {
  servicesEnv(): Record<string, string>;
  servicesRequired(): boolean;
};
export const env = services.servicesEnv();

/** undefined when reachable, else the reason; throws when CI is set. */
export async function reachable(what: string, probe: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await Promise.race([probe(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 10 s")), 10_000).unref())]);
    return undefined;
  } catch (e) {
    const reason = `${what} unreachable: ${e instanceof Error ? e.message : String(e)}`;
    if (services.servicesRequired()) throw new Error(`${reason} (CI is set: a missing service fails the run)`);
    console.warn(`pack-kit SKIPPED: ${reason}`);
    return reason;
  }
}
