import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import type { AuditFinding, AuditReport } from "../../src/audit";
import { startDevChain } from "../../src/chain/dev";
import { EXIT_INVALID, EXIT_VALID } from "../../src/cli/context";
import { runCli } from "../../src/cli/main";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { openLedger } from "../../src/ledger";
import { type AuditChain, FEES, KEY, anchorHeads, auditArgs, populateLedger, tempDir } from "./support";

/** How one backend's copy of the populated ledger is made and edited with raw SQL (an insider). */
export interface DerivedTamperBackend {
  /** A fresh, empty database (file path or postgres:// URL). */
  create(): Promise<string>;
  /** A copy of `db` to tamper with. */
  copy(db: string): Promise<string>;
  /** Runs statements on `db` (positional parameters `$1`…), returns the first column of the first row. */
  sql(db: string, statement: string, params?: unknown[]): Promise<unknown>;
  /** Drops the append-only triggers of ledger_transfers, as an insider with the database password can. */
  dropTriggers: string[];
  /** UPDATE of an account's terms column (`$1` value, `$2` account id). */
  setAccountColumn(column: string): string;
  /** UPDATE of an account's balance column (`$1` value, `$2` account id). */
  setBalanceColumn(column: string): string;
}

/**
 * Every derived table and column the API serves, tampered one at a time: the audit fails and its
 * first finding names the table, the row, the column, what the events give and what was found,
 * and the event that produced the row.
 */
export function derivedTamperBehaviour(b: DerivedTamperBackend): void {
  let chain: AuditChain;
  let dir: string;
  let pristine: string;

  before(async function () {
    this.timeout(180_000);
    chain = await startDevChain();
    dir = tempDir();
    pristine = await b.create();
    const db = openDatabase(pristine);
    const ledger = await openLedger(db, { pseudonymKey: KEY, feeSchedule: FEES });
    await populateLedger(ledger, chain);
    await anchorHeads(ledger, db, chain, [await ledger.eventCount()]);
    await ledger.close();
    if (db.kind === "sqlite") db.sqlite.pragma("wal_checkpoint(TRUNCATE)");
    await closeDatabase(db);
  });

  after(async () => {
    await chain?.node.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  async function audit(db: string) {
    const out = path.join(dir, `report-${n++}.json`);
    const errs: string[] = [];
    const code = await runCli(auditArgs(chain, db, out), { out: () => {}, err: (e) => errs.push(e) });
    expect(errs.join("\n")).to.equal("");
    return { code, report: JSON.parse(fs.readFileSync(out, "utf8")) as AuditReport };
  }

  /** Tampers a copy, audits it, and expects exactly `want` first (and `count` findings in all). */
  async function expectFinding(
    tamper: (db: string) => Promise<Partial<AuditFinding>>,
    count = 1,
  ): Promise<AuditReport> {
    const db = await b.copy(pristine);
    for (const s of b.dropTriggers) await b.sql(db, s);
    const want = await tamper(db);
    const r = await audit(db);
    expect(r.code).to.equal(EXIT_INVALID);
    expect(r.report.passed).to.equal(false);
    expect(r.report.findings[0], JSON.stringify(r.report.findings[0])).to.include(want);
    expect(r.report.findingsTotal, JSON.stringify(r.report.findings, null, 1)).to.equal(count);
    // The events themselves are intact: every head still verifies.
    expect(r.report.heads.verified).to.equal(r.report.heads.count);
    return r.report;
  }

  const seq = async (db: string, table: string, id: string, column = "sequence") =>
    Number(await b.sql(db, `SELECT ${column} FROM ${table} WHERE id = $1`, [id]));
  const lastEvent = async (db: string, subject: string) =>
    Number(await b.sql(db, "SELECT MAX(sequence) FROM ledger_events WHERE subject_id = $1", [subject]));

  it("the untouched ledger (transfers, a batch, holds posted and voided, escrows, a freeze, facts) passes", async () => {
    const r = await audit(await b.copy(pristine));
    expect(r.code).to.equal(EXIT_VALID);
    expect(r.report.findings).to.deep.equal([]);
    expect(r.report.checks.filter((c) => c.name.startsWith("derived_")).map((c) => c.ok)).to.deep.equal([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(r.report.ledger).to.include({ holds: 6, openHolds: 2 });
  });

  it("a transfer's amount: names ledger_transfers t1 amount at its event", async () => {
    const report = await expectFinding(async (db) => {
      await b.sql(db, "UPDATE ledger_transfers SET amount = 15000 WHERE id = 't1'");
      return {
        check: "derived_transfer",
        table: "ledger_transfers",
        key: "t1",
        column: "amount",
        expected: "1500",
        found: "15000",
        index: await seq(db, "ledger_transfers", "t1"),
      };
    });
    expect(report.firstBadIndex).to.equal(report.findings[0]!.index);
  });

  it("a transfer's credit account", async () => {
    await expectFinding(async (db) => {
      await b.sql(db, "UPDATE ledger_transfers SET credit_account_id = 'carol' WHERE id = 't1'");
      return {
        check: "derived_transfer",
        table: "ledger_transfers",
        key: "t1",
        column: "credit_account_id",
        index: await seq(db, "ledger_transfers", "t1"),
      };
    });
  });

  it("a transfer's debit account", async () => {
    await expectFinding(async (db) => {
      await b.sql(db, "UPDATE ledger_transfers SET debit_account_id = 'carol' WHERE id = 'd2'");
      return {
        check: "derived_transfer",
        table: "ledger_transfers",
        key: "d2",
        column: "debit_account_id",
        index: await seq(db, "ledger_transfers", "d2"),
      };
    });
  });

  it("a deleted transfer row: the event without its row is named", async () => {
    await expectFinding(async (db) => {
      const index = await seq(db, "ledger_transfers", "b2");
      await b.sql(db, "DELETE FROM ledger_transfers WHERE id = 'b2'");
      return { check: "derived_transfer", table: "ledger_transfers", index };
    });
  });

  it("an extra transfer row without an event", async () => {
    await expectFinding(async (db) => {
      await b.sql(
        db,
        "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, kind, metadata, fee, hold_id, sequence, created_at) " +
          "SELECT 'x1', debit_account_id, credit_account_id, asset, amount, kind, metadata, fee, hold_id, sequence, created_at FROM ledger_transfers WHERE id = 'd1'",
      );
      return { check: "derived_transfer", table: "ledger_transfers", key: "x1" };
    });
  });

  it("an account's type", async () => {
    await expectFinding(async (db) => {
      await b.sql(db, b.setAccountColumn("type"), ["platform_own", "bob"]);
      return {
        check: "derived_account",
        table: "ledger_accounts",
        key: "bob",
        column: "type",
        expected: "customer",
        found: "platform_own",
        index: await seq(db, "ledger_accounts", "bob"),
      };
    });
  });

  it("an account's status: named at the event that set it", async () => {
    await expectFinding(async (db) => {
      await b.sql(db, b.setAccountColumn("status"), ["frozen", "carol"]);
      return {
        check: "derived_account",
        table: "ledger_accounts",
        key: "carol",
        column: "status",
        expected: "active",
        found: "frozen",
        index: await lastEvent(db, "carol"),
      };
    });
  });

  it("a balance: named at the last event that moved the account", async () => {
    await expectFinding(async (db) => {
      const was = String(await b.sql(db, "SELECT credits_posted FROM ledger_accounts WHERE id = 'fees'"));
      await b.sql(db, b.setBalanceColumn("credits_posted"), ["999999", "fees"]);
      return {
        check: "stored_balance",
        table: "ledger_accounts",
        key: "fees",
        column: "credits_posted",
        expected: was,
        found: "999999",
        message: `ledger_accounts fees: credits_posted is 999999, the events give ${was} (last moved at event ${await seq(db, "ledger_transfers", "f1")})`,
      };
    });
  });

  it("a hold's state: a posted hold shown voided", async () => {
    await expectFinding(async (db) => {
      await b.sql(db, "UPDATE ledger_holds SET status = 'voided' WHERE id = 'p1'");
      return {
        check: "derived_hold",
        table: "ledger_holds",
        key: "p1",
        column: "status",
        expected: "posted",
        found: "voided",
        index: await seq(db, "ledger_holds", "p1", "resolved_sequence"),
      };
    });
  });

  it("an escrow's state: the chain decision recorded the other way", async () => {
    await expectFinding(async (db) => {
      await b.sql(db, "UPDATE ledger_hold_decisions SET action = 'void' WHERE hold_id = 'e1'");
      return {
        check: "derived_escrow",
        table: "ledger_hold_decisions",
        column: "action",
        expected: "post",
        found: "void",
        index: await seq(db, "ledger_holds", "e1", "resolved_sequence"),
      };
    });
  });

  it("an escrow hold reopened: named at the posting of the escrow hold", async () => {
    await expectFinding(async (db) => {
      await b.sql(db, "UPDATE ledger_holds SET status = 'pending' WHERE id = 'e1'");
      return {
        check: "derived_escrow",
        table: "ledger_holds",
        key: "e1",
        column: "status",
        expected: "posted",
        found: "pending",
        index: await seq(db, "ledger_holds", "e1", "resolved_sequence"),
      };
    });
  });

  it("a fact's document hash", async () => {
    await expectFinding(async (db) => {
      await b.sql(db, `UPDATE ledger_facts SET document_hash = '0x${"ee".repeat(32)}' WHERE id = 'stmt-1'`);
      return {
        check: "derived_fact",
        table: "ledger_facts",
        key: "stmt-1",
        column: "document_hash",
        expected: `0x${"ab".repeat(32)}`,
        index: await seq(db, "ledger_facts", "stmt-1"),
      };
    });
  });
}
