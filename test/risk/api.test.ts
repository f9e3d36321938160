import { expect } from "chai";
import { startRiskApi } from "./api-stack";

describe("risk API: /v1/alerts and /v1/approvals (real HTTP, SQLite)", () => {
  let s: Awaited<ReturnType<typeof startRiskApi>>;
  before(async () => {
    s = await startRiskApi();
  });
  after(async () => s.stop());

  const deposit = (id: string, to: string, amount: string) =>
    s.call("POST", "/v1/transfers", s.keys.platform, {
      id,
      debitAccountId: "cash-desk",
      creditAccountId: to,
      amount,
      kind: "deposit",
    });

  it("lists an alert raised by a transfer posted through the API; filters by state, rule and account", async () => {
    expect((await deposit("d1", "alice", "5000000")).status).to.equal(201);
    await s.engine.drain();
    const all = await s.call("GET", "/v1/alerts", s.keys.auditor);
    expect(all.status).to.equal(200);
    expect(all.body.alerts.map((a: any) => [a.ruleId, a.subject, a.state])).to.deep.equal([
      ["pboc.lv.cash", "alice", "open"],
    ]);
    expect((await s.call("GET", "/v1/alerts?account=bob", s.keys.operator)).body.alerts).to.have.length(0);
    expect(
      (await s.call("GET", "/v1/alerts?rule=pboc.lv.cash&state=open", s.keys.checker)).body.alerts,
    ).to.have.length(1);
    expect((await s.call("GET", "/v1/alerts?state=closed", s.keys.checker)).status).to.equal(400);
    // A holder sees no alerts at all (they name other customers).
    expect((await s.call("GET", "/v1/alerts", s.keys.holder)).status).to.equal(403);
    expect((await s.call("GET", "/v1/alerts")).status).to.equal(401);
  });

  it("reviews an alert: who and when per step, dismissal needs a reason, an invalid step is 409", async () => {
    const [a] = (await s.call("GET", "/v1/alerts?state=open", s.keys.operator)).body.alerts;
    expect(
      (await s.call("POST", `/v1/alerts/${a.id}/transition`, s.keys.platform, { to: "under_review" })).status,
    ).to.equal(403);
    expect(
      (await s.call("POST", `/v1/alerts/${a.id}/transition`, s.keys.operator, { to: "confirmed" })).body.error
        .code,
    ).to.equal("INVALID_ALERT_TRANSITION");
    expect(
      (await s.call("POST", `/v1/alerts/${a.id}/transition`, s.keys.operator, { to: "under_review" })).status,
    ).to.equal(200);
    const noReason = await s.call("POST", `/v1/alerts/${a.id}/transition`, s.keys.operator, {
      to: "dismissed",
    });
    expect([noReason.status, noReason.body.error.code]).to.deep.equal([400, "REASON_REQUIRED"]);
    const done = await s.call("POST", `/v1/alerts/${a.id}/transition`, s.keys.checker, {
      to: "dismissed",
      reason: "payroll",
    });
    expect(done.status).to.equal(200);
    const full = await s.call("GET", `/v1/alerts/${a.id}`, s.keys.auditor);
    expect(full.body.state).to.equal("dismissed");
    expect(full.body.transitions.map((t: any) => [t.from, t.to, t.reason ?? null])).to.deep.equal([
      ["open", "under_review", null],
      ["under_review", "dismissed", "payroll"],
    ]);
    expect(full.body.transitions[0].by).to.not.equal(full.body.transitions[1].by);
    expect(
      (await s.call("GET", "/v1/alerts/al-00000000000000000000000000000000", s.keys.auditor)).status,
    ).to.equal(404);
  });

  it("a large withdrawal needs dual control: refused directly, proposed by an operator, approved by a checker, executed once", async () => {
    const direct = await s.call("POST", "/v1/transfers", s.keys.platform, {
      id: "w1",
      debitAccountId: "alice",
      creditAccountId: "swift",
      amount: "5000001",
      kind: "withdrawal",
    });
    expect([direct.status, direct.body.error.code]).to.deep.equal([403, "DUAL_CONTROL_REQUIRED"]);
    const params = { debitAccountId: "alice", creditAccountId: "swift", amount: "5000000" };
    expect(
      (await s.call("POST", "/v1/approvals", s.keys.checker, { operation: "withdrawal", params })).status,
    ).to.equal(403);
    const p = await s.call("POST", "/v1/approvals", s.keys.operator, { operation: "withdrawal", params });
    expect(p.status).to.equal(201);
    expect(
      (await s.call("GET", "/v1/approvals?state=pending", s.keys.checker)).body.approvals.map(
        (x: any) => x.id,
      ),
    ).to.deep.equal([p.body.id]);
    // Operators cannot approve (their own or anyone's); checkers cannot propose.
    expect(
      (await s.call("POST", `/v1/approvals/${p.body.id}/approve`, s.keys.operator2, {})).status,
    ).to.equal(403);
    const [r1, r2] = await Promise.all([
      s.call("POST", `/v1/approvals/${p.body.id}/approve`, s.keys.checker, {}),
      s.call("POST", `/v1/approvals/${p.body.id}/approve`, s.keys.checker2, {}),
    ]);
    expect([r1.status, r2.status].sort()).to.deep.equal([200, 409]);
    const ok = r1.status === 200 ? r1 : r2;
    expect(ok.body.state).to.equal("executed");
    expect((await s.env.ledger.getBalance("alice")).posted).to.equal(0n);
    const rej = await s.call("POST", `/v1/approvals/${p.body.id}/reject`, s.keys.checker, { reason: "late" });
    expect(rej.body.error.code).to.equal("APPROVAL_NOT_PENDING");
  });

  it("rejecting needs a written reason: a missing or blank one is REASON_REQUIRED and changes nothing", async () => {
    const p = await s.call("POST", "/v1/approvals", s.keys.operator, {
      operation: "unfreeze_account",
      params: { accountId: "bob" },
    });
    expect(p.status).to.equal(201);
    for (const body of [{}, { reason: "   " }]) {
      const r = await s.call("POST", `/v1/approvals/${p.body.id}/reject`, s.keys.checker, body);
      expect([r.status, r.body.error.code]).to.deep.equal([400, "REASON_REQUIRED"]);
    }
    const extra = await s.call("POST", `/v1/approvals/${p.body.id}/reject`, s.keys.checker, {
      reason: "x",
      note: "y",
    });
    expect([extra.status, extra.body.error.code]).to.deep.equal([400, "INVALID_REQUEST"]);
    expect((await s.call("GET", `/v1/approvals/${p.body.id}`, s.keys.auditor)).body.state).to.equal(
      "pending",
    );
    const done = await s.call("POST", `/v1/approvals/${p.body.id}/reject`, s.keys.checker, {
      reason: "not frozen",
    });
    expect([done.status, done.body.state, done.body.reason]).to.deep.equal([200, "rejected", "not frozen"]);
  });

  it("a refused segregation attempt through the API is logged as a fact and alerted", async () => {
    await deposit("d2", "bob", "100");
    const r = await s.call("POST", "/v1/transfers", s.keys.platform, {
      id: "grab-1",
      debitAccountId: "bob",
      creditAccountId: "swift",
      amount: "100",
      kind: "transfer",
    });
    expect(r.status).to.equal(422);
    await s.engine.drain();
    const alerts = (await s.call("GET", "/v1/alerts?rule=segregation.refused", s.keys.auditor)).body.alerts;
    expect(alerts.map((a: any) => [a.subject, a.severity])).to.deep.equal([["bob", "critical"]]);
  });

  it("a refused transfer inside a batch is named in the error and logged as a fact for that transfer", async () => {
    const facts = async () =>
      (await s.env.ledger.listFacts({ kind: "SEGREGATION_REFUSED", limit: 100 })).length;
    const before = await facts();
    const r = await s.call("POST", "/v1/transfers/batch", s.keys.platform, {
      transfers: [
        { id: "b-dep", debitAccountId: "cash-desk", creditAccountId: "acme", amount: "100", kind: "deposit" },
        { id: "b-grab", debitAccountId: "acme", creditAccountId: "swift", amount: "100", kind: "transfer" },
      ],
    });
    expect(r.status).to.equal(422);
    expect(r.body.error).to.include({
      code: "SEGREGATION_CUSTOMER_OUTFLOW",
      transferId: "b-grab",
      batchIndex: 1,
    });
    expect(await facts()).to.equal(before + 1);
    await s.engine.drain();
    const alerts = (await s.call("GET", "/v1/alerts?rule=segregation.refused&account=acme", s.keys.auditor))
      .body.alerts;
    expect(alerts.map((a: any) => [a.subject, a.severity])).to.deep.equal([["acme", "critical"]]);
  });

  it("serves counts per rule over time for the chart", async () => {
    const r = await s.call(
      "GET",
      `/v1/alerts/stats?from=0&to=${Date.now() + 1000}&bucketMs=3600000`,
      s.keys.auditor,
    );
    expect(r.status).to.equal(200);
    const rules = r.body.buckets.map((b: any) => b.ruleId).sort();
    expect(rules).to.deep.equal(["pboc.lv.cash", "segregation.refused"]);
  });
});
