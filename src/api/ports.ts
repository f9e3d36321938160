import type { CustodianBank } from "../bank/bank";
import type { Ledger } from "../ledger/ledger";
import type { BalanceProofJson } from "../protocol/balance-proof-v1";
import type { AnchorRecord as MirroredAnchor } from "../protocol/head";
import type { RelayerStatus as RelayerSelfReport } from "../relayer/relayer";
import type { RelayerAlarm } from "../relayer/types";

/**
 * What the API needs from the relayer, declared here so the API depends on the shape and not on
 * the relayer's implementation (types only are imported from it). The relayer's `AnchorStore` and
 * `Relayer` satisfy these.
 */

/**
 * One head anchored on chain, as the relayer mirrors it (src/relayer/anchor-store.ts); the API needs
 * neither its block hash nor, from other mirrors, `final` (absent = confirmed).
 */
export type AnchorRecord = Omit<MirroredAnchor, "blockHash" | "final"> &
  Partial<Pick<MirroredAnchor, "final">>;

/** The API reads the log only; the integrator (src/log/integrator.ts) alone appends. */
export type { LogReader } from "../log/reader";

/** Read side of the relayer's mirror of the anchored heads (the relayer's `AnchorStore` satisfies it). */
export interface AnchorMirror {
  latest(): Promise<AnchorRecord | undefined>;
  /** Newest first; `beforeHeadIndex` pages backwards (exclusive). */
  list(opts?: { limit?: number; beforeHeadIndex?: number }): Promise<AnchorRecord[]>;
  /** The first confirmed anchor whose `treeSize > leafIndex`. */
  covering(leafIndex: number): Promise<AnchorRecord | undefined>;
  byHeadIndex(headIndex: number): Promise<AnchorRecord | undefined>;
}

/** The part of the relayer's self-report (src/relayer/relayer.ts) shown by /v1/ready. */
export type RelayerStatus = Pick<RelayerSelfReport, "leader" | "lagEntries" | "lagSeconds"> &
  Partial<Pick<RelayerSelfReport, "account" | "lastError" | "failuresInARow" | "missingRoles">> & {
    lastAnchor?: Pick<MirroredAnchor, "headIndex" | "treeSize">;
    alarm?: Omit<RelayerAlarm, "kind"> & { kind: string };
  };

export interface RelayerStatusSource {
  status(): RelayerStatus | Promise<RelayerStatus>;
}

/** What the API needs from the ledger (`openLedger(...)` returns it). */
export type LedgerPort = Pick<
  Ledger,
  | "openAccount"
  | "setAccountStatus"
  | "getAccount"
  | "getBalance"
  | "transfer"
  | "transferBatch"
  | "getTransfer"
  | "createHold"
  | "getHold"
  | "getHoldByEscrowId"
  | "eventCount"
  | "getEvents"
  | "getEventsForSubject"
  | "leafHashes"
>;

/** What the API needs from src/solvency (`SolvencySnapshots` satisfies it). */
export interface BalanceProofSource {
  /** custody-balance-proof-v1 of a customer account in a snapshot (default: the newest of its asset). */
  balanceProof(accountId: string, snapshotId?: string): Promise<BalanceProofJson>;
}

/** The solvency alarm (src/solvency `SolvencyWatcher` satisfies it): shown on /v1/ready. */
export interface SolvencyStatusSource {
  status(): {
    ok: boolean;
    shortfalls: { asset: string; day: string; reserves: bigint; liabilities: bigint }[];
  };
}

/** What the API needs from the bank module (src/bank `CustodianBank` satisfies it). */
export type BankPort = Pick<
  CustodianBank,
  | "importStatement"
  | "reconcile"
  | "getReconciliations"
  | "listBreaks"
  | "getBreak"
  | "resolveBreak"
  | "alarmSummary"
>;
