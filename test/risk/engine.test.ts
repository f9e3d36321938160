import { expect } from "chai";
import { Registry } from "prom-client";
import { AccountFrozenError } from "../../src/ledger";
import { RiskEngine } from "../../src/risk/engine";
import { InvalidRuleFileError } from "../../src/risk/errors";
import { listAlerts } from "../../src/risk/alerts";
import { DEFAULT_RULE_FILE } from "../../src/risk/rules-file";
import { MemoryFacts, rulesWith } from "./support";
import { cashIn, openAccounts, openRiskLedger, tid } from "./fixture";

describe("risk engine (SQLite ledger)", () => {
  let env: Awaited<ReturnType<typeof openRiskLedger>>;
  let facts: MemoryFacts;
  beforeEach(async () => {
    env = await openRiskLedger();
    await openAccounts(env.ledger);
    facts = new MemoryFacts();
  });
  afterEach(async () => env.close());

  it("evaluates committed events once, raises a deduplicated alert and logs it as a fact", async () => {
    const metrics = new Registry();
    const engine = await RiskEngine.open(env.db, env.ledger, facts, { metrics });
    await cashIn(env.ledger, "alice", 3_000_000n);
    expect(await engine.drain()).to.equal(6); // 5 accounts opened + 1 deposit
    await cashIn(env.ledger, "alice", 2_000_000n); // the day's cash reaches ¥50 000
    await cashIn(env.ledger, "alice", 1_000_000n); // same rule, subject and day: no second alert
    await engine.drain();
    const alerts = await listAlerts(engine.runner, {});
    expect(alerts.map((a) => [a.ruleId, a.subject, a.state])).to.deep.equal([
      ["pboc.lv.cash", "alice", "open"],
    ]);
    expect(engine.cursor).to.equal(await env.ledger.eventCount());
    // The fact is published by the outbox (RULES_CHANGED of the initial file, then ALERT_RAISED).
    await engine.publish();
    const raised = facts.ofKind("ALERT_RAISED");
    expect(raised).to.have.length(1);
    expect(raised[0]).to.include({ documentHash: alerts[0].documentHash, subject: "alice" });
    expect(facts.ofKind("RULES_CHANGED")).to.have.length(1);
    const text = await metrics.metrics();
    expect(text).to.match(
      /custody_risk_alerts_total\{rule="pboc.lv.cash",severity="high",outcome="triggered"\} 1/,
    );
  });

  it("a freeze rule freezes the account: debits refused with a named error, credits still post", async () => {
    const freezing = JSON.stringify({
      ...DEFAULT_RULE_FILE,
      rules: DEFAULT_RULE_FILE.rules
        .filter((r) => r.id === "pboc.lv.cash")
        .map((r) => ({ ...r, action: "freeze" })),
    });
    const engine = await RiskEngine.open(env.db, env.ledger, facts, { rules: freezing });
    await cashIn(env.ledger, "alice", 5_000_000n);
    await engine.drain();
    await engine.publish();
    expect((await env.ledger.getAccount("alice")).status).to.equal("frozen");
    let err: unknown;
    try {
      await env.ledger.transfer({
        id: tid(),
        debitAccountId: "alice",
        creditAccountId: "bob",
        amount: 1n,
        kind: "transfer",
      });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(AccountFrozenError);
    await cashIn(env.ledger, "alice", 1n);
    expect((await env.ledger.getBalance("alice")).posted).to.equal(5_000_001n);
  });

  it("reloads a rule file without a restart; refuses an invalid or older one and keeps the rules in force", async () => {
    const engine = await RiskEngine.open(env.db, env.ledger, facts, { rules: rulesWith(["pboc.lv.cash"]) });
    await cashIn(env.ledger, "alice", 1_000_000n);
    await engine.drain();
    expect(await listAlerts(engine.runner, {})).to.have.length(0);
    const lower = JSON.parse(rulesWith(["pboc.lv.cash"], { revision: 2 }));
    lower.rules[0].threshold = "10000";
    await engine.reloadRules(JSON.stringify(lower));
    for (const bad of [
      "{",
      JSON.stringify({ ...lower, revision: 2 }),
      JSON.stringify({ ...lower, revision: 1 }),
    ]) {
      let err: unknown;
      try {
        await engine.reloadRules(bad);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(InvalidRuleFileError);
    }
    expect(engine.rules.revision).to.equal(2);
    await cashIn(env.ledger, "bob", 1_000_000n);
    await engine.drain();
    expect((await listAlerts(engine.runner, {})).map((a) => a.subject)).to.deep.equal(["bob"]);
    // A restarted engine keeps the reloaded revision even when started with the older file.
    const again = await RiskEngine.open(env.db, env.ledger, facts, { rules: rulesWith(["pboc.lv.cash"]) });
    expect(again.rules.revision).to.equal(2);
    expect((await engine.activeRules()).revision).to.equal(2);
  });

  it("a failure between evaluation and commit leaves nothing behind; the retry evaluates once", async () => {
    let fail = true;
    const engine = await RiskEngine.open(env.db, env.ledger, facts, {
      beforeCommit: () => {
        if (fail) throw new Error("injected crash before commit");
      },
    });
    await cashIn(env.ledger, "alice", 3_000_000n);
    await cashIn(env.ledger, "alice", 2_000_000n);
    let err: unknown;
    try {
      await engine.drain();
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.contain("injected");
    expect(engine.cursor).to.equal(0);
    expect(await listAlerts(engine.runner, {})).to.have.length(0);
    fail = false;
    await engine.drain();
    await cashIn(env.ledger, "alice", 1n);
    await engine.drain();
    expect(await listAlerts(engine.runner, {})).to.have.length(1);
  });
});
