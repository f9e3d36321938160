import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { InvalidArgumentError } from "../errors";
import { type SharedTurnstile, WriteTurnstile } from "./turnstile";

/**
 * A handle on the ledger's database. Every module (ledger, log, relayer) keeps its tables in the
 * same database so that a ledger event and everything derived from it share one durability domain.
 * Modules use the native driver of each backend directly: SQLite is synchronous and fastest without
 * an abstraction in between; PostgreSQL goes through a connection pool.
 */
export type Database =
  | {
      readonly kind: "sqlite";
      readonly url: string;
      readonly sqlite: BetterSqlite3.Database;
      /**
       * This process's turn at the write lock (see turnstile.ts): writers on this connection take
       * it before BEGIN IMMEDIATE and give it back after COMMIT/ROLLBACK.
       */
      readonly turnstile: WriteTurnstile;
    }
  | { readonly kind: "postgres"; readonly url: string; readonly pool: pg.Pool };

/**
 * Opens `postgres://…`/`postgresql://…` as PostgreSQL, anything else as a SQLite file path. A SQLite
 * connection of a worker thread passes the lane its parent shared (`turnstile`, see turnstile.ts);
 * without one, the connection starts a turnstile of its own.
 */
export function openDatabase(
  url: string,
  opts: { poolSize?: number; turnstile?: SharedTurnstile } = {},
): Database {
  if (!url) throw new InvalidArgumentError("database URL is empty");
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    pool.on("error", () => {});
    // The pool stops listening to a client while it is checked out: a session the server ends between
    // two statements of a transaction would emit an unhandled `error` and crash the process. The
    // client's next statement fails instead, and the pool drops it when it is released.
    pool.on("connect", (client) => client.on("error", () => {}));
    return { kind: "postgres", url, pool };
  }
  const path = url.replace(/^sqlite:(\/\/)?/, "");
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma("journal_mode = WAL");
  // FULL: a commit survives power loss. Batched commits make it as fast as NORMAL (see BENCHMARKS.md).
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("foreign_keys = ON");
  // Writers of other processes (and writes that do not take the turnstile) wait here.
  sqlite.pragma("busy_timeout = 5000");
  const turnstile = opts.turnstile ? WriteTurnstile.attach(opts.turnstile) : WriteTurnstile.create();
  return { kind: "sqlite", url: path, sqlite, turnstile };
}

export async function closeDatabase(db: Database): Promise<void> {
  if (db.kind === "sqlite") db.sqlite.close();
  else await db.pool.end();
}
