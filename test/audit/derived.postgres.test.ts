import pg from "pg";
import { PG_ADMIN_URL, createPgTestDatabase, type PgTestDatabase, pgAvailable } from "../support/pg";
import { derivedTamperBehaviour } from "./derived-behaviour";

async function admin<T>(f: (c: pg.Client) => Promise<T>, url = PG_ADMIN_URL): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

describe("custody audit compares every derived row with its replay (PostgreSQL)", function () {
  this.timeout(180_000);
  const made: PgTestDatabase[] = [];
  const copies: string[] = [];
  before(async function () {
    if (!(await pgAvailable())) this.skip();
  });
  after(async () => {
    for (const name of copies) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    for (const d of made) await d.drop();
  });

  derivedTamperBehaviour({
    async create() {
      const d = await createPgTestDatabase("custody_derived");
      made.push(d);
      return d.url;
    },
    async copy(db) {
      const source = new URL(db).pathname.slice(1);
      const name = `${source}_c${copies.length}`;
      await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${source}`));
      copies.push(name);
      const u = new URL(db);
      u.pathname = `/${name}`;
      return u.toString();
    },
    sql: (db, statement, params = []) =>
      admin(
        async (c) => (await c.query({ text: statement, values: params, rowMode: "array" })).rows[0]?.[0],
        db,
      ),
    dropTriggers: ["DROP TRIGGER ledger_transfers_append_only ON ledger_transfers"],
    setAccountColumn: (c) => `UPDATE ledger_accounts SET ${c} = $1 WHERE id = $2`,
    setBalanceColumn: (c) => `UPDATE ledger_accounts SET ${c} = $1 WHERE id = $2`,
  });
});
