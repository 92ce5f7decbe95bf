import type { MetadataFilters } from "../filters/types.js";

export type PropertyValue = string | number | boolean | null | PropertyValue[];
export type Properties = Record<string, PropertyValue>;

/** An entity: its id is its name (stable, never a per-process hash). */
export interface EntityNode {
  kind: "entity";
  name: string;
  /** Default "entity". */
  label: string;
  properties: Properties;
  embedding?: number[] | null;
}

/** A text chunk (provenance for entities). */
export interface ChunkNode {
  kind: "chunk";
  id: string;
  text: string;
  label: string;
  properties: Properties;
  embedding?: number[] | null;
}

export type LabelledNode = EntityNode | ChunkNode;

export interface Relation {
  /** Relationship type, e.g. "WORKS_AT". */
  label: string;
  sourceId: string;
  targetId: string;
  properties: Properties;
}

export type Triplet = [LabelledNode, Relation, LabelledNode];

export interface GraphSelector {
  ids?: readonly string[];
  /** All given properties must match (AND). */
  properties?: Properties;
}

export interface TripletSelector extends GraphSelector {
  entityNames?: readonly string[];
  relationNames?: readonly string[];
}

export interface RelMapOptions {
  depth?: number;
  limit?: number;
  ignoreRels?: readonly string[];
}

export interface GraphVectorQuery {
  embedding: readonly number[];
  topK?: number;
  filters?: MetadataFilters;
}

export interface PropertyGraphCapabilities {
  readonly structuredQuery: boolean;
  readonly vectorQuery: boolean;
}

export interface GraphSchema {
  nodeLabels: string[];
  relationTypes: string[];
  nodeProperties: Record<string, string[]>;
  relationProperties: Record<string, string[]>;
}

export interface PropertyGraphStore {
  readonly capabilities: PropertyGraphCapabilities;
  get(selector?: GraphSelector): Promise<LabelledNode[]>;
  getTriplets(selector?: TripletSelector): Promise<Triplet[]>;
  getRelMap(nodes: readonly LabelledNode[], options?: RelMapOptions): Promise<Triplet[]>;
  upsertNodes(nodes: readonly LabelledNode[]): Promise<void>;
  upsertRelations(relations: readonly Relation[]): Promise<void>;
  delete(selector: TripletSelector): Promise<void>;
  getSchema(refresh?: boolean): Promise<GraphSchema>;
  structuredQuery?(query: string, params?: Record<string, unknown>): Promise<Record<string, unknown>[]>;
  vectorQuery?(query: GraphVectorQuery): Promise<{ nodes: LabelledNode[]; scores: number[] }>;
  close?(): Promise<void>;
}
