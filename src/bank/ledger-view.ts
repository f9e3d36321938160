import type { Database } from "../db/database";
import type { LedgerMovement } from "./reconcile";
import { big, num, querySnapshot, type Row } from "./sql";

/**
 * Read-only view of the ledger's tables for reconciliation: movements on a custodian-mirror
 * account and balances at a cut-off, all from one snapshot. Never writes.
 *
 * A movement's end-to-end id is the transfer's `metadata.endToEndId` (else its id); its value date
 * `metadata.valueDate` (else the UTC date it was booked); `metadata.reversal: true` marks a reversal.
 * A transfer debiting the mirror is money into the bank account (a bank credit).
 */
const DAY_MS = 86_400_000;

export interface LedgerDayView {
  /** Events 0 .. throughSequence − 1 were visible. */
  throughSequence: number;
  mirrorBalance: bigint;
  customerLiabilities: bigint;
  previous: LedgerMovement[];
  today: LedgerMovement[];
  next: LedgerMovement[];
}

function movement(r: Row, mirror: string): LedgerMovement {
  let meta: Record<string, unknown> = {};
  if (typeof r.metadata === "string") {
    try {
      meta = JSON.parse(r.metadata) as Record<string, unknown>;
    } catch {
      meta = {};
    }
  }
  const createdAt = num(r.created_at);
  return {
    transferId: r.id as string,
    direction: r.debit_account_id === mirror ? "credit" : "debit",
    amount: big(r.amount),
    sequence: num(r.sequence),
    createdAt,
    valueDate:
      typeof meta.valueDate === "string" && /^\d{4}-\d{2}-\d{2}$/.test(meta.valueDate)
        ? meta.valueDate
        : new Date(createdAt).toISOString().slice(0, 10),
    endToEndId: typeof meta.endToEndId === "string" ? meta.endToEndId : (r.id as string),
    reversal: meta.reversal === true,
  };
}

/**
 * The ledger around one cut-off: movements in the windows (cutoff − 2d, cutoff − 1d],
 * (cutoff − 1d, cutoff], (cutoff, cutoff + 1d]; the mirror balance and the customer sub-accounts'
 * total at the cut-off. With `throughSequence`, only events below it count (re-runs by the audit).
 */
export async function readLedgerDay(
  db: Database,
  mirrorAccount: string,
  asset: string,
  cutoff: number,
  throughSequence?: number,
): Promise<LedgerDayView> {
  const through = throughSequence ?? Number.MAX_SAFE_INTEGER;
  const [countRows, moveRows, mirrorRows, custRows] = await querySnapshot(db, [
    { sql: "SELECT COALESCE(MAX(sequence) + 1, 0) AS n FROM ledger_events", params: [] },
    {
      sql: `SELECT id, debit_account_id, credit_account_id, amount, metadata, sequence, created_at FROM ledger_transfers
            WHERE (debit_account_id = ? OR credit_account_id = ?) AND created_at > ? AND created_at <= ? AND sequence < ?
            ORDER BY sequence`,
      params: [mirrorAccount, mirrorAccount, cutoff - 2 * DAY_MS, cutoff + DAY_MS, through],
    },
    // The balance at the cut-off: everything up to it touching the mirror.
    {
      sql: `SELECT debit_account_id, amount FROM ledger_transfers
            WHERE (debit_account_id = ? OR credit_account_id = ?) AND created_at <= ? AND sequence < ?`,
      params: [mirrorAccount, mirrorAccount, cutoff, through],
    },
    {
      sql: `SELECT t.amount, da.type AS debit_type, ca.type AS credit_type FROM ledger_transfers t
            JOIN ledger_accounts da ON da.id = t.debit_account_id
            JOIN ledger_accounts ca ON ca.id = t.credit_account_id
            WHERE t.asset = ? AND t.created_at <= ? AND t.sequence < ? AND (da.type = 'customer' OR ca.type = 'customer')`,
      params: [asset, cutoff, through],
    },
  ]);
  const seen = num(countRows[0].n);
  let mirrorBalance = 0n;
  for (const r of mirrorRows)
    mirrorBalance += r.debit_account_id === mirrorAccount ? big(r.amount) : -big(r.amount);
  let customerLiabilities = 0n;
  for (const r of custRows) {
    if (r.credit_type === "customer") customerLiabilities += big(r.amount);
    if (r.debit_type === "customer") customerLiabilities -= big(r.amount);
  }
  const previous: LedgerMovement[] = [];
  const today: LedgerMovement[] = [];
  const next: LedgerMovement[] = [];
  for (const r of moveRows) {
    const m = movement(r, mirrorAccount);
    if (m.createdAt <= cutoff - DAY_MS) previous.push(m);
    else if (m.createdAt <= cutoff) today.push(m);
    else next.push(m);
  }
  return {
    throughSequence: Math.min(seen, through),
    mirrorBalance,
    customerLiabilities,
    previous,
    today,
    next,
  };
}
