import {
  AccountClosedError,
  AccountFrozenError,
  AssetMismatchError,
  CustomerFundsOutflowError,
  EscrowMovementNotAllowedError,
  FeeScheduleViolationError,
  FundsMixingError,
  InsufficientFundsError,
  LimitExceededError,
  TransferKindNotAllowedError,
} from "./errors";
import type {
  AccountLimits,
  AccountStatus,
  AccountType,
  Balance,
  Fee,
  FeeSchedule,
  TransferKind,
} from "./types";

/**
 * The ledger's rules as pure functions over account state: no I/O, no clock. The engine calls them
 * for every transfer and hold, in one fixed order (see `checkMovement`), so the first rule broken
 * decides the error.
 */
export interface AccountState {
  readonly id: string;
  readonly type: AccountType;
  readonly asset: string;
  status: AccountStatus;
  readonly limits?: AccountLimits;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

/**
 * Where a movement comes from: a client `transfer`, a client `hold`, or the execution of an
 * on-chain escrow decision (`chain`).
 */
export type MovementContext = "transfer" | "hold" | "chain";

/** Accounts whose balance may never go below zero: money the platform owes or owns. */
export function isBounded(type: AccountType): boolean {
  return type === "customer" || type === "escrow" || type === "platform_own" || type === "fee_revenue";
}

export function balanceOf(a: AccountState): Balance {
  const debitNormal = a.type === "bank_mirror";
  const posted = debitNormal ? a.debitsPosted - a.creditsPosted : a.creditsPosted - a.debitsPosted;
  const pending = debitNormal ? a.creditsPending : a.debitsPending;
  return {
    posted,
    pending,
    available: posted - pending,
    debitsPosted: a.debitsPosted,
    creditsPosted: a.creditsPosted,
    debitsPending: a.debitsPending,
    creditsPending: a.creditsPending,
  };
}

const CUSTOMER_SIDE = new Set<AccountType>(["customer", "escrow"]);
const PLATFORM_SIDE = new Set<AccountType>(["platform_own", "fee_revenue"]);

type Pair = `${AccountType}>${AccountType}`;
/** Which (debit type > credit type) pairs each kind may move between; adjustment is checked separately. */
const KIND_PAIRS: Record<Exclude<TransferKind, "adjustment">, ReadonlySet<Pair>> = {
  deposit: new Set<Pair>([
    "bank_mirror>customer",
    "settlement>customer",
    "bank_mirror>platform_own",
    "settlement>platform_own",
  ]),
  withdrawal: new Set<Pair>(["customer>settlement", "platform_own>settlement", "fee_revenue>settlement"]),
  transfer: new Set<Pair>([
    "customer>customer",
    "platform_own>platform_own",
    "fee_revenue>platform_own",
    "settlement>bank_mirror",
    "bank_mirror>settlement",
    "settlement>settlement",
    "bank_mirror>bank_mirror",
  ]),
  fee: new Set<Pair>(["customer>fee_revenue"]),
  escrow_hold: new Set<Pair>(["customer>escrow"]),
  escrow_release: new Set<Pair>(["escrow>customer"]),
  escrow_refund: new Set<Pair>(["escrow>customer"]),
};

/** Where customer money may go, and under which kinds. */
const CUSTOMER_OUTFLOWS: Partial<Record<AccountType, ReadonlySet<TransferKind>>> = {
  customer: new Set<TransferKind>(["transfer", "adjustment"]),
  escrow: new Set<TransferKind>(["escrow_hold"]),
  settlement: new Set<TransferKind>(["withdrawal", "adjustment"]),
  fee_revenue: new Set<TransferKind>(["fee"]),
};

/** The largest fee a schedule entry allows on `base`. */
export function maxFee(rule: FeeSchedule[string], base: bigint): bigint {
  let allowed = (rule.fixed ?? 0n) + (base * BigInt(rule.basisPoints ?? 0)) / 10_000n;
  if (rule.min !== undefined && allowed < rule.min) allowed = rule.min;
  if (rule.max !== undefined && allowed > rule.max) allowed = rule.max;
  return allowed;
}

export function checkFeeSchedule(
  schedule: FeeSchedule | undefined,
  fee: Fee | undefined,
  asset: string,
  amount: bigint,
): void {
  if (!fee) throw new FeeScheduleViolationError("a fee transfer must name its fee code");
  const rule = schedule && Object.hasOwn(schedule, fee.code) ? schedule[fee.code] : undefined;
  if (!rule)
    throw new FeeScheduleViolationError(`fee code ${JSON.stringify(fee.code)} is not in the fee schedule`);
  if (rule.asset !== asset)
    throw new FeeScheduleViolationError(`fee code ${JSON.stringify(fee.code)} applies to ${rule.asset}`, {
      details: `got a fee in ${asset}`,
    });
  const allowed = maxFee(rule, fee.base ?? 0n);
  if (amount > allowed)
    throw new FeeScheduleViolationError(`fee exceeds the schedule for ${JSON.stringify(fee.code)}`, {
      details: `allowed at most ${allowed} on base ${fee.base ?? 0n}, got ${amount}`,
    });
}

/** The fund-segregation rules; each broken rule throws its own SegregationViolationError subclass. */
export function checkSegregation(
  kind: TransferKind,
  debit: AccountState,
  credit: AccountState,
  amount: bigint,
  fee: Fee | undefined,
  schedule: FeeSchedule | undefined,
  context: MovementContext,
): void {
  const pair = `${debit.type}>${credit.type}` as Pair;
  // 1. Escrow is moved only by escrow holds and by executing on-chain decisions.
  if (kind === "escrow_hold" && context !== "hold")
    throw new EscrowMovementNotAllowedError("escrow_hold moves money only as a hold (createHold)");
  if ((kind === "escrow_release" || kind === "escrow_refund") && context !== "chain")
    throw new EscrowMovementNotAllowedError(`${kind} happens only by an on-chain escrow decision`);
  if (debit.type === "escrow" && context !== "chain")
    throw new EscrowMovementNotAllowedError(
      `escrow account ${JSON.stringify(debit.id)} is debited only by on-chain decisions`,
    );
  if (credit.type === "escrow" && kind !== "escrow_hold")
    throw new EscrowMovementNotAllowedError(
      `escrow account ${JSON.stringify(credit.id)} is credited only by escrow holds`,
    );
  // 2. Customer money leaves only to a customer, escrow, settlement (withdrawal) or the fee account (fee).
  if (debit.type === "customer") {
    const kinds = CUSTOMER_OUTFLOWS[credit.type];
    if (!kinds || !kinds.has(kind))
      throw new CustomerFundsOutflowError(`customer funds cannot go to a ${credit.type} account as ${kind}`, {
        details: `allowed: customer (transfer, adjustment), escrow (escrow_hold), settlement (withdrawal, adjustment), fee_revenue (fee)`,
      });
  }
  // 3. Platform money reaches customer money only as an explicit, logged adjustment.
  if (PLATFORM_SIDE.has(debit.type) && CUSTOMER_SIDE.has(credit.type) && kind !== "adjustment")
    throw new FundsMixingError(`platform funds reach a ${credit.type} account only as an adjustment`, {
      details: `got ${kind} from ${debit.type}`,
    });
  if (CUSTOMER_SIDE.has(debit.type) && PLATFORM_SIDE.has(credit.type) && kind !== "fee")
    throw new FundsMixingError(`customer funds reach a ${credit.type} account only as a fee`);
  // 4. The kind must fit the account types.
  if (kind !== "adjustment" && !KIND_PAIRS[kind].has(pair))
    throw new TransferKindNotAllowedError(`a ${kind} cannot move from ${debit.type} to ${credit.type}`);
  if (kind === "fee") checkFeeSchedule(schedule, fee, debit.asset, amount);
}

/**
 * Every check on one movement of `amount` from `debit` to `credit`, in order: closed accounts,
 * asset, segregation, frozen debit, limits, funds. Throws the first failure; mutates nothing.
 */
export function checkMovement(
  kind: TransferKind,
  debit: AccountState,
  credit: AccountState,
  amount: bigint,
  fee: Fee | undefined,
  schedule: FeeSchedule | undefined,
  context: MovementContext,
): void {
  if (debit.status === "closed") throw new AccountClosedError(debit.id);
  if (credit.status === "closed") throw new AccountClosedError(credit.id);
  if (debit.asset !== credit.asset)
    throw new AssetMismatchError(`accounts hold different assets`, {
      details: `${debit.id} holds ${debit.asset}, ${credit.id} holds ${credit.asset}`,
    });
  checkSegregation(kind, debit, credit, amount, fee, schedule, context);
  if (context !== "chain") {
    if (debit.status === "frozen") throw new AccountFrozenError(debit.id);
    const maxT = debit.limits?.maxTransferAmount;
    if (maxT !== undefined && amount > maxT)
      throw new LimitExceededError(debit.id, "maxTransferAmount", {
        details: `limit ${maxT}, got ${amount}`,
      });
  }
  const maxB = credit.limits?.maxBalance;
  if (maxB !== undefined) {
    const b = balanceOf(credit);
    const incoming = credit.type === "bank_mirror" ? credit.debitsPending : credit.creditsPending;
    if (b.posted + incoming + amount > maxB)
      throw new LimitExceededError(credit.id, "maxBalance", {
        details: `limit ${maxB}, balance ${b.posted} + incoming pending ${incoming} + ${amount}`,
      });
  }
  if (isBounded(debit.type)) {
    const available = balanceOf(debit).available;
    if (available < amount) throw new InsufficientFundsError(debit.id, available, amount);
  }
}
