import { expect } from "chai";
import pg from "pg";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { PG_ADMIN_URL, describeWithPg } from "../support/pg";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * PostgreSQL ends a session (pg_terminate_backend, a failover, a restart) while a pooled client is
 * checked out between two statements, e.g. in a ledger transaction waiting for its leaf hashes.
 * The driver then emits `error` on that client, which the pool no longer listens to: without a
 * listener of ours the whole process crashed (found by `npm run soak`, fault drop-pg).
 */
describeWithPg("db: a PostgreSQL session terminated under a checked-out client", (ctx) => {
  let db: Database | undefined;
  after(async () => {
    if (db) await closeDatabase(db);
  });

  it("fails that client's next statement, keeps the process alive, and the pool serves the next query", async () => {
    db = openDatabase(ctx.url);
    if (db.kind !== "postgres") throw new Error("expected PostgreSQL");
    const client = await db.pool.connect();
    const { rows } = await client.query("SELECT pg_backend_pid() AS pid");
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      const r = await admin.query("SELECT pg_terminate_backend($1) AS ok", [rows[0].pid]);
      expect(r.rows[0].ok).to.equal(true);
    } finally {
      await admin.end();
    }
    // The server's FATAL message arrives while no statement runs on the client.
    await sleep(500);
    const err = await client.query("SELECT 1").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, "a statement on the terminated session fails").to.be.instanceOf(Error);
    client.release(err as Error);
    const after = await db.pool.query("SELECT 41 + 1 AS n");
    expect(after.rows[0].n).to.equal(42);
  });
});
