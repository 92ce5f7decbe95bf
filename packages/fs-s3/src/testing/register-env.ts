// Imported first by the persistence crash test's child process: registers s3:// with the settings
// of the test server (AWS_* environment variables set by the parent).
import { registerS3Scheme } from "../scheme.js";

registerS3Scheme({ forcePathStyle: true });
