import { expect } from "chai";
import { Registry } from "prom-client";
import { AccountFrozenError, SegregationViolationError } from "../../src/ledger";
import { recordSegregationRefusal } from "../../src/risk/refusals";
import { RiskEngine } from "../../src/risk/engine";
import { InvalidRuleFileError } from "../../src/risk/errors";
import { listAlerts } from "../../src/risk/alerts";
import { DEFAULT_RULE_FILE } from "../../src/risk/rules-file";
import { rulesWith } from "./support";
import type { FactPort } from "../../src/risk/ports";
import { cashIn, openAccounts, openRiskLedger, tid } from "./fixture";

describe("risk engine (SQLite ledger)", () => {
  let env: Awaited<ReturnType<typeof openRiskLedger>>;
  let facts: FactPort;
  const ofKind = (kind: string) => env.ledger.listFacts({ kind: kind as never });
  beforeEach(async () => {
    env = await openRiskLedger();
    await openAccounts(env.ledger);
    facts = env.ledger;
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
    const raised = await ofKind("ALERT_RAISED");
    expect(raised).to.have.length(1);
    expect(raised[0]).to.include({ documentHash: alerts[0].documentHash, subject: "alice" });
    expect(await ofKind("RULES_CHANGED")).to.have.length(1);
    // The engine reads its own facts back from the log as events and stays caught up.
    await engine.drain();
    expect(engine.cursor).to.equal(await env.ledger.eventCount());
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

  it("consumes the other modules' facts: a refused segregation attempt, a reconciliation break, a reserve shortfall", async () => {
    const engine = await RiskEngine.open(env.db, env.ledger, facts, {
      rules: rulesWith(["segregation.refused", "bank.reconciliation-break", "solvency.reserve-shortfall"]),
    });
    const h = (c: string) => `0x${c.repeat(64)}` as const;
    await cashIn(env.ledger, "alice", 100n);
    let refused: unknown;
    try {
      await env.ledger.transfer({
        id: "grab",
        debitAccountId: "alice",
        creditAccountId: "swift",
        amount: 100n,
        kind: "fee",
      });
    } catch (e) {
      refused = e;
    }
    expect(refused).to.be.instanceOf(SegregationViolationError);
    await recordSegregationRefusal(
      engine.runner,
      facts,
      {
        transferId: "grab",
        debitAccountId: "alice",
        creditAccountId: "swift",
        kind: "fee",
        amount: 100n,
        errorCode: (refused as SegregationViolationError).code,
      },
      Date.now(),
    );
    await env.ledger.recordFact({
      id: "recon-1",
      kind: "BANK_RECONCILIATION",
      documentHash: h("1"),
      asset: "CNY",
      amount: 0n,
    });
    await env.ledger.recordFact({
      id: "recon-2",
      kind: "BANK_RECONCILIATION",
      documentHash: h("2"),
      asset: "CNY",
      amount: 3n,
    });
    await env.ledger.recordFact({
      id: "liab-1",
      kind: "LIABILITIES_SNAPSHOT",
      documentHash: h("3"),
      asset: "CNY",
      amount: 100n,
    });
    await env.ledger.recordFact({
      id: "res-1",
      kind: "RESERVES_ATTESTED",
      documentHash: h("4"),
      asset: "CNY",
      amount: 100n,
    });
    await env.ledger.recordFact({
      id: "res-2",
      kind: "RESERVES_ATTESTED",
      documentHash: h("5"),
      asset: "CNY",
      amount: 99n,
    });
    await engine.drain();
    // In the order of the facts that raised them (listAlerts orders by time, then id: facts
    // recorded in the same millisecond would come in id order).
    const alerts = (await listAlerts(engine.runner, {})).sort((x, y) => x.sequence - y.sequence);
    expect(alerts.map((a) => [a.ruleId, a.subject, a.severity])).to.deep.equal([
      ["segregation.refused", "alice", "critical"],
      ["bank.reconciliation-break", "asset:CNY", "high"],
      ["solvency.reserve-shortfall", "asset:CNY", "critical"],
    ]);
    expect(alerts[2].details).to.deep.equal({
      asset: "CNY",
      reserves: "99",
      liabilities: "100",
      shortfall: "1",
    });
  });

  it("start() wakes on the ledger's commit, not on its poll, and stop() stops listening", async () => {
    // A poll of an hour: only the commit notification can bring the alert before the test ends.
    const engine = await RiskEngine.open(env.db, env.ledger, facts, { pollIntervalMs: 3_600_000 });
    const raised: string[] = [];
    let alerted!: () => void;
    const first = new Promise<void>((r) => (alerted = r));
    engine.onAlerts = (list) => {
      raised.push(...list.map((a) => a.ruleId));
      alerted();
    };
    engine.start();
    await cashIn(env.ledger, "alice", 5_000_000n);
    await first;
    expect(raised).to.deep.equal(["pboc.lv.cash"]);
    await engine.stop();
    await engine.drain(); // the fact the last tick published
    // Stopped: a commit no longer reaches the engine.
    const before = engine.cursor;
    await cashIn(env.ledger, "bob", 5_000_000n);
    await new Promise((r) => setImmediate(r));
    expect(engine.cursor).to.equal(before);
    expect(await engine.drain()).to.equal(1);
  });

  it("commits in quick succession share a tick: woken ticks start at least minTickIntervalMs apart", async () => {
    const batches: number[] = [];
    const engine = await RiskEngine.open(env.db, env.ledger, facts, {
      pollIntervalMs: 3_600_000,
      minTickIntervalMs: 1000,
      onBatch: (r) => batches.push(r.events),
    });
    await engine.drain();
    batches.length = 0;
    const before = engine.cursor;
    const started = performance.now();
    engine.start();
    for (let i = 0; i < 20; i++) await cashIn(env.ledger, i % 2 ? "alice" : "bob", 100n);
    const committed = performance.now() - started;
    const total = await env.ledger.eventCount();
    while (engine.cursor < total) await new Promise((r) => setTimeout(r, 20));
    await engine.stop();
    // start() ticks at once (nothing to evaluate yet), so the 20 commits wait for the tick a
    // second later and share it (the facts it publishes may take one more).
    if (committed < 900) expect(batches.length).to.be.within(1, 2);
    // However slow the machine: at most one woken tick per second of commits, plus the facts' one.
    expect(batches.length).to.be.at.most(Math.ceil(committed / 1000) + 2);
    expect(batches.reduce((a, b) => a + b, 0)).to.equal(engine.cursor - before);
    expect(engine.cursor - before).to.be.at.least(20);
  });

  it("a commit made while start() is evaluating is evaluated without waiting for the poll", async () => {
    let armed = false;
    const engine = await RiskEngine.open(env.db, env.ledger, facts, {
      pollIntervalMs: 3_600_000,
      // Once armed, the next batch commits a deposit of its own between evaluation and commit.
      beforeCommit: () => {
        if (armed) {
          armed = false;
          void cashIn(env.ledger, "bob", 5_000_000n);
        }
      },
    });
    await engine.drain();
    let done!: () => void;
    const bob = new Promise<void>((r) => (done = r));
    engine.onAlerts = (list) => {
      if (list.some((a) => a.ruleId === "pboc.lv.cash")) done();
    };
    armed = true;
    engine.start();
    await cashIn(env.ledger, "alice", 1n);
    await bob;
    await engine.stop();
    const alerts = await listAlerts(engine.runner, {});
    expect(alerts.map((a) => a.subject)).to.deep.equal(["bob"]);
  });
});

describe("ledger onCommit (SQLite)", () => {
  it("calls each listener once per commit of this ledger, ignores what a listener throws, and unsubscribes", async () => {
    const env = await openRiskLedger();
    try {
      let calls = 0;
      const off = env.ledger.onCommit(() => void calls++);
      const offThrowing = env.ledger.onCommit(() => {
        throw new Error("listener failure");
      });
      await openAccounts(env.ledger);
      const opened = calls;
      expect(opened).to.be.greaterThan(0);
      await cashIn(env.ledger, "alice", 1n);
      expect(calls).to.equal(opened + 1);
      off();
      offThrowing();
      await cashIn(env.ledger, "alice", 1n);
      expect(calls).to.equal(opened + 1);
    } finally {
      await env.close();
    }
  });

  it("recordFacts: several facts in one commit, in order, each idempotent by id; a conflict records none", async () => {
    const env = await openRiskLedger();
    try {
      await openAccounts(env.ledger);
      let commits = 0;
      env.ledger.onCommit(() => void commits++);
      const h = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as const;
      const a = { id: "f-a", kind: "ALERT_RAISED" as const, documentHash: h(1), subject: "alice" };
      const b = { id: "f-b", kind: "ALERT_RAISED" as const, documentHash: h(2) };
      const first = await env.ledger.recordFacts([a, b, a]);
      expect(commits).to.equal(1);
      expect(first.map((f) => f.id)).to.deep.equal(["f-a", "f-b", "f-a"]);
      expect(first[1].sequence).to.equal(first[0].sequence + 1);
      expect(first[2].sequence).to.equal(first[0].sequence);
      // Again: the stored facts, nothing new on the log.
      const events = await env.ledger.eventCount();
      const again = await env.ledger.recordFacts([b, a]);
      expect(again.map((f) => f.sequence)).to.deep.equal([first[1].sequence, first[0].sequence]);
      expect(await env.ledger.eventCount()).to.equal(events);
      // Same id, other terms: refused whole.
      const c = { id: "f-c", kind: "ALERT_RAISED" as const, documentHash: h(3) };
      let err: unknown;
      try {
        await env.ledger.recordFacts([c, { ...a, documentHash: h(9) }]);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(Error);
      expect(await env.ledger.eventCount()).to.equal(events);
    } finally {
      await env.close();
    }
  });
});
