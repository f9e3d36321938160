import type { Hex } from "viem";
import type { FactKind, LeafEntry } from "../protocol/leaf-v1";

/**
 * Account types. The numbering is the leaf `code` of ACCOUNT_OPENED events; never renumber.
 *
 * - `customer`: a customer's sub-account at the custodian (a liability to the customer).
 * - `platform_own`: the platform's own funds.
 * - `fee_revenue`: fees the platform has earned from customers.
 * - `escrow`: customer money held for an escrow decided on chain.
 * - `bank_mirror`: mirror of the custodian bank account's balance (an asset; debit-normal).
 * - `settlement`: money in transit between the ledger and the bank (withdrawals being paid out).
 */
export const ACCOUNT_TYPES = {
  customer: 1,
  platform_own: 2,
  fee_revenue: 3,
  escrow: 4,
  bank_mirror: 5,
  settlement: 6,
} as const;
export type AccountType = keyof typeof ACCOUNT_TYPES;

/** Account statuses; the numbering is the leaf `code` of ACCOUNT_STATUS_CHANGED events. */
export const ACCOUNT_STATUSES = { active: 1, frozen: 2, closed: 3 } as const;
export type AccountStatus = keyof typeof ACCOUNT_STATUSES;

/** Transfer kinds; the numbering is the leaf `code` of transfer and hold events. Never renumber. */
export const TRANSFER_KINDS = {
  deposit: 1,
  withdrawal: 2,
  transfer: 3,
  fee: 4,
  escrow_hold: 5,
  escrow_release: 6,
  escrow_refund: 7,
  adjustment: 8,
} as const;
export type TransferKind = keyof typeof TRANSFER_KINDS;

/** Hold statuses. */
export type HoldStatus = "pending" | "posted" | "voided";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** Free-form metadata: a JSON object (at most 4096 bytes once canonicalised). */
export type Metadata = { [key: string]: JsonValue };

/** An amount as given by a caller: a bigint, a safe integer, or a decimal string of minor units. */
export type AmountInput = bigint | number | string;

export interface AccountLimits {
  /** Largest amount one transfer or hold may debit from the account. */
  maxTransferAmount?: bigint;
  /** Largest posted + incoming pending balance the account may reach. */
  maxBalance?: bigint;
}

export interface OpenAccountInput {
  /** Stable external id (1..128 characters of [A-Za-z0-9._:@/-]). */
  id: string;
  type: AccountType;
  /** Asset code, 1..32 printable ASCII characters (e.g. "EUR"). */
  asset: string;
  /** Minor-unit scale: amount 1 = 10^-scale of the asset (0..36). */
  scale: number;
  limits?: { maxTransferAmount?: AmountInput; maxBalance?: AmountInput };
  metadata?: Metadata;
}

export interface Account {
  id: string;
  /** HMAC-SHA256(platformKey, "account:" + id): the account's id on chain and in leaves. */
  pseudonym: Hex;
  type: AccountType;
  asset: string;
  scale: number;
  status: AccountStatus;
  limits?: AccountLimits;
  metadata?: Metadata;
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
  /** Sequence of the ACCOUNT_OPENED event. */
  sequence: number;
}

/**
 * `posted` is the balance on the account's normal side (credits − debits, except for `bank_mirror`
 * accounts: debits − credits); `pending` is what pending holds reserve against it; `available` is
 * `posted − pending`.
 */
export interface Balance {
  posted: bigint;
  pending: bigint;
  available: bigint;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

/** A fee a `fee` transfer charges: the code selects the schedule entry, `base` is what it is charged on. */
export interface FeeInput {
  code: string;
  base?: AmountInput;
}
export interface Fee {
  code: string;
  base?: bigint;
}

/**
 * One fee schedule entry. The largest fee allowed is `fixed + floor(base × basisPoints / 10000)`,
 * raised to `min` and capped at `max`.
 */
export interface FeeRule {
  asset: string;
  fixed?: bigint;
  basisPoints?: number;
  min?: bigint;
  max?: bigint;
}
export type FeeSchedule = Readonly<Record<string, FeeRule>>;

export interface TransferInput {
  /** Client-chosen id; the idempotency key. */
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: AmountInput;
  kind: TransferKind;
  metadata?: Metadata;
  /** Required for kind "fee". */
  fee?: FeeInput;
}

export interface Transfer {
  id: string;
  /** HMAC-SHA256(platformKey, "transfer:" + id). */
  pseudonym: Hex;
  debitAccountId: string;
  creditAccountId: string;
  asset: string;
  amount: bigint;
  kind: TransferKind;
  metadata?: Metadata;
  fee?: Fee;
  /** For an escrow release: the hold it completes. */
  holdId?: string;
  /** Sequence of the TRANSFER_POSTED event. */
  sequence: number;
  createdAt: number;
}

export interface HoldInput {
  /** Client-chosen id; the idempotency key. */
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: AmountInput;
  /** Any kind but escrow_release / escrow_refund. */
  kind: TransferKind;
  /** escrow_hold only: the on-chain escrow id (bytes32 hex); default: the hold's pseudonym. */
  escrowId?: Hex;
  /** escrow_hold only, required: the customer account an on-chain release pays. */
  payeeAccountId?: string;
  /** Not for escrow holds: the hold is voided by `expireHolds` once this many ms have passed. */
  timeoutMs?: number;
  metadata?: Metadata;
  fee?: FeeInput;
}

export type HoldDecisionSource = { source: "api" } | { source: "chain"; chainEventId: string };
export type HoldResolution = HoldDecisionSource | { source: "timeout" };

export interface Hold {
  id: string;
  /** HMAC-SHA256(platformKey, "hold:" + id). */
  pseudonym: Hex;
  debitAccountId: string;
  creditAccountId: string;
  asset: string;
  amount: bigint;
  kind: TransferKind;
  status: HoldStatus;
  escrowId?: Hex;
  payeeAccountId?: string;
  expiresAt?: number;
  metadata?: Metadata;
  fee?: Fee;
  createdAt: number;
  /** Sequence of the HOLD_CREATED event. */
  sequence: number;
  resolvedAt?: number;
  /** Sequence of the HOLD_POSTED / HOLD_VOIDED event. */
  resolvedSequence?: number;
  resolution?: HoldResolution;
  /** Escrow holds released on chain: the escrow → payee transfer ("escrow-release:" + hold id). */
  releaseTransferId?: string;
}

export type SubjectKind = "account" | "transfer" | "hold" | "fact";

export interface LedgerEvent {
  sequence: number;
  leafBytes: Uint8Array;
  leafHash: Uint8Array;
  entry: LeafEntry;
  subject: { kind: SubjectKind; id: string };
  /** External ids of the accounts involved (debit first). */
  accounts: string[];
  /** Milliseconds since the Unix epoch (= entry.timestamp). */
  createdAt: number;
}

/**
 * A committed event as stored, its leaf not decoded: for consumers that read only a few leaf
 * fields of many events (the risk engine). The ledger wrote these bytes itself.
 */
export interface LedgerEventLeaf {
  sequence: number;
  leafBytes: Uint8Array;
  /** External ids of the accounts involved (debit first). */
  accounts: string[];
  /** Milliseconds since the Unix epoch (= the leaf's timestamp). */
  createdAt: number;
}

export interface AssetTotals {
  asset: string;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

export interface InvariantViolation {
  /** Stable name of the broken invariant, e.g. "debits_equal_credits". */
  invariant: string;
  message: string;
  asset?: string;
  accountId?: string;
  sequence?: number;
}

export interface InvariantReport {
  ok: boolean;
  violations: InvariantViolation[];
  perAsset: AssetTotals[];
  accounts: number;
  transfers: number;
  holds: number;
  events: number;
}

/**
 * Per asset: what the platform owes customers (customer sub-accounts, escrow, withdrawals in
 * transit) against what the custodian bank holds (the mirror). `covered` iff the mirror is at least
 * the sum of customer, escrow and settlement balances (settlement is signed: positive = withdrawals
 * owed out, negative = deposits not yet seen at the bank).
 */
export interface SegregationReport {
  asset: string;
  customerLiabilities: bigint;
  escrowLiabilities: bigint;
  settlementInTransit: bigint;
  platformOwnFunds: bigint;
  feeRevenue: bigint;
  bankMirrorBalance: bigint;
  /** bankMirrorBalance − (customer + escrow + settlement). */
  surplus: bigint;
  covered: boolean;
}

export type { FactKind };

/** A non-money fact to put on the log (see Ledger.recordFact and docs/leaf-encoding-v1.md). */
export interface FactInput {
  /** Client-chosen id: recording it again with the same terms returns the stored fact. */
  id: string;
  kind: FactKind;
  /** SHA-256 of the fact's document (0x + 64 lower-case hex); the owning module stores the document. */
  documentHash: Hex;
  /** Ledger account id the fact is about; it enters the leaf as the account's pseudonym. */
  subject?: string;
  asset?: string;
  /** Minor units, 0 <= amount < 2^128. */
  amount?: bigint;
}

export interface Fact extends FactInput {
  /** The fact's event: leaf index in the log. */
  sequence: number;
  /** Milliseconds since the Unix epoch (= the leaf's timestamp). */
  recordedAt: number;
}
