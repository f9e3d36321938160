import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import type { Address } from "viem";
import { startDevChain, type DevChain } from "../../src/chain/dev";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { silentLogger } from "../../src/logging";
import { relayerMigrations } from "../../src/relayer/anchor-store";
import { ChainCheckedAnchors } from "../../src/relayer/checked-anchors";
import { createRelayer, type Relayer } from "../../src/relayer/relayer";
import { appendEntries, TableSource, testEntriesMigration } from "./support/table-source";

describe("relayer: the mirror as the proof service reads it, checked against a real chain (anvil)", function () {
  let chain: DevChain;
  let dir: string;
  let db: Database;
  let relayer: Relayer;

  before(async () => {
    chain = await startDevChain();
  });
  after(async () => {
    await chain?.node.stop();
  });
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "checked-anchors-test-"));
    db = openDatabase(path.join(dir, "ledger.db"));
    await migrate(db, [...relayerMigrations, testEntriesMigration]);
  });
  afterEach(async () => {
    await relayer?.stop();
    if (db) await closeDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const make = (deployment: DevChain["deployment"]) =>
    createRelayer({
      db,
      source: new TableSource(db),
      publicClient: chain.clients.publicClient,
      account: chain.accounts.relayer,
      deployment,
      policy: { batchSize: 10, maxDelayMs: 60_000 },
      registry: new Registry(),
      log: silentLogger,
    });

  const checkedOf = (
    mirror: ConstructorParameters<typeof ChainCheckedAnchors>[0],
    deployment: DevChain["deployment"],
    onError?: (e: unknown) => void,
  ) =>
    new ChainCheckedAnchors(mirror, {
      publicClient: chain.clients.publicClient,
      contract: deployment.custodyAnchor as Address,
      chainId: deployment.chainId,
      onError,
    });

  it("serves no head the chain lost until the relayer has anchored it again", async () => {
    const deployment = await chain.deploy();
    relayer = make(deployment);
    const pc = chain.clients.publicClient;
    await appendEntries(db, 10);
    expect((await relayer.runOnce()).anchored?.headIndex).to.equal(0);
    const snap = await pc.request({ method: "evm_snapshot" as never, params: [] as never });
    await appendEntries(db, 10);
    const lost = (await relayer.runOnce()).anchored!;
    expect(lost).to.include({ headIndex: 1, treeSize: 20 });
    expect((await checkedOf(relayer.anchors, deployment).covering(15))?.txHash).to.equal(lost.txHash);

    // The chain loses head 1 (as a local node restarted from an older state dump does); the
    // relayer has not reconciled yet, so its mirror still names it.
    await pc.request({ method: "evm_revert" as never, params: [snap] as never });
    await pc.request({ method: "evm_mine" as never, params: [] as never });
    expect((await relayer.anchors.covering(15))?.txHash).to.equal(lost.txHash);

    const errors: unknown[] = [];
    const fresh = checkedOf(relayer.anchors, deployment, (e) => errors.push(e));
    expect(await fresh.covering(15)).to.equal(undefined);
    expect(await fresh.byHeadIndex(1)).to.equal(undefined);
    expect((await fresh.covering(5))?.headIndex).to.equal(0);
    expect((await fresh.latest())?.headIndex).to.equal(0);
    expect((await fresh.list()).map((a) => a.headIndex)).to.deep.equal([0]);
    expect(errors.length).to.be.greaterThan(0); // head 1 reverts on the contract: logged, not served

    // The relayer reconciles and anchors the entries again: the new head 1 is served.
    const again = (await relayer.runOnce()).anchored!;
    expect(again).to.include({ headIndex: 1, treeSize: 20 });
    expect(again.txHash).to.not.equal(lost.txHash);
    expect((await fresh.covering(15))?.txHash).to.equal(again.txHash);
    expect((await fresh.latest())?.txHash).to.equal(again.txHash);
    expect((await fresh.list()).map((a) => a.headIndex)).to.deep.equal([1, 0]);
  });

  it("does not serve a mirrored head that another transaction holds on chain", async () => {
    const deployment = await chain.deploy();
    relayer = make(deployment);
    await appendEntries(db, 10);
    const head = (await relayer.runOnce()).anchored!;
    const forged = {
      latest: async () => ({ ...head, txHash: `0x${"ab".repeat(32)}` as const }),
      list: async () => [{ ...head, txHash: `0x${"ab".repeat(32)}` as const }],
      covering: async () => ({ ...head, rootHash: `0x${"cd".repeat(32)}` as const }),
      byHeadIndex: async () => ({ ...head, treeSize: 11 }),
    };
    const c = checkedOf(forged, deployment);
    expect(await c.latest()).to.equal(undefined);
    expect(await c.list()).to.deep.equal([]);
    expect(await c.covering(3)).to.equal(undefined);
    expect(await c.byHeadIndex(0)).to.equal(undefined);
    const real = checkedOf(relayer.anchors, deployment);
    expect(await real.byHeadIndex(0)).to.deep.equal(head);
  });
});
