import { createHash } from "node:crypto";
import type { Database } from "../db/database";
import { InvariantError } from "../errors";
import { CustodianBank } from "./bank";
import { parseStatementDocument } from "./parse";
import { reportHash } from "./report";
import { statementContent } from "./statement";
import { queryAll, buf, num } from "./sql";

/**
 * The bank part of `custody audit`: every stored statement document re-hashes to its stored hash
 * and to its BANK_STATEMENT fact; every stored reconciliation, re-run from the stored statements
 * and the ledger as it stood (`throughSequence`, same tolerance, same adjacent statements), gives
 * the same report hash as its BANK_RECONCILIATION fact. Reads only.
 */
export interface BankAuditFinding {
  day?: string;
  ledgerAccount?: string;
  message: string;
}

export interface BankAuditResult {
  passed: boolean;
  documents: number;
  reconciliations: number;
  /** The first business day whose re-run differs from what was reported. */
  firstDifferingDay?: string;
  findings: BankAuditFinding[];
}

const sha256Text = (t: string) => `0x${createHash("sha256").update(t).digest("hex")}`;

const readOnly = new Proxy({} as never, {
  get() {
    throw new InvariantError("the bank audit does not write to the ledger");
  },
});

/** True when the database holds the bank module's tables. */
export async function hasBankTables(db: Database): Promise<boolean> {
  const r = await queryAll(db, "SELECT id FROM schema_migrations WHERE id = ?", ["bank/001_init"]).catch(
    () => [],
  );
  return r.length > 0;
}

export async function auditBank(
  db: Database,
  onProgress?: (done: number, total: number) => void,
): Promise<BankAuditResult> {
  const findings: BankAuditFinding[] = [];
  const docs = await queryAll(
    db,
    `SELECT d.hash, b.raw, d.fact_id, d.fact_sequence, f.document_hash AS fact_hash, f.sequence AS fact_seq,
       (SELECT MIN(s.day) FROM bank_statements s WHERE s.document_hash = d.hash) AS day
     FROM bank_documents d JOIN bank_document_bytes b ON b.hash = d.hash
     LEFT JOIN ledger_facts f ON f.id = d.fact_id WHERE d.fact_sequence IS NOT NULL`,
  );
  for (const d of docs) {
    const h = `0x${createHash("sha256").update(buf(d.raw)).digest("hex")}`;
    const day = typeof d.day === "string" ? { day: d.day } : {};
    if (h !== d.hash)
      findings.push({ ...day, message: `statement document ${String(d.hash)} re-hashes to ${h}` });
    else if (d.fact_hash !== d.hash || num(d.fact_seq) !== num(d.fact_sequence))
      findings.push({
        ...day,
        message: `statement document ${h} has no matching BANK_STATEMENT fact ${String(d.fact_id)}`,
      });
    else {
      // Reconciliations read each page's stored content: it must be what the raw bytes parse to.
      const parsed = parseStatementDocument(buf(d.raw));
      const pages = await queryAll(
        db,
        "SELECT statement_id, page, statement_index, content, content_hash FROM bank_statements WHERE document_hash = ?",
        [d.hash as string],
      );
      for (const p of pages) {
        const s = parsed.statements[num(p.statement_index)];
        const want = s ? sha256Text(statementContent(s)) : undefined;
        if (
          want !== p.content_hash ||
          (typeof p.content === "string" && sha256Text(p.content) !== p.content_hash)
        )
          findings.push({
            ...day,
            message: `statement ${String(p.statement_id)} page ${num(p.page)}: stored content differs from document ${h}`,
          });
      }
    }
  }
  let firstDifferingDay: string | undefined;
  for (const f of findings)
    if (f.day && (firstDifferingDay === undefined || f.day < firstDifferingDay)) firstDifferingDay = f.day;
  const bank = new CustodianBank({ db, ledger: readOnly });
  const runs = await bank.allReconciliations();
  let done = 0;
  for (const run of runs) {
    const facts = await queryAll(db, "SELECT document_hash, sequence FROM ledger_facts WHERE id = ?", [
      `bank-reconciliation:${run.reportHash.slice(2)}`,
    ]);
    const where = { day: run.day, ledgerAccount: run.ledgerAccount };
    if (facts.length === 0 || facts[0].document_hash !== run.reportHash) {
      findings.push({
        ...where,
        message: `run ${run.run}: no BANK_RECONCILIATION fact for report ${run.reportHash}`,
      });
      if (firstDifferingDay === undefined || run.day < firstDifferingDay) firstDifferingDay = run.day;
    }
    if (reportHash(run.report) !== run.reportHash) {
      findings.push({
        ...where,
        message: `run ${run.run}: the stored report does not hash to ${run.reportHash}`,
      });
      if (firstDifferingDay === undefined || run.day < firstDifferingDay) firstDifferingDay = run.day;
    } else {
      try {
        const again = await bank.computeReconciliation(run.ledgerAccount, run.day, {
          throughSequence: run.report.ledger.throughSequence,
          toleranceDays: run.report.toleranceDays,
          adjacent: run.report.adjacentStatements,
          statements: run.report.statements,
        });
        const h = reportHash(again);
        if (h !== run.reportHash) {
          findings.push({
            ...where,
            message: `run ${run.run}: re-run gives report ${h}, ${run.reportHash} was reported`,
          });
          if (firstDifferingDay === undefined || run.day < firstDifferingDay) firstDifferingDay = run.day;
        }
      } catch (e) {
        findings.push({
          ...where,
          message: `run ${run.run}: cannot be re-run: ${(e as Error).message.split("\n")[0]}`,
        });
        if (firstDifferingDay === undefined || run.day < firstDifferingDay) firstDifferingDay = run.day;
      }
    }
    onProgress?.(++done, runs.length);
  }
  const out: BankAuditResult = {
    passed: findings.length === 0,
    documents: docs.length,
    reconciliations: runs.length,
    findings,
  };
  if (firstDifferingDay) out.firstDifferingDay = firstDifferingDay;
  return out;
}

export function formatBankAudit(r: BankAuditResult): string {
  const head = `bank: ${r.documents} statement document(s), ${r.reconciliations} reconciliation run(s) re-run: ${r.passed ? "same results" : "DIFFERENT"}`;
  if (r.passed) return head;
  return [
    head,
    ...(r.firstDifferingDay ? [`  first differing day: ${r.firstDifferingDay}`] : []),
    ...r.findings.slice(0, 20).map((f) => `  ${f.day ? `${f.day} ${f.ledgerAccount}: ` : ""}${f.message}`),
  ].join("\n");
}
