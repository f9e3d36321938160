import { expect } from "chai";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { openLedger } from "../../src/ledger";
import { type PgTestDatabase, createPgTestDatabase, pgAvailable } from "../support/pg";

/**
 * The ledger's ids compare byte by byte on PostgreSQL whatever the database's collation
 * (migration ledger/008): listing pages follow one order, the one SQLite and JavaScript use.
 * On a database whose default collation is ICU's en-US, "B" sorts between "a" and "c" and "-" and
 * "_" barely count; a page boundary compared in that order while the listing sorted bytes skipped
 * and repeated accounts.
 */
describe("ledger: ids in byte order on a database with another collation (postgres)", () => {
  let dbh: PgTestDatabase | undefined;
  before(async function () {
    if (!(await pgAvailable())) return this.skip();
    dbh = await createPgTestDatabase("custody_test_icu", { icuLocale: "en-US" });
  });
  after(async () => {
    await dbh?.drop();
  });

  it("lists every account once, in byte order, page after page", async () => {
    const db = openDatabase(dbh!.url);
    try {
      const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(3) });
      const ids = ["a1", "B2", "b3", "A4", "_5", "Z6", "-7", "09", "a-8", "a_9", "aB", "ab", "AB"];
      for (const id of ids) await ledger.openAccount({ id, type: "customer", asset: "EUR", scale: 2 });
      const seen: string[] = [];
      for (let after: string | undefined; ;) {
        const page = await ledger.listAccounts({ after, limit: 3 });
        if (page.length === 0) break;
        seen.push(...page.map((a) => a.id));
        after = page[page.length - 1].id;
      }
      expect(seen).to.deep.equal([...ids].sort());
      // The database's own order differs: the test would pass without the collation otherwise.
      if (db.kind !== "postgres") throw new Error("postgres expected");
      const { rows } = await db.pool.query("SELECT unnest($1::text[]) AS id ORDER BY 1", [ids]);
      expect(rows.map((r) => r.id)).not.to.deep.equal([...ids].sort());
    } finally {
      await closeDatabase(db);
    }
  });
});
