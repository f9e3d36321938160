/** Public surface of the relayer: anchor loop, anchor records, escrow bridge, leader lease, metrics. */
export { type AnchorRecord, type AnchorStore, openAnchorStore } from "./anchor-store";
export { relayerMigrations } from "./migrations";
export { ChainCheckedAnchors, type AnchorReads, type ChainCheckedAnchorsOptions } from "./checked-anchors";
export {
  Relayer,
  createRelayer,
  anchorMetadataHash,
  type RelayerOptions,
  type RelayerStatus,
  type RelayerDeployment,
  type RelayerTask,
  type RunOnceResult,
} from "./relayer";
export { createEscrowBridge, onChainTermsOf, type EscrowLedger, type EscrowHold } from "./escrow-bridge";
export type { EscrowTerms } from "../protocol/escrow-terms-v1";
export { logAnchorSource } from "./source";
export type { AnchorSource, RelayerAlarm } from "./types";
export {
  type LeaderLease,
  createLeaderLease,
  createPgAdvisoryLease,
  createRowLease,
  advisoryLockKey,
} from "../db/lease";
export { type RelayerMetrics, createRelayerMetrics } from "./metrics";
export { type FaultStep, type FaultHook } from "./faults";
export { type AnchorPolicy, nextAnchorSize, bumpFees, backoffDelay, isFinal } from "./policy";
export * from "./errors";
