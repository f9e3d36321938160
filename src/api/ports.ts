import type { Address, Hex } from "viem";

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

/**
 * What the API needs from the log store: heads, proofs and the index of a leaf hash. Hashes are
 * 0x lower-case hex.
 */
export interface LogReader {
  size(): number | Promise<number>;
  root(size?: number): Hex | Promise<Hex>;
  inclusionProof(index: number, size: number): Hex[] | Promise<Hex[]>;
  consistencyProof(size1: number, size2: number): Hex[] | Promise<Hex[]>;
  findLeaf(leafHash: Hex): number | undefined | Promise<number | undefined>;
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
  lastAnchor?: { headIndex: number; treeSize: number } & Record<string, unknown>;
  alarm?: { kind: string; firstBadSize?: number; message: string };
}

export interface RelayerStatusSource {
  status(): RelayerStatus | Promise<RelayerStatus>;
}
