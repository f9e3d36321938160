import fs from "node:fs";
import { closeDatabase, openDatabase, type Database } from "../db/database";
import { all } from "../db/sql";

/**
 * Where the risk module keeps its tables.
 *
 * - PostgreSQL: in the ledger's database. Row locks keep the ledger's commits and the engine's
 *   apart, and neither invalidates anything of the other.
 * - SQLite: in a file of its own next to the ledger's (`custody.db` → `custody.risk.db`). SQLite
 *   has one write lock per file, and a commit by any other connection to the ledger's file makes
 *   the ledger's connection drop its account cache and page cache (`data_version`, see
 *   ledger/sqlite-store.ts): with the engine's thread committing into the ledger's file, the ledger
 *   ran 27 % slower at its top rate, 13 % in a file of its own (BENCHMARKS.md). Nothing of the
 *   risk module writes ledger tables and the engine's commits touch only risk tables (the outbox
 *   brings facts and freezes into the ledger through its API, idempotently by id), so no
 *   transaction spans the two files.
 * - A ledger file that already holds the risk tables (written before the split) keeps them there.
 *
 * Back up both files of a SQLite deployment (docs/operations.md).
 */
export interface RiskDatabase {
  db: Database;
  /** Closes the risk file if this opened one; the ledger's handle is left to its owner. */
  close(): Promise<void>;
}

/** The risk file of a SQLite ledger file. */
export function riskDatabasePath(ledgerPath: string): string {
  return /\.(db|sqlite3?)$/i.test(ledgerPath)
    ? ledgerPath.replace(/\.(db|sqlite3?)$/i, ".risk.$1")
    : `${ledgerPath}.risk`;
}

const FIRST_RISK_MIGRATION = "risk/001_init";

async function holdsRiskTables(db: Database): Promise<boolean> {
  const rows = await all<{ id: string }>(db, "SELECT id FROM schema_migrations WHERE id = ?", [
    FIRST_RISK_MIGRATION,
  ]).catch(() => []);
  return rows.length > 0;
}

const shared = (db: Database): RiskDatabase => ({ db, close: async () => {} });

function isFile(db: Database): boolean {
  return db.kind === "sqlite" && db.url !== "" && db.url !== ":memory:" && !db.sqlite.memory;
}

/** For the module's writer (the stack): the risk tables' database, created if need be. */
export async function openRiskDatabase(ledgerDb: Database): Promise<RiskDatabase> {
  if (!isFile(ledgerDb) || (await holdsRiskTables(ledgerDb))) return shared(ledgerDb);
  const db = openDatabase(riskDatabasePath(ledgerDb.url));
  return { db, close: () => closeDatabase(db) };
}

/**
 * For readers (audit, reports): the risk tables' database if the rules engine ever ran on this
 * ledger, else undefined. Creates nothing.
 */
export async function findRiskDatabase(ledgerDb: Database): Promise<RiskDatabase | undefined> {
  if (await holdsRiskTables(ledgerDb)) return shared(ledgerDb);
  if (!isFile(ledgerDb)) return undefined;
  const path = riskDatabasePath(ledgerDb.url);
  if (!fs.existsSync(path)) return undefined;
  const db = openDatabase(path);
  if (await holdsRiskTables(db)) return { db, close: () => closeDatabase(db) };
  await closeDatabase(db);
  return undefined;
}
