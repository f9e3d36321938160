import { expect } from "chai";
import fs from "node:fs";
import { type Database, closeDatabase, openDatabase } from "../../src/db/database";
import {
  IdempotencyConflictError,
  InsufficientFundsError,
  type Ledger,
  type TransferInput,
  UnknownAccountError,
  openLedger,
} from "../../src/ledger";
import { KEY, tempSqliteUrl } from "./support";

/**
 * SQLite group commit: calls that arrive together share one transaction (one fsync), each unit in
 * its own savepoint, so a failing call changes nothing and does not fail the others.
 */
describe("ledger group commit (sqlite)", () => {
  let dir: string;
  let db: Database;
  let ledger: Ledger;
  let commits = 0;

  before(async () => {
    const t = tempSqliteUrl();
    dir = t.dir;
    db = openDatabase(t.url);
    if (db.kind !== "sqlite") throw new Error("sqlite expected");
    // Count top-level write transactions (the store opens each with .immediate()).
    const sqlite = db.sqlite;
    const transaction = sqlite.transaction.bind(sqlite);
    sqlite.transaction = ((fn: (...a: unknown[]) => unknown) => {
      const t = transaction(fn);
      return Object.assign((...a: unknown[]) => t(...a), {
        default: t.default,
        deferred: t.deferred,
        exclusive: t.exclusive,
        immediate: (...a: unknown[]) => {
          commits++;
          return t.immediate(...a);
        },
      });
    }) as unknown as typeof sqlite.transaction;
    ledger = await openLedger(db, { pseudonymKey: KEY });
    await ledger.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
    for (let i = 0; i < 20; i++)
      await ledger.openAccount({ id: `c${i}`, type: "customer", asset: "EUR", scale: 2 });
    await ledger.transferBatch(
      Array.from({ length: 20 }, (_, i) => ({
        id: `fund-${i}`,
        debitAccountId: "bank",
        creditAccountId: `c${i}`,
        amount: 100n,
        kind: "deposit" as const,
      })),
    );
  });
  after(async () => {
    await closeDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("answers each concurrent call on its own and commits them together", async () => {
    const before = await ledger.eventCount();
    const calls: { input: TransferInput; fails?: new (...a: never[]) => Error }[] = [];
    for (let i = 0; i < 20; i++) {
      calls.push({
        input: {
          id: `ok-${i}`,
          debitAccountId: `c${i}`,
          creditAccountId: `c${(i + 1) % 20}`,
          amount: 10n,
          kind: "transfer",
        },
      });
      // Overdraws: each customer holds 100 (+10 in, -10 out above).
      calls.push({
        input: {
          id: `over-${i}`,
          debitAccountId: `c${i}`,
          creditAccountId: `c${(i + 2) % 20}`,
          amount: 101n,
          kind: "transfer",
        },
        fails: InsufficientFundsError,
      });
      calls.push({
        input: {
          id: `ghost-${i}`,
          debitAccountId: `c${i}`,
          creditAccountId: "nobody",
          amount: 1n,
          kind: "transfer",
        },
        fails: UnknownAccountError,
      });
    }
    // The same id twice with the same body (one transfer), and once with another body (conflict).
    calls.push({
      input: { id: "ok-0", debitAccountId: "c0", creditAccountId: "c1", amount: 10n, kind: "transfer" },
    });
    calls.push({
      input: { id: "ok-1", debitAccountId: "c1", creditAccountId: "c2", amount: 11n, kind: "transfer" },
      fails: IdempotencyConflictError,
    });
    const commitsBefore = commits;
    const settled = await Promise.allSettled(calls.map((c) => ledger.transfer(c.input)));
    expect(commits - commitsBefore, "one transaction for calls issued together").to.equal(1);
    settled.forEach((s, i) => {
      const c = calls[i];
      if (c.fails) {
        expect(s.status, c.input.id).to.equal("rejected");
        expect((s as PromiseRejectedResult).reason).to.be.instanceOf(c.fails);
      } else {
        expect(s.status, `${c.input.id}: ${String((s as PromiseRejectedResult).reason)}`).to.equal(
          "fulfilled",
        );
        expect((s as PromiseFulfilledResult<{ id: string }>).value.id).to.equal(c.input.id);
      }
    });
    // Exactly the 20 good transfers were written, with contiguous sequences, nothing of the failures.
    const sequences = settled
      .filter(
        (s): s is PromiseFulfilledResult<Awaited<ReturnType<Ledger["transfer"]>>> => s.status === "fulfilled",
      )
      .map((s) => s.value.sequence);
    expect(new Set(sequences).size).to.equal(20);
    expect(Math.min(...sequences)).to.equal(before);
    expect(Math.max(...sequences)).to.equal(before + 19);
    expect(await ledger.eventCount()).to.equal(before + 20);
    for (let i = 0; i < 20; i++) expect((await ledger.getBalance(`c${i}`)).posted).to.equal(100n);
    const r = await ledger.checkInvariants();
    expect(r.violations).to.deep.equal([]);
  });

  it("a lone call still gets its own transaction", async () => {
    const commitsBefore = commits;
    await ledger.transfer({
      id: "solo",
      debitAccountId: "c3",
      creditAccountId: "c4",
      amount: 1n,
      kind: "transfer",
    });
    expect(commits - commitsBefore).to.equal(1);
    await ledger.transfer({
      id: "solo-2",
      debitAccountId: "c4",
      creditAccountId: "c3",
      amount: 1n,
      kind: "transfer",
    });
    expect(commits - commitsBefore).to.equal(2);
  });
});
