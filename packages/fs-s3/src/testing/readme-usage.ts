// The README's Usage example, with the server, bucket, prefix and credentials as parameters
// (run by readme.int.test.ts). Keep it in step with README.md.
import { TextNode } from "@larder/core/schema";
import { StorageContext } from "@larder/core/storage";
import { S3FileSystem, registerS3Scheme } from "../index.js";

export async function readmeUsage(endpoint: string, bucket: string, prefix: string, credentials: { accessKeyId: string; secretAccessKey: string }) {
  // A file system object, handed to persist() and fromPersistDir()...
  const fs = S3FileSystem.minio({
    endpoint,
    bucket,
    prefix,
    credentials,
  });
  const ctx = await StorageContext.fromDefaults();
  await ctx.docStore.addDocuments([new TextNode({ id: "n1", text: "Hello" })]);
  await ctx.persist("run1", { fs }); // s3://my-bucket/larder/run1/larder.json + component files
  const loaded = await StorageContext.fromPersistDir("run1", { fs });

  // ...or s3:// URLs, once the scheme is registered (at startup, once per process).
  const unregister = registerS3Scheme({ endpoint, forcePathStyle: true }); // credentials from AWS_* env
  try {
    await ctx.persist(`s3://${bucket}/${prefix}/run2`);
    const again = await StorageContext.fromPersistDir(`s3://${bucket}/${prefix}/run2`);
    const keys = await fs.list();
    await fs.close();
    return {
      loaded: (await loaded.docStore.getDocument("n1"))?.getContent(),
      again: (await again.docStore.getDocument("n1"))?.getContent(),
      keys,
    };
  } finally {
    unregister();
  }
}
