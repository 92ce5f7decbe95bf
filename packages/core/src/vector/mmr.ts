import { compareByCodePoint } from "../filters/index.js";
import type { DistanceMetric } from "./types.js";

/**
 * Maximal marginal relevance over candidates an adapter fetched (Postgres, Redis), with the same
 * definition as SimpleVectorStore: each pick maximises `λ·sim(q, d) − (1 − λ)·max over picked s of sim(d, s)`
 * (the textbook penalty; LlamaIndex's Python helper only looks at the most recent pick), ties to
 * the smaller id. `relevance[i]` is the store's similarity of candidate i to the query; `sim`
 * between candidates uses the same metric. Returns candidate indexes in pick order.
 */
export function mmrSelect(
  metric: DistanceMetric,
  candidates: readonly ArrayLike<number>[],
  relevance: readonly number[],
  ids: readonly string[],
  k: number,
  lambda: number,
): number[] {
  const n = candidates.length;
  const sim = similarity(metric);
  const maxSim = new Float64Array(n).fill(-Infinity);
  const taken = new Uint8Array(n);
  const picked: number[] = [];
  for (let t = 0; t < k && t < n; t++) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      if (taken[i]) continue;
      const score = lambda * relevance[i]! - (t === 0 ? 0 : (1 - lambda) * maxSim[i]!);
      if (best === -1 || score > bestScore || (score === bestScore && compareByCodePoint(ids[i]!, ids[best]!) < 0)) {
        best = i;
        bestScore = score;
      }
    }
    taken[best] = 1;
    picked.push(best);
    const b = candidates[best]!;
    for (let i = 0; i < n; i++) {
      if (taken[i]) continue;
      const s = sim(candidates[i]!, b);
      if (s > maxSim[i]!) maxSim[i] = s;
    }
  }
  return picked;
}

function similarity(metric: DistanceMetric): (a: ArrayLike<number>, b: ArrayLike<number>) => number {
  if (metric === "dot") return dot;
  if (metric === "euclidean") {
    return (a, b) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
      return -Math.sqrt(s);
    };
  }
  return (a, b) => {
    const na = Math.sqrt(dot(a, a));
    const nb = Math.sqrt(dot(b, b));
    return na > 0 && nb > 0 ? dot(a, b) / (na * nb) : 0;
  };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
