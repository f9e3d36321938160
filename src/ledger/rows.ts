import type { Hex } from "viem";
import {
  type AccountRow,
  type EventRow,
  type FactRow,
  type HoldRow,
  SUBJECT_KINDS,
  type TransferRow,
} from "./store";
import type { AccountStatus, AccountType, HoldStatus, LedgerEventLeaf, TransferKind } from "./types";

/** Row mappers shared by both backends (the column names are the same). */
export type Row = Record<string, unknown>;

const SUBJECT_NAMES = Object.fromEntries(Object.entries(SUBJECT_KINDS).map(([k, v]) => [v, k])) as Record<
  number,
  EventRow["subjectKind"]
>;

function limitsFromJson(text: unknown): AccountRow["limits"] {
  if (text === null || text === undefined) return undefined;
  const o = JSON.parse(text as string) as Record<string, string>;
  const out: NonNullable<AccountRow["limits"]> = {};
  if (o.maxTransferAmount !== undefined) out.maxTransferAmount = BigInt(o.maxTransferAmount);
  if (o.maxBalance !== undefined) out.maxBalance = BigInt(o.maxBalance);
  return out;
}

export function limitsToJson(l: AccountRow["limits"]): string | null {
  if (!l) return null;
  const o: Record<string, string> = {};
  if (l.maxBalance !== undefined) o.maxBalance = l.maxBalance.toString();
  if (l.maxTransferAmount !== undefined) o.maxTransferAmount = l.maxTransferAmount.toString();
  return JSON.stringify(o);
}

export function accountFromRow(r: Row): AccountRow {
  return {
    id: r.id as string,
    pseudonym: r.pseudonym as Hex,
    type: r.type as AccountType,
    asset: r.asset as string,
    scale: Number(r.scale),
    status: r.status as AccountStatus,
    limits: limitsFromJson(r.limits),
    metadata: (r.metadata as string | null) ?? null,
    debitsPosted: BigInt(r.debits_posted as string),
    creditsPosted: BigInt(r.credits_posted as string),
    debitsPending: BigInt(r.debits_pending as string),
    creditsPending: BigInt(r.credits_pending as string),
    createdAt: Number(r.created_at),
    sequence: Number(r.sequence),
  };
}

export function transferFromRow(r: Row): TransferRow {
  return {
    id: r.id as string,
    debitAccountId: r.debit_account_id as string,
    creditAccountId: r.credit_account_id as string,
    asset: r.asset as string,
    amount: BigInt(r.amount as string),
    kind: r.kind as TransferKind,
    metadata: (r.metadata as string | null) ?? null,
    fee: (r.fee as string | null) ?? null,
    holdId: (r.hold_id as string | null) ?? null,
    sequence: Number(r.sequence),
    createdAt: Number(r.created_at),
  };
}

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function holdFromRow(r: Row): HoldRow {
  return {
    id: r.id as string,
    debitAccountId: r.debit_account_id as string,
    creditAccountId: r.credit_account_id as string,
    asset: r.asset as string,
    amount: BigInt(r.amount as string),
    kind: r.kind as TransferKind,
    status: r.status as HoldStatus,
    escrowId: (r.escrow_id as Hex | null) ?? null,
    payeeAccountId: (r.payee_account_id as string | null) ?? null,
    timeoutMs: numOrNull(r.timeout_ms),
    expiresAt: numOrNull(r.expires_at),
    metadata: (r.metadata as string | null) ?? null,
    fee: (r.fee as string | null) ?? null,
    createdAt: Number(r.created_at),
    sequence: Number(r.sequence),
    resolvedAt: numOrNull(r.resolved_at),
    resolvedSequence: numOrNull(r.resolved_sequence),
    resolution: (r.resolution as string | null) ?? null,
    releaseTransferId: (r.release_transfer_id as string | null) ?? null,
  };
}

export function eventFromRow(r: Row): EventRow {
  return {
    sequence: Number(r.sequence),
    subjectKind: SUBJECT_NAMES[Number(r.subject_kind)],
    subjectId: r.subject_id as string,
    debitAccountId: (r.debit_account_id as string | null) ?? null,
    creditAccountId: (r.credit_account_id as string | null) ?? null,
    createdAt: Number(r.created_at),
    leafBytes: new Uint8Array(r.leaf as Buffer),
    leafHash: new Uint8Array(r.leaf_hash as Buffer),
  };
}

/**
 * Columns of an event as getEventLeaves reads it, in order: the subject id only for account
 * subjects (a transfer's or fact's id is not an account, and a string less per row to copy).
 */
export const EVENT_LEAF_COLUMNS =
  "sequence, CASE WHEN subject_kind = 1 THEN subject_id END, debit_account_id, credit_account_id, created_at, leaf";

/** A row of EVENT_LEAF_COLUMNS as an undecoded event; the leaf is the driver's buffer, not a copy. */
export function eventLeafFromValues(v: unknown[]): LedgerEventLeaf {
  const account = v[1] as string | null;
  const debit = v[2] as string | null;
  const credit = v[3] as string | null;
  return {
    sequence: Number(v[0]),
    accounts:
      account !== null
        ? [account]
        : debit !== null && credit !== null
          ? [debit, credit]
          : ([debit ?? credit].filter((x) => x !== null) as string[]),
    createdAt: Number(v[4]),
    leafBytes: v[5] as Buffer,
  };
}

export function factFromRow(r: Row): FactRow {
  return {
    id: r.id as string,
    kind: Number(r.kind),
    documentHash: r.document_hash as Hex,
    subjectAccountId: (r.subject_account_id as string | null) ?? null,
    asset: (r.asset as string | null) ?? null,
    amount: r.amount === null || r.amount === undefined ? null : BigInt(r.amount as string),
    sequence: Number(r.sequence),
    createdAt: Number(r.created_at),
  };
}

/*
 * Insert values in the column order of the INSERT statements of both stores (amounts as decimal
 * text: SQLite integers stop at 2^63).
 */

/** `ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, kind, metadata, fee, hold_id, sequence, created_at)`. */
export function transferValues(t: TransferRow): unknown[] {
  return TRANSFER_FIELDS.map((f) => f(t));
}

/** The same values as one array per column (for `unnest`): a batch builds no array per row. */
export function transferColumns(rows: readonly TransferRow[]): (string | number | null)[][] {
  return TRANSFER_FIELDS.map((f) => rows.map(f));
}

const TRANSFER_FIELDS: ((t: TransferRow) => string | number | null)[] = [
  (t) => t.id,
  (t) => t.debitAccountId,
  (t) => t.creditAccountId,
  (t) => t.asset,
  (t) => t.amount.toString(),
  (t) => t.kind,
  (t) => t.metadata,
  (t) => t.fee,
  (t) => t.holdId,
  (t) => t.sequence,
  (t) => t.createdAt,
];

/**
 * `ledger_holds (id, debit_account_id, credit_account_id, asset, amount, kind, status, escrow_id,
 * payee_account_id, timeout_ms, expires_at, metadata, fee, created_at, sequence, resolved_at,
 * resolved_sequence, resolution, release_transfer_id)`.
 */
export function holdValues(h: HoldRow): unknown[] {
  return [
    h.id,
    h.debitAccountId,
    h.creditAccountId,
    h.asset,
    h.amount.toString(),
    h.kind,
    h.status,
    h.escrowId,
    h.payeeAccountId,
    h.timeoutMs,
    h.expiresAt,
    h.metadata,
    h.fee,
    h.createdAt,
    h.sequence,
    h.resolvedAt,
    h.resolvedSequence,
    h.resolution,
    h.releaseTransferId,
  ];
}

/** `ledger_facts (id, kind, document_hash, subject_account_id, asset, amount, sequence, created_at)`. */
export function factValues(f: FactRow): unknown[] {
  return [
    f.id,
    f.kind,
    f.documentHash,
    f.subjectAccountId,
    f.asset,
    f.amount === null ? null : f.amount.toString(),
    f.sequence,
    f.createdAt,
  ];
}
