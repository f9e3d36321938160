import type { Database } from "../db/database";
import type { LedgerMovement } from "./reconcile";
import { big, num, querySnapshot, type Row, type Stmt } from "./sql";

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
 *
 * Balances at the cut-off are the accounts' posted balances now, less the transfers booked after
 * the cut-off (or at or after `throughSequence`): a stored balance equals the sum of its posted
 * transfers (the ledger's `balance_matches_history` invariant), and the transfers after a recent
 * cut-off are few. Transfers are found through the (account, created_at) indexes of bank/002.
 */
export async function readLedgerDay(
  db: Database,
  mirrorAccount: string,
  asset: string,
  cutoff: number,
  throughSequence?: number,
): Promise<LedgerDayView> {
  const through = throughSequence ?? Number.MAX_SAFE_INTEGER;
  const cols = "id, debit_account_id, credit_account_id, amount, metadata, sequence, created_at";
  /** Transfers touching the mirror in (from, to] (each once: debit side, then credit side). */
  const mirrorRange = (from: number, to: number): Stmt => ({
    sql: `SELECT ${cols} FROM ledger_transfers WHERE debit_account_id = ? AND created_at > ? AND created_at <= ?
          UNION ALL
          SELECT ${cols} FROM ledger_transfers WHERE credit_account_id = ? AND debit_account_id <> ? AND created_at > ? AND created_at <= ?`,
    params: [mirrorAccount, from, to, mirrorAccount, mirrorAccount, from, to],
  });
  const FAR = Number.MAX_SAFE_INTEGER;
  const [countRows, moveRows, mirrorNow, mirrorLater, custNow, custCredLater, custDebLater, late] =
    await querySnapshot(db, [
      { sql: "SELECT COALESCE(MAX(sequence) + 1, 0) AS n FROM ledger_events", params: [] },
      mirrorRange(cutoff - 2 * DAY_MS, cutoff + DAY_MS),
      {
        sql: "SELECT debits_posted, credits_posted FROM ledger_accounts WHERE id = ?",
        params: [mirrorAccount],
      },
      // Everything after the window too (the window's own rows come from the query above).
      mirrorRange(cutoff + DAY_MS, FAR),
      {
        sql: "SELECT debits_posted, credits_posted FROM ledger_accounts WHERE type = 'customer' AND asset = ?",
        params: [asset],
      },
      {
        sql: `SELECT t.amount FROM ledger_accounts a JOIN ledger_transfers t ON t.credit_account_id = a.id
              WHERE a.type = 'customer' AND a.asset = ? AND t.created_at > ?`,
        params: [asset, cutoff],
      },
      {
        sql: `SELECT t.amount FROM ledger_accounts a JOIN ledger_transfers t ON t.debit_account_id = a.id
              WHERE a.type = 'customer' AND a.asset = ? AND t.created_at > ?`,
        params: [asset, cutoff],
      },
      // A re-run as of an earlier event: transfers up to the cut-off but at or after it (a scan;
      // only the audit asks for this).
      throughSequence === undefined
        ? { sql: "SELECT sequence FROM ledger_events WHERE 1 = 0", params: [] }
        : {
            sql: `SELECT t.debit_account_id, t.credit_account_id, t.amount, t.created_at, da.type AS debit_type, ca.type AS credit_type, da.asset AS debit_asset
                  FROM ledger_transfers t
                  JOIN ledger_accounts da ON da.id = t.debit_account_id
                  JOIN ledger_accounts ca ON ca.id = t.credit_account_id
                  WHERE t.sequence >= ? AND t.created_at <= ?`,
            params: [through, cutoff],
          },
    ]);
  const seen = num(countRows[0].n);
  const previous: LedgerMovement[] = [];
  const today: LedgerMovement[] = [];
  const next: LedgerMovement[] = [];
  // Debiting the mirror is money into the bank account: the mirror is debit-normal.
  let mirrorBalance = mirrorNow.length
    ? big(mirrorNow[0].debits_posted) - big(mirrorNow[0].credits_posted)
    : 0n;
  const undo = (r: Row) =>
    (mirrorBalance -= r.debit_account_id === mirrorAccount ? big(r.amount) : -big(r.amount));
  for (const r of mirrorLater) undo(r);
  moveRows.sort((a, b) => num(a.sequence) - num(b.sequence));
  for (const r of moveRows) {
    const createdAt = num(r.created_at);
    if (createdAt > cutoff || num(r.sequence) >= through) undo(r);
    if (num(r.sequence) >= through) continue;
    const m = movement(r, mirrorAccount);
    if (m.createdAt <= cutoff - DAY_MS) previous.push(m);
    else if (m.createdAt <= cutoff) today.push(m);
    else next.push(m);
  }
  // Customer sub-accounts are credit-normal: a credit raises what the platform owes.
  let customerLiabilities = 0n;
  for (const r of custNow) customerLiabilities += big(r.credits_posted) - big(r.debits_posted);
  for (const r of custCredLater) customerLiabilities -= big(r.amount);
  for (const r of custDebLater) customerLiabilities += big(r.amount);
  for (const r of late) {
    // Booked up to the cut-off but not visible at `throughSequence`. The mirror's rows inside the
    // window were undone with the window above; older ones are undone here.
    const mirror = r.debit_account_id === mirrorAccount || r.credit_account_id === mirrorAccount;
    if (mirror && num(r.created_at) <= cutoff - 2 * DAY_MS) undo(r);
    if (r.debit_asset !== asset) continue;
    if (r.credit_type === "customer") customerLiabilities -= big(r.amount);
    if (r.debit_type === "customer") customerLiabilities += big(r.amount);
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
