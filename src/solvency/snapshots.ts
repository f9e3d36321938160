import { randomBytes, hash as nodeHash } from "node:crypto";
import type { Hex } from "viem";
import type { Database } from "../db/database";
import type { CommitSnapshotParameters } from "../chain/actions/commit-snapshot";
import type { Ledger } from "../ledger/ledger";
import { InvalidArgumentError } from "../errors";
import {
  BALANCE_LIMIT,
  buildLiabilitiesTree,
  heightFor,
  snapshotPrk,
  type LiabilitiesSnapshotTree,
  type Sha256,
} from "../protocol/liabilities-tree-v1";
import {
  assetBytes32,
  balanceProofFromTree,
  bytesToHex,
  dayNumberOf,
  hexToBytes,
  type BalanceProofJson,
} from "../protocol/balance-proof-v1";
import { LiabilitiesFold } from "./liabilities";
import { NotInSnapshotError, SnapshotRefusedError, UnknownSnapshotError } from "./errors";
import { all, run } from "../db/sql";

/** Node's SHA-256 for bulk tree work; same bytes as the portable one. */
export const nodeSha256: Sha256 = (d) => nodeHash("sha256", d, "buffer");

export const SNAPSHOT_DOCUMENT_VERSION = "custody-liabilities-snapshot-v1";

/** A committed-or-not liabilities snapshot as stored. */
export interface LiabilitiesSnapshot {
  id: string;
  asset: string;
  day: string;
  logSize: number;
  height: number;
  rootHash: Hex;
  rootSum: bigint;
  accountCount: number;
  documentHash: Hex;
  createdAt: number;
  commitTx?: Hex;
}

/**
 * The snapshot document (docs/liabilities-tree-v1.md §Snapshot document): everything needed to
 * rebuild the tree given the master secret. Its SHA-256 is the LIABILITIES_SNAPSHOT fact's
 * documentHash. Key order is fixed, so JSON.stringify is canonical.
 */
export interface SnapshotDocument {
  version: typeof SNAPSHOT_DOCUMENT_VERSION;
  id: string;
  asset: string;
  day: string;
  logSize: number;
  height: number;
  nonce: Hex;
  rootHash: Hex;
  rootSum: string;
  /** [pseudonym, balance] of every customer account of the asset, sorted by pseudonym. */
  accounts: [Hex, string][];
}

/** Where snapshot facts go: the ledger's recordFact (idempotent by id). */
export type FactSink = Pick<Ledger, "recordFact">;

/** Sends CustodySolvency.commitSnapshot; returns the transaction hash once mined. */
export type CommitSnapshot = (params: Omit<CommitSnapshotParameters, "address">) => Promise<Hex>;

export interface SolvencySnapshotsOptions {
  db: Database;
  ledger: Pick<Ledger, "eventCount" | "getEvents" | "getAccount">;
  /** HKDF master secret (≥ 32 bytes), from an env var or a keystore; never logged. */
  masterSecret: Uint8Array;
  /** Smallest tree height: the published bound on customers is at least 2^minHeight. Default 10. */
  minHeight?: number;
  facts?: FactSink;
  commit?: CommitSnapshot;
  chain?: { chainId: number; solvencyContract: Hex };
  clock?: () => number;
}

export function snapshotIdOf(asset: string, day: string): string {
  return `liabilities:${asset}:${day}`;
}

export function documentHashOf(documentText: string): Hex {
  return bytesToHex(nodeSha256(new TextEncoder().encode(documentText)));
}

interface Row {
  id: string;
  asset: string;
  day: string;
  log_size: number | string;
  height: number;
  root_hash: string;
  root_sum: string;
  account_count: number | string;
  document_hash: string;
  created_at: number | string;
  commit_tx: string | null;
}

function snapshotOf(r: Row): LiabilitiesSnapshot {
  const s: LiabilitiesSnapshot = {
    id: r.id,
    asset: r.asset,
    day: r.day,
    logSize: Number(r.log_size),
    height: r.height,
    rootHash: r.root_hash as Hex,
    rootSum: BigInt(r.root_sum),
    accountCount: Number(r.account_count),
    documentHash: r.document_hash as Hex,
    createdAt: Number(r.created_at),
  };
  if (r.commit_tx) s.commitTx = r.commit_tx as Hex;
  return s;
}

/** Rebuilds a snapshot's tree from its document and the master secret. */
export function treeOfDocument(doc: SnapshotDocument, masterSecret: Uint8Array): LiabilitiesSnapshotTree {
  return buildLiabilitiesTree({
    prk: snapshotPrk(masterSecret, hexToBytes(doc.nonce)),
    asset32: assetBytes32(doc.asset),
    height: doc.height,
    accounts: doc.accounts.map(([p, b]) => ({ pseudonym: hexToBytes(p), balance: BigInt(b) })),
  });
}

/** Replays the ledger's entries [0, logSize) into customer liabilities. */
export async function liabilitiesAt(
  ledger: Pick<Ledger, "getEvents">,
  logSize: number,
  fold = new LiabilitiesFold(),
): Promise<LiabilitiesFold> {
  while (fold.applied < logSize) {
    const events = await ledger.getEvents(fold.applied, Math.min(10_000, logSize - fold.applied));
    if (events.length === 0)
      throw new SnapshotRefusedError(`the log ends at ${fold.applied}, before ${logSize}`);
    for (const e of events) fold.apply(e.entry);
  }
  return fold;
}

/** The stored snapshots (newest day first), read only: what the audit needs without the master secret. */
export async function listSnapshots(
  db: Database,
  opts: { asset?: string } = {},
): Promise<LiabilitiesSnapshot[]> {
  const rows = opts.asset
    ? await all<Row>(db, `SELECT * FROM solvency_snapshots WHERE asset = ? ORDER BY day DESC`, [opts.asset])
    : await all<Row>(db, `SELECT * FROM solvency_snapshots ORDER BY day DESC, asset`);
  return rows.map(snapshotOf);
}

/** A stored snapshot document, as text (what its hash covers) and parsed. */
export async function readSnapshotDocument(
  db: Database,
  id: string,
): Promise<{ text: string; doc: SnapshotDocument }> {
  const rows = await all<{ document: string }>(db, `SELECT document FROM solvency_snapshots WHERE id = ?`, [
    id,
  ]);
  if (!rows[0]) throw new UnknownSnapshotError(id);
  return { text: rows[0].document, doc: JSON.parse(rows[0].document) as SnapshotDocument };
}

/**
 * Takes, stores, records and commits liabilities snapshots, and serves balance proofs from them.
 * One snapshot per (asset, day); taking it again returns the stored one (and finishes its fact and
 * commitment if a crash interrupted them).
 */
export class SolvencySnapshots {
  readonly #o: SolvencySnapshotsOptions;
  readonly #trees = new Map<string, LiabilitiesSnapshotTree>();
  #fold = new LiabilitiesFold();

  constructor(options: SolvencySnapshotsOptions) {
    if (options.masterSecret.length < 32)
      throw new InvalidArgumentError("solvency master secret shorter than 32 bytes");
    this.#o = options;
  }

  async take(params: { asset: string; day: string; logSize: number }): Promise<LiabilitiesSnapshot> {
    const { asset, day, logSize } = params;
    dayNumberOf(day);
    assetBytes32(asset);
    const id = snapshotIdOf(asset, day);
    let snap = await this.find(id);
    if (!snap) snap = await this.#create(id, asset, day, logSize);
    return this.#finish(snap);
  }

  async #create(id: string, asset: string, day: string, logSize: number): Promise<LiabilitiesSnapshot> {
    if (!Number.isSafeInteger(logSize) || logSize < 0)
      throw new InvalidArgumentError(`log size must be a non-negative integer, found ${logSize}`);
    const count = await this.#o.ledger.eventCount();
    if (logSize > count)
      throw new SnapshotRefusedError(`the log holds ${count} entries, fewer than ${logSize}`);
    if (this.#fold.applied > logSize) this.#fold = new LiabilitiesFold();
    const fold = await liabilitiesAt(this.#o.ledger, logSize, this.#fold);
    const balances = fold.balances(asset);
    for (const b of balances)
      if (b.balance < 0n || b.balance >= BALANCE_LIMIT)
        throw new SnapshotRefusedError(`customer balance out of range in ${asset} at log size ${logSize}`, {
          details: `account ${b.pseudonym} has ${b.balance}; expected 0 <= balance < 2^64`,
        });
    const height = heightFor(balances.length, this.#o.minHeight ?? 10);
    const nonce = bytesToHex(randomBytes(32));
    const doc: SnapshotDocument = {
      version: SNAPSHOT_DOCUMENT_VERSION,
      id,
      asset,
      day,
      logSize,
      height,
      nonce,
      rootHash: `0x${"00".repeat(32)}`,
      rootSum: "0",
      accounts: balances.map((b) => [b.pseudonym, b.balance.toString()]),
    };
    const built = treeOfDocument(doc, this.#o.masterSecret);
    doc.rootHash = bytesToHex(built.tree.rootHash);
    doc.rootSum = built.tree.rootSum.toString();
    const text = JSON.stringify(doc);
    const createdAt = (this.#o.clock ?? Date.now)();
    // A concurrent taker of the same (asset, day) loses the insert and reads the winner's row.
    await run(
      this.#o.db,
      `INSERT INTO solvency_snapshots (id, asset, day, log_size, height, root_hash, root_sum, account_count,
         document_hash, document, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [
        id,
        asset,
        day,
        logSize,
        height,
        doc.rootHash,
        doc.rootSum,
        balances.length,
        documentHashOf(text),
        text,
        createdAt,
      ],
    );
    this.#trees.clear();
    const stored = await this.find(id);
    if (!stored) throw new UnknownSnapshotError(id);
    if (stored.rootHash === doc.rootHash) this.#trees.set(id, built);
    return stored;
  }

  /** Records the fact and sends the commitment if not done yet. Both are idempotent. */
  async #finish(snap: LiabilitiesSnapshot): Promise<LiabilitiesSnapshot> {
    if (this.#o.facts)
      await this.#o.facts.recordFact({
        id: snap.id,
        kind: "LIABILITIES_SNAPSHOT",
        documentHash: snap.documentHash,
        asset: snap.asset,
        amount: snap.rootSum,
      });
    if (this.#o.commit && !snap.commitTx) {
      const tx = await this.#o.commit({
        asset: snap.asset,
        dayNumber: dayNumberOf(snap.day),
        logSize: snap.logSize,
        rootHash: snap.rootHash,
        rootSum: snap.rootSum,
        leafCount: 2 ** snap.height,
      });
      await run(this.#o.db, `UPDATE solvency_snapshots SET commit_tx = ? WHERE id = ?`, [tx, snap.id]);
      snap = { ...snap, commitTx: tx };
    }
    return snap;
  }

  async find(id: string): Promise<LiabilitiesSnapshot | undefined> {
    const rows = await all<Row>(this.#o.db, `SELECT * FROM solvency_snapshots WHERE id = ?`, [id]);
    return rows[0] ? snapshotOf(rows[0]) : undefined;
  }

  async get(id: string): Promise<LiabilitiesSnapshot> {
    const s = await this.find(id);
    if (!s) throw new UnknownSnapshotError(id);
    return s;
  }

  /** Newest day first. */
  list(opts: { asset?: string } = {}): Promise<LiabilitiesSnapshot[]> {
    return listSnapshots(this.#o.db, opts);
  }

  document(id: string): Promise<{ text: string; doc: SnapshotDocument }> {
    return readSnapshotDocument(this.#o.db, id);
  }

  async #tree(id: string): Promise<LiabilitiesSnapshotTree> {
    const cached = this.#trees.get(id);
    if (cached) return cached;
    const { doc } = await this.document(id);
    const built = treeOfDocument(doc, this.#o.masterSecret);
    if (this.#trees.size >= 2) this.#trees.delete(this.#trees.keys().next().value!);
    this.#trees.set(id, built);
    return built;
  }

  /**
   * The custody-balance-proof-v1 of customer account `accountId` in snapshot `snapshotId` (default:
   * the newest snapshot of the account's asset). Callers check that the requester holds the account.
   */
  async balanceProof(accountId: string, snapshotId?: string): Promise<BalanceProofJson> {
    const account = await this.#o.ledger.getAccount(accountId);
    if (account.type !== "customer")
      throw new NotInSnapshotError(`account ${JSON.stringify(accountId)} is not a customer sub-account`, {
        details: "only customer sub-accounts enter the liabilities tree",
      });
    const snap = snapshotId ? await this.get(snapshotId) : (await this.list({ asset: account.asset }))[0];
    if (!snap) throw new UnknownSnapshotError(`${account.asset} (latest)`);
    if (snap.asset !== account.asset)
      throw new NotInSnapshotError(
        `snapshot ${snap.id} is for ${snap.asset}, the account holds ${account.asset}`,
      );
    const built = await this.#tree(snap.id);
    const position = built.positionOf.get(account.pseudonym.slice(2));
    if (position === undefined)
      throw new NotInSnapshotError(
        `account ${JSON.stringify(accountId)} was opened after snapshot ${snap.id}`,
      );
    const leaf = built.leafAt(position);
    return balanceProofFromTree({
      tree: built.tree,
      position,
      key: leaf.key,
      salt: leaf.salt,
      balance: leaf.balance,
      account: { id: account.id, pseudonym: account.pseudonym },
      snapshot: { asset: snap.asset, day: snap.day, logSize: snap.logSize },
      chain: this.#o.chain ?? { chainId: 0, solvencyContract: `0x${"00".repeat(20)}` },
    });
  }
}
