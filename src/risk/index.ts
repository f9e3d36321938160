/** Public surface of the risk module: rules engine, alerts, dual control, audit of the trail. */
export { RiskEngine, type RiskEngineOptions, type ActiveRules, type EngineBatchReport } from "./engine";
export { RiskEngineThread, type RiskEngineThreadOptions, type LinearClock } from "./engine-thread";
export { RiskService } from "./service";
export { findRiskDatabase, openRiskDatabase, riskDatabasePath, type RiskDatabase } from "./database";
export {
  ALERT_STATES,
  DISPOSED_STATES,
  type Alert,
  type AlertFilter,
  type AlertState,
  type AlertTransition,
  type TransitionInput,
} from "./alerts";
export {
  Approvals,
  DEFAULT_SETTINGS,
  OPERATIONS,
  OPERATION_PARAMS,
  type Approval,
  type ApprovalState,
  type DualControlSettings,
  type Executor,
  type Executors,
  type Operation,
} from "./approvals";
export {
  FEE_SCHEDULE_SETTING,
  escrowOverrideExecutor,
  ledgerExecutors,
  storedFeeSchedule,
  type EscrowOverrideChain,
} from "./executors";
export { auditRisk, type RiskAuditFinding, type RiskAuditReport } from "./audit";
export {
  LARGE_VALUE_REPORT_FORMAT,
  largeValueCsv,
  largeValueReport,
  type LargeValueEntry,
  type LargeValueReport,
  type LargeValueTransaction,
} from "./large-value-report";
export { type RefusedAttempt } from "./refusals";
export { type WebhookOptions, webhookSignature } from "./outbox";
export {
  DEFAULT_RULE_FILE,
  DEFAULT_RULE_SOURCE,
  RULE_FILE_FORMAT,
  compileRuleFile,
  type CompiledRules,
} from "./rules-file";
export { riskMigrations } from "./migrations";
export type { FactPort, RiskLedgerPort } from "./ports";
export * from "./errors";
