import type { Hex } from "viem";
import type { PreparedLeaf } from "./leaf-writer";
import type { AccountState } from "./rules";
import type { HoldStatus, LedgerEventLeaf, TransferKind } from "./types";

/**
 * The storage interface the ledger runs on. Two implementations (SQLite, PostgreSQL) keep the same
 * tables; every rule lives above this interface, in pure code (rules.ts, engine.ts), so both
 * backends behave identically.
 *
 * Writes go through `execute`: the store opens one transaction, locks and loads the rows `keys`
 * names, runs the pure `plan` on them, assigns the next contiguous event sequences to the events
 * the plan appended, writes every change and commits. If `plan` throws, nothing is written.
 */
export interface AccountRow extends AccountState {
  pseudonym: Hex;
  scale: number;
  /** Canonical JSON or null. */
  metadata: string | null;
  createdAt: number;
  sequence: number;
  /** SQLite only: the account's integer key (ledger_account_terms.key = ledger_balances.account_key). */
  key?: number;
  /** The pseudonym's 32 bytes, decoded once and kept with the row (every transfer's leaf holds them). */
  pseudonymBytes?: Buffer;
}

/** What a transfer row and a hold row both hold: an amount moved (or held) between two accounts. */
interface MovementRow {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  asset: string;
  amount: bigint;
  kind: TransferKind;
}

export interface TransferRow extends MovementRow {
  metadata: string | null;
  /** Canonical JSON of the fee, or null. */
  fee: string | null;
  holdId: string | null;
  sequence: number;
  createdAt: number;
  /** Set on rows created in this process (saves recomputing the HMAC); not stored. */
  pseudonym?: Hex;
}

export interface HoldRow extends MovementRow {
  status: HoldStatus;
  escrowId: Hex | null;
  payeeAccountId: string | null;
  timeoutMs: number | null;
  expiresAt: number | null;
  metadata: string | null;
  fee: string | null;
  createdAt: number;
  sequence: number;
  resolvedAt: number | null;
  resolvedSequence: number | null;
  /** Canonical JSON of the HoldResolution, or null. */
  resolution: string | null;
  releaseTransferId: string | null;
}

export interface DecisionRow {
  chainEventId: string;
  holdId: string;
  action: "post" | "void";
}

export const SUBJECT_KINDS = { account: 1, transfer: 2, hold: 3, fact: 4 } as const;

export interface FactRow {
  id: string;
  /** FACT_KINDS number. */
  kind: number;
  documentHash: Hex;
  subjectAccountId: string | null;
  asset: string | null;
  amount: bigint | null;
  sequence: number;
  createdAt: number;
}

export interface EventRow {
  sequence: number;
  subjectKind: keyof typeof SUBJECT_KINDS;
  subjectId: string;
  debitAccountId: string | null;
  creditAccountId: string | null;
  createdAt: number;
  leafBytes: Uint8Array;
  leafHash: Uint8Array;
}

/** An event the plan appends; the store gives it its sequence and seals its leaf. */
export interface EventDraft {
  prepared: PreparedLeaf;
  subjectKind: keyof typeof SUBJECT_KINDS;
  subjectId: string;
  debitAccountId: string | null;
  creditAccountId: string | null;
  createdAt: number;
  assign(sequence: number): void;
}

export interface LoadKeys {
  accounts?: readonly string[];
  transfers?: readonly string[];
  /** Loaded and locked first; their debit, credit and payee accounts are loaded too. */
  holds?: readonly string[];
  escrowIds?: readonly Hex[];
  chainEventIds?: readonly string[];
  facts?: readonly string[];
}

export interface LoadedState {
  accounts: Map<string, AccountRow>;
  transfers: Map<string, TransferRow>;
  holds: Map<string, HoldRow>;
  holdsByEscrowId: Map<Hex, HoldRow>;
  decisions: Map<string, DecisionRow>;
  facts: Map<string, FactRow>;
}

export interface Changes {
  newAccounts: AccountRow[];
  /** Balances or status changed. */
  updatedAccounts: Set<AccountRow>;
  /** The subset of updatedAccounts whose status changed. */
  statusChanged: AccountRow[];
  newTransfers: TransferRow[];
  newHolds: HoldRow[];
  updatedHolds: HoldRow[];
  newDecisions: DecisionRow[];
  newFacts: FactRow[];
  events: EventDraft[];
}

export function emptyChanges(): Changes {
  return {
    newAccounts: [],
    updatedAccounts: new Set(),
    statusChanged: [],
    newTransfers: [],
    newHolds: [],
    updatedHolds: [],
    newDecisions: [],
    newFacts: [],
    events: [],
  };
}

export interface Plan<T> {
  changes: Changes;
  /** Called after the events got their sequences (and before commit). */
  result(): T;
}

export interface AccountFilter {
  type?: string;
  asset?: string;
  status?: string;
  /** Only ids greater than this (keyset paging). */
  after?: string;
  limit: number;
}

export interface EventScanRow {
  sequence: number;
  /** 0x00 ‖ leaf bytes: the RFC 9162 leaf-hash preimage, read as one value. */
  prefixedLeaf: Uint8Array;
  leafHash: Uint8Array;
}

/** Exact per-account sums of the transfers table (each account's debits and credits). */
export interface TransferTotals {
  count: number;
  accounts: { accountId: string; debits: bigint; credits: bigint }[];
}

export interface SnapshotVisitor {
  events?(rows: EventScanRow[]): void;
  accounts?(rows: AccountRow[]): void;
  transfers?(rows: TransferRow[]): void;
  /**
   * If given, the store may sum transfers in SQL (when it can do so exactly) and call this once
   * instead of `transfers`.
   */
  transferTotals?(totals: TransferTotals): void;
  holds?(rows: HoldRow[]): void;
}

/** What a process's ledger writes cost it so far (for metrics). */
export interface LedgerWriteStats {
  /** Transactions committed, and the calls answered in them. */
  groups: number;
  units: number;
  /** Groups run again (serialization failure, deadlock, a replayed id), split into single calls. */
  retries: number;
  splits: number;
  /** Groups run again on locked rows after their cached rows did not hold (PostgreSQL). */
  unlockedRetries: number;
  /** PostgreSQL: the checked account cache (src/ledger/checked-account-cache.ts). */
  accountCache?: {
    hits: number;
    misses: number;
    checked: number;
    stale: number;
    pauses: number;
    size: number;
    paused: boolean;
  };
}

export interface LedgerStore {
  readonly backend: "sqlite" | "postgres";
  writeStats(): LedgerWriteStats;
  migrate(): Promise<void>;
  execute<T>(keys: LoadKeys, plan: (state: LoadedState, now: number) => Plan<T>): Promise<T>;
  getAccount(id: string): Promise<AccountRow | undefined>;
  getAccountByPseudonym(pseudonym: Hex): Promise<AccountRow | undefined>;
  listAccounts(filter: AccountFilter): Promise<AccountRow[]>;
  getTransfer(id: string): Promise<TransferRow | undefined>;
  getHold(id: string): Promise<HoldRow | undefined>;
  getHoldByEscrowId(escrowId: Hex): Promise<HoldRow | undefined>;
  getFact(id: string): Promise<FactRow | undefined>;
  /** Facts in sequence order after `afterSequence` (exclusive), optionally of one kind. */
  listFacts(filter: { kind?: number; afterSequence?: number; limit: number }): Promise<FactRow[]>;
  listOpenEscrowHolds(): Promise<HoldRow[]>;
  /** Ids of pending non-escrow holds with expiresAt <= now. */
  dueHoldIds(now: number, limit: number): Promise<string[]>;
  eventCount(): Promise<number>;
  getEvents(fromSeq: number, limit: number): Promise<EventRow[]>;
  /** As getEvents without the leaf hashes (one column less to read and copy). */
  getEventLeaves(fromSeq: number, limit: number): Promise<LedgerEventLeaf[]>;
  getEventsBySequence(sequences: readonly number[]): Promise<EventRow[]>;
  /** Sequences of the events whose subject is this account. */
  accountEventSequences(id: string): Promise<number[]>;
  leafHashes(fromSeq: number, limit: number): Promise<Uint8Array[]>;
  /** Full scans for the invariant checker, in pages, all from one read snapshot. */
  scanSnapshot(visit: SnapshotVisitor): Promise<void>;
  close(): Promise<void>;
}
