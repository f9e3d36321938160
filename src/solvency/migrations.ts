import type { Migration } from "../db/migrate";

/**
 * Solvency tables.
 * - `solvency_snapshots`: one row per (asset, day) liabilities snapshot: its parameters, root, sum,
 *   the snapshot document (docs/liabilities-tree-v1.md §Snapshot document) whose SHA-256 the
 *   LIABILITIES_SNAPSHOT fact carries, and the commitment transaction once sent.
 * - `solvency_attestations`: reserves attestations seen on chain (mirrored; the chain is the source).
 */
export const solvencyMigrations: readonly Migration[] = [
  {
    id: "solvency/001_snapshots",
    sqlite: `
CREATE TABLE solvency_snapshots (
  id TEXT PRIMARY KEY,
  asset TEXT NOT NULL,
  day TEXT NOT NULL,
  log_size INTEGER NOT NULL,
  height INTEGER NOT NULL,
  root_hash TEXT NOT NULL,
  root_sum TEXT NOT NULL,
  account_count INTEGER NOT NULL,
  document_hash TEXT NOT NULL,
  document TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  commit_tx TEXT,
  UNIQUE (asset, day)
);
CREATE TABLE solvency_attestations (
  asset TEXT NOT NULL,
  day TEXT NOT NULL,
  reserves TEXT NOT NULL,
  statement_hash TEXT NOT NULL,
  custodian TEXT NOT NULL,
  tx_hash TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  PRIMARY KEY (asset, day)
);`,
    postgres: `
CREATE TABLE solvency_snapshots (
  id TEXT PRIMARY KEY,
  asset TEXT NOT NULL,
  day TEXT NOT NULL,
  log_size BIGINT NOT NULL,
  height INTEGER NOT NULL,
  root_hash TEXT NOT NULL,
  root_sum NUMERIC(40, 0) NOT NULL,
  account_count BIGINT NOT NULL,
  document_hash TEXT NOT NULL,
  document TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  commit_tx TEXT,
  UNIQUE (asset, day)
);
CREATE TABLE solvency_attestations (
  asset TEXT NOT NULL,
  day TEXT NOT NULL,
  reserves NUMERIC(40, 0) NOT NULL,
  statement_hash TEXT NOT NULL,
  custodian TEXT NOT NULL,
  tx_hash TEXT NOT NULL,
  block_number BIGINT NOT NULL,
  PRIMARY KEY (asset, day)
);`,
  },
];
