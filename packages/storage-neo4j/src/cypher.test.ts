import { describe, expect, it } from "vitest";
import { HOSTILE_STRINGS, expectStorageError } from "@larder/conformance";
import { FILTER_OPERATORS, type MetadataFilters } from "@larder/core";
import { checkNamespace, labelExpr, namespaceLabel, namespaceSchemaNames, quote } from "./cypher.js";
import { compileFilters } from "./filters.js";
import { decodeKey, encodeKey, encodeProperties, userLabel, internalLabels } from "./values.js";
import { Neo4jPropertyGraphStore } from "./index.js";
import { retryKind } from "./neo4j-property-graph-store.js";

describe("quote", () => {
  it("wraps in backticks and doubles backticks inside", () => {
    expect(quote("PERSON")).toBe("`PERSON`");
    expect(quote("X`) DETACH DELETE n //")).toBe("`X``) DETACH DELETE n //`");
    expect(labelExpr(["__Node__", "a`b"])).toBe(":`__Node__`:`a``b`");
  });

  it("leaves no unpaired backtick for any hostile string", () => {
    for (const s of HOSTILE_STRINGS) {
      const inner = quote(s).slice(1, -1);
      // inside the quotes every backtick comes in pairs: the identifier cannot be closed early
      expect(inner.replaceAll("``", "")).not.toContain("`");
    }
  });

  it("namespaces: any well-formed name of 1..100 characters, always behind the reserved prefix", () => {
    for (const ok of ["larder_t_1", "1abc", "a-b", "a b", "a`b", "__Node__", "__Entity__", "Chunk", "ünï 漢字 🦙", 'q"\'', "x".repeat(100)]) {
      expect(checkNamespace(ok)).toBe(ok);
      expect(namespaceLabel(ok)).toBe(`__larder_ns__:${ok}`);
    }
    for (const bad of ["", "   ", "x".repeat(101), "nul\u0000", "tab\t", "lone\uD800", 42, null]) {
      expect(() => checkNamespace(bad)).toThrowError(/namespace/);
    }
    // labels and schema names of distinct namespaces never coincide, nor the shared ones
    const names = ["a", "a.id", "a.embedding", "node", "__Node__", "larder_node", "x_id"];
    const labels = new Set(names.map(namespaceLabel));
    expect(labels.size).toBe(names.length);
    for (const shared of ["__Node__", "__Entity__", "Chunk"]) expect(labels.has(shared)).toBe(false);
    const schema = names.flatMap((n) => Object.values(namespaceSchemaNames(n)));
    expect(new Set(schema).size).toBe(schema.length);
    expect(schema).not.toContain("larder_node_embedding");
  });
});

describe("property keys", () => {
  it("escape the store's own keys and __proto__, and round-trip every key", () => {
    for (const k of ["id", "name", "text", "embedding", "__proto__", "__larder_prop__:x", "plain", ...HOSTILE_STRINGS]) {
      expect(decodeKey(encodeKey(k))).toBe(k);
      expect(decodeKey(encodeKey(k, false), false)).toBe(k);
    }
    expect(encodeKey("name")).not.toBe("name");
    expect(encodeKey("name", false)).toBe("name"); // relations have no structural keys
    expect(decodeKey("id")).toBeUndefined();
    const enc = encodeProperties(JSON.parse('{"__proto__": 1, "a": null}'));
    expect(Object.keys(enc).sort()).toEqual(["__larder_prop__:__proto__", "a"]);
  });

  it("the user label is the one non-structural label", () => {
    const internal = internalLabels("ns1");
    expect(userLabel(["__Node__", "__Entity__", "PERSON", "__larder_ns__:ns1"], true, internal)).toBe("PERSON");
    // a legacy plain namespace label is not recognised as structure; another namespace's label is
    expect(userLabel(["__Node__", "__Entity__", "__larder_ns__:other"], true, internal)).toBe("entity");
    expect(userLabel(["__Node__", "Chunk", "text_chunk"], false, internal)).toBe("text_chunk");
    expect(userLabel(["__Node__", "Chunk"], false, internal)).toBe("Chunk"); // Python-written chunk
    expect(userLabel(["__Node__", "__Entity__"], true, internal)).toBe("entity");
  });
});

describe("compileFilters", () => {
  it("never pastes keys or values into the query text", () => {
    for (const s of HOSTILE_STRINGS) {
      const filters: MetadataFilters = {
        condition: "or",
        filters: [
          { key: s, operator: "==", value: s },
          { filters: [{ key: s, operator: "in", value: [s, 1, true] }], condition: "not" },
          { key: s, operator: "text_match", value: s },
        ],
      };
      const compiled = compileFilters(filters, "n");
      if (s.length > 3) expect(compiled.cypher).not.toContain(s);
      expect(Object.values(compiled.params)).toContain(s);
      expect(compiled.cypher).toMatch(/^[\w\s()[\]$:<>=,.'|]+$/);
    }
  });

  it("compiles every operator, and groups with null-free logic", () => {
    for (const op of FILTER_OPERATORS) {
      const value = op === "is_empty" ? undefined : ["in", "nin", "any", "all"].includes(op) ? ["a"] : op.startsWith("text") ? "a" : 1;
      const c = compileFilters({ filters: [{ key: "k", operator: op, ...(value === undefined ? {} : { value }) }], condition: "not" }, "n");
      expect(c.cypher.startsWith("(NOT (")).toBe(true);
      expect(c.params["f0k"]).toBe("k");
    }
    expect(compileFilters({ filters: [] }, "n").cypher).toBe("true");
  });

  it("-0 is sent as 0, and stored numbers are compared as v + 0 (Cypher orders -0.0 below 0.0)", () => {
    const c = compileFilters({ filters: [{ key: "v", operator: "<", value: -0 }, { key: "w", operator: "in", value: [-0, 1] }] }, "n");
    expect(Object.is(c.params["f0v"], 0)).toBe(true);
    expect(Object.is((c.params["f1v"] as number[])[0], 0)).toBe(true);
    expect(c.cypher).toContain("(n[$f0k] + 0) < $f0v");
  });

  it("a key with a lone surrogate is a missing key: a constant, nothing sent", () => {
    const leaf = (operator: string, value?: unknown) =>
      compileFilters({ filters: [{ key: "\uD800k", operator, ...(value === undefined ? {} : { value }) } as never] }, "n");
    expect(leaf("==", "val")).toEqual({ cypher: "(false)", params: {}, foldCheck: false });
    expect(leaf("!=", "val")).toEqual({ cypher: "(true)", params: {}, foldCheck: false });
    expect(leaf("nin", ["val"])).toEqual({ cypher: "(true)", params: {}, foldCheck: false });
    expect(leaf("is_empty")).toEqual({ cypher: "(true)", params: {}, foldCheck: false });
    expect(leaf("<", "\uE000")).toEqual({ cypher: "(false)", params: {}, foldCheck: false });
  });

  it("a value with a lone surrogate equals nothing stored: computed, not refused", () => {
    const one = (operator: string, value: unknown) => compileFilters({ filters: [{ key: "k", operator, value } as never] }, "n");
    expect(one("==", "a\uDC00").cypher).toBe("(false)");
    expect(one("!=", "a\uDC00").cypher).toBe("(true)");
    expect(one("contains", "\uD800").cypher).toBe("(false)");
    expect(one("all", ["x", "\uD800"]).cypher).toBe("(false)");
    expect(one("in", ["x", "\uD800"]).params["f0v"]).toEqual(["x"]);
    expect(one("any", ["\uD800"]).params["f0v"]).toEqual([]);
    // boolean filter values are values, not constant answers
    expect(one("contains", true).params["f0v"]).toBe(true);
    expect(one("==", false).params["f0v"]).toBe(false);
  });

  it("validates before anything else: INVALID_ARGUMENT and UNSUPPORTED", async () => {
    await expectStorageError(() => compileFilters({ filters: [{ key: "k", operator: "in", value: 1 }] }, "n"), "INVALID_ARGUMENT");
    await expectStorageError(() => compileFilters({ filters: [{ key: "k", operator: "<", value: "\uE000" }] }, "n"), "UNSUPPORTED");
    // a lone surrogate is a code point of its own: never a substring of a stored (well-formed) string
    expect(compileFilters({ filters: [{ key: "k", operator: "text_match", value: "lone\uD800" }] }, "n").cypher).toBe("(false)");
    expect(compileFilters({ filters: [{ key: "k", operator: "text_match_insensitive", value: "\uDC00" }] }, "n").cypher).toBe("(false)");
    // ordering against a lone surrogate (its own code point): a well-formed bound p + U+10000 in code-unit order
    const lone = compileFilters({ filters: [{ key: "k", operator: "<=", value: "a\uDC00z" }] }, "n");
    expect(lone.params["f0v"]).toBe("a\u{10000}");
    expect(lone.cypher).toContain("n[$f0k] < $f0v");
    expect(compileFilters({ filters: [{ key: "k", operator: ">", value: "\uD800" }] }, "n").cypher).toContain("n[$f0k] >= $f0v");
    await expectStorageError(() => compileFilters({ filters: [{ key: "k", operator: "<", value: "\uE000\uD800" }] }, "n"), "UNSUPPORTED");
    // below U+D800 ordering is exact in Cypher
    expect(() => compileFilters({ filters: [{ key: "k", operator: "<", value: "épée 漢字" }] }, "n")).not.toThrow();
  });
});

describe("constructor", () => {
  it("does no I/O and validates its options", async () => {
    // Nothing listens on port 1: constructing must still succeed (the driver connects lazily).
    const s = new Neo4jPropertyGraphStore({ url: "bolt://127.0.0.1:1", username: "u", password: "p", namespace: "n1" });
    expect(s.capabilities.vectorQuery).toBe(true);
    await s.close();
    await expectStorageError(() => new Neo4jPropertyGraphStore({}), "INVALID_ARGUMENT");
    await expectStorageError(() => new Neo4jPropertyGraphStore({ url: "bolt://x", namespace: "bad\u0000ns" }), "INVALID_ARGUMENT");
    await expectStorageError(() => new Neo4jPropertyGraphStore({ url: "bolt://x", namespace: "" }), "INVALID_ARGUMENT");
    await expectStorageError(() => new Neo4jPropertyGraphStore({ url: "bolt://x", connectTimeoutMs: 0 }), "INVALID_ARGUMENT");
    await expectStorageError(() => new Neo4jPropertyGraphStore({ url: "bolt://x", connectTimeoutMs: 1.5 }), "INVALID_ARGUMENT");
    await expectStorageError(() => new Neo4jPropertyGraphStore({ url: "bolt://x", maxRetryTimeMs: -1 }), "INVALID_ARGUMENT");
    const ns = new Neo4jPropertyGraphStore({ url: "bolt://127.0.0.1:1", namespace: "__Node__" });
    expect(ns.namespaceLabel).toBe("__larder_ns__:__Node__");
    expect(ns.vectorIndexName).toBe("larder.ns.__Node__.embedding");
    await ns.close();
    await expectStorageError(() => new Neo4jPropertyGraphStore({ url: "bolt://x", batchSize: 0 }), "INVALID_ARGUMENT");
  });

  it("validates inputs before any I/O", async () => {
    const s = new Neo4jPropertyGraphStore({ url: "bolt://127.0.0.1:1" });
    await expectStorageError(() => s.upsertNodes([{ kind: "entity", name: "a", label: "", properties: {} }]), "INVALID_ARGUMENT");
    await expectStorageError(() => s.upsertNodes([{ kind: "entity", name: "a", label: "__Node__", properties: {} }]), "INVALID_ARGUMENT");
    // no user label can be (or impersonate) a namespace label
    await expectStorageError(() => s.upsertNodes([{ kind: "entity", name: "a", label: "__larder_ns__:t", properties: {} }]), "INVALID_ARGUMENT");
    await expectStorageError(() => s.vectorQuery({ embedding: [1], topK: 10_001 }), "INVALID_ARGUMENT");
    await expectStorageError(() => s.vectorQuery({ embedding: [1], topK: 1e9 }), "INVALID_ARGUMENT");
    expect(await s.vectorQuery({ embedding: [1], topK: 0 })).toEqual({ nodes: [], scores: [] }); // no I/O: nothing listens
    await expectStorageError(() => s.upsertRelations([{ label: "MENTIONS", sourceId: "a", targetId: "b", properties: {} }]), "INVALID_ARGUMENT");
    await expectStorageError(() => s.delete({}), "INVALID_ARGUMENT");
    await expectStorageError(() => s.getRelMap([], { depth: -1 }), "INVALID_ARGUMENT");
    await expectStorageError(() => s.vectorQuery({ embedding: [1], filters: { filters: [{ key: "k", operator: "~" as never, value: 1 }] } }), "INVALID_ARGUMENT");
    await expectStorageError(() => s.dropNamespace(), "INVALID_ARGUMENT");
    await s.close();
  });
});

describe("retry policy", () => {
  const err = (code: string, message = "x") => Object.assign(new Error(message), { code });
  it("retries transient errors and dropped connections, never an unreachable server", () => {
    expect(retryKind(err("Neo.TransientError.Transaction.DeadlockDetected"))).toBe("transient");
    expect(retryKind(err("Neo.TransientError.Transaction.LockAcquisitionTimeout"))).toBe("transient");
    expect(retryKind(err("Neo.TransientError.Transaction.Terminated"))).toBeUndefined();
    expect(retryKind(err("Neo.TransientError.Transaction.LockClientStopped"))).toBeUndefined();
    expect(retryKind(err("SessionExpired", "connection closed by server"))).toBe("connection-lost");
    expect(retryKind(err("ServiceUnavailable", "Connection was closed by server"))).toBe("connection-lost");
    expect(retryKind(err("ServiceUnavailable", "Failed to connect to server. Caused by: connect ECONNREFUSED 127.0.0.1:1"))).toBeUndefined();
    expect(retryKind(err("ServiceUnavailable", "Could not perform discovery. No routing servers available."))).toBeUndefined();
    expect(retryKind(err("N/A", "Connection acquisition timed out in 2000 ms."))).toBeUndefined();
    expect(retryKind(err("Neo.ClientError.Statement.SyntaxError"))).toBeUndefined();
    expect(retryKind(new Error("plain"))).toBeUndefined();
  });
});
