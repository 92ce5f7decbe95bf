import { SimplePropertyGraphStore } from "@larder/core/graph";
import { describePropertyGraphStore } from "./graph.js";

// The kit tests itself against core's in-memory store.
describePropertyGraphStore({
  name: "SimplePropertyGraphStore",
  create: () => new SimplePropertyGraphStore(),
  capabilities: { vectorQuery: true, structuredQuery: false },
});
