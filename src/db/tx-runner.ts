import type BetterSqlite3 from "better-sqlite3";
import type { Database } from "./database";
import { pgTransaction, toPg } from "./sql";

/**
 * Transactions written once for both backends, for modules whose writes are a few statements each
 * (the risk tables; the ledger's hot path has its own unit of work, unit-of-work.ts). A body is a
 * generator that yields statements and receives their results: on SQLite the runner takes the
 * process's turn at the write lock (src/db/turnstile.ts) and drives the body synchronously inside
 * one IMMEDIATE transaction (nothing else can interleave on the shared connection); on PostgreSQL
 * it awaits each statement on one pooled client between BEGIN and COMMIT. SQL uses `?` placeholders.
 */
export interface Statement {
  sql: string;
  params: readonly unknown[];
  mode: "run" | "get" | "all";
}
export type Body<T> = Generator<Statement, T, unknown>;
type Row = Record<string, unknown>;

export function* run(sql: string, ...params: unknown[]): Body<number> {
  return (yield { sql, params, mode: "run" }) as number;
}
export function* get<R = Row>(sql: string, ...params: unknown[]): Body<R | undefined> {
  return (yield { sql, params, mode: "get" }) as R | undefined;
}
export function* all<R = Row>(sql: string, ...params: unknown[]): Body<R[]> {
  return (yield { sql, params, mode: "all" }) as R[];
}

export interface SqlRunner {
  readonly kind: "sqlite" | "postgres";
  tx<T>(body: () => Body<T>): Promise<T>;
  /** A read outside any transaction (SQLite: on the shared connection). */
  read<T>(body: () => Body<T>): Promise<T>;
}

export function sqlRunner(db: Database): SqlRunner {
  if (db.kind === "sqlite") {
    const s = db.sqlite;
    const cache = new Map<string, BetterSqlite3.Statement>();
    const exec = (st: Statement): unknown => {
      let p = cache.get(st.sql);
      if (!p) cache.set(st.sql, (p = s.prepare(st.sql)));
      const params = st.params.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
      if (st.mode === "run") return p.run(...params).changes;
      if (st.mode === "get") return p.get(...params);
      return p.all(...params);
    };
    const drive = <T>(body: () => Body<T>): T => {
      const it = body();
      let v: unknown;
      for (;;) {
        const n = it.next(v);
        if (n.done) return n.value;
        v = exec(n.value);
      }
    };
    const turnstile = db.turnstile;
    return {
      kind: "sqlite",
      tx: (body) => turnstile.run(() => s.transaction(() => drive(body)).immediate()),
      read: async (body) => drive(body),
    };
  }
  const pool = db.pool;
  const drive = async <T>(
    q: (sql: string, params: unknown[]) => Promise<{ rows: Row[]; rowCount: number | null }>,
    body: () => Body<T>,
  ) => {
    const it = body();
    let v: unknown;
    for (;;) {
      const n = it.next(v);
      if (n.done) return n.value;
      const r = await q(toPg(n.value.sql), [...n.value.params]);
      v = n.value.mode === "run" ? (r.rowCount ?? 0) : n.value.mode === "get" ? r.rows[0] : r.rows;
    }
  };
  return {
    kind: "postgres",
    tx: (body) => pgTransaction(pool, "BEGIN", (c) => drive((sql, p) => c.query(sql, p), body)),
    read: (body) => drive((sql, p) => pool.query(sql, p), body),
  };
}

/** PostgreSQL returns BIGINT as text; both backends' integers as a JS number. */
export function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}
export function optNum(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : num(v);
}
