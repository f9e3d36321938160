import { CustodyError, InvalidArgumentError, InvariantError } from "../errors";

/**
 * Every failure of the ledger a caller acts on. A failed operation changes nothing.
 * Input errors extend InvalidArgumentError (HTTP 400); the others are refusals by a ledger rule.
 */
type Opts = { details?: string; cause?: unknown };

/** A malformed input field (id, metadata, kind, scale, timeout...). */
export class InvalidLedgerInputError extends InvalidArgumentError {
  override name = "InvalidLedgerInputError";
  override readonly code = "INVALID_LEDGER_INPUT";
}

/** Amount is negative, zero, fractional, not a number or above 2^128 − 1. */
export class InvalidAmountError extends InvalidArgumentError {
  override name = "InvalidAmountError";
  override readonly code = "INVALID_AMOUNT";
}

/** Debit and credit are the same account. */
export class SameAccountError extends InvalidArgumentError {
  override name = "SameAccountError";
  override readonly code = "SAME_ACCOUNT";
}

export class UnknownAccountError extends CustodyError {
  override name = "UnknownAccountError";
  constructor(
    readonly accountId: string,
    opts: Opts = {},
  ) {
    super("UNKNOWN_ACCOUNT", `unknown account ${JSON.stringify(accountId)}`, opts);
  }
}

export class UnknownTransferError extends CustodyError {
  override name = "UnknownTransferError";
  constructor(readonly transferId: string) {
    super("UNKNOWN_TRANSFER", `unknown transfer ${JSON.stringify(transferId)}`);
  }
}

export class UnknownHoldError extends CustodyError {
  override name = "UnknownHoldError";
  constructor(readonly holdId: string) {
    super("UNKNOWN_HOLD", `unknown hold ${JSON.stringify(holdId)}`);
  }
}

export class UnknownFactError extends CustodyError {
  override name = "UnknownFactError";
  constructor(readonly factId: string) {
    super("UNKNOWN_FACT", `unknown fact ${JSON.stringify(factId)}`);
  }
}

export class AssetMismatchError extends CustodyError {
  override name = "AssetMismatchError";
  constructor(message: string, opts: Opts = {}) {
    super("ASSET_MISMATCH", message, opts);
  }
}

/** An id was reused with a different body (or an account id with different terms). */
export class IdempotencyConflictError extends CustodyError {
  override name = "IdempotencyConflictError";
  constructor(
    readonly id: string,
    opts: Opts = {},
  ) {
    super("IDEMPOTENCY_CONFLICT", `id ${JSON.stringify(id)} was already used with a different body`, opts);
  }
}

export class AccountFrozenError extends CustodyError {
  override name = "AccountFrozenError";
  constructor(readonly accountId: string) {
    super("ACCOUNT_FROZEN", `account ${JSON.stringify(accountId)} is frozen and cannot be debited`);
  }
}

export class AccountClosedError extends CustodyError {
  override name = "AccountClosedError";
  constructor(readonly accountId: string) {
    super("ACCOUNT_CLOSED", `account ${JSON.stringify(accountId)} is closed`);
  }
}

/** Closing an account that still has a balance or pending holds. */
export class AccountNotEmptyError extends CustodyError {
  override name = "AccountNotEmptyError";
  constructor(
    readonly accountId: string,
    opts: Opts = {},
  ) {
    super("ACCOUNT_NOT_EMPTY", `account ${JSON.stringify(accountId)} has a balance or pending holds`, opts);
  }
}

/** E.g. reopening a closed account. */
export class InvalidStatusTransitionError extends CustodyError {
  override name = "InvalidStatusTransitionError";
  constructor(
    readonly accountId: string,
    from: string,
    to: string,
  ) {
    super(
      "INVALID_STATUS_TRANSITION",
      `account ${JSON.stringify(accountId)} cannot go from ${from} to ${to}`,
    );
  }
}

export class InsufficientFundsError extends CustodyError {
  override name = "InsufficientFundsError";
  constructor(
    readonly accountId: string,
    readonly available: bigint,
    readonly requested: bigint,
  ) {
    super("INSUFFICIENT_FUNDS", `account ${JSON.stringify(accountId)} has insufficient available funds`, {
      details: `available ${available}, requested ${requested}`,
    });
  }
}

/** An account limit (maxTransferAmount, maxBalance) would be exceeded. */
export class LimitExceededError extends CustodyError {
  override name = "LimitExceededError";
  constructor(
    readonly accountId: string,
    readonly limit: string,
    opts: Opts = {},
  ) {
    super("LIMIT_EXCEEDED", `account ${JSON.stringify(accountId)} limit ${limit} would be exceeded`, opts);
  }
}

export class HoldNotPendingError extends CustodyError {
  override name = "HoldNotPendingError";
  constructor(
    readonly holdId: string,
    readonly status: string,
  ) {
    super("HOLD_NOT_PENDING", `hold ${JSON.stringify(holdId)} is ${status}, not pending`);
  }
}

/**
 * A chain decision for a hold that an earlier, different chain event already decided the same way
 * (posted for a release, voided for a refund). Nothing changes; a caller replaying chain events may
 * skip it, since the outcome it asks for is already applied.
 */
export class HoldAlreadyDecidedError extends HoldNotPendingError {
  override name = "HoldAlreadyDecidedError";
}

/**
 * A chain decision for a hold that is already decided the other way (a release for a voided hold, a
 * refund for a posted one). Nothing changes; the ledger and the chain disagree and someone must look.
 */
export class HoldDecidedOtherwiseError extends HoldNotPendingError {
  override name = "HoldDecidedOtherwiseError";
}

/** voidHold with source "timeout" before the hold's expiry (or on a hold without one). */
export class HoldNotExpiredError extends CustodyError {
  override name = "HoldNotExpiredError";
  constructor(readonly holdId: string) {
    super("HOLD_NOT_EXPIRED", `hold ${JSON.stringify(holdId)} has not expired`);
  }
}

/** Escrow holds are posted or voided only by on-chain escrow decisions. */
export class EscrowHoldRequiresChainDecisionError extends CustodyError {
  override name = "EscrowHoldRequiresChainDecisionError";
  constructor(readonly holdId: string) {
    super(
      "ESCROW_HOLD_REQUIRES_CHAIN_DECISION",
      `hold ${JSON.stringify(holdId)} is an escrow hold: only an on-chain decision can post or void it`,
    );
  }
}

/** A hold decision from the chain that only escrow holds accept (or a chain decision on a non-escrow hold). */
export class NotAnEscrowHoldError extends CustodyError {
  override name = "NotAnEscrowHoldError";
  constructor(readonly holdId: string) {
    super("NOT_AN_ESCROW_HOLD", `hold ${JSON.stringify(holdId)} is not an escrow hold`);
  }
}

/** A chain event id already decided a different hold or the opposite outcome. */
export class ChainEventConflictError extends CustodyError {
  override name = "ChainEventConflictError";
  constructor(
    readonly chainEventId: string,
    opts: Opts = {},
  ) {
    super("CHAIN_EVENT_CONFLICT", `chain event ${chainEventId} already decided something else`, opts);
  }
}

/** The escrow id is already bound to another hold. */
export class EscrowIdConflictError extends CustodyError {
  override name = "EscrowIdConflictError";
  constructor(readonly escrowId: string) {
    super("ESCROW_ID_CONFLICT", `escrow id ${escrowId} is already bound to another hold`);
  }
}

/** Base of the fund-segregation rules; each rule has its own subclass and code. */
export abstract class SegregationViolationError extends CustodyError {
  override name = "SegregationViolationError";
  /** The refused transfer's id, when a transfer (single or in a batch) was refused. */
  transferId?: string;
  /** Its position in the submitted batch (0 for a single transfer). */
  batchIndex?: number;

  /** Names the refused transfer: a batch is refused whole, and callers must know which one broke the rule. */
  refusedTransfer(transferId: string, batchIndex: number): this {
    this.transferId = transferId;
    this.batchIndex = batchIndex;
    return this;
  }
}

/** Customer money may leave a customer sub-account only to another customer, to escrow (hold),
 *  as a withdrawal to settlement, or as a fee into the fee account. */
export class CustomerFundsOutflowError extends SegregationViolationError {
  override name = "CustomerFundsOutflowError";
  constructor(message: string, opts: Opts = {}) {
    super("SEGREGATION_CUSTOMER_OUTFLOW", message, opts);
  }
}

/** Platform funds and customer funds may meet only through explicit kinds (fee in, adjustment out). */
export class FundsMixingError extends SegregationViolationError {
  override name = "FundsMixingError";
  constructor(message: string, opts: Opts = {}) {
    super("SEGREGATION_FUNDS_MIXING", message, opts);
  }
}

/** A fee outside the configured fee schedule (unknown code, wrong asset, too large). */
export class FeeScheduleViolationError extends SegregationViolationError {
  override name = "FeeScheduleViolationError";
  constructor(message: string, opts: Opts = {}) {
    super("SEGREGATION_FEE_SCHEDULE", message, opts);
  }
}

/** The transfer kind does not fit the account types (e.g. a deposit into an escrow account). */
export class TransferKindNotAllowedError extends SegregationViolationError {
  override name = "TransferKindNotAllowedError";
  constructor(message: string, opts: Opts = {}) {
    super("SEGREGATION_KIND_NOT_ALLOWED", message, opts);
  }
}

/** Escrow kinds and escrow debits happen only through escrow holds and on-chain decisions. */
export class EscrowMovementNotAllowedError extends SegregationViolationError {
  override name = "EscrowMovementNotAllowedError";
  constructor(message: string, opts: Opts = {}) {
    super("SEGREGATION_ESCROW_RESERVED", message, opts);
  }
}

/**
 * A transfer id already has its event in the log but no transfer row: the derived table was
 * altered (a row deleted). The ledger refuses to apply it again; `custody audit` names the row.
 */
export class TransferEventExistsError extends InvariantError {
  override name = "TransferEventExistsError";
  override readonly code = "TRANSFER_EVENT_EXISTS";
  constructor(opts: { details?: string; cause?: unknown } = {}) {
    super("a transfer of this batch is already in the event log but its transfer row is missing", opts);
  }
}

/**
 * A derived row (transfer, account) disagrees with the event it was made from: the row was edited
 * outside the ledger. The ledger refuses to serve it; `custody audit` names it too.
 */
export class DerivedRowMismatchError extends InvariantError {
  override name = "DerivedRowMismatchError";
  readonly table: string;
  readonly key: string;
  readonly column: string;
  constructor(table: string, key: string, column: string, sequence: number) {
    super(`${table} ${key} disagrees with its event`, {
      details: `column ${column} differs from event ${sequence}; run custody audit`,
    });
    this.table = table;
    this.key = key;
    this.column = column;
  }
}
