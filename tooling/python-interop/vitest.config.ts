import { larderVitestConfig } from "@larder/vitest-config";
import { mergeConfig } from "vitest/config";

// Python scripts import llama-index (seconds each); files run one at a time to leave CPU to the
// rest of the repository's tests.
export default mergeConfig(larderVitestConfig({ testTimeout: 180_000 }), {
  test: { globalSetup: ["./src/global-setup.ts"], fileParallelism: false, hookTimeout: 30 * 60_000 },
});
