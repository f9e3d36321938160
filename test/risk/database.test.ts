import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { all } from "../../src/db/sql";
import { openLedger } from "../../src/ledger";
import { RiskEngine } from "../../src/risk/engine";
import { findRiskDatabase, openRiskDatabase, riskDatabasePath } from "../../src/risk/database";
import { describeWithPg } from "../support/pg";
import { KEY, cashIn, openAccounts } from "./fixture";

const migrated = async (db: Parameters<typeof all>[0]) =>
  (await all<{ id: string }>(db, "SELECT id FROM schema_migrations WHERE id LIKE 'risk/%'").catch(() => []))
    .length > 0;

describe("risk tables' database (src/risk/database.ts)", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-risk-db-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("names the risk file after the ledger's", () => {
    expect(riskDatabasePath("/var/lib/custody/custody.db")).to.equal("/var/lib/custody/custody.risk.db");
    expect(riskDatabasePath("ledger.sqlite")).to.equal("ledger.risk.sqlite");
    expect(riskDatabasePath("ledger.sqlite3")).to.equal("ledger.risk.sqlite3");
    expect(riskDatabasePath("/data/ledger")).to.equal("/data/ledger.risk");
  });

  it("SQLite: a file of its own, which readers then find; the ledger's file holds no risk table", async () => {
    const url = path.join(dir, "custody.db");
    const db = openDatabase(url);
    const ledger = await openLedger(db, { pseudonymKey: KEY });
    await openAccounts(ledger);
    // Before the engine ever ran, a reader finds nothing and creates nothing.
    expect(await findRiskDatabase(db)).to.equal(undefined);
    expect(fs.existsSync(path.join(dir, "custody.risk.db"))).to.equal(false);

    const risk = await openRiskDatabase(db);
    expect(risk.db.url).to.equal(path.join(dir, "custody.risk.db"));
    const engine = await RiskEngine.open(risk.db, ledger, ledger);
    await cashIn(ledger, "alice", 6_000_000n);
    await engine.drain();
    expect(await migrated(risk.db)).to.equal(true);
    expect(await migrated(db)).to.equal(false);
    await risk.close();

    const found = await findRiskDatabase(db);
    expect(found?.db.url).to.equal(path.join(dir, "custody.risk.db"));
    expect(await all(found!.db, "SELECT id FROM risk_alerts")).to.have.length(1);
    await found!.close();
    // Closing the risk file leaves the ledger's handle open.
    expect(await ledger.eventCount()).to.be.greaterThan(0);
    await ledger.close();
    await closeDatabase(db);
  });

  it("SQLite: a ledger file that already holds the risk tables keeps them there", async () => {
    const db = openDatabase(path.join(dir, "custody.db"));
    const ledger = await openLedger(db, { pseudonymKey: KEY });
    await openAccounts(ledger);
    await RiskEngine.open(db, ledger, ledger); // the layout before the split
    const risk = await openRiskDatabase(db);
    expect(risk.db).to.equal(db);
    expect((await findRiskDatabase(db))?.db).to.equal(db);
    expect(fs.existsSync(path.join(dir, "custody.risk.db"))).to.equal(false);
    await risk.close();
    expect(await ledger.eventCount()).to.be.greaterThan(0);
    await ledger.close();
    await closeDatabase(db);
  });

  it("SQLite in memory: the same handle (nothing to open again)", async () => {
    const db = openDatabase(":memory:");
    expect((await openRiskDatabase(db)).db).to.equal(db);
    expect(await findRiskDatabase(db)).to.equal(undefined);
    await closeDatabase(db);
  });
});

describeWithPg("risk tables' database (postgres)", (ctx) => {
  it("is the ledger's database", async () => {
    const db = openDatabase(ctx.url);
    try {
      const ledger = await openLedger(db, { pseudonymKey: KEY });
      expect(await findRiskDatabase(db)).to.equal(undefined);
      const risk = await openRiskDatabase(db);
      expect(risk.db).to.equal(db);
      await RiskEngine.open(risk.db, ledger, ledger);
      expect((await findRiskDatabase(db))?.db).to.equal(db);
      await ledger.close();
    } finally {
      await closeDatabase(db);
    }
  });
});
