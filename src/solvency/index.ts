/** Public surface of the solvency module: liabilities snapshots, balance proofs and their audit. */
export { LiabilitiesFold } from "./liabilities";
export { solvencyMigrations } from "./migrations";
export * from "./errors";
export {
  SNAPSHOT_DOCUMENT_VERSION,
  SolvencySnapshots,
  documentHashOf,
  liabilitiesAt,
  nodeSha256,
  snapshotIdOf,
  treeOfDocument,
  type CommitSnapshot,
  type FactSink,
  type LiabilitiesSnapshot,
  type SnapshotDocument,
  type SolvencySnapshotsOptions,
} from "./snapshots";
export { auditSolvency, type SolvencyAuditResult, type SolvencyFinding } from "./audit";
export {
  SolvencyWatcher,
  attestationDocument,
  type ReservesShortfall,
  type SolvencyStatus,
  type SolvencyWatcherOptions,
} from "./watcher";
