import type { Hex } from "viem";
import type { Account, AccountStatus, LedgerEvent, LedgerEventLeaf } from "../ledger";

/**
 * What the risk module needs from the ledger. Facts (non-money log events, FACT_RECORDED leaves)
 * are declared here by shape so the module builds against the ledger's fact interface.
 */
export interface FactInput {
  id: string;
  kind: string;
  documentHash: Hex;
  subject?: string;
  asset?: string;
  amount?: bigint;
}

export interface Fact extends FactInput {
  sequence: number;
  recordedAt: number;
}

export interface FactPort {
  /** Idempotent by id: the same terms return the stored fact. */
  recordFact(input: FactInput): Promise<Fact>;
  /** Several in one commit, all or none (Ledger.recordFacts); the outbox uses it when present. */
  recordFacts?(inputs: readonly FactInput[]): Promise<Fact[]>;
  getFact(id: string): Promise<Fact>;
  listFacts(opts?: { kind?: string; afterSequence?: number; limit?: number }): Promise<Fact[]>;
}

export interface RiskLedgerPort {
  getEvents(fromSeq: number, limit: number): Promise<LedgerEvent[]>;
  getEventLeaves(fromSeq: number, limit: number): Promise<LedgerEventLeaf[]>;
  /** In-process commit notifications (Ledger.onCommit): the engine wakes on them instead of waiting for its poll. */
  onCommit?(listener: () => void): () => void;
  getAccount(id: string): Promise<Account>;
  setAccountStatus(id: string, status: AccountStatus): Promise<Account>;
}
