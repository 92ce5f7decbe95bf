import { larderVitestConfig } from "@larder/vitest-config";
// The CLI tests spawn the real command (Node + tsx start-up each time): allow for a busy machine.
export default larderVitestConfig({ testTimeout: 120_000 });
