import { createHash } from "node:crypto";
import type { Hex } from "viem";
import { canonicalJson } from "../ledger/canonical";
import type { JsonValue } from "../ledger/types";
import { AUDIT_CHECKS, type AuditCheck, type AuditFinding } from "./findings";

/** Format name of the audit report; normative spec in docs/audit.md. */
export const AUDIT_REPORT_FORMAT = "custody-audit-report-v1";

export interface AuditAssetSummary {
  asset: string;
  /** Decimal strings of minor units. */
  debitsPosted: string;
  creditsPosted: string;
  debitsPending: string;
  creditsPending: string;
  customerLiabilities: string;
  escrowLiabilities: string;
  settlementInTransit: string;
  platformOwnFunds: string;
  feeRevenue: string;
  bankMirrorBalance: string;
  surplus: string;
  covered: boolean;
}

export interface AuditHeadJson {
  headIndex: number;
  treeSize: number;
  rootHash: Hex;
}

/**
 * The audit of one module's own records (bank reconciliations, solvency snapshots, the risk
 * trail), run by `custody audit` next to the log audit and covered by the same report hash.
 */
export interface ModuleAuditJson {
  module: "bank" | "solvency" | "risk";
  passed: boolean;
  /** What was checked, as counts by name (e.g. `snapshots`, `alerts`). */
  checked: Record<string, number>;
  /** The first thing that differs (a day, a snapshot and account, an alert), or null. */
  firstDifference: string | null;
  /** The first 100 findings, in the order found. */
  findings: { check: string; subject?: string; message: string }[];
  findingsTotal: number;
}

/** Module audits keep at most this many findings in the report. */
export const MODULE_FINDINGS_KEPT = 100;

/** custody-audit-report-v1 (docs/audit.md). Only JSON types: amounts are decimal strings. */
export interface AuditReport {
  format: typeof AUDIT_REPORT_FORMAT;
  /** ISO 8601 time the audit finished. */
  generatedAt: string;
  passed: boolean;
  /** Smallest log index any finding names, or null. */
  firstBadIndex: number | null;
  /** Smallest head index any finding names, or null. */
  firstBadHead: number | null;
  source: { kind: "sqlite" | "postgres" | "api"; location: string };
  chain: { chainId: number; custodyAnchor: Hex; custodyEscrow: Hex | null; blockNumber: number };
  log: { events: number; rootHash: Hex; anchoredSize: number; unanchoredEvents: number };
  heads: { count: number; verified: number; consistentPairs: number; latest: AuditHeadJson | null };
  ledger: {
    accounts: number;
    transfers: number;
    holds: number;
    openHolds: number;
    assets: AuditAssetSummary[];
  };
  escrows: { holds: number; released: number; refunded: number; open: number };
  checks: { name: AuditCheck; ok: boolean; findings: number }[];
  /** The first 1000 findings, in the order found. */
  findings: AuditFinding[];
  findingsTotal: number;
  /** The module audits that ran (only those whose tables the database holds), in a fixed order. */
  modules?: ModuleAuditJson[];
}

/** The report with the module audits added: it passes only if the log audit and every module pass. */
export function withModuleAudits(report: AuditReport, modules: readonly ModuleAuditJson[]): AuditReport {
  return { ...report, passed: report.passed && modules.every((m) => m.passed), modules: [...modules] };
}

/** Counts per check over the kept findings (every check listed, in a fixed order). */
export function checkTable(findings: readonly AuditFinding[]): AuditReport["checks"] {
  const n = new Map<AuditCheck, number>();
  for (const f of findings) n.set(f.check, (n.get(f.check) ?? 0) + 1);
  return AUDIT_CHECKS.map((name) => ({ name, ok: !n.get(name), findings: n.get(name) ?? 0 }));
}

/** The bytes the report hash covers: its canonical JSON (RFC 8785 for these values), UTF-8. */
export function canonicalReport(report: AuditReport): string {
  return canonicalJson(report as unknown as JsonValue);
}

/** SHA-256 of the canonical JSON of the report, 0x hex: what `--attest` records on chain. */
export function auditReportHash(report: AuditReport): Hex {
  return `0x${createHash("sha256").update(canonicalReport(report), "utf8").digest("hex")}`;
}

/** The terminal summary of a report. */
export function formatAuditSummary(r: AuditReport): string {
  const lines: string[] = [];
  const verdict = r.passed ? "PASSED" : "FAILED";
  lines.push(`${verdict}  custody audit of ${r.log.events} events (${r.source.kind}: ${r.source.location})`);
  const failedModules = (r.modules ?? []).filter((m) => !m.passed);
  if (!r.passed) {
    const where = [
      r.firstBadIndex !== null ? `first bad index ${r.firstBadIndex}` : undefined,
      r.firstBadHead !== null ? `first bad head ${r.firstBadHead}` : undefined,
      ...failedModules.map((m) => `${m.module}: ${m.firstDifference ?? "see findings"}`),
    ].filter(Boolean);
    lines.push(`        ${where.length ? where.join(", ") : "see findings"}; ${r.findingsTotal} finding(s)`);
  }
  lines.push(
    `  chain ${r.chain.chainId}, CustodyAnchor ${r.chain.custodyAnchor}, read at block ${r.chain.blockNumber}`,
    `  log   ${r.log.events} events, root ${r.log.rootHash}`,
    `  heads ${r.heads.count} anchored, ${r.heads.verified} verified, ${r.heads.consistentPairs} consecutive pairs consistent; ` +
      `${r.log.anchoredSize} events anchored, ${r.log.unanchoredEvents} not yet`,
    `  ledger ${r.ledger.accounts} accounts, ${r.ledger.transfers} transfers, ${r.ledger.holds} holds (${r.ledger.openHolds} open)`,
    `  escrows ${r.escrows.holds} holds: ${r.escrows.released} released, ${r.escrows.refunded} refunded, ${r.escrows.open} open`,
  );
  for (const a of r.ledger.assets)
    lines.push(
      `  ${a.asset}: customers ${a.customerLiabilities}, escrow ${a.escrowLiabilities}, in transit ${a.settlementInTransit}, ` +
        `bank mirror ${a.bankMirrorBalance} (${a.covered ? "covered" : "SHORT"} by ${a.surplus}), platform ${a.platformOwnFunds}, fees ${a.feeRevenue}`,
    );
  lines.push("");
  const width = Math.max(...r.checks.map((c) => c.name.length));
  for (const c of r.checks)
    lines.push(
      `  ${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(width)}${c.ok ? "" : `  ${c.findings} finding(s)`}`,
    );
  if (r.findings.length) {
    lines.push("", "findings:");
    for (const f of r.findings.slice(0, 20)) lines.push(`  ${f.check}: ${f.message}`);
    if (r.findingsTotal > 20) lines.push(`  … ${r.findingsTotal - 20} more in the JSON report`);
  }
  for (const m of r.modules ?? []) {
    const counts = Object.entries(m.checked)
      .map(([k, v]) => `${v} ${k}`)
      .join(", ");
    lines.push("", `${m.module}: ${m.passed ? "ok" : "FAILED"} (${counts})`);
    if (m.firstDifference) lines.push(`  first difference: ${m.firstDifference}`);
    for (const f of m.findings.slice(0, 20))
      lines.push(`  ${f.check}${f.subject ? ` ${f.subject}` : ""}: ${f.message}`);
    if (m.findingsTotal > 20) lines.push(`  … ${m.findingsTotal - 20} more in the JSON report`);
  }
  return lines.join("\n");
}
