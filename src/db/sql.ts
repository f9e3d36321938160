import type BetterSqlite3 from "better-sqlite3";
import type pg from "pg";
import type { Database } from "./database";

/*
 * Plain statements on either backend, for modules whose SQL is the same on both (the relayer's
 * tables, API keys): write SQL with `?` placeholders once. Upserts are portable as written
 * (`INSERT … ON CONFLICT (key) DO UPDATE SET c = excluded.c [WHERE …]`, SQLite ≥ 3.24), so they
 * need no dialect entry; what does differ is in `SqlDialect`. The ledger's write path has its own dialects
 * (src/db/unit-of-work.ts).
 */

/** `?` placeholders become `$1, $2, …` for PostgreSQL. Queries here never contain a literal `?`. */
export function toPg(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** What differs between the backends beyond placeholders, so callers never branch on the backend. */
export interface SqlDialect {
  /** A boolean as a column stores it: SQLite has no boolean type (0/1), PostgreSQL does. */
  bool(b: boolean): number | boolean;
  /**
   * Whether the server can hold a lock for as long as one session lives (PostgreSQL advisory
   * locks, released the moment the session dies). Without it, a lease is a row with an expiry.
   */
  readonly sessionLocks: boolean;
}

const SQLITE: SqlDialect = { bool: (b) => (b ? 1 : 0), sessionLocks: false };
const POSTGRES: SqlDialect = { bool: (b) => b, sessionLocks: true };

export function dialectOf(db: Database): SqlDialect {
  return db.kind === "sqlite" ? SQLITE : POSTGRES;
}

/** A stored boolean (SQLite 0/1, PostgreSQL boolean) as a boolean. */
export function storedBool(v: unknown): boolean {
  return v === true || v === 1 || v === 1n;
}

// Prepared statements per SQLite connection: hot reads (an API key lookup) skip re-preparing.
const prepared = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();
const MAX_PREPARED = 256;

function prepare(s: BetterSqlite3.Database, sql: string): BetterSqlite3.Statement {
  let m = prepared.get(s);
  if (!m) prepared.set(s, (m = new Map()));
  let st = m.get(sql);
  if (!st) {
    if (m.size >= MAX_PREPARED) m.clear();
    m.set(sql, (st = s.prepare(sql)));
  }
  return st;
}

/** Runs a read on either backend; rows come back as plain objects. */
export async function all<T>(db: Database, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  if (db.kind === "sqlite") return prepare(db.sqlite, sql).all(...(params as unknown[])) as T[];
  const r = await db.pool.query(toPg(sql), params as unknown[]);
  return r.rows as T[];
}

/** A read whose rows come back as arrays of column values, in select order (cheaper for big pages). */
export async function allArrays<T extends unknown[]>(
  db: Database,
  sql: string,
  params: readonly unknown[] = [],
): Promise<T[]> {
  // Not from the statement cache: raw mode is a property of the prepared statement.
  if (db.kind === "sqlite")
    return db.sqlite
      .prepare(sql)
      .raw()
      .all(...(params as unknown[])) as T[];
  const r = await db.pool.query({ text: toPg(sql), values: params as unknown[], rowMode: "array" });
  return r.rows as T[];
}

/** Whether `table` exists (on PostgreSQL: in the current schema). */
export async function tableExists(db: Database, table: string): Promise<boolean> {
  const sql =
    db.kind === "sqlite"
      ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
      : "SELECT 1 FROM information_schema.tables WHERE table_name = ? AND table_schema = current_schema()";
  return (await all(db, sql, [table])).length > 0;
}

/** The first row of a read, undefined if there is none. */
export async function first<T>(
  db: Database,
  sql: string,
  params: readonly unknown[] = [],
): Promise<T | undefined> {
  return (await all<T>(db, sql, params))[0];
}

/** Runs a write on either backend; returns the number of rows changed. */
export async function run(db: Database, sql: string, params: readonly unknown[] = []): Promise<number> {
  if (db.kind === "sqlite")
    return db.turnstile.run(() => prepare(db.sqlite, sql).run(...(params as unknown[])).changes);
  const r = await db.pool.query(toPg(sql), params as unknown[]);
  return r.rowCount ?? 0;
}

/** Runs `body` on one pooled PostgreSQL client inside `begin` … COMMIT; rolls back if it throws. */
export async function pgTransaction<T>(
  pool: pg.Pool,
  begin: string,
  body: (c: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query(begin);
    const out = await body(c);
    await c.query("COMMIT");
    return out;
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

/** Runs `body` in one transaction (statements issued through the given handle). */
export async function transaction(
  db: Database,
  body: (exec: (sql: string, params?: readonly unknown[]) => Promise<void>) => Promise<void>,
): Promise<void> {
  if (db.kind === "sqlite") {
    const stmts: Statement[] = [];
    await body(async (sql, params = []) => {
      stmts.push({ sql, params });
    });
    return batch(db, stmts);
  }
  await pgTransaction(db.pool, "BEGIN", (c) =>
    body(async (sql, params = []) => {
      await c.query(toPg(sql), params as unknown[]);
    }),
  );
}

export interface Statement {
  sql: string;
  params: readonly unknown[];
}

/**
 * Runs `stmts` in one write transaction: all of them or none. `between` (tests only) runs after
 * statement `i` and may throw to abort the transaction half-way, as a crash would.
 */
export async function batch(
  db: Database,
  stmts: readonly Statement[],
  between?: (i: number) => void,
): Promise<void> {
  if (db.kind === "sqlite") {
    const s = db.sqlite;
    return db.turnstile.run(() =>
      s
        .transaction(() => {
          stmts.forEach((st, i) => {
            prepare(s, st.sql).run(...(st.params as unknown[]));
            between?.(i);
          });
        })
        .immediate(),
    );
  }
  await pgTransaction(db.pool, "BEGIN", async (c) => {
    for (let i = 0; i < stmts.length; i++) {
      await c.query(toPg(stmts[i]!.sql), stmts[i]!.params as unknown[]);
      between?.(i);
    }
  });
}

/** Several reads from one snapshot (SQLite: one synchronous run; PostgreSQL: REPEATABLE READ). */
export async function snapshot<T = Record<string, unknown>>(
  db: Database,
  reads: readonly Statement[],
): Promise<T[][]> {
  if (db.kind === "sqlite") {
    const s = db.sqlite;
    return s.transaction(() => reads.map((r) => prepare(s, r.sql).all(...(r.params as unknown[])) as T[]))();
  }
  return pgTransaction(db.pool, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", async (c) => {
    const out: T[][] = [];
    for (const r of reads) out.push((await c.query(toPg(r.sql), r.params as unknown[])).rows as T[]);
    return out;
  });
}
