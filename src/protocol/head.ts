import type { Address, Hex } from "viem";

/**
 * A tree head anchored in CustodyAnchor: the one shape every module uses for it (chain reads, the
 * relayer's mirror, the API, the audit and the verifiers). Numbers are safe: sizes stay below 2^53.
 * Receipt v1 names the block time `anchor.timestamp` (docs/receipt-v1.md); that JSON name is frozen.
 */
export interface AnchoredHead {
  /** Index of the head in the contract (0-based, as in `getHead(i)`). */
  headIndex: number;
  /** Number of log entries the head commits to. */
  treeSize: number;
  /** RFC 9162 root of the first `treeSize` entries, 0x lower-case. */
  rootHash: Hex;
  blockNumber: number;
  /** Time of the anchoring block, seconds since the Unix epoch. */
  blockTimestamp: number;
}

/** Where a head is anchored: the chain and the CustodyAnchor contract (0x lower-case). */
export interface AnchorLocation {
  chainId: number;
  contract: Address;
}

/**
 * A head with the transaction that anchored it, as mirrored by the relayer from the `HeadAnchored`
 * event, its receipt and block; the relayer adds only `final`.
 */
export interface AnchorRecord extends AnchoredHead, AnchorLocation {
  metadataHash: Hex;
  /** Transaction that anchored the head. */
  txHash: Hex;
  blockHash: Hex;
  /** True once the block is at least the configured confirmation depth deep. */
  final: boolean;
}
