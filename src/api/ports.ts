import type { Address, Hex } from "viem";
import type { Ledger } from "../ledger/ledger";

/**
 * What the API needs from the relayer, declared here so the API depends on the shape and not on
 * the relayer's implementation. The relayer's `AnchorStore` and `Relayer` satisfy these.
 */

/** One head anchored on chain (as mirrored by the relayer). */
export interface AnchorRecord {
  headIndex: number;
  treeSize: number;
  rootHash: Hex;
  metadataHash: Hex;
  txHash: Hex;
  blockNumber: number;
  /** Unix seconds of the anchoring block. */
  blockTimestamp: number;
  chainId: number;
  contract: Address;
  /** False while the anchoring block is shallower than the relayer's confirmation depth. */
  final?: boolean;
}

/** What the API needs from the log store (src/log `LogStore` satisfies it). Hashes are 32-byte arrays. */
export interface LogReader {
  size(): Promise<number>;
  root(size?: number): Promise<Uint8Array>;
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]>;
  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
  findLeaf(leafHash: Uint8Array): Promise<number | undefined>;
}

/** Read side of the anchor mirror. */
export interface AnchorSource {
  latest(): Promise<AnchorRecord | undefined>;
  /** Newest first; `beforeHeadIndex` pages backwards (exclusive). */
  list(opts?: { limit?: number; beforeHeadIndex?: number }): Promise<AnchorRecord[]>;
  /** The first confirmed anchor whose `treeSize > leafIndex`. */
  covering(leafIndex: number): Promise<AnchorRecord | undefined>;
  byHeadIndex(headIndex: number): Promise<AnchorRecord | undefined>;
}

/** The relayer's self-report, shown by /v1/ready. */
export interface RelayerStatus {
  leader: boolean;
  lagEntries: number;
  lagSeconds: number;
  lastAnchor?: { headIndex: number; treeSize: number };
  alarm?: { kind: string; firstBadSize?: number; message: string };
}

export interface RelayerStatusSource {
  status(): RelayerStatus | Promise<RelayerStatus>;
}

/** What the API needs from the ledger (`openLedger(...)` returns it). */
export type LedgerPort = Pick<
  Ledger,
  | "openAccount"
  | "setAccountStatus"
  | "getAccount"
  | "getBalance"
  | "transfer"
  | "transferBatch"
  | "getTransfer"
  | "createHold"
  | "getHold"
  | "getHoldByEscrowId"
  | "eventCount"
  | "getEvents"
  | "getEventsForSubject"
  | "leafHashes"
>;
