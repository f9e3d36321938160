import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import { bytesToHex } from "viem";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { custodyAnchorAbi as anchorAbi } from "../../src/chain/generated/abi";
import { relayerMigrations } from "../../src/relayer/anchor-store";
import { silentLogger } from "../../src/logging";
import { createRelayer, type Relayer } from "../../src/relayer/relayer";
import { startDevChain, type DevChain } from "../../src/chain/dev";
import { appendEntries, tamperEntry, TableSource, testEntriesMigration } from "./support/table-source";

describe("relayer: anchoring on a real chain (anvil)", function () {
  let chain: DevChain;
  let dir: string;
  let db: Database;
  let source: TableSource;
  let relayer: Relayer;
  let registry: Registry;

  before(async () => {
    chain = await startDevChain();
  });
  after(async () => {
    await chain?.node.stop();
  });
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-test-"));
    db = openDatabase(path.join(dir, "ledger.db"));
    await migrate(db, [...relayerMigrations, testEntriesMigration]);
    source = new TableSource(db);
    registry = new Registry();
  });
  afterEach(async () => {
    await relayer?.stop();
    if (db) await closeDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // A fresh contract per test: the anchor history of one test must not leak into the next.
  const redeploy = () => chain.deploy();

  function make(deployment = chain.deployment, policy = { batchSize: 10, maxDelayMs: 60_000 }) {
    registry = new Registry();
    relayer = createRelayer({
      db,
      source,
      publicClient: chain.clients.publicClient,
      account: chain.accounts.relayer,
      deployment,
      policy,
      registry,
      log: silentLogger,
    });
    return relayer;
  }

  it("anchors entries in batches and every entry's inclusion verifies through the contract", async () => {
    const deployment = await redeploy();
    const r = make(deployment);
    await appendEntries(db, 25);
    const first = await r.runOnce();
    expect(first.anchored?.treeSize).to.equal(25);
    expect(first.anchored?.headIndex).to.equal(0);
    await appendEntries(db, 5); // below the batch size and not old enough: no anchor yet
    expect((await r.runOnce()).anchored).to.equal(undefined);
    await appendEntries(db, 7);
    const second = await r.runOnce();
    expect(second.anchored).to.include({ headIndex: 1, treeSize: 37, final: true });

    const pc = chain.clients.publicClient;
    for (let i = 0; i < 37; i++) {
      const a = (await r.anchors.covering(i))!;
      expect(a.headIndex).to.equal(i < 25 ? 0 : 1);
      const ok = await pc.readContract({
        address: deployment.custodyAnchor,
        abi: anchorAbi,
        functionName: "verifyInclusion",
        args: [
          BigInt(a.headIndex),
          BigInt(i),
          bytesToHex(source.tree.leafHash(i)),
          source.tree.inclusionProof(i, a.treeSize).map((h) => bytesToHex(h)),
        ],
      });
      expect(ok, `entry ${i}`).to.equal(true);
    }
    const rec = (await r.anchors.byHeadIndex(1))!;
    const receipt = await pc.getTransactionReceipt({ hash: rec.txHash });
    expect(Number(receipt.blockNumber)).to.equal(rec.blockNumber);
    expect(r.status()).to.include({ leader: true, lagEntries: 0 });
    const metrics = await registry.metrics();
    expect(metrics).to.match(/custody_relayer_last_anchored_tree_size 37/);
    expect(metrics).to.match(/custody_relayer_gas_used_total\{kind="anchor"\} [1-9]/);
  });

  it("anchors a small backlog once the oldest entry is older than the maximum delay", async () => {
    const deployment = await redeploy();
    const r = make(deployment, { batchSize: 1000, maxDelayMs: 1000 });
    await appendEntries(db, 3, Date.now() - 5000);
    expect((await r.runOnce()).anchored?.treeSize).to.equal(3);
  });

  it("refuses to anchor after an anchored entry is altered, naming the first bad size", async () => {
    const deployment = await redeploy();
    const r = make(deployment);
    await appendEntries(db, 20);
    await r.runOnce();
    await appendEntries(db, 20);
    await r.runOnce();
    await tamperEntry(db, 26);
    await appendEntries(db, 20);
    // A restarted relayer audits the ledger against every anchored head.
    await r.stop();
    const again = make(deployment);
    const res = await again.runOnce();
    expect(res.anchored).to.equal(undefined);
    expect(res.alarm).to.include({ kind: "log-mismatch", firstBadSize: 27 });
    expect(again.status().alarm?.firstBadSize).to.equal(27);
    expect((await again.anchors.latest())!.treeSize).to.equal(40);
    expect(await registry.metrics()).to.match(/custody_relayer_alarm\{kind="log-mismatch"\} 1/);
    // Still refusing on the next step: nothing is anchored over the mismatch.
    expect((await again.runOnce()).anchored).to.equal(undefined);
  });

  it("replaces a stuck anchor transaction with higher fees (same nonce); only one is mined", async () => {
    const deployment = await redeploy();
    relayer = createRelayer({
      db,
      source,
      publicClient: chain.clients.publicClient,
      account: chain.accounts.relayer,
      deployment,
      policy: { batchSize: 5, maxDelayMs: 60_000 },
      registry: new Registry(),
      log: silentLogger,
      stuckAfterMs: 300,
    });
    const pc = chain.clients.publicClient;
    await appendEntries(db, 5);
    await pc.request({ method: "evm_setAutomine" as never, params: [false] as never });
    try {
      const step = relayer.runOnce();
      // Wait until a replacement has been recorded next to the original.
      for (let i = 0; i < 100; i++) {
        const n = (db.kind === "sqlite" &&
          db.sqlite.prepare("SELECT COUNT(*) AS n FROM relayer_pending_txs").get()) as { n: number };
        if (n.n >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const rows = (db.kind === "sqlite" &&
        db.sqlite
          .prepare("SELECT tx_hash, nonce, request FROM relayer_pending_txs ORDER BY sent_at")
          .all()) as {
        tx_hash: string;
        nonce: number;
        request: string;
      }[];
      expect(rows.length).to.be.greaterThanOrEqual(2);
      expect(new Set(rows.map((r) => r.nonce)).size).to.equal(1);
      const fees = rows.map((r) => BigInt(JSON.parse(r.request).maxPriorityFeePerGas));
      expect(fees[1]! > fees[0]!).to.equal(true);
      await pc.request({ method: "evm_mine" as never, params: [] as never });
      const res = await step;
      expect(res.anchored?.treeSize).to.equal(5);
      expect(rows.map((r) => r.tx_hash)).to.include(res.anchored!.txHash);
      expect(
        db.kind === "sqlite" && db.sqlite.prepare("SELECT COUNT(*) AS n FROM relayer_pending_txs").get(),
      ).to.deep.equal({ n: 0 });
    } finally {
      await pc.request({ method: "evm_setAutomine" as never, params: [true] as never });
    }
  });

  it("re-anchors when the anchor's block is reorganised away", async () => {
    const deployment = await redeploy();
    const r = make(deployment);
    await appendEntries(db, 10);
    const pc = chain.clients.publicClient;
    const snap = await pc.request({ method: "evm_snapshot" as never, params: [] as never });
    const before = (await r.runOnce()).anchored!;
    expect(before.headIndex).to.equal(0);
    await pc.request({ method: "evm_revert" as never, params: [snap] as never });
    await pc.request({ method: "evm_mine" as never, params: [] as never });
    const res = await r.runOnce();
    expect(res.anchored?.headIndex).to.equal(0);
    expect(res.anchored?.txHash).to.not.equal(undefined);
    const rec = (await r.anchors.byHeadIndex(0))!;
    const receipt = await pc.getTransactionReceipt({ hash: rec.txHash });
    expect(receipt.status).to.equal("success");
    expect((await r.anchors.list()).length).to.equal(1);
  });
});
