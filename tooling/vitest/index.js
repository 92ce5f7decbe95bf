// Shared vitest config: resolve workspace packages to their TypeScript sources through the
// "@larder/source" export condition, so unit tests need no build step first.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { defineConfig } from "vitest/config";

/**
 * Driver-major matrix (scripts/driver-matrix.sh): with LARDER_DRIVERS_DIR set to a node_modules
 * folder, every import of ioredis, neo4j-driver and pg that folder holds comes from there instead
 * of the workspace's versions. A folder that holds none of them is an error, not a silent no-op.
 */
function driverAliases() {
  const dir = process.env.LARDER_DRIVERS_DIR;
  if (!dir) return [];
  const root = resolve(dir);
  const aliases = ["ioredis", "neo4j-driver", "pg"]
    .filter((name) => existsSync(join(root, name, "package.json")))
    .map((name) => ({ find: new RegExp(`^${name}$`), replacement: join(root, name) }));
  if (aliases.length === 0) throw new Error(`LARDER_DRIVERS_DIR=${dir} holds none of ioredis, neo4j-driver, pg`);
  return aliases;
}

/** @param {{ integration?: boolean, testTimeout?: number }} [opts] */
export function larderVitestConfig(opts = {}) {
  const alias = driverAliases();
  return defineConfig({
    resolve: { conditions: ["@larder/source"], alias },
    ssr: { resolve: { conditions: ["@larder/source"] } },
    test: {
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      testTimeout: opts.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      // Integration tests share real servers; each test isolates itself by namespace.
      fileParallelism: true,
      pool: "forks",
    },
  });
}
