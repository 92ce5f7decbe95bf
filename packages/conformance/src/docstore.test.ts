import { SimpleKVStore } from "@larder/core/kv";
import { KVDocumentStore, SimpleDocumentStore } from "@larder/core/docstore";
import { describeDocStore } from "./docstore.js";

describeDocStore({ name: "SimpleDocumentStore", create: () => new SimpleDocumentStore() });
describeDocStore({
  name: "KVDocumentStore (custom namespace over SimpleKVStore)",
  create: () => new KVDocumentStore(new SimpleKVStore(), { namespace: "custom ns", batchSize: 3 }),
});
