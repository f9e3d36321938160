import type { Hex } from "viem";

/**
 * The part of the ledger's fact log this module uses (`recordFact`/`getFact` of src/ledger). Facts
 * are FACT_RECORDED leaves: the bank module keeps the documents, the log keeps their hashes.
 */
export type BankFactKind = "BANK_STATEMENT" | "BANK_RECONCILIATION" | "BANK_BREAK_RESOLVED";

export interface BankFactInput {
  id: string;
  kind: BankFactKind;
  documentHash: Hex;
  subject?: string;
  asset?: string;
  amount?: bigint;
}

export interface BankFact {
  id: string;
  kind: string;
  documentHash: Hex;
  subject?: string;
  asset?: string;
  amount?: bigint;
  sequence: number;
  recordedAt: number;
}

export interface FactLog {
  /** Idempotent by id: the same terms return the stored fact. */
  recordFact(input: BankFactInput): Promise<BankFact>;
  getFact(id: string): Promise<BankFact>;
}
