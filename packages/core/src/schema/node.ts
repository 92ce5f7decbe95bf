import * as nodeCrypto from "node:crypto";
import { createHash, randomUUID } from "node:crypto";
import { StorageError } from "../errors.js";
import { isJsonValue, isPlainObject } from "../kv/validate.js";
import { compactJsonText, type ExactMetadata, exactObjectAt, hasNegativeZero, jsonSourceOf, jsonTextKeepingNegativeZero, mayBeInexactIn, parseJsonKeepingSource, valueFingerprint } from "./exact-json.js";
import { pyRepr, pyStr } from "./python-repr.js";

/** LlamaIndex's `ObjectType`: digit strings in JSON. */
export const ObjectType = {
  TEXT: "1",
  IMAGE: "2",
  INDEX: "3",
  DOCUMENT: "4",
  MULTIMODAL: "5",
} as const;
export type ObjectType = (typeof ObjectType)[keyof typeof ObjectType];

/** LlamaIndex's `NodeRelationship`: digit strings, the keys of `relationships`. */
export const NodeRelationship = {
  SOURCE: "1",
  PREVIOUS: "2",
  NEXT: "3",
  PARENT: "4",
  CHILD: "5",
} as const;
export type NodeRelationship = (typeof NodeRelationship)[keyof typeof NodeRelationship];

export type Metadata = Record<string, unknown>;

export interface RelatedNodeInfo {
  nodeId: string;
  nodeType?: string | null;
  metadata?: Metadata;
  hash?: string | null;
}

/** CHILD maps to a list, the other relationships to a single entry. */
export type Relationships = {
  [NodeRelationship.SOURCE]?: RelatedNodeInfo;
  [NodeRelationship.PREVIOUS]?: RelatedNodeInfo;
  [NodeRelationship.NEXT]?: RelatedNodeInfo;
  [NodeRelationship.PARENT]?: RelatedNodeInfo;
  [NodeRelationship.CHILD]?: RelatedNodeInfo[];
};

export const MetadataMode = { ALL: "all", EMBED: "embed", LLM: "llm", NONE: "none" } as const;
export type MetadataMode = (typeof MetadataMode)[keyof typeof MetadataMode];

export interface BaseNodeInit {
  id?: string;
  text?: string;
  metadata?: Metadata;
  relationships?: Relationships;
  embedding?: number[] | null;
  excludedEmbedMetadataKeys?: string[];
  excludedLlmMetadataKeys?: string[];
  metadataTemplate?: string;
  metadataSeparator?: string;
  textTemplate?: string;
  mimetype?: string;
  startCharIdx?: number | null;
  endCharIdx?: number | null;
  /** Fields of a LlamaIndex JSON dump we do not model; kept so a round trip is lossless. */
  extra?: Record<string, unknown>;
}

/**
 * A node as LlamaIndex models it. `TextNode`, `Document`, `ImageNode` and `IndexNode` extend it;
 * `toJSON()` produces LlamaIndex's `{__data__, __type__}` shape and {@link jsonToNode} reads it back.
 */
export abstract class BaseNode {
  id: string;
  text: string;
  metadata: Metadata;
  relationships: Relationships;
  embedding: number[] | null;
  excludedEmbedMetadataKeys: string[];
  excludedLlmMetadataKeys: string[];
  metadataTemplate: string;
  metadataSeparator: string;
  textTemplate: string;
  mimetype: string;
  startCharIdx: number | null;
  endCharIdx: number | null;
  extra: Record<string, unknown>;
  /**
   * The exact form of `metadata` as read from JSON (see {@link exactMetadataOf}), with the
   * fingerprint of the JS object at that time: used while the object is unchanged.
   */
  #exact: { form: ExactMetadata | (() => ExactMetadata | undefined); fingerprint: string } | undefined;

  constructor(init: BaseNodeInit = {}) {
    this.id = init.id ?? randomUUID();
    this.text = init.text ?? "";
    if (typeof this.text !== "string") {
      throw new StorageError("INVALID_ARGUMENT", `node text must be a string, got ${typeof this.text}`, { details: { id: this.id } });
    }
    this.metadata = init.metadata ?? {};
    this.relationships = init.relationships ?? {};
    this.embedding = init.embedding ?? null;
    this.excludedEmbedMetadataKeys = init.excludedEmbedMetadataKeys ?? [];
    this.excludedLlmMetadataKeys = init.excludedLlmMetadataKeys ?? [];
    this.metadataTemplate = init.metadataTemplate ?? DEFAULTS_TEXT.metadataTemplate;
    this.metadataSeparator = init.metadataSeparator ?? DEFAULTS_TEXT.metadataSeparator;
    this.textTemplate = init.textTemplate ?? DEFAULTS_TEXT.textTemplate;
    this.mimetype = init.mimetype ?? DEFAULTS_TEXT.mimetype;
    this.startCharIdx = init.startCharIdx ?? null;
    this.endCharIdx = init.endCharIdx ?? null;
    this.extra = init.extra ?? {};
  }

  abstract get type(): ObjectType;
  /** LlamaIndex's `class_name`. */
  abstract get className(): string;

  /** The id of the document this node came from (its SOURCE relationship), if any. */
  get refDocId(): string | undefined {
    return this.relationships[NodeRelationship.SOURCE]?.nodeId;
  }

  get sourceNode(): RelatedNodeInfo | undefined {
    return this.relationships[NodeRelationship.SOURCE];
  }

  /** sha256(text + str(metadata)), exactly as Python's `TextNode.hash`. */
  get hash(): string {
    return sha256(this.text + (this.exactMetadata()?.repr ?? pyRepr(this.metadata)));
  }

  /**
   * The exact form of `metadata` (Python's view: key order, ints of any size, `1.0`, `-0.0`) when
   * the node was read from JSON whose metadata JavaScript values cannot hold exactly, and
   * `metadata` is unchanged since (compared as JS values); otherwise `undefined`, and the JS
   * object is the truth. Hashes and metadata strings use it.
   */
  exactMetadata(): ExactMetadata | undefined {
    const e = this.#exact;
    if (e === undefined) return undefined;
    if (valueFingerprint(this.metadata) !== e.fingerprint) {
      this.#exact = undefined; // edited: the JS values are the truth from now on
      return undefined;
    }
    if (typeof e.form === "function") {
      // Worked out from the text on first use (reading many nodes costs no tokenising).
      const form = e.form();
      if (form === undefined) {
        this.#exact = undefined;
        return undefined;
      }
      e.form = form;
    }
    return e.form;
  }

  /**
   * @internal Records the exact form of the current `metadata` (see {@link exactMetadata}), or a
   * function computing it when first needed.
   */
  setExactMetadata(form: ExactMetadata | (() => ExactMetadata | undefined) | undefined): void {
    this.#exact = form === undefined ? undefined : { form, fingerprint: valueFingerprint(this.metadata) };
  }

  getMetadataStr(mode: MetadataMode = MetadataMode.ALL): string {
    const excluded =
      mode === MetadataMode.ALL
        ? []
        : mode === MetadataMode.EMBED
          ? this.excludedEmbedMetadataKeys
          : mode === MetadataMode.LLM
            ? this.excludedLlmMetadataKeys
            : Object.keys(this.metadata);
    const exact = this.exactMetadata();
    const members = exact ? exact.members.map((m) => [m.key, m.str] as const) : Object.entries(this.metadata).map(([k, v]) => [k, pyStr(v)] as const);
    return members
      .filter(([k]) => !excluded.includes(k))
      .map(([k, v]) => pyFormat(this.metadataTemplate, { key: k, value: v }))
      .join(this.metadataSeparator);
  }

  /** Text plus metadata, as LlamaIndex feeds it to an embedder (EMBED) or an LLM (LLM). */
  getContent(mode: MetadataMode = MetadataMode.NONE): string {
    const metadataStr = this.getMetadataStr(mode).trim();
    if (mode === MetadataMode.NONE || !metadataStr) return this.text;
    return pyFormat(this.textTemplate, { metadata_str: metadataStr, content: this.text }).trim();
  }

  /** The `__data__` object, snake_case keys in Python's dump order. */
  protected baseData(): Record<string, unknown> {
    return {
      id_: this.id,
      embedding: this.embedding,
      metadata: this.metadata,
      excluded_embed_metadata_keys: this.excludedEmbedMetadataKeys,
      excluded_llm_metadata_keys: this.excludedLlmMetadataKeys,
      relationships: relationshipsToJson(this.relationships),
      metadata_template: this.metadataTemplate,
      metadata_separator: this.metadataSeparator,
      text: this.text,
      mimetype: this.mimetype,
      start_char_idx: this.startCharIdx,
      end_char_idx: this.endCharIdx,
      // LlamaIndex 0.10 and 0.12 read a TextNode's separator from the misspelt key only.
      ...(this.metadataSeparator !== DEFAULTS_TEXT.metadataSeparator ? { metadata_seperator: this.metadataSeparator } : {}),
      text_template: this.textTemplate,
    };
  }

  protected dataJson(): Record<string, unknown> {
    const data = this.baseData();
    // Same result as `{...data, ...extra, class_name}`, without copying `data` when `extra` is empty.
    if (Reflect.ownKeys(this.extra).length > 0) return { ...data, ...this.extra, class_name: this.className };
    data["class_name"] = this.className;
    return data;
  }

  /** LlamaIndex's `doc_to_json`: `{__data__, __type__}` (data first). */
  toJSON(): NodeJson {
    return { __data__: this.dataJson(), __type__: this.type };
  }

  /** A deep copy (via the JSON form); the exact form of unchanged metadata is kept. */
  clone(): this {
    const copy = jsonToNode(structuredClone(this.toJSON())) as this;
    copy.setExactMetadata(this.exactMetadata());
    return copy;
  }
}

export interface NodeJson {
  __data__: Record<string, unknown>;
  __type__: string;
}

export class TextNode extends BaseNode {
  get type(): ObjectType {
    return ObjectType.TEXT;
  }
  get className(): string {
    return "TextNode";
  }
}

/**
 * A source document. Serialized in LlamaIndex 0.12+'s shape (`text_resource` plus the synthetic
 * `text` key); older dumps with a top-level `text` load too.
 */
export class Document extends BaseNode {
  get type(): ObjectType {
    return ObjectType.DOCUMENT;
  }
  get className(): string {
    return "Document";
  }
  /**
   * Python 0.14 `Node.hash`: sha256 of the metadata string and the text resource's hash. A
   * Document has a text resource when its text is not empty, or when it was read with one
   * (Python's `Document(text="")` has none: `"text_resource": null`).
   */
  override get hash(): string {
    const ids: string[] = [];
    const metadataStr = this.getMetadataStr(MetadataMode.ALL);
    if (metadataStr) ids.push(metadataStr);
    if (this.#hasTextResource()) ids.push(sha256(this.text === "" ? "<empty_string>" : this.text));
    return sha256(ids.join("-"));
  }
  #hasTextResource(): boolean {
    const tr = this.extra["text_resource"];
    return this.text !== "" || (typeof tr === "object" && tr !== null);
  }
  protected override dataJson(): Record<string, unknown> {
    const d = this.baseData();
    const textResource = (this.extra["text_resource"] as Record<string, unknown> | null | undefined) ?? {
      embeddings: null,
      text: this.text,
      path: null,
      url: null,
      mimetype: null,
    };
    const out: Record<string, unknown> = {
      id_: d["id_"],
      embedding: d["embedding"],
      metadata: d["metadata"],
      excluded_embed_metadata_keys: d["excluded_embed_metadata_keys"],
      excluded_llm_metadata_keys: d["excluded_llm_metadata_keys"],
      relationships: d["relationships"],
      metadata_template: d["metadata_template"],
      metadata_separator: d["metadata_separator"],
      ...(d["metadata_seperator"] !== undefined ? { metadata_seperator: d["metadata_seperator"] } : {}),
      text_resource: { ...textResource, text: this.text },
      image_resource: null,
      audio_resource: null,
      video_resource: null,
      text_template: d["text_template"],
      ...this.extra,
      ...(this.startCharIdx !== null ? { start_char_idx: this.startCharIdx } : {}),
      ...(this.endCharIdx !== null ? { end_char_idx: this.endCharIdx } : {}),
      class_name: "Document",
      text: this.text,
    };
    // After `extra`, which may hold the resource as read: the text is the node's current one.
    out["text_resource"] = this.#hasTextResource() ? { ...textResource, text: this.text } : null;
    return out;
  }
}

export interface ImageNodeInit extends BaseNodeInit {
  image?: string | null;
  imagePath?: string | null;
  imageUrl?: string | null;
  imageMimetype?: string | null;
  textEmbedding?: number[] | null;
}

export class ImageNode extends BaseNode {
  image: string | null;
  imagePath: string | null;
  imageUrl: string | null;
  imageMimetype: string | null;
  textEmbedding: number[] | null;
  constructor(init: ImageNodeInit = {}) {
    super(init);
    this.image = init.image ?? null;
    this.imagePath = init.imagePath ?? null;
    this.imageUrl = init.imageUrl ?? null;
    this.imageMimetype = init.imageMimetype ?? null;
    this.textEmbedding = init.textEmbedding ?? null;
  }
  get type(): ObjectType {
    return ObjectType.IMAGE;
  }
  get className(): string {
    return "ImageNode";
  }
  override get hash(): string {
    const s = (v: string | null) => (v ? v : "None");
    return sha256(`${s(this.image)}-${s(this.imagePath)}-${s(this.imageUrl)}-${s(this.text)}`);
  }
  protected override dataJson(): Record<string, unknown> {
    return {
      ...this.baseData(),
      image: this.image,
      image_path: this.imagePath,
      image_url: this.imageUrl,
      image_mimetype: this.imageMimetype,
      text_embedding: this.textEmbedding,
      ...this.extra,
      class_name: this.className,
    };
  }
}

export interface IndexNodeInit extends BaseNodeInit {
  indexId?: string;
  obj?: unknown;
}

export class IndexNode extends BaseNode {
  indexId: string;
  obj: unknown;
  constructor(init: IndexNodeInit = {}) {
    super(init);
    this.indexId = init.indexId ?? "";
    this.obj = init.obj ?? null;
  }
  get type(): ObjectType {
    return ObjectType.INDEX;
  }
  get className(): string {
    return "IndexNode";
  }
  protected override dataJson(): Record<string, unknown> {
    const obj = this.obj instanceof BaseNode ? this.obj.toJSON() : this.obj;
    return { ...this.baseData(), index_id: this.indexId, obj, ...this.extra, class_name: this.className };
  }
}

/** Node's one-shot `crypto.hash` (20.12+, 21.7+) when present: no Hash object per call. */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;

/**
 * True when `node.toJSON()` is certainly a plain JSON object (what `assertJsonObject` accepts),
 * decided from the node's fields without building the JSON: a `TextNode` (exactly, not a subclass,
 * no own methods) with no `extra` fields whose fields all have their declared types and whose
 * metadata, relationship metadata and embedding are JSON. False means "not sure": build
 * `toJSON()` and validate it (that also produces the precise error).
 */
export function isPlainTextNodeJson(node: BaseNode): boolean {
  if (Object.getPrototypeOf(node) !== TextNode.prototype) return false;
  const n = node as unknown as Record<string, unknown>;
  // An instance may shadow the methods that shape its JSON.
  for (const m of SHAPING_MEMBERS) if (Object.hasOwn(n, m)) return false;
  if (
    typeof n["id"] !== "string" ||
    typeof n["text"] !== "string" ||
    typeof n["metadataTemplate"] !== "string" ||
    typeof n["metadataSeparator"] !== "string" ||
    typeof n["textTemplate"] !== "string" ||
    typeof n["mimetype"] !== "string"
  ) {
    return false;
  }
  const extra = n["extra"];
  if (!isPlainObject(extra) || Object.keys(extra).length > 0) return false;
  // Depths as in the node JSON (metadata is level 3), so the depth limit is the same as the docstore's.
  if (!isPlainObject(n["metadata"]) || !isJsonValue(n["metadata"], 2)) return false;
  if (n["embedding"] !== null && !(Array.isArray(n["embedding"]) && isJsonValue(n["embedding"]))) return false;
  if (!Array.isArray(n["excludedEmbedMetadataKeys"]) || !isJsonValue(n["excludedEmbedMetadataKeys"])) return false;
  if (!Array.isArray(n["excludedLlmMetadataKeys"]) || !isJsonValue(n["excludedLlmMetadataKeys"])) return false;
  for (const k of ["startCharIdx", "endCharIdx"]) {
    const v = n[k];
    if (v !== null && !(typeof v === "number" && Number.isFinite(v))) return false;
  }
  const rels = n["relationships"];
  if (!isPlainObject(rels)) return false;
  for (const k of Object.keys(rels)) {
    const v = rels[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      for (const r of v) if (!isPlainRelated(r)) return false;
    } else if (!isPlainRelated(v)) return false;
  }
  return Object.getOwnPropertySymbols(rels).length === 0;
}

/**
 * `JSON.stringify(new TextNode(fields).toJSON())`, written field by field from `fields` (a
 * `TextNode`, or the init of one) without building the node or its JSON object tree; constant
 * defaults are printed once. For fields without `extra` only (callers check: with `extra`, use the
 * ordinary path). `ref`: a SOURCE id to use when `fields.relationships` is absent;
 * `nullEmbedding`: write `"embedding":null` whatever the fields hold. Tests compare the bytes
 * with `toJSON()` for every field.
 */
export function textNodeJsonText(fields: BaseNodeInit, options: { ref?: string | undefined; nullEmbedding?: boolean } = {}): string {
  const S = JSON.stringify;
  const D = defaultFieldJson();
  const or = <T>(v: T | null | undefined, fallback: string) => (v === undefined || v === null ? fallback : S(v));
  let rels: string;
  if (fields.relationships !== undefined) {
    rels = "";
    const all = fields.relationships as Record<string, RelatedNodeInfo | RelatedNodeInfo[] | undefined>;
    for (const k of Object.keys(all)) {
      const v = all[k];
      if (v === undefined) continue;
      rels += `${rels === "" ? "" : ","}${S(k)}:${Array.isArray(v) ? `[${v.map(relatedJsonText).join(",")}]` : relatedJsonText(v)}`;
    }
  } else rels = options.ref === undefined ? "" : `"1":${relatedJsonText({ nodeId: options.ref })}`;
  return (
    `{"__data__":{"id_":${S(fields.id)},"embedding":${options.nullEmbedding ? "null" : or(fields.embedding, "null")},"metadata":${metadataJsonText(fields)}` +
    `,"excluded_embed_metadata_keys":${or(fields.excludedEmbedMetadataKeys, "[]")},"excluded_llm_metadata_keys":${or(fields.excludedLlmMetadataKeys, "[]")}` +
    `,"relationships":{${rels}},"metadata_template":${fields.metadataTemplate === undefined || fields.metadataTemplate === DEFAULTS_TEXT.metadataTemplate ? D.metadataTemplate : S(fields.metadataTemplate)}` +
    `,"metadata_separator":${fields.metadataSeparator === undefined || fields.metadataSeparator === DEFAULTS_TEXT.metadataSeparator ? D.metadataSeparator : S(fields.metadataSeparator)}` +
    `,"text":${or(fields.text, '""')},"mimetype":${fields.mimetype === undefined || fields.mimetype === DEFAULTS_TEXT.mimetype ? D.mimetype : S(fields.mimetype)}` +
    `,"start_char_idx":${or(fields.startCharIdx, "null")},"end_char_idx":${or(fields.endCharIdx, "null")}` +
    (fields.metadataSeparator === undefined || fields.metadataSeparator === DEFAULTS_TEXT.metadataSeparator ? "" : `,"metadata_seperator":${S(fields.metadataSeparator)}`) +
    `,"text_template":${fields.textTemplate === undefined || fields.textTemplate === DEFAULTS_TEXT.textTemplate ? D.textTemplate : S(fields.textTemplate)},"class_name":"TextNode"},"__type__":"1"}`
  );
}

/** The metadata's JSON in {@link textNodeJsonText}: exact when read from JSON and unchanged, `-0` as `-0.0`. */
function metadataJsonText(fields: BaseNodeInit): string {
  if (fields instanceof BaseNode) {
    const exact = fields.exactMetadata();
    if (exact !== undefined) return exact.json;
  }
  const m = fields.metadata;
  return m === undefined || m === null ? "{}" : jsonTextKeepingNegativeZero(m);
}

function relatedJsonText(r: RelatedNodeInfo): string {
  const S = JSON.stringify;
  return `{"node_id":${S(r.nodeId)},"node_type":${S(r.nodeType ?? null)},"metadata":${S(r.metadata ?? {})},"hash":${S(r.hash ?? null)},"class_name":"RelatedNodeInfo"}`;
}

/** TextNode's default template, separator and mimetype, and their JSON (computed once). */
const DEFAULTS_TEXT = { metadataTemplate: "{key}: {value}", metadataSeparator: "\n", mimetype: "text/plain", textTemplate: "{metadata_str}\n\n{content}" };
let defaultJsonCache: Record<keyof typeof DEFAULTS_TEXT, string> | undefined;
function defaultFieldJson(): Record<keyof typeof DEFAULTS_TEXT, string> {
  return (defaultJsonCache ??= {
    metadataTemplate: JSON.stringify(DEFAULTS_TEXT.metadataTemplate),
    metadataSeparator: JSON.stringify(DEFAULTS_TEXT.metadataSeparator),
    mimetype: JSON.stringify(DEFAULTS_TEXT.mimetype),
    textTemplate: JSON.stringify(DEFAULTS_TEXT.textTemplate),
  });
}

function isPlainRelated(r: unknown): boolean {
  if (!isPlainObject(r) || typeof r["nodeId"] !== "string") return false;
  const t = r["nodeType"];
  const h = r["hash"];
  const m = r["metadata"];
  return (
    (t === undefined || t === null || typeof t === "string") &&
    (h === undefined || h === null || typeof h === "string") &&
    (m === undefined || m === null || (isPlainObject(m) && isJsonValue(m, 5)))
  );
}

const SHAPING_MEMBERS = ["toJSON", "dataJson", "baseData", "type", "className"] as const;

/**
 * Hex SHA-256 of `text` encoded as Python's `text.encode("utf-8", "surrogatepass")`: UTF-8, and a
 * lone surrogate (which JavaScript strings and Python `str` can both hold) as its own three bytes
 * (`\ud800` -> `ed a0 80`), where Node's UTF-8 encoder would write U+FFFD instead.
 */
export function sha256(text: string): string {
  if (!isWellFormed(text)) return createHash("sha256").update(surrogatePassBytes(text)).digest("hex");
  return oneShotHash ? oneShotHash("sha256", text, "hex") : createHash("sha256").update(text, "utf8").digest("hex");
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isWellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: () => boolean }).isWellFormed === "function"
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !LONE_SURROGATE.test(s);

/** UTF-8 with lone surrogates written as three-byte sequences (Python's "surrogatepass"). */
function surrogatePassBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // a pair: ordinary UTF-8
        continue;
      }
    }
    if (i > from) parts.push(Buffer.from(text.slice(from, i), "utf8"));
    parts.push(Buffer.from([0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]));
    from = i + 1;
  }
  if (from < text.length) parts.push(Buffer.from(text.slice(from), "utf8"));
  return Buffer.concat(parts);
}

/**
 * Python's `template.format(**fields)` for the templates LlamaIndex uses: `{name}` is replaced by
 * the field (in one pass: a value holding `{content}` or `$&` stays as it is), `{{`/`}}` are braces.
 */
export function pyFormat(template: string, fields: Record<string, string>): string {
  return template.replace(/\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string | undefined) => {
    if (m === "{{") return "{";
    if (m === "}}") return "}";
    const v = name === undefined ? undefined : fields[name];
    return v === undefined ? m : v;
  });
}

function relationshipsToJson(rels: Relationships): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rels)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(relatedToJson) : relatedToJson(v as RelatedNodeInfo);
  }
  return out;
}

function relatedToJson(r: RelatedNodeInfo): Record<string, unknown> {
  return {
    node_id: r.nodeId,
    node_type: r.nodeType ?? null,
    metadata: r.metadata ?? {},
    hash: r.hash ?? null,
    class_name: "RelatedNodeInfo",
  };
}

const RELATIONSHIP_NAMES: Record<string, NodeRelationship> = {
  SOURCE: "1",
  PREVIOUS: "2",
  NEXT: "3",
  PARENT: "4",
  CHILD: "5",
};

function invalid(message: string): StorageError {
  return new StorageError("INVALID_ARGUMENT", message);
}

function relatedFromJson(v: unknown, where: string): RelatedNodeInfo {
  if (typeof v === "string") return { nodeId: v }; // legacy {rel: node_id}
  if (typeof v !== "object" || v === null || typeof (v as Record<string, unknown>)["node_id"] !== "string") {
    throw invalid(`relationship ${where} must be an object with a string node_id`);
  }
  const o = v as Record<string, unknown>;
  const info: RelatedNodeInfo = { nodeId: o["node_id"] as string };
  if (o["node_type"] !== undefined) info.nodeType = o["node_type"] as string | null;
  if (o["metadata"] !== undefined) info.metadata = (o["metadata"] as Metadata) ?? {};
  if (o["hash"] !== undefined) info.hash = o["hash"] as string | null;
  return info;
}

function relationshipsFromJson(raw: unknown): Relationships {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw invalid("relationships must be an object");
  const out: Record<string, unknown> = {};
  for (const [k0, v] of Object.entries(raw as Record<string, unknown>)) {
    const k = RELATIONSHIP_NAMES[k0] ?? k0;
    if (!["1", "2", "3", "4", "5"].includes(k)) throw invalid(`unknown relationship ${JSON.stringify(k0)}`);
    out[k] = Array.isArray(v) ? v.map((x, i) => relatedFromJson(x, `${k}[${i}]`)) : relatedFromJson(v, k);
  }
  return out as Relationships;
}

const KNOWN_BASE_KEYS = new Set([
  "id_",
  "embedding",
  "metadata",
  "excluded_embed_metadata_keys",
  "excluded_llm_metadata_keys",
  "relationships",
  "metadata_template",
  "metadata_separator",
  "metadata_seperator",
  "text",
  "mimetype",
  "start_char_idx",
  "end_char_idx",
  "text_template",
  "class_name",
]);

function optNumber(v: unknown, key: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "number") throw invalid(`${key} must be a number or null`);
  return v;
}

function optStringArray(v: unknown, key: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw invalid(`${key} must be a string array`);
  return v as string[];
}

function baseInitFromData(data: Record<string, unknown>, extraSkip: readonly string[] = []): BaseNodeInit {
  const id = data["id_"] ?? data["doc_id"];
  if (typeof id !== "string") throw invalid("node JSON has no string id_");
  const metadata = data["metadata"] ?? data["extra_info"] ?? {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw invalid(`node ${id}: metadata must be an object`);
  }
  const embedding = data["embedding"];
  if (embedding !== undefined && embedding !== null && !Array.isArray(embedding)) {
    throw invalid(`node ${id}: embedding must be an array or null`);
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (!KNOWN_BASE_KEYS.has(k) && !extraSkip.includes(k)) extra[k] = v;
  }
  const init: BaseNodeInit = {
    id,
    text: typeof data["text"] === "string" ? data["text"] : "",
    metadata: metadata as Metadata,
    relationships: relationshipsFromJson(data["relationships"]),
    embedding: (embedding as number[] | null | undefined) ?? null,
    excludedEmbedMetadataKeys: optStringArray(data["excluded_embed_metadata_keys"], "excluded_embed_metadata_keys"),
    excludedLlmMetadataKeys: optStringArray(data["excluded_llm_metadata_keys"], "excluded_llm_metadata_keys"),
    startCharIdx: optNumber(data["start_char_idx"], "start_char_idx"),
    endCharIdx: optNumber(data["end_char_idx"], "end_char_idx"),
    extra,
  };
  const sep = data["metadata_separator"] ?? data["metadata_seperator"];
  if (typeof sep === "string") init.metadataSeparator = sep;
  if (typeof data["metadata_template"] === "string") init.metadataTemplate = data["metadata_template"];
  if (typeof data["text_template"] === "string") init.textTemplate = data["text_template"];
  if (typeof data["mimetype"] === "string") init.mimetype = data["mimetype"];
  return init;
}

const LEGACY_SKIP = ["doc_id", "extra_info", "doc_hash"];

/**
 * LlamaIndex's `json_to_doc`: reads `{__data__, __type__}` (and the pre-metadata legacy shape with
 * `extra_info`/`doc_id`). Unknown `__type__` or malformed fields are `INVALID_ARGUMENT`.
 */
export function jsonToNode(json: unknown): BaseNode {
  if (typeof json === "string") {
    try {
      json = parseJsonKeepingSource(json);
    } catch (cause) {
      throw new StorageError("INVALID_ARGUMENT", "node JSON text is not JSON", { cause });
    }
  }
  const node = jsonToNodeValue(json);
  recordExactMetadata(node, json);
  return node;
}

/** The JSON text nodes were read from, where JS values may not hold it exactly (see {@link nodeJsonText}). */
const nodeSources = new WeakMap<BaseNode, { text: string; metadataInexact: boolean }>();

/**
 * When `json` was parsed from text (`parseJsonKeepingSource`, as stored node values are read) and
 * its metadata holds values JavaScript cannot keep exactly, remember their exact form on the node.
 */
function recordExactMetadata(node: BaseNode, json: unknown): void {
  const source = jsonSourceOf(json);
  if (source === undefined) return;
  const data = (json as Record<string, unknown>)["__data__"];
  // The whole text, for writing the node back as read while it is unchanged (nodeJsonText).
  const metadataInexact = mayBeInexactIn(node.metadata, typeof data === "string" ? data : source);
  if (metadataInexact || mayBeInexactIn(json, source)) nodeSources.set(node, { text: source, metadataInexact });
  if (!metadataInexact) return;
  const key = typeof data === "object" && data !== null && (data as Record<string, unknown>)["metadata"] === undefined ? "extra_info" : "metadata";
  node.setExactMetadata(() => {
    if (typeof data !== "string") return exactObjectAt(source, ["__data__", key]);
    const d = JSON.parse(data) as Record<string, unknown>;
    return exactObjectAt(data, [d["metadata"] === undefined && d["extra_info"] !== undefined ? "extra_info" : "metadata"]);
  });
}

function jsonToNodeValue(json: unknown): BaseNode {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw invalid("node JSON must be an object with __data__ and __type__");
  }
  const o = json as Record<string, unknown>;
  let data = o["__data__"];
  const type = o["__type__"];
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch (cause) {
      throw new StorageError("INVALID_ARGUMENT", "node __data__ is a string that is not JSON", { cause });
    }
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw invalid("node JSON has no __data__ object");
  }
  const d = data as Record<string, unknown>;
  const skip = "extra_info" in d ? LEGACY_SKIP : [];
  switch (type) {
    case ObjectType.TEXT:
    case "TextNode":
      return new TextNode(baseInitFromData(d, skip));
    case ObjectType.DOCUMENT:
    case "Document": {
      const init = baseInitFromData(d, [...skip, "text_resource", "image_resource", "audio_resource", "video_resource"]);
      const tr = d["text_resource"];
      if (tr && typeof tr === "object" && typeof (tr as Record<string, unknown>)["text"] === "string") {
        init.text = (tr as Record<string, unknown>)["text"] as string;
        const rest = { ...(tr as Record<string, unknown>) };
        // Kept when it carries more than the text, or when the text is empty (a resource with "" hashes
        // differently from no resource).
        if (init.text === "" || Object.entries(rest).some(([k, v]) => k !== "text" && v !== null)) init.extra = { ...init.extra, text_resource: rest };
      }
      for (const k of ["image_resource", "audio_resource", "video_resource"]) {
        if (d[k] !== undefined && d[k] !== null) init.extra = { ...init.extra, [k]: d[k] };
      }
      return new Document(init);
    }
    case ObjectType.IMAGE:
    case "ImageNode":
    case "ImageDocument": {
      const init: ImageNodeInit = baseInitFromData(d, [
        ...skip,
        "image",
        "image_path",
        "image_url",
        "image_mimetype",
        "text_embedding",
      ]);
      init.image = (d["image"] as string | null | undefined) ?? null;
      init.imagePath = (d["image_path"] as string | null | undefined) ?? null;
      init.imageUrl = (d["image_url"] as string | null | undefined) ?? null;
      init.imageMimetype = (d["image_mimetype"] as string | null | undefined) ?? null;
      init.textEmbedding = (d["text_embedding"] as number[] | null | undefined) ?? null;
      return new ImageNode(init);
    }
    case ObjectType.INDEX:
    case "IndexNode": {
      const init: IndexNodeInit = baseInitFromData(d, [...skip, "index_id", "obj"]);
      init.indexId = typeof d["index_id"] === "string" ? d["index_id"] : "";
      const obj = d["obj"];
      init.obj =
        obj && typeof obj === "object" && "__type__" in (obj as object) && "__data__" in (obj as object)
          ? jsonToNode(obj)
          : (obj ?? null);
      return new IndexNode(init);
    }
    default:
      throw invalid(`unknown node type ${JSON.stringify(type)} (expected "1".."4")`);
  }
}

/**
 * `JSON.stringify(node.toJSON())`, except that a node read from JSON text and unchanged since
 * (compared as JS values) is written as that text (without whitespace), and otherwise metadata read
 * from JSON and unchanged since (see {@link BaseNode.exactMetadata}) is written as it was read:
 * `1.0`, `-0.0`, integers beyond 2^53 and the order of integer-like keys (also in relationships)
 * stay as they were; other metadata holding `-0` has it written `-0.0`. Stores write nodes with it.
 */
export function nodeJsonText(node: BaseNode): string {
  const exactForm = node.exactMetadata();
  const json = node.toJSON();
  const src = nodeSources.get(node);
  // Unchanged since read (compared as JS values, and its metadata's exact form still in force):
  // the text as read, without whitespace (numbers, key order and escapes as they were).
  if (src !== undefined && (exactForm !== undefined || !src.metadataInexact) && valueFingerprint(json) === valueFingerprint(JSON.parse(src.text))) {
    return compactJsonText(src.text);
  }
  const exact = exactForm?.json ?? (hasNegativeZero(node.metadata) ? jsonTextKeepingNegativeZero(node.metadata) : undefined);
  const data = json.__data__;
  if (exact === undefined || data["metadata"] !== node.metadata) return JSON.stringify(json);
  const marker = `larder-exact-metadata-${randomUUID()}`;
  data["metadata"] = marker;
  const text = JSON.stringify(json);
  const literal = JSON.stringify(marker);
  const at = text.indexOf(literal);
  return at < 0 ? JSON.stringify({ ...json, __data__: { ...data, metadata: node.metadata } }) : text.slice(0, at) + exact + text.slice(at + literal.length);
}

/** Alias matching LlamaIndex's name. */
export const nodeToJson = (node: BaseNode): NodeJson => node.toJSON();
