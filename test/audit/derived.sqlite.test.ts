import fs from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { derivedTamperBehaviour } from "./derived-behaviour";
import { tempDir } from "./support";

describe("custody audit compares every derived row with its replay (SQLite)", function () {
  this.timeout(180_000);
  const dir = tempDir("custody-derived-");
  let n = 0;
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  derivedTamperBehaviour({
    create: async () => path.join(dir, "ledger.db"),
    async copy(db) {
      const file = path.join(dir, `copy-${n++}.db`);
      fs.copyFileSync(db, file);
      return file;
    },
    async sql(db, statement, params = []) {
      const s = new BetterSqlite3(db);
      try {
        const st = s.prepare(statement.replace(/\$\d+/g, "?"));
        return st.reader ? (st.raw().get(...params) as unknown[] | undefined)?.[0] : st.run(...params);
      } finally {
        s.close();
      }
    },
    dropTriggers: ["DROP TRIGGER ledger_transfers_no_update", "DROP TRIGGER ledger_transfers_no_delete"],
    setAccountColumn: (c) => `UPDATE ledger_account_terms SET ${c} = $1 WHERE id = $2`,
    setBalanceColumn: (c) =>
      `UPDATE ledger_balances SET ${c} = $1 WHERE account_key = (SELECT key FROM ledger_account_terms WHERE id = $2)`,
  });
});
