import { expect } from "chai";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { listAlerts, transitionAlert } from "../../src/risk/alerts";
import { Approvals, type Executors } from "../../src/risk/approvals";
import { RiskEngine } from "../../src/risk/engine";
import { ApprovalNotPendingError } from "../../src/risk/errors";
import { ledgerExecutors } from "../../src/risk/executors";
import { sqlRunner } from "../../src/db/tx-runner";
import { pendingOutbox } from "../../src/risk/outbox";
import { describeWithPg, recordPgStatements } from "../support/pg";
import { cashIn, pgLedgerFixture } from "./fixture";
import { rulesWith } from "./support";

describeWithPg("risk engine, alerts and approvals (PostgreSQL)", (ctx) => {
  const record = recordPgStatements();
  const env = pgLedgerFixture(ctx);

  it("raises, reviews and publishes an alert; concurrent approvals execute once", async () => {
    const { db, ledger } = env;
    const engine = await RiskEngine.open(db, ledger, ledger, { rules: rulesWith(["pboc.lv.cash"]) });
    await cashIn(ledger, "alice", 5_000_000n);
    await engine.drain();
    const [a] = await listAlerts(engine.runner, { state: "open" });
    expect(a).to.include({ ruleId: "pboc.lv.cash", subject: "alice" });
    await transitionAlert(engine.runner, a.id, { to: "under_review", by: "k1" }, Date.now());
    const done = await transitionAlert(engine.runner, a.id, { to: "confirmed", by: "k2" }, Date.now());
    expect(done.transitions!.map((t) => t.to)).to.deep.equal(["under_review", "confirmed"]);
    await engine.publish();
    expect(await ledger.listFacts({ kind: "ALERT_TRANSITIONED" })).to.have.length(2);

    let calls = 0;
    const ex = ledgerExecutors(ledger, engine);
    const counting: Executors = {
      ...ex,
      unfreeze_account: async (params, id) => (calls++, ex.unfreeze_account!(params, id)),
    };
    await ledger.setAccountStatus("alice", "frozen");
    const p = await new Approvals(engine.runner, counting).propose(
      "unfreeze_account",
      { accountId: "alice" },
      "m",
    );
    const pools = [0, 1, 2, 3].map(() => openDatabase(ctx.url, { poolSize: 2 }));
    try {
      const results = await Promise.allSettled(
        pools.map((d, i) => new Approvals(sqlRunner(d), counting).approve(p.id, `c${i}`)),
      );
      expect(results.filter((r) => r.status === "fulfilled")).to.have.length(1);
      for (const r of results)
        if (r.status === "rejected") expect(r.reason).to.be.instanceOf(ApprovalNotPendingError);
      expect(calls).to.equal(1);
      expect((await ledger.getAccount("alice")).status).to.equal("active");
    } finally {
      for (const d of pools) await closeDatabase(d);
    }
  });

  it("a batch's alerts and their outbox work go in one statement each; an alert already stored is skipped", async () => {
    const { db, ledger } = env;
    const engine = await RiskEngine.open(db, ledger, ledger, { rules: rulesWith(["pboc.lv.cash"]) });
    await engine.drain();
    const before = (await listAlerts(engine.runner, {})).map((a) => a.id);
    const pending = (await pendingOutbox(engine.runner)).fact ?? 0;
    // alice was alerted in this window by the first test; bob and acme are new.
    for (const who of ["alice", "bob", "acme"]) await cashIn(ledger, who, 5_000_000n);
    const { sent } = await record(() => engine.drain());
    expect(sent.filter((q) => q.includes("INSERT INTO risk_alerts"))).to.have.length(1);
    expect(sent.filter((q) => q.includes("INSERT INTO risk_outbox"))).to.have.length(1);
    const added = (await listAlerts(engine.runner, {})).filter((a) => !before.includes(a.id));
    expect(added.map((a) => a.subject).sort()).to.deep.equal(["acme", "bob"]);
    expect((await pendingOutbox(engine.runner)).fact).to.equal(pending + 2);
  });
});
