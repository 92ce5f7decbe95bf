// Test fixtures (not shipped): a deterministic embedder, a node parser with stable ids, a small
// corpus, and the LlamaIndexTS Settings every test file uses.
import { MockLLM } from "@llamaindex/core/llms/mock";
import { type BaseNode, type NodeRelationship, TransformComponent } from "@llamaindex/core/schema";
import { BaseEmbedding, Document, SentenceSplitter, Settings } from "llamaindex";
import { seededUnitVector } from "@larder/conformance";

export const DIM = 32;

/** Hashes character trigrams of the lower-cased text into DIM buckets; L2-normalised. Deterministic. */
export function hashEmbed(text: string, dim = DIM): number[] {
  const v = new Array<number>(dim).fill(0);
  const s = ` ${text.toLowerCase()} `;
  for (let i = 0; i + 3 <= s.length; i++) {
    let h = 2166136261;
    for (let j = i; j < i + 3; j++) h = Math.imul(h ^ s.charCodeAt(j), 16777619) >>> 0;
    v[h % dim]! += 1;
  }
  const n = Math.hypot(...v) || 1;
  return v.map((x) => Math.fround(x / n));
}

export class HashEmbedding extends BaseEmbedding {
  constructor() {
    super();
  }
  async getTextEmbedding(text: string): Promise<number[]> {
    return hashEmbed(text);
  }
}

/**
 * SentenceSplitter with ids `${docId}#${i}` instead of random UUIDs (PREVIOUS/NEXT follow), so two
 * runs over the same documents produce the same node ids.
 */
export function stableParser(chunkSize = 40): TransformComponent {
  const splitter = new SentenceSplitter({ chunkSize, chunkOverlap: 0 });
  return new TransformComponent(async (nodes: BaseNode[]) => {
    const out = (await splitter(nodes as never)) as BaseNode[];
    const rename = new Map<string, string>();
    const counters = new Map<string, number>();
    for (const n of out) {
      const doc = n.sourceNode?.nodeId ?? "orphan";
      const k = counters.get(doc) ?? 0;
      counters.set(doc, k + 1);
      rename.set(n.id_, `${doc}#${k}`);
    }
    for (const n of out) {
      n.id_ = rename.get(n.id_)!;
      for (const rel of ["PREVIOUS", "NEXT"] as NodeRelationship[]) {
        const r = n.relationships[rel];
        if (r && !Array.isArray(r)) r.nodeId = rename.get(r.nodeId) ?? r.nodeId;
      }
    }
    return out;
  });
}

/**
 * Embedder, LLM and chunk size for LlamaIndexTS. (`Settings.nodeParser` cannot be set from here:
 * llamaindex 0.12's `VectorStoreIndex` reads the node parser of its own bundle's settings copy, so
 * `fromDocuments` always splits with `SentenceSplitter` and random node ids; `chunkSize` is shared.)
 */
export function useTestSettings(): void {
  Settings.embedModel = new HashEmbedding();
  Settings.llm = new MockLLM({ responseMessage: "mock answer" }) as never;
  // With llamaindex's default overlap (200 tokens, also a per-bundle setting), a document of
  // ~400 tokens gives several chunks.
  Settings.chunkSize = 256;
}

const TOPICS = ["apples", "rivers", "engines", "violins", "glaciers", "bread"] as const;
const SENTENCES: Record<(typeof TOPICS)[number], string[]> = {
  apples: ["Apples grow in orchards across cold valleys.", "An apple tree needs pollination by bees.", "Cider is pressed from ripe apples in autumn."],
  rivers: ["Rivers carve valleys over thousands of years.", "A river delta forms where sediment settles.", "Salmon swim up rivers to spawn."],
  engines: ["Diesel engines ignite fuel by compression.", "A turbine engine spins blades with hot gas.", "Engine oil reduces friction between pistons."],
  violins: ["Violins are carved from spruce and maple.", "A violin bow uses horsehair and rosin.", "Stradivari built violins in Cremona."],
  glaciers: ["Glaciers move slowly downhill under their weight.", "Glacier ice looks blue because it absorbs red light.", "Moraines are rocks left by retreating glaciers."],
  bread: ["Bread rises as yeast ferments the dough.", "Sourdough bread uses a wild starter culture.", "Bakers score bread so steam can escape."],
};

/** Twelve documents (two per topic) with metadata for filters: topic, year, tags, rating, draft. */
export function corpus(): Document[] {
  const docs: Document[] = [];
  TOPICS.forEach((topic, t) => {
    for (let k = 0; k < 2; k++) {
      const sentences = SENTENCES[topic];
      const text = [1, 2, 3, 4, 5].flatMap((r) => sentences.map((s) => s.replace(/\.$/, ` (part ${k + 1}, round ${r}).`))).join(" ");
      docs.push(
        new Document({
          id_: `doc-${topic}-${k}`,
          text,
          metadata: { topic, year: 2000 + t * 3 + k, tags: [topic, k === 0 ? "first" : "second", t % 2 ? "odd" : "even"], rating: (t + k) % 5, ...(k === 1 ? { draft: true } : {}) },
        }),
      );
    }
  });
  return docs;
}

/** A deterministic unit vector for an integer seed (see `seededUnitVector` of the kit). */
export const seededVector = seededUnitVector;

/**
 * Embeddings computed before ingest: the index's embedding step keeps the nodes' embeddings, and a
 * query `node <i>` embeds as node i's vector. Embedding cost is excluded from what is measured.
 */
export class PrecomputedEmbedding extends BaseEmbedding {
  constructor(readonly dim = 384) {
    super(async (nodes: BaseNode[]) => nodes);
  }
  async getTextEmbedding(text: string): Promise<number[]> {
    const m = /node (\d+)/.exec(text);
    return seededVector(m ? Number(m[1]) : 0, this.dim);
  }
}
