import { createHash } from "node:crypto";
import {
  type BaseNode,
  errors,
  NodeRelationship,
  ObjectType,
  type RelatedNodeInfo,
  TextNode,
} from "@larder/core";

/**
 * How chunk sizes are measured.
 * - `"tokens"`: approximate tokens — a run of letters/digits/underscore is one token, every other
 *   non-space character is one token (`"don't stop."` = `don ' t stop .` = 5). No tokenizer
 *   download; close to a BPE count for English prose, an under-estimate for long rare words.
 * - `"chars"`: UTF-16 code units of the chunk text.
 */
export type ChunkUnit = "tokens" | "chars";

export interface SentenceSplitterOptions {
  /** Maximum chunk size in `unit`s. Default 256 tokens (1024 when `unit` is `"chars"`). */
  chunkSize?: number;
  /** Size of the tail of a chunk repeated at the start of the next one. Default 20 tokens (80 chars). Must be < chunkSize. */
  chunkOverlap?: number;
  /** Default `"tokens"`. */
  unit?: ChunkUnit;
  /**
   * Id of the i-th node of a document. Default: a deterministic UUID-shaped id derived from the
   * document id and `i`, so re-ingesting the same document upserts the same nodes.
   */
  idFn?: (documentId: string, index: number) => string;
  /** Add PREVIOUS/NEXT relationships between consecutive chunks of a document. Default true. */
  includePrevNextRel?: boolean;
}

/** A chunk of a text: `text === source.slice(start, end)`. */
export interface TextChunk {
  text: string;
  start: number;
  end: number;
}

interface Piece {
  start: number;
  end: number;
  size: number;
}

const TOKEN_RE = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

/** The approximate token count used by `unit: "tokens"`. */
export function countTokens(text: string): number {
  let n = 0;
  TOKEN_RE.lastIndex = 0;
  while (TOKEN_RE.exec(text) !== null) n++;
  return n;
}

/** A deterministic UUID-shaped id (sha256 of the inputs), the default node id. */
export function deterministicId(...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Splits text into chunks that respect paragraph and sentence boundaries (LlamaIndex's
 * `SentenceSplitter`): a text is cut at paragraphs (blank lines), a paragraph that is too big at
 * sentence ends, a sentence that is too big at spaces, and a word that is too big by size. Pieces
 * are then merged greedily up to `chunkSize`, and each chunk starts with the last pieces of the
 * previous one up to `chunkOverlap`. Offsets are exact: each chunk is a slice of the input.
 */
export class SentenceSplitter {
  readonly chunkSize: number;
  readonly chunkOverlap: number;
  readonly unit: ChunkUnit;
  readonly includePrevNextRel: boolean;
  readonly #idFn: (documentId: string, index: number) => string;

  constructor(options: SentenceSplitterOptions = {}) {
    this.unit = options.unit ?? "tokens";
    if (this.unit !== "tokens" && this.unit !== "chars") throw errors.invalid(`unit must be "tokens" or "chars", got ${JSON.stringify(this.unit)}`);
    this.chunkSize = options.chunkSize ?? (this.unit === "tokens" ? 256 : 1024);
    this.chunkOverlap = options.chunkOverlap ?? (this.unit === "tokens" ? 20 : 80);
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1) throw errors.invalid(`chunkSize must be a positive integer, got ${this.chunkSize}`);
    if (!Number.isInteger(this.chunkOverlap) || this.chunkOverlap < 0 || this.chunkOverlap >= this.chunkSize) {
      throw errors.invalid(`chunkOverlap must be an integer in [0, chunkSize), got ${this.chunkOverlap} (chunkSize ${this.chunkSize})`);
    }
    this.includePrevNextRel = options.includePrevNextRel ?? true;
    this.#idFn = options.idFn ?? ((docId, i) => deterministicId(docId, String(i)));
  }

  #measure(text: string, start: number, end: number): number {
    return this.unit === "chars" ? end - start : countTokens(text.slice(start, end));
  }

  /** Chunks of `text`, in order; whitespace-only text gives none. */
  splitText(text: string): TextChunk[] {
    if (typeof text !== "string") throw errors.invalid("splitText takes a string");
    const pieces: Piece[] = [];
    this.#cut(text, 0, text.length, 0, pieces);
    return this.#merge(text, pieces);
  }

  /**
   * Splits documents into TextNodes with SOURCE (and PREVIOUS/NEXT) relationships, inherited metadata
   * and char offsets. Nodes are appended one at a time (never spread into a push): a single
   * document may give hundreds of thousands of chunks.
   */
  getNodesFromDocuments(documents: readonly BaseNode[]): TextNode[] {
    const out: TextNode[] = [];
    for (const doc of documents) {
      const chunks = this.splitText(doc.text);
      const source: RelatedNodeInfo = { nodeId: doc.id, nodeType: doc.type, metadata: { ...doc.metadata }, hash: doc.hash };
      let prev: TextNode | undefined;
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i]!;
        const node = new TextNode({
          id: this.#idFn(doc.id, i),
          text: c.text,
          metadata: structuredClone(doc.metadata),
          excludedEmbedMetadataKeys: [...doc.excludedEmbedMetadataKeys],
          excludedLlmMetadataKeys: [...doc.excludedLlmMetadataKeys],
          metadataTemplate: doc.metadataTemplate,
          metadataSeparator: doc.metadataSeparator,
          textTemplate: doc.textTemplate,
          startCharIdx: c.start,
          endCharIdx: c.end,
          relationships: { [NodeRelationship.SOURCE]: { ...source, metadata: { ...doc.metadata } } },
        });
        if (this.includePrevNextRel && prev) {
          node.relationships[NodeRelationship.PREVIOUS] = { nodeId: prev.id, nodeType: ObjectType.TEXT, metadata: {}, hash: null };
          prev.relationships[NodeRelationship.NEXT] = { nodeId: node.id, nodeType: ObjectType.TEXT, metadata: {}, hash: null };
        }
        out.push(node);
        prev = node;
      }
    }
    return out;
  }

  /** Cuts [start, end) into pieces no bigger than chunkSize, trying coarser boundaries first. */
  #cut(text: string, start: number, end: number, level: number, out: Piece[]): void {
    const spans = level === 0 ? spansBetween(text, start, end, /\n[ \t]*\n\s*/g)
      : level === 1 ? sentenceSpans(text, start, end)
      : level === 2 ? spansBetween(text, start, end, /\s+/g)
      : undefined;
    if (spans === undefined) {
      this.#hardCut(text, start, end, out);
      return;
    }
    for (const [s, e] of spans) {
      const size = this.#measure(text, s, e);
      if (size === 0 && this.unit === "tokens" && text.slice(s, e).trim() === "") continue;
      if (size <= this.chunkSize) out.push({ start: s, end: e, size });
      else this.#cut(text, s, e, level + 1, out);
    }
  }

  /** Last resort for one huge "word": fixed-size slices (by chars, or by tokens). */
  #hardCut(text: string, start: number, end: number, out: Piece[]): void {
    if (this.unit === "chars") {
      for (let s = start; s < end; s += this.chunkSize) {
        let e = Math.min(end, s + this.chunkSize);
        // Never split a surrogate pair.
        if (e < end && /[\uD800-\uDBFF]/.test(text[e - 1]!)) e--;
        out.push({ start: s, end: e, size: e - s });
        s = e - this.chunkSize;
      }
      return;
    }
    const re = new RegExp(TOKEN_RE.source, "gu");
    re.lastIndex = start;
    let pieceStart = start;
    let n = 0;
    let m: RegExpExecArray | null;
    let lastEnd = start;
    while ((m = re.exec(text)) !== null && m.index < end) {
      if (n === this.chunkSize) {
        out.push({ start: pieceStart, end: lastEnd, size: n });
        pieceStart = m.index;
        n = 0;
      }
      n++;
      lastEnd = m.index + m[0].length;
    }
    if (n > 0) out.push({ start: pieceStart, end: Math.max(lastEnd, end), size: n });
  }

  #spanSize(text: string, pieces: Piece[], i: number, j: number): number {
    if (this.unit === "chars") return pieces[j]!.end - pieces[i]!.start;
    let n = 0;
    for (let k = i; k <= j; k++) n += pieces[k]!.size;
    return n;
  }

  #merge(text: string, pieces: Piece[]): TextChunk[] {
    const chunks: TextChunk[] = [];
    let i = 0; // first piece of the current chunk
    let j = -1; // last piece already emitted
    while (j < pieces.length - 1) {
      let end = Math.max(i, j + 1);
      // Grow while the chunk still fits; a chunk always takes at least one new piece.
      while (end + 1 < pieces.length && this.#spanSize(text, pieces, i, end + 1) <= this.chunkSize) end++;
      while (i < end && this.#spanSize(text, pieces, i, end) > this.chunkSize) i++;
      const s = pieces[i]!.start;
      const e = pieces[end]!.end;
      chunks.push({ text: text.slice(s, e), start: s, end: e });
      j = end;
      if (j >= pieces.length - 1) break;
      // Overlap: the longest tail of this chunk within chunkOverlap that leaves room for the next piece.
      let k = j + 1;
      while (
        k - 1 > i &&
        this.chunkOverlap > 0 &&
        this.#spanSize(text, pieces, k - 1, j) <= this.chunkOverlap &&
        this.#spanSize(text, pieces, k - 1, j + 1) <= this.chunkSize
      ) {
        k--;
      }
      i = k;
    }
    return chunks;
  }
}

/** Non-empty spans of [start, end) separated by matches of `sep` (trimmed of surrounding whitespace). */
function spansBetween(text: string, start: number, end: number, sep: RegExp): [number, number][] {
  const out: [number, number][] = [];
  const re = new RegExp(sep.source, "g");
  re.lastIndex = start;
  let s = start;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && m.index < end) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    pushTrimmed(text, s, m.index, out);
    s = Math.min(end, m.index + m[0].length);
  }
  pushTrimmed(text, s, end, out);
  return out;
}

/** Sentences: cut after `.`, `!`, `?` (and CJK full stops), plus closing quotes/brackets, when whitespace follows. */
function sentenceSpans(text: string, start: number, end: number): [number, number][] {
  const out: [number, number][] = [];
  const re = /[.!?\u3002\uFF01\uFF1F]+["'\u2019\u201D)\]]*(?=\s)|[\u3002\uFF01\uFF1F]/g;
  re.lastIndex = start;
  let s = start;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && m.index < end) {
    const e = Math.min(end, m.index + m[0].length);
    pushTrimmed(text, s, e, out);
    s = e;
  }
  pushTrimmed(text, s, end, out);
  return out;
}

function pushTrimmed(text: string, s: number, e: number, out: [number, number][]): void {
  while (s < e && /\s/.test(text[s]!)) s++;
  while (e > s && /\s/.test(text[e - 1]!)) e--;
  if (e > s) out.push([s, e]);
}
