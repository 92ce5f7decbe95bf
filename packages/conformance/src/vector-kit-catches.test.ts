/**
 * "Kit catches X" for the vector suite: each store below has one bug, modelled on what users
 * found in real stores (issues #16/#17), and the kit test for that rule must fail on it while
 * passing on the correct SimpleVectorStore.
 */
import { describe, expect, it } from "vitest";
import { StorageError } from "@larder/core/errors";
import { filterKeys, type MetadataFilters } from "@larder/core/filters";
import type { BaseNode } from "@larder/core/schema";
import { MAX_TOP_K, SimpleVectorStore, type VectorStore, type VectorStoreQuery, type VectorStoreQueryResult } from "@larder/core/vector";
import type { SuiteContext } from "./harness.js";
import { vectorStoreTests, type VectorSuiteCapabilities, type VectorTestId } from "./vector.js";

/** `deleteNodes({filters: {filters: []}})` deleted every node (memory and Postgres). */
class DeletesAllOnEmptyFilters extends SimpleVectorStore {
  override async deleteNodes(args: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<void> {
    if (args?.filters && filterKeys(args.filters).length === 0 && args.ids === undefined) return this.clear();
    return super.deleteNodes(args);
  }
}

/** Metadata stored as its JSON round trip: NaN -> null, Date -> string, undefined dropped. */
class JsonRoundTripMetadata extends SimpleVectorStore {
  override async add(nodes: readonly BaseNode[]): Promise<string[]> {
    for (const n of nodes) {
      try {
        n.metadata = JSON.parse(JSON.stringify(n.metadata ?? {})) as Record<string, unknown>;
      } catch {
        // Cycles and BigInts still reach the real check.
      }
    }
    return super.add(nodes);
  }
}

/** Cosine with a zero vector scored NaN and ranked last (pgvector's distance is NaN there). */
class NaNForZeroVectors extends SimpleVectorStore {
  override async query(q: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    const r = await super.query({ ...q, topK: 4 });
    const isZero = (v: ArrayLike<number> | null | undefined) => !!v && Array.from(v).every((x) => x === 0);
    const zeroQuery = isZero(q.embedding ?? undefined);
    const rows = r.ids.map((id, i) => ({ id, s: zeroQuery || isZero(r.nodes?.[i]?.embedding) ? Number.NaN : r.similarities[i]!, n: r.nodes?.[i] }));
    rows.sort((a, b) => (Number.isNaN(a.s) ? 1 : 0) - (Number.isNaN(b.s) ? 1 : 0));
    const k = rows.slice(0, q.topK ?? 2);
    return { ids: k.map((x) => x.id), similarities: k.map((x) => x.s), nodes: k.map((x) => x.n!) };
  }
}

/** topK never capped: a server-side store was asked for a billion candidates. */
class UncappedTopK extends SimpleVectorStore {
  override async query(q: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    return super.query({ ...q, topK: q.topK !== undefined && q.topK > MAX_TOP_K ? MAX_TOP_K : q.topK });
  }
}

/** The Postgres check that ran a regex over JSON text: backslash + "u0000" text was refused. */
class RegexOverJsonText extends SimpleVectorStore {
  override async add(nodes: readonly BaseNode[]): Promise<string[]> {
    for (const n of nodes) {
      if (/\\u0000|\\ud[89abcdef][0-9a-f]{2}/i.test(JSON.stringify(n.metadata ?? {}))) {
        throw new StorageError("INVALID_ARGUMENT", "metadata contains U+0000 or a lone surrogate");
      }
    }
    return super.add(nodes);
  }
}

/** Filters with a lone surrogate refused although the answer is computable. */
class RefusesLoneSurrogateFilters extends SimpleVectorStore {
  override async getNodes(args?: { ids?: readonly string[]; filters?: MetadataFilters }): Promise<BaseNode[]> {
    if (args?.filters && /[\ud800-\udfff]/.test(JSON.stringify(args.filters).replace(/\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}/gi, ""))) {
      throw new StorageError("INVALID_ARGUMENT", "metadata filter contains a lone surrogate");
    }
    return super.getNodes(args);
  }
}

const tests = vectorStoreTests({ name: "catches", create: () => new SimpleVectorStore() });

function ctxFor(create: () => VectorStore): SuiteContext<VectorStore, VectorSuiteCapabilities> {
  return { store: async () => create(), capabilities: {} };
}

const cases: [string, VectorTestId, () => VectorStore][] = [
  ["deleteNodes with condition-less filters deleting everything", "vector.delete-nodes.neither-refused", () => new DeletesAllOnEmptyFilters()],
  ["metadata silently changed by a JSON round trip", "vector.refuse.non-json-metadata", () => new JsonRoundTripMetadata()],
  ["cosine NaN for zero vectors", "vector.query.zero-vector", () => new NaNForZeroVectors()],
  ["topK above MAX_TOP_K accepted", "vector.query.topk-bounds", () => new UncappedTopK()],
  ["backslash-u0000 text refused (regex over JSON text)", "vector.metadata.backslash-text", () => new RegexOverJsonText()],
  ["lone-surrogate filters refused", "vector.filters.lone-surrogates", () => new RefusesLoneSurrogateFilters()],
];

describe("the vector kit catches", () => {
  for (const [what, id, broken] of cases) {
    it(`${what} (${id})`, async () => {
      await tests[id](ctxFor(() => new SimpleVectorStore()));
      let failure: unknown;
      try {
        await tests[id](ctxFor(broken));
      } catch (e) {
        failure = e;
      }
      expect(failure, "the broken store passed the kit test").toBeDefined();
      if (process.env["LARDER_SHOW_CATCHES"]) console.log(`${id}: ${String(failure).split("\n")[0]}`);
    });
  }
});
