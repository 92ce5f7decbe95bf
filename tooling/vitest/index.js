// Shared vitest config: resolve workspace packages to their TypeScript sources through the
// "@larder/source" export condition, so unit tests need no build step first.
import { defineConfig } from "vitest/config";

/** @param {{ integration?: boolean, testTimeout?: number }} [opts] */
export function larderVitestConfig(opts = {}) {
  return defineConfig({
    resolve: { conditions: ["@larder/source"] },
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
