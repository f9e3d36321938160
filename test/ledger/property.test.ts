import { expect } from "chai";
import fc from "fast-check";
import type { Ledger } from "../../src/ledger";
import { describeWithPg } from "../support/pg";
import { type Backend, openTestLedger, tempSqliteUrl, uniquePrefix } from "./support";

/**
 * Model-based property test: random sequences of operations (valid and invalid) run against the
 * ledger and against a small model written here; every outcome (result or error class) and every
 * balance must agree, and the invariants must hold at the end.
 */
type Acc = {
  type: "customer" | "bank_mirror" | "escrow" | "settlement";
  frozen: boolean;
  dp: bigint;
  cp: bigint;
  dq: bigint;
  cq: bigint;
};
type Body = { debit: string; credit: string; amount: bigint; kind: string };
type HoldM = Body & { status: "pending" | "posted" | "voided"; payee?: string };
interface Model {
  accounts: Map<string, Acc>;
  transfers: Map<string, Body>;
  holds: Map<string, HoldM>;
  decisions: Map<string, { hold: string; action: string }>;
  events: number;
}

const CUSTOMERS = ["c0", "c1", "c2", "c3"];
const ACCOUNTS = [...CUSTOMERS, "bank", "esc", "settle"];

type Op =
  | { op: "transfer"; id: number; debit: string; credit: string; amount: bigint; kind: string }
  | { op: "batch"; items: { id: number; debit: string; credit: string; amount: bigint; kind: string }[] }
  | { op: "hold"; id: number; debit: string; credit: string; amount: bigint; kind: string; payee?: string }
  | { op: "resolve"; id: number; action: "post" | "void"; chain: number | null }
  | { op: "status"; account: string; frozen: boolean };

const amountArb = fc.oneof(fc.bigInt({ min: 1n, max: 400n }), fc.constantFrom(0n, -5n));
const transferArb = fc.record({
  id: fc.integer({ min: 0, max: 25 }),
  debit: fc.constantFrom(...ACCOUNTS),
  credit: fc.constantFrom(...ACCOUNTS),
  amount: amountArb,
  kind: fc.constantFrom("deposit", "transfer", "withdrawal"),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: transferArb.map((t) => ({ op: "transfer" as const, ...t })) },
  {
    weight: 2,
    arbitrary: fc
      .array(transferArb, { minLength: 1, maxLength: 4 })
      .map((items) => ({ op: "batch" as const, items })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        id: fc.integer({ min: 0, max: 10 }),
        debit: fc.constantFrom(...CUSTOMERS),
        credit: fc.constantFrom("esc", "settle", ...CUSTOMERS),
        amount: amountArb,
        kind: fc.constantFrom("escrow_hold", "transfer", "withdrawal"),
        payee: fc.option(fc.constantFrom(...CUSTOMERS), { nil: undefined }),
      })
      .map((h) => ({ op: "hold" as const, ...h })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        id: fc.integer({ min: 0, max: 10 }),
        action: fc.constantFrom("post" as const, "void" as const),
        chain: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
      })
      .map((r) => ({ op: "resolve" as const, ...r })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ account: fc.constantFrom(...CUSTOMERS), frozen: fc.boolean() })
      .map((s) => ({ op: "status" as const, ...s })),
  },
);

const PAIRS: Record<string, string[]> = {
  deposit: ["bank_mirror>customer", "settlement>customer"],
  transfer: ["customer>customer", "settlement>bank_mirror", "bank_mirror>settlement"],
  withdrawal: ["customer>settlement"],
};

function clone(m: Model): Model {
  return {
    accounts: new Map([...m.accounts].map(([k, v]) => [k, { ...v }])),
    transfers: new Map(m.transfers),
    holds: new Map([...m.holds].map(([k, v]) => [k, { ...v }])),
    decisions: new Map(m.decisions),
    events: m.events,
  };
}

const available = (a: Acc) => a.cp - a.dp - a.dq;

/** The model's rules for this restricted world; returns the expected error class name or applies. */
function movement(
  m: Model,
  debit: string,
  credit: string,
  amount: bigint,
  kind: string,
  context: "transfer" | "hold",
): string | null {
  if (amount <= 0n) return "InvalidAmountError";
  if (debit === credit) return "SameAccountError";
  const d = m.accounts.get(debit)!;
  const c = m.accounts.get(credit)!;
  if (kind === "escrow_hold" && context !== "hold") return "EscrowMovementNotAllowedError";
  if (d.type === "escrow") return "EscrowMovementNotAllowedError";
  if (c.type === "escrow" && kind !== "escrow_hold") return "EscrowMovementNotAllowedError";
  if (d.type === "customer") {
    const ok =
      (c.type === "customer" && kind === "transfer") ||
      (c.type === "settlement" && kind === "withdrawal") ||
      (c.type === "escrow" && kind === "escrow_hold");
    if (!ok) return "CustomerFundsOutflowError";
  }
  if (kind !== "escrow_hold" && !PAIRS[kind].includes(`${d.type}>${c.type}`))
    return "TransferKindNotAllowedError";
  if (kind === "escrow_hold" && !(d.type === "customer" && c.type === "escrow"))
    return "TransferKindNotAllowedError";
  if (d.frozen) return "AccountFrozenError";
  if (d.type !== "bank_mirror" && d.type !== "settlement" && available(d) < amount)
    return "InsufficientFundsError";
  return null;
}

function modelTransfer(
  m: Model,
  t: { id: string; debit: string; credit: string; amount: bigint; kind: string },
): string | null {
  if (t.amount <= 0n) return "InvalidAmountError";
  if (t.debit === t.credit) return "SameAccountError";
  const ex = m.transfers.get(t.id);
  if (ex)
    return ex.debit === t.debit && ex.credit === t.credit && ex.amount === t.amount && ex.kind === t.kind
      ? null
      : "IdempotencyConflictError";
  const err = movement(m, t.debit, t.credit, t.amount, t.kind, "transfer");
  if (err) return err;
  m.accounts.get(t.debit)!.dp += t.amount;
  m.accounts.get(t.credit)!.cp += t.amount;
  m.transfers.set(t.id, { debit: t.debit, credit: t.credit, amount: t.amount, kind: t.kind });
  m.events++;
  return null;
}

async function outcome(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return (e as Error).name;
  }
}

function propertySuite(backend: Backend, runs: number, maxOps: number) {
  let ledger: Ledger;
  let close: () => Promise<void>;
  before(async () => {
    ({ ledger, close } = await openTestLedger(backend));
  });
  after(async () => close?.());

  it("random operation sequences agree with the model and keep every invariant", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: maxOps }), async (ops) => {
        const p = uniquePrefix();
        const id = (s: string) => `${p}-${s}`;
        const m: Model = {
          accounts: new Map(),
          transfers: new Map(),
          holds: new Map(),
          decisions: new Map(),
          events: 0,
        };
        const start = await ledger.eventCount();
        const types: Record<string, Acc["type"]> = {
          bank: "bank_mirror",
          esc: "escrow",
          settle: "settlement",
        };
        for (const a of ACCOUNTS) {
          await ledger.openAccount({ id: id(a), type: types[a] ?? "customer", asset: "EUR", scale: 2 });
          m.accounts.set(a, { type: types[a] ?? "customer", frozen: false, dp: 0n, cp: 0n, dq: 0n, cq: 0n });
          m.events++;
        }
        let modelState = m;
        for (const o of ops) {
          let expected: string | null;
          let actual: string | null;
          if (o.op === "transfer") {
            const next = clone(modelState);
            expected = modelTransfer(next, { ...o, id: `t${o.id}` });
            if (!expected) modelState = next;
            actual = await outcome(
              ledger.transfer({
                id: id(`t${o.id}`),
                debitAccountId: id(o.debit),
                creditAccountId: id(o.credit),
                amount: o.amount,
                kind: o.kind as never,
              }),
            );
          } else if (o.op === "batch") {
            const next = clone(modelState);
            expected = null;
            for (const it of o.items) {
              if (it.amount <= 0n || it.debit === it.credit) {
                expected = it.amount <= 0n ? "InvalidAmountError" : "SameAccountError";
                break;
              }
            }
            if (!expected)
              for (const it of o.items) {
                expected = modelTransfer(next, { ...it, id: `t${it.id}` });
                if (expected) break;
              }
            if (!expected) modelState = next;
            actual = await outcome(
              ledger.transferBatch(
                o.items.map((it) => ({
                  id: id(`t${it.id}`),
                  debitAccountId: id(it.debit),
                  creditAccountId: id(it.credit),
                  amount: it.amount,
                  kind: it.kind as never,
                })),
              ),
            );
          } else if (o.op === "hold") {
            const next = clone(modelState);
            const hid = `h${o.id}`;
            const isEscrow = o.kind === "escrow_hold";
            const payee = isEscrow ? o.payee : undefined;
            const ex = next.holds.get(hid);
            if (o.amount <= 0n) expected = "InvalidAmountError";
            else if (o.debit === o.credit) expected = "SameAccountError";
            else if (ex)
              expected =
                ex.debit === o.debit &&
                ex.credit === o.credit &&
                ex.amount === o.amount &&
                ex.kind === o.kind &&
                ex.payee === payee
                  ? null
                  : "IdempotencyConflictError";
            else if (isEscrow && !payee) expected = "InvalidLedgerInputError";
            else {
              expected = movement(next, o.debit, o.credit, o.amount, o.kind, "hold");
              if (!expected) {
                next.accounts.get(o.debit)!.dq += o.amount;
                next.accounts.get(o.credit)!.cq += o.amount;
                next.holds.set(hid, {
                  debit: o.debit,
                  credit: o.credit,
                  amount: o.amount,
                  kind: o.kind,
                  status: "pending",
                  payee,
                });
                next.events++;
              }
            }
            if (!expected) modelState = next;
            actual = await outcome(
              ledger.createHold({
                id: id(hid),
                debitAccountId: id(o.debit),
                creditAccountId: id(o.credit),
                amount: o.amount,
                kind: o.kind as never,
                payeeAccountId: payee && id(payee),
              }),
            );
          } else if (o.op === "resolve") {
            const next = clone(modelState);
            const hid = `h${o.id}`;
            const h = next.holds.get(hid);
            const chainId =
              o.chain === null
                ? null
                : `0x${p.length.toString(16).padStart(2, "0")}${"ab".repeat(31)}:${o.chain}`;
            const seen = chainId ? next.decisions.get(chainId) : undefined;
            if (!h) expected = "UnknownHoldError";
            else if (chainId && seen)
              expected = seen.hold === hid && seen.action === o.action ? null : "ChainEventConflictError";
            else if (chainId && h.kind !== "escrow_hold") expected = "NotAnEscrowHoldError";
            else if (!chainId && h.kind === "escrow_hold") expected = "EscrowHoldRequiresChainDecisionError";
            else if (h.status !== "pending")
              expected = !chainId
                ? "HoldNotPendingError"
                : h.status === (o.action === "post" ? "posted" : "voided")
                  ? "HoldAlreadyDecidedError"
                  : "HoldDecidedOtherwiseError";
            else {
              expected = null;
              const d = next.accounts.get(h.debit)!;
              const c = next.accounts.get(h.credit)!;
              d.dq -= h.amount;
              c.cq -= h.amount;
              if (o.action === "post") {
                d.dp += h.amount;
                c.cp += h.amount;
              }
              h.status = o.action === "post" ? "posted" : "voided";
              next.events++;
              if (chainId) next.decisions.set(chainId, { hold: hid, action: o.action });
              if (h.kind === "escrow_hold" && o.action === "post") {
                c.dp += h.amount;
                next.accounts.get(h.payee!)!.cp += h.amount;
                next.events++;
              }
            }
            if (!expected) modelState = next;
            const by = chainId
              ? { source: "chain" as const, chainEventId: chainId }
              : { source: "api" as const };
            actual = await outcome(
              o.action === "post" ? ledger.postHold(id(hid), by) : ledger.voidHold(id(hid), by),
            );
          } else {
            const next = clone(modelState);
            const a = next.accounts.get(o.account)!;
            expected = null;
            if (a.frozen !== o.frozen) {
              a.frozen = o.frozen;
              next.events++;
            }
            modelState = next;
            actual = await outcome(ledger.setAccountStatus(id(o.account), o.frozen ? "frozen" : "active"));
          }
          expect(
            actual,
            JSON.stringify(o, (_, v) => (typeof v === "bigint" ? v.toString() : v)),
          ).to.equal(expected);
        }
        for (const [name, a] of modelState.accounts) {
          const b = await ledger.getBalance(id(name));
          expect([b.debitsPosted, b.creditsPosted, b.debitsPending, b.creditsPending], name).to.deep.equal([
            a.dp,
            a.cp,
            a.dq,
            a.cq,
          ]);
        }
        expect(await ledger.eventCount()).to.equal(start + modelState.events);
      }),
      { numRuns: runs },
    );
    const report = await ledger.checkInvariants();
    expect(report.violations).to.deep.equal([]);
  });
}

describe("ledger properties (sqlite)", () => {
  const { url } = tempSqliteUrl();
  propertySuite({ name: "sqlite", url: () => url }, 100, 40);
});

describeWithPg("ledger properties (postgres)", (ctx) => {
  propertySuite({ name: "postgres", url: () => ctx.url }, 15, 30);
});
