import { foldCase } from "../filters/evaluate.js";

/**
 * BM25 over node text for `text` and `hybrid` queries. Tokens are maximal runs of Unicode letters
 * and digits after the case fold of `text_match_insensitive` (no stemming, no stop words).
 * Lucene's BM25: idf = ln(1 + (N − df + 0.5) / (df + 0.5)), k1 = 1.2, b = 0.75.
 *
 * Built on the first text query (one pass over the stored texts), then kept current by writes,
 * so stores that never run a text query pay nothing.
 */
export function tokenize(text: string): string[] {
  return foldCase(text).match(/[\p{L}\p{N}]+/gu) ?? [];
}

const K1 = 1.2;
const B = 0.75;

export class TextIndex {
  /** term -> (row -> term frequency) */
  private postings = new Map<string, Map<number, number>>();
  private lengths: number[] = [];
  private totalLength = 0;
  private rows = 0;

  /** Builds the index over `texts` (row order). */
  constructor(texts: readonly string[]) {
    for (let r = 0; r < texts.length; r++) this.add(r, texts[r]!);
  }

  private counts(text: string): Map<string, number> {
    const tf = new Map<string, number>();
    for (const t of tokenize(text)) tf.set(t, (tf.get(t) ?? 0) + 1);
    return tf;
  }

  add(row: number, text: string): void {
    const tf = this.counts(text);
    let len = 0;
    for (const [term, n] of tf) {
      let p = this.postings.get(term);
      if (!p) this.postings.set(term, (p = new Map()));
      p.set(row, n);
      len += n;
    }
    this.lengths[row] = len;
    this.totalLength += len;
    this.rows++;
  }

  remove(row: number, text: string): void {
    for (const term of this.counts(text).keys()) {
      const p = this.postings.get(term);
      if (!p) continue;
      p.delete(row);
      if (p.size === 0) this.postings.delete(term);
    }
    this.totalLength -= this.lengths[row] ?? 0;
    this.lengths[row] = 0;
    this.rows--;
  }

  /** The row holding `text` moved from `from` to `to` (swap-remove); `from` is then dropped. */
  move(from: number, to: number, text: string): void {
    for (const term of this.counts(text).keys()) {
      const p = this.postings.get(term);
      const n = p?.get(from);
      if (p && n !== undefined) {
        p.delete(from);
        p.set(to, n);
      }
    }
    this.lengths[to] = this.lengths[from] ?? 0;
    this.lengths.length = from; // `from` was the last row
  }

  /**
   * BM25 of `query` for every row that contains at least one query term and passes `allowed`
   * (a row mask, or null for all rows). Returns parallel arrays of rows and scores (> 0).
   */
  score(query: string, allowed: Uint8Array | null): { rows: number[]; scores: number[] } {
    const terms = [...new Set(tokenize(query))];
    const acc = new Map<number, number>();
    const avg = this.rows > 0 ? this.totalLength / this.rows : 0;
    for (const term of terms) {
      const p = this.postings.get(term);
      if (!p) continue;
      const idf = Math.log(1 + (this.rows - p.size + 0.5) / (p.size + 0.5));
      for (const [row, tf] of p) {
        if (allowed && !allowed[row]) continue;
        const len = this.lengths[row] ?? 0;
        const s = (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * len) / (avg || 1)));
        acc.set(row, (acc.get(row) ?? 0) + s);
      }
    }
    return { rows: [...acc.keys()], scores: [...acc.values()] };
  }
}
