import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Deployment, writeDeployment } from "../../src/chain/deployment";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { custodyAnchorAbi as anchorAbi } from "../../src/chain/generated/abi";
import { openAnchorStore, relayerMigrations } from "../../src/relayer/anchor-store";
import { startDevChain, type DevChain } from "../../src/chain/dev";
import { spawnRelayer } from "./support/spawn";
import { appendEntries, testEntriesMigration } from "./support/table-source";

/**
 * Kill a real relayer process at each step of an anchor (and at a random moment) and restart it:
 * no anchor is lost or duplicated, the records equal the chain, and every entry ends anchored.
 * Blocks are mined once a second, so a transaction sent before a crash is still pending after it.
 */
describe("relayer: crash and restart (child processes, anvil with 1 s blocks)", function () {
  let chain: DevChain;
  let dir: string;
  let db: Database;
  let deployment: Deployment;
  let deploymentFile: string;

  before(async () => {
    chain = await startDevChain();
  });
  after(async () => {
    await chain?.node.stop();
  });
  beforeEach(async () => {
    const pc = chain.clients.publicClient;
    await pc.request({ method: "evm_setAutomine" as never, params: [true] as never });
    deployment = await chain.deploy();
    await pc.request({ method: "evm_setIntervalMining" as never, params: [1] as never });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-crash-"));
    deploymentFile = path.join(dir, "deployment.json");
    writeDeployment(deploymentFile, deployment);
    db = openDatabase(path.join(dir, "ledger.db"));
    await migrate(db, [...relayerMigrations, testEntriesMigration]);
  });
  afterEach(async () => {
    await closeDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    RELAYER_DB: path.join(dir, "ledger.db"),
    RELAYER_RPC: chain.node.rpcUrl,
    RELAYER_DEPLOYMENT: deploymentFile,
    ...extra,
  });

  /** The database mirrors the chain exactly and the last head covers all `total` entries. */
  async function expectConsistent(total: number) {
    const pc = chain.clients.publicClient;
    const count = Number(
      await pc.readContract({ address: deployment.custodyAnchor, abi: anchorAbi, functionName: "headCount" }),
    );
    const records = (await openAnchorStore(db).list({ limit: 1000 })).reverse();
    expect(records.map((r) => r.headIndex)).to.deep.equal([...Array(count).keys()]);
    let prev = 0;
    for (const r of records) {
      const head = await pc.readContract({
        address: deployment.custodyAnchor,
        abi: anchorAbi,
        functionName: "getHead",
        args: [BigInt(r.headIndex)],
      });
      expect(r.treeSize).to.equal(Number(head.treeSize));
      expect(r.rootHash).to.equal(head.rootHash);
      expect(r.treeSize).to.be.greaterThan(prev);
      prev = r.treeSize;
      const receipt = await pc.getTransactionReceipt({ hash: r.txHash });
      expect(receipt.status).to.equal("success");
    }
    expect(prev).to.equal(total);
    const pending =
      db.kind === "sqlite" ? db.sqlite.prepare("SELECT COUNT(*) AS n FROM relayer_pending_txs").get() : 0;
    expect(pending).to.deep.equal({ n: 0 });
    return records;
  }

  for (const step of ["anchor:beforeSend", "anchor:afterSend", "anchor:afterReceipt"]) {
    it(`killed at ${step}: the restarted relayer neither loses nor duplicates the anchor`, async () => {
      await appendEntries(db, 15);
      const crashed = spawnRelayer(env({ RELAYER_FAULT: step }));
      expect(await crashed.exited, crashed.output()).to.equal(86);
      await appendEntries(db, 12);
      const restarted = spawnRelayer(env());
      expect(await restarted.exited, restarted.output()).to.equal(0);
      const records = await expectConsistent(27);
      // The head signed before the crash is the one that landed (sent again or waited for), never a second one.
      expect(records[0]!.treeSize).to.equal(15);
      expect(records.length).to.equal(2);
    });
  }

  it("SIGKILL at a random moment during a backlog: all entries end anchored, records match the chain", async () => {
    await appendEntries(db, 60);
    const p = spawnRelayer(env({ RELAYER_MODE: "loop", RELAYER_BATCH: "5", RELAYER_MAX_BATCH: "10" }));
    await new Promise((r) => setTimeout(r, 1500 + Math.floor(Math.random() * 2500)));
    p.child.kill("SIGKILL");
    await p.exited;
    await appendEntries(db, 7);
    const restarted = spawnRelayer(env({ RELAYER_BATCH: "5", RELAYER_MAX_BATCH: "10" }));
    expect(await restarted.exited, restarted.output()).to.equal(0);
    await expectConsistent(67);
  });
});
