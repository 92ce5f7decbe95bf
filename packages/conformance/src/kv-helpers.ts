import { expect } from "vitest";

const BRAND = Symbol.for("@larder/core/StorageError");

/** Keys that break naive object-as-map code; every store must treat them as ordinary strings. */
export const PROTOTYPE_KEYS: readonly string[] = ["__proto__", "constructor", "prototype", "hasOwnProperty", "toString"];

/**
 * Runs `fn`; resolves true when it succeeded, false when it was refused with a StorageError
 * INVALID_ARGUMENT. Any other outcome (another error, a non-StorageError) fails the test.
 * This is how the kit lets a backend refuse what it cannot represent, without letting it fail
 * any other way.
 */
export async function acceptedOrInvalid(fn: () => Promise<unknown>, label: string): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    const err = e as Record<string | symbol, unknown> | null;
    const ok = typeof err === "object" && err !== null && err[BRAND] === true && err["code"] === "INVALID_ARGUMENT";
    if (!ok) {
      throw new Error(`${label}: expected success or StorageError INVALID_ARGUMENT, got ${String(e)}`, { cause: e });
    }
    return false;
  }
}

/** Short printable label for a possibly huge hostile string. */
export function label(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 20)}…(${s.length} chars)` : s);
}

/** Asserts that an async iterable is drained into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Sorted copy, by code unit, for order-insensitive comparisons. */
export function sorted<T extends string>(xs: Iterable<T>): T[] {
  return [...xs].sort();
}

export function expectSameMembers(actual: Iterable<string>, expected: Iterable<string>, message?: string): void {
  expect(sorted(actual), message).toEqual(sorted(expected));
}
