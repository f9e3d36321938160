import type { Database } from "../db/database";

/**
 * The few SQL shapes this module needs on both backends. Statements use `?` placeholders
 * (rewritten to `$n` for PostgreSQL). A write batch runs in one transaction: all of it or none.
 */
export type Param = string | number | bigint | Buffer | null;
export type Row = Record<string, unknown>;
export interface Stmt {
  sql: string;
  params: Param[];
}

function pgSql(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function sqliteParam(p: Param): Param {
  // Amounts are stored as decimal text on both backends (SQLite integers stop at 2^63).
  return typeof p === "bigint" ? p.toString() : p;
}

export async function queryAll(db: Database, sql: string, params: Param[] = []): Promise<Row[]> {
  if (db.kind === "sqlite") return db.sqlite.prepare(sql).all(...params.map(sqliteParam)) as Row[];
  const r = await db.pool.query(
    pgSql(sql),
    params.map((p) => (typeof p === "bigint" ? p.toString() : p)),
  );
  return r.rows as Row[];
}

/** Several reads from one snapshot (SQLite: one synchronous run; PostgreSQL: REPEATABLE READ). */
export async function querySnapshot(db: Database, reads: Stmt[]): Promise<Row[][]> {
  if (db.kind === "sqlite") {
    const s = db.sqlite;
    return s.transaction(() =>
      reads.map((r) => s.prepare(r.sql).all(...r.params.map(sqliteParam)) as Row[]),
    )();
  }
  const c = await db.pool.connect();
  try {
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const out: Row[][] = [];
    for (const r of reads)
      out.push(
        (
          await c.query(
            pgSql(r.sql),
            r.params.map((p) => (typeof p === "bigint" ? p.toString() : p)),
          )
        ).rows,
      );
    await c.query("COMMIT");
    return out;
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

/**
 * Runs `stmts` in one transaction. `between` (tests only) runs after statement `i` and may throw to
 * abort the transaction half-way, as a crash would.
 */
export async function writeBatch(db: Database, stmts: Stmt[], between?: (i: number) => void): Promise<void> {
  if (db.kind === "sqlite") {
    const s = db.sqlite;
    s.transaction(() => {
      stmts.forEach((st, i) => {
        s.prepare(st.sql).run(...st.params.map(sqliteParam));
        between?.(i);
      });
    }).immediate();
    return;
  }
  const c = await db.pool.connect();
  try {
    await c.query("BEGIN");
    for (let i = 0; i < stmts.length; i++) {
      await c.query(
        pgSql(stmts[i].sql),
        stmts[i].params.map((p) => (typeof p === "bigint" ? p.toString() : p)),
      );
      between?.(i);
    }
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

export const num = (v: unknown): number => (typeof v === "number" ? v : Number(v));
export const big = (v: unknown): bigint => (typeof v === "bigint" ? v : BigInt(v as string | number));
export const buf = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array));
