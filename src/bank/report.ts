import { createHash } from "node:crypto";
import type { Hex } from "viem";
import { canonicalJson } from "../ledger/canonical";
import type { JsonValue } from "../ledger/types";
import type { BankSide, BreakClass, LedgerSide, ReconcileResult } from "./reconcile";

/**
 * `custody-reconciliation-v1`: the report of one reconciliation (spec: docs/reconciliation-v1.md).
 * Pure. Its canonical JSON (RFC 8785 subset, as src/ledger/canonical) is what is stored, served and
 * hashed; the SHA-256 of those bytes enters the log as a BANK_RECONCILIATION fact. Amounts are
 * decimal strings of minor units.
 */
export const RECONCILIATION_VERSION = "custody-reconciliation-v1";

export type Severity = "info" | "high" | "critical";

export interface ReportStatementRef {
  id: string;
  page: number;
  documentHash: Hex;
}

/**
 * Two consecutive statements of the day that do not chain: the later one opens at another balance
 * than the earlier one closed at (a statement in between is missing, or a balance is wrong).
 */
export interface StatementGap {
  statementId: string;
  previousStatementId: string;
  /** The previous statement's closing balance (minor units). */
  expectedOpening: bigint;
  opening: bigint;
}

export interface ReportBreak {
  /** Position in the report; the break's id is `<report id>/<n>`. */
  n: number;
  class: BreakClass | "statement_gap" | "segregation_shortfall";
  severity: Severity;
  bank?: Omit<BankSide, "amount"> & { amount: string };
  ledger?: Omit<LedgerSide, "amount"> & { amount: string };
  /** segregation_shortfall only: liabilities − bank closing balance. */
  shortfall?: string;
  /** statement_gap only; `difference` = opening − expectedOpening. */
  gap?: {
    statementId: string;
    previousStatementId: string;
    expectedOpening: string;
    opening: string;
    difference: string;
  };
}

export interface ReconciliationReport {
  version: typeof RECONCILIATION_VERSION;
  day: string;
  ledgerAccount: string;
  bankAccount: string;
  currency: string;
  exponent: number;
  cutoff: string;
  toleranceDays: number;
  statements: ReportStatementRef[];
  adjacentStatements: ReportStatementRef[];
  /** The ledger as read: events 0 .. throughSequence − 1. */
  ledger: { throughSequence: number };
  balances: { bank: string; ledger: string; difference: string };
  segregation: { customerLiabilities: string; bankClosing: string; shortfall: string; ok: boolean };
  counts: {
    bankEntries: number;
    matched: number;
    pendingIgnored: number;
    infoIgnored: number;
    ledgerMovements: number;
  };
  notes: string[];
  breaks: ReportBreak[];
}

export function severityOf(c: ReportBreak["class"]): Severity {
  if (c === "segregation_shortfall") return "critical";
  return c === "timing" ? "info" : "high";
}

export interface BuildReportInput {
  day: string;
  ledgerAccount: string;
  bankAccount: string;
  currency: string;
  exponent: number;
  cutoff: number;
  toleranceDays: number;
  statements: ReportStatementRef[];
  adjacentStatements: ReportStatementRef[];
  throughSequence: number;
  bankClosing: bigint;
  ledgerBalance: bigint;
  customerLiabilities: bigint;
  bankEntries: number;
  ledgerMovements: number;
  result: ReconcileResult;
  /** Breaks in the chain of the day's statements (several statements a day). */
  gaps?: StatementGap[];
  /** Extra notes (e.g. a statement of the day left out because pages are missing). */
  notes?: string[];
}

export function buildReport(i: BuildReportInput): ReconciliationReport {
  const breaks: ReportBreak[] = i.result.breaks.map((b, n) => {
    const out: ReportBreak = { n, class: b.class, severity: severityOf(b.class) };
    if (b.bank) out.bank = { ...b.bank, amount: b.bank.amount.toString() };
    if (b.ledger) out.ledger = { ...b.ledger, amount: b.ledger.amount.toString() };
    return out;
  });
  for (const g of i.gaps ?? [])
    breaks.push({
      n: breaks.length,
      class: "statement_gap",
      severity: severityOf("statement_gap"),
      gap: {
        statementId: g.statementId,
        previousStatementId: g.previousStatementId,
        expectedOpening: g.expectedOpening.toString(),
        opening: g.opening.toString(),
        difference: (g.opening - g.expectedOpening).toString(),
      },
    });
  const shortfall = i.customerLiabilities > i.bankClosing ? i.customerLiabilities - i.bankClosing : 0n;
  if (shortfall > 0n)
    breaks.push({
      n: breaks.length,
      class: "segregation_shortfall",
      severity: "critical",
      shortfall: shortfall.toString(),
    });
  const notes: string[] = [];
  if (i.result.pendingIgnored > 0)
    notes.push(
      `${i.result.pendingIgnored} pending entr${i.result.pendingIgnored === 1 ? "y" : "ies"} ignored (not booked)`,
    );
  if (i.result.infoIgnored > 0)
    notes.push(`${i.result.infoIgnored} information entr${i.result.infoIgnored === 1 ? "y" : "ies"} ignored`);
  notes.push(...(i.notes ?? []));
  return {
    version: RECONCILIATION_VERSION,
    day: i.day,
    ledgerAccount: i.ledgerAccount,
    bankAccount: i.bankAccount,
    currency: i.currency,
    exponent: i.exponent,
    cutoff: new Date(i.cutoff).toISOString(),
    toleranceDays: i.toleranceDays,
    statements: i.statements,
    adjacentStatements: i.adjacentStatements,
    ledger: { throughSequence: i.throughSequence },
    balances: {
      bank: i.bankClosing.toString(),
      ledger: i.ledgerBalance.toString(),
      difference: (i.bankClosing - i.ledgerBalance).toString(),
    },
    segregation: {
      customerLiabilities: i.customerLiabilities.toString(),
      bankClosing: i.bankClosing.toString(),
      shortfall: shortfall.toString(),
      ok: shortfall === 0n,
    },
    counts: {
      bankEntries: i.bankEntries,
      matched: i.result.matched,
      pendingIgnored: i.result.pendingIgnored,
      infoIgnored: i.result.infoIgnored,
      ledgerMovements: i.ledgerMovements,
    },
    notes,
    breaks,
  };
}

export function reportBytes(r: ReconciliationReport): Buffer {
  return Buffer.from(canonicalJson(r as unknown as JsonValue), "utf8");
}

export function reportHash(r: ReconciliationReport): Hex {
  return `0x${createHash("sha256").update(reportBytes(r)).digest("hex")}`;
}

/** Breaks that raise an alarm: everything but timing. */
export function alarmingBreaks(r: ReconciliationReport): ReportBreak[] {
  return r.breaks.filter((b) => b.severity !== "info");
}
