import type { Database } from "./database";

/*
 * Plain statements on either backend, for modules whose SQL is the same on both (the relayer's
 * tables): write SQL with `?` placeholders once. The ledger's write path has its own dialects
 * (src/db/unit-of-work.ts).
 */

/** `?` placeholders become `$1, $2, …` for PostgreSQL. Queries here never contain a literal `?`. */
function toPg(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** Runs a read on either backend; rows come back as plain objects. */
export async function all<T>(db: Database, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  if (db.kind === "sqlite") return db.sqlite.prepare(sql).all(...(params as unknown[])) as T[];
  const r = await db.pool.query(toPg(sql), params as unknown[]);
  return r.rows as T[];
}

/** Runs a write on either backend; returns the number of rows changed. */
export async function run(db: Database, sql: string, params: readonly unknown[] = []): Promise<number> {
  if (db.kind === "sqlite") return db.sqlite.prepare(sql).run(...(params as unknown[])).changes;
  const r = await db.pool.query(toPg(sql), params as unknown[]);
  return r.rowCount ?? 0;
}

/** Runs `body` in one transaction (statements issued through the given handle). */
export async function transaction(
  db: Database,
  body: (exec: (sql: string, params?: readonly unknown[]) => Promise<void>) => Promise<void>,
): Promise<void> {
  if (db.kind === "sqlite") {
    const s = db.sqlite;
    const stmts: [string, readonly unknown[]][] = [];
    await body(async (sql, params = []) => {
      stmts.push([sql, params]);
    });
    s.transaction(() => {
      for (const [sql, params] of stmts) s.prepare(sql).run(...(params as unknown[]));
    }).immediate();
    return;
  }
  const c = await db.pool.connect();
  try {
    await c.query("BEGIN");
    await body(async (sql, params = []) => {
      await c.query(toPg(sql), params as unknown[]);
    });
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}
