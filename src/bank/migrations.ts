import type { Migration } from "../db/migrate";

/**
 * The bank module's tables. Statement documents are kept whole (raw bytes, in bank_document_bytes
 * since bank/004) with their SHA-256; a
 * document counts only once its BANK_STATEMENT fact is in the log (`fact_sequence` set). Amounts are
 * decimal TEXT on both backends. Documents and statements are never updated except to note their fact.
 */
const tables = (blob: string, bigint: string) => `
CREATE TABLE bank_documents (
  hash TEXT PRIMARY KEY,
  format TEXT NOT NULL,
  message_id TEXT NOT NULL,
  raw ${blob} NOT NULL,
  received_at ${bigint} NOT NULL,
  fact_id TEXT NOT NULL,
  fact_sequence ${bigint}
);
CREATE TABLE bank_statements (
  bank_account TEXT NOT NULL,
  statement_id TEXT NOT NULL,
  page INTEGER NOT NULL,
  last_page INTEGER NOT NULL,
  ledger_account TEXT NOT NULL,
  currency TEXT NOT NULL,
  day TEXT NOT NULL,
  cutoff ${bigint} NOT NULL,
  document_hash TEXT NOT NULL REFERENCES bank_documents (hash),
  statement_index INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  opening TEXT NOT NULL,
  closing TEXT NOT NULL,
  entries INTEGER NOT NULL,
  PRIMARY KEY (bank_account, statement_id, page)
);
CREATE INDEX bank_statements_day ON bank_statements (ledger_account, day);
CREATE TABLE bank_reconciliations (
  ledger_account TEXT NOT NULL,
  day TEXT NOT NULL,
  run INTEGER NOT NULL,
  report TEXT NOT NULL,
  report_hash TEXT NOT NULL,
  fact_id TEXT NOT NULL,
  fact_sequence ${bigint},
  created_at ${bigint} NOT NULL,
  PRIMARY KEY (ledger_account, day, run)
);
CREATE TABLE bank_breaks (
  id TEXT PRIMARY KEY,
  ledger_account TEXT NOT NULL,
  day TEXT NOT NULL,
  run INTEGER NOT NULL,
  class TEXT NOT NULL,
  severity TEXT NOT NULL,
  transfer_id TEXT,
  detail TEXT NOT NULL,
  status TEXT NOT NULL,
  cleared_by TEXT,
  resolution TEXT,
  resolution_hash TEXT,
  resolution_fact_sequence ${bigint}
);
CREATE INDEX bank_breaks_status ON bank_breaks (status);
CREATE INDEX bank_breaks_transfer ON bank_breaks (transfer_id);
`;

/**
 * Reconciliation reads the ledger by custodian-mirror and customer account around a cut-off
 * (src/bank/ledger-view.ts): without these it scanned every transfer, several times a day. And each
 * statement page keeps its parsed content (the canonical JSON whose SHA-256 is `content_hash`), so a
 * reconciliation does not parse the raw document again; the audit checks it against the raw bytes.
 */
const readPath = `
CREATE INDEX IF NOT EXISTS bank_ledger_transfers_debit ON ledger_transfers (debit_account_id, created_at);
CREATE INDEX IF NOT EXISTS bank_ledger_transfers_credit ON ledger_transfers (credit_account_id, created_at);
ALTER TABLE bank_statements ADD COLUMN content TEXT;
`;

/**
 * Posted holds move balances without a transfer row: the live read subtracts those posted after a
 * cut-off, found by their posting time.
 */
const heldPath = `CREATE INDEX IF NOT EXISTS bank_ledger_holds_posted ON ledger_holds (resolved_at) WHERE status = 'posted';`;

/**
 * A document's bytes get their own table, so that noting its BANK_STATEMENT fact updates a small
 * row: SQLite rewrites a whole row on UPDATE, which with the bytes inline meant writing a 70 MB
 * document a second time. The bytes themselves never change.
 */
const ownBytes = (blob: string) => `
CREATE TABLE bank_document_bytes (
  hash TEXT PRIMARY KEY REFERENCES bank_documents (hash),
  raw ${blob} NOT NULL
);
INSERT INTO bank_document_bytes (hash, raw) SELECT hash, raw FROM bank_documents;
ALTER TABLE bank_documents DROP COLUMN raw;
`;

export const bankMigrations: Migration[] = [
  { id: "bank/001_init", sqlite: tables("BLOB", "INTEGER"), postgres: tables("BYTEA", "BIGINT") },
  { id: "bank/002_read_path", sqlite: readPath, postgres: readPath },
  { id: "bank/003_posted_holds", sqlite: heldPath, postgres: heldPath },
  { id: "bank/004_document_bytes", sqlite: ownBytes("BLOB"), postgres: ownBytes("BYTEA") },
];
