import { randomBytes } from "node:crypto";
import type { Address, PublicClient } from "viem";
import { MODULE_FINDINGS_KEPT, type ModuleAuditJson } from "../audit";
import { auditBank } from "../bank/audit";
import { readSolvencyDay } from "../chain/actions/read-solvency-day";
import type { Database } from "../db/database";
import { all } from "../db/sql";
import { openLedger } from "../ledger";
import { auditRisk } from "../risk/audit";
import { sqlRunner } from "../db/tx-runner";
import { findRiskDatabase } from "../risk/database";
import { auditSolvency } from "../solvency/audit";
import { listSnapshots, readSnapshotDocument } from "../solvency/snapshots";

export interface ModuleAuditParameters {
  db: Database;
  /** The solvency master secret: with it every snapshot's tree is rebuilt. */
  solvencySecret?: Uint8Array;
  /** The chain and CustodySolvency, to compare each snapshot with its on-chain commitment. */
  solvencyChain?: { client: PublicClient; address: Address };
}

/** The first migration of each module: a database holds the module's tables iff it was applied. */
const MODULE_MIGRATIONS = {
  bank: "bank/001_init",
  solvency: "solvency/001_snapshots",
} as const;

async function appliedMigrations(db: Database): Promise<Set<string>> {
  const rows = await all<{ id: string }>(db, "SELECT id FROM schema_migrations").catch(() => []);
  return new Set(rows.map((r) => r.id));
}

function moduleJson(
  module: ModuleAuditJson["module"],
  checked: Record<string, number>,
  findings: ModuleAuditJson["findings"],
  firstDifference: string | undefined,
): ModuleAuditJson {
  return {
    module,
    passed: findings.length === 0,
    checked,
    firstDifference: firstDifference ?? null,
    findings: findings.slice(0, MODULE_FINDINGS_KEPT),
    findingsTotal: findings.length,
  };
}

/**
 * The module audits `custody audit --db` adds to its report, for each module whose tables the
 * database holds: the bank's reconciliations re-run from the stored statements, every solvency
 * snapshot rebuilt from the log at its size (and compared with the chain), the risk trail against
 * the log. Reads only (the ledger is opened for reading its events and facts).
 */
export async function runModuleAudits(p: ModuleAuditParameters): Promise<ModuleAuditJson[]> {
  const applied = await appliedMigrations(p.db);
  const out: ModuleAuditJson[] = [];
  if (applied.has(MODULE_MIGRATIONS.bank)) {
    const r = await auditBank(p.db);
    out.push(
      moduleJson(
        "bank",
        { documents: r.documents, reconciliations: r.reconciliations },
        r.findings.map((f) => ({
          check: "reconciliation",
          ...(f.day ? { subject: `${f.day} ${f.ledgerAccount ?? ""}`.trim() } : {}),
          message: f.message,
        })),
        r.firstDifferingDay ? `day ${r.firstDifferingDay}` : r.findings[0]?.message,
      ),
    );
  }
  // SQLite keeps the risk tables in a file of their own (src/risk/database.ts).
  const risk = await findRiskDatabase(p.db);
  if (!applied.has(MODULE_MIGRATIONS.solvency) && !risk) return out;
  // Reads only: the pseudonym key is never used by getEvents or listFacts.
  const ledger = await openLedger(p.db, { pseudonymKey: randomBytes(32) });
  try {
    if (applied.has(MODULE_MIGRATIONS.solvency)) {
      const chain = p.solvencyChain;
      const r = await auditSolvency({
        snapshots: { list: (o) => listSnapshots(p.db, o), document: (id) => readSnapshotDocument(p.db, id) },
        ledger,
        ...(p.solvencySecret ? { masterSecret: p.solvencySecret } : {}),
        ...(chain
          ? {
              readChain: (asset: string, dayNumber: number) =>
                readSolvencyDay(chain.client, { address: chain.address, asset, dayNumber }),
            }
          : {}),
      });
      const first = r.findings[0];
      // Name the first account that differs in the first snapshot that does.
      const account =
        first && r.findings.find((f) => f.snapshotId === first.snapshotId && f.account)?.account;
      out.push(
        moduleJson(
          "solvency",
          { snapshots: r.snapshots, treesRebuilt: r.treesRebuilt ? r.snapshots : 0 },
          r.findings.map((f) => ({
            check: f.check,
            subject: f.account ? `${f.snapshotId} ${f.account}` : f.snapshotId,
            message: f.message,
          })),
          first && `snapshot ${first.snapshotId}${account ? `, account ${account}` : ""} (${first.check})`,
        ),
      );
    }
    if (risk) {
      const r = await auditRisk(sqlRunner(risk.db), ledger);
      const first = r.findings[0];
      out.push(
        moduleJson(
          "risk",
          {
            alerts: r.alerts,
            transitions: r.transitions,
            approvals: r.approvals,
            open: r.open,
            disposed: r.disposed,
            pendingFacts: r.pendingFacts,
          },
          r.findings.map((f) => ({ check: f.check, subject: f.id, message: f.message })),
          first && `${first.id} (${first.check})`,
        ),
      );
    }
  } finally {
    await ledger.close();
    await risk?.close();
  }
  return out;
}
