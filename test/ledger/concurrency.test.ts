import { expect } from "chai";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { InsufficientFundsError, type Ledger, openLedger } from "../../src/ledger";
import { describeWithPg } from "../support/pg";
import { KEY } from "./support";

/** Parallel writers on PostgreSQL: several ledger instances, each with its own pool, on one database. */
describeWithPg("ledger concurrency (postgres)", (ctx) => {
  const instances: { ledger: Ledger; close(): Promise<void> }[] = [];

  before(async () => {
    for (let i = 0; i < 4; i++) {
      const db = openDatabase(ctx.url, { poolSize: 4 });
      const ledger = await openLedger(db, { pseudonymKey: KEY });
      instances.push({ ledger, close: async () => closeDatabase(db) });
    }
    const l = instances[0].ledger;
    await l.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
    for (let i = 0; i < 8; i++)
      await l.openAccount({ id: `c${i}`, type: "customer", asset: "EUR", scale: 2 });
    await l.transfer({
      id: "seed",
      debitAccountId: "bank",
      creditAccountId: "c0",
      amount: 100n,
      kind: "deposit",
    });
  });
  after(async () => {
    for (const i of instances) await i.close();
  });

  it("never double-spends: 40 parallel debits of 10 from a balance of 100, exactly 10 succeed", async () => {
    const attempts = Array.from({ length: 40 }, (_, k) =>
      instances[k % 4].ledger.transfer({
        id: `spend-${k}`,
        debitAccountId: "c0",
        creditAccountId: `c${1 + (k % 7)}`,
        amount: 10n,
        kind: "transfer",
      }),
    );
    const results = await Promise.allSettled(attempts);
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const refused = results.filter((r) => r.status === "rejected");
    expect(ok).to.equal(10);
    for (const r of refused)
      expect((r as PromiseRejectedResult).reason).to.be.instanceOf(InsufficientFundsError);
    expect((await instances[0].ledger.getBalance("c0")).posted).to.equal(0n);
  });

  it("random parallel transfers, holds and batches keep every invariant and a gap-free log", async () => {
    const l = instances[0].ledger;
    for (let i = 1; i < 8; i++)
      await l.transfer({
        id: `fund-${i}`,
        debitAccountId: "bank",
        creditAccountId: `c${i}`,
        amount: 1000n,
        kind: "deposit",
      });
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    const writers = Array.from({ length: 8 }, (_, w) =>
      (async () => {
        const ledger = instances[w % 4].ledger;
        for (let k = 0; k < 40; k++) {
          const a = rnd(8);
          const b = (a + 1 + rnd(7)) % 8;
          const amount = BigInt(1 + rnd(300));
          try {
            if (k % 5 === 0) {
              await ledger.transferBatch([
                {
                  id: `w${w}-${k}-a`,
                  debitAccountId: `c${a}`,
                  creditAccountId: `c${b}`,
                  amount,
                  kind: "transfer",
                },
                {
                  id: `w${w}-${k}-b`,
                  debitAccountId: `c${b}`,
                  creditAccountId: `c${a}`,
                  amount: amount / 2n + 1n,
                  kind: "transfer",
                },
              ]);
            } else if (k % 3 === 0) {
              const h = await ledger.createHold({
                id: `h${w}-${k}`,
                debitAccountId: `c${a}`,
                creditAccountId: `c${b}`,
                amount,
                kind: "transfer",
              });
              if (rnd(2)) await ledger.postHold(h.id, { source: "api" });
              else await ledger.voidHold(h.id, { source: "api" });
            } else {
              await ledger.transfer({
                id: `w${w}-${k}`,
                debitAccountId: `c${a}`,
                creditAccountId: `c${b}`,
                amount,
                kind: "transfer",
              });
            }
          } catch (e) {
            if (!(e instanceof InsufficientFundsError)) throw e;
          }
        }
      })(),
    );
    await Promise.all(writers);
    const report = await l.checkInvariants();
    expect(report.violations).to.deep.equal([]);
    const n = await l.eventCount();
    expect(report.events).to.equal(n);
    const events = await l.getEvents(0, n);
    events.forEach((e, i) => expect(e.sequence).to.equal(i));
    let total = 0n;
    for (let i = 0; i < 8; i++) total += (await l.getBalance(`c${i}`)).posted;
    expect(total).to.equal(100n + 7n * 1000n);
  });
});
