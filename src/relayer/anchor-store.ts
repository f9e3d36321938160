import type { Address, Hex } from "viem";
import type { Database } from "../db/database";
import { InvalidArgumentError } from "../errors";
import { all, dialectOf, run, transaction } from "../db/sql";

export { relayerMigrations } from "./migrations";

/** One head held by the anchor contract, as mirrored by the relayer (src/protocol/head.ts). */
export type { AnchorRecord } from "../protocol/head";
import type { AnchorRecord } from "../protocol/head";

/** Reads (and, for the relayer, writes) the mirrored anchors. */
export interface AnchorStore {
  /** The anchor with the highest head index, final or not. */
  latest(): Promise<AnchorRecord | undefined>;
  /** The latest *final* anchor. */
  latestFinal(): Promise<AnchorRecord | undefined>;
  /** Newest first; `beforeHeadIndex` pages backwards (exclusive). `limit` is 1..1000 (default 100). */
  list(opts?: { limit?: number; beforeHeadIndex?: number }): Promise<AnchorRecord[]>;
  /** The first final anchor whose tree contains the leaf (`treeSize > leafIndex`). */
  covering(leafIndex: number): Promise<AnchorRecord | undefined>;
  byHeadIndex(headIndex: number): Promise<AnchorRecord | undefined>;
  /** Inserts or replaces records (the relayer's reconciliation only). */
  upsert(records: readonly AnchorRecord[]): Promise<void>;
  /** Drops records with `headIndex >= fromHeadIndex` (their blocks were reorganised away). */
  dropFrom(fromHeadIndex: number): Promise<number>;
  markFinal(upToHeadIndex: number): Promise<void>;
}

interface Row {
  head_index: number | string;
  tree_size: number | string;
  root_hash: string;
  metadata_hash: string;
  tx_hash: string;
  block_number: number | string;
  block_hash: string;
  block_timestamp: number | string;
  chain_id: number | string;
  contract: string;
  final: number | boolean;
}

const COLS =
  "head_index, tree_size, root_hash, metadata_hash, tx_hash, block_number, block_hash, block_timestamp, chain_id, contract, final";

function fromRow(r: Row): AnchorRecord {
  return {
    headIndex: Number(r.head_index),
    treeSize: Number(r.tree_size),
    rootHash: r.root_hash as Hex,
    metadataHash: r.metadata_hash as Hex,
    txHash: r.tx_hash as Hex,
    blockNumber: Number(r.block_number),
    blockHash: r.block_hash as Hex,
    blockTimestamp: Number(r.block_timestamp),
    chainId: Number(r.chain_id),
    contract: r.contract as Address,
    final: r.final === true || r.final === 1,
  };
}

function checkIndex(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new InvalidArgumentError(`${name} must be a non-negative safe integer`, {
      details: `got ${String(v)}`,
    });
  return v;
}

/**
 * Opens the anchor store on the shared database. Apply `relayerMigrations` first.
 *
 * @example
 * const anchors = openAnchorStore(db);
 * const a = await anchors.covering(41); // the head a receipt for entry 41 proves against
 */
export function openAnchorStore(db: Database): AnchorStore {
  const t = dialectOf(db).bool;
  const one = async (sql: string, params: unknown[] = []) => {
    const rows = await all<Row>(db, sql, params);
    return rows[0] ? fromRow(rows[0]) : undefined;
  };
  return {
    latest: () => one(`SELECT ${COLS} FROM relayer_anchors ORDER BY head_index DESC LIMIT 1`),
    latestFinal: () =>
      one(`SELECT ${COLS} FROM relayer_anchors WHERE final = ? ORDER BY head_index DESC LIMIT 1`, [t(true)]),
    async list(opts = {}) {
      const limit = opts.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new InvalidArgumentError("limit must be an integer in [1, 1000]", { details: `got ${limit}` });
      const rows =
        opts.beforeHeadIndex === undefined
          ? await all<Row>(db, `SELECT ${COLS} FROM relayer_anchors ORDER BY head_index DESC LIMIT ?`, [
              limit,
            ])
          : await all<Row>(
              db,
              `SELECT ${COLS} FROM relayer_anchors WHERE head_index < ? ORDER BY head_index DESC LIMIT ?`,
              [checkIndex("beforeHeadIndex", opts.beforeHeadIndex), limit],
            );
      return rows.map(fromRow);
    },
    covering: (leafIndex) =>
      one(
        `SELECT ${COLS} FROM relayer_anchors WHERE tree_size > ? AND final = ? ORDER BY head_index ASC LIMIT 1`,
        [checkIndex("leafIndex", leafIndex), t(true)],
      ),
    byHeadIndex: (headIndex) =>
      one(`SELECT ${COLS} FROM relayer_anchors WHERE head_index = ?`, [checkIndex("headIndex", headIndex)]),
    async upsert(records) {
      if (records.length === 0) return;
      await transaction(db, async (exec) => {
        for (const r of records) {
          await exec(`DELETE FROM relayer_anchors WHERE head_index = ?`, [r.headIndex]);
          await exec(`INSERT INTO relayer_anchors (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
            r.headIndex,
            r.treeSize,
            r.rootHash.toLowerCase(),
            r.metadataHash.toLowerCase(),
            r.txHash.toLowerCase(),
            r.blockNumber,
            r.blockHash.toLowerCase(),
            r.blockTimestamp,
            r.chainId,
            r.contract.toLowerCase(),
            t(r.final),
          ]);
        }
      });
    },
    dropFrom: (fromHeadIndex) =>
      run(db, `DELETE FROM relayer_anchors WHERE head_index >= ?`, [fromHeadIndex]),
    async markFinal(upTo) {
      await run(db, `UPDATE relayer_anchors SET final = ? WHERE head_index <= ? AND final = ?`, [
        t(true),
        upTo,
        t(false),
      ]);
    },
  };
}
