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

/** Columns of a movement row: transfers as they are, posted holds at their posting. */
const TRANSFER_COLS = "id, debit_account_id, credit_account_id, amount, metadata, sequence, created_at";
const HOLD_COLS =
  "id, debit_account_id, credit_account_id, amount, metadata, resolved_sequence AS sequence, resolved_at AS created_at";

/**
 * The ledger around one cut-off: movements in the windows (cutoff − 2d, cutoff − 1d],
 * (cutoff − 1d, cutoff], (cutoff, cutoff + 1d]; the mirror balance and the customer sub-accounts'
 * total at the cut-off. With `throughSequence`, only events below it count (re-runs by the audit).
 *
 * A posted balance is the sum of the account's transfers and of its posted holds (the ledger's
 * `balance_matches_history` invariant): posting a hold moves the money without a transfer row (an
 * escrow's release then pays the payee with one). So a hold posted on the mirror is a movement (at
 * its posting: `resolved_at`, `resolved_sequence`; matched by its metadata like a transfer), and
 * posted holds count in both balances.
 *
 * Live (no `throughSequence`) the balances are the accounts' posted balances now, less what was
 * booked after the cut-off: few rows for a recent cut-off, found through the (account, created_at)
 * and (resolved_at) indexes of bank/002 and bank/003. A re-run as of an earlier event sums what
 * was booked up to the cut-off below that event instead. Both give the same figures for the same
 * snapshot (test/bank/ledger-view.test.ts).
 */
export async function readLedgerDay(
  db: Database,
  mirrorAccount: string,
  asset: string,
  cutoff: number,
  throughSequence?: number,
): Promise<LedgerDayView> {
  const through = throughSequence ?? Number.MAX_SAFE_INTEGER;
  const live = throughSequence === undefined;
  const window: Stmt[] = [
    {
      sql: `SELECT ${TRANSFER_COLS} FROM ledger_transfers
            WHERE (debit_account_id = ? OR credit_account_id = ?) AND created_at > ? AND created_at <= ? AND sequence < ?`,
      params: [mirrorAccount, mirrorAccount, cutoff - 2 * DAY_MS, cutoff + DAY_MS, through],
    },
    {
      sql: `SELECT ${HOLD_COLS} FROM ledger_holds
            WHERE status = 'posted' AND resolved_at > ? AND resolved_at <= ? AND resolved_sequence < ?
              AND (debit_account_id = ? OR credit_account_id = ?)`,
      params: [cutoff - 2 * DAY_MS, cutoff + DAY_MS, through, mirrorAccount, mirrorAccount],
    },
  ];
  const balances: Stmt[] = live
    ? [
        {
          sql: "SELECT debits_posted, credits_posted FROM ledger_accounts WHERE id = ?",
          params: [mirrorAccount],
        },
        // Booked on the mirror after the cut-off (each row once, whichever side).
        {
          sql: `SELECT debit_account_id, amount FROM ledger_transfers WHERE debit_account_id = ? AND created_at > ?
                UNION ALL
                SELECT debit_account_id, amount FROM ledger_transfers
                  WHERE credit_account_id = ? AND debit_account_id <> ? AND created_at > ?
                UNION ALL
                SELECT debit_account_id, amount FROM ledger_holds
                  WHERE status = 'posted' AND resolved_at > ? AND (debit_account_id = ? OR credit_account_id = ?)`,
          params: [
            mirrorAccount,
            cutoff,
            mirrorAccount,
            mirrorAccount,
            cutoff,
            cutoff,
            mirrorAccount,
            mirrorAccount,
          ],
        },
        {
          sql: "SELECT debits_posted, credits_posted FROM ledger_accounts WHERE type = 'customer' AND asset = ?",
          params: [asset],
        },
        // Booked on customer sub-accounts after the cut-off, signed as they raised the liabilities.
        {
          sql: `SELECT t.amount, 1 AS credit FROM ledger_accounts a JOIN ledger_transfers t ON t.credit_account_id = a.id
                  WHERE a.type = 'customer' AND a.asset = ? AND t.created_at > ?
                UNION ALL
                SELECT t.amount, 0 AS credit FROM ledger_accounts a JOIN ledger_transfers t ON t.debit_account_id = a.id
                  WHERE a.type = 'customer' AND a.asset = ? AND t.created_at > ?
                UNION ALL
                SELECT h.amount, 1 AS credit FROM ledger_holds h JOIN ledger_accounts a ON a.id = h.credit_account_id
                  WHERE h.status = 'posted' AND h.resolved_at > ? AND a.type = 'customer' AND a.asset = ?
                UNION ALL
                SELECT h.amount, 0 AS credit FROM ledger_holds h JOIN ledger_accounts a ON a.id = h.debit_account_id
                  WHERE h.status = 'posted' AND h.resolved_at > ? AND a.type = 'customer' AND a.asset = ?`,
          params: [asset, cutoff, asset, cutoff, cutoff, asset, cutoff, asset],
        },
      ]
    : [
        // Everything up to the cut-off touching the mirror, below `through`.
        {
          sql: `SELECT debit_account_id, amount FROM ledger_transfers
                  WHERE (debit_account_id = ? OR credit_account_id = ?) AND created_at <= ? AND sequence < ?
                UNION ALL
                SELECT debit_account_id, amount FROM ledger_holds
                  WHERE status = 'posted' AND (debit_account_id = ? OR credit_account_id = ?)
                    AND resolved_at <= ? AND resolved_sequence < ?`,
          params: [
            mirrorAccount,
            mirrorAccount,
            cutoff,
            through,
            mirrorAccount,
            mirrorAccount,
            cutoff,
            through,
          ],
        },
        {
          sql: `SELECT t.amount, da.type AS debit_type, ca.type AS credit_type FROM ledger_transfers t
                  JOIN ledger_accounts da ON da.id = t.debit_account_id
                  JOIN ledger_accounts ca ON ca.id = t.credit_account_id
                  WHERE t.asset = ? AND t.created_at <= ? AND t.sequence < ? AND (da.type = 'customer' OR ca.type = 'customer')
                UNION ALL
                SELECT h.amount, da.type AS debit_type, ca.type AS credit_type FROM ledger_holds h
                  JOIN ledger_accounts da ON da.id = h.debit_account_id
                  JOIN ledger_accounts ca ON ca.id = h.credit_account_id
                  WHERE h.status = 'posted' AND h.asset = ? AND h.resolved_at <= ? AND h.resolved_sequence < ?
                    AND (da.type = 'customer' OR ca.type = 'customer')`,
          params: [asset, cutoff, through, asset, cutoff, through],
        },
      ];
  const [countRows, transferRows, holdRows, ...rest] = await querySnapshot(db, [
    { sql: "SELECT COALESCE(MAX(sequence) + 1, 0) AS n FROM ledger_events", params: [] },
    ...window,
    ...balances,
  ]);
  const seen = num(countRows[0].n);
  // The mirror is debit-normal: debiting it is money into the bank account.
  const onMirror = (r: Row) => (r.debit_account_id === mirrorAccount ? big(r.amount) : -big(r.amount));
  let mirrorBalance = 0n;
  // Customer sub-accounts are credit-normal: a credit raises what the platform owes.
  let customerLiabilities = 0n;
  if (live) {
    const [mirrorNow, mirrorLater, customersNow, customersLater] = rest;
    if (mirrorNow[0]) mirrorBalance = big(mirrorNow[0].debits_posted) - big(mirrorNow[0].credits_posted);
    for (const r of mirrorLater) mirrorBalance -= onMirror(r);
    for (const r of customersNow) customerLiabilities += big(r.credits_posted) - big(r.debits_posted);
    for (const r of customersLater)
      customerLiabilities -= num(r.credit) === 1 ? big(r.amount) : -big(r.amount);
  } else {
    const [mirrorRows, customerRows] = rest;
    for (const r of mirrorRows) mirrorBalance += onMirror(r);
    for (const r of customerRows) {
      if (r.credit_type === "customer") customerLiabilities += big(r.amount);
      if (r.debit_type === "customer") customerLiabilities -= big(r.amount);
    }
  }
  const previous: LedgerMovement[] = [];
  const today: LedgerMovement[] = [];
  const next: LedgerMovement[] = [];
  const moves = [...transferRows, ...holdRows].map((r) => movement(r, mirrorAccount));
  moves.sort((a, b) => a.sequence - b.sequence);
  for (const m of moves) {
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
