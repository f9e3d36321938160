import { expect } from "chai";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { createPgAdvisoryLease } from "../../src/db/lease";
import { listAlerts } from "../../src/risk/alerts";
import { RiskEngine, type EngineBatchReport } from "../../src/risk/engine";
import { describeWithPg } from "../support/pg";
import { cashIn, pgLedgerFixture, until } from "./fixture";
import { rulesWith } from "./support";

describeWithPg("risk engine: one evaluating engine per database (PostgreSQL)", (ctx) => {
  const env = pgLedgerFixture(ctx);

  it("only the lease holder evaluates, the other follows the cursor and takes over when the holder stops", async () => {
    const { ledger } = env;
    // Two processes' engines: each its own connections and its own lease session.
    const dbs = [openDatabase(ctx.url, { poolSize: 2 }), openDatabase(ctx.url, { poolSize: 2 })];
    const reports: EngineBatchReport[][] = [[], []];
    const engines: RiskEngine[] = [];
    try {
      for (const i of [0, 1])
        engines.push(
          await RiskEngine.open(dbs[i], ledger, ledger, {
            rules: rulesWith(["pboc.lv.cash"]),
            pollIntervalMs: 30,
            minTickIntervalMs: 0,
            lease: createPgAdvisoryLease(ctx.url, { name: "risk-evaluator" }),
            onBatch: (r) => reports[i].push(r),
          }),
        );
      const [a, b] = engines;
      a.start();
      await until(() => a.evaluating);
      b.start();
      for (let i = 0; i < 6; i++) await cashIn(ledger, i % 2 ? "alice" : "bob", 5_000_000n);
      let total = await ledger.eventCount();
      await until(() => a.cursor >= total && b.cursor >= total);
      expect(b.evaluating).to.equal(false);
      expect(reports[1].every((r) => r.events === 0)).to.equal(true);
      expect(reports[0].some((r) => r.events > 0)).to.equal(true);

      // The holder stops (its lease ends): the other reloads what it committed and goes on.
      await a.stop();
      for (let i = 0; i < 4; i++) await cashIn(ledger, "acme", 5_000_000n);
      total = await ledger.eventCount();
      await until(() => b.evaluating && b.cursor >= total);
      expect(reports[1].some((r) => r.events > 0)).to.equal(true);
      // Every event evaluated once, by one engine or the other: the batches' ranges tile the log.
      const ranges = [...reports[0], ...reports[1]]
        .filter((r) => r.events > 0)
        .map((r) => [r.cursor - r.events, r.cursor])
        .sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).to.equal(ranges[i - 1][1]);
      expect(ranges[ranges.length - 1][1]).to.equal(b.cursor);
      // The new holder took up the committed state (cursor, counters, rule state), not its own.
      const pgDb = dbs[1];
      if (pgDb.kind !== "postgres") throw new Error("postgres expected");
      const [row] = (await pgDb.pool.query("SELECT next_sequence, processed FROM risk_cursor")).rows;
      expect(Number(row.processed)).to.equal(Number(row.next_sequence));
      // One alert per customer and window (alice, bob, acme), none twice.
      const alerts = await listAlerts(b.runner, {});
      expect(alerts.map((x) => x.subject).sort()).to.deep.equal(["acme", "alice", "bob"]);
    } finally {
      for (const e of engines) await e.stop();
      for (const d of dbs) await closeDatabase(d);
    }
  });
});
