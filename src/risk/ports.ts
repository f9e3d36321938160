import type {
  Account,
  AccountStatus,
  Fact,
  FactInput,
  Ledger,
  LedgerEvent,
  LedgerEventLeaf,
} from "../ledger";

/** What the risk module needs from the ledger: its events and facts (FACT_RECORDED leaves). */
export type { Fact, FactInput };

export type FactPort = Pick<Ledger, "recordFact" | "getFact" | "listFacts"> &
  /** Several in one commit, all or none; the outbox uses it when present. */
  Partial<Pick<Ledger, "recordFacts">>;

export interface RiskLedgerPort {
  getEvents(fromSeq: number, limit: number): Promise<LedgerEvent[]>;
  getEventLeaves(fromSeq: number, limit: number): Promise<LedgerEventLeaf[]>;
  /** In-process commit notifications (Ledger.onCommit): the engine wakes on them instead of waiting for its poll. */
  onCommit?(listener: () => void): () => void;
  getAccount(id: string): Promise<Account>;
  setAccountStatus(id: string, status: AccountStatus): Promise<Account>;
}
