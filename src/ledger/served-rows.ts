import { type Pseudonymizer, detailsHash } from "./canonical";
import { holdDetails, transferDetails } from "./engine";
import { DerivedRowMismatchError } from "./errors";
import { type LeafEntry, ZERO32 } from "../protocol/leaf-v1";
import type { AccountRow, HoldRow, TransferRow } from "./store";
import { ACCOUNT_STATUSES, ACCOUNT_TYPES, TRANSFER_KINDS } from "./types";

/**
 * Before a derived row is served it is checked against the event it was made from, so the API
 * never serves a value the events (and so `custody audit` and the receipt) contradict.
 */
function firstDifference(checks: [string, boolean][]): string | undefined {
  return checks.find(([, ok]) => !ok)?.[0];
}

/** Throws DerivedRowMismatchError unless the TRANSFER_POSTED event `e` made `t`. */
export function checkServedTransfer(p: Pseudonymizer, t: TransferRow, e: LeafEntry | undefined): void {
  const column = !e
    ? "sequence"
    : firstDifference([
        ["sequence", e.eventType === "TRANSFER_POSTED" && e.entryId === p.of("transfer", t.id)],
        ["debit_account_id", e.debitAccount === p.account(t.debitAccountId)],
        ["credit_account_id", e.creditAccount === p.account(t.creditAccountId)],
        ["asset", e.asset === t.asset],
        ["amount", e.amount === t.amount],
        ["kind", e.code === TRANSFER_KINDS[t.kind]],
        ["created_at", e.timestamp === t.createdAt],
        // An escrow release commits to its escrow and hold instead (checked by the audit).
        [
          "metadata, fee",
          t.kind === "escrow_release" ||
            e.metadataHash ===
              (t.metadata === null && t.fee === null
                ? ZERO32
                : detailsHash(transferDetails(t.metadata, t.fee))),
        ],
      ]);
  if (column) throw new DerivedRowMismatchError("ledger_transfers", t.id, column, t.sequence);
}

/** Throws DerivedRowMismatchError unless the account's events (in log order) give `a`'s terms and status. */
export function checkServedAccount(p: Pseudonymizer, a: AccountRow, events: readonly LeafEntry[]): void {
  const opened = events[0];
  let status: number = ACCOUNT_STATUSES.active;
  for (const e of events) if (e.eventType === "ACCOUNT_STATUS_CHANGED") status = e.code;
  const column = !opened
    ? "sequence"
    : firstDifference([
        ["sequence", opened.eventType === "ACCOUNT_OPENED" && opened.sequence === a.sequence],
        ["pseudonym", opened.entryId === a.pseudonym && a.pseudonym === p.account(a.id)],
        ["type", opened.code === ACCOUNT_TYPES[a.type]],
        ["asset", opened.asset === a.asset],
        ["status", status === ACCOUNT_STATUSES[a.status]],
      ]);
  if (column) throw new DerivedRowMismatchError("ledger_accounts", a.id, column, a.sequence);
}

/**
 * Throws DerivedRowMismatchError unless `created` (HOLD_CREATED) made `h` and `resolved` (the event
 * at its resolved_sequence, if any) resolved it as its status says.
 */
export function checkServedHold(
  p: Pseudonymizer,
  h: HoldRow,
  created: LeafEntry | undefined,
  resolved: LeafEntry | undefined,
): void {
  const entryId = p.of("hold", h.id);
  const resolvedAs = { pending: undefined, posted: "HOLD_POSTED", voided: "HOLD_VOIDED" }[h.status];
  const column = !created
    ? "sequence"
    : firstDifference([
        ["sequence", created.eventType === "HOLD_CREATED" && created.entryId === entryId],
        ["debit_account_id", created.debitAccount === p.account(h.debitAccountId)],
        ["credit_account_id", created.creditAccount === p.account(h.creditAccountId)],
        ["asset", created.asset === h.asset],
        ["amount", created.amount === h.amount],
        ["kind", created.code === TRANSFER_KINDS[h.kind]],
        ["escrow_id", created.reference === (h.escrowId ?? ZERO32)],
        [
          "payee_account_id, expires_at, metadata, fee",
          created.metadataHash ===
            detailsHash(holdDetails(h, h.payeeAccountId === null ? undefined : p.account(h.payeeAccountId))),
        ],
        [
          "status",
          h.status in { pending: 1, posted: 1, voided: 1 } &&
            (resolvedAs === undefined
              ? h.resolvedSequence === null
              : resolved?.eventType === resolvedAs && resolved.entryId === entryId),
        ],
      ]);
  if (column) throw new DerivedRowMismatchError("ledger_holds", h.id, column, h.sequence);
}
