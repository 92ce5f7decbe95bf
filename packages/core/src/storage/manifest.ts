/**
 * The Larder format's manifest, `larder.json`: the single source of truth for which files make up
 * the current generation. Everything it does not reference is garbage (or a crashed writer's
 * leftovers). It is written last, atomically and conditionally, so it either names a complete
 * generation or is still the previous one.
 */
import { errors } from "../errors.js";
import { sha256Hex } from "./sha256.js";

export const MANIFEST_FILE = "larder.json";
/**
 * The format version this code writes. Readers accept 1..LARDER_FORMAT_VERSION. Version 2 added
 * the manifest's own checksum (see {@link encodeManifest}); version 1 manifests have none and
 * still load.
 */
export const LARDER_FORMAT_VERSION = 2;
/** The first format version whose manifest carries its own checksum. */
export const MANIFEST_CHECKSUM_VERSION = 2;

export type ComponentKind =
  | "docstore"
  | "index_store"
  | "vector_store"
  | "property_graph_store"
  | "graph_store"
  | "chat_store";

export const COMPONENT_KINDS: readonly ComponentKind[] = [
  "docstore",
  "index_store",
  "vector_store",
  "property_graph_store",
  "graph_store",
  "chat_store",
];

/** One file of a component: its name inside the persist dir, byte size and SHA-256 (hex). */
export interface FileRef {
  file: string;
  bytes: number;
  sha256: string;
}

/** Packed vectors: `count` rows of `dim` little-endian float32. */
export interface VectorFileRef extends FileRef {
  dtype: "float32le";
  dim: number;
  count: number;
}

/**
 * Changes to a component since its base file, applied in order on load and folded into a new base
 * when they grow (see kv-component.ts, vector-component.ts). A `json-tree-lines` delta holds
 * `[path, value]` lines (upserts) and `[path]` lines (deletes); a `vector-rows` delta has the base's
 * layout plus `vectors`.
 */
export interface ComponentDelta extends FileRef {
  generation: number;
  vectors?: VectorFileRef;
  /** Number of entries/ids deleted by this delta. */
  deleted: number;
  /** Number of entries upserted (tree deltas; vector deltas count `vectors.count`). */
  upserts?: number;
}

/** A vector-rows delta (always has its packed rows). */
export type VectorDelta = ComponentDelta & { vectors: VectorFileRef };

/**
 * A persisted component. `file` is its main file; a vector store also has `vectors` (packed rows)
 * and possibly `deltas`. `generation` is the generation whose persist wrote `file` (older than
 * the manifest's when an unchanged component was reused).
 *
 * Encodings: `json-tree-lines` = one `[path, value]` JSON array per line (see `treeLines`);
 * `vector-rows` = a header line, a line with the row ids, a line with deleted ids, then one node
 * JSON per row (row i of `vectors` is the embedding of id i).
 */
export interface ComponentEntry extends FileRef {
  kind: ComponentKind;
  encoding: "json-tree-lines" | "vector-rows";
  generation: number;
  /** Vector store namespace (`default`, `image`, ...). */
  namespace?: string;
  vectors?: VectorFileRef;
  /**
   * Vector stores loaded from a LlamaIndex file: the exact embeddings of base rows whose values
   * float32 would change (`larder-vector-exact` JSON lines, see vector-component.ts). Optional;
   * a row a delta writes or deletes loses its entry.
   */
  exact?: FileRef;
  deltas?: ComponentDelta[];
  /** The store class that was persisted (informational). */
  store?: string;
}

/** A store that was not written because it persists itself (Redis, Postgres, ...). */
export interface SkippedEntry {
  kind: ComponentKind;
  namespace?: string;
  store: string;
  reason: "remote";
}

export interface LarderManifest {
  format: "larder";
  formatVersion: number;
  /**
   * Format version 2+: SHA-256 (hex) of the manifest file's bytes before its `"checksum"` member
   * (see {@link encodeManifest}). Absent in version 1 manifests and in a manifest being built.
   */
  checksum?: string;
  generation: number;
  createdAt: string;
  /** Which library wrote it, e.g. `@larder/core`. */
  writer: string;
  components: Record<string, ComponentEntry>;
  skipped: Record<string, SkippedEntry>;
}

/** Files of an entry (the JSON-lines file and, for vectors, the packed floats). */
export function entryFiles(entry: ComponentEntry): FileRef[] {
  const files: FileRef[] = entry.vectors ? [entry, entry.vectors] : [entry];
  if (entry.exact) files.push(entry.exact);
  for (const d of entry.deltas ?? []) {
    files.push(d);
    if (d.vectors) files.push(d.vectors);
  }
  return files;
}

const GEN_FILE = /^g(\d{6,})-[0-9a-f]{8}\./;

/** The generation encoded in a component file name (`g000042-1a2b3c4d.docstore.jsonl`), if it is one. */
export function generationOfFile(name: string): number | undefined {
  const m = GEN_FILE.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * A component file name. The random `token` keeps two writers racing on the same generation from
 * overwriting each other's files (the loser's manifest write then fails with CONFLICT).
 */
export function componentFileName(generation: number, token: string, suffix: string): string {
  return `g${String(generation).padStart(6, "0")}-${token}.${suffix}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkFileRef(v: unknown, where: string): void {
  if (!isObject(v)) throw new Error(`${where} is not an object`);
  if (typeof v["file"] !== "string" || v["file"].includes("/") || v["file"] === "") throw new Error(`${where}.file is not a file name`);
  if (typeof v["bytes"] !== "number" || !Number.isSafeInteger(v["bytes"]) || v["bytes"] < 0) throw new Error(`${where}.bytes is not a size`);
  if (typeof v["sha256"] !== "string" || !/^[0-9a-f]{64}$/.test(v["sha256"])) throw new Error(`${where}.sha256 is not a hex SHA-256`);
}

function checkVectorRef(v: unknown, where: string): void {
  checkFileRef(v, where);
  const r = v as Record<string, unknown>;
  if (r["dtype"] !== "float32le") throw new Error(`${where}.dtype is unknown`);
  if (!Number.isSafeInteger(r["dim"]) || !Number.isSafeInteger(r["count"])) throw new Error(`${where} has no dim/count`);
  if ((r["dim"] as number) * (r["count"] as number) * 4 !== r["bytes"]) throw new Error(`${where} size does not match dim x count`);
}

/**
 * Validates a parsed manifest. A newer `formatVersion` is `UNSUPPORTED` (upgrade to read it);
 * anything malformed is `CORRUPT` naming the manifest file.
 */
export function validateManifest(value: unknown, file: string): LarderManifest {
  const corrupt = (why: string) => errors.corrupt(`${file}: ${why}`, { details: { file } });
  if (!isObject(value) || value["format"] !== "larder") throw corrupt("not a Larder manifest");
  const version = value["formatVersion"];
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) throw corrupt("formatVersion is missing or invalid");
  if (version > LARDER_FORMAT_VERSION) {
    throw errors.unsupported(
      `${file} was written in Larder format version ${version} by ${String(value["writer"] ?? "a newer version")}; ` +
        `this @larder/core reads versions up to ${LARDER_FORMAT_VERSION}. Upgrade @larder/core to load it.`,
      { details: { file, formatVersion: version } },
    );
  }
  const gen = value["generation"];
  if (typeof gen !== "number" || !Number.isSafeInteger(gen) || gen < 1) throw corrupt("generation is missing or invalid");
  if (!isObject(value["components"])) throw corrupt("components is missing");
  try {
    for (const [name, entry] of Object.entries(value["components"])) {
      checkFileRef(entry, `components.${name}`);
      const e = entry as Record<string, unknown>;
      if (!COMPONENT_KINDS.includes(e["kind"] as ComponentKind)) throw new Error(`components.${name}.kind is unknown`);
      if (e["encoding"] !== "json-tree-lines" && e["encoding"] !== "vector-rows") throw new Error(`components.${name}.encoding is unknown`);
      if (e["encoding"] === "vector-rows" && e["vectors"] === undefined) throw new Error(`components.${name}.vectors is missing`);
      if (e["vectors"] !== undefined) checkVectorRef(e["vectors"], `components.${name}.vectors`);
      if (e["exact"] !== undefined) checkFileRef(e["exact"], `components.${name}.exact`);
      if (e["deltas"] !== undefined) {
        if (!Array.isArray(e["deltas"])) throw new Error(`components.${name}.deltas is not a list`);
        e["deltas"].forEach((d: unknown, i: number) => {
          checkFileRef(d, `components.${name}.deltas[${i}]`);
          const dv = (d as Record<string, unknown>)["vectors"];
          if (e["encoding"] === "vector-rows" || dv !== undefined) checkVectorRef(dv, `components.${name}.deltas[${i}].vectors`);
        });
      }
    }
  } catch (err) {
    throw corrupt((err as Error).message);
  }
  const skipped = value["skipped"] ?? {};
  if (!isObject(skipped)) throw corrupt("skipped is not an object");
  return { ...(value as unknown as LarderManifest), skipped: skipped as Record<string, SkippedEntry> };
}

const CHECKSUM_TAIL = /,\n {2}"checksum": "([0-9a-f]{64})"\n\}\n$/;

/**
 * The bytes of `larder.json` for `manifest` (any `checksum` member is replaced): the manifest as
 * JSON (2-space indent) whose last member is `"checksum"`, the SHA-256 of every byte before the
 * `,` that opens that member. Any change to those bytes, or to the checksum itself, is detected.
 */
export function encodeManifest(manifest: LarderManifest): string {
  const { checksum: _ignored, ...rest } = manifest;
  const body = JSON.stringify(rest, null, 2);
  // `body` ends with "\n}": the checksum member goes in before the closing brace.
  const head = body.slice(0, -2);
  return `${head},\n  "checksum": "${sha256Hex(head)}"\n}\n`;
}

export interface ParsedManifest {
  manifest: LarderManifest;
  /** SHA-256 of the whole file: identifies this committed generation (what a context loaded). */
  fileSha256: string;
}

/**
 * Parses and validates the bytes of `larder.json` (`file` names it in errors). Order matters: a
 * checksum member that is present must match (else CORRUPT) before anything the file says is
 * believed, so a damaged `formatVersion` reads as CORRUPT, not as a newer format. Without a
 * checksum member, a manifest of version 2 or later is CORRUPT (the member was damaged or removed);
 * version 1 manifests (written before checksums) load without one; a version newer than this
 * library reads is UNSUPPORTED.
 */
export function parseManifest(bytes: Uint8Array, file: string): ParsedManifest {
  const corrupt = (why: string, cause?: unknown) => errors.corrupt(`${file}: ${why}`, { cause, details: { file } });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw corrupt("not valid UTF-8", cause);
  }
  const tail = CHECKSUM_TAIL.exec(text);
  if (tail) {
    const head = text.slice(0, tail.index);
    if (sha256Hex(head) !== tail[1]) throw corrupt("fails its own checksum (the manifest was damaged or edited)");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw errors.corrupt(`${file} is not valid JSON`, { cause, details: { file } });
  }
  if (tail) {
    // The verified checksum must be the member JSON.parse saw (not a duplicate key before it).
    if (!isObject(parsed) || parsed["checksum"] !== tail[1]) throw corrupt("the checksum member is malformed");
  }
  const manifest = validateManifest(parsed, file);
  if (!tail) {
    if (manifest.formatVersion >= MANIFEST_CHECKSUM_VERSION) throw corrupt(`format version ${manifest.formatVersion} requires the manifest's checksum, which is missing or damaged`);
  } else if (manifest.formatVersion < MANIFEST_CHECKSUM_VERSION) {
    throw corrupt(`format version ${manifest.formatVersion} has no checksum member`);
  }
  return { manifest, fileSha256: sha256Hex(bytes) };
}
