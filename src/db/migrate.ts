import type { Database } from "./database";

/**
 * A schema migration. Ids are `<module>/<NNN>_<name>` (e.g. `ledger/001_init`) and are applied in
 * the order given, once each; an applied migration is never edited, a change is a new migration.
 */
export interface Migration {
  readonly id: string;
  readonly sqlite: string;
  readonly postgres: string;
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  id TEXT PRIMARY KEY,
  applied_at TEXT NOT NULL
)`;

/** Applies the not-yet-applied migrations, each in its own transaction. Safe to run concurrently. */
export async function migrate(db: Database, migrations: readonly Migration[]): Promise<string[]> {
  const applied: string[] = [];
  if (db.kind === "sqlite") {
    const s = db.sqlite;
    s.exec(CREATE_TABLE);
    const has = s.prepare("SELECT 1 FROM schema_migrations WHERE id = ?");
    const mark = s.prepare("INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)");
    for (const m of migrations) {
      // IMMEDIATE takes the write lock first, so two processes cannot both apply the same step.
      s.transaction(() => {
        if (has.get(m.id)) return;
        s.exec(m.sqlite);
        mark.run(m.id, new Date().toISOString());
        applied.push(m.id);
      }).immediate();
    }
    return applied;
  }
  const client = await db.pool.connect();
  try {
    // One migrator at a time across all instances sharing the database.
    await client.query("SELECT pg_advisory_lock(7243001)");
    try {
      await client.query(CREATE_TABLE);
      for (const m of migrations) {
        const { rowCount } = await client.query("SELECT 1 FROM schema_migrations WHERE id = $1", [m.id]);
        if (rowCount) continue;
        await client.query("BEGIN");
        try {
          await client.query(m.postgres);
          await client.query("INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)", [
            m.id,
            new Date().toISOString(),
          ]);
          await client.query("COMMIT");
        } catch (e) {
          await client.query("ROLLBACK");
          throw e;
        }
        applied.push(m.id);
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock(7243001)");
    }
  } finally {
    client.release();
  }
  return applied;
}
