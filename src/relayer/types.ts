import type { Hex } from "viem";

/**
 * What the anchor loop needs from the log side. `logAnchorSource` (src/relayer/source.ts) adapts the
 * ledger and the log store to it; tests may pass a fake.
 */
export interface AnchorSource {
  /**
   * Appends the ledger's new entries to the Merkle tree, at most `maxLeaves` of them when given
   * (a ledger under load never runs dry, so the relayer bounds each step); returns the tree size.
   */
  sync(maxLeaves?: number): Promise<number>;
  /** Number of entries in the ledger (may be ahead of the tree); the lag is measured from it. */
  logSize?(): Promise<number>;
  /** RFC 9162 root of the first `size` leaves of the tree. Requires size <= tree size. */
  root(size: number): Promise<Hex>;
  /** RFC 9162 consistency proof from `size1` to `size2`. Requires 1 <= size1 <= size2 <= tree size. */
  consistencyProof(size1: number, size2: number): Promise<Hex[]>;
  /** Ledger time (ms) of entry `index`, undefined if there is no such entry. */
  entryTimestamp(index: number): Promise<number | undefined>;
  /** Leaf hashes recomputed from the ledger's events (not from stored hashes), for audits. */
  ledgerLeafHashes(from: number, limit: number): Promise<Uint8Array[]>;
  /** Leaf hashes as held by the tree, if the store keeps them (lets an audit name the exact entry). */
  treeLeafHashes?(from: number, limit: number): Promise<Uint8Array[]>;
}

/**
 * Why anchoring is stopped, or (escrow kinds, raised by the escrow bridge) why an escrow decision
 * was refused: `escrow-decided-otherwise` (the chain decided a hold the ledger already decided the
 * other way), `escrow-terms-mismatch` (an escrow on chain differs from the ledger's terms),
 * `escrow-decision-lost` (the chain lost the block of a decision the ledger applied, and the terms
 * no longer let anyone but the approvers make it again).
 */
export interface RelayerAlarm {
  kind:
    | "log-mismatch"
    | "ledger-tree-mismatch"
    | "log-behind-chain"
    | "deployment-mismatch"
    | "escrow-decided-otherwise"
    | "escrow-terms-mismatch"
    | "escrow-decision-lost";
  /** The first tree size known to differ from the anchored history (or the tree, for ledger-tree-mismatch). */
  firstBadSize?: number;
  message: string;
}
