import type { Fact, FactInput, Ledger } from "../ledger";

/**
 * The part of the ledger's fact log this module uses (`recordFact`/`getFact` of src/ledger). Facts
 * are FACT_RECORDED leaves: the bank module keeps the documents, the log keeps their hashes.
 */
export type BankFactKind = "BANK_STATEMENT" | "BANK_RECONCILIATION" | "BANK_BREAK_RESOLVED";

export type BankFactInput = FactInput & { kind: BankFactKind };
export type BankFact = Fact;
export type FactLog = Pick<Ledger, "recordFact" | "getFact">;
