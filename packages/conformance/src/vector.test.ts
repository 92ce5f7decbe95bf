import { SimpleVectorStore } from "@larder/core/vector";
import { describeVectorStore } from "./vector.js";

// The kit tests itself against core's in-memory store, with each kernel and metric.
describeVectorStore({ name: "SimpleVectorStore (cosine, wasm)", create: () => new SimpleVectorStore({ kernel: "auto" }) });
describeVectorStore({ name: "SimpleVectorStore (dot, js kernel)", create: () => new SimpleVectorStore({ metric: "dot", kernel: "js" }), trees: 60 });
describeVectorStore({ name: "SimpleVectorStore (euclidean)", create: () => new SimpleVectorStore({ metric: "euclidean" }), trees: 60, seed: 99 });
