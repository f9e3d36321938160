import { expect } from "chai";
import fc from "fast-check";
import {
  reconcileDay,
  type LedgerMovement,
  type PagedEntry,
  type ReconcileInput,
} from "../../src/bank/reconcile";
import { buildReport, reportHash } from "../../src/bank/report";

const DAY = "2026-11-30";

function mv(id: string, amount: bigint, o: Partial<LedgerMovement> = {}): LedgerMovement {
  return {
    transferId: id,
    direction: "credit",
    amount,
    sequence: Number(id.replace(/\D/g, "") || 0),
    createdAt: Date.parse(`${DAY}T10:00:00Z`),
    valueDate: DAY,
    endToEndId: id,
    reversal: false,
    ...o,
  };
}

/** The statement entry a correct bank books for a movement. */
function entryOf(m: LedgerMovement, index: number): PagedEntry {
  return {
    page: 1,
    index,
    amount: m.amount,
    direction: m.direction,
    status: "booked",
    reversal: m.reversal,
    bookingDate: m.valueDate,
    valueDate: m.valueDate,
    endToEndId: m.endToEndId,
    accountServicerRef: `ASR-${m.transferId}`,
  };
}

function input(o: Partial<ReconcileInput>): ReconcileInput {
  return {
    day: DAY,
    toleranceDays: 0,
    entries: [],
    movements: [],
    previousMovements: [],
    nextMovements: [],
    adjacentEntries: [],
    ...o,
  };
}

const classes = (r: ReturnType<typeof reconcileDay>) => r.breaks.map((b) => b.class);

describe("bank: reconciliation rules", () => {
  const ms = [mv("t1", 100n), mv("t2", 250n, { direction: "debit" }), mv("t3", 75n)];
  const entries = ms.map(entryOf);

  it("matches a faithful statement with no break", () => {
    const r = reconcileDay(input({ entries, movements: ms }));
    expect(r.breaks).to.deep.equal([]);
    expect(r.matched).to.equal(3);
  });

  it("bank_only: an entry the ledger never booked", () => {
    const extra = { ...entryOf(mv("x9", 5n), 3), endToEndId: "E2E-UNKNOWN" };
    const r = reconcileDay(input({ entries: [...entries, extra], movements: ms }));
    expect(classes(r)).to.deep.equal(["bank_only"]);
    expect(r.breaks[0].bank?.endToEndId).to.equal("E2E-UNKNOWN");
  });

  it("ledger_only: a ledger movement the bank did not book", () => {
    const r = reconcileDay(input({ entries: entries.slice(1), movements: ms }));
    expect(classes(r)).to.deep.equal(["ledger_only"]);
    expect(r.breaks[0].ledger?.transferId).to.equal("t1");
  });

  it("amount_mismatch: same end-to-end id, different amount (or direction)", () => {
    const r = reconcileDay(
      input({ entries: [{ ...entries[0], amount: 101n }, ...entries.slice(1)], movements: ms }),
    );
    expect(classes(r)).to.deep.equal(["amount_mismatch"]);
    expect(r.breaks[0].bank?.amount).to.equal(101n);
    expect(r.breaks[0].ledger?.amount).to.equal(100n);
    const d = reconcileDay(
      input({ entries: [{ ...entries[0], direction: "debit" }, ...entries.slice(1)], movements: ms }),
    );
    expect(classes(d)).to.deep.equal(["amount_mismatch"]);
  });

  it("duplicate: the same entry booked twice (by end-to-end id or servicer reference)", () => {
    const r = reconcileDay(input({ entries: [...entries, { ...entries[1], index: 3 }], movements: ms }));
    expect(classes(r)).to.deep.equal(["duplicate"]);
    const noRef = { ...entries[2], endToEndId: undefined, index: 3 };
    const s = reconcileDay(input({ entries: [...entries, noRef], movements: ms }));
    expect(classes(s)).to.deep.equal(["duplicate"]);
  });

  it("timing: the ledger booked it the day before or after", () => {
    const late = mv("t4", 40n);
    const r = reconcileDay(
      input({ entries: [...entries, entryOf(late, 3)], movements: ms, nextMovements: [late] }),
    );
    expect(classes(r)).to.deep.equal(["timing"]);
    const early = mv("t5", 41n);
    const p = reconcileDay(
      input({ entries: [...entries, entryOf(early, 3)], movements: ms, previousMovements: [early] }),
    );
    expect(classes(p)).to.deep.equal(["timing"]);
    // Ledger side: booked today, the next day's statement books it.
    const q = reconcileDay(
      input({ entries: entries.slice(1), movements: ms, adjacentEntries: [entries[0]] }),
    );
    expect(classes(q)).to.deep.equal(["timing"]);
  });

  it("a reversal is matched apart from the entry it reverses", () => {
    const orig = mv("t7", 30n, { direction: "debit" });
    const rev = mv("t8", 30n, { direction: "credit", endToEndId: "t7", reversal: true });
    const r = reconcileDay(input({ entries: [entryOf(orig, 0), entryOf(rev, 1)], movements: [orig, rev] }));
    expect(r.breaks).to.deep.equal([]);
    expect(r.matched).to.equal(2);
  });

  it("pending and information entries are ignored and counted", () => {
    const pending: PagedEntry = { ...entryOf(mv("p1", 9n), 3), status: "pending" };
    const info: PagedEntry = { ...entryOf(mv("p2", 9n), 4), status: "info" };
    const r = reconcileDay(input({ entries: [...entries, pending, info], movements: ms }));
    expect(r.breaks).to.deep.equal([]);
    expect([r.pendingIgnored, r.infoIgnored]).to.deep.equal([1, 1]);
  });

  describe("value-date tolerance (entries without an end-to-end id)", () => {
    const m = mv("t1", 100n, { valueDate: "2026-11-28" });
    const bare = (valueDate: string): PagedEntry => ({ ...entryOf(m, 0), endToEndId: undefined, valueDate });
    it("matches at exactly the tolerance", () => {
      expect(
        reconcileDay(input({ toleranceDays: 2, entries: [bare(DAY)], movements: [m] })).breaks,
      ).to.deep.equal([]);
      expect(
        reconcileDay(input({ toleranceDays: 0, entries: [bare("2026-11-28")], movements: [m] })).breaks,
      ).to.deep.equal([]);
    });
    it("breaks one day past it (bank_only + ledger_only)", () => {
      const r = reconcileDay(input({ toleranceDays: 1, entries: [bare(DAY)], movements: [m] }));
      expect(classes(r)).to.deep.equal(["bank_only", "ledger_only"]);
      const z = reconcileDay(input({ toleranceDays: 0, entries: [bare("2026-11-29")], movements: [m] }));
      expect(classes(z)).to.deep.equal(["bank_only", "ledger_only"]);
    });
    it("needs the exact amount", () => {
      const r = reconcileDay(
        input({ toleranceDays: 5, entries: [{ ...bare(DAY), amount: 99n }], movements: [m] }),
      );
      expect(classes(r)).to.deep.equal(["bank_only", "ledger_only"]);
    });
  });

  describe("property: derived statements reconcile; one mutation gives one break of its kind", () => {
    const movementArb = fc.record({
      amount: fc.bigInt({ min: 1n, max: 10n ** 12n }),
      direction: fc.constantFrom("credit" as const, "debit" as const),
      reversal: fc.boolean(),
    });
    const ledgerArb = fc
      .record({
        today: fc.array(movementArb, { minLength: 1, maxLength: 30 }),
        next: fc.array(movementArb, { minLength: 1, maxLength: 5 }),
      })
      .map(({ today, next }) => ({
        today: today.map((m, i) =>
          mv(`d${i}`, m.amount, { direction: m.direction, reversal: m.reversal, endToEndId: `E2E-${i}` }),
        ),
        next: next.map((m, i) =>
          mv(`n${i}`, m.amount, { direction: m.direction, valueDate: "2026-12-01", endToEndId: `E2E-N${i}` }),
        ),
      }));

    it("zero breaks for the statement derived from the ledger", () => {
      fc.assert(
        fc.property(ledgerArb, fc.integer({ min: 0, max: 3 }), ({ today, next }, tol) => {
          const r = reconcileDay(
            input({ toleranceDays: tol, entries: today.map(entryOf), movements: today, nextMovements: next }),
          );
          expect(r.breaks).to.deep.equal([]);
          expect(r.matched).to.equal(today.length);
        }),
      );
    });

    type Mutation = "drop" | "add" | "amount" | "duplicate" | "timing";
    const expected: Record<Mutation, string> = {
      drop: "ledger_only",
      add: "bank_only",
      amount: "amount_mismatch",
      duplicate: "duplicate",
      timing: "timing",
    };
    it("exactly one break of the mutation's kind", () => {
      fc.assert(
        fc.property(
          ledgerArb,
          fc.constantFrom<Mutation>("drop", "add", "amount", "duplicate", "timing"),
          fc.nat(),
          fc.bigInt({ min: 1n, max: 1000n }),
          ({ today, next }, mutation, at, delta) => {
            const entries = today.map(entryOf);
            const i = at % entries.length;
            if (mutation === "drop") entries.splice(i, 1);
            if (mutation === "add")
              entries.push({
                ...entryOf(mv("zz", delta), entries.length),
                endToEndId: "E2E-NOT-IN-LEDGER",
                accountServicerRef: "ASR-NEW",
              });
            if (mutation === "amount") entries[i] = { ...entries[i], amount: entries[i].amount + delta };
            if (mutation === "duplicate") entries.push({ ...entries[i], index: entries.length });
            if (mutation === "timing") entries.push(entryOf(next[at % next.length], entries.length));
            const r = reconcileDay(input({ entries, movements: today, nextMovements: next }));
            expect(classes(r)).to.deep.equal([expected[mutation]]);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  it("the report hash is stable and names a shortfall as a critical break", () => {
    const result = reconcileDay(input({ entries, movements: ms }));
    const base = {
      day: DAY,
      ledgerAccount: "bank-eur",
      bankAccount: "DE89370400440532013000",
      currency: "EUR",
      exponent: 2,
      cutoff: Date.parse(`${DAY}T17:00:00Z`),
      toleranceDays: 0,
      statements: [{ id: "S1", page: 1, documentHash: `0x${"ab".repeat(32)}` as const }],
      adjacentStatements: [],
      throughSequence: 10,
      bankClosing: 1000n,
      ledgerBalance: 1000n,
      customerLiabilities: 1000n,
      bankEntries: 3,
      ledgerMovements: 3,
      result,
    };
    const a = buildReport(base);
    expect(a.breaks).to.deep.equal([]);
    expect(a.segregation.ok).to.equal(true);
    expect(reportHash(a)).to.equal(reportHash(buildReport(base)));
    const b = buildReport({ ...base, customerLiabilities: 1001n });
    expect(b.breaks.map((x) => [x.class, x.severity, x.shortfall])).to.deep.equal([
      ["segregation_shortfall", "critical", "1"],
    ]);
    expect(reportHash(b)).to.not.equal(reportHash(a));
  });
});
