import { describeFileSystem } from "@larder/conformance/fs";
import { S3FileSystem } from "./s3-file-system.js";
import { deletePrefix, honoursUrlEncodedListing, newClient, probe, testFileSystem, whenReachable } from "./testing/env.js";

const reason = await probe();
const urlListing = reason === undefined && (await honoursUrlEncodedListing());
const admin = newClient();

whenReachable(reason, "S3FileSystem", () => {
  describeFileSystem({
    name: "S3FileSystem (tooling/services S3 server)",
    // Small parts and threshold, so the kit's 12 MB file goes through a multipart upload.
    create: () => testFileSystem(undefined, { partSize: 5 * 1024 * 1024, multipartThreshold: 8 * 1024 * 1024 }),
    capabilities: { contentEtags: true },
    skip: urlListing ? {} : {
      "fs.list.sorted-recursive":
        "this server ignores ListObjectsV2 encoding-type=url (versitygw 1.8: versity/versitygw#813), and its XML replaces U+FFFF in listed keys with U+FFFD; sort order is checked without that key in s3-extra.int.test.ts",
    },
    dispose: async (fs) => {
      const s3 = fs as S3FileSystem;
      await deletePrefix(admin, `${s3.prefix}/`);
      await s3.close();
    },
  });
});
