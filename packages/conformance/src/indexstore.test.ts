import { SimpleKVStore } from "@larder/core/kv";
import { KVIndexStore, SimpleIndexStore } from "@larder/core/indexstore";
import { describeIndexStore } from "./indexstore.js";

describeIndexStore({ name: "SimpleIndexStore", create: () => new SimpleIndexStore() });
describeIndexStore({ name: "KVIndexStore (custom namespace)", create: () => new KVIndexStore(new SimpleKVStore(), { namespace: "ns 2" }) });
