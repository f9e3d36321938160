import { expect } from "chai";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { Approvals, type Executors } from "../../src/risk/approvals";
import { RiskEngine } from "../../src/risk/engine";
import {
  ApprovalExpiredError,
  ApprovalNotPendingError,
  InvalidRiskInputError,
  MakerCheckerConflictError,
  ReasonRequiredError,
} from "../../src/risk/errors";
import { ledgerExecutors } from "../../src/risk/executors";
import { all, sqlRunner } from "../../src/db/tx-runner";
import { rejects, rulesWith } from "./support";
import { cashIn, openAccounts, openRiskLedger } from "./fixture";

describe("risk approvals (maker-checker, SQLite)", () => {
  let env: Awaited<ReturnType<typeof openRiskLedger>>;
  let engine: RiskEngine;
  let now: number;
  let executors: Executors;
  let approvals: Approvals;
  beforeEach(async () => {
    env = await openRiskLedger();
    await openAccounts(env.ledger);
    engine = await RiskEngine.open(env.db, env.ledger, env.ledger, { rules: rulesWith(["pboc.lv.cash"]) });
    now = Date.parse("2026-03-02T10:00:00Z");
    executors = ledgerExecutors(env.ledger, engine);
    approvals = new Approvals(engine.runner, executors, () => now);
  });
  afterEach(async () => env.close());

  it("lifting a freeze: the maker proposes, another key approves, it executes once and every step is a fact", async () => {
    await env.ledger.setAccountStatus("alice", "frozen");
    const p = await approvals.propose("unfreeze_account", { accountId: "alice" }, "key-maker");
    expect(p.state).to.equal("pending");
    expect((await env.ledger.getAccount("alice")).status).to.equal("frozen");
    const done = await approvals.approve(p.id, "key-checker");
    expect(done).to.include({ state: "executed", checker: "key-checker" });
    expect((await env.ledger.getAccount("alice")).status).to.equal("active");
    await engine.publish();
    for (const kind of ["APPROVAL_PROPOSED", "APPROVAL_DECIDED", "APPROVAL_EXECUTED"] as const)
      expect(await env.ledger.listFacts({ kind }), kind).to.have.length(1);
    await rejects(approvals.approve(p.id, "key-other"), ApprovalNotPendingError);
  });

  it("refuses the maker as checker, for approval and rejection alike, and changes nothing", async () => {
    const p = await approvals.propose("unfreeze_account", { accountId: "alice" }, "key-maker");
    await rejects(approvals.approve(p.id, "key-maker"), MakerCheckerConflictError);
    await rejects(approvals.reject(p.id, "key-maker", "no"), MakerCheckerConflictError);
    expect((await approvals.get(p.id)).state).to.equal("pending");
  });

  it("refuses an expired proposal (and records it as expired); at one ms before expiry it still works", async () => {
    const p = await approvals.propose("unfreeze_account", { accountId: "alice" }, "m");
    now = p.expiresAt;
    await rejects(approvals.approve(p.id, "c"), ApprovalExpiredError);
    expect((await approvals.get(p.id)).state).to.equal("expired");
    await rejects(approvals.approve(p.id, "c"), ApprovalNotPendingError);
    const q = await approvals.propose("unfreeze_account", { accountId: "alice" }, "m");
    now = q.expiresAt - 1;
    expect((await approvals.approve(q.id, "c")).state).to.equal("executed");
  });

  it("rejection needs a reason and executes nothing", async () => {
    await env.ledger.setAccountStatus("alice", "frozen");
    const p = await approvals.propose("unfreeze_account", { accountId: "alice" }, "m");
    await rejects(approvals.reject(p.id, "c", "  "), ReasonRequiredError);
    const r = await approvals.reject(p.id, "c", "customer under investigation");
    expect(r).to.include({ state: "rejected", reason: "customer under investigation" });
    expect((await env.ledger.getAccount("alice")).status).to.equal("frozen");
  });

  it("refuses unknown operations and bad parameters", async () => {
    await rejects(approvals.propose("format_disk" as never, {}, "m"), InvalidRiskInputError);
    await rejects(
      approvals.propose("withdrawal", { debitAccountId: "alice", creditAccountId: "swift", amount: 5 }, "m"),
      InvalidRiskInputError,
    );
  });

  it("concurrent approvals from two processes' connections execute exactly once", async () => {
    let calls = 0;
    const counting: Executors = {
      ...executors,
      withdrawal: async (p, id) => {
        calls++;
        return executors.withdrawal!(p, id);
      },
    };
    await cashIn(env.ledger, "alice", 10_000_000n);
    const p = await approvals.propose(
      "withdrawal",
      { debitAccountId: "alice", creditAccountId: "swift", amount: "9000000" },
      "m",
    );
    // Four checkers on four separate connections to the same database file, all at once.
    const dbs = [0, 1, 2, 3].map(() => openDatabase(env.url));
    try {
      const results = await Promise.allSettled(
        dbs.map((db, i) => new Approvals(sqlRunner(db), counting, () => now).approve(p.id, `checker-${i}`)),
      );
      const ok = results.filter((r) => r.status === "fulfilled");
      expect(ok).to.have.length(1);
      for (const r of results)
        if (r.status === "rejected") expect(r.reason).to.be.instanceOf(ApprovalNotPendingError);
      expect(calls).to.equal(1);
      expect((await env.ledger.getBalance("alice")).posted).to.equal(1_000_000n);
      const executed = await engine.runner.read(() =>
        all("SELECT ref FROM risk_outbox WHERE ref LIKE ?", `risk:approval:${p.id}:executed`),
      );
      expect(executed).to.have.length(1);
    } finally {
      for (const db of dbs) await closeDatabase(db);
    }
  });

  it("a crash after approval and before execution is finished once by resumeApproved", async () => {
    await env.ledger.setAccountStatus("alice", "frozen");
    const p = await approvals.propose("unfreeze_account", { accountId: "alice" }, "m");
    const failing = new Approvals(
      engine.runner,
      {
        ...executors,
        unfreeze_account: async () => {
          throw new Error("process died");
        },
      },
      () => now,
    );
    await failing.approve(p.id, "c").catch(() => undefined);
    expect((await approvals.get(p.id)).state).to.equal("approved");
    expect(await approvals.resumeApproved()).to.equal(1);
    expect((await approvals.get(p.id)).state).to.equal("executed");
    expect((await env.ledger.getAccount("alice")).status).to.equal("active");
  });

  it("thresholds are under dual control; a rule file change too", async () => {
    expect((await approvals.settings()).withdrawalThreshold).to.equal(5_000_000n);
    expect(await approvals.needsDualControl(5_000_001n)).to.equal(true);
    const s = await approvals.propose("settings_change", { withdrawalThreshold: "100" }, "m");
    expect((await approvals.settings()).withdrawalThreshold).to.equal(5_000_000n);
    await approvals.approve(s.id, "c");
    expect((await approvals.settings()).withdrawalThreshold).to.equal(100n);
    const r = await approvals.propose(
      "rules_change",
      { source: rulesWith(["velocity.debits"], { revision: 2 }) },
      "m",
    );
    expect(engine.rules.revision).to.equal(1);
    await approvals.approve(r.id, "c");
    expect(engine.rules.revision).to.equal(2);
    expect(engine.rules.rules.map((x) => x.id)).to.deep.equal(["velocity.debits"]);
  });

  it("closing an account with a balance sweeps it and closes it, once approved", async () => {
    await cashIn(env.ledger, "bob", 123n);
    const p = await approvals.propose("close_account", { accountId: "bob", sweepToAccountId: "swift" }, "m");
    const done = await approvals.approve(p.id, "c");
    expect(done.result).to.deep.equal({ accountId: "bob", status: "closed", swept: "123" });
  });
});
