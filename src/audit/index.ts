/** The auditor's full audit: pure checks (replay, tree, heads, escrows, report) and their readers. */
export {
  runAudit,
  type AuditChainReader,
  type AuditEventRow,
  type AuditEventSource,
  type AuditProgress,
  type RunAuditParameters,
} from "./audit";
export { AUDIT_CHECKS, FindingList, type AuditCheck, type AuditFinding } from "./findings";
export { checkHeads, type HeadCheckResult, type LeafHashReference } from "./heads";
export { checkEscrows } from "./escrows";
export { checkDerivedRows, type DerivedRowReader, type DerivedTable } from "./derived";
export { readLeaf } from "./leaf";
export { LedgerReplay, type ReplayResult, type ReplayedAccount, type ReplayedHold } from "./replay";
export {
  AUDIT_REPORT_FORMAT,
  MODULE_FINDINGS_KEPT,
  auditReportHash,
  canonicalReport,
  formatAuditSummary,
  withModuleAudits,
  type AuditReport,
  type ModuleAuditJson,
} from "./report";
export {
  apiEventSource,
  databaseEventSource,
  redactDatabaseUrl,
  type ApiEventSourceParameters,
} from "./sources";
export { attestAudit, chainReader, type AttestAuditParameters, type ChainReaderParameters } from "./chain";
export { AuditAttestationError, AuditChainError, AuditSourceError } from "./errors";
