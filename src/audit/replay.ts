import type { Hex } from "viem";
import { FeeScheduleViolationError, SegregationViolationError } from "../ledger/errors";
import { segregationReport } from "../ledger/invariants";
import { type FactKind, ZERO32, factKindOf, type LeafEntry } from "../protocol/leaf-v1";
import {
  type AccountState,
  type MovementContext,
  balanceOf,
  checkSegregation,
  isBounded,
} from "../ledger/rules";
import type { AccountRow } from "../ledger/store";
import {
  ACCOUNT_STATUSES,
  ACCOUNT_TYPES,
  TRANSFER_KINDS,
  type AccountStatus,
  type AccountType,
  type SegregationReport,
  type TransferKind,
} from "../ledger/types";
import type { FindingList } from "./findings";

/**
 * Replays the ledger from its leaf entries alone (never from the platform's stored balances) and
 * rechecks, event by event, the rules the ledger claims to enforce: accounts exist and are open,
 * both sides hold the event's asset, the fund-segregation rules of src/ledger/rules.ts, no bounded
 * account (customer, escrow, platform, fee) below zero, holds created once and resolved once with
 * the terms they were created with, an escrow release right after the posting of its escrow hold.
 * At the end: debits equal credits per asset, the bank mirror covers customer money.
 *
 * Pure: feed it entries in log order with `apply`, then read `finish()`.
 */
export interface ReplayedAccount extends AccountState {
  pseudonym: Hex;
  openedAt: number;
  /** Leaf time of ACCOUNT_OPENED and the hash of the terms it commits to (scale, limits, metadata). */
  openedTimestamp: number;
  termsHash: Hex;
  /** Event that set the current status (the opening event while never changed). */
  statusIndex: number;
  /** Last event that moved this account's balances (the opening event if none). */
  balanceIndex: number;
}

export interface ReplayedHold {
  pseudonym: Hex;
  index: number;
  debit: Hex;
  credit: Hex;
  asset: string;
  amount: bigint;
  kind: TransferKind;
  status: "pending" | "posted" | "voided";
  escrowId?: Hex;
  resolvedIndex?: number;
  /** Chain transaction named by the HOLD_POSTED / HOLD_VOIDED leaf. */
  decisionTx?: Hex;
  /** Escrow holds released: the payee credited by the escrow_release transfer. */
  payee?: Hex;
  /** Leaf time of HOLD_CREATED and the hash of the terms it commits to (expiry, fee, metadata, payee). */
  createdAt: number;
  termsHash: Hex;
  /** Leaf time of HOLD_POSTED / HOLD_VOIDED and the hash of the decision it commits to. */
  resolvedAt?: number;
  resolutionHash?: Hex;
  /** Escrow holds released: the event of the escrow_release transfer. */
  releaseIndex?: number;
}

/** A FACT_RECORDED leaf: the owning module's audit re-hashes its stored document against it. */
export interface ReplayedFact {
  index: number;
  kind: FactKind;
  /** Pseudonym of the fact id. */
  pseudonym: Hex;
  documentHash: Hex;
  /** Pseudonym of the account the fact is about, if any. */
  subject?: Hex;
  asset: string;
  amount: bigint;
  timestamp: number;
}

export interface AssetTotalsJson {
  asset: string;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

export interface ReplayResult {
  events: number;
  accounts: number;
  transfers: number;
  holds: number;
  openHolds: number;
  totals: AssetTotalsJson[];
  segregation: SegregationReport[];
  escrowHolds: ReplayedHold[];
  accountsByPseudonym: ReadonlyMap<Hex, ReplayedAccount>;
  /** Every FACT_RECORDED event in log order. */
  facts: ReplayedFact[];
  /** Every hold by the index of its HOLD_CREATED event. */
  holdsByIndex: ReadonlyMap<number, ReplayedHold>;
  /** The log indices of TRANSFER_POSTED events. */
  transferEvents: IndexSet;
}

/** A set of log indices, one bit each (10^6 events: 125 KB). */
export class IndexSet {
  #bits = new Uint8Array(1024);
  #size = 0;
  get size(): number {
    return this.#size;
  }
  add(i: number): boolean {
    const byte = i >>> 3;
    if (byte >= this.#bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    const mask = 1 << (i & 7);
    if (this.#bits[byte]! & mask) return false;
    this.#bits[byte]! |= mask;
    this.#size++;
    return true;
  }
  has(i: number): boolean {
    const byte = i >>> 3;
    return byte < this.#bits.length && (this.#bits[byte]! & (1 << (i & 7))) !== 0;
  }
  /** Indices in this set and not in `other`, in increasing order. */
  *minus(other: IndexSet): Generator<number> {
    for (let byte = 0; byte < this.#bits.length; byte++) {
      const b = this.#bits[byte]!;
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        const i = byte * 8 + bit;
        if (b & (1 << bit) && !other.has(i)) yield i;
      }
    }
  }
}

const TYPE_BY_CODE = new Map<number, AccountType>(
  Object.entries(ACCOUNT_TYPES).map(([k, v]) => [v, k as AccountType]),
);
const STATUS_BY_CODE = new Map<number, AccountStatus>(
  Object.entries(ACCOUNT_STATUSES).map(([k, v]) => [v, k as AccountStatus]),
);
const KIND_BY_CODE = new Map<number, TransferKind>(
  Object.entries(TRANSFER_KINDS).map(([k, v]) => [v, k as TransferKind]),
);

export class LedgerReplay {
  readonly #accounts = new Map<Hex, ReplayedAccount>();
  readonly #holds = new Map<Hex, ReplayedHold>();
  readonly #escrowIds = new Map<Hex, ReplayedHold>();
  readonly #facts: ReplayedFact[] = [];
  readonly #factIds = new Set<Hex>();
  readonly #transferEvents = new IndexSet();
  #awaitingRelease: ReplayedHold | undefined;
  #events = 0;
  #transfers = 0;

  constructor(private readonly findings: FindingList) {}

  #account(index: number, pseudonym: Hex, side: string): ReplayedAccount | undefined {
    const a = this.#accounts.get(pseudonym);
    if (!a)
      this.findings.add({
        check: "unknown_account",
        message: `event ${index} names a ${side} account that was never opened`,
        index,
        account: pseudonym,
      });
    return a;
  }

  #kind(index: number, code: number): TransferKind | undefined {
    const k = KIND_BY_CODE.get(code);
    if (!k)
      this.findings.add({
        check: "leaf_encoding",
        message: `event ${index} has unknown kind code ${code}`,
        index,
      });
    return k;
  }

  /** Both accounts known, open, holding the event's asset, and the movement allowed by segregation. */
  #movement(
    index: number,
    e: LeafEntry,
    kind: TransferKind,
    context: MovementContext,
  ): [ReplayedAccount, ReplayedAccount] | undefined {
    const debit = this.#account(index, e.debitAccount, "debit");
    const credit = this.#account(index, e.creditAccount, "credit");
    if (!debit || !credit) return undefined;
    for (const a of [debit, credit]) {
      if (a.status === "closed")
        this.findings.add({
          check: "account_lifecycle",
          message: `event ${index} moves money on a closed account`,
          index,
          account: a.pseudonym,
        });
      if (a.asset !== e.asset)
        this.findings.add({
          check: "asset_mismatch",
          message: `event ${index} moves ${e.asset} on an account holding ${a.asset}`,
          index,
          asset: e.asset,
          account: a.pseudonym,
        });
    }
    if (debit === credit)
      this.findings.add({
        check: "segregation",
        message: `event ${index} debits and credits one account`,
        index,
      });
    try {
      checkSegregation(kind, debit, credit, e.amount, undefined, undefined, context);
    } catch (err) {
      // Fee amounts are checked against the schedule by the ledger; the leaf does not carry it.
      if (!(err instanceof FeeScheduleViolationError)) {
        if (!(err instanceof SegregationViolationError)) throw err;
        this.findings.add({
          check: "segregation",
          message: `event ${index}: ${err.shortMessage}`,
          index,
          asset: e.asset,
        });
      }
    }
    return [debit, credit];
  }

  #checkBounded(index: number, a: ReplayedAccount): void {
    if (!isBounded(a.type)) return;
    const b = balanceOf(a);
    if (b.posted < 0n || b.available < 0n)
      this.findings.add({
        check: "negative_balance",
        message: `event ${index} takes ${a.type} account below zero (posted ${b.posted}, available ${b.available})`,
        index,
        asset: a.asset,
        account: a.pseudonym,
      });
  }

  apply(index: number, e: LeafEntry): void {
    this.#events++;
    const awaiting = this.#awaitingRelease;
    this.#awaitingRelease = undefined;
    if (awaiting && !(e.eventType === "TRANSFER_POSTED" && e.code === TRANSFER_KINDS.escrow_release))
      this.findings.add({
        check: "hold_lifecycle",
        message: `escrow hold posted at ${awaiting.resolvedIndex} is not followed by its release transfer`,
        index,
        escrowId: awaiting.escrowId,
      });
    switch (e.eventType) {
      case "ACCOUNT_OPENED": {
        const type = TYPE_BY_CODE.get(e.code);
        if (!type) {
          this.findings.add({
            check: "leaf_encoding",
            message: `event ${index} opens an account of unknown type ${e.code}`,
            index,
          });
          return;
        }
        if (this.#accounts.has(e.entryId)) {
          this.findings.add({
            check: "account_lifecycle",
            message: `event ${index} opens an account that is already open`,
            index,
            account: e.entryId,
          });
          return;
        }
        this.#accounts.set(e.entryId, {
          id: e.entryId,
          pseudonym: e.entryId,
          type,
          asset: e.asset,
          status: "active",
          debitsPosted: 0n,
          creditsPosted: 0n,
          debitsPending: 0n,
          creditsPending: 0n,
          openedAt: index,
          openedTimestamp: e.timestamp,
          termsHash: e.metadataHash,
          statusIndex: index,
          balanceIndex: index,
        });
        return;
      }
      case "ACCOUNT_STATUS_CHANGED": {
        const a = this.#account(index, e.entryId, "status-changed");
        const status = STATUS_BY_CODE.get(e.code);
        if (!a) return;
        if (!status) {
          this.findings.add({
            check: "leaf_encoding",
            message: `event ${index} sets unknown status ${e.code}`,
            index,
          });
          return;
        }
        if (a.status === "closed" && status !== "closed")
          this.findings.add({
            check: "account_lifecycle",
            message: `event ${index} reopens a closed account`,
            index,
            account: a.pseudonym,
          });
        if (
          status === "closed" &&
          (a.debitsPosted !== a.creditsPosted || a.debitsPending || a.creditsPending)
        )
          this.findings.add({
            check: "account_lifecycle",
            message: `event ${index} closes an account that is not empty`,
            index,
            account: a.pseudonym,
          });
        a.status = status;
        a.statusIndex = index;
        return;
      }
      case "TRANSFER_POSTED": {
        this.#transfers++;
        this.#transferEvents.add(index);
        const kind = this.#kind(index, e.code);
        if (!kind) return;
        const chain = kind === "escrow_release" || kind === "escrow_refund";
        const m = this.#movement(index, e, kind, chain ? "chain" : "transfer");
        if (kind === "escrow_release") {
          if (!awaiting || awaiting.credit !== e.debitAccount || awaiting.amount !== e.amount)
            this.findings.add({
              check: "hold_lifecycle",
              message: `event ${index} releases escrow money without a matching posted escrow hold`,
              index,
            });
          else {
            awaiting.payee = e.creditAccount;
            awaiting.releaseIndex = index;
          }
        }
        if (!m) return;
        m[0].debitsPosted += e.amount;
        m[1].creditsPosted += e.amount;
        m[0].balanceIndex = m[1].balanceIndex = index;
        this.#checkBounded(index, m[0]);
        return;
      }
      case "HOLD_CREATED": {
        const kind = this.#kind(index, e.code);
        if (!kind) return;
        if (this.#holds.has(e.entryId)) {
          this.findings.add({
            check: "hold_lifecycle",
            message: `event ${index} creates a hold that already exists`,
            index,
          });
          return;
        }
        const m = this.#movement(index, e, kind, "hold");
        const h: ReplayedHold = {
          pseudonym: e.entryId,
          index,
          debit: e.debitAccount,
          credit: e.creditAccount,
          asset: e.asset,
          amount: e.amount,
          kind,
          status: "pending",
          createdAt: e.timestamp,
          termsHash: e.metadataHash,
        };
        if (kind === "escrow_hold") {
          h.escrowId = e.reference;
          if (e.reference === ZERO32 || this.#escrowIds.has(e.reference))
            this.findings.add({
              check: "hold_lifecycle",
              message: `event ${index} creates an escrow hold with a ${e.reference === ZERO32 ? "zero" : "reused"} escrow id`,
              index,
              escrowId: e.reference,
            });
          else this.#escrowIds.set(e.reference, h);
        }
        this.#holds.set(e.entryId, h);
        if (!m) return;
        m[0].debitsPending += e.amount;
        m[1].creditsPending += e.amount;
        m[0].balanceIndex = m[1].balanceIndex = index;
        this.#checkBounded(index, m[0]);
        return;
      }
      case "FACT_RECORDED": {
        const kind = factKindOf(e.code);
        if (!kind) {
          this.findings.add({
            check: "leaf_encoding",
            message: `event ${index} records a fact of unknown kind ${e.code}`,
            index,
          });
          return;
        }
        if (this.#factIds.has(e.entryId)) {
          this.findings.add({
            check: "fact_lifecycle",
            message: `event ${index} records a fact whose id was recorded before`,
            index,
          });
          return;
        }
        if (e.creditAccount !== ZERO32 || e.reference !== ZERO32)
          this.findings.add({
            check: "leaf_encoding",
            message: `event ${index} records a fact with a credit account or reference (both must be zero)`,
            index,
          });
        const subject = e.debitAccount === ZERO32 ? undefined : e.debitAccount;
        if (subject) this.#account(index, subject, "subject");
        this.#factIds.add(e.entryId);
        this.#facts.push({
          index,
          kind,
          pseudonym: e.entryId,
          documentHash: e.metadataHash,
          ...(subject ? { subject } : {}),
          asset: e.asset,
          amount: e.amount,
          timestamp: e.timestamp,
        });
        return;
      }
      case "HOLD_POSTED":
      case "HOLD_VOIDED": {
        const h = this.#holds.get(e.entryId);
        const verb = e.eventType === "HOLD_POSTED" ? "posts" : "voids";
        if (!h || h.status !== "pending") {
          this.findings.add({
            check: "hold_lifecycle",
            message: `event ${index} ${verb} a hold that ${h ? `was already ${h.status} at ${h.resolvedIndex}` : "was never created"}`,
            index,
          });
          return;
        }
        if (
          h.debit !== e.debitAccount ||
          h.credit !== e.creditAccount ||
          h.amount !== e.amount ||
          h.asset !== e.asset ||
          TRANSFER_KINDS[h.kind] !== e.code
        ) {
          this.findings.add({
            check: "hold_lifecycle",
            message: `event ${index} ${verb} the hold created at ${h.index} with different terms`,
            index,
          });
          return;
        }
        h.status = e.eventType === "HOLD_POSTED" ? "posted" : "voided";
        h.resolvedIndex = index;
        h.resolvedAt = e.timestamp;
        h.resolutionHash = e.metadataHash;
        if (e.reference !== ZERO32) h.decisionTx = e.reference;
        if (h.kind === "escrow_hold" && e.reference === ZERO32)
          this.findings.add({
            check: "hold_lifecycle",
            message: `event ${index} ${verb} an escrow hold without naming the chain decision`,
            index,
            escrowId: h.escrowId,
          });
        const debit = this.#accounts.get(h.debit);
        const credit = this.#accounts.get(h.credit);
        if (!debit || !credit) return;
        debit.debitsPending -= h.amount;
        credit.creditsPending -= h.amount;
        debit.balanceIndex = credit.balanceIndex = index;
        if (h.status === "posted") {
          debit.debitsPosted += h.amount;
          credit.creditsPosted += h.amount;
          if (h.kind === "escrow_hold") this.#awaitingRelease = h;
        }
        this.#checkBounded(index, debit);
        return;
      }
    }
  }

  /** Closes the replay: end-of-log checks, totals and the escrow holds to compare with the chain. */
  finish(): ReplayResult {
    if (this.#awaitingRelease)
      this.findings.add({
        check: "hold_lifecycle",
        message: `escrow hold posted at ${this.#awaitingRelease.resolvedIndex} (the last event) has no release transfer`,
        index: this.#events,
        escrowId: this.#awaitingRelease.escrowId,
      });
    // Recomputed here rather than with src/ledger/invariants.ts on purpose: the audit must not trust
    // the code it audits, only the leaves and the chain.
    const totals = new Map<string, AssetTotalsJson>();
    for (const a of this.#accounts.values()) {
      let t = totals.get(a.asset);
      if (!t)
        totals.set(
          a.asset,
          (t = {
            asset: a.asset,
            debitsPosted: 0n,
            creditsPosted: 0n,
            debitsPending: 0n,
            creditsPending: 0n,
          }),
        );
      t.debitsPosted += a.debitsPosted;
      t.creditsPosted += a.creditsPosted;
      t.debitsPending += a.debitsPending;
      t.creditsPending += a.creditsPending;
    }
    const sortedTotals = [...totals.values()].sort((a, b) => (a.asset < b.asset ? -1 : 1));
    for (const t of sortedTotals)
      if (t.debitsPosted !== t.creditsPosted || t.debitsPending !== t.creditsPending)
        this.findings.add({
          check: "double_entry",
          message: `${t.asset}: posted debits ${t.debitsPosted} vs credits ${t.creditsPosted}, pending ${t.debitsPending} vs ${t.creditsPending}`,
          asset: t.asset,
        });
    const segregation = segregationReport(
      this.#accounts.values() as Iterable<unknown> as Iterable<AccountRow>,
    );
    for (const s of segregation)
      if (!s.covered)
        this.findings.add({
          check: "segregation_shortfall",
          message: `${s.asset}: bank mirror ${s.bankMirrorBalance} short of customer + escrow + settlement by ${-s.surplus}`,
          asset: s.asset,
        });
    let openHolds = 0;
    const holdsByIndex = new Map<number, ReplayedHold>();
    for (const h of this.#holds.values()) {
      if (h.status === "pending") openHolds++;
      holdsByIndex.set(h.index, h);
    }
    return {
      events: this.#events,
      accounts: this.#accounts.size,
      transfers: this.#transfers,
      holds: this.#holds.size,
      openHolds,
      totals: sortedTotals,
      segregation,
      escrowHolds: [...this.#escrowIds.values()],
      accountsByPseudonym: this.#accounts,
      facts: this.#facts,
      holdsByIndex,
      transferEvents: this.#transferEvents,
    };
  }
}
