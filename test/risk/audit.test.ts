import { expect } from "chai";
import { listAlerts, transitionAlert } from "../../src/risk/alerts";
import { auditRisk } from "../../src/risk/audit";
import { documentHash } from "../../src/risk/documents";
import { RiskEngine } from "../../src/risk/engine";
import { ReasonRequiredError, InvalidAlertTransitionError } from "../../src/risk/errors";
import { cashIn, openAccounts, openRiskLedger } from "./fixture";
import { rulesWith } from "./support";

describe("risk audit: the review trail against the log", () => {
  let env: Awaited<ReturnType<typeof openRiskLedger>>;
  let engine: RiskEngine;
  beforeEach(async () => {
    env = await openRiskLedger();
    await openAccounts(env.ledger);
    engine = await RiskEngine.open(env.db, env.ledger, env.ledger, { rules: rulesWith(["pboc.lv.cash"]) });
    await cashIn(env.ledger, "alice", 5_000_000n);
    await cashIn(env.ledger, "bob", 5_000_000n);
    await engine.drain();
    const [a] = await listAlerts(engine.runner, { subject: "alice" });
    await transitionAlert(engine.runner, a.id, { to: "under_review", by: "k-op" }, Date.now());
    await transitionAlert(engine.runner, a.id, { to: "dismissed", by: "k-op", reason: "salary" }, Date.now());
  });
  afterEach(async () => env.close());

  const sql = (q: string, ...p: unknown[]) => env.db.kind === "sqlite" && env.db.sqlite.prepare(q).run(...p);

  it("passes when every alert and transition is on the log; counts open and disposed", async () => {
    const before = await auditRisk(engine.runner, env.ledger);
    expect(before.ok).to.equal(true);
    expect(before.pendingFacts).to.equal(4); // 2 alerts + 2 transitions not yet published: pending, not findings
    await engine.publish();
    const r = await auditRisk(engine.runner, env.ledger);
    expect(r).to.include({ ok: true, alerts: 2, transitions: 2, open: 1, disposed: 1, pendingFacts: 0 });
  });

  it("enforces the lifecycle: dismissal needs a reason, no skipping, no leaving a final state", async () => {
    const bob = (await listAlerts(engine.runner, { subject: "bob" }))[0];
    let e: unknown;
    try {
      await transitionAlert(engine.runner, bob.id, { to: "confirmed", by: "k" }, Date.now());
    } catch (x) {
      e = x;
    }
    expect(e).to.be.instanceOf(InvalidAlertTransitionError);
    await transitionAlert(engine.runner, bob.id, { to: "under_review", by: "k" }, Date.now());
    try {
      await transitionAlert(engine.runner, bob.id, { to: "dismissed", by: "k" }, Date.now());
    } catch (x) {
      e = x;
    }
    expect(e).to.be.instanceOf(ReasonRequiredError);
    await transitionAlert(engine.runner, bob.id, { to: "escalated", by: "k" }, Date.now());
    try {
      await transitionAlert(engine.runner, bob.id, { to: "under_review", by: "k" }, Date.now());
    } catch (x) {
      e = x;
    }
    expect(e).to.be.instanceOf(InvalidAlertTransitionError);
  });

  it("finds an alert whose state was edited outside the log", async () => {
    await engine.publish();
    const bob = (await listAlerts(engine.runner, { subject: "bob" }))[0];
    sql("UPDATE risk_alerts SET state = 'dismissed' WHERE id = ?", bob.id);
    const r = await auditRisk(engine.runner, env.ledger);
    expect(r.ok).to.equal(false);
    expect(r.findings.map((f) => [f.check, f.id])).to.deep.equal([["state_mismatch", bob.id]]);
  });

  it("finds an edited alert document, with or without its stored hash recomputed", async () => {
    await engine.publish();
    const [alice] = await listAlerts(engine.runner, { subject: "alice" });
    const row =
      env.db.kind === "sqlite" &&
      (env.db.sqlite.prepare("SELECT document FROM risk_alerts WHERE id = ?").get(alice.id) as {
        document: string;
      });
    const edited = (row as { document: string }).document.replace('"severity":"high"', '"severity":"low"');
    sql("UPDATE risk_alerts SET document = ? WHERE id = ?", edited, alice.id);
    expect((await auditRisk(engine.runner, env.ledger)).findings.map((f) => f.check)).to.deep.equal([
      "document_hash",
      "fact_mismatch",
    ]);
    sql("UPDATE risk_alerts SET document_hash = ? WHERE id = ?", documentHash(edited), alice.id);
    expect((await auditRisk(engine.runner, env.ledger)).findings.map((f) => f.check)).to.deep.equal([
      "fact_mismatch",
    ]);
  });

  it("finds a deleted alert (its fact has no row) and a transition erased from the table", async () => {
    await engine.publish();
    const [alice] = await listAlerts(engine.runner, { subject: "alice" });
    const bob = (await listAlerts(engine.runner, { subject: "bob" }))[0];
    sql("DELETE FROM risk_alert_transitions WHERE alert_id = ? AND n = 2", alice.id);
    sql("DELETE FROM risk_alerts WHERE id = ?", bob.id);
    const checks = (await auditRisk(engine.runner, env.ledger)).findings.map((f) => f.check).sort();
    expect(checks).to.deep.equal(["orphan_fact", "state_mismatch"]);
  });
});
