import type { Database } from "../db/database";

/** `?` placeholders become `$1, $2, …` for PostgreSQL. Queries here never contain a literal `?`. */
function toPg(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

export async function all<T>(db: Database, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  if (db.kind === "sqlite") return db.sqlite.prepare(sql).all(...(params as unknown[])) as T[];
  return (await db.pool.query(toPg(sql), params as unknown[])).rows as T[];
}

export async function run(db: Database, sql: string, params: readonly unknown[] = []): Promise<number> {
  if (db.kind === "sqlite") return db.sqlite.prepare(sql).run(...(params as unknown[])).changes;
  return (await db.pool.query(toPg(sql), params as unknown[])).rowCount ?? 0;
}
