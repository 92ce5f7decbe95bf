import { StorageError } from "../errors.js";
import type { MetadataFilters } from "../filters/types.js";
import { walkFilters } from "../filters/validate.js";
import { assertJsonMetadata, isJsonValue, isPlainObject, type JsonCheckOptions } from "../kv/validate.js";
import { MAX_TOP_K } from "./types.js";

/**
 * Argument checks every vector store shares, so that all of them refuse the same inputs with the
 * same code and message, before any I/O. A backend may refuse more (e.g. U+0000 in Postgres JSONB),
 * never less.
 */

/** `topK` (default 2): an integer in [0, {@link MAX_TOP_K}], else INVALID_ARGUMENT. */
export function checkTopK(topK: unknown, store: string): number {
  const k = topK ?? 2;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 0 || k > MAX_TOP_K) {
    throw new StorageError(
      "INVALID_ARGUMENT",
      `topK must be an integer in [0, ${MAX_TOP_K}] (MAX_TOP_K), got ${String(k)}; use getNodes to read every node`,
      { store },
    );
  }
  return k;
}

/** Whether a (validated) filter tree has at least one condition; a tree without one matches every node. */
export function filtersHaveCondition(filters: MetadataFilters): boolean {
  let found = false;
  walkFilters(filters, { leaf: () => void (found = true) });
  return found;
}

/**
 * `deleteNodes` never means "delete everything": neither `ids` nor `filters`, or a filter tree
 * without any condition (`{filters: []}`, which matches every node), is INVALID_ARGUMENT. Call it
 * with the validated tree (so a malformed or unsupported filter is reported as such first).
 * `{ids: []}` is fine: it deletes nothing.
 */
export function assertDeleteTarget(ids: readonly string[] | undefined | null, filters: MetadataFilters | undefined | null, store: string): void {
  const noIds = ids === undefined || ids === null;
  if (noIds && (filters === undefined || filters === null)) {
    throw new StorageError("INVALID_ARGUMENT", 'deleteNodes needs ids or filters (it never means "delete everything"; use clear())', { store });
  }
  if (filters !== undefined && filters !== null && !filtersHaveCondition(filters)) {
    throw new StorageError(
      "INVALID_ARGUMENT",
      'deleteNodes: the filters hold no condition, so they match every node (deleteNodes never means "delete everything"; use clear())',
      { store },
    );
  }
}

/** `node "id"` for messages (long ids shortened); the same label on every store. */
export function nodeLabel(id: unknown): string {
  if (typeof id !== "string") return "node";
  return `node ${JSON.stringify(id.length > 80 ? `${id.slice(0, 77)}...` : id)}`;
}

/**
 * What every vector store requires of a node's metadata before anything is written (`null` or
 * `undefined` stand for `{}`): a plain JSON object as the KV/docstore/chat stores define it (core
 * `assertJsonObject`: no NaN/±Infinity, `undefined`, functions, symbols, bigints, class instances
 * such as Date or Map, holes, cycles, or nesting deeper than `MAX_JSON_DEPTH` counted in the node
 * JSON). INVALID_ARGUMENT naming the node and the path, identical on every store. `refuseString`
 * adds a backend's own refusals of strings (keys and values), e.g. U+0000 in Postgres JSONB.
 */
export function assertNodeMetadata(node: { id: string; metadata?: unknown }, store: string, options?: Pick<JsonCheckOptions, "refuseString">): void {
  const m = node.metadata;
  // The common case without building the message's label (one pass, no allocation).
  if (m === null || m === undefined || (isPlainObject(m) && isJsonValue(m, 2, options?.refuseString))) return;
  assertJsonMetadata(m, store, `${nodeLabel(node.id)} metadata`, options);
}
