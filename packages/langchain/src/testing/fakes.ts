// Test-only (excluded from the build): a deterministic LangChain Embeddings that counts its calls,
// and the corpus the suites index.
import { Document } from "@langchain/core/documents";
import { Embeddings } from "@langchain/core/embeddings";

const DIM = 16;

/** FNV-1a of a string, as the seed of a small PRNG (mulberry32). */
function tokenVector(token: string): number[] {
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) {
    h ^= token.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let a = h;
  return Array.from({ length: DIM }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  });
}

/**
 * Every word of the text adds its own pseudo-random vector: texts sharing words are close, and
 * ties between different texts practically never happen. Counts calls and embedded texts.
 */
export class CountingEmbeddings extends Embeddings {
  calls = 0;
  embedded = 0;

  constructor() {
    super({});
  }

  embed(text: string): number[] {
    const out = new Array<number>(DIM).fill(0);
    for (const token of text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean)) {
      tokenVector(token).forEach((x, i) => (out[i]! += x));
    }
    out[0]! += 1e-3; // never the zero vector
    return out;
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    this.calls++;
    this.embedded += texts.length;
    return texts.map((t) => this.embed(t));
  }

  async embedQuery(text: string): Promise<number[]> {
    this.calls++;
    this.embedded++;
    return this.embed(text);
  }
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}

const GENRES = ["science fiction", "drama", "comedy", "thriller"];
const WORDS = ["robots", "space", "love", "family", "heist", "dinosaurs", "time", "travel", "war", "music", "detective", "ocean"];

/** 40 movies with typed metadata; ids `m00`..`m39`. */
export function movies(): Document[] {
  return Array.from({ length: 40 }, (_, i) => {
    const words = [WORDS[i % WORDS.length]!, WORDS[(i * 5 + 3) % WORDS.length]!, WORDS[(i * 7 + 1) % WORDS.length]!];
    const metadata: Record<string, unknown> = {
      genre: GENRES[i % GENRES.length]!,
      year: 1980 + ((i * 7) % 45),
      rating: Math.round(((i * 37) % 50) / 5 + 1) / 2 + 2.5,
      tags: [words[0]!, words[1]!],
      released: i % 3 !== 0,
      // A number stored as text on some movies: Larder never coerces "2001" to 2001.
      ...(i % 4 === 1 ? { code: String(1990 + i) } : { code: 1990 + i }),
      ...(i % 5 === 0 ? { director: { name: `Director ${i}`, awards: [i, i + 1] } } : {}),
    };
    return new Document({ id: `m${String(i).padStart(2, "0")}`, pageContent: `A ${metadata["genre"]} movie about ${words.join(" and ")} number ${i}`, metadata });
  });
}
