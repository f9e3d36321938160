import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import { startAnvil } from "../../src/chain/anvil";
import { writeDeployment } from "../../src/chain/deployment";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { custodyAnchorAbi as anchorAbi } from "../../src/chain/generated/abi";
import { relayerMigrations } from "../../src/relayer/anchor-store";
import { silentLogger } from "../../src/logging";
import { createRelayer, type Relayer } from "../../src/relayer/relayer";
import { describeWithPg } from "../support/pg";
import { startDevChain, type DevChain } from "../../src/chain/dev";
import { spawnRelayer } from "./support/spawn";
import { appendEntries, TableSource, testEntriesMigration } from "./support/table-source";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined | false>, tries = 300): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`gave up waiting for ${what}: ${String(last ?? "condition never held")}`);
}

describe("relayer: chain unreachable for a while", function () {
  let dir: string;
  let db: Database;
  let relayer: Relayer | undefined;
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("anchors the backlog once the node is back", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-down-"));
    const statePath = path.join(dir, "chain.json");
    const chain = await startDevChain({ statePath });
    let node = chain.node;
    const port = Number(new URL(node.rpcUrl).port);
    try {
      const { deployment } = chain;
      const publicClient = chain.clients.publicClient;
      const relayerAccount = chain.accounts.relayer;
      db = openDatabase(path.join(dir, "ledger.db"));
      await migrate(db, [...relayerMigrations, testEntriesMigration]);
      relayer = createRelayer({
        db,
        source: new TableSource(db),
        publicClient,
        account: relayerAccount,
        deployment,
        policy: { batchSize: 5, maxDelayMs: 200 },
        registry: new Registry(),
        log: silentLogger,
        pollIntervalMs: 100,
      });
      relayer.start();
      await appendEntries(db, 8);
      await until("first anchor", async () => (await relayer!.anchors.latest())?.treeSize === 8);

      await node.stop();
      await appendEntries(db, 30);
      await until("the relayer noticed the outage", async () => relayer!.status().lastError);
      expect((await relayer.anchors.latest())!.treeSize).to.equal(8);

      node = await startAnvil({ statePath, port });
      await until("backlog anchored", async () => (await relayer!.anchors.latest())?.treeSize === 38);
      const count = await publicClient.readContract({
        address: deployment.custodyAnchor,
        abi: anchorAbi,
        functionName: "headCount",
      });
      expect(Number(count)).to.equal(2);
      // The lag is measured at the end of each step, after the records are updated.
      await until("no lag", async () => relayer!.status().lagEntries === 0);
    } finally {
      await relayer?.stop();
      if (db) await closeDatabase(db);
      await node.stop();
    }
  });
});

describeWithPg("relayer: two instances on one PostgreSQL ledger", (ctx) => {
  let chain: DevChain;
  let dir: string;
  let db: Database;
  let standby: Relayer | undefined;
  before(async () => {
    chain = await startDevChain();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-pg-"));
  });
  after(async () => {
    await standby?.stop();
    if (db) await closeDatabase(db);
    await chain?.node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("only the leader anchors; when it dies the standby takes over", async () => {
    db = openDatabase(ctx.url);
    await migrate(db, [...relayerMigrations, testEntriesMigration]);
    const deploymentFile = path.join(dir, "deployment.json");
    writeDeployment(deploymentFile, chain.deployment);
    const pc = chain.clients.publicClient;
    const headCount = async () =>
      Number(
        await pc.readContract({
          address: chain.deployment.custodyAnchor,
          abi: anchorAbi,
          functionName: "headCount",
        }),
      );

    await appendEntries(db, 10);
    const leader = spawnRelayer({
      RELAYER_DB: ctx.url,
      RELAYER_RPC: chain.node.rpcUrl,
      RELAYER_DEPLOYMENT: deploymentFile,
      RELAYER_MODE: "loop",
      RELAYER_BATCH: "5",
    });
    try {
      await until("the first instance anchors", async () => (await headCount()) >= 1);
      standby = createRelayer({
        db,
        source: new TableSource(db),
        publicClient: pc,
        account: chain.accounts.relayer,
        deployment: chain.deployment,
        policy: { batchSize: 5, maxDelayMs: 200 },
        registry: new Registry(),
        log: silentLogger,
      });
      const sendsBefore = await pc.getTransactionCount({ address: chain.accounts.relayer.address });
      for (let i = 0; i < 5; i++) {
        await appendEntries(db, 5);
        const r = await standby.runOnce();
        expect(r.leader).to.equal(false);
        expect(r.anchored).to.equal(undefined);
        await sleep(300);
      }
      // The leader (child process) anchored everything, the standby sent nothing of its own.
      await until("the leader catches up", async () => {
        const n = await headCount();
        const last = await pc.readContract({
          address: chain.deployment.custodyAnchor,
          abi: anchorAbi,
          functionName: "getHead",
          args: [BigInt(n - 1)],
        });
        return Number(last.treeSize) === 35;
      });
      expect(standby.status().leader).to.equal(false);
      expect(await pc.getTransactionCount({ address: chain.accounts.relayer.address })).to.be.greaterThan(
        sendsBefore,
      );
    } finally {
      leader.child.kill("SIGKILL");
      await leader.exited;
    }
    const headsAfterLeader = await headCount();
    await appendEntries(db, 6);
    const r = await until("the standby takes over", async () => {
      const x = await standby!.runOnce();
      return x.leader && x;
    });
    expect(r.leader).to.equal(true);
    const after = r.anchored ?? (await standby.runOnce()).anchored;
    expect(after?.treeSize).to.equal(41);
    expect(await headCount()).to.equal(headsAfterLeader + 1);
    expect((await standby.anchors.list({ limit: 1000 })).length).to.equal(headsAfterLeader + 1);
  });
});
