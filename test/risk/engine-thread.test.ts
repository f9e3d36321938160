import { expect } from "chai";
import { Registry } from "prom-client";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { openLedger, type Ledger } from "../../src/ledger";
import { listAlerts } from "../../src/risk/alerts";
import { RiskEngine } from "../../src/risk/engine";
import { RiskEngineThread } from "../../src/risk/engine-thread";
import { openRiskDatabase, type RiskDatabase } from "../../src/risk/database";
import { DEFAULT_RULE_FILE } from "../../src/risk/rules-file";
import { all } from "../../src/db/sql";
import { createPgTestDatabase, pgAvailable, type PgTestDatabase } from "../support/pg";
import { KEY, cashIn, openAccounts, until } from "./fixture";

/**
 * The rules engine evaluating on its own thread beside a ledger writing on the caller's thread, on
 * a real SQLite file and a real PostgreSQL database: alerts, metrics and the outbox as with the
 * engine in the caller's thread, rule reloads followed, exactly once across a restart of the thread.
 */
for (const backend of ["sqlite", "postgres"] as const)
  describe(`risk engine on its own thread (${backend})`, function () {
    let pgdb: PgTestDatabase | undefined;
    let dir: string | undefined;
    let url: string;
    let db: Database;
    /** The risk tables, where the stack keeps them (SQLite: a file of their own). */
    let risk: RiskDatabase | undefined;
    let ledger: Ledger;
    let main: RiskEngine;
    let thread: RiskEngineThread | undefined;
    let metrics: Registry;

    beforeEach(async function () {
      if (backend === "postgres") {
        if (!(await pgAvailable())) return this.skip();
        pgdb = await createPgTestDatabase();
        url = pgdb.url;
      } else {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-risk-thread-"));
        url = path.join(dir, "ledger.db");
      }
      db = openDatabase(url);
      ledger = await openLedger(db, { pseudonymKey: KEY });
      await openAccounts(ledger);
      metrics = new Registry();
      risk = await openRiskDatabase(db);
      main = await RiskEngine.open(risk.db, ledger, ledger, { metrics, pollIntervalMs: 50 });
    });
    afterEach(async () => {
      await thread?.stop();
      thread = undefined;
      await risk?.close();
      risk = undefined;
      await ledger?.close();
      if (db) await closeDatabase(db);
      await pgdb?.drop();
      pgdb = undefined;
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    const startThread = async (more: { batchSize?: number; restartDelayMs?: number } = {}) =>
      (thread = await RiskEngineThread.start({
        main,
        databaseUrl: url,
        pseudonymKey: KEY,
        onCommit: (l) => ledger.onCommit(l),
        pollIntervalMs: 50,
        ...more,
      }));
    const alerts = () => listAlerts(main.runner, {});
    const raisedFacts = async () => (await ledger.listFacts({ kind: "ALERT_RAISED" as never })).length;

    it("evaluates the ledger's commits on the thread; metrics, cursor and the alert's fact on the caller's side", async () => {
      await startThread();
      await cashIn(ledger, "alice", 6_000_000n); // ¥60 000 cash: pboc.lv.cash
      await until(async () => (await alerts()).length === 1);
      const [a] = await alerts();
      expect([a.ruleId, a.subject, a.state]).to.deep.equal(["pboc.lv.cash", "alice", "open"]);
      // The outbox runs on the caller's thread, woken by the thread's report: the fact is in the log.
      await until(async () => (await raisedFacts()) === 1);
      const events = await ledger.eventCount();
      await until(() => main.cursor >= events - 1);
      expect(await metrics.metrics()).to.match(
        /custody_risk_alerts_total\{rule="pboc.lv.cash",severity="high",outcome="triggered"\} 1/,
      );
      expect(await metrics.metrics()).to.match(/custody_risk_events_evaluated_total [1-9]/);
    });

    it("follows a rule file reloaded by the caller's engine, from the next batch", async () => {
      await startThread();
      await cashIn(ledger, "bob", 100_00n);
      await until(async () => main.cursor === (await ledger.eventCount()));
      const strict = JSON.stringify({
        ...DEFAULT_RULE_FILE,
        revision: 2,
        rules: DEFAULT_RULE_FILE.rules.map((r) => (r.id === "pboc.lv.cash" ? { ...r, threshold: "100" } : r)),
      });
      await main.reloadRules(strict);
      await cashIn(ledger, "bob", 200_00n); // under ¥50 000, above the reloaded ¥100
      await until(async () =>
        (await alerts()).some((x) => x.ruleId === "pboc.lv.cash" && x.subject === "bob"),
      );
      const rows = await all<{ rules_revision: number | string }>(
        risk!.db,
        "SELECT rules_revision FROM risk_cursor",
      );
      expect(Number(rows[0].rules_revision)).to.equal(2);
    });

    it("a thread stopped and started again evaluates every event exactly once", async () => {
      await startThread();
      for (let i = 0; i < 5; i++) await cashIn(ledger, "acme", 1_000_00n);
      await until(async () => main.cursor === (await ledger.eventCount()));
      await thread!.stop();
      thread = undefined;
      // Committed while no thread runs: picked up by the next one from the stored cursor.
      for (let i = 0; i < 5; i++) await cashIn(ledger, "acme", 1_000_00n);
      main = await RiskEngine.open(risk!.db, ledger, ledger, { metrics: new Registry(), pollIntervalMs: 50 });
      await startThread();
      await until(async () => main.cursor === (await ledger.eventCount()));
      const rows = await all<{ processed: number | string; next_sequence: number | string }>(
        risk!.db,
        "SELECT processed, next_sequence FROM risk_cursor",
      );
      expect(Number(rows[0].processed), "each event once").to.equal(await ledger.eventCount());
      expect(Number(rows[0].next_sequence)).to.equal(await ledger.eventCount());
    });

    it("a thread killed again and again while it commits on its own connection evaluates every event once", async () => {
      // Small batches: many commits of the thread, so the kills land between and during them.
      await startThread({ batchSize: 3, restartDelayMs: 5 });
      let kills = 0;
      for (let i = 0; i < 60; i++) {
        await cashIn(ledger, i % 2 ? "alice" : "bob", 1_000_00n + BigInt(i));
        if (i % 12 === 5) {
          await thread!.terminate();
          kills++;
        }
      }
      await until(() => thread!.running);
      await until(async () => main.cursor === (await ledger.eventCount()));
      const rows = await all<{ processed: number | string; next_sequence: number | string }>(
        risk!.db,
        "SELECT processed, next_sequence FROM risk_cursor",
      );
      const events = await ledger.eventCount();
      expect(kills).to.equal(5);
      expect(Number(rows[0].processed), "each event once").to.equal(events);
      expect(Number(rows[0].next_sequence)).to.equal(events);
      // The ledger still commits: no turn at the write lock was lost with a killed thread.
      await cashIn(ledger, "alice", 6_000_000n);
      await until(async () => (await alerts()).some((a) => a.ruleId === "pboc.lv.cash"));
    });

    it("commits into the risk tables' own database: on SQLite the ledger's file never sees them", async () => {
      await startThread();
      await cashIn(ledger, "alice", 6_000_000n);
      await until(async () => main.cursor === (await ledger.eventCount()));
      if (backend === "postgres") {
        // One database; row locks keep the two writers apart.
        expect(risk!.db).to.equal(db);
        return;
      }
      expect(risk!.db).to.not.equal(db);
      expect(fs.existsSync(path.join(dir!, "ledger.risk.db"))).to.equal(true);
      const ledgerTables = await all<{ name: string }>(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'risk%'",
      );
      expect(ledgerTables).to.deep.equal([]);
      // data_version moves on a connection when another connection commits to its file. While the
      // engine's thread evaluates, commits a batch with an alert and the outbox records the alert's
      // fact (through the ledger, on its own connection), the ledger's connection sees no change.
      const version = () => db.kind === "sqlite" && db.sqlite.pragma("data_version", { simple: true });
      const before = version();
      const factsBefore = await raisedFacts();
      await cashIn(ledger, "bob", 6_000_000n);
      await until(async () => (await raisedFacts()) === factsBefore + 1);
      await until(async () => main.cursor === (await ledger.eventCount()));
      expect(version()).to.equal(before);
    });
  });
