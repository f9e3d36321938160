import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { auditReportHash, type AuditReport, type ModuleAuditJson } from "../../src/audit";
import { writeCamt053 } from "../../src/bank/camt053-writer";
import { readLedgerDay } from "../../src/bank/ledger-view";
import { deriveStatement } from "../../src/bank/simulated-bank";
import { bytesToHex } from "viem";
import { commitSnapshot } from "../../src/chain/actions/commit-snapshot";
import { custodyAnchorAbi } from "../../src/chain/generated/abi";
import { startDevChain, type DevChain } from "../../src/chain/dev";
import { EXIT_INVALID, EXIT_VALID } from "../../src/cli/context";
import { runCli } from "../../src/cli/main";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { all, run } from "../../src/db/sql";
import { openLedger, type Ledger } from "../../src/ledger";
import { RiskEngine } from "../../src/risk/engine";
import { openRiskDatabase, type RiskDatabase } from "../../src/risk/database";
import { listAlerts, transitionAlert } from "../../src/risk/alerts";
import { SolvencySnapshots, documentHashOf, solvencyMigrations } from "../../src/solvency";
import { migrate } from "../../src/db/migrate";
import { anchorHeads } from "../audit/support";
import { rulesWith } from "../risk/support";

const KEY_HEX = "42".repeat(32);
const SECRET_HEX = "5a".repeat(32);
const IBAN = "DE89370400440532013000";
const DAY = "2026-12-01";

/**
 * `custody audit --db` over a database holding every module: a reconciled bank statement, a
 * solvency snapshot committed on chain, risk alerts with a review trail. Each test tampers with one
 * module's rows (and restores them), and the audit must name the first difference and exit 1.
 */
export function moduleAuditBehaviour(
  name: string,
  database: () => Promise<{ url: string; drop(): Promise<void> }>,
): void {
  describe(`custody audit: bank, solvency and risk audits in the report (${name}, anvil chain)`, function () {
    this.timeout(240_000);
    let chain: DevChain;
    let dir: string;
    let url: string;
    let drop: () => Promise<void>;
    let db: Database;
    /** Where the stack keeps the risk tables for this backend (SQLite: a file of their own). */
    let riskDb: RiskDatabase;
    let snapshotId: string;
    let alertId: string;

    async function cli(...argv: string[]) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
      return { code, out: out.join("\n"), err: err.join("\n") };
    }

    before(async () => {
      process.env.CUSTODY_TEST_MODULES_KEY = KEY_HEX;
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-audit-modules-"));
      ({ url, drop } = await database());
      chain = await startDevChain();
      db = openDatabase(url);
      let now = Date.parse(`${DAY}T09:00:00Z`);
      const ledger: Ledger = await openLedger(db, {
        pseudonymKey: Buffer.from(KEY_HEX, "hex"),
        clock: () => now,
      });
      // Bank: three deposits, the statement that reports them, imported and reconciled.
      await ledger.openAccount({
        id: "bank-eur",
        type: "bank_mirror",
        asset: "EUR",
        scale: 2,
        metadata: { bankAccount: IBAN },
      });
      for (const c of ["anna", "ben"])
        await ledger.openAccount({ id: c, type: "customer", asset: "EUR", scale: 2 });
      for (let k = 0; k < 3; k++) {
        now = Date.parse(`${DAY}T1${k}:00:00Z`);
        await ledger.transfer({
          id: `d${k}`,
          debitAccountId: "bank-eur",
          creditAccountId: k === 1 ? "ben" : "anna",
          amount: BigInt(1000 * (k + 1)),
          kind: "deposit",
          metadata: { endToEndId: `E2E-${k}` },
        });
      }
      const cutoff = Date.parse(`${DAY}T17:00:00Z`);
      const view = await readLedgerDay(db, "bank-eur", "EUR", cutoff);
      const statement = deriveStatement({
        id: `S-${DAY}`,
        account: IBAN,
        currency: "EUR",
        exponent: 2,
        day: DAY,
        opening: 0n,
        openingDate: DAY,
        cutoff,
        movements: view.today,
      });
      const file = path.join(dir, "statement.xml");
      fs.writeFileSync(
        file,
        writeCamt053([statement], { version: "08", messageId: `M-${DAY}`, createdAt: `${DAY}T18:00:00Z` }),
      );
      const keyArgs = ["--db", url, "--pseudonym-key-env", "CUSTODY_TEST_MODULES_KEY"];
      const imported = await cli("statements", "import", file, ...keyArgs);
      expect(imported.code, imported.err).to.equal(0);
      const reconciled = await cli("reconcile", "--date", DAY, "--no-progress", ...keyArgs);
      expect(reconciled.code, reconciled.err).to.equal(0);

      // Risk: two large cash deposits raise two alerts; one is reviewed and dismissed.
      const cny = { asset: "CNY", scale: 2 } as const;
      await ledger.openAccount({
        id: "cash-desk",
        type: "settlement",
        ...cny,
        metadata: { channel: "cash" },
      });
      for (const c of ["li", "wang"]) await ledger.openAccount({ id: c, type: "customer", ...cny });
      for (const c of ["li", "wang"])
        await ledger.transfer({
          id: `cash-${c}`,
          debitAccountId: "cash-desk",
          creditAccountId: c,
          amount: 6_000_000n,
          kind: "deposit",
        });
      riskDb = await openRiskDatabase(db);
      const engine = await RiskEngine.open(riskDb.db, ledger, ledger, {
        rules: rulesWith(["pboc.lv.cash"]),
        clock: () => now,
      });
      await engine.drain();
      const [li] = await listAlerts(engine.runner, { subject: "li" });
      alertId = li!.id;
      await transitionAlert(engine.runner, alertId, { to: "under_review", by: "k-op" }, now);
      await transitionAlert(engine.runner, alertId, { to: "dismissed", by: "k-op", reason: "salary" }, now);
      await engine.publish();

      // Solvency: the log is anchored, then the EUR liabilities snapshot is taken and committed.
      const size = await ledger.eventCount();
      await anchorHeads(ledger, db, chain, [size]);
      await migrate(db, solvencyMigrations);
      const platform = chain.clientsOf(chain.accounts.relayer);
      const snapshots = new SolvencySnapshots({
        db,
        ledger,
        masterSecret: Buffer.from(SECRET_HEX, "hex"),
        minHeight: 2,
        facts: ledger,
        commit: (p) => commitSnapshot(platform, { address: chain.deployment.custodySolvency!, ...p }),
      });
      snapshotId = (await snapshots.take({ asset: "EUR", day: DAY, logSize: size })).id;
      await ledger.close();
    });

    after(async () => {
      await riskDb?.close();
      if (db) await closeDatabase(db);
      await chain?.node.stop();
      await drop?.();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      delete process.env.CUSTODY_TEST_MODULES_KEY;
      delete process.env.CUSTODY_TEST_MODULES_SECRET;
    });

    let reports = 0;
    async function audit(withSecret = true, extra: string[] = []) {
      const out = path.join(dir, `report-${reports++}.json`);
      if (withSecret) process.env.CUSTODY_TEST_MODULES_SECRET = SECRET_HEX;
      else delete process.env.CUSTODY_TEST_MODULES_SECRET;
      const r = await cli(
        "audit",
        "--rpc",
        chain.node.rpcUrl,
        "--db",
        url,
        "--contract",
        chain.deployment.custodyAnchor,
        "--escrow",
        chain.deployment.custodyEscrow,
        "--solvency",
        chain.deployment.custodySolvency!,
        "--solvency-secret-env",
        "CUSTODY_TEST_MODULES_SECRET",
        "--out",
        out,
        "--no-progress",
        ...extra,
      );
      const report = JSON.parse(fs.readFileSync(out, "utf8")) as AuditReport;
      const mod = (m: ModuleAuditJson["module"]) => report.modules!.find((x) => x.module === m)!;
      return { ...r, report, mod };
    }

    /** Runs `tamper`, audits, and restores the rows whatever happens. */
    async function tampered(tamper: () => Promise<() => Promise<void>>, extra: string[] = []) {
      const restore = await tamper();
      try {
        return await audit(true, extra);
      } finally {
        await restore();
      }
    }

    it("passes with all three module audits in the report, covered by its hash", async () => {
      const r = await audit();
      expect(r.code, r.out + r.err).to.equal(EXIT_VALID);
      expect(r.report.passed).to.equal(true);
      expect(r.report.modules!.map((m) => [m.module, m.passed])).to.deep.equal([
        ["bank", true],
        ["solvency", true],
        ["risk", true],
      ]);
      expect(r.mod("bank").checked).to.deep.equal({ documents: 1, reconciliations: 1 });
      expect(r.mod("solvency").checked).to.deep.equal({ snapshots: 1, treesRebuilt: 1 });
      expect(r.mod("risk").checked).to.include({ alerts: 2, transitions: 2, open: 1, disposed: 1 });
      expect(r.out).to.contain(`report hash ${auditReportHash(r.report)}`);
      // The hash covers the modules: another module result is another hash.
      const altered = { ...r.report, modules: r.report.modules!.slice(1) };
      expect(auditReportHash(altered)).to.not.equal(auditReportHash(r.report));
      expect(r.out).to.match(/^solvency: ok \(1 snapshots, 1 treesRebuilt\)$/m);
    });

    it("without the master secret, checks the snapshots all the same except the tree rebuild", async () => {
      const r = await audit(false);
      expect(r.code, r.out + r.err).to.equal(EXIT_VALID);
      expect(r.mod("solvency").checked).to.deep.equal({ snapshots: 1, treesRebuilt: 0 });
    });

    it("a changed snapshot row: names the snapshot and the first account that differs (exit 1)", async () => {
      const [row] = await all<{ document: string; document_hash: string }>(
        db,
        "SELECT document, document_hash FROM solvency_snapshots WHERE id = ?",
        [snapshotId],
      );
      const doc = JSON.parse(row!.document) as { accounts: [string, string][] };
      const [victim, balance] = doc.accounts[0]!;
      doc.accounts[0] = [victim, (BigInt(balance) - 500n).toString()];
      const text = JSON.stringify(doc);
      const r = await tampered(async () => {
        // A careful insider keeps the stored document hash consistent with the edit.
        await run(db, "UPDATE solvency_snapshots SET document = ?, document_hash = ? WHERE id = ?", [
          text,
          documentHashOf(text),
          snapshotId,
        ]);
        return async () => {
          await run(db, "UPDATE solvency_snapshots SET document = ?, document_hash = ? WHERE id = ?", [
            row!.document,
            row!.document_hash,
            snapshotId,
          ]);
        };
      });
      expect(r.code).to.equal(EXIT_INVALID);
      expect(r.report.passed).to.equal(false);
      const s = r.mod("solvency");
      expect(s.passed).to.equal(false);
      expect(s.firstDifference).to.equal(`snapshot ${snapshotId}, account ${victim} (tree)`);
      expect(s.findings.map((f) => f.check)).to.deep.equal(["tree", "ledger"]);
      expect(s.findings[1]!.message).to.contain(`first account that differs: ${victim}`);
      expect(r.mod("bank").passed && r.mod("risk").passed).to.equal(true);
      expect(r.out).to.contain(`solvency: snapshot ${snapshotId}, account ${victim}`);
    });

    it("a changed snapshot root: differs from the chain's commitment", async () => {
      const [row] = await all<{ root_sum: unknown }>(
        db,
        "SELECT root_sum FROM solvency_snapshots WHERE id = ?",
        [snapshotId],
      );
      const r = await tampered(async () => {
        await run(db, "UPDATE solvency_snapshots SET root_sum = ? WHERE id = ?", ["1", snapshotId]);
        return async () => {
          await run(db, "UPDATE solvency_snapshots SET root_sum = ? WHERE id = ?", [
            String(row!.root_sum),
            snapshotId,
          ]);
        };
      });
      expect(r.code).to.equal(EXIT_INVALID);
      expect(r.mod("solvency").findings.map((f) => f.check)).to.deep.equal(["tree", "chain"]);
    });

    it("an alert edited outside the log: names the alert (exit 1), and --attest records the failed report", async () => {
      process.env.CUSTODY_TEST_MODULES_AUDITOR = bytesToHex(chain.accounts.auditor.getHdKey().privateKey!);
      const r = await tampered(async () => {
        await run(riskDb.db, "UPDATE risk_alerts SET state = 'confirmed' WHERE id = ?", [alertId]);
        return async () => {
          await run(riskDb.db, "UPDATE risk_alerts SET state = 'dismissed' WHERE id = ?", [alertId]);
        };
      }, ["--attest", "--auditor-key-env", "CUSTODY_TEST_MODULES_AUDITOR"]);
      delete process.env.CUSTODY_TEST_MODULES_AUDITOR;
      expect(r.code, r.err).to.equal(EXIT_INVALID);
      // The log audit alone passed: the module's failure is what the chain records.
      expect(r.report.findings).to.deep.equal([]);
      const att = await chain.clients.publicClient.readContract({
        address: chain.deployment.custodyAnchor,
        abi: custodyAnchorAbi,
        functionName: "getAttestation",
        args: [0n, chain.accounts.auditor.address],
      });
      expect([att.reportHash, att.passed]).to.deep.equal([auditReportHash(r.report), false]);
      const risk = r.mod("risk");
      expect(risk.firstDifference).to.equal(`${alertId} (state_mismatch)`);
      expect(risk.findings).to.deep.equal([
        {
          check: "state_mismatch",
          subject: alertId,
          message: "alert is confirmed but its logged transitions lead to dismissed",
        },
      ]);
      expect(r.out).to.contain(`risk: ${alertId} (state_mismatch)`);
    });

    it("a changed stored statement: names the day (exit 1)", async () => {
      const [row] = await all<{ hash: string; raw: Uint8Array }>(
        db,
        "SELECT d.hash, b.raw FROM bank_documents d JOIN bank_document_bytes b ON b.hash = d.hash WHERE d.message_id = ?",
        [`M-${DAY}`],
      );
      const raw = Buffer.from(row!.raw);
      const forged = Buffer.from(raw.toString("utf8").replace("E2E-2", "E2E-9"));
      expect(forged.equals(raw)).to.equal(false);
      const r = await tampered(async () => {
        await run(db, "UPDATE bank_document_bytes SET raw = ? WHERE hash = ?", [forged, row!.hash]);
        return async () => {
          await run(db, "UPDATE bank_document_bytes SET raw = ? WHERE hash = ?", [raw, row!.hash]);
        };
      });
      expect(r.code).to.equal(EXIT_INVALID);
      const bank = r.mod("bank");
      expect(bank.firstDifference).to.equal(`day ${DAY}`);
      expect(bank.findings[0]!.message).to.contain("re-hashes");
      expect(r.mod("solvency").passed && r.mod("risk").passed).to.equal(true);
    });
  });
}
