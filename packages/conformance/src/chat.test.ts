import { SimpleChatStore } from "@larder/core/chat";
import { describeChatStore } from "./chat.js";

describeChatStore({ name: "SimpleChatStore", create: () => new SimpleChatStore() });
describeChatStore({
  name: "SimpleChatStore (after a toDict/fromDict round trip)",
  // Every operation goes through a fresh fromDict(toDict()) copy: proves the file shape is lossless.
  create: () => {
    let inner = new SimpleChatStore();
    const cycle = () => (inner = SimpleChatStore.fromDict(JSON.parse(JSON.stringify(inner.toDict()))));
    return new Proxy(inner, {
      get(_t, prop) {
        const v = (inner as unknown as Record<string | symbol, unknown>)[prop];
        if (typeof v !== "function") return v;
        return async (...args: unknown[]) => {
          cycle();
          const r = await (v as (...a: unknown[]) => unknown).apply(inner, args);
          return r;
        };
      },
    });
  },
});
