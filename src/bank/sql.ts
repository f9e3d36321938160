import type { Database } from "../db/database";
import { all, batch, snapshot } from "../db/sql";

/**
 * The few SQL shapes this module needs, over src/db/sql.ts with bigint amounts as decimal text.
 * Statements use `?` placeholders. A write batch runs in one transaction: all of it or none.
 */
export type Param = string | number | bigint | Buffer | null;
export type Row = Record<string, unknown>;
export interface Stmt {
  sql: string;
  params: Param[];
}

// Amounts are stored as decimal text on both backends (SQLite integers stop at 2^63).
const param = (p: Param): Param => (typeof p === "bigint" ? p.toString() : p);
const statement = (st: Stmt) => ({ sql: st.sql, params: st.params.map(param) });

export async function queryAll(db: Database, sql: string, params: Param[] = []): Promise<Row[]> {
  return all<Row>(db, sql, params.map(param));
}

/** Several reads from one snapshot (SQLite: one synchronous run; PostgreSQL: REPEATABLE READ). */
export async function querySnapshot(db: Database, reads: Stmt[]): Promise<Row[][]> {
  return snapshot<Row>(db, reads.map(statement));
}

/**
 * Runs `stmts` in one transaction. `between` (tests only) runs after statement `i` and may throw to
 * abort the transaction half-way, as a crash would.
 */
export async function writeBatch(db: Database, stmts: Stmt[], between?: (i: number) => void): Promise<void> {
  await batch(db, stmts.map(statement), between);
}

export const num = (v: unknown): number => (typeof v === "number" ? v : Number(v));
export const big = (v: unknown): bigint => (typeof v === "bigint" ? v : BigInt(v as string | number));
export const buf = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array));
