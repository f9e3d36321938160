import type { Hex } from "viem";
import type { Database } from "../db/database";
import { InvariantError } from "../errors";
import {
  HoldNotPendingError,
  InvalidLedgerInputError,
  SameAccountError,
  TransferEventExistsError,
  UnknownAccountError,
  UnknownFactError,
  UnknownHoldError,
  UnknownTransferError,
} from "./errors";
import { Pseudonymizer } from "./canonical";
import {
  type Decision,
  type EngineContext,
  type NewHold,
  type NewTransfer,
  feeToJson,
  planCreateHold,
  planOpenAccount,
  planRecordFact,
  planRecordFacts,
  planResolveHold,
  planSetStatus,
  planTransfers,
} from "./engine";
import { InvariantChecker, segregationReport } from "./invariants";
import { TRANSFER_EVENT_ONCE_INDEX } from "./migrations";
import { FACT_KINDS, decodeLeaf, factKindOf } from "../protocol/leaf-v1";
import { balanceOf } from "./rules";
import { checkServedAccount, checkServedHold, checkServedTransfer } from "./served-rows";
import type {
  AccountRow,
  EventRow,
  FactRow,
  HoldRow,
  LedgerStore,
  LedgerWriteStats,
  LoadKeys,
  LoadedState,
  Plan,
  TransferRow,
} from "./store";
import { SqliteLedgerStore } from "./sqlite-store";
import { type PostgresGroupOptions, PostgresLedgerStore } from "./postgres-store";
import type {
  Account,
  AccountStatus,
  AccountType,
  Balance,
  Fact,
  FactInput,
  FactKind,
  Fee,
  FeeSchedule,
  Hold,
  HoldDecisionSource,
  HoldInput,
  HoldResolution,
  InvariantReport,
  LedgerEvent,
  LedgerEventLeaf,
  OpenAccountInput,
  SegregationReport,
  SubjectKind,
  Transfer,
  TransferInput,
} from "./types";
import {
  checkAccountType,
  checkAsset,
  checkChainEventId,
  checkClientTransferId,
  checkEscrowId,
  checkFact,
  checkFee,
  checkId,
  checkKind,
  checkLimits,
  checkMetadata,
  checkScale,
  checkStatus,
  checkTimeout,
  parseAmount,
  parseMetadata,
} from "./validate";

export interface OpenLedgerOptions {
  /** HMAC key for pseudonyms, at least 32 bytes. Keep it secret and stable: it defines every pseudonym. */
  pseudonymKey: Uint8Array;
  feeSchedule?: FeeSchedule;
  /** Milliseconds since the Unix epoch; default Date.now. */
  clock?: () => number;
  /** PostgreSQL only: group-commit tuning (the defaults are measured; BENCHMARKS.md). */
  postgresGroups?: PostgresGroupOptions;
}

export interface ListAccountsOptions {
  type?: AccountType;
  asset?: string;
  status?: AccountStatus;
  /** Keyset paging: only ids after this one (ids are ordered by code unit). */
  after?: string;
  /** Default 100, at most 10 000. */
  limit?: number;
}

/** The custody ledger. Every method that changes state appends its events in the same transaction. */
export interface Ledger {
  readonly backend: "sqlite" | "postgres";
  /** Transactions, retries and (PostgreSQL) account cache use of this process's writes so far. */
  writeStats(): LedgerWriteStats;
  /** Idempotent by id: the same terms return the account, other terms throw IdempotencyConflictError. */
  openAccount(input: OpenAccountInput): Promise<Account>;
  setAccountStatus(id: string, status: AccountStatus): Promise<Account>;
  getAccount(id: string): Promise<Account>;
  getAccountByPseudonym(pseudonym: Hex): Promise<Account | undefined>;
  listAccounts(opts?: ListAccountsOptions): Promise<Account[]>;
  getBalance(id: string): Promise<Balance>;
  /** Idempotent by input.id. */
  transfer(input: TransferInput): Promise<Transfer>;
  /** All or none; each id idempotent. */
  transferBatch(inputs: readonly TransferInput[]): Promise<Transfer[]>;
  getTransfer(id: string): Promise<Transfer>;
  createHold(input: HoldInput): Promise<Hold>;
  postHold(id: string, by: HoldDecisionSource): Promise<Hold>;
  voidHold(id: string, by: HoldDecisionSource | { source: "timeout" }): Promise<Hold>;
  getHold(id: string): Promise<Hold>;
  getHoldByEscrowId(escrowId: Hex): Promise<Hold | undefined>;
  listOpenEscrowHolds(): Promise<Hold[]>;
  /** Voids every pending non-escrow hold whose expiry is at or before `now`; returns how many. */
  expireHolds(now?: number): Promise<number>;
  /**
   * Puts a non-money fact (a statement received, a report, an alert...) on the log as a
   * FACT_RECORDED event. Idempotent by input.id: other terms throw IdempotencyConflictError.
   */
  recordFact(input: FactInput): Promise<Fact>;
  /** Several facts in one commit, all or none, in order; each idempotent by id as recordFact. */
  recordFacts(inputs: readonly FactInput[]): Promise<Fact[]>;
  getFact(id: string): Promise<Fact>;
  /** Facts in log order after `afterSequence` (exclusive); default limit 100, at most 10 000. */
  listFacts(opts?: { kind?: FactKind; afterSequence?: number; limit?: number }): Promise<Fact[]>;
  eventCount(): Promise<number>;
  getEvents(fromSeq: number, limit: number): Promise<LedgerEvent[]>;
  /** As getEvents, the leaves not decoded and without their hashes (for readers of a few fields). */
  getEventLeaves(fromSeq: number, limit: number): Promise<LedgerEventLeaf[]>;
  /**
   * Calls `listener` after each commit of this ledger object that appended events (in this
   * process only: other processes' commits are not seen). It runs synchronously before the
   * committing call returns, so it should only schedule work; what it throws is ignored.
   * Returns the function that removes it.
   */
  onCommit(listener: () => void): () => void;
  getEventsForSubject(kind: SubjectKind, id: string): Promise<LedgerEvent[]>;
  /** Implements the LeafSource of src/log. */
  leafHashes(fromSeq: number, limit: number): Promise<Uint8Array[]>;
  accountPseudonym(id: string): Hex;
  checkInvariants(): Promise<InvariantReport>;
  segregationReport(): Promise<SegregationReport[]>;
  /** The fee schedule fee transfers are checked against from now on (a dual-controlled change). */
  setFeeSchedule(schedule: FeeSchedule): void;
  feeSchedule(): FeeSchedule | undefined;
  close(): Promise<void>;
}

const MAX_BATCH = 10_000;
const MAX_PAGE = 10_000;

function toAccount(r: AccountRow): Account {
  const a: Account = {
    id: r.id,
    pseudonym: r.pseudonym,
    type: r.type,
    asset: r.asset,
    scale: r.scale,
    status: r.status,
    createdAt: r.createdAt,
    sequence: r.sequence,
  };
  if (r.limits) a.limits = { ...r.limits };
  const m = parseMetadata(r.metadata);
  if (m) a.metadata = m;
  return a;
}

function feeFromJson(t: string | null): Fee | undefined {
  if (t === null) return undefined;
  const o = JSON.parse(t) as { code: string; base?: string };
  return o.base === undefined ? { code: o.code } : { code: o.code, base: BigInt(o.base) };
}

function toFact(r: FactRow): Fact {
  const kind = factKindOf(r.kind);
  if (!kind) throw new InvariantError(`stored fact ${r.id} has unknown kind ${r.kind}`);
  const f: Fact = {
    id: r.id,
    kind,
    documentHash: r.documentHash,
    sequence: r.sequence,
    recordedAt: r.createdAt,
  };
  if (r.subjectAccountId !== null) f.subject = r.subjectAccountId;
  if (r.asset !== null) f.asset = r.asset;
  if (r.amount !== null) f.amount = r.amount;
  return f;
}

function checkPage(fromSeq: number, limit: number, max = MAX_PAGE): void {
  if (!Number.isSafeInteger(fromSeq) || fromSeq < 0)
    throw new InvalidLedgerInputError("fromSeq must be a non-negative integer", {
      details: `got ${fromSeq}`,
    });
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_PAGE)
    throw new InvalidLedgerInputError(`limit must be an integer in [0, ${MAX_PAGE}]`, {
      details: `got ${limit}`,
    });
}

class LedgerImpl implements Ledger {
  readonly #store: LedgerStore;
  readonly #ctx: EngineContext;
  readonly #clock: () => number;
  readonly #commitListeners = new Set<() => void>();

  constructor(store: LedgerStore, ctx: EngineContext, clock: () => number) {
    this.#store = store;
    this.#ctx = ctx;
    this.#clock = clock;
  }

  /** store.execute, then the commit listeners (every plan appends at least one event). */
  async #execute<T>(keys: LoadKeys, plan: (state: LoadedState, now: number) => Plan<T>): Promise<T> {
    const v = await this.#store.execute(keys, plan);
    for (const l of this.#commitListeners)
      try {
        l();
      } catch {
        // A listener's failure is not the commit's.
      }
    return v;
  }

  onCommit(listener: () => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  get backend() {
    return this.#store.backend;
  }

  writeStats(): LedgerWriteStats {
    return this.#store.writeStats();
  }

  #toTransfer(r: TransferRow): Transfer {
    const t: Transfer = {
      id: r.id,
      pseudonym: r.pseudonym ?? this.#ctx.pseudonyms.of("transfer", r.id),
      debitAccountId: r.debitAccountId,
      creditAccountId: r.creditAccountId,
      asset: r.asset,
      amount: r.amount,
      kind: r.kind,
      sequence: r.sequence,
      createdAt: r.createdAt,
    };
    const m = parseMetadata(r.metadata);
    if (m) t.metadata = m;
    const f = feeFromJson(r.fee);
    if (f) t.fee = f;
    if (r.holdId !== null) t.holdId = r.holdId;
    return t;
  }

  #toHold(r: HoldRow): Hold {
    const h: Hold = {
      id: r.id,
      pseudonym: this.#ctx.pseudonyms.of("hold", r.id),
      debitAccountId: r.debitAccountId,
      creditAccountId: r.creditAccountId,
      asset: r.asset,
      amount: r.amount,
      kind: r.kind,
      status: r.status,
      createdAt: r.createdAt,
      sequence: r.sequence,
    };
    if (r.escrowId !== null) h.escrowId = r.escrowId;
    if (r.payeeAccountId !== null) h.payeeAccountId = r.payeeAccountId;
    if (r.expiresAt !== null) h.expiresAt = r.expiresAt;
    const m = parseMetadata(r.metadata);
    if (m) h.metadata = m;
    const f = feeFromJson(r.fee);
    if (f) h.fee = f;
    if (r.resolvedAt !== null) h.resolvedAt = r.resolvedAt;
    if (r.resolvedSequence !== null) h.resolvedSequence = r.resolvedSequence;
    if (r.resolution !== null) h.resolution = JSON.parse(r.resolution) as HoldResolution;
    if (r.releaseTransferId !== null) h.releaseTransferId = r.releaseTransferId;
    return h;
  }

  #toEvent(r: EventRow): LedgerEvent {
    const accounts =
      r.subjectKind === "account"
        ? [r.subjectId]
        : [r.debitAccountId, r.creditAccountId].filter((x): x is string => x !== null);
    return {
      sequence: r.sequence,
      leafBytes: r.leafBytes,
      leafHash: r.leafHash,
      entry: decodeLeaf(r.leafBytes),
      subject: { kind: r.subjectKind, id: r.subjectId },
      accounts,
      createdAt: r.createdAt,
    };
  }

  async openAccount(input: OpenAccountInput): Promise<Account> {
    if (typeof input !== "object" || input === null)
      throw new InvalidLedgerInputError("account input must be an object");
    const n = {
      id: checkId("account id", input.id),
      type: checkAccountType(input.type),
      asset: checkAsset(input.asset),
      scale: checkScale(input.scale),
      limits: checkLimits(input.limits),
      metadata: checkMetadata(input.metadata),
    };
    const row = await this.#execute({ accounts: [n.id] }, (state, now) =>
      planOpenAccount(this.#ctx, n, state, now),
    );
    return toAccount(row);
  }

  async setAccountStatus(id: string, status: AccountStatus): Promise<Account> {
    checkId("account id", id);
    const s = checkStatus(status);
    const row = await this.#execute({ accounts: [id] }, (state, now) =>
      planSetStatus(this.#ctx, id, s, state, now),
    );
    return toAccount(row);
  }

  async getAccount(id: string): Promise<Account> {
    const r = await this.#store.getAccount(checkId("account id", id));
    if (!r) throw new UnknownAccountError(id);
    const events = await this.#store.getEventsBySequence(await this.#store.accountEventSequences(id));
    checkServedAccount(
      this.#ctx.pseudonyms,
      r,
      events.map((e) => decodeLeaf(e.leafBytes)),
    );
    return toAccount(r);
  }

  async getAccountByPseudonym(pseudonym: Hex): Promise<Account | undefined> {
    const r = await this.#store.getAccountByPseudonym(checkEscrowId(pseudonym));
    return r && toAccount(r);
  }

  async listAccounts(opts: ListAccountsOptions = {}): Promise<Account[]> {
    const limit = opts.limit ?? 100;
    checkPage(0, limit);
    const rows = await this.#store.listAccounts({
      type: opts.type === undefined ? undefined : checkAccountType(opts.type),
      asset: opts.asset === undefined ? undefined : checkAsset(opts.asset),
      status: opts.status === undefined ? undefined : checkStatus(opts.status),
      after: opts.after,
      limit,
    });
    return rows.map(toAccount);
  }

  async getBalance(id: string): Promise<Balance> {
    const r = await this.#store.getAccount(checkId("account id", id));
    if (!r) throw new UnknownAccountError(id);
    return balanceOf(r);
  }

  #normalizeTransfer(i: TransferInput): NewTransfer {
    if (typeof i !== "object" || i === null)
      throw new InvalidLedgerInputError("transfer input must be an object");
    const id = checkClientTransferId(i.id);
    const debitAccountId = checkId("debitAccountId", i.debitAccountId);
    const creditAccountId = checkId("creditAccountId", i.creditAccountId);
    const amount = parseAmount(i.amount);
    const kind = checkKind(i.kind);
    const metadata = checkMetadata(i.metadata);
    const fee = checkFee(i.fee);
    if (fee && kind !== "fee") throw new InvalidLedgerInputError("only fee transfers carry a fee");
    if (debitAccountId === creditAccountId)
      throw new SameAccountError("debit and credit accounts must differ", {
        details: `both ${debitAccountId}`,
      });
    return { id, debitAccountId, creditAccountId, amount, kind, metadata, fee, feeJson: feeToJson(fee) };
  }

  async transfer(input: TransferInput): Promise<Transfer> {
    const [t] = await this.transferBatch([input]);
    return t;
  }

  async transferBatch(inputs: readonly TransferInput[]): Promise<Transfer[]> {
    if (!Array.isArray(inputs)) throw new InvalidLedgerInputError("a batch must be an array");
    if (inputs.length > MAX_BATCH)
      throw new InvalidLedgerInputError(`a batch holds at most ${MAX_BATCH} transfers`);
    if (inputs.length === 0) return [];
    const n = inputs.map((i) => this.#normalizeTransfer(i));
    const accounts = new Set<string>();
    for (const t of n) accounts.add(t.debitAccountId).add(t.creditAccountId);
    let rows;
    try {
      rows = await this.#execute({ accounts: [...accounts], transfers: n.map((t) => t.id) }, (state, now) =>
        planTransfers(this.#ctx, n, state, now),
      );
    } catch (e) {
      if (isTransferEventOnceViolation(e))
        throw new TransferEventExistsError({ details: String((e as Error).message), cause: e });
      throw e;
    }
    return rows.map((r) => this.#toTransfer(r));
  }

  async getTransfer(id: string): Promise<Transfer> {
    const r = await this.#store.getTransfer(checkId("transfer id", id));
    if (!r) throw new UnknownTransferError(id);
    const [e] = await this.#store.getEventsBySequence([r.sequence]);
    checkServedTransfer(this.#ctx.pseudonyms, r, e && decodeLeaf(e.leafBytes));
    return this.#toTransfer(r);
  }

  async createHold(input: HoldInput): Promise<Hold> {
    const t = this.#normalizeTransfer(input);
    const n: NewHold = {
      ...t,
      escrowId: input.escrowId === undefined ? null : checkEscrowId(input.escrowId),
      payeeAccountId:
        input.payeeAccountId === undefined ? null : checkId("payeeAccountId", input.payeeAccountId),
      timeoutMs: checkTimeout(input.timeoutMs) ?? null,
    };
    const escrowId = n.kind === "escrow_hold" ? (n.escrowId ?? this.#ctx.pseudonyms.of("hold", n.id)) : null;
    const accounts = [n.debitAccountId, n.creditAccountId];
    if (n.payeeAccountId) accounts.push(n.payeeAccountId);
    const row = await this.#execute(
      { holds: [n.id], accounts, escrowIds: escrowId ? [escrowId] : [] },
      (state, now) => planCreateHold(this.#ctx, n, state, now),
    );
    return this.#toHold(row);
  }

  #decision(by: HoldDecisionSource | { source: "timeout" }, allowTimeout: boolean): Decision {
    if (typeof by !== "object" || by === null)
      throw new InvalidLedgerInputError("decision source must be an object");
    if (by.source === "api") return { source: "api" };
    if (by.source === "chain") return { source: "chain", ...checkChainEventId(by.chainEventId) };
    if (by.source === "timeout" && allowTimeout) return { source: "timeout", at: this.#clock() };
    throw new InvalidLedgerInputError("unknown decision source", {
      details: `got ${String((by as { source: unknown }).source)}`,
    });
  }

  async #resolve(id: string, action: "post" | "void", d: Decision): Promise<Hold> {
    checkId("hold id", id);
    const row = await this.#execute(
      { holds: [id], chainEventIds: d.source === "chain" ? [d.chainEventId] : [] },
      (state, now) => planResolveHold(this.#ctx, id, action, d, state, now),
    );
    return this.#toHold(row);
  }

  async postHold(id: string, by: HoldDecisionSource): Promise<Hold> {
    return this.#resolve(id, "post", this.#decision(by, false));
  }

  async voidHold(id: string, by: HoldDecisionSource | { source: "timeout" }): Promise<Hold> {
    return this.#resolve(id, "void", this.#decision(by, true));
  }

  async getHold(id: string): Promise<Hold> {
    const r = await this.#store.getHold(checkId("hold id", id));
    if (!r) throw new UnknownHoldError(id);
    return this.#servedHold(r);
  }

  async getHoldByEscrowId(escrowId: Hex): Promise<Hold | undefined> {
    const r = await this.#store.getHoldByEscrowId(checkEscrowId(escrowId));
    return r && this.#servedHold(r);
  }

  /** The hold as served, once its row is checked against its creating and resolving events. */
  async #servedHold(r: HoldRow): Promise<Hold> {
    const events = await this.#store.getEventsBySequence(
      r.resolvedSequence === null ? [r.sequence] : [r.sequence, r.resolvedSequence],
    );
    const at = (seq: number | null) => {
      const e = events.find((x) => x.sequence === seq);
      return e && decodeLeaf(e.leafBytes);
    };
    checkServedHold(this.#ctx.pseudonyms, r, at(r.sequence), at(r.resolvedSequence));
    return this.#toHold(r);
  }

  async recordFacts(inputs: readonly FactInput[]): Promise<Fact[]> {
    if (!Array.isArray(inputs)) throw new InvalidLedgerInputError("a batch must be an array");
    if (inputs.length > MAX_BATCH)
      throw new InvalidLedgerInputError(`a batch holds at most ${MAX_BATCH} facts`);
    if (inputs.length === 0) return [];
    const fs = inputs.map((i) => checkFact(i));
    const subjects = new Set<string>();
    for (const f of fs) if (f.subject !== null) subjects.add(f.subject);
    const rows = await this.#execute({ facts: fs.map((f) => f.id), accounts: [...subjects] }, (state, now) =>
      planRecordFacts(this.#ctx, fs, state, now),
    );
    return rows.map(toFact);
  }

  async recordFact(input: FactInput): Promise<Fact> {
    const f = checkFact(input);
    const row = await this.#execute(
      { facts: [f.id], accounts: f.subject === null ? [] : [f.subject] },
      (state, now) => planRecordFact(this.#ctx, f, state, now),
    );
    return toFact(row);
  }

  async getFact(id: string): Promise<Fact> {
    const r = await this.#store.getFact(checkId("fact id", id));
    if (!r) throw new UnknownFactError(id);
    return toFact(r);
  }

  async listFacts(opts: { kind?: FactKind; afterSequence?: number; limit?: number } = {}): Promise<Fact[]> {
    const limit = opts.limit ?? 100;
    const after = opts.afterSequence ?? -1;
    checkPage(0, limit);
    if (!Number.isSafeInteger(after) || after < -1)
      throw new InvalidLedgerInputError("afterSequence must be an integer >= -1", {
        details: `got ${after}`,
      });
    if (opts.kind !== undefined && !Object.hasOwn(FACT_KINDS, opts.kind))
      throw new InvalidLedgerInputError(`unknown fact kind ${JSON.stringify(opts.kind)}`);
    const rows = await this.#store.listFacts({
      kind: opts.kind === undefined ? undefined : FACT_KINDS[opts.kind],
      afterSequence: after,
      limit,
    });
    return rows.map(toFact);
  }

  async listOpenEscrowHolds(): Promise<Hold[]> {
    return (await this.#store.listOpenEscrowHolds()).map((r) => this.#toHold(r));
  }

  async expireHolds(now?: number): Promise<number> {
    const at = now ?? this.#clock();
    if (!Number.isSafeInteger(at) || at < 0)
      throw new InvalidLedgerInputError("now must be a timestamp in ms");
    let voided = 0;
    for (;;) {
      const ids = await this.#store.dueHoldIds(at, 500);
      let progressed = false;
      for (const id of ids) {
        const d: Decision = { source: "timeout", at };
        const before = await this.#store.getHold(id);
        if (!before || before.status !== "pending") continue;
        try {
          await this.#resolve(id, "void", d);
          voided++;
          progressed = true;
        } catch (e) {
          // Another instance resolved it in between: not ours to count.
          if (!(e instanceof HoldNotPendingError)) throw e;
        }
      }
      if (ids.length < 500 || !progressed) return voided;
    }
  }

  async eventCount(): Promise<number> {
    return this.#store.eventCount();
  }

  async getEvents(fromSeq: number, limit: number): Promise<LedgerEvent[]> {
    checkPage(fromSeq, limit);
    return (await this.#store.getEvents(fromSeq, limit)).map((r) => this.#toEvent(r));
  }

  async getEventLeaves(fromSeq: number, limit: number): Promise<LedgerEventLeaf[]> {
    checkPage(fromSeq, limit);
    return this.#store.getEventLeaves(fromSeq, limit);
  }

  async getEventsForSubject(kind: SubjectKind, id: string): Promise<LedgerEvent[]> {
    checkId("subject id", id);
    let seqs: number[];
    if (kind === "account") seqs = await this.#store.accountEventSequences(id);
    else if (kind === "transfer") {
      const t = await this.#store.getTransfer(id);
      seqs = t ? [t.sequence] : [];
    } else if (kind === "hold") {
      const h = await this.#store.getHold(id);
      seqs = h ? [h.sequence, ...(h.resolvedSequence === null ? [] : [h.resolvedSequence])] : [];
    } else if (kind === "fact") {
      const f = await this.#store.getFact(id);
      seqs = f ? [f.sequence] : [];
    } else throw new InvalidLedgerInputError("subject kind must be account, transfer, hold or fact");
    return (await this.#store.getEventsBySequence(seqs)).map((r) => this.#toEvent(r));
  }

  async leafHashes(fromSeq: number, limit: number): Promise<Uint8Array[]> {
    checkPage(fromSeq, limit, 100_000);
    return this.#store.leafHashes(fromSeq, limit);
  }

  accountPseudonym(id: string): Hex {
    return this.#ctx.pseudonyms.account(checkId("account id", id));
  }

  async checkInvariants(): Promise<InvariantReport> {
    const c = new InvariantChecker();
    await this.#store.scanSnapshot({
      events: (rows) => c.addEvents(rows),
      accounts: (rows) => c.addAccounts(rows),
      transfers: (rows) => c.addTransfers(rows),
      transferTotals: (t) => c.addTransferTotals(t),
      holds: (rows) => c.addHolds(rows),
    });
    return c.report();
  }

  async segregationReport(): Promise<SegregationReport[]> {
    const rows: AccountRow[] = [];
    await this.#store.scanSnapshot({ accounts: (r) => rows.push(...r) });
    return segregationReport(rows);
  }

  setFeeSchedule(schedule: FeeSchedule): void {
    this.#ctx.feeSchedule = schedule;
  }

  feeSchedule(): FeeSchedule | undefined {
    return this.#ctx.feeSchedule;
  }

  async close(): Promise<void> {
    return this.#store.close();
  }
}

/**
 * Opens the ledger on a database from `openDatabase` (src/db) and applies `ledgerMigrations`.
 * The database handle stays the caller's: `close()` releases only the ledger.
 *
 * @example
 * const ledger = await openLedger(openDatabase("ledger.db"), { pseudonymKey: key });
 * await ledger.openAccount({ id: "alice", type: "customer", asset: "EUR", scale: 2 });
 */
export async function openLedger(db: Database, opts: OpenLedgerOptions): Promise<Ledger> {
  if (!(opts?.pseudonymKey instanceof Uint8Array) || opts.pseudonymKey.length < 32)
    throw new InvalidLedgerInputError("pseudonymKey must be at least 32 bytes");
  const clock = opts.clock ?? Date.now;
  const store: LedgerStore =
    db.kind === "sqlite"
      ? new SqliteLedgerStore(db, clock)
      : new PostgresLedgerStore(db, clock, opts.postgresGroups);
  await store.migrate();
  if (store instanceof PostgresLedgerStore) await store.warmAccountCache();
  return new LedgerImpl(
    store,
    { pseudonyms: new Pseudonymizer(opts.pseudonymKey), feeSchedule: opts.feeSchedule },
    clock,
  );
}

/** A driver's unique violation of the transfer-event index (SQLite names the column, PostgreSQL the index). */
function isTransferEventOnceViolation(e: unknown): boolean {
  const x = e as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  if (x?.code === "23505") return x.constraint === TRANSFER_EVENT_ONCE_INDEX;
  return x?.code === "SQLITE_CONSTRAINT_UNIQUE" && /ledger_events\.subject_id/.test(String(x.message ?? ""));
}
