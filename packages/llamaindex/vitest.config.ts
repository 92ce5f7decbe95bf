import { larderVitestConfig } from "@larder/vitest-config";
export default larderVitestConfig();
