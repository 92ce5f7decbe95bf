import { StorageError } from "@larder/core/errors";
import type { Queryable } from "./connection.js";

/**
 * `CREATE TABLE IF NOT EXISTS` silently accepts a table of the same name with other columns (a
 * classic source of "column does not exist" errors later). After setup we compare the columns we
 * need with what the table has, and fail with CONFLICT and the differences.
 */
export async function checkTableLayout(
  q: Queryable,
  schema: string,
  table: string,
  expected: Record<string, string>,
  store: string,
): Promise<Map<string, { type: string; typmod: number }>> {
  const r = await q.query(
    `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type, a.atttypmod AS typmod
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, table],
  );
  const actual = new Map<string, { type: string; typmod: number }>(
    (r.rows as { name: string; type: string; typmod: number }[]).map((row) => [row.name, { type: row.type, typmod: row.typmod }]),
  );
  const problems: string[] = [];
  for (const [name, type] of Object.entries(expected)) {
    const got = actual.get(name);
    if (!got) problems.push(`missing column ${name} ${type}`);
    else if (got.type !== type) problems.push(`column ${name} is ${got.type}, expected ${type}`);
  }
  if (problems.length) {
    throw new StorageError(
      "CONFLICT",
      `table ${JSON.stringify(schema)}.${JSON.stringify(table)} exists with a different layout (${problems.join("; ")}); ` +
        "use another table name or migrate it",
      { store, details: { problems } },
    );
  }
  return actual;
}
