import { type DocStore, errors } from "@larder/core";
import type { BaseNode } from "@llamaindex/core/schema";
import { BaseDocumentStore, type RefDocInfo } from "@llamaindex/core/storage/doc-store";
import { fromLarderNode, toLarderNode } from "./nodes.js";

/**
 * LlamaIndexTS's `BaseDocumentStore` over a Larder {@link DocStore} (in-memory, Redis, Postgres...).
 *
 * Every method is one call to the Larder store; ref-doc bookkeeping is Larder's (exact under
 * deletes and concurrent writers). Nodes keep their LlamaIndexTS hash, so LlamaIndexTS's upsert
 * strategies see unchanged documents as unchanged. `persist()` does nothing: in-memory stores are
 * persisted through `storageContextFromLarder(...).persist()`, server stores write through.
 */
export class LarderDocumentStore extends BaseDocumentStore {
  readonly #store: DocStore;

  constructor(docStore: DocStore) {
    super();
    if (!docStore || typeof docStore.addDocuments !== "function") throw errors.invalid("LarderDocumentStore needs a Larder DocStore");
    this.#store = docStore;
  }

  /** The Larder store underneath. */
  get larder(): DocStore {
    return this.#store;
  }

  override persist(_persistPath?: string): void {}

  async docs(): Promise<Record<string, BaseNode>> {
    const ids = await this.#store.getAllDocumentIds();
    const nodes = await this.#store.getNodes(ids);
    const out: Record<string, BaseNode> = {};
    for (const n of nodes) out[n.id] = fromLarderNode(n);
    return out;
  }

  /** Adds (or with `allowUpdate` false: adds only new ids, else CONFLICT and nothing written) in one batch. */
  async addDocuments(docs: BaseNode[], allowUpdate = true): Promise<void> {
    if (!Array.isArray(docs)) throw errors.invalid("addDocuments expects an array of nodes");
    if (docs.length === 0) return;
    await this.#store.addDocuments(docs.map((d) => toLarderNode(d)), { allowUpdate });
  }

  async getDocument(docId: string, raiseError = true): Promise<BaseNode | undefined> {
    const n = await this.#store.getDocument(docId, raiseError);
    return n === undefined ? undefined : fromLarderNode(n);
  }

  /** Nodes in the order of `nodeIds`, in one round trip (missing: NOT_FOUND when `raiseError`, else skipped). */
  override async getNodes(nodeIds: string[], raiseError = true): Promise<BaseNode[]> {
    return (await this.#store.getNodes(nodeIds, raiseError)).map((n) => fromLarderNode(n));
  }

  override async getNode(nodeId: string, raiseError = true): Promise<BaseNode> {
    const n = await this.getDocument(nodeId, raiseError);
    if (n === undefined) throw errors.notFound(`node ${JSON.stringify(nodeId)} is not in the docstore`);
    return n;
  }

  async deleteDocument(docId: string, raiseError = true): Promise<void> {
    await this.#store.deleteDocument(docId, raiseError);
  }

  async documentExists(docId: string): Promise<boolean> {
    return this.#store.documentExists(docId);
  }

  async setDocumentHash(docId: string, docHash: string): Promise<void> {
    await this.#store.setDocumentHash(docId, docHash);
  }

  async getDocumentHash(docId: string): Promise<string | undefined> {
    return this.#store.getDocumentHash(docId);
  }

  /**
   * hash -> id, as LlamaIndexTS's strategies expect (`node.hash in hashes`). Documents with the
   * same content collapse to one entry here, as in LlamaIndexTS; Larder itself keeps id -> hash.
   */
  async getAllDocumentHashes(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [id, hash] of Object.entries(await this.#store.getAllDocumentHashes())) out[hash] = id;
    return out;
  }

  async getAllRefDocInfo(): Promise<Record<string, RefDocInfo>> {
    const out: Record<string, RefDocInfo> = {};
    for (const [id, info] of Object.entries(await this.#store.getAllRefDocInfo())) out[id] = { nodeIds: info.nodeIds, extraInfo: info.metadata };
    return out;
  }

  async getRefDocInfo(refDocId: string): Promise<RefDocInfo | undefined> {
    const info = await this.#store.getRefDocInfo(refDocId);
    return info === undefined ? undefined : { nodeIds: info.nodeIds, extraInfo: info.metadata };
  }

  async refDocExists(refDocId: string): Promise<boolean> {
    return this.#store.refDocExists(refDocId);
  }

  /** Deletes a source document and all its nodes (missing: NOT_FOUND when `raiseError`). */
  async deleteRefDoc(refDocId: string, raiseError = true): Promise<void> {
    await this.#store.deleteRefDoc(refDocId, raiseError);
  }
}
