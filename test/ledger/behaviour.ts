import { expect } from "chai";
import { createHash, createHmac } from "node:crypto";
import type { Hex } from "viem";
import { canonicalJson } from "../../src/ledger/canonical";
import type { Database } from "../../src/db/database";
import {
  AccountClosedError,
  AccountFrozenError,
  AccountNotEmptyError,
  AssetMismatchError,
  ChainEventConflictError,
  CustomerFundsOutflowError,
  EscrowHoldRequiresChainDecisionError,
  EscrowIdConflictError,
  EscrowMovementNotAllowedError,
  FeeScheduleViolationError,
  FundsMixingError,
  HoldNotExpiredError,
  HoldNotPendingError,
  IdempotencyConflictError,
  InsufficientFundsError,
  InvalidAmountError,
  InvalidLedgerInputError,
  InvalidStatusTransitionError,
  type Ledger,
  LimitExceededError,
  NotAnEscrowHoldError,
  SameAccountError,
  SegregationViolationError,
  TransferKindNotAllowedError,
  UnknownAccountError,
  UnknownFactError,
  UnknownHoldError,
  UnknownTransferError,
  ZERO32,
  leafHashOf,
} from "../../src/ledger";
import { type Backend, KEY, openTestLedger, rawExec, rejects, uniquePrefix } from "./support";

const hmac = (s: string): Hex => `0x${createHmac("sha256", Buffer.from(KEY)).update(s).digest("hex")}`;
const sha = (s: string): Hex => `0x${createHash("sha256").update(s).digest("hex")}`;
const txHash = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;
/** SQLite keeps balances in ledger_balances, keyed by the account's integer key (ledger/003). */
const balanceKey = (accountId: string) => `(SELECT key FROM ledger_account_terms WHERE id = '${accountId}')`;

/**
 * The behaviour every ledger backend must show. Tests share one database; each test names its
 * accounts with a unique prefix.
 */
export function shouldBehaveLikeALedger(backend: Backend): void {
  let ledger: Ledger;
  let db: Database;
  let close: () => Promise<void>;
  let p: string;
  const id = (s: string) => `${p}-${s}`;

  before(async () => {
    ({ ledger, db, close } = await openTestLedger(backend));
  });
  after(async () => {
    await close?.();
  });

  /** bank (mirror), settle, alice, bob, carol (customers), esc, fees, own, usd-alice; alice gets 10 000. */
  async function world(): Promise<void> {
    p = uniquePrefix();
    const open = (name: string, type: Parameters<Ledger["openAccount"]>[0]["type"], asset = "EUR") =>
      ledger.openAccount({ id: id(name), type, asset, scale: 2 });
    await open("bank", "bank_mirror");
    await open("settle", "settlement");
    await open("alice", "customer");
    await open("bob", "customer");
    await open("carol", "customer");
    await open("esc", "escrow");
    await open("fees", "fee_revenue");
    await open("own", "platform_own");
    await open("usd", "customer", "USD");
    await ledger.transfer({
      id: id("seed"),
      debitAccountId: id("bank"),
      creditAccountId: id("alice"),
      amount: 10_000n,
      kind: "deposit",
    });
  }

  /** Runs `op`, which must fail with `cls`, and checks that nothing changed. */
  async function refusesWithoutChange<E extends Error>(
    op: () => Promise<unknown>,
    cls: abstract new (...a: never[]) => E,
  ) {
    const before = await ledger.eventCount();
    const balances = await Promise.all(
      ["alice", "bob", "bank", "esc", "fees"].map((a) => ledger.getBalance(id(a))),
    );
    const err = await rejects(op(), cls);
    expect(await ledger.eventCount()).to.equal(before);
    const after = await Promise.all(
      ["alice", "bob", "bank", "esc", "fees"].map((a) => ledger.getBalance(id(a))),
    );
    expect(after).to.deep.equal(balances);
    return err;
  }

  describe("accounts", () => {
    beforeEach(world);

    it("opens an account once: same terms return it, other terms conflict", async () => {
      const n = await ledger.eventCount();
      const a = await ledger.openAccount({
        id: id("dave"),
        type: "customer",
        asset: "EUR",
        scale: 2,
        metadata: { tier: 1 },
      });
      expect(a.pseudonym).to.equal(hmac(`account:${id("dave")}`));
      expect(a.status).to.equal("active");
      expect(a.sequence).to.equal(n);
      const again = await ledger.openAccount({
        id: id("dave"),
        type: "customer",
        asset: "EUR",
        scale: 2,
        metadata: { tier: 1 },
      });
      expect(again).to.deep.equal(a);
      expect(await ledger.eventCount()).to.equal(n + 1);
      await rejects(
        ledger.openAccount({ id: id("dave"), type: "customer", asset: "EUR", scale: 3 }),
        IdempotencyConflictError,
      );
      expect(await ledger.getAccount(id("dave"))).to.deep.equal(a);
      expect(ledger.accountPseudonym(id("dave"))).to.equal(a.pseudonym);
      expect(await ledger.getAccountByPseudonym(a.pseudonym)).to.deep.equal(a);
    });

    it("rejects malformed account input with named errors", async () => {
      const n = await ledger.eventCount();
      const base = { id: id("x"), type: "customer" as const, asset: "EUR", scale: 2 };
      await rejects(ledger.openAccount({ ...base, id: "" }), InvalidLedgerInputError);
      await rejects(ledger.openAccount({ ...base, id: "has space" }), InvalidLedgerInputError);
      await rejects(ledger.openAccount({ ...base, type: "savings" as never }), InvalidLedgerInputError);
      await rejects(ledger.openAccount({ ...base, asset: "" }), InvalidLedgerInputError);
      await rejects(ledger.openAccount({ ...base, scale: 1.5 }), InvalidLedgerInputError);
      await rejects(ledger.openAccount({ ...base, limits: { maxBalance: -1n } }), InvalidAmountError);
      await rejects(
        ledger.openAccount({ ...base, metadata: { f: () => 1 } as never }),
        InvalidLedgerInputError,
      );
      expect(await ledger.eventCount()).to.equal(n);
      await rejects(ledger.getAccount(id("x")), UnknownAccountError);
      await rejects(ledger.getBalance(id("x")), UnknownAccountError);
    });

    it("freezes (no debits, credits still land), unfreezes, and closes only when empty", async () => {
      const frozen = await ledger.setAccountStatus(id("alice"), "frozen");
      expect(frozen.status).to.equal("frozen");
      await refusesWithoutChange(
        () =>
          ledger.transfer({
            id: id("t"),
            debitAccountId: id("alice"),
            creditAccountId: id("bob"),
            amount: 1n,
            kind: "transfer",
          }),
        AccountFrozenError,
      );
      await ledger.transfer({
        id: id("in"),
        debitAccountId: id("bank"),
        creditAccountId: id("alice"),
        amount: 5n,
        kind: "deposit",
      });
      await ledger.setAccountStatus(id("alice"), "active");
      await ledger.transfer({
        id: id("t"),
        debitAccountId: id("alice"),
        creditAccountId: id("bob"),
        amount: 1n,
        kind: "transfer",
      });

      await refusesWithoutChange(() => ledger.setAccountStatus(id("alice"), "closed"), AccountNotEmptyError);
      const closed = await ledger.setAccountStatus(id("carol"), "closed");
      expect(closed.status).to.equal("closed");
      await refusesWithoutChange(
        () =>
          ledger.transfer({
            id: id("t2"),
            debitAccountId: id("alice"),
            creditAccountId: id("carol"),
            amount: 1n,
            kind: "transfer",
          }),
        AccountClosedError,
      );
      await refusesWithoutChange(
        () => ledger.setAccountStatus(id("carol"), "active"),
        InvalidStatusTransitionError,
      );
      const events = await ledger.getEventsForSubject("account", id("alice"));
      expect(events.map((e) => [e.entry.eventType, e.entry.code])).to.deep.equal([
        ["ACCOUNT_OPENED", 1],
        ["ACCOUNT_STATUS_CHANGED", 2],
        ["ACCOUNT_STATUS_CHANGED", 1],
      ]);
      // Setting the current status again is no change and appends nothing.
      const n = await ledger.eventCount();
      await ledger.setAccountStatus(id("alice"), "active");
      expect(await ledger.eventCount()).to.equal(n);
    });

    it("enforces account limits", async () => {
      await ledger.openAccount({
        id: id("lim"),
        type: "customer",
        asset: "EUR",
        scale: 2,
        limits: { maxTransferAmount: 100n, maxBalance: 1000n },
      });
      await refusesWithoutChange(
        () =>
          ledger.transfer({
            id: id("t1"),
            debitAccountId: id("bank"),
            creditAccountId: id("lim"),
            amount: 1001n,
            kind: "deposit",
          }),
        LimitExceededError,
      );
      await ledger.transfer({
        id: id("t2"),
        debitAccountId: id("bank"),
        creditAccountId: id("lim"),
        amount: 1000n,
        kind: "deposit",
      });
      await refusesWithoutChange(
        () =>
          ledger.transfer({
            id: id("t3"),
            debitAccountId: id("lim"),
            creditAccountId: id("bob"),
            amount: 101n,
            kind: "transfer",
          }),
        LimitExceededError,
      );
      const a = await ledger.getAccount(id("lim"));
      expect(a.limits).to.deep.equal({ maxTransferAmount: 100n, maxBalance: 1000n });
    });

    it("lists accounts with filters and keyset paging", async () => {
      const customers = await ledger.listAccounts({ type: "customer", asset: "EUR", limit: 10_000 });
      const mine = customers.filter((a) => a.id.startsWith(`${p}-`)).map((a) => a.id);
      expect(mine).to.deep.equal([id("alice"), id("bob"), id("carol")]);
      const page = await ledger.listAccounts({ after: id("alice"), limit: 1 });
      expect(page).to.have.length(1);
      expect(page[0].id > id("alice")).to.equal(true);
    });
  });

  describe("transfers", () => {
    beforeEach(world);

    it("posts a double-entry transfer and logs one leaf describing it", async () => {
      const n = await ledger.eventCount();
      const t = await ledger.transfer({
        id: id("t1"),
        debitAccountId: id("alice"),
        creditAccountId: id("bob"),
        amount: "2500",
        kind: "transfer",
        metadata: { note: "rent", z: [1, 2], a: null },
      });
      expect(t).to.include({ amount: 2500n, asset: "EUR", kind: "transfer", sequence: n });
      expect(t.pseudonym).to.equal(hmac(`transfer:${id("t1")}`));
      expect((await ledger.getBalance(id("alice"))).posted).to.equal(7500n);
      expect((await ledger.getBalance(id("bob"))).available).to.equal(2500n);
      expect(await ledger.getTransfer(id("t1"))).to.deep.equal(t);
      const [e] = await ledger.getEventsForSubject("transfer", id("t1"));
      expect(e.sequence).to.equal(n);
      expect(e.accounts).to.deep.equal([id("alice"), id("bob")]);
      expect(e.entry).to.deep.include({
        eventType: "TRANSFER_POSTED",
        sequence: n,
        entryId: t.pseudonym,
        debitAccount: hmac(`account:${id("alice")}`),
        creditAccount: hmac(`account:${id("bob")}`),
        asset: "EUR",
        amount: 2500n,
        code: 3,
        reference: ZERO32,
        metadataHash: sha('{"metadata":{"a":null,"note":"rent","z":[1,2]}}'),
      });
      expect(Buffer.from(e.leafHash).toString("hex")).to.equal(
        Buffer.from(leafHashOf(e.entry)).toString("hex"),
      );
    });

    it("is idempotent by id: the same body returns the same transfer, another body conflicts", async () => {
      const input = {
        id: id("t1"),
        debitAccountId: id("alice"),
        creditAccountId: id("bob"),
        amount: 10n,
        kind: "transfer" as const,
      };
      const t = await ledger.transfer(input);
      const n = await ledger.eventCount();
      expect(await ledger.transfer({ ...input, amount: "10" })).to.deep.equal(t);
      expect(await ledger.eventCount()).to.equal(n);
      await refusesWithoutChange(() => ledger.transfer({ ...input, amount: 11n }), IdempotencyConflictError);
      await refusesWithoutChange(
        () => ledger.transfer({ ...input, metadata: { x: 1 } }),
        IdempotencyConflictError,
      );
      await refusesWithoutChange(
        () => ledger.transfer({ ...input, creditAccountId: id("carol") }),
        IdempotencyConflictError,
      );
      expect((await ledger.getBalance(id("bob"))).posted).to.equal(10n);
    });

    it("rejects bad amounts with InvalidAmountError and changes nothing", async () => {
      for (const amount of [
        0n,
        -1n,
        0,
        -5,
        1.5,
        "1.5",
        "abc",
        "",
        NaN,
        Infinity,
        2n ** 128n,
        (2n ** 128n).toString(),
        2 ** 60,
        null,
        {},
      ] as never[]) {
        await refusesWithoutChange(
          () =>
            ledger.transfer({
              id: id("bad"),
              debitAccountId: id("alice"),
              creditAccountId: id("bob"),
              amount,
              kind: "transfer",
            }),
          InvalidAmountError,
        );
      }
      // The largest uint128 is a valid amount (refused here for funds, not for its size).
      await refusesWithoutChange(
        () =>
          ledger.transfer({
            id: id("big"),
            debitAccountId: id("alice"),
            creditAccountId: id("bob"),
            amount: 2n ** 128n - 1n,
            kind: "transfer",
          }),
        InsufficientFundsError,
      );
    });

    it("rejects unknown accounts, asset mismatches, self transfers and malformed input", async () => {
      const t = {
        id: id("t"),
        debitAccountId: id("alice"),
        creditAccountId: id("bob"),
        amount: 1n,
        kind: "transfer" as const,
      };
      await refusesWithoutChange(
        () => ledger.transfer({ ...t, creditAccountId: id("nobody") }),
        UnknownAccountError,
      );
      await refusesWithoutChange(
        () => ledger.transfer({ ...t, debitAccountId: id("nobody") }),
        UnknownAccountError,
      );
      await refusesWithoutChange(
        () => ledger.transfer({ ...t, creditAccountId: id("usd") }),
        AssetMismatchError,
      );
      await refusesWithoutChange(
        () => ledger.transfer({ ...t, creditAccountId: id("alice") }),
        SameAccountError,
      );
      await refusesWithoutChange(
        () => ledger.transfer({ ...t, kind: "gift" as never }),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(
        () => ledger.transfer({ ...t, id: "escrow-release:x" }),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(
        () => ledger.transfer({ ...t, metadata: [] as never }),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(
        () => ledger.transfer({ ...t, metadata: { big: "x".repeat(5000) } }),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(
        () => ledger.transfer({ ...t, fee: { code: "std" } }),
        InvalidLedgerInputError,
      );
      await rejects(ledger.getTransfer(id("t")), UnknownTransferError);
    });

    it("never lets a customer balance go negative", async () => {
      await refusesWithoutChange(
        () =>
          ledger.transfer({
            id: id("t"),
            debitAccountId: id("bob"),
            creditAccountId: id("alice"),
            amount: 1n,
            kind: "transfer",
          }),
        InsufficientFundsError,
      );
      await ledger.transfer({
        id: id("all"),
        debitAccountId: id("alice"),
        creditAccountId: id("bob"),
        amount: 10_000n,
        kind: "transfer",
      });
      expect((await ledger.getBalance(id("alice"))).posted).to.equal(0n);
      const e = await refusesWithoutChange(
        () =>
          ledger.transfer({
            id: id("t2"),
            debitAccountId: id("alice"),
            creditAccountId: id("bob"),
            amount: 1n,
            kind: "transfer",
          }),
        InsufficientFundsError,
      );
      expect(e).to.include({ available: 0n, requested: 1n });
    });

    it("enforces each segregation rule with its own error", async () => {
      const t =
        (debit: string, credit: string, kind: string, extra = {}) =>
        () =>
          ledger.transfer({
            id: id(`s-${debit}-${credit}-${kind}`),
            debitAccountId: id(debit),
            creditAccountId: id(credit),
            amount: 100n,
            kind: kind as never,
            ...extra,
          });
      // Customer money leaves only to a customer, escrow, settlement (withdrawal) or fees (fee).
      await refusesWithoutChange(t("alice", "bank", "withdrawal"), CustomerFundsOutflowError);
      await refusesWithoutChange(t("alice", "own", "transfer"), CustomerFundsOutflowError);
      await refusesWithoutChange(t("alice", "fees", "transfer"), CustomerFundsOutflowError);
      await refusesWithoutChange(t("alice", "settle", "transfer"), CustomerFundsOutflowError);
      // Platform money reaches customers only as an adjustment.
      await ledger.transfer({
        id: id("own-in"),
        debitAccountId: id("bank"),
        creditAccountId: id("own"),
        amount: 1000n,
        kind: "deposit",
      });
      await refusesWithoutChange(t("own", "bob", "transfer"), FundsMixingError);
      await ledger.transfer({
        id: id("comp"),
        debitAccountId: id("own"),
        creditAccountId: id("bob"),
        amount: 10n,
        kind: "adjustment",
      });
      // Fees only within the schedule (std: 100 + 0.5% of base, at most 10 000).
      await refusesWithoutChange(t("alice", "fees", "fee"), FeeScheduleViolationError);
      await refusesWithoutChange(
        t("alice", "fees", "fee", { fee: { code: "nope" } }),
        FeeScheduleViolationError,
      );
      await refusesWithoutChange(
        t("alice", "fees", "fee", { fee: { code: "flat" } }),
        FeeScheduleViolationError,
      );
      await refusesWithoutChange(
        () =>
          ledger.transfer({
            id: id("f"),
            debitAccountId: id("alice"),
            creditAccountId: id("fees"),
            amount: 151n,
            kind: "fee",
            fee: { code: "std", base: 10_000n },
          }),
        FeeScheduleViolationError,
      );
      const fee = await ledger.transfer({
        id: id("f"),
        debitAccountId: id("alice"),
        creditAccountId: id("fees"),
        amount: 150n,
        kind: "fee",
        fee: { code: "std", base: 10_000n },
      });
      expect(fee.fee).to.deep.equal({ code: "std", base: 10_000n });
      // Kinds must fit the account types.
      await refusesWithoutChange(t("bank", "settle", "deposit"), TransferKindNotAllowedError);
      await refusesWithoutChange(t("own", "settle", "deposit"), TransferKindNotAllowedError);
      await refusesWithoutChange(t("alice", "bob", "deposit"), CustomerFundsOutflowError);
      // Escrow moves only through escrow holds and chain decisions.
      await refusesWithoutChange(t("alice", "esc", "escrow_hold"), EscrowMovementNotAllowedError);
      await refusesWithoutChange(t("alice", "esc", "transfer"), EscrowMovementNotAllowedError);
      await refusesWithoutChange(t("esc", "bob", "escrow_release"), EscrowMovementNotAllowedError);
      await refusesWithoutChange(t("esc", "bob", "adjustment"), EscrowMovementNotAllowedError);
      const e = await rejects(t("alice", "own", "adjustment")(), SegregationViolationError);
      expect(e.constructor.name).to.equal("CustomerFundsOutflowError");
      // The refused transfer is named, with its position in the batch (a batch is refused whole).
      expect(e).to.include({ transferId: id("s-alice-own-adjustment"), batchIndex: 0 });
      const batch = await refusesWithoutChange(
        () =>
          ledger.transferBatch([
            {
              id: id("b-ok"),
              debitAccountId: id("bank"),
              creditAccountId: id("bob"),
              amount: 5n,
              kind: "deposit",
            },
            {
              id: id("b-grab"),
              debitAccountId: id("alice"),
              creditAccountId: id("own"),
              amount: 5n,
              kind: "transfer",
            },
          ]),
        CustomerFundsOutflowError,
      );
      expect(batch).to.include({ transferId: id("b-grab"), batchIndex: 1 });
      // Allowed flows.
      await ledger.transfer({
        id: id("w"),
        debitAccountId: id("alice"),
        creditAccountId: id("settle"),
        amount: 100n,
        kind: "withdrawal",
      });
      await ledger.transfer({
        id: id("paid"),
        debitAccountId: id("settle"),
        creditAccountId: id("bank"),
        amount: 100n,
        kind: "transfer",
      });
      expect((await ledger.checkInvariants()).ok).to.equal(true);
    });

    it("applies a batch atomically, in order, with contiguous sequences", async () => {
      const n = await ledger.eventCount();
      const ok = await ledger.transferBatch([
        {
          id: id("b1"),
          debitAccountId: id("alice"),
          creditAccountId: id("bob"),
          amount: 100n,
          kind: "transfer",
        },
        {
          id: id("b2"),
          debitAccountId: id("bob"),
          creditAccountId: id("carol"),
          amount: 100n,
          kind: "transfer",
        },
        {
          id: id("b1"),
          debitAccountId: id("alice"),
          creditAccountId: id("bob"),
          amount: 100n,
          kind: "transfer",
        },
      ]);
      expect(ok.map((t) => t.sequence)).to.deep.equal([n, n + 1, n]);
      expect(await ledger.eventCount()).to.equal(n + 2);
      // The last item fails: none of the batch is applied.
      await refusesWithoutChange(
        () =>
          ledger.transferBatch([
            {
              id: id("b3"),
              debitAccountId: id("alice"),
              creditAccountId: id("bob"),
              amount: 100n,
              kind: "transfer",
            },
            {
              id: id("b4"),
              debitAccountId: id("bob"),
              creditAccountId: id("alice"),
              amount: 1_000_000n,
              kind: "transfer",
            },
          ]),
        InsufficientFundsError,
      );
      await rejects(ledger.getTransfer(id("b3")), UnknownTransferError);
      await refusesWithoutChange(
        () =>
          ledger.transferBatch([
            {
              id: id("b5"),
              debitAccountId: id("alice"),
              creditAccountId: id("bob"),
              amount: 1n,
              kind: "transfer",
            },
            {
              id: id("b5"),
              debitAccountId: id("alice"),
              creditAccountId: id("bob"),
              amount: 2n,
              kind: "transfer",
            },
          ]),
        IdempotencyConflictError,
      );
      await refusesWithoutChange(
        () =>
          ledger.transferBatch([
            {
              id: id("b6"),
              debitAccountId: id("alice"),
              creditAccountId: id("bob"),
              amount: 1n,
              kind: "transfer",
            },
            { id: id("b7") } as never,
          ]),
        InvalidLedgerInputError,
      );
      expect(await ledger.transferBatch([])).to.deep.equal([]);
    });

    it("replays a large batch idempotently, even where applying it again would now fail", async () => {
      // 40 transfers: large enough for the stores' batch paths. Alice holds 10 000 and sends it all.
      const batch = Array.from({ length: 40 }, (_, i) => ({
        id: id(`big${i}`),
        debitAccountId: id("alice"),
        creditAccountId: id("bob"),
        amount: 250n,
        kind: "transfer" as const,
      }));
      const first = await ledger.transferBatch(batch);
      expect((await ledger.getBalance(id("alice"))).posted).to.equal(0n);
      const n = await ledger.eventCount();
      // Alice has nothing left: only the stored transfers can answer this replay.
      expect(await ledger.transferBatch(batch)).to.deep.equal(first);
      expect(await ledger.eventCount()).to.equal(n);
      // Bob can pay again: only the stored ids (a primary key, on SQLite) stop a second application.
      const small = batch.slice(0, 20).map((t, i) => ({
        ...t,
        id: id(`small${i}`),
        debitAccountId: id("bob"),
        creditAccountId: id("carol"),
        amount: 1n,
      }));
      const paid = await ledger.transferBatch(small);
      const k = await ledger.eventCount();
      expect(await ledger.transferBatch(small)).to.deep.equal(paid);
      expect(await ledger.eventCount()).to.equal(k);
      expect((await ledger.getBalance(id("carol"))).posted).to.equal(20n);
      // A replay with one new transfer appended applies just that one.
      await ledger.transfer({
        id: id("refill"),
        debitAccountId: id("bank"),
        creditAccountId: id("alice"),
        amount: 5n,
        kind: "deposit",
      });
      const m = await ledger.eventCount();
      const more = await ledger.transferBatch([...batch, { ...batch[0], id: id("big-new"), amount: 5n }]);
      expect(more.slice(0, 40)).to.deep.equal(first);
      expect(more[40].sequence).to.equal(m);
      expect(await ledger.eventCount()).to.equal(m + 1);
      // One stored id with another body: the whole batch is refused.
      const fresh = Array.from({ length: 30 }, (_, i) => ({
        ...batch[i],
        id: id(`other${i}`),
        amount: 1n,
        debitAccountId: id("bob"),
        creditAccountId: id("carol"),
      }));
      await refusesWithoutChange(
        () => ledger.transferBatch([...fresh, { ...batch[7], amount: 1n }]),
        IdempotencyConflictError,
      );
      await rejects(ledger.getTransfer(id("other0")), UnknownTransferError);
      expect((await ledger.getBalance(id("bob"))).posted).to.equal(10_005n - 20n);
    });
  });

  describe("holds", () => {
    beforeEach(world);

    it("reserves funds, then posts or voids (API), exactly once", async () => {
      const h = await ledger.createHold({
        id: id("h1"),
        debitAccountId: id("alice"),
        creditAccountId: id("settle"),
        amount: 4000n,
        kind: "withdrawal",
      });
      expect(h.status).to.equal("pending");
      expect(await ledger.getBalance(id("alice"))).to.include({
        posted: 10_000n,
        pending: 4000n,
        available: 6000n,
      });
      await refusesWithoutChange(
        () =>
          ledger.transfer({
            id: id("t"),
            debitAccountId: id("alice"),
            creditAccountId: id("bob"),
            amount: 6001n,
            kind: "transfer",
          }),
        InsufficientFundsError,
      );
      const posted = await ledger.postHold(id("h1"), { source: "api" });
      expect(posted).to.include({ status: "posted", resolvedSequence: h.sequence + 1 });
      expect(await ledger.getBalance(id("alice"))).to.include({
        posted: 6000n,
        pending: 0n,
        available: 6000n,
      });
      expect((await ledger.getBalance(id("settle"))).posted).to.equal(4000n);
      await refusesWithoutChange(() => ledger.postHold(id("h1"), { source: "api" }), HoldNotPendingError);
      await refusesWithoutChange(() => ledger.voidHold(id("h1"), { source: "api" }), HoldNotPendingError);

      await ledger.createHold({
        id: id("h2"),
        debitAccountId: id("alice"),
        creditAccountId: id("bob"),
        amount: 1000n,
        kind: "transfer",
      });
      const voided = await ledger.voidHold(id("h2"), { source: "api" });
      expect(voided.status).to.equal("voided");
      expect((await ledger.getBalance(id("alice"))).available).to.equal(6000n);
      expect((await ledger.getBalance(id("bob"))).posted).to.equal(0n);
      const evs = await ledger.getEventsForSubject("hold", id("h2"));
      expect(evs.map((e) => e.entry.eventType)).to.deep.equal(["HOLD_CREATED", "HOLD_VOIDED"]);
      expect(evs[1].entry.metadataHash).to.equal(sha('{"source":"api"}'));
      await rejects(ledger.getHold(id("none")), UnknownHoldError);
      await rejects(ledger.postHold(id("none"), { source: "api" }), UnknownHoldError);
      expect((await ledger.checkInvariants()).ok).to.equal(true);
    });

    it("checks the same rules as transfers when a hold is created", async () => {
      const h = {
        id: id("h"),
        debitAccountId: id("alice"),
        creditAccountId: id("settle"),
        amount: 1n,
        kind: "withdrawal" as const,
      };
      await refusesWithoutChange(() => ledger.createHold({ ...h, amount: 10_001n }), InsufficientFundsError);
      await refusesWithoutChange(
        () => ledger.createHold({ ...h, creditAccountId: id("bank") }),
        CustomerFundsOutflowError,
      );
      await refusesWithoutChange(() => ledger.createHold({ ...h, amount: 0n }), InvalidAmountError);
      await refusesWithoutChange(() => ledger.createHold({ ...h, timeoutMs: -1 }), InvalidLedgerInputError);
      await refusesWithoutChange(
        () => ledger.createHold({ ...h, payeeAccountId: id("bob") }),
        InvalidLedgerInputError,
      );
      await ledger.createHold(h);
      await refusesWithoutChange(() => ledger.createHold({ ...h, amount: 2n }), IdempotencyConflictError);
      const n = await ledger.eventCount();
      expect((await ledger.createHold(h)).id).to.equal(h.id);
      expect(await ledger.eventCount()).to.equal(n);
    });

    it("voids holds after their timeout", async () => {
      let now = 1_000_000;
      const { ledger: l, close: c } = await openTestLedger(backend, { clock: () => now });
      try {
        await l.createHold({
          id: id("ht"),
          debitAccountId: id("alice"),
          creditAccountId: id("settle"),
          amount: 500n,
          kind: "withdrawal",
          timeoutMs: 60_000,
        });
        const h = await l.getHold(id("ht"));
        expect(h.expiresAt).to.equal(1_060_000);
        await refusesWithoutChange(() => l.voidHold(id("ht"), { source: "timeout" }), HoldNotExpiredError);
        expect(await l.expireHolds(1_059_999)).to.equal(0);
        now = 1_060_000;
        expect(await l.expireHolds()).to.be.at.least(1);
        const v = await l.getHold(id("ht"));
        expect(v.status).to.equal("voided");
        expect(v.resolution).to.deep.equal({ source: "timeout" });
        expect((await l.getBalance(id("alice"))).available).to.equal(10_000n);
      } finally {
        await c();
      }
    });
  });

  describe("escrow holds", () => {
    beforeEach(world);
    const escrowHold = (extra = {}) => ({
      id: id("e1"),
      debitAccountId: id("alice"),
      creditAccountId: id("esc"),
      amount: 3000n,
      kind: "escrow_hold" as const,
      payeeAccountId: id("bob"),
      ...extra,
    });

    it("on-chain release: posts the hold and pays the payee, exactly once per chain event", async () => {
      const h = await ledger.createHold(escrowHold({ metadata: { order: 7 } }));
      expect(h.escrowId).to.equal(hmac(`hold:${id("e1")}`));
      expect(await ledger.getHoldByEscrowId(h.escrowId!)).to.deep.equal(h);
      expect((await ledger.listOpenEscrowHolds()).map((x) => x.id)).to.include(h.id);
      const [created] = await ledger.getEventsForSubject("hold", h.id);
      expect(created.entry).to.deep.include({
        eventType: "HOLD_CREATED",
        entryId: h.pseudonym,
        reference: h.escrowId,
        code: 5,
        metadataHash: sha(`{"metadata":{"order":7},"payee":"${hmac(`account:${id("bob")}`)}"}`),
      });
      await refusesWithoutChange(
        () => ledger.postHold(h.id, { source: "api" }),
        EscrowHoldRequiresChainDecisionError,
      );
      await refusesWithoutChange(
        () => ledger.voidHold(h.id, { source: "api" }),
        EscrowHoldRequiresChainDecisionError,
      );
      await refusesWithoutChange(
        () => ledger.voidHold(h.id, { source: "timeout" }),
        EscrowHoldRequiresChainDecisionError,
      );

      const n = await ledger.eventCount();
      const chainEventId = `${txHash(1)}:4`;
      const posted = await ledger.postHold(h.id, { source: "chain", chainEventId });
      expect(posted).to.include({
        status: "posted",
        resolvedSequence: n,
        releaseTransferId: `escrow-release:${h.id}`,
      });
      expect(await ledger.eventCount()).to.equal(n + 2);
      expect((await ledger.getBalance(id("alice"))).posted).to.equal(7000n);
      expect((await ledger.getBalance(id("esc"))).posted).to.equal(0n);
      expect((await ledger.getBalance(id("bob"))).posted).to.equal(3000n);
      const release = await ledger.getTransfer(`escrow-release:${h.id}`);
      expect(release).to.include({
        kind: "escrow_release",
        debitAccountId: id("esc"),
        creditAccountId: id("bob"),
        holdId: h.id,
        sequence: n + 1,
      });
      const [, postedEv] = await ledger.getEventsForSubject("hold", h.id);
      expect(postedEv.entry).to.deep.include({
        eventType: "HOLD_POSTED",
        reference: txHash(1),
        metadataHash: sha(`{"chainEventId":"${chainEventId}","source":"chain"}`),
      });

      // Replays append nothing and return the same hold.
      expect(
        await ledger.postHold(h.id, {
          source: "chain",
          chainEventId: chainEventId.toUpperCase().replace("0X", "0x"),
        }),
      ).to.deep.equal(posted);
      expect(await ledger.eventCount()).to.equal(n + 2);
      await refusesWithoutChange(
        () => ledger.voidHold(h.id, { source: "chain", chainEventId }),
        ChainEventConflictError,
      );
      await refusesWithoutChange(
        () => ledger.postHold(h.id, { source: "chain", chainEventId: `${txHash(2)}:0` }),
        HoldNotPendingError,
      );
      expect((await ledger.listOpenEscrowHolds()).map((x) => x.id)).not.to.include(h.id);
      expect((await ledger.checkInvariants()).ok).to.equal(true);
    });

    it("on-chain refund: voids the hold, the payer's funds are available again", async () => {
      const escrowId = `0x${"ee".repeat(31)}${p.length.toString(16).padStart(2, "0")}` as Hex;
      const unique = `0x${createHash("sha256").update(p).digest("hex")}` as Hex;
      const h = await ledger.createHold(escrowHold({ escrowId: unique }));
      expect(h.escrowId).to.equal(unique);
      expect((await ledger.getBalance(id("alice"))).available).to.equal(7000n);
      const v = await ledger.voidHold(h.id, { source: "chain", chainEventId: `${txHash(9)}:0` });
      expect(v.status).to.equal("voided");
      expect(await ledger.getBalance(id("alice"))).to.include({ posted: 10_000n, available: 10_000n });
      expect((await ledger.getBalance(id("bob"))).posted).to.equal(0n);
      // The chain event id is bound to this hold now.
      await ledger.createHold(escrowHold({ id: id("e2") }));
      await refusesWithoutChange(
        () => ledger.voidHold(id("e2"), { source: "chain", chainEventId: `${txHash(9)}:0` }),
        ChainEventConflictError,
      );
      // An escrow id binds one hold.
      await refusesWithoutChange(
        () => ledger.createHold(escrowHold({ id: id("e3"), escrowId: unique })),
        EscrowIdConflictError,
      );
      void escrowId;
    });

    it("validates escrow holds", async () => {
      await refusesWithoutChange(
        () => ledger.createHold(escrowHold({ payeeAccountId: undefined })),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(
        () => ledger.createHold(escrowHold({ timeoutMs: 1000 })),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(
        () => ledger.createHold(escrowHold({ escrowId: "0x1234" })),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(
        () => ledger.createHold(escrowHold({ payeeAccountId: id("usd") })),
        AssetMismatchError,
      );
      await refusesWithoutChange(
        () => ledger.createHold(escrowHold({ payeeAccountId: id("own") })),
        FundsMixingError,
      );
      await refusesWithoutChange(
        () => ledger.createHold(escrowHold({ creditAccountId: id("bob") })),
        CustomerFundsOutflowError,
      );
      await refusesWithoutChange(
        () => ledger.createHold({ ...escrowHold({ debitAccountId: id("bank") }), payeeAccountId: id("bob") }),
        TransferKindNotAllowedError,
      );
      await refusesWithoutChange(
        () => ledger.createHold(escrowHold({ amount: 10_001n })),
        InsufficientFundsError,
      );
      await refusesWithoutChange(
        () => ledger.createHold(escrowHold({ kind: "escrow_release", payeeAccountId: undefined })),
        EscrowMovementNotAllowedError,
      );
      await ledger.createHold({
        id: id("plain"),
        debitAccountId: id("alice"),
        creditAccountId: id("bob"),
        amount: 1n,
        kind: "transfer",
      });
      await refusesWithoutChange(
        () => ledger.postHold(id("plain"), { source: "chain", chainEventId: `${txHash(3)}:1` }),
        NotAnEscrowHoldError,
      );
      await refusesWithoutChange(
        () => ledger.postHold(id("plain"), { source: "chain", chainEventId: "0x12:1" }),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(
        () => ledger.postHold(id("plain"), { source: "magic" } as never),
        InvalidLedgerInputError,
      );
    });
  });

  describe("facts", () => {
    beforeEach(world);

    it("records a fact once as a FACT_RECORDED leaf committing to its document hash", async () => {
      const n = await ledger.eventCount();
      const doc = sha("statement 2026-12-01");
      const f = await ledger.recordFact({
        id: id("stmt-1"),
        kind: "BANK_STATEMENT",
        documentHash: doc.toUpperCase().replace("0X", "0x") as Hex,
        subject: id("bank"),
        asset: "EUR",
        amount: 123_456n,
      });
      expect(f).to.deep.include({
        id: id("stmt-1"),
        kind: "BANK_STATEMENT",
        documentHash: doc,
        subject: id("bank"),
        asset: "EUR",
        amount: 123_456n,
        sequence: n,
      });
      expect(await ledger.getFact(id("stmt-1"))).to.deep.equal(f);
      const [e] = await ledger.getEventsForSubject("fact", id("stmt-1"));
      expect(e.sequence).to.equal(n);
      expect(e.entry).to.deep.include({
        eventType: "FACT_RECORDED",
        entryId: hmac(`fact:${id("stmt-1")}`),
        debitAccount: hmac(`account:${id("bank")}`),
        creditAccount: ZERO32,
        asset: "EUR",
        amount: 123_456n,
        code: 1,
        reference: ZERO32,
        metadataHash: doc,
      });
      expect(Buffer.from(e.leafHash).equals(Buffer.from(leafHashOf(e.entry)))).to.equal(true);
      // Same terms: the stored fact, no new event. Other terms: refused, nothing written.
      expect(
        await ledger.recordFact({
          id: id("stmt-1"),
          kind: "BANK_STATEMENT",
          documentHash: doc,
          subject: id("bank"),
          asset: "EUR",
          amount: 123_456n,
        }),
      ).to.deep.equal(f);
      expect(await ledger.eventCount()).to.equal(n + 1);
      await refusesWithoutChange(
        () =>
          ledger.recordFact({
            id: id("stmt-1"),
            kind: "BANK_STATEMENT",
            documentHash: sha("other"),
            subject: id("bank"),
            asset: "EUR",
            amount: 123_456n,
          }),
        IdempotencyConflictError,
      );
      await refusesWithoutChange(
        () =>
          ledger.recordFact({
            id: id("stmt-1"),
            kind: "BANK_STATEMENT",
            documentHash: doc,
            subject: id("bank"),
            asset: "EUR",
          }),
        IdempotencyConflictError,
      );
    });

    it("records facts without subject, asset or amount (zero words), and lists them by kind in log order", async () => {
      const a = await ledger.recordFact({
        id: id("rules-1"),
        kind: "RULES_CHANGED",
        documentHash: sha("r1"),
      });
      const b = await ledger.recordFact({
        id: id("alert-1"),
        kind: "ALERT_RAISED",
        documentHash: sha("a1"),
        subject: id("alice"),
      });
      const c = await ledger.recordFact({
        id: id("rules-2"),
        kind: "RULES_CHANGED",
        documentHash: sha("r2"),
      });
      expect(a).to.not.have.property("asset");
      expect(a).to.not.have.property("subject");
      const [e] = await ledger.getEventsForSubject("fact", id("rules-1"));
      expect(e.entry).to.deep.include({ asset: "", amount: 0n, debitAccount: ZERO32, code: 45 });
      const rules = await ledger.listFacts({ kind: "RULES_CHANGED", afterSequence: a.sequence - 1 });
      expect(rules.map((f) => f.id)).to.deep.equal([id("rules-1"), id("rules-2")]);
      const after = await ledger.listFacts({ afterSequence: a.sequence, limit: 1 });
      expect(after.map((f) => f.id)).to.deep.equal([b.id]);
      expect(c.sequence).to.equal(b.sequence + 1);
    });

    it("refuses bad facts with named errors and changes nothing", async () => {
      const good = { id: id("f"), kind: "ALERT_RAISED" as const, documentHash: sha("x") };
      await refusesWithoutChange(
        () => ledger.recordFact({ ...good, kind: "NOPE" as never }),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(
        () => ledger.recordFact({ ...good, documentHash: "0x1234" }),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(() => ledger.recordFact({ ...good, id: "bad id" }), InvalidLedgerInputError);
      await refusesWithoutChange(() => ledger.recordFact({ ...good, amount: -1n }), InvalidLedgerInputError);
      await refusesWithoutChange(
        () => ledger.recordFact({ ...good, amount: 1n << 128n }),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(() => ledger.recordFact({ ...good, asset: "" }), InvalidLedgerInputError);
      await refusesWithoutChange(
        () => ledger.recordFact({ ...good, extra: 1 } as never),
        InvalidLedgerInputError,
      );
      await refusesWithoutChange(
        () => ledger.recordFact({ ...good, subject: id("nobody") }),
        UnknownAccountError,
      );
      await rejects(ledger.getFact(id("f")), UnknownFactError);
    });
  });

  describe("event log and invariants", () => {
    beforeEach(world);

    it("numbers events 0..n-1 with valid leaves, and serves leaf hashes in order", async () => {
      const n = await ledger.eventCount();
      const events = await ledger.getEvents(0, Math.min(n, 10_000));
      events.forEach((e, i) => {
        expect(e.sequence).to.equal(i);
        expect(e.entry.sequence).to.equal(i);
        expect(e.createdAt).to.equal(e.entry.timestamp);
        expect(Buffer.from(e.leafHash).equals(Buffer.from(leafHashOf(e.entry)))).to.equal(true);
      });
      const hashes = await ledger.leafHashes(0, events.length);
      expect(hashes.map((h) => Buffer.from(h).toString("hex"))).to.deep.equal(
        events.map((e) => Buffer.from(e.leafHash).toString("hex")),
      );
      expect(new Set(events.map((e) => e.entry.salt)).size).to.equal(events.length);
      expect(await ledger.getEvents(n, 10)).to.deep.equal([]);
      await rejects(ledger.getEvents(-1, 10), InvalidLedgerInputError);
    });

    it("keeps the log append-only at the storage level", async () => {
      let failed = 0;
      for (const sql of [
        "UPDATE ledger_events SET created_at = 0",
        "DELETE FROM ledger_events",
        "DELETE FROM ledger_transfers",
      ]) {
        try {
          await rawExec(db, sql);
        } catch {
          failed++;
        }
      }
      expect(failed).to.equal(3);
    });

    it("reports invariants and segregation per asset", async () => {
      await ledger.transfer({
        id: id("w"),
        debitAccountId: id("alice"),
        creditAccountId: id("settle"),
        amount: 1000n,
        kind: "withdrawal",
      });
      await ledger.createHold({
        id: id("e"),
        debitAccountId: id("alice"),
        creditAccountId: id("esc"),
        amount: 500n,
        kind: "escrow_hold",
        payeeAccountId: id("bob"),
      });
      await ledger.postHold(id("e"), { source: "chain", chainEventId: `${txHash(77)}:${p.length}` });
      const r = await ledger.checkInvariants();
      expect(r.violations).to.deep.equal([]);
      expect(r.ok).to.equal(true);
      expect(r.events).to.equal(await ledger.eventCount());
      const eur = r.perAsset.find((a) => a.asset === "EUR")!;
      expect(eur.debitsPosted).to.equal(eur.creditsPosted);
      const [seg] = (await ledger.segregationReport()).filter((s) => s.asset === "EUR");
      expect(seg.covered).to.equal(true);
      expect(
        seg.bankMirrorBalance - seg.customerLiabilities - seg.escrowLiabilities - seg.settlementInTransit,
      ).to.equal(seg.surplus);
    });

    it("detects a tampered balance", async function () {
      if (backend.name === "postgres") {
        await rawExec(
          db,
          `UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = '${id("bob")}'`,
        );
      } else {
        await rawExec(
          db,
          `UPDATE ledger_balances SET credits_posted = '1' WHERE account_key = ${balanceKey(id("bob"))}`,
        );
      }
      const r = await ledger.checkInvariants();
      expect(r.ok).to.equal(false);
      expect(r.violations.map((v) => v.invariant)).to.include.members([
        "balance_matches_history",
        "debits_equal_credits",
      ]);
      // Restore, so later tests on this database see a consistent ledger.
      if (backend.name === "postgres")
        await rawExec(
          db,
          `UPDATE ledger_accounts SET credits_posted = credits_posted - 1 WHERE id = '${id("bob")}'`,
        );
      else
        await rawExec(
          db,
          `UPDATE ledger_balances SET credits_posted = 0 WHERE account_key = ${balanceKey(id("bob"))}`,
        );
      expect((await ledger.checkInvariants()).ok).to.equal(true);
    });
  });

  it("canonical JSON sorts keys recursively", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: "x" } })).to.equal(
      '{"a":{"c":"x","d":[3,{"e":2,"f":1}]},"b":1}',
    );
  });
}
