import { EVENT_TYPES, LEAF_V1_BYTES, LEAF_VERSION } from "../protocol/leaf-v1";

/** Word 2 (sequence, uint64) of a 0x00-prefixed leaf, exact up to 2^53 (NaN-free: larger gives an unsafe number). */
function leafSequence(p: Uint8Array): number {
  let v = 0;
  for (let i = 1 + 64 + 24; i < 1 + 96; i++) v = v * 256 + p[i];
  for (let i = 1 + 64; i < 1 + 64 + 24; i++) if (p[i] !== 0) return -1;
  return v;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
import { hash } from "node:crypto";
import { balanceOf, isBounded } from "./rules";
import type { AccountRow, EventScanRow, HoldRow, TransferRow, TransferTotals } from "./store";
import type { AssetTotals, InvariantReport, InvariantViolation, SegregationReport } from "./types";

/**
 * Recomputes the ledger's invariants from a full scan (pure: the store feeds it pages of rows).
 *
 * - `debits_equal_credits`: per asset, total debits = total credits, posted and pending.
 * - `balance_matches_history`: every stored balance equals the sum of its transfers and holds.
 * - `non_negative_balance`: customer, escrow, platform and fee accounts never below zero.
 * - `event_sequence`: events are numbered 0..n−1 and each leaf carries its own sequence.
 * - `leaf_hash`: every stored leaf hash is SHA-256(0x00 ‖ leaf).
 * - `event_counts`: one ACCOUNT_OPENED per account, one TRANSFER_POSTED per transfer, one
 *   HOLD_CREATED per hold, one HOLD_POSTED/HOLD_VOIDED per resolved hold.
 * - `segregation_shortfall`: the bank mirror covers customer + escrow + settlement balances.
 */
export class InvariantChecker {
  readonly #accounts: AccountRow[] = [];
  readonly #expected = new Map<string, { dp: bigint; cp: bigint; dq: bigint; cq: bigint }>();
  readonly #violations: InvariantViolation[] = [];
  #transfers = 0;
  #holds = 0;
  #resolvedHolds = 0;
  #events = 0;
  readonly #typeCounts = new Map<number, number>();

  #exp(id: string) {
    let e = this.#expected.get(id);
    if (!e) this.#expected.set(id, (e = { dp: 0n, cp: 0n, dq: 0n, cq: 0n }));
    return e;
  }

  #violate(v: InvariantViolation): void {
    if (this.#violations.length < 1000) this.#violations.push(v);
  }

  addAccounts(rows: AccountRow[]): void {
    for (const r of rows) this.#accounts.push(r);
  }

  addTransfers(rows: TransferRow[]): void {
    for (const t of rows) {
      this.#transfers++;
      this.#exp(t.debitAccountId).dp += t.amount;
      this.#exp(t.creditAccountId).cp += t.amount;
    }
  }

  addTransferTotals(t: TransferTotals): void {
    this.#transfers += t.count;
    for (const a of t.accounts) {
      const e = this.#exp(a.accountId);
      e.dp += a.debits;
      e.cp += a.credits;
    }
  }

  addHolds(rows: HoldRow[]): void {
    for (const h of rows) {
      this.#holds++;
      const d = this.#exp(h.debitAccountId);
      const c = this.#exp(h.creditAccountId);
      if (h.status === "pending") {
        d.dq += h.amount;
        c.cq += h.amount;
      } else {
        this.#resolvedHolds++;
        if (h.status === "posted") {
          d.dp += h.amount;
          c.cp += h.amount;
        }
      }
    }
  }

  addEvents(rows: EventScanRow[]): void {
    for (const e of rows) {
      const p = e.prefixedLeaf;
      if (e.sequence !== this.#events)
        this.#violate({
          invariant: "event_sequence",
          message: `expected event ${this.#events}, found ${e.sequence}`,
          sequence: e.sequence,
        });
      this.#events = e.sequence + 1;
      // Header fields read in place (offsets are those of the leaf, shifted by the 0x00 prefix).
      if (
        p.length !== 1 + LEAF_V1_BYTES ||
        p[0] !== 0 ||
        leafSequence(p) !== e.sequence ||
        p[32] !== LEAF_VERSION
      )
        this.#violate({
          invariant: "event_sequence",
          message: "leaf header does not match its row",
          sequence: e.sequence,
        });
      const type = p[64];
      this.#typeCounts.set(type, (this.#typeCounts.get(type) ?? 0) + 1);
      if (!sameBytes(hash("sha256", p, "buffer") as unknown as Uint8Array, e.leafHash))
        this.#violate({
          invariant: "leaf_hash",
          message: "stored leaf hash does not match the leaf",
          sequence: e.sequence,
        });
    }
  }

  segregation(): SegregationReport[] {
    return segregationReport(this.#accounts);
  }

  report(): InvariantReport {
    const totals = new Map<string, AssetTotals>();
    for (const a of this.#accounts) {
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
      const e = this.#expected.get(a.id) ?? { dp: 0n, cp: 0n, dq: 0n, cq: 0n };
      if (
        e.dp !== a.debitsPosted ||
        e.cp !== a.creditsPosted ||
        e.dq !== a.debitsPending ||
        e.cq !== a.creditsPending
      )
        this.#violate({
          invariant: "balance_matches_history",
          message: `stored balance differs from its transfers and holds`,
          accountId: a.id,
          asset: a.asset,
        });
      this.#expected.delete(a.id);
      if (isBounded(a.type)) {
        const b = balanceOf(a);
        if (b.posted < 0n || b.available < 0n)
          this.#violate({
            invariant: "non_negative_balance",
            message: `${a.type} account below zero (posted ${b.posted}, available ${b.available})`,
            accountId: a.id,
            asset: a.asset,
          });
      }
    }
    for (const id of this.#expected.keys())
      this.#violate({
        invariant: "balance_matches_history",
        message: "history names an unknown account",
        accountId: id,
      });
    for (const t of totals.values()) {
      if (t.debitsPosted !== t.creditsPosted || t.debitsPending !== t.creditsPending)
        this.#violate({
          invariant: "debits_equal_credits",
          message: `posted ${t.debitsPosted}/${t.creditsPosted}, pending ${t.debitsPending}/${t.creditsPending}`,
          asset: t.asset,
        });
    }
    const count = (n: number) => this.#typeCounts.get(n) ?? 0;
    const checks: [string, number, number][] = [
      ["ACCOUNT_OPENED", count(EVENT_TYPES.ACCOUNT_OPENED), this.#accounts.length],
      ["TRANSFER_POSTED", count(EVENT_TYPES.TRANSFER_POSTED), this.#transfers],
      ["HOLD_CREATED", count(EVENT_TYPES.HOLD_CREATED), this.#holds],
      [
        "HOLD_POSTED+HOLD_VOIDED",
        count(EVENT_TYPES.HOLD_POSTED) + count(EVENT_TYPES.HOLD_VOIDED),
        this.#resolvedHolds,
      ],
    ];
    for (const [name, events, rows] of checks)
      if (events !== rows)
        this.#violate({ invariant: "event_counts", message: `${events} ${name} events for ${rows} rows` });
    for (const s of this.segregation())
      if (!s.covered)
        this.#violate({
          invariant: "segregation_shortfall",
          message: `bank mirror ${s.bankMirrorBalance} short of customer + escrow + settlement by ${-s.surplus}`,
          asset: s.asset,
        });
    return {
      ok: this.#violations.length === 0,
      violations: this.#violations,
      perAsset: [...totals.values()].sort((a, b) => (a.asset < b.asset ? -1 : 1)),
      accounts: this.#accounts.length,
      transfers: this.#transfers,
      holds: this.#holds,
      events: this.#events,
    };
  }
}

export function segregationReport(accounts: Iterable<AccountRow>): SegregationReport[] {
  const per = new Map<string, SegregationReport>();
  for (const a of accounts) {
    let r = per.get(a.asset);
    if (!r)
      per.set(
        a.asset,
        (r = {
          asset: a.asset,
          customerLiabilities: 0n,
          escrowLiabilities: 0n,
          settlementInTransit: 0n,
          platformOwnFunds: 0n,
          feeRevenue: 0n,
          bankMirrorBalance: 0n,
          surplus: 0n,
          covered: true,
        }),
      );
    const posted = balanceOf(a).posted;
    if (a.type === "customer") r.customerLiabilities += posted;
    else if (a.type === "escrow") r.escrowLiabilities += posted;
    else if (a.type === "settlement") r.settlementInTransit += posted;
    else if (a.type === "platform_own") r.platformOwnFunds += posted;
    else if (a.type === "fee_revenue") r.feeRevenue += posted;
    else r.bankMirrorBalance += posted;
  }
  const out = [...per.values()].sort((a, b) => (a.asset < b.asset ? -1 : 1));
  for (const r of out) {
    r.surplus = r.bankMirrorBalance - (r.customerLiabilities + r.escrowLiabilities + r.settlementInTransit);
    r.covered = r.surplus >= 0n;
  }
  return out;
}
