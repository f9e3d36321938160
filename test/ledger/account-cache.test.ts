import { expect } from "chai";
import fs from "node:fs";
import { type Database, closeDatabase, openDatabase } from "../../src/db/database";
import { InsufficientFundsError, type Ledger, openLedger } from "../../src/ledger";
import { KEY, rejects, tempSqliteUrl } from "./support";

/**
 * The SQLite store keeps account rows between transactions. Whatever else writes the file (another
 * connection, or raw SQL through the same one) must make it reload them, and a failed call must
 * leave nothing of its in-memory changes behind.
 */
describe("ledger account cache (sqlite)", () => {
  let dir: string;
  let a: Database;
  let b: Database;
  let la: Ledger;
  let lb: Ledger;

  before(async () => {
    const t = tempSqliteUrl();
    dir = t.dir;
    a = openDatabase(t.url);
    b = openDatabase(t.url);
    la = await openLedger(a, { pseudonymKey: KEY });
    lb = await openLedger(b, { pseudonymKey: KEY });
    await la.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
    await la.openAccount({ id: "alice", type: "customer", asset: "EUR", scale: 2 });
    await la.openAccount({ id: "bob", type: "customer", asset: "EUR", scale: 2 });
    await la.transfer({
      id: "fund",
      debitAccountId: "bank",
      creditAccountId: "alice",
      amount: 100n,
      kind: "deposit",
    });
  });
  after(async () => {
    await closeDatabase(a);
    await closeDatabase(b);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("sees balances committed by another connection", async () => {
    // Both stores have alice cached after this.
    await la.transfer({
      id: "t1",
      debitAccountId: "alice",
      creditAccountId: "bob",
      amount: 10n,
      kind: "transfer",
    });
    await lb.transfer({
      id: "t2",
      debitAccountId: "alice",
      creditAccountId: "bob",
      amount: 10n,
      kind: "transfer",
    });
    // The other connection spends 70 of the 80 left: a stale 80 would let this 20 through.
    await lb.transfer({
      id: "t3",
      debitAccountId: "alice",
      creditAccountId: "bob",
      amount: 70n,
      kind: "transfer",
    });
    await rejects(
      la.transfer({
        id: "t4",
        debitAccountId: "alice",
        creditAccountId: "bob",
        amount: 20n,
        kind: "transfer",
      }),
      InsufficientFundsError,
    );
    await la.transfer({
      id: "t5",
      debitAccountId: "alice",
      creditAccountId: "bob",
      amount: 10n,
      kind: "transfer",
    });
    expect((await lb.getBalance("alice")).posted).to.equal(0n);
    expect((await la.checkInvariants()).ok).to.equal(true);
  });

  it("sees raw writes through its own connection", async () => {
    await la.transfer({
      id: "r1",
      debitAccountId: "bank",
      creditAccountId: "alice",
      amount: 5n,
      kind: "deposit",
    });
    if (a.kind !== "sqlite") throw new Error("sqlite expected");
    a.sqlite
      .prepare(
        "UPDATE ledger_balances SET debits_posted = 1000 WHERE account_key = (SELECT key FROM ledger_account_terms WHERE id = 'bank')",
      )
      .run();
    await la.transfer({
      id: "r2",
      debitAccountId: "bank",
      creditAccountId: "alice",
      amount: 1n,
      kind: "deposit",
    });
    const row = a.sqlite.prepare("SELECT debits_posted FROM ledger_accounts WHERE id = 'bank'").pluck().get();
    expect(row).to.equal("1001");
  });

  it("forgets what a failed call changed in memory", async () => {
    await la.transfer({
      id: "f0",
      debitAccountId: "bank",
      creditAccountId: "bob",
      amount: 3n,
      kind: "deposit",
    });
    const before = (await la.getBalance("bob")).posted;
    // The second transfer fails after the first one of the batch moved money in memory.
    await rejects(
      la.transferBatch([
        { id: "f1", debitAccountId: "bob", creditAccountId: "alice", amount: 1n, kind: "transfer" },
        { id: "f2", debitAccountId: "bob", creditAccountId: "alice", amount: 10n ** 9n, kind: "transfer" },
      ]),
      InsufficientFundsError,
    );
    await la.transfer({
      id: "f3",
      debitAccountId: "bob",
      creditAccountId: "alice",
      amount: 1n,
      kind: "transfer",
    });
    expect((await la.getBalance("bob")).posted).to.equal(before - 1n);
  });
});
