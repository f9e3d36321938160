import { expect } from "chai";
import fs from "node:fs";
import { type Database, closeDatabase, openDatabase } from "../../src/db/database";
import { type Ledger, openLedger } from "../../src/ledger";
import { KEY, tempSqliteUrl } from "./support";

/**
 * checkInvariants sums transfers in SQL when it can do so exactly (SQLite: 9-digit limbs of the
 * decimal text; falls back to summing rows for any non-canonical amount) and hashes each leaf from
 * a 0x00-prefixed blob read in one value. These cases pin both paths to the row-by-row meaning.
 */
describe("ledger invariants (sqlite): SQL sums and leaf scan", () => {
  let dir: string;
  let db: Database;
  let ledger: Ledger;
  const big = (1n << 127n) + 12345678901234567890n;

  before(async () => {
    const t = tempSqliteUrl();
    dir = t.dir;
    db = openDatabase(t.url);
    ledger = await openLedger(db, { pseudonymKey: KEY });
    await ledger.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
    for (const c of ["a", "b"]) await ledger.openAccount({ id: c, type: "customer", asset: "EUR", scale: 2 });
    // Sums far beyond 2^64 on the bank mirror; every 9-digit limb carries.
    await ledger.transferBatch([
      { id: "d1", debitAccountId: "bank", creditAccountId: "a", amount: big, kind: "deposit" },
      { id: "d2", debitAccountId: "bank", creditAccountId: "b", amount: big - 1n, kind: "deposit" },
      { id: "d3", debitAccountId: "bank", creditAccountId: "a", amount: 999_999_999n, kind: "deposit" },
      { id: "t1", debitAccountId: "a", creditAccountId: "b", amount: 1_000_000_001n, kind: "transfer" },
    ]);
    db.kind === "sqlite" &&
      db.sqlite.exec("DROP TRIGGER ledger_transfers_no_update; DROP TRIGGER ledger_events_no_update;");
  });
  after(async () => {
    await closeDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const sql = (text: string) => (db.kind === "sqlite" ? db.sqlite.exec(text) : undefined);

  it("holds with amounts beyond 2^64 (exact limb sums)", async () => {
    const r = await ledger.checkInvariants();
    expect(r.violations).to.deep.equal([]);
    expect(r.transfers).to.equal(4);
    expect(r.events).to.equal(7);
  });

  it("finds a transfer amount changed by one unit, in the SQL path and in the row path", async () => {
    const amount = (1_000_000_001n + 1n).toString();
    sql(`UPDATE ledger_transfers SET amount = '${amount}' WHERE id = 't1'`);
    let r = await ledger.checkInvariants();
    expect(r.violations.map((v) => [v.invariant, v.accountId])).to.deep.include.members([
      ["balance_matches_history", "a"],
      ["balance_matches_history", "b"],
    ]);
    // A non-canonical text (leading zero) of the true amount: the rows are summed instead, same verdict as untouched.
    sql(`UPDATE ledger_transfers SET amount = '0${1_000_000_001n}' WHERE id = 't1'`);
    r = await ledger.checkInvariants();
    expect(r.violations).to.deep.equal([]);
    sql(`UPDATE ledger_transfers SET amount = '0${amount}' WHERE id = 't1'`);
    r = await ledger.checkInvariants();
    expect(r.violations.map((v) => v.invariant)).to.include("balance_matches_history");
    sql(`UPDATE ledger_transfers SET amount = '${1_000_000_001n}' WHERE id = 't1'`);
    expect((await ledger.checkInvariants()).ok).to.equal(true);
  });

  it("finds an altered leaf byte, a leaf with another sequence and a truncated leaf", async () => {
    const seq = 5;
    const [row] =
      db.kind === "sqlite"
        ? (db.sqlite.prepare("SELECT leaf FROM ledger_events WHERE sequence = ?").all(seq) as {
            leaf: Buffer;
          }[])
        : [];
    const leaf = Buffer.from(row.leaf);
    const put = async (b: Buffer) => {
      if (db.kind === "sqlite")
        db.sqlite.prepare("UPDATE ledger_events SET leaf = ? WHERE sequence = ?").run(b, seq);
      return ledger.checkInvariants();
    };
    const flipped = Buffer.from(leaf);
    flipped[300] ^= 1;
    let r = await put(flipped);
    expect(r.violations).to.deep.equal([
      { invariant: "leaf_hash", message: "stored leaf hash does not match the leaf", sequence: seq },
    ]);
    const renumbered = Buffer.from(leaf);
    renumbered[95] = seq + 1;
    r = await put(renumbered);
    expect(r.violations.map((v) => [v.invariant, v.sequence])).to.deep.equal([
      ["event_sequence", seq],
      ["leaf_hash", seq],
    ]);
    r = await put(leaf.subarray(0, 415));
    expect(r.violations.map((v) => [v.invariant, v.sequence])).to.deep.equal([
      ["event_sequence", seq],
      ["leaf_hash", seq],
    ]);
    r = await put(leaf);
    expect(r.ok).to.equal(true);
  });
});
