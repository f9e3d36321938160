import { addDays, daysBetween, type StatementEntry } from "./statement";

/**
 * Daily reconciliation of one custody account, currency and business day: pure matching rules
 * over a statement and the ledger's movements on the custodian-mirror account. No I/O, no clock.
 *
 * Matching, in order (docs/reconciliation-v1.md):
 * 1. a booked bank entry repeating an earlier entry's end-to-end id (same reversal flag) or
 *    account-servicer reference is a `duplicate`;
 * 2. by end-to-end id against the day's ledger movements: same direction and amount = matched,
 *    otherwise `amount_mismatch`; found instead among the previous or next day's movements = `timing`;
 * 3. the rest by direction, amount and value date within `toleranceDays` against the day's
 *    movements whose end-to-end id no bank entry names (closest date, then lowest sequence);
 * 4. bank entries left = `bank_only`; the day's movements left = `timing` when an adjacent day's
 *    statement books them, else `ledger_only`.
 */
export type BreakClass = "bank_only" | "ledger_only" | "amount_mismatch" | "duplicate" | "timing";

/** A movement on the custodian-mirror account, seen from the bank: credit = money into the bank account. */
export interface LedgerMovement {
  transferId: string;
  direction: "credit" | "debit";
  amount: bigint;
  /** Ledger event sequence of the transfer. */
  sequence: number;
  createdAt: number;
  valueDate: string;
  endToEndId: string;
  reversal: boolean;
}

export interface PagedEntry extends StatementEntry {
  page: number;
  /** Set only when the day has several statements: which one the entry is from. */
  statementId?: string;
}

export interface ReconcileInput {
  day: string;
  toleranceDays: number;
  /** Every entry of every page of the day's statement (pending and info included; they are skipped). */
  entries: readonly PagedEntry[];
  /** Movements booked in the day's window (previous cut-off, cut-off]. */
  movements: readonly LedgerMovement[];
  previousMovements: readonly LedgerMovement[];
  nextMovements: readonly LedgerMovement[];
  /** Booked entries of the stored statements of the day before and after (for timing). */
  adjacentEntries: readonly StatementEntry[];
}

export interface BankSide {
  /** Only when the day has several statements (pages of different statements share numbers). */
  statementId?: string;
  page: number;
  index: number;
  direction: "credit" | "debit";
  amount: bigint;
  valueDate?: string;
  endToEndId?: string;
  accountServicerRef?: string;
  reversal: boolean;
}

export interface LedgerSide {
  transferId: string;
  sequence: number;
  direction: "credit" | "debit";
  amount: bigint;
  valueDate: string;
  endToEndId: string;
}

export interface ReconBreak {
  class: BreakClass;
  bank?: BankSide;
  ledger?: LedgerSide;
}

export interface ReconcileResult {
  matched: number;
  pendingIgnored: number;
  infoIgnored: number;
  breaks: ReconBreak[];
}

function keyOf(endToEndId: string, reversal: boolean): string {
  return `${reversal ? "R" : "N"}:${endToEndId}`;
}

function bankSide(e: PagedEntry): BankSide {
  const b: BankSide = {
    page: e.page,
    index: e.index,
    direction: e.direction,
    amount: e.amount,
    reversal: e.reversal,
  };
  if (e.statementId !== undefined) b.statementId = e.statementId;
  if (e.valueDate !== undefined) b.valueDate = e.valueDate;
  if (e.endToEndId !== undefined) b.endToEndId = e.endToEndId;
  if (e.accountServicerRef !== undefined) b.accountServicerRef = e.accountServicerRef;
  return b;
}

function ledgerSide(m: LedgerMovement): LedgerSide {
  return {
    transferId: m.transferId,
    sequence: m.sequence,
    direction: m.direction,
    amount: m.amount,
    valueDate: m.valueDate,
    endToEndId: m.endToEndId,
  };
}

function indexByKey(ms: readonly LedgerMovement[]): Map<string, LedgerMovement[]> {
  const out = new Map<string, LedgerMovement[]>();
  for (const m of ms) {
    const k = keyOf(m.endToEndId, m.reversal);
    const l = out.get(k);
    if (l) l.push(m);
    else out.set(k, [m]);
  }
  return out;
}

function take(
  index: Map<string, LedgerMovement[]>,
  key: string,
  used: Set<LedgerMovement>,
): LedgerMovement | undefined {
  const l = index.get(key);
  if (!l) return undefined;
  for (const m of l) if (!used.has(m)) return m;
  return undefined;
}

export function reconcileDay(input: ReconcileInput): ReconcileResult {
  const breaks: ReconBreak[] = [];
  let matched = 0;
  let pendingIgnored = 0;
  let infoIgnored = 0;
  const used = new Set<LedgerMovement>();
  const today = indexByKey(input.movements);
  const adjacent = indexByKey([...input.previousMovements, ...input.nextMovements]);
  const seenKeys = new Set<string>();
  const seenServicerRefs = new Set<string>();
  const bankKeys = new Set<string>();
  const unmatched: PagedEntry[] = [];

  for (const e of input.entries) {
    if (e.status === "pending") {
      pendingIgnored++;
      continue;
    }
    if (e.status === "info") {
      infoIgnored++;
      continue;
    }
    const key = e.endToEndId === undefined ? undefined : keyOf(e.endToEndId, e.reversal);
    if ((key && seenKeys.has(key)) || (e.accountServicerRef && seenServicerRefs.has(e.accountServicerRef))) {
      breaks.push({ class: "duplicate", bank: bankSide(e) });
      continue;
    }
    if (key) {
      seenKeys.add(key);
      bankKeys.add(key);
    }
    if (e.accountServicerRef) seenServicerRefs.add(e.accountServicerRef);
    if (key) {
      const m = take(today, key, used);
      if (m) {
        used.add(m);
        if (m.direction === e.direction && m.amount === e.amount) matched++;
        else breaks.push({ class: "amount_mismatch", bank: bankSide(e), ledger: ledgerSide(m) });
        continue;
      }
      const a = take(adjacent, key, used);
      if (a) {
        used.add(a);
        breaks.push({ class: "timing", bank: bankSide(e), ledger: ledgerSide(a) });
        continue;
      }
    }
    unmatched.push(e);
  }

  // Pass 2: amount, direction and value date within the tolerance, among movements no entry named.
  if (unmatched.length > 0) {
    const pool = new Map<string, LedgerMovement[]>();
    for (const m of input.movements) {
      if (used.has(m) || bankKeys.has(keyOf(m.endToEndId, m.reversal))) continue;
      const k = `${m.direction}:${m.amount}`;
      const l = pool.get(k);
      if (l) l.push(m);
      else pool.set(k, [m]);
    }
    for (const e of unmatched) {
      const candidates = pool.get(`${e.direction}:${e.amount}`);
      let best: LedgerMovement | undefined;
      let bestGap = Infinity;
      const vd = e.valueDate ?? e.bookingDate ?? input.day;
      for (const m of candidates ?? []) {
        if (used.has(m)) continue;
        const gap = Math.abs(daysBetween(vd, m.valueDate));
        if (gap > input.toleranceDays) continue;
        if (gap < bestGap || (gap === bestGap && best && m.sequence < best.sequence)) {
          best = m;
          bestGap = gap;
        }
      }
      if (best) {
        used.add(best);
        matched++;
      } else breaks.push({ class: "bank_only", bank: bankSide(e) });
    }
  }

  const adjacentKeys = new Set<string>();
  for (const e of input.adjacentEntries)
    if (e.status === "booked" && e.endToEndId !== undefined)
      adjacentKeys.add(keyOf(e.endToEndId, e.reversal));
  for (const m of input.movements) {
    if (used.has(m)) continue;
    const timing = adjacentKeys.has(keyOf(m.endToEndId, m.reversal));
    breaks.push({ class: timing ? "timing" : "ledger_only", ledger: ledgerSide(m) });
  }
  return { matched, pendingIgnored, infoIgnored, breaks };
}

/** Days whose statements decide timing for `day`. */
export function adjacentDays(day: string): [string, string] {
  return [addDays(day, -1), addDays(day, 1)];
}
