import { expect } from "chai";
import fc from "fast-check";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { migrate } from "../../src/db/migrate";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { bankMigrations } from "../../src/bank/migrations";
import { readLedgerDay } from "../../src/bank/ledger-view";
import { openLedger } from "../../src/ledger";

const DAY_MS = 86_400_000;
const T0 = Date.parse("2026-11-01T00:00:00Z");
const CUSTOMERS = ["c0", "c1", "c2"];

/** One step of a random ledger history; `after` advances the ledger's clock first (hours). */
type Op =
  | { k: "deposit"; c: number; amount: number; after: number }
  | { k: "withdraw"; c: number; amount: number; after: number }
  | { k: "transfer"; c: number; to: number; amount: number; after: number }
  | { k: "hold"; c: number; to: "settlement" | "payout" | "escrow"; amount: number; after: number }
  | { k: "decide"; which: number; post: boolean; after: number };

const amount = fc.integer({ min: 1, max: 5_000 });
const after = fc.integer({ min: 0, max: 30 });
const c = fc.integer({ min: 0, max: CUSTOMERS.length - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant("deposit" as const), c, amount, after }),
  fc.record({ k: fc.constant("withdraw" as const), c, amount, after }),
  fc.record({ k: fc.constant("transfer" as const), c, to: c, amount, after }),
  fc.record({
    k: fc.constant("hold" as const),
    c,
    to: fc.constantFrom("settlement" as const, "payout" as const, "escrow" as const),
    amount,
    after,
  }),
  fc.record({ k: fc.constant("decide" as const), which: fc.nat(), post: fc.boolean(), after }),
);

/**
 * The reconciliation's view of the ledger at a cut-off, read live (posted balances now less what
 * came after) and as a re-run (sums up to the cut-off), against a model of the same history. A
 * posted hold moves balances without a transfer row: a withdrawal hold posted on the mirror and an
 * escrow hold posted out of a customer's account must count in both figures (the sums over
 * transfer rows alone counted neither, and overstated the customers' liabilities).
 */
describe("bank: the ledger's balances and movements at a cut-off (real SQLite, property)", function () {
  it("live and re-run reads agree with each other and with the model, at every cut-off", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 20 * 24 }), { minLength: 1, maxLength: 4 }),
        async (ops, cutoffHours) => {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ledger-view-"));
          const db = openDatabase(path.join(dir, "ledger.db"));
          let now = T0;
          const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(9), clock: () => now });
          try {
            await migrate(db, bankMigrations);
            const base = { asset: "EUR", scale: 2 } as const;
            await ledger.openAccount({ id: "mirror", type: "bank_mirror", ...base });
            await ledger.openAccount({ id: "esc", type: "escrow", ...base });
            await ledger.openAccount({ id: "settle", type: "settlement", ...base });
            await ledger.openAccount({ id: "payee", type: "customer", ...base });
            for (const id of CUSTOMERS) await ledger.openAccount({ id, type: "customer", ...base });
            // The model: every posted movement with its time, and the mirror's movements.
            const booked: { at: number; debit: string; credit: string; amount: bigint }[] = [];
            const pending: { id: string; debit: string; credit: string; amount: bigint; escrow: boolean }[] =
              [];
            const available = new Map(CUSTOMERS.map((id) => [id, 0n]));
            let n = 0;
            for (const o of ops) {
              now += o.after * 3_600_000;
              const id = `x${n++}`;
              const cust = CUSTOMERS[o.k === "decide" ? 0 : o.c];
              const amt = BigInt(o.k === "decide" ? 0 : o.amount);
              const book = (debit: string, credit: string, a: bigint) =>
                booked.push({ at: now, debit, credit, amount: a });
              if (o.k === "deposit") {
                await ledger.transfer({
                  id,
                  debitAccountId: "mirror",
                  creditAccountId: cust,
                  amount: amt,
                  kind: "deposit",
                });
                book("mirror", cust, amt);
                available.set(cust, available.get(cust)! + amt);
              } else if (o.k === "withdraw") {
                // Out through the settlement account, then paid out of the bank account.
                if (available.get(cust)! < amt) continue;
                await ledger.transfer({
                  id,
                  debitAccountId: cust,
                  creditAccountId: "settle",
                  amount: amt,
                  kind: "withdrawal",
                });
                await ledger.transfer({
                  id: `${id}p`,
                  debitAccountId: "settle",
                  creditAccountId: "mirror",
                  amount: amt,
                  kind: "transfer",
                });
                book(cust, "settle", amt);
                book("settle", "mirror", amt);
                available.set(cust, available.get(cust)! - amt);
              } else if (o.k === "transfer") {
                const to = CUSTOMERS[o.to];
                if (available.get(cust)! < amt || to === cust) continue;
                await ledger.transfer({
                  id,
                  debitAccountId: cust,
                  creditAccountId: to,
                  amount: amt,
                  kind: "transfer",
                });
                book(cust, to, amt);
                available.set(cust, available.get(cust)! - amt);
                available.set(to, available.get(to)! + amt);
              } else if (o.k === "hold") {
                const escrow = o.to === "escrow";
                const debit = o.to === "payout" ? "settle" : cust;
                const credit = escrow ? "esc" : o.to === "payout" ? "mirror" : "settle";
                if (debit === cust && available.get(cust)! < amt) continue;
                await ledger.createHold({
                  id,
                  debitAccountId: debit,
                  creditAccountId: credit,
                  amount: amt,
                  kind: escrow ? "escrow_hold" : o.to === "payout" ? "transfer" : "withdrawal",
                  ...(escrow ? { payeeAccountId: "payee" } : {}),
                });
                if (debit === cust) available.set(cust, available.get(cust)! - amt);
                pending.push({ id, debit, credit, amount: amt, escrow });
              } else if (pending.length > 0) {
                const [h] = pending.splice(o.which % pending.length, 1);
                const by = h.escrow
                  ? { source: "chain" as const, chainEventId: `0x${"ab".repeat(32)}:${n}` }
                  : { source: "api" as const };
                if (o.post) {
                  await ledger.postHold(h.id, by);
                  book(h.debit, h.credit, h.amount);
                  // An escrow's release pays the payee in the same commit.
                  if (h.escrow) book("esc", "payee", h.amount);
                } else {
                  await ledger.voidHold(h.id, by);
                  if (available.has(h.debit)) available.set(h.debit, available.get(h.debit)! + h.amount);
                }
              }
            }
            const events = await ledger.eventCount();
            for (const h of cutoffHours) {
              const cutoff = T0 + h * 3_600_000;
              const upTo = booked.filter((b) => b.at <= cutoff);
              const signed = (b: (typeof booked)[number], id: string) =>
                b.credit === id ? b.amount : b.debit === id ? -b.amount : 0n;
              const mirror = -upTo.reduce((s, b) => s + signed(b, "mirror"), 0n);
              const customers = [...CUSTOMERS, "payee"].reduce(
                (s, id) => s + upTo.reduce((t, b) => t + signed(b, id), 0n),
                0n,
              );
              const live = await readLedgerDay(db, "mirror", "EUR", cutoff);
              const rerun = await readLedgerDay(db, "mirror", "EUR", cutoff, events);
              expect(live.mirrorBalance, "live mirror").to.equal(mirror);
              expect(live.customerLiabilities, "live customers").to.equal(customers);
              expect(rerun.mirrorBalance, "re-run mirror").to.equal(mirror);
              expect(rerun.customerLiabilities, "re-run customers").to.equal(customers);
              expect(rerun.throughSequence).to.equal(live.throughSequence);
              for (const w of ["previous", "today", "next"] as const)
                expect(rerun[w], w).to.deep.equal(live[w]);
              // Every movement on the mirror in the window is listed once, posted holds included.
              const inWindow = booked.filter(
                (b) =>
                  (b.debit === "mirror" || b.credit === "mirror") &&
                  b.at > cutoff - 2 * DAY_MS &&
                  b.at <= cutoff + DAY_MS,
              );
              expect(live.previous.length + live.today.length + live.next.length).to.equal(inWindow.length);
            }
          } finally {
            await ledger.close();
            await closeDatabase(db);
            fs.rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
