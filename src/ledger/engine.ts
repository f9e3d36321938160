import { randomFillSync } from "node:crypto";
import type { Hex } from "viem";
import { type Pseudonymizer, canonicalJson, detailsHash } from "./canonical";
import {
  AccountNotEmptyError,
  ChainEventConflictError,
  EscrowHoldRequiresChainDecisionError,
  EscrowIdConflictError,
  HoldNotExpiredError,
  HoldAlreadyDecidedError,
  HoldDecidedOtherwiseError,
  HoldNotPendingError,
  IdempotencyConflictError,
  InvalidLedgerInputError,
  InvalidStatusTransitionError,
  NotAnEscrowHoldError,
  UnknownAccountError,
  UnknownHoldError,
  SegregationViolationError,
} from "./errors";
import { type EventTypeName, FACT_KINDS, type FactKind, ZERO32 } from "../protocol/leaf-v1";
import { type PreparedLeaf, type Word32, prepareLeaf, recurringWord } from "./leaf-writer";
import { checkMovement } from "./rules";
import {
  type AccountRow,
  type Changes,
  type EventDraft,
  type FactRow,
  type HoldRow,
  type LoadedState,
  type Plan,
  type TransferRow,
  emptyChanges,
} from "./store";
import { limitsToJson } from "./rows";
import {
  ACCOUNT_STATUSES,
  ACCOUNT_TYPES,
  type AccountLimits,
  type AccountStatus,
  type AccountType,
  type Fee,
  type FeeSchedule,
  type JsonValue,
  TRANSFER_KINDS,
  type TransferKind,
} from "./types";
import { RELEASE_PREFIX } from "./validate";

/**
 * The ledger's write operations as pure plans over loaded state: each takes the rows the store
 * locked, applies the rules, mutates the in-memory rows and lists the changes and events to write.
 * No I/O happens here, so SQLite and PostgreSQL run exactly the same logic.
 */
export interface EngineContext {
  pseudonyms: Pseudonymizer;
  feeSchedule?: FeeSchedule;
}

/** Validated inputs (see validate.ts). */
export interface NewAccount {
  id: string;
  type: AccountType;
  asset: string;
  scale: number;
  limits?: AccountLimits;
  metadata: string | null;
}
export interface NewTransfer {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  kind: TransferKind;
  metadata: string | null;
  fee: Fee | undefined;
  feeJson: string | null;
}
export interface NewHold extends NewTransfer {
  escrowId: Hex | null;
  payeeAccountId: string | null;
  timeoutMs: number | null;
}
export type Decision =
  | { source: "api" }
  | { source: "timeout"; at: number }
  | { source: "chain"; chainEventId: string; txHash: Hex };

export function feeToJson(fee: Fee | undefined): string | null {
  if (!fee) return null;
  return canonicalJson(
    fee.base === undefined ? { code: fee.code } : { code: fee.code, base: fee.base.toString() },
  );
}

// Salts come from one CSPRNG pool refilled in blocks: a syscall per event would dominate batches.
// Each salt is a fresh 32-byte slice of a fresh pool: bytes are never handed out twice.
const SALT_POOL_BYTES = 32 * 1024;
let saltPool = Buffer.alloc(0);
let saltOffset = 0;
function nextSalt(): Uint8Array {
  if (saltOffset === saltPool.length) {
    saltPool = randomFillSync(Buffer.allocUnsafe(SALT_POOL_BYTES));
    saltOffset = 0;
  }
  const salt = saltPool.subarray(saltOffset, saltOffset + 32);
  saltOffset += 32;
  return salt;
}

/** An event's leaf fields as a plan gives them: the entry id, the salt and the time come apart. */
interface LeafDraft {
  eventType: EventTypeName;
  debitAccount?: Word32;
  creditAccount?: Word32;
  asset: string;
  amount?: bigint;
  code: number;
  reference?: Hex;
  metadataHash?: Hex;
}

function draft(
  changes: Changes,
  now: number,
  leaf: LeafDraft & { entryId: Word32 },
  subject: Pick<EventDraft, "subjectKind" | "subjectId" | "debitAccountId" | "creditAccountId">,
  assign: (seq: number) => void,
): void {
  changes.events.push({
    prepared: prepareLeaf(leafFields(leaf, now, nextSalt(), leaf.entryId)),
    ...subject,
    createdAt: now,
    assign,
  });
}

function leafFields(leaf: LeafDraft, now: number, salt: Word32, entryId: Word32) {
  return {
    eventType: leaf.eventType,
    timestamp: now,
    salt,
    entryId,
    debitAccount: leaf.debitAccount ?? ZERO32,
    creditAccount: leaf.creditAccount ?? ZERO32,
    asset: leaf.asset,
    amount: leaf.amount ?? 0n,
    code: leaf.code,
    reference: leaf.reference ?? ZERO32,
    metadataHash: leaf.metadataHash ?? ZERO32,
  };
}

/**
 * A transfer's event whose leaf, and the entry id in it (an HMAC of the transfer id), are made when
 * first read: a PostgreSQL batch reads them while the server writes its balances (#commitSplit in
 * postgres-store.ts), not before. Nothing in them can fail: every field was checked by the plan.
 * The row's pseudonym is the entry id, filled in with the leaf.
 */
class TransferEvent implements EventDraft {
  readonly subjectKind = "transfer" as const;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly #salt = nextSalt(); // taken now, in event order, as every other event's
  #prepared: PreparedLeaf | undefined;

  constructor(
    private readonly ctx: EngineContext,
    private readonly row: TransferRow,
    private readonly leaf: LeafDraft,
  ) {
    this.debitAccountId = row.debitAccountId;
    this.creditAccountId = row.creditAccountId;
  }
  get subjectId(): string {
    return this.row.id;
  }
  get createdAt(): number {
    return this.row.createdAt;
  }
  get prepared(): PreparedLeaf {
    if (this.#prepared) return this.#prepared;
    const entryId = this.ctx.pseudonyms.ofBytes("transfer", this.row.id);
    this.row.pseudonym = `0x${entryId.toString("hex")}`;
    return (this.#prepared = prepareLeaf(leafFields(this.leaf, this.row.createdAt, this.#salt, entryId)));
  }
  assign(sequence: number): void {
    this.row.sequence = sequence;
  }
}

const parseJson = (t: string | null): JsonValue | undefined =>
  t === null ? undefined : (JSON.parse(t) as JsonValue);

function account(state: LoadedState, id: string): AccountRow {
  const a = state.accounts.get(id);
  if (!a) throw new UnknownAccountError(id);
  return a;
}

/** Terms of an account as hashed into its ACCOUNT_OPENED leaf (docs/leaf-encoding-v1.md). */
export function accountDetails(a: { scale: number; limits?: AccountLimits; metadata: string | null }) {
  const limits = a.limits ? (JSON.parse(limitsToJson(a.limits)!) as JsonValue) : undefined;
  return { scale: a.scale, limits, metadata: parseJson(a.metadata) };
}

export function planOpenAccount(
  ctx: EngineContext,
  input: NewAccount,
  state: LoadedState,
  now: number,
): Plan<AccountRow> {
  const changes = emptyChanges();
  const existing = state.accounts.get(input.id);
  if (existing) {
    const same =
      existing.type === input.type &&
      existing.asset === input.asset &&
      existing.scale === input.scale &&
      limitsToJson(existing.limits) === limitsToJson(input.limits) &&
      existing.metadata === input.metadata;
    if (!same)
      throw new IdempotencyConflictError(input.id, { details: "the account exists with other terms" });
    return { changes, result: () => existing };
  }
  const row: AccountRow = {
    id: input.id,
    pseudonym: ctx.pseudonyms.account(input.id),
    type: input.type,
    asset: input.asset,
    scale: input.scale,
    status: "active",
    limits: input.limits,
    metadata: input.metadata,
    debitsPosted: 0n,
    creditsPosted: 0n,
    debitsPending: 0n,
    creditsPending: 0n,
    createdAt: now,
    sequence: -1,
  };
  changes.newAccounts.push(row);
  draft(
    changes,
    now,
    {
      eventType: "ACCOUNT_OPENED",
      entryId: row.pseudonym,
      asset: row.asset,
      code: ACCOUNT_TYPES[row.type],
      metadataHash: detailsHash(accountDetails(row)),
    },
    { subjectKind: "account", subjectId: row.id, debitAccountId: null, creditAccountId: null },
    (s) => (row.sequence = s),
  );
  return { changes, result: () => row };
}

export function planSetStatus(
  _ctx: EngineContext,
  id: string,
  status: AccountStatus,
  state: LoadedState,
  now: number,
): Plan<AccountRow> {
  const changes = emptyChanges();
  const a = account(state, id);
  if (a.status === status) return { changes, result: () => a };
  if (a.status === "closed") throw new InvalidStatusTransitionError(id, a.status, status);
  if (
    status === "closed" &&
    (a.debitsPosted !== a.creditsPosted || a.debitsPending !== 0n || a.creditsPending !== 0n)
  ) {
    throw new AccountNotEmptyError(id, {
      details: `debits ${a.debitsPosted}, credits ${a.creditsPosted}, pending ${a.debitsPending}/${a.creditsPending}`,
    });
  }
  a.status = status;
  changes.updatedAccounts.add(a);
  changes.statusChanged.push(a);
  draft(
    changes,
    now,
    {
      eventType: "ACCOUNT_STATUS_CHANGED",
      entryId: a.pseudonym,
      asset: a.asset,
      code: ACCOUNT_STATUSES[status],
    },
    { subjectKind: "account", subjectId: a.id, debitAccountId: null, creditAccountId: null },
    () => {},
  );
  return { changes, result: () => a };
}

function sameTransferBody(t: TransferRow, i: NewTransfer): boolean {
  return (
    t.debitAccountId === i.debitAccountId &&
    t.creditAccountId === i.creditAccountId &&
    t.amount === i.amount &&
    t.kind === i.kind &&
    t.metadata === i.metadata &&
    t.fee === i.feeJson &&
    t.holdId === null
  );
}

export function transferDetails(metadata: string | null, fee: string | null) {
  return { fee: parseJson(fee), metadata: parseJson(metadata) };
}

/** Applies the transfers in order, all or none (the store rolls back if any throws). */
export function planTransfers(
  ctx: EngineContext,
  inputs: readonly NewTransfer[],
  state: LoadedState,
  now: number,
): Plan<TransferRow[]> {
  const changes = emptyChanges();
  const out: TransferRow[] = [];
  const fresh = new Map<string, TransferRow>();
  for (let index = 0; index < inputs.length; index++) {
    const i = inputs[index]!;
    const existing = state.transfers.get(i.id) ?? fresh.get(i.id);
    if (existing) {
      if (!sameTransferBody(existing, i)) throw new IdempotencyConflictError(i.id);
      out.push(existing);
      continue;
    }
    const debit = account(state, i.debitAccountId);
    const credit = account(state, i.creditAccountId);
    try {
      checkMovement(i.kind, debit, credit, i.amount, i.fee, ctx.feeSchedule, "transfer");
    } catch (e) {
      throw e instanceof SegregationViolationError ? e.refusedTransfer(i.id, index) : e;
    }
    debit.debitsPosted += i.amount;
    credit.creditsPosted += i.amount;
    changes.updatedAccounts.add(debit).add(credit);
    const row: TransferRow = {
      id: i.id,
      pseudonym: undefined, // with the leaf (TransferEvent)
      debitAccountId: i.debitAccountId,
      creditAccountId: i.creditAccountId,
      asset: debit.asset,
      amount: i.amount,
      kind: i.kind,
      metadata: i.metadata,
      fee: i.feeJson,
      holdId: null,
      sequence: -1,
      createdAt: now,
    };
    fresh.set(i.id, row);
    changes.newTransfers.push(row);
    out.push(row);
    changes.events.push(
      new TransferEvent(ctx, row, {
        eventType: "TRANSFER_POSTED",
        debitAccount: (debit.pseudonymBytes ??= recurringWord(debit.pseudonym)),
        creditAccount: (credit.pseudonymBytes ??= recurringWord(credit.pseudonym)),
        asset: debit.asset,
        amount: i.amount,
        code: TRANSFER_KINDS[i.kind],
        metadataHash:
          row.metadata === null && row.fee === null
            ? ZERO32
            : detailsHash(transferDetails(row.metadata, row.fee)),
      }),
    );
  }
  return { changes, result: () => out };
}

function sameHoldBody(h: HoldRow, i: NewHold, escrowId: Hex | null): boolean {
  return (
    h.debitAccountId === i.debitAccountId &&
    h.creditAccountId === i.creditAccountId &&
    h.amount === i.amount &&
    h.kind === i.kind &&
    h.metadata === i.metadata &&
    h.fee === i.feeJson &&
    h.escrowId === escrowId &&
    h.payeeAccountId === i.payeeAccountId &&
    h.timeoutMs === i.timeoutMs
  );
}

export function holdDetails(h: HoldRow, payeePseudonym: Hex | undefined) {
  return {
    expiresAt: h.expiresAt ?? undefined,
    fee: parseJson(h.fee),
    metadata: parseJson(h.metadata),
    payee: payeePseudonym,
  };
}

export function planCreateHold(
  ctx: EngineContext,
  i: NewHold,
  state: LoadedState,
  now: number,
): Plan<HoldRow> {
  const changes = emptyChanges();
  const isEscrow = i.kind === "escrow_hold";
  const escrowId = isEscrow ? (i.escrowId ?? ctx.pseudonyms.of("hold", i.id)) : null;
  const existing = state.holds.get(i.id);
  if (existing) {
    if (!sameHoldBody(existing, i, escrowId)) throw new IdempotencyConflictError(i.id);
    return { changes, result: () => existing };
  }
  if (isEscrow) {
    if (i.payeeAccountId === null) throw new InvalidLedgerInputError("an escrow hold needs payeeAccountId");
    if (i.timeoutMs !== null)
      throw new InvalidLedgerInputError("escrow holds have no timeout: the chain decides refunds");
  } else if (i.payeeAccountId !== null || i.escrowId !== null) {
    throw new InvalidLedgerInputError("payeeAccountId and escrowId apply to escrow holds only");
  }
  const debit = account(state, i.debitAccountId);
  const credit = account(state, i.creditAccountId);
  checkMovement(i.kind, debit, credit, i.amount, i.fee, ctx.feeSchedule, "hold");
  let payee: AccountRow | undefined;
  if (isEscrow) {
    payee = account(state, i.payeeAccountId!);
    // The release must be executable later: check it now, against an escrow holding the amount.
    const probe = { ...credit, creditsPosted: credit.creditsPosted + i.amount };
    checkMovement("escrow_release", probe, payee, i.amount, undefined, ctx.feeSchedule, "chain");
    const bound = state.holdsByEscrowId.get(escrowId!);
    if (bound && bound.id !== i.id) throw new EscrowIdConflictError(escrowId!);
  }
  debit.debitsPending += i.amount;
  credit.creditsPending += i.amount;
  changes.updatedAccounts.add(debit).add(credit);
  const row: HoldRow = {
    id: i.id,
    debitAccountId: debit.id,
    creditAccountId: credit.id,
    asset: debit.asset,
    amount: i.amount,
    kind: i.kind,
    status: "pending",
    escrowId,
    payeeAccountId: i.payeeAccountId,
    timeoutMs: i.timeoutMs,
    expiresAt: i.timeoutMs === null ? null : now + i.timeoutMs,
    metadata: i.metadata,
    fee: i.feeJson,
    createdAt: now,
    sequence: -1,
    resolvedAt: null,
    resolvedSequence: null,
    resolution: null,
    releaseTransferId: null,
  };
  changes.newHolds.push(row);
  draft(
    changes,
    now,
    {
      eventType: "HOLD_CREATED",
      entryId: ctx.pseudonyms.of("hold", i.id),
      debitAccount: debit.pseudonym,
      creditAccount: credit.pseudonym,
      asset: debit.asset,
      amount: i.amount,
      code: TRANSFER_KINDS[i.kind],
      reference: escrowId ?? ZERO32,
      metadataHash: detailsHash(holdDetails(row, payee?.pseudonym)),
    },
    { subjectKind: "hold", subjectId: i.id, debitAccountId: debit.id, creditAccountId: credit.id },
    (s) => (row.sequence = s),
  );
  return { changes, result: () => row };
}

/** The details object hashed into HOLD_POSTED / HOLD_VOIDED leaves. */
export function decisionDetails(d: Decision): { [k: string]: JsonValue } {
  return d.source === "chain" ? { source: d.source, chainEventId: d.chainEventId } : { source: d.source };
}

export function planResolveHold(
  ctx: EngineContext,
  id: string,
  action: "post" | "void",
  d: Decision,
  state: LoadedState,
  now: number,
): Plan<HoldRow> {
  const changes = emptyChanges();
  const h = state.holds.get(id);
  if (!h) throw new UnknownHoldError(id);
  const isEscrow = h.kind === "escrow_hold";
  if (d.source === "chain") {
    const seen = state.decisions.get(d.chainEventId);
    if (seen) {
      if (seen.holdId !== id || seen.action !== action)
        throw new ChainEventConflictError(d.chainEventId, {
          details: `it already ${seen.action === "post" ? "posted" : "voided"} hold ${seen.holdId}`,
        });
      return { changes, result: () => h }; // exactly once: a replay appends nothing
    }
    if (!isEscrow) throw new NotAnEscrowHoldError(id);
  } else {
    if (isEscrow) throw new EscrowHoldRequiresChainDecisionError(id);
    if (d.source === "timeout" && (h.expiresAt === null || h.expiresAt > d.at))
      throw new HoldNotExpiredError(id);
  }
  if (h.status !== "pending") {
    if (d.source !== "chain") throw new HoldNotPendingError(id, h.status);
    throw h.status === (action === "post" ? "posted" : "voided")
      ? new HoldAlreadyDecidedError(id, h.status)
      : new HoldDecidedOtherwiseError(id, h.status);
  }

  const debit = account(state, h.debitAccountId);
  const credit = account(state, h.creditAccountId);
  debit.debitsPending -= h.amount;
  credit.creditsPending -= h.amount;
  if (action === "post") {
    debit.debitsPosted += h.amount;
    credit.creditsPosted += h.amount;
  }
  changes.updatedAccounts.add(debit).add(credit);
  h.status = action === "post" ? "posted" : "voided";
  h.resolvedAt = now;
  h.resolution = canonicalJson(decisionDetails(d));
  changes.updatedHolds.push(h);
  if (d.source === "chain") changes.newDecisions.push({ chainEventId: d.chainEventId, holdId: id, action });
  const reference = d.source === "chain" ? d.txHash : ZERO32;
  draft(
    changes,
    now,
    {
      eventType: action === "post" ? "HOLD_POSTED" : "HOLD_VOIDED",
      entryId: ctx.pseudonyms.of("hold", id),
      debitAccount: debit.pseudonym,
      creditAccount: credit.pseudonym,
      asset: h.asset,
      amount: h.amount,
      code: TRANSFER_KINDS[h.kind],
      reference,
      metadataHash: detailsHash(decisionDetails(d)),
    },
    { subjectKind: "hold", subjectId: id, debitAccountId: debit.id, creditAccountId: credit.id },
    (s) => (h.resolvedSequence = s),
  );

  if (isEscrow && action === "post") {
    // Release: the escrow pays the payee in the same transaction (escrow-release:<hold id>).
    const payee = account(state, h.payeeAccountId!);
    checkMovement("escrow_release", credit, payee, h.amount, undefined, ctx.feeSchedule, "chain");
    credit.debitsPosted += h.amount;
    payee.creditsPosted += h.amount;
    changes.updatedAccounts.add(payee);
    const tid = RELEASE_PREFIX + id;
    const t: TransferRow = {
      id: tid,
      debitAccountId: credit.id,
      creditAccountId: payee.id,
      asset: h.asset,
      amount: h.amount,
      kind: "escrow_release",
      metadata: null,
      fee: null,
      holdId: id,
      sequence: -1,
      createdAt: now,
    };
    h.releaseTransferId = tid;
    changes.newTransfers.push(t);
    draft(
      changes,
      now,
      {
        eventType: "TRANSFER_POSTED",
        entryId: ctx.pseudonyms.of("transfer", tid),
        debitAccount: credit.pseudonym,
        creditAccount: payee.pseudonym,
        asset: h.asset,
        amount: h.amount,
        code: TRANSFER_KINDS.escrow_release,
        reference,
        metadataHash: detailsHash(releaseDetails(h.escrowId!, ctx.pseudonyms.of("hold", id))),
      },
      { subjectKind: "transfer", subjectId: tid, debitAccountId: credit.id, creditAccountId: payee.id },
      (s) => (t.sequence = s),
    );
  }
  return { changes, result: () => h };
}

export function releaseDetails(escrowId: Hex, holdPseudonym: Hex) {
  return { escrowId, hold: holdPseudonym };
}

/** Validated input of recordFact (see validate.ts checkFact). */
export interface NewFact {
  id: string;
  kind: FactKind;
  documentHash: Hex;
  subject: string | null;
  asset: string | null;
  amount: bigint | null;
}

function sameFact(f: FactRow, i: NewFact): boolean {
  return (
    f.kind === FACT_KINDS[i.kind] &&
    f.documentHash === i.documentHash &&
    f.subjectAccountId === i.subject &&
    f.asset === i.asset &&
    f.amount === i.amount
  );
}

/** Records a non-money fact once: the same id and terms again return the stored row. */
export function planRecordFact(
  ctx: EngineContext,
  input: NewFact,
  state: LoadedState,
  now: number,
): Plan<FactRow> {
  const changes = emptyChanges();
  const existing = state.facts.get(input.id);
  if (existing) {
    if (!sameFact(existing, input)) throw new IdempotencyConflictError(input.id);
    return { changes, result: () => existing };
  }
  const subject = input.subject === null ? undefined : account(state, input.subject);
  const row: FactRow = {
    id: input.id,
    kind: FACT_KINDS[input.kind],
    documentHash: input.documentHash,
    subjectAccountId: input.subject,
    asset: input.asset,
    amount: input.amount,
    sequence: -1,
    createdAt: now,
  };
  changes.newFacts.push(row);
  draft(
    changes,
    now,
    {
      eventType: "FACT_RECORDED",
      entryId: ctx.pseudonyms.ofBytes("fact", input.id),
      debitAccount: subject ? (subject.pseudonymBytes ?? subject.pseudonym) : undefined,
      asset: input.asset ?? "",
      amount: input.amount ?? 0n,
      code: row.kind,
      metadataHash: input.documentHash,
    },
    { subjectKind: "fact", subjectId: input.id, debitAccountId: input.subject, creditAccountId: null },
    (s) => (row.sequence = s),
  );
  return { changes, result: () => row };
}

/** Several facts in one unit of work (one commit), in input order; each idempotent by id like planRecordFact. */
export function planRecordFacts(
  ctx: EngineContext,
  inputs: readonly NewFact[],
  state: LoadedState,
  now: number,
): Plan<FactRow[]> {
  const changes = emptyChanges();
  const results: (() => FactRow)[] = [];
  const seen = new Map<string, FactRow>();
  for (const input of inputs) {
    const earlier = seen.get(input.id);
    if (earlier) {
      if (!sameFact(earlier, input)) throw new IdempotencyConflictError(input.id);
      results.push(() => earlier);
      continue;
    }
    const one = planRecordFact(ctx, input, state, now);
    const row = one.result();
    seen.set(input.id, row);
    changes.newFacts.push(...one.changes.newFacts);
    changes.events.push(...one.changes.events);
    results.push(one.result);
  }
  return { changes, result: () => results.map((r) => r()) };
}
