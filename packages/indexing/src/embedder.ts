import { errors } from "@larder/core";

/**
 * Turns texts into vectors. `VectorStoreIndex` calls `embedDocuments` with batches of at most
 * `batchSize` texts (node content with embed-mode metadata) and `embedQuery` for retrieval.
 */
export interface Embedder {
  /**
   * Identifies the model and its settings; recorded with an index so that it can be queried with
   * the same one (e.g. `"larder-hash-v1-384"`, `"text-embedding-3-small"`).
   */
  readonly model: string;
  /** Vector length when known before the first call (`undefined`: learnt from the first answer). */
  readonly dimensions: number | undefined;
  /** Texts per `embedDocuments` call that `VectorStoreIndex` makes. */
  readonly batchSize: number;
  /** One vector per text, in order. */
  embedDocuments(texts: readonly string[]): Promise<number[][]>;
  embedQuery(text: string): Promise<number[]>;
}

// ------------------------------------------------------------------------------------------
// Offline embedder

export interface HashEmbedderOptions {
  /** Vector length. Default 384. */
  dimensions?: number;
  /** Texts per batch (it is CPU-bound; batches only pace progress reports). Default 256. */
  batchSize?: number;
}

const STOPWORDS = new Set(
  ("a an and are as at be been but by can could did do does for from had has have how i if in into is it its " +
    "may more most no not of on or our should so such than that the their them then there these they this " +
    "those to too was we were what when where which while who why will with would you your").split(" "),
);

/** 32-bit FNV-1a over UTF-16 units, then a murmur3 finalizer (deterministic on every platform). */
function hash32(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A crude English suffix stripper, enough for `stores`/`store`, `indexing`/`index`. */
function stem(w: string): string {
  if (w.length <= 4) return w;
  if (w.endsWith("ies")) return `${w.slice(0, -3)}y`;
  if (w.endsWith("ing") && w.length > 5) return w.slice(0, -3);
  if (w.endsWith("ed") && w.length > 5) return w.slice(0, -2);
  if (w.endsWith("es") && /(x|ch|sh|ss)es$/.test(w)) return w.slice(0, -2);
  if (w.endsWith("s") && !w.endsWith("ss")) return w.slice(0, -1);
  return w;
}

/**
 * The built-in offline embedder: feature hashing of word unigrams, word bigrams and character
 * 3- and 4-grams of each word, with sublinear term weights for words and bigrams, signed hashing
 * (the hash's top bit picks the sign, so collisions cancel on average) and L2 normalisation. Deterministic, no download,
 * no network, about as good as a bag-of-words retriever: it matches words and word fragments,
 * not meaning. Use a real model ({@link OpenAIEmbedder}) for semantic search.
 */
export class HashEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  readonly batchSize: number;

  constructor(options: HashEmbedderOptions = {}) {
    this.dimensions = options.dimensions ?? 384;
    this.batchSize = options.batchSize ?? 256;
    if (!Number.isInteger(this.dimensions) || this.dimensions < 8 || this.dimensions > 65536) {
      throw errors.invalid(`dimensions must be an integer in [8, 65536], got ${this.dimensions}`);
    }
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw errors.invalid(`batchSize must be a positive integer, got ${this.batchSize}`);
    this.model = `larder-hash-v1-${this.dimensions}`;
  }

  /** Parses `larder-hash-v1-<dims>`; `undefined` for another model name. */
  static fromModel(model: string): HashEmbedder | undefined {
    const m = /^larder-hash-v1-(\d+)$/.exec(model);
    return m ? new HashEmbedder({ dimensions: Number(m[1]) }) : undefined;
  }

  embedSync(text: string): number[] {
    const dim = this.dimensions;
    const v = new Float64Array(dim);
    // One 32-bit hash per feature: the low bits pick the slot, the top bit the sign.
    const put = (h: number, w: number) => {
      v[h % dim]! += h & 0x80000000 ? -w : w;
    };
    const words = (text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOPWORDS.has(w));
    // Word and bigram counts get sublinear weights (1 + ln tf); character n-grams are added linearly.
    const counts = new Map<string, number>();
    let prev: string | undefined;
    for (const raw of words) {
      const w = stem(raw);
      counts.set(`w:${w}`, (counts.get(`w:${w}`) ?? 0) + 1);
      if (prev !== undefined) {
        const b = `b:${prev} ${w}`;
        counts.set(b, (counts.get(b) ?? 0) + 1);
      }
      prev = w;
      const padded = `<${w}>`;
      const n3 = Math.max(0, padded.length - 2);
      const n4 = Math.max(0, padded.length - 3);
      const gw = 0.6 / (n3 + n4);
      for (let i = 0; i < n3; i++) put(hash32(padded.slice(i, i + 3), 3), gw);
      for (let i = 0; i < n4; i++) put(hash32(padded.slice(i, i + 4), 4), gw);
    }
    for (const [f, n] of counts) put(hash32(f, 0), (f.charCodeAt(0) === 98 ? 0.5 : 1) * (1 + Math.log(n)));
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += v[i]! * v[i]!;
    const out = new Array<number>(dim).fill(0);
    if (norm === 0) {
      out[0] = 1; // empty text: a fixed unit vector (a zero vector has no cosine)
      return out;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) out[i] = v[i]! / norm;
    return out;
  }

  async embedDocuments(texts: readonly string[]): Promise<number[][]> {
    if (!Array.isArray(texts)) throw errors.invalid("embedDocuments takes an array of strings");
    return texts.map((t) => this.embedSync(String(t)));
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.embedSync(String(text));
  }
}

// ------------------------------------------------------------------------------------------
// OpenAI-compatible HTTP embedder

export interface OpenAIEmbedderOptions {
  /** API root including `/v1`: `https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama), a vLLM server... */
  baseURL: string;
  model: string;
  /** Sent as `Authorization: Bearer ...`; never appears in errors. Default `process.env.OPENAI_API_KEY` when the base URL is OpenAI's. */
  apiKey?: string;
  /**
   * Expected vector length: every answer is checked against it (DIMENSION_MISMATCH otherwise).
   * Without it the first answer sets it. With `requestDimensions`, it is also sent as `dimensions`
   * (OpenAI's text-embedding-3 models can shorten their vectors).
   */
  dimensions?: number;
  requestDimensions?: boolean;
  /** Texts per request. Default 96. */
  batchSize?: number;
  /** Requests in flight at once. Default 2. */
  concurrency?: number;
  /** Retries of a request that failed with a network error, 408, 409, 429 or 5xx. Default 4. */
  maxRetries?: number;
  /** First backoff delay; doubles each retry (with jitter), and a `Retry-After` header wins. Default 500 ms. */
  retryBaseMs?: number;
  /** Per request. Default 60 s. */
  timeoutMs?: number;
  /** Extra headers (e.g. an Azure `api-key`). */
  headers?: Record<string, string>;
  /** For tests and custom agents. Default the global `fetch`. */
  fetch?: typeof fetch;
}

interface EmbeddingsResponse {
  data?: { embedding?: unknown; index?: unknown }[];
}

const RETRYABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/** Calls an OpenAI-compatible `POST {baseURL}/embeddings` (OpenAI, Azure-compatible gateways, Ollama, vLLM, LM Studio...). */
export class OpenAIEmbedder implements Embedder {
  readonly model: string;
  readonly batchSize: number;
  readonly baseURL: string;
  #dimensions: number | undefined;
  readonly #o: Required<Pick<OpenAIEmbedderOptions, "concurrency" | "maxRetries" | "retryBaseMs" | "timeoutMs">> & OpenAIEmbedderOptions;
  readonly #fetch: typeof fetch;

  constructor(options: OpenAIEmbedderOptions) {
    if (!options || typeof options.baseURL !== "string" || !/^https?:\/\//.test(options.baseURL)) {
      throw errors.invalid("OpenAIEmbedder needs baseURL, an http(s) URL such as https://api.openai.com/v1");
    }
    if (typeof options.model !== "string" || options.model === "") throw errors.invalid("OpenAIEmbedder needs a model name");
    this.baseURL = options.baseURL.replace(/\/+$/, "");
    this.model = options.model;
    this.batchSize = options.batchSize ?? 96;
    this.#dimensions = options.dimensions;
    const apiKey = options.apiKey ?? (/api\.openai\.com/.test(this.baseURL) ? process.env["OPENAI_API_KEY"] : undefined);
    this.#o = { concurrency: 2, maxRetries: 4, retryBaseMs: 500, timeoutMs: 60_000, ...options, apiKey };
    for (const [k, v] of [["batchSize", this.batchSize], ["concurrency", this.#o.concurrency]] as const) {
      if (!Number.isInteger(v) || v < 1) throw errors.invalid(`${k} must be a positive integer, got ${v}`);
    }
    if (!Number.isInteger(this.#o.maxRetries) || this.#o.maxRetries < 0) throw errors.invalid("maxRetries must be a non-negative integer");
    this.#fetch = options.fetch ?? fetch;
  }

  get dimensions(): number | undefined {
    return this.#dimensions;
  }

  async embedQuery(text: string): Promise<number[]> {
    return (await this.#request([String(text)]))[0]!;
  }

  /** Splits into `batchSize` requests, at most `concurrency` in flight; results in input order. */
  async embedDocuments(texts: readonly string[]): Promise<number[][]> {
    if (!Array.isArray(texts)) throw errors.invalid("embedDocuments takes an array of strings");
    const batches: string[][] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) batches.push(texts.slice(i, i + this.batchSize).map(String));
    const results: number[][][] = new Array(batches.length);
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const b = next++;
        results[b] = await this.#request(batches[b]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.concurrency, batches.length) }, worker));
    return results.flat();
  }

  async #request(input: string[]): Promise<number[][]> {
    const url = `${this.baseURL}/embeddings`;
    const body: Record<string, unknown> = { model: this.model, input, encoding_format: "float" };
    if (this.#o.requestDimensions && this.#dimensions !== undefined) body["dimensions"] = this.#dimensions;
    const headers: Record<string, string> = { "content-type": "application/json", ...this.#o.headers };
    if (this.#o.apiKey) headers["authorization"] = `Bearer ${this.#o.apiKey}`;
    const store = `OpenAIEmbedder(${this.model})`;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.#fetch(url, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(this.#o.timeoutMs) });
      } catch (cause) {
        if (attempt < this.#o.maxRetries) {
          await sleep(this.#backoff(attempt, undefined));
          continue;
        }
        throw errors.connection(`cannot reach ${url} after ${attempt + 1} attempts: ${(cause as Error)?.message ?? String(cause)}`, { store, cause });
      }
      if (res.ok) return this.#parse(await res.json().catch(() => undefined), input.length, store);
      const detail = (await res.text().catch(() => "")).slice(0, 300).replace(/\s+/g, " ");
      if (RETRYABLE.has(res.status) && attempt < this.#o.maxRetries) {
        await sleep(this.#backoff(attempt, res.headers.get("retry-after")));
        continue;
      }
      const what = `${url} answered ${res.status}${detail ? `: ${detail}` : ""}`;
      if (res.status === 401 || res.status === 403) throw errors.connection(`${what} (check the API key)`, { store });
      if (res.status === 404) throw errors.notFound(`${what} (check the base URL, which should end in /v1, and the model name)`, { store });
      if (res.status >= 400 && res.status < 500 && !RETRYABLE.has(res.status)) throw errors.invalid(what, { store });
      throw errors.connection(`${what} after ${attempt + 1} attempts`, { store });
    }
  }

  #parse(json: unknown, n: number, store: string): number[][] {
    const data = (json as EmbeddingsResponse | undefined)?.data;
    if (!Array.isArray(data) || data.length !== n) {
      throw errors.corrupt(`embeddings answer has ${Array.isArray(data) ? data.length : "no"} items for ${n} inputs`, { store });
    }
    const out: number[][] = new Array(n);
    data.forEach((d, pos) => {
      const i = typeof d.index === "number" ? d.index : pos;
      const e = d.embedding;
      if (!Array.isArray(e) || !e.every((x) => typeof x === "number" && Number.isFinite(x)) || i < 0 || i >= n) {
        throw errors.corrupt(`embeddings answer item ${pos} is not a vector of finite numbers`, { store });
      }
      if (this.#dimensions === undefined) this.#dimensions = e.length;
      if (e.length !== this.#dimensions) {
        throw errors.dimension(`model ${this.model} returned ${e.length} dimensions, expected ${this.#dimensions}`, { store });
      }
      out[i] = e as number[];
    });
    if (out.some((v) => v === undefined)) throw errors.corrupt("embeddings answer repeats an index", { store });
    return out;
  }

  #backoff(attempt: number, retryAfter: string | null | undefined): number {
    if (retryAfter) {
      const s = Number(retryAfter);
      if (Number.isFinite(s) && s >= 0) return Math.min(s * 1000, 60_000);
      const t = Date.parse(retryAfter);
      if (Number.isFinite(t)) return Math.max(0, Math.min(t - Date.now(), 60_000));
    }
    const base = this.#o.retryBaseMs * 2 ** attempt;
    return Math.min(base / 2 + Math.random() * base / 2, 30_000);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ------------------------------------------------------------------------------------------
// The embedder an index was built with

/**
 * What is recorded with an index about the embedder that built it, so that it can be queried (and
 * added to) with the same one without repeating the settings: the kind, the model, the API's base
 * URL and the vector length. Never a key: the API key is read again at query time (from the
 * environment, or as the caller passes it).
 */
export interface EmbedderRecord {
  /** `"hash"`: the offline {@link HashEmbedder}; `"openai"`: an {@link OpenAIEmbedder} (OpenAI-compatible API). */
  kind: "hash" | "openai";
  model: string;
  /** The API root (`…/v1`) of an `"openai"` embedder. */
  baseURL?: string;
  /** Vector length, when known (an HTTP embedder learns it from its first answer). */
  dimensions?: number;
}

/** The key under which an index struct's `data` holds its {@link EmbedderRecord}. */
export const EMBEDDER_RECORD_KEY = "larder_embedder";

/**
 * The record of an embedder (see {@link EmbedderRecord}); `undefined` for an embedder of another
 * class, which cannot be rebuilt from settings. Credentials in a base URL are removed.
 */
export function embedderRecord(embedder: Embedder): EmbedderRecord | undefined {
  const dims = embedder.dimensions !== undefined ? { dimensions: embedder.dimensions } : {};
  if (embedder instanceof HashEmbedder) return { kind: "hash", model: embedder.model, ...dims };
  if (embedder instanceof OpenAIEmbedder) {
    let baseURL = embedder.baseURL;
    try {
      const u = new URL(baseURL);
      u.username = "";
      u.password = "";
      baseURL = u.href.replace(/\/+$/, "");
    } catch {
      // the constructor accepted it; keep it as it is
    }
    return { kind: "openai", model: embedder.model, baseURL, ...dims };
  }
  return undefined;
}

/** Reads a record from an index struct's `data` value; `undefined` when absent or not a valid record. */
export function parseEmbedderRecord(value: unknown): EmbedderRecord | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if ((v["kind"] !== "hash" && v["kind"] !== "openai") || typeof v["model"] !== "string" || v["model"] === "") return undefined;
  if (v["kind"] === "openai" && typeof v["baseURL"] !== "string") return undefined;
  const dims = v["dimensions"];
  if (dims !== undefined && (typeof dims !== "number" || !Number.isInteger(dims) || dims < 1)) return undefined;
  return {
    kind: v["kind"],
    model: v["model"],
    ...(typeof v["baseURL"] === "string" ? { baseURL: v["baseURL"] } : {}),
    ...(typeof dims === "number" ? { dimensions: dims } : {}),
  };
}

/**
 * An embedder built from a record. `apiKey` is the key for an `"openai"` record (default: none,
 * or `OPENAI_API_KEY` for api.openai.com, as {@link OpenAIEmbedder} does); `options` are the other
 * settings of the HTTP embedder. A `"hash"` record whose model is not `larder-hash-v1-<dims>` is
 * INVALID_ARGUMENT.
 */
export function embedderFromRecord(record: EmbedderRecord, options: { apiKey?: string } & Omit<Partial<OpenAIEmbedderOptions>, "baseURL" | "model" | "dimensions"> = {}): Embedder {
  if (record.kind === "hash") {
    const h = HashEmbedder.fromModel(record.model);
    if (!h) throw errors.invalid(`recorded offline embedder model ${JSON.stringify(record.model)} is not larder-hash-v1-<dimensions>`);
    return h;
  }
  if (!record.baseURL) throw errors.invalid(`recorded embedder ${JSON.stringify(record.model)} has no base URL`);
  return new OpenAIEmbedder({
    ...options,
    baseURL: record.baseURL,
    model: record.model,
    ...(record.dimensions !== undefined ? { dimensions: record.dimensions } : {}),
  });
}

/** One line for messages: `text-embedding-3-small (768 dimensions) at http://…/v1`. */
export function describeEmbedderRecord(record: EmbedderRecord): string {
  const dims = record.dimensions !== undefined ? ` (${record.dimensions} dimensions)` : "";
  return record.kind === "hash" ? `the offline embedder ${record.model}` : `${record.model}${dims} at ${record.baseURL}`;
}
