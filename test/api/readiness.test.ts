import { expect } from "chai";
import { Registry } from "prom-client";
import { createApiApp, startApiServer } from "../../src/api/app";
import { openApiKeyStore } from "../../src/api/auth/keys";
import { devAccount } from "../../src/chain/anvil";
import { createChainClients } from "../../src/chain/clients";
import { DEV_ROLES } from "../../src/chain/dev";
import { RoleMissingError } from "../../src/chain/actions/read-missing-roles";
import { custodyAnchorAbi as anchorAbi } from "../../src/chain/generated/abi";
import { silentLogger } from "../../src/logging";
import { createRelayer } from "../../src/relayer/relayer";
import { logAnchorSource } from "../../src/relayer/source";
import { seedLedger, startApiStack, type ApiStack } from "./support/stack";
import { logReaderOf } from "../../src/log/reader";

async function lagGauge(registry: Registry): Promise<number> {
  const m = (await registry.getSingleMetric("custody_relayer_lag_entries")!.get()).values[0];
  return m?.value ?? -1;
}

async function deposit(s: ApiStack, id: string): Promise<void> {
  const r = await s.call("POST", "/v1/transfers", {
    key: s.keys.platform,
    body: { id, debitAccountId: "bank", creditAccountId: "carol", amount: "1", kind: "deposit" },
  });
  expect(r.status).to.equal(201);
}

describe("api: readiness tells the truth", function () {
  let s: ApiStack;
  before(async () => {
    s = await startApiStack();
    await seedLedger(s);
  });
  after(async () => s?.stop());

  it("ready once everything is anchored", async () => {
    await s.anchor();
    const r = await s.call("GET", "/v1/ready");
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.checks.relayer).to.include({ ok: true, lagEntries: 0 });
  });

  it("contract paused: 503 with the decoded revert, and the lag keeps growing", async () => {
    const admin = createChainClients({
      rpcUrl: s.chain.node.rpcUrl,
      chainId: s.chain.deployment.chainId,
      account: devAccount(DEV_ROLES.admin),
    });
    const pause = async (fn: "pause" | "unpause") => {
      const hash = await admin.walletClient!.writeContract({
        address: s.chain.deployment.custodyAnchor,
        abi: anchorAbi,
        functionName: fn,
      });
      await s.chain.publicClient.waitForTransactionReceipt({ hash });
    };
    await pause("pause");
    try {
      await deposit(s, "paused-1");
      const lags: number[] = [];
      for (let i = 0; i < 3; i++) {
        await deposit(s, `paused-more-${i}`);
        const err = await s.relayer.runOnce().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, "every step fails while paused").to.be.instanceOf(Error);
        lags.push(await lagGauge(s.relayer.registry));
      }
      // Two entries after the last anchor, then one more per step: measured, not remembered.
      expect(lags).to.deep.equal([2, 3, 4]);
      const r = await s.call("GET", "/v1/ready");
      expect(r.status).to.equal(503);
      expect(r.body.ready).to.equal(false);
      const relayer = r.body.checks.relayer;
      expect(relayer.ok).to.equal(false);
      expect(relayer.lagEntries).to.equal(4);
      expect(relayer.failuresInARow).to.equal(3);
      expect(relayer.lastError).to.match(/^EnforcedPause\(\)/);
      expect(relayer.message).to.contain("EnforcedPause()");
      const metrics = await s.call("GET", "/metrics");
      expect(String(metrics.body)).to.not.contain("custody_relayer_lag_entries 0\n");
    } finally {
      await pause("unpause");
    }
    await s.anchor();
    const r = await s.call("GET", "/v1/ready");
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.checks.relayer.lagEntries).to.equal(0);
  });

  it("a standby whose key lacks ANCHORER_ROLE is not ready, and says which role is missing", async () => {
    const stranger = devAccount(9);
    const standby = createRelayer({
      db: s.db,
      source: logAnchorSource({ ledger: s.ledger, integrator: s.integrator }),
      publicClient: s.chain.publicClient,
      account: stranger,
      deployment: s.chain.deployment,
      registry: new Registry(),
      log: silentLogger,
    });
    const err = await standby.runOnce().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RoleMissingError);
    expect(standby.status().leader).to.equal(false);
    expect(standby.status().missingRoles).to.deep.equal([
      `ANCHORER_ROLE on CustodyAnchor ${s.chain.deployment.custodyAnchor}`,
    ]);
    const app = createApiApp({
      ledger: s.ledger,
      log: logReaderOf(s.logStore),
      anchors: standby.anchors,
      relayerStatus: standby,
      chain: { publicClient: s.chain.publicClient, deployment: s.chain.deployment },
      auth: openApiKeyStore(s.db),
      logger: silentLogger,
    });
    const server = await startApiServer(app);
    try {
      const res = await fetch(`${server.url}/v1/ready`);
      const body = (await res.json()) as any;
      expect(res.status).to.equal(503);
      expect(body.checks.relayer.message).to.contain(`lacks ANCHORER_ROLE on CustodyAnchor`);
      expect(body.checks.relayer.message).to.contain(stranger.address);
    } finally {
      await server.close();
      await standby.stop();
    }
    // The leader with the right key is unaffected.
    await s.anchor();
    expect((await s.call("GET", "/v1/ready")).status).to.equal(200);
  });
});
