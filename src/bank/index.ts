/** Public surface of the bank module: statements in, daily reconciliation, breaks. */
export {
  CustodianBank,
  openCustodianBank,
  type BankLedgerPort,
  type BreakRecord,
  type BreakResolution,
  type ImportResult,
  type OpenBankOptions,
  type StoredReconciliation,
} from "./bank";
export { bankMigrations } from "./migrations";
export * from "./errors";
export { parseCamt053 } from "./camt053";
export { writeCamt053 } from "./camt053-writer";
export { parseStatementJson, BANK_STATEMENT_JSON_VERSION } from "./json-feed";
export { parseStatementDocument } from "./parse";
export {
  RECONCILIATION_VERSION,
  reportHash,
  reportBytes,
  type ReconciliationReport,
  type ReportBreak,
} from "./report";
export type { BankStatement, BankDocument, StatementEntry } from "./statement";
export { deriveStatement } from "./simulated-bank";
export { readLedgerDay } from "./ledger-view";
