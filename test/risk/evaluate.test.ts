import { expect } from "chai";
import fc from "fast-check";
import { RuleEvaluator, reportingDay, type FactEvent } from "../../src/risk/evaluate";
import { compileRuleFile } from "../../src/risk/rules-file";
import { DAY, MIN, T0, cashDesk, move, profile, rulesWith, runRules, swift } from "./support";

const CASH = rulesWith(["pboc.lv.cash"], { rates: { CNY: "1", USD: "8" } });
const alice = profile("alice");
const bob = profile("bob");
const corp = profile("corp", { holder: "company" });
const aliceUsd = profile("alice-usd", { asset: "USD" });
const cashUsd = profile("cash-usd", { type: "settlement", channel: "cash", asset: "USD" });
const ids = (hits: { ruleId: string }[]) => hits.map((h) => h.ruleId);

describe("risk rules: large value (PBOC)", () => {
  it("cash: at ¥50 000 alerts, one fen below does not, above alerts once", () => {
    expect(ids(runRules(CASH, [move(cashDesk, alice, 5_000_000n, T0)]))).to.deep.equal(["pboc.lv.cash"]);
    expect(runRules(CASH, [move(cashDesk, alice, 4_999_999n, T0)])).to.have.length(0);
    const h = runRules(CASH, [move(cashDesk, alice, 5_000_001n, T0), move(cashDesk, alice, 1n, T0 + 1)]);
    expect(h).to.have.length(1);
    expect(h[0]).to.include({ subject: "alice", outcome: "triggered", window: "2026-03-02/in/CNY" });
  });

  it("cash: accumulates per day, direction and asset; the day ends at Beijing midnight", () => {
    const halfIn = (at: number) => move(cashDesk, alice, 2_500_000n, at);
    // 23:59:59.999 and 00:00 Beijing time are two days: no alert.
    expect(runRules(CASH, [halfIn(T0 + DAY - 1), halfIn(T0 + DAY)])).to.have.length(0);
    // Same day: the sum reaches the threshold.
    expect(runRules(CASH, [halfIn(T0), halfIn(T0 + DAY - 1)])).to.have.length(1);
    // In and out do not add up.
    expect(runRules(CASH, [halfIn(T0), move(alice, cashDesk, 2_500_000n, T0 + 1)])).to.have.length(0);
    expect(reportingDay(T0 - 1, 480 * MIN)).to.equal("2026-03-01");
  });

  it("states every amount of its details in minor units with its asset, and the threshold in major units too", () => {
    const [cny] = runRules(CASH, [
      move(cashDesk, alice, 3_000_000n, T0),
      move(cashDesk, alice, 2_000_001n, T0 + 1),
    ]);
    expect(cny!.details).to.deep.equal({
      direction: "in",
      asset: "CNY",
      total: "5000001",
      currency: "CNY",
      totalConverted: "5000001",
      threshold: "5000000",
      thresholdMajor: "50000",
    });
    // $6 250.01 at 8.00 = ¥50 000.08: the total stays in cents, the conversion and threshold in fen.
    const [usd] = runRules(CASH, [move(cashUsd, aliceUsd, 625_001n, T0)]);
    expect(usd!.details).to.include({
      asset: "USD",
      total: "625001",
      currency: "CNY",
      totalConverted: "5000008",
      threshold: "5000000",
      thresholdMajor: "50000",
    });
  });

  it("converts USD through the rate table (8.00): $6 250.00 alerts, $6 249.99 does not", () => {
    expect(runRules(CASH, [move(cashUsd, aliceUsd, 625_000n, T0)])).to.have.length(1);
    expect(runRules(CASH, [move(cashUsd, aliceUsd, 624_999n, T0)])).to.have.length(0);
  });

  it("without a rate it reports that it cannot evaluate, once per day, never a guess", () => {
    const eur = profile("alice-eur", { asset: "EUR" });
    const cashEur = profile("cash-eur", { type: "settlement", channel: "cash", asset: "EUR" });
    const h = runRules(CASH, [move(cashEur, eur, 1n, T0), move(cashEur, eur, 10n ** 12n, T0 + 1)]);
    expect(h).to.have.length(1);
    expect(h[0]).to.include({ outcome: "cannot_evaluate", action: "alert" });
  });

  it("company transfers ≥ ¥2 000 000; individual domestic ≥ ¥500 000; cross-border ≥ ¥200 000", () => {
    const all = rulesWith([
      "pboc.lv.company",
      "pboc.lv.individual.domestic",
      "pboc.lv.individual.crossborder",
    ]);
    const one = (e: ReturnType<typeof move>) => ids(runRules(all, [e]));
    const bankOut = profile("bank-out", { type: "settlement" });
    expect(one(move(corp, bankOut, 200_000_000n, T0))).to.deep.equal(["pboc.lv.company"]);
    expect(one(move(corp, bankOut, 199_999_999n, T0))).to.deep.equal([]);
    expect(one(move(alice, bob, 50_000_000n, T0))).to.deep.equal([
      "pboc.lv.individual.domestic",
      "pboc.lv.individual.domestic",
    ]); // the payer (out) and the payee (in) are both customers
    expect(one(move(alice, bob, 49_999_999n, T0))).to.deep.equal([]);
    expect(one(move(alice, swift, 20_000_000n, T0))).to.deep.equal(["pboc.lv.individual.crossborder"]);
    expect(one(move(alice, swift, 19_999_999n, T0))).to.deep.equal([]);
    // A company sending abroad is a company transfer, not an individual one.
    expect(one(move(corp, swift, 20_000_000n, T0))).to.deep.equal([]);
  });

  it("alerts iff the day's total reaches the threshold, however it is split (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 3_000_000n }), { minLength: 1, maxLength: 12 }),
        (parts) => {
          const total = parts.reduce((a, b) => a + b, 0n);
          const hits = runRules(
            CASH,
            parts.map((p, i) => move(cashDesk, alice, p, T0 + i)),
          );
          expect(hits.length).to.equal(total >= 5_000_000n ? 1 : 0);
        },
      ),
    );
  });
});

describe("risk rules: structuring, velocity, pass-through, dormant", () => {
  const S = rulesWith(["structuring.cash"], { rates: { CNY: "1", USD: "8" } });
  it("structuring: 3 amounts in [¥45 000, ¥50 000) within 24 h", () => {
    const near = (at: number, amount = 4_500_000n) => move(cashDesk, alice, amount, at);
    expect(runRules(S, [near(T0), near(T0 + 1), near(T0 + 2)])).to.have.length(1);
    // ¥44 999.99 is below the band; ¥50 000 is the threshold itself (large value, not structuring).
    expect(runRules(S, [near(T0), near(T0 + 1), near(T0 + 2, 4_499_999n)])).to.have.length(0);
    expect(runRules(S, [near(T0), near(T0 + 1), near(T0 + 2, 5_000_000n)])).to.have.length(0);
    expect(runRules(S, [near(T0), near(T0 + 1), near(T0 + 2, 4_999_999n)])).to.have.length(1);
    // Window edge: the third exactly 24 h after the first is outside (T0, T0 + 24 h].
    expect(runRules(S, [near(T0), near(T0 + 1), near(T0 + DAY)])).to.have.length(0);
    expect(runRules(S, [near(T0), near(T0 + 1), near(T0 + DAY - 1)])).to.have.length(1);
    // In USD at 8: $5 625.00 = ¥45 000.
    const u = (at: number, amount: bigint) => move(cashUsd, aliceUsd, amount, at);
    expect(runRules(S, [u(T0, 562_500n), u(T0 + 1, 562_500n), u(T0 + 2, 562_500n)])).to.have.length(1);
    expect(runRules(S, [u(T0, 562_500n), u(T0 + 1, 562_500n), u(T0 + 2, 562_499n)])).to.have.length(0);
  });

  const V = rulesWith(["velocity.debits"]);
  it("velocity: 20 debits within an hour alert, 19 do not, the 20th at +60 min is outside", () => {
    const debits = (n: number, step: number) =>
      Array.from({ length: n }, (_, i) => move(alice, bob, 100n, T0 + i * step));
    expect(runRules(V, debits(20, 1000))).to.have.length(1);
    expect(runRules(V, debits(19, 1000))).to.have.length(0);
    const edge = [...debits(19, 1000), move(alice, bob, 100n, T0 + 60 * MIN)];
    expect(runRules(V, edge)).to.have.length(0);
    const inside = [...debits(19, 1000), move(alice, bob, 100n, T0 + 60 * MIN - 1)];
    expect(runRules(V, inside)).to.have.length(1);
  });

  const P = rulesWith(["pass-through"], { rates: { CNY: "1", USD: "8" } });
  it("pass-through: ≥ 90 % of a ≥ ¥10 000 credit leaves within 30 min", () => {
    const credit = move(bob, alice, 1_000_000n, T0);
    expect(runRules(P, [credit, move(alice, swift, 900_000n, T0 + 29 * MIN)])).to.have.length(1);
    expect(runRules(P, [credit, move(alice, swift, 899_999n, T0 + MIN)])).to.have.length(0);
    expect(runRules(P, [credit, move(alice, swift, 900_000n, T0 + 30 * MIN)])).to.have.length(0);
    expect(
      runRules(P, [move(bob, alice, 999_999n, T0), move(alice, swift, 999_999n, T0 + MIN)]),
    ).to.have.length(0);
    // $1 250.00 at 8 = ¥10 000.
    const usdIn = move(profile("bob-usd", { asset: "USD" }), aliceUsd, 125_000n, T0);
    const usdOut = move(aliceUsd, profile("x", { asset: "USD", type: "settlement" }), 125_000n, T0 + MIN);
    expect(runRules(P, [usdIn, usdOut])).to.have.length(1);
    expect(
      runRules(P, [
        { ...usdIn, amount: 124_999n },
        { ...usdOut, amount: 124_999n },
      ]),
    ).to.have.length(0);
  });

  it("pass-through: a small credit in the window neither matches nor hides a larger one after it", () => {
    const small = move(bob, alice, 500_000n, T0);
    const large = move(bob, alice, 1_000_000n, T0 + MIN);
    const out = move(alice, swift, 950_000n, T0 + 2 * MIN);
    const h = runRules(P, [small, large, out]);
    expect(h).to.have.length(1);
    expect(h[0]!.details).to.include({ creditAmount: "1000000", debitAmount: "950000" });
  });

  const D = rulesWith(["dormant.reactivated"]);
  it("dormant: a movement after ≥ 180 days of silence alerts", () => {
    const quiet = profile("quiet", { createdAt: T0 });
    expect(
      runRules(D, [move(quiet, bob, 1n, T0 + 180 * DAY)]).filter((h) => h.subject === "quiet"),
    ).to.have.length(1);
    expect(
      runRules(D, [move(quiet, bob, 1n, T0 + 180 * DAY - 1)]).filter((h) => h.subject === "quiet"),
    ).to.have.length(0);
    const h = runRules(D, [move(quiet, bob, 1n, T0 + DAY), move(quiet, bob, 1n, T0 + 181 * DAY)]);
    expect(h.filter((x) => x.subject === "quiet")).to.have.length(1);
    const k = runRules(D, [move(quiet, bob, 1n, T0 + DAY), move(quiet, bob, 1n, T0 + 180 * DAY)]);
    expect(k.filter((x) => x.subject === "quiet")).to.have.length(0);
  });
});

describe("risk rules: facts and anchoring lag", () => {
  const fact = (factKind: string, over: Partial<FactEvent> = {}): FactEvent => ({
    kind: "fact",
    sequence: 1,
    at: T0,
    factKind,
    factId: `f-${factKind}-${over.amount ?? ""}`,
    ...over,
  });
  const F = rulesWith(["segregation.refused", "bank.reconciliation-break", "solvency.reserve-shortfall"]);
  it("a refused segregation attempt alerts at critical severity", () => {
    const h = runRules(F, [fact("SEGREGATION_REFUSED", { subject: "alice" })]);
    expect(h).to.have.length(1);
    expect(h[0]).to.include({ severity: "critical", subject: "alice" });
  });
  it("a reconciliation with unresolved breaks alerts; a clean one does not", () => {
    expect(runRules(F, [fact("BANK_RECONCILIATION", { asset: "CNY", amount: 1n })])).to.have.length(1);
    expect(runRules(F, [fact("BANK_RECONCILIATION", { asset: "CNY", amount: 0n })])).to.have.length(0);
  });
  it("reserves below the last liabilities snapshot alert; equal or above do not; none yet cannot evaluate", () => {
    const liab = fact("LIABILITIES_SNAPSHOT", { asset: "CNY", amount: 1000n, factId: "l1" });
    const res = (amount: bigint) => fact("RESERVES_ATTESTED", { asset: "CNY", amount, factId: `r${amount}` });
    expect(runRules(F, [liab, res(999n)])).to.have.length(1);
    expect(runRules(F, [liab, res(1000n)])).to.have.length(0);
    expect(runRules(F, [liab, res(1001n)])).to.have.length(0);
    expect(runRules(F, [res(1n)])[0]).to.include({ outcome: "cannot_evaluate" });
    // Another asset's snapshot does not count.
    expect(runRules(F, [fact("LIABILITIES_SNAPSHOT", { asset: "USD", amount: 5n }), res(1n)])[0]).to.include({
      outcome: "cannot_evaluate",
    });
  });
  it("anchoring lag above 600 s alerts, at 600 s does not", () => {
    const ev = new RuleEvaluator(compileRuleFile(rulesWith(["anchor.lag"])));
    expect(ev.anchorLag(601, T0)).to.have.length(1);
    expect(ev.anchorLag(600, T0)).to.have.length(0);
  });
});
