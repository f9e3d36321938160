import type { Migration } from "../db/migrate";

/**
 * Relayer tables.
 * - `relayer_anchors`: one row per head the anchor contract holds, mirrored from the chain (the
 *   chain is the source of truth; rows are added and dropped by reconciliation only).
 * - `relayer_pending_txs`: every transaction signed by the relayer and not yet known to be mined,
 *   written *before* it is broadcast so a crash can neither lose nor duplicate it.
 * - `relayer_cursors`: the last chain block whose escrow events were applied to the ledger, with
 *   its hash (null in rows written before 003), so a chain that lost or replaced that block is seen.
 * - `relayer_cursor_blocks`: the cursor's recent positions (number, hash), newest kept; after the
 *   chain lost blocks, the newest one whose hash the chain still has is where scanning resumes.
 * - `relayer_leases`: the leader lease (SQLite; PostgreSQL uses an advisory lock instead).
 * - `relayer_escrow_alarms`: escrow disagreements between the chain and the ledger the bridge
 *   refused to apply (a hold decided the other way, an escrow whose on-chain terms differ); they
 *   stay until an operator deletes the row, and keep readiness at 503 meanwhile. An
 *   `escrow-decision-lost` row is deleted by the bridge itself once the chain agrees again.
 * - `relayer_escrow_decisions`: per escrow, the chain event (and its block) the ledger's decision of
 *   that escrow rests on. The ledger never forgets a decision, but the chain can lose the block that
 *   carried it; rows whose block may be gone are marked `lost` until the chain holds the same
 *   decision again (the bridge sends it again when the terms allow).
 */
export const relayerMigrations: readonly Migration[] = [
  {
    id: "relayer/001_init",
    sqlite: `
CREATE TABLE relayer_anchors (
  head_index INTEGER PRIMARY KEY,
  tree_size INTEGER NOT NULL,
  root_hash TEXT NOT NULL,
  metadata_hash TEXT NOT NULL,
  tx_hash TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  block_timestamp INTEGER NOT NULL,
  chain_id INTEGER NOT NULL,
  contract TEXT NOT NULL,
  final INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX relayer_anchors_size ON relayer_anchors (tree_size);
CREATE TABLE relayer_pending_txs (
  tx_hash TEXT PRIMARY KEY,
  nonce INTEGER NOT NULL,
  kind TEXT NOT NULL,
  raw_tx TEXT NOT NULL,
  request TEXT NOT NULL,
  sent_at INTEGER NOT NULL
);
CREATE TABLE relayer_cursors (
  name TEXT PRIMARY KEY,
  block_number INTEGER NOT NULL
);
CREATE TABLE relayer_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);`,
    postgres: `
CREATE TABLE relayer_anchors (
  head_index BIGINT PRIMARY KEY,
  tree_size BIGINT NOT NULL,
  root_hash TEXT NOT NULL,
  metadata_hash TEXT NOT NULL,
  tx_hash TEXT NOT NULL,
  block_number BIGINT NOT NULL,
  block_hash TEXT NOT NULL,
  block_timestamp BIGINT NOT NULL,
  chain_id BIGINT NOT NULL,
  contract TEXT NOT NULL,
  final BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX relayer_anchors_size ON relayer_anchors (tree_size);
CREATE TABLE relayer_pending_txs (
  tx_hash TEXT PRIMARY KEY,
  nonce BIGINT NOT NULL,
  kind TEXT NOT NULL,
  raw_tx TEXT NOT NULL,
  request TEXT NOT NULL,
  sent_at BIGINT NOT NULL
);
CREATE TABLE relayer_cursors (
  name TEXT PRIMARY KEY,
  block_number BIGINT NOT NULL
);
CREATE TABLE relayer_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);`,
  },
  {
    id: "relayer/002_escrow_alarms",
    sqlite: `
CREATE TABLE relayer_escrow_alarms (
  escrow_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  chain_event_id TEXT NOT NULL,
  hold_id TEXT,
  message TEXT NOT NULL,
  raised_at INTEGER NOT NULL,
  PRIMARY KEY (escrow_id, kind, chain_event_id)
);`,
    postgres: `
CREATE TABLE relayer_escrow_alarms (
  escrow_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  chain_event_id TEXT NOT NULL,
  hold_id TEXT,
  message TEXT NOT NULL,
  raised_at BIGINT NOT NULL,
  PRIMARY KEY (escrow_id, kind, chain_event_id)
);`,
  },
  {
    id: "relayer/003_cursor_block_hash",
    sqlite: `
ALTER TABLE relayer_cursors ADD COLUMN block_hash TEXT;
CREATE TABLE relayer_cursor_blocks (
  name TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  PRIMARY KEY (name, block_number)
);`,
    postgres: `
ALTER TABLE relayer_cursors ADD COLUMN block_hash TEXT;
CREATE TABLE relayer_cursor_blocks (
  name TEXT NOT NULL,
  block_number BIGINT NOT NULL,
  block_hash TEXT NOT NULL,
  PRIMARY KEY (name, block_number)
);`,
  },
  {
    id: "relayer/004_escrow_decisions",
    sqlite: `
CREATE TABLE relayer_escrow_decisions (
  escrow_id TEXT PRIMARY KEY,
  hold_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  chain_event_id TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  lost INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX relayer_escrow_decisions_block ON relayer_escrow_decisions (block_number);
CREATE INDEX relayer_escrow_decisions_lost ON relayer_escrow_decisions (lost);`,
    postgres: `
CREATE TABLE relayer_escrow_decisions (
  escrow_id TEXT PRIMARY KEY,
  hold_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  chain_event_id TEXT NOT NULL,
  block_number BIGINT NOT NULL,
  lost INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX relayer_escrow_decisions_block ON relayer_escrow_decisions (block_number);
CREATE INDEX relayer_escrow_decisions_lost ON relayer_escrow_decisions (lost);`,
  },
];
