import { afterEach, describe, it } from "vitest";

/**
 * The shape shared by every suite of the kit (`describeKVStore`, `describeVectorStore`, ...).
 *
 * - `create` returns a fresh, isolated store for ONE test (unique prefix/table/label...).
 * - `dispose` (optional) is called after each test with that store, to clean up and close it.
 * - `skip` opts out of named tests, each with a reason; a skipped test shows as skipped
 *   (never as a pass), and a skip naming an unknown test id is itself a failing test, so opt-outs
 *   cannot silently outlive a rename.
 */
export interface SuiteOptions<Store, Id extends string, Caps = object> {
  /** Shown in the describe block, e.g. "RedisKVStore (cluster)". */
  name: string;
  create: () => Store | Promise<Store>;
  dispose?: (store: Store) => void | Promise<void>;
  capabilities?: Partial<Caps>;
  skip?: Partial<Record<Id, string>>;
}

export interface SuiteContext<Store, Caps> {
  /** A fresh store for the current test; disposed after it. */
  store(): Promise<Store>;
  capabilities: Partial<Caps>;
}

export type TestBody<Store, Caps> = (ctx: SuiteContext<Store, Caps>) => Promise<void>;

/**
 * Defines a kit suite: `tests` maps stable test ids (`"kv.put.replaces"`) to bodies. The ids are
 * the opt-out keys, so they are part of the kit's public API.
 */
export function defineSuite<Store, Id extends string, Caps = object>(
  kind: string,
  tests: Record<Id, TestBody<Store, Caps>>,
  options?: { timeout?: number },
) {
  return (opts: SuiteOptions<Store, Id, Caps>): void => {
    describe(`${kind}: ${opts.name}`, () => {
      const created: Store[] = [];
      afterEach(async () => {
        const stores = created.splice(0);
        for (const s of stores) await opts.dispose?.(s);
      });
      const ctx: SuiteContext<Store, Caps> = {
        async store() {
          const s = await opts.create();
          created.push(s);
          return s;
        },
        capabilities: opts.capabilities ?? {},
      };
      const skips = (opts.skip ?? {}) as Partial<Record<string, string>>;
      const unknown = Object.keys(skips).filter((id) => !(id in tests));
      if (unknown.length) {
        it(`${kind}.skip-ids-exist`, () => {
          throw new Error(`skip names unknown test ids: ${unknown.join(", ")}`);
        });
      }
      for (const [id, body] of Object.entries(tests) as [Id, TestBody<Store, Caps>][]) {
        const reason = skips[id];
        if (reason !== undefined) {
          it.skip(`${id} (skipped: ${reason})`, () => {});
        } else {
          it(id, () => body(ctx), options?.timeout);
        }
      }
    });
  };
}

/** Expects `fn` to reject/throw a StorageError with `code`; returns the error for further checks. */
export async function expectStorageError(fn: () => unknown, code: string): Promise<Error & { code: string }> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  if (caught === undefined) throw new Error(`expected a StorageError ${code}, but nothing was thrown`);
  const brand = Symbol.for("@larder/core/StorageError");
  const e = caught as Record<string | symbol, unknown>;
  if (typeof caught !== "object" || caught === null || e[brand] !== true) {
    throw new Error(`expected a StorageError ${code}, got ${String(caught)}`, { cause: caught });
  }
  if (e["code"] !== code) {
    throw new Error(`expected StorageError code ${code}, got ${String(e["code"])}: ${String(e["message"])}`, { cause: caught });
  }
  return caught as Error & { code: string };
}

/** Deterministic PRNG (mulberry32) for seeded corpora and random filter trees. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A deterministic unit vector for an integer seed (xorshift32, components float32 values): test
 * and benchmark embeddings that are the same in every run and every process.
 */
export function seededUnitVector(seed: number, dim = 384): number[] {
  let x = (seed * 2654435761) >>> 0 || 1;
  const v = new Array<number>(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const f = x / 4294967296 - 0.5;
    v[i] = f;
    norm += f * f;
  }
  norm = Math.sqrt(norm);
  return v.map((f) => Math.fround(f / norm));
}

/** A unique, readable namespace for one test: `larder_<tag>_<time>_<counter>_<rand>`. */
let counter = 0;
export function uniqueNamespace(tag = "t"): string {
  counter += 1;
  return `larder_${tag}_${Date.now().toString(36)}_${process.pid.toString(36)}_${counter}_${Math.random().toString(36).slice(2, 7)}`;
}
