import type { BaseNode } from "../schema/node.js";
import type { JsonObject } from "../kv/types.js";

/** `{node_ids, metadata}` per source document, as LlamaIndex's `RefDocInfo`. */
export interface RefDocInfo {
  nodeIds: string[];
  metadata: JsonObject;
}

export interface AddDocumentsOptions {
  /** When false, adding an id that already exists is a `CONFLICT` and nothing of the call is written. Default true. */
  allowUpdate?: boolean;
  /** When false, only hashes and ref-doc bookkeeping are stored, not the node itself. Default true. */
  storeText?: boolean;
  batchSize?: number;
}

/**
 * Document store (LlamaIndex's `BaseDocumentStore`). Ref-doc bookkeeping is exact: after any delete,
 * `getRefDocInfo(id).nodeIds` lists exactly the nodes still stored for that document, and a ref doc
 * with no nodes left has no entry.
 */
export interface DocStore {
  addDocuments(nodes: readonly BaseNode[], options?: AddDocumentsOptions): Promise<void>;
  /** `undefined` when missing (or throws `NOT_FOUND` when `raiseError` is true; default false). A stored node that cannot be decoded is `CORRUPT`. */
  getDocument(id: string, raiseError?: boolean): Promise<BaseNode | undefined>;
  /** Nodes in the order of `ids`; missing ids are skipped unless `raiseError` (then `NOT_FOUND`). */
  getNodes(ids: readonly string[], raiseError?: boolean): Promise<BaseNode[]>;
  documentExists(id: string): Promise<boolean>;
  /**
   * Deletes one node (its text and its hash) and fixes its ref doc's bookkeeping; when it was the
   * last node of its ref doc, the ref-doc entry and the source document's own text and hash go too
   * (as in LlamaIndex). A hash-only entry (`storeText: false`) counts as existing.
   * Missing: `NOT_FOUND` if `raiseError` (default true), else resolves false.
   */
  deleteDocument(id: string, raiseError?: boolean): Promise<boolean>;
  /** Deletes a source document and all its nodes. Missing: `NOT_FOUND` if `raiseError` (default true). */
  deleteRefDoc(refDocId: string, raiseError?: boolean): Promise<boolean>;
  getRefDocInfo(refDocId: string): Promise<RefDocInfo | undefined>;
  getAllRefDocInfo(): Promise<Record<string, RefDocInfo>>;
  refDocExists(refDocId: string): Promise<boolean>;
  setDocumentHash(id: string, hash: string): Promise<void>;
  setDocumentHashes(hashes: Record<string, string>): Promise<void>;
  getDocumentHash(id: string): Promise<string | undefined>;
  /** id -> hash (LlamaIndex returns hash -> id, which collapses identical content; we do not). */
  getAllDocumentHashes(): Promise<Record<string, string>>;
  /** All node ids stored. */
  getAllDocumentIds(): Promise<string[]>;
}
