import { createLogger, silentLogger } from "../../src/logging";
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { zeroHash } from "viem";
import { attestReserves } from "../../src/chain/actions/attest-reserves";
import { readSolvencyDay } from "../../src/chain/actions/read-solvency-day";
import { devAccount } from "../../src/chain/anvil";
import { createChainClients } from "../../src/chain/clients";
import type { SigningClients } from "../../src/chain/dev";
import { dayNumberOf } from "../../src/protocol/balance-proof-v1";
import { addDays } from "../../src/bank/statement";
import { resolveConfig } from "../../src/stack/config";
import { dayOf } from "../../src/stack/clock";
import { DEV_ROLES, startStack, type RunningStack } from "../../src/stack/stack";
import { snapshotIdOf } from "../../src/solvency";

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, tries = 480): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * One simulated business day through the whole stack (real anvil, SQLite file, HTTP): the
 * simulated bank's statement with its lost deposit, the reconciliation report and its break, the
 * break explained by an operator, the snapshot committed on chain, the custodian's attestation as a
 * fact, a large-value alert from the engine, and a reserve shortfall turning /v1/ready to 503.
 */
describe("stack: the daily cycle (bank, solvency, risk)", function () {
  this.timeout(240_000);
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), "custody-cycle-"));
  let s: RunningStack;

  before(async () => {
    const config = resolveConfig(
      {
        dataDir: path.join(parent, "data"),
        apiPort: 0,
        chainPort: 0,
        blockTime: 0,
        anchorIntervalMs: 200,
        rateLimit: 0,
        daySeconds: 20,
        cycleIntervalMs: 300,
        simulatedBank: true,
        snapshotMinHeight: 2,
      },
      {},
    );
    // DEBUG_STACK=1 prints the stack's log (JSON lines on stderr).
    const logger = process.env.DEBUG_STACK ? createLogger({ destination: 2 }) : silentLogger;
    s = await startStack(config, { logger });
  });
  after(async () => {
    await s?.stop();
    fs.rmSync(parent, { recursive: true, force: true });
  });

  async function api(method: string, p: string, key: string, body?: unknown) {
    const res = await fetch(`${s.apiUrl}/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  it("runs a business day end to end", async () => {
    const L = s.ledger;
    await L.openAccount({ id: "bank-eur", type: "bank_mirror", asset: "EUR", scale: 2 });
    await L.openAccount({ id: "platform-eur", type: "platform_own", asset: "EUR", scale: 2 });
    for (const c of ["alice", "bob", "carol"])
      await L.openAccount({ id: c, type: "customer", asset: "EUR", scale: 2 });
    // One batch, one commit: every deposit lands on the same business day.
    const dep = (id: string, to: string, amount: bigint) => ({
      id,
      debitAccountId: "bank-eur",
      creditAccountId: to,
      amount,
      kind: "deposit" as const,
    });
    const [first] = await L.transferBatch([
      dep("own", "platform-eur", 100_000_000n),
      dep("dep-alice", "alice", 500_000n),
      dep("dep-bob", "bob", 10_000n), // the smallest credit: the one the simulated bank loses
      dep("dep-carol", "carol", 8_000_000n), // 80 000 EUR ≈ 624 000 CNY: a large-value transaction
    ]);
    const day = dayOf(first.createdAt);

    // Reconciliation: a report fact, and the lost deposit as a ledger_only break.
    await waitFor("the reconciliation", async () => {
      const r = await api("GET", `/reconciliation/${day}`, s.apiKeys.auditor);
      return r.status === 200 ? r.body : undefined;
    });
    const stored = (await s.bank.getReconciliations(day))[0];
    const fact = await L.getFact(`bank-reconciliation:${stored.reportHash.slice(2)}`);
    expect(fact.kind).to.equal("BANK_RECONCILIATION");
    const breaks = (await api("GET", "/reconciliation/breaks", s.apiKeys.auditor)).body.breaks as any[];
    const lost = breaks.find((b) => b.class === "ledger_only" && b.day === day);
    expect(lost, JSON.stringify(breaks)).to.not.equal(undefined);
    expect(lost.detail.ledger.transferId).to.equal("dep-bob");
    let ready = await api("GET", "/ready", s.apiKeys.auditor);
    expect(ready.status).to.equal(503);
    expect(ready.body.checks.bank.ok).to.equal(false);

    // A person explains it; the break is resolved, and the bank check clears.
    const resolved = await api(
      "POST",
      `/reconciliation/breaks/${encodeURIComponent(lost.id)}/resolve`,
      s.apiKeys.operator,
      {
        explanation: "the bank confirmed the deposit arrived on a suspense account; correction requested",
      },
    );
    expect(resolved.status, JSON.stringify(resolved.body)).to.equal(200);
    expect(resolved.body.status).to.equal("resolved");

    // Solvency: the snapshot committed on chain, the custodian's attestation as a fact.
    const solvency = s.deployment.custodySolvency!;
    const { publicClient } = createChainClients({ rpcUrl: s.rpcUrl, chainId: s.chainId });
    const onChain = await waitFor("the snapshot commitment and the attestation", async () => {
      const d = await readSolvencyDay(publicClient, {
        address: solvency,
        asset: "EUR",
        dayNumber: dayNumberOf(day),
      });
      return d.commitment && d.reserves ? d : undefined;
    });
    const snap = await s.snapshots!.get(snapshotIdOf("EUR", day));
    expect(onChain.commitment!.rootSum).to.equal(snap.rootSum);
    expect(snap.rootSum).to.equal(8_510_000n);
    expect(onChain.reserves!.amount).to.equal(100_000_000n + 500_000n + 8_000_000n); // without bob's deposit
    expect(onChain.reserves!.statementHash).to.equal(stored.report.statements[0].documentHash.toLowerCase());
    const attested = await waitFor("the attestation fact", () =>
      L.getFact(`reserves:EUR:${day}`).catch(() => undefined),
    );
    expect(attested.kind).to.equal("RESERVES_ATTESTED");
    expect(attested.amount).to.equal(108_500_000n);

    // Risk: the engine raised the large-value alert; an operator takes it into review.
    const alert = await waitFor("the large-value alert", async () => {
      const r = await api("GET", "/alerts?rule=pboc.lv.individual.domestic", s.apiKeys.operator);
      return (r.body.alerts as any[] | undefined)?.find((a) => a.ruleId === "pboc.lv.individual.domestic");
    });
    expect(alert.state).to.equal("open");
    const review = await api("POST", `/alerts/${alert.id}/transition`, s.apiKeys.operator, {
      to: "under_review",
    });
    expect(review.status, JSON.stringify(review.body)).to.equal(200);
    expect(review.body.state).to.equal("under_review");
    ready = await api("GET", "/ready", s.apiKeys.auditor);
    expect(ready.body.checks.bank.ok).to.equal(true);
    expect(ready.body.checks.risk.ok).to.equal(true);

    // A shortfall: the bank attests the next day below the liabilities before the platform commits.
    const next = addDays(day, 1);
    expect(dayOf(s.clock.now()) <= next, "the next day has not ended yet").to.equal(true);
    const custodian = createChainClients({
      rpcUrl: s.rpcUrl,
      chainId: s.chainId,
      account: devAccount(DEV_ROLES.custodian),
    }) as SigningClients;
    await attestReserves(custodian, {
      address: solvency,
      asset: "EUR",
      dayNumber: dayNumberOf(next),
      reserves: 1n,
      statementHash: zeroHash,
    });
    ready = await waitFor("readiness to fail on the shortfall", async () => {
      const r = await api("GET", "/ready", s.apiKeys.auditor);
      return r.body.checks.solvency?.ok === false ? r : undefined;
    });
    expect(ready.status).to.equal(503);
    expect(ready.body.checks.solvency.shortfalls[0]).to.include({ asset: "EUR", day: next, reserves: "1" });
    const metrics = await (await fetch(`${s.apiUrl}/metrics`)).text();
    expect(metrics).to.match(new RegExp(`custody_reserves_shortfall\\{asset="EUR",day="${next}"\\} 1`));
    expect(metrics).to.match(/custody_risk_lag_events \d+/);
    expect(Number(/\ncustody_ledger_write_groups_total (\d+)\n/.exec(metrics)?.[1])).to.be.greaterThan(0);
    // Later passes of the cycle stored no second report of the day.
    expect((await s.bank.getReconciliations(day))[0].run).to.equal(1);
  });
});
