import { createHash } from "node:crypto";
import type { Hex } from "viem";
import { canonicalJson } from "../ledger";
import type { JsonValue } from "../ledger";

/**
 * The documents the risk module logs as facts (spec: docs/risk-v1.md). Each is canonical JSON
 * (RFC 8785 subset, src/ledger/canonical.ts); the fact carries SHA-256 of those bytes and the
 * document itself stays in the risk tables, where the audit re-hashes it.
 */
export const ALERT_FORMAT = "custody-risk-alert-v1";
export const ALERT_TRANSITION_FORMAT = "custody-risk-alert-transition-v1";
export const APPROVAL_FORMAT = "custody-risk-approval-v1";
export const APPROVAL_DECISION_FORMAT = "custody-risk-approval-decision-v1";
export const APPROVAL_EXECUTION_FORMAT = "custody-risk-approval-execution-v1";
export const RULES_CHANGE_FORMAT = "custody-risk-rules-change-v1";

/** Fact kinds of the risk range (40–79) of FACT_KINDS. */
export const RISK_FACT_KINDS = {
  ALERT_RAISED: "ALERT_RAISED",
  ALERT_TRANSITIONED: "ALERT_TRANSITIONED",
  APPROVAL_PROPOSED: "APPROVAL_PROPOSED",
  APPROVAL_DECIDED: "APPROVAL_DECIDED",
  APPROVAL_EXECUTED: "APPROVAL_EXECUTED",
  RULES_CHANGED: "RULES_CHANGED",
  SEGREGATION_REFUSED: "SEGREGATION_REFUSED",
} as const;

export function documentBytes(doc: { [k: string]: JsonValue }): string {
  return canonicalJson(doc);
}

export function documentHash(canonical: string): Hex {
  return `0x${createHash("sha256").update(canonical, "utf8").digest("hex")}`;
}

/** A stable alert id from its dedup key, so a replayed evaluation finds the same alert. */
export function alertIdOf(ruleId: string, subject: string, window: string): string {
  const h = createHash("sha256").update(`${ruleId}\n${subject}\n${window}`, "utf8").digest("hex");
  return `al-${h.slice(0, 32)}`;
}

export const factIds = {
  alert: (alertId: string) => `risk:alert:${alertId}`,
  transition: (alertId: string, n: number) => `risk:alert:${alertId}:t${n}`,
  proposal: (approvalId: string) => `risk:approval:${approvalId}`,
  decision: (approvalId: string) => `risk:approval:${approvalId}:decision`,
  execution: (approvalId: string) => `risk:approval:${approvalId}:executed`,
  rules: (revision: number) => `risk:rules:r${revision}`,
};
