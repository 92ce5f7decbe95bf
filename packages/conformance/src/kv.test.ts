import { SimpleKVStore } from "@larder/core/kv";
import { describeKVStore } from "./kv.js";

describeKVStore({ name: "SimpleKVStore", create: () => new SimpleKVStore() });
