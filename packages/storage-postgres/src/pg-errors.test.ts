import { describe, expect, it } from "vitest";
import { isStorageError } from "@larder/core/errors";
import { classifyPgError, wrapPgError } from "./pg-errors.js";

describe("pg error mapping (no server)", () => {
  it("maps SQLSTATEs and socket errors to Larder codes", () => {
    const cases: [unknown, string][] = [
      [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5433"), { code: "ECONNREFUSED" }), "CONNECTION"],
      [new Error("Connection terminated unexpectedly"), "CONNECTION"],
      [new Error("timeout exceeded when trying to connect"), "CONNECTION"],
      [Object.assign(new AggregateError([Object.assign(new Error("x"), { code: "ECONNREFUSED" })], ""), {}), "CONNECTION"],
      [{ code: "57P01", message: "terminating connection due to administrator command" }, "CONNECTION"],
      [{ code: "28P01", message: 'password authentication failed for user "u"' }, "CONNECTION"],
      [{ code: "23505", message: "duplicate key value violates unique constraint" }, "CONFLICT"],
      [{ code: "40P01", message: "deadlock detected" }, "CONFLICT"],
      [{ code: "22000", message: "expected 3 dimensions, not 4" }, "DIMENSION_MISMATCH"],
      [{ code: "22P05", message: "unsupported Unicode escape sequence" }, "INVALID_ARGUMENT"],
      [{ code: "54000", message: "string is too long for tsvector" }, "INVALID_ARGUMENT"],
      [{ code: "58P01", message: 'could not open extension control file "vector.control"' }, "UNSUPPORTED"],
      [{ code: "42P01", message: 'relation "t" does not exist' }, "NOT_FOUND"],
      [{ code: "XX001", message: "invalid page in block" }, "CORRUPT"],
    ];
    for (const [err, code] of cases) expect(classifyPgError(err), JSON.stringify(err)).toBe(code);
  });

  it("wraps with the store name and cause, and redacts credentials", () => {
    const cause = Object.assign(new Error("could not connect to postgres://bob:hunter2@db:5432/x"), { code: "ECONNREFUSED" });
    const e = wrapPgError(cause, "PostgresKVStore", "get");
    expect(isStorageError(e, "CONNECTION")).toBe(true);
    expect(e.message).toContain("[PostgresKVStore]");
    expect(e.message).not.toContain("hunter2");
    expect(e.cause).toBe(cause);
    expect(wrapPgError(e, "other", "x")).toBe(e);
  });
});
