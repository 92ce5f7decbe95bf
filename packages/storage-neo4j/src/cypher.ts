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

/** A namespace becomes a label: restricted to a plain identifier so it is readable in the database. */
export function checkNamespace(ns: unknown): string {
  if (typeof ns !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(ns)) {
    throw errors.invalid(
      `namespace must match /^[A-Za-z_][A-Za-z0-9_]{0,99}$/ (it becomes a label), got ${JSON.stringify(ns)}`,
      { store: STORE_NAME },
    );
  }
  return ns;
}

/** `:`A`:`B`` for a pattern. */
export function labelExpr(labels: readonly string[]): string {
  return labels.map((l) => ":" + quote(l)).join("");
}
