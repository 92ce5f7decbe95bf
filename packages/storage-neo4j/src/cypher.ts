import { errors } from "@larder/core";

export const STORE_NAME = "Neo4jPropertyGraphStore";

/** Base label of every node the store writes (LlamaIndex's). */
export const NODE_LABEL = "__Node__";
/** Extra label of entity nodes (LlamaIndex's). */
export const ENTITY_LABEL = "__Entity__";
/** Extra label of chunk nodes (LlamaIndex's). */
export const CHUNK_LABEL = "Chunk";
/** Provenance relationship chunk -> entity (LlamaIndex's). */
export const MENTIONS = "MENTIONS";

/** Labels and types Neo4j accepts are tokens of at most this many characters (we stay well below). */
export const MAX_TOKEN_LENGTH = 4096;

/**
 * Quotes a label, relationship type or index name for Cypher: wrapped in backticks, a backtick
 * inside doubled. Call only on names that passed {@link checkToken}.
 */
export function quote(name: string): string {
  return "`" + name.replaceAll("`", "``") + "`";
}

/**
 * Validates a label or relationship type coming from user data (often an LLM): non-empty, not
 * blank, no NUL or other control character, bounded length. Everything else (spaces, quotes,
 * backticks, Unicode) is legal once quoted.
 */
export function checkToken(kind: "label" | "relationship type" | "property key", name: unknown): string {
  if (typeof name !== "string") {
    throw errors.invalid(`${kind} must be a string, got ${typeof name}`, { store: STORE_NAME });
  }
  if (name.trim() === "") {
    throw errors.invalid(`${kind} must not be empty or blank`, { store: STORE_NAME });
  }
  if (name.length > MAX_TOKEN_LENGTH) {
    throw errors.invalid(`${kind} is longer than ${MAX_TOKEN_LENGTH} characters`, { store: STORE_NAME });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    throw errors.invalid(`${kind} ${JSON.stringify(name.slice(0, 80))} contains a control character`, { store: STORE_NAME });
  }
  return name;
}

/**
 * Prefix of every namespace label: a store with `namespace: "t"` puts the label `__larder_ns__:t`
 * on its nodes. No other label starts with it (user labels with this prefix are refused), so a
 * namespace label never equals `__Node__`, `__Entity__`, `Chunk`, a user label or another
 * namespace's label, whatever the name.
 */
export const NAMESPACE_LABEL_PREFIX = "__larder_ns__:";
/** Longest namespace name, in UTF-16 code units. */
export const MAX_NAMESPACE_LENGTH = 100;

/**
 * A namespace name: any string of 1..100 UTF-16 code units, not blank, without control
 * characters or lone surrogates (backticks, quotes, spaces and Unicode are fine: it is only ever
 * used quoted, behind {@link NAMESPACE_LABEL_PREFIX}).
 */
export function checkNamespace(ns: unknown): string {
  const bad = (why: string) =>
    errors.invalid(`namespace ${typeof ns === "string" ? JSON.stringify(ns.slice(0, 80)) : `(${typeof ns})`} ${why}`, { store: STORE_NAME });
  if (typeof ns !== "string") throw bad("must be a string");
  if (ns.trim() === "") throw bad("must not be empty or blank");
  if (ns.length > MAX_NAMESPACE_LENGTH) throw bad(`is longer than ${MAX_NAMESPACE_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(ns)) throw bad("contains a control character");
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(ns)) throw bad("is not well-formed Unicode (lone surrogate)");
  return ns;
}

/** The label a namespace puts on its nodes. */
export function namespaceLabel(ns: string): string {
  return NAMESPACE_LABEL_PREFIX + ns;
}

/**
 * Names of a namespace's id constraint and vector index: `larder.ns.<name>.id` and
 * `larder.ns.<name>.embedding` (always quoted). The dots keep them apart from the names of
 * earlier versions (`larder_<name>_id`) and from the un-namespaced index `larder_node_embedding`;
 * distinct namespaces get distinct names.
 */
export function namespaceSchemaNames(ns: string): { constraint: string; vectorIndex: string } {
  return { constraint: `larder.ns.${ns}.id`, vectorIndex: `larder.ns.${ns}.embedding` };
}

/** `:`A`:`B`` for a pattern. */
export function labelExpr(labels: readonly string[]): string {
  return labels.map((l) => ":" + quote(l)).join("");
}
