import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { toHex } from "viem";
import { startAnvil, devAccount, type AnvilNode } from "../../src/chain/anvil";
import { createChainClients } from "../../src/chain/clients";
import { DEV_ROLES } from "../../src/chain/dev";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { relayerMigrations } from "../../src/relayer/migrations";
import { TxSender } from "../../src/relayer/tx-sender";
import { silentLogger } from "../../src/logging";

/**
 * A local node killed between two state dumps comes back without its last blocks: the relayer's
 * transactions mined there are gone (their pending rows were dropped on their receipts), and the
 * chain's nonce for the relayer falls behind the one of the transaction it still waits for. That
 * transaction used to wait forever and the relayer anchored nothing again (found by `npm run soak`,
 * fault kill-chain). Simulated here by setting the account's nonce back.
 */
describe("relayer: a nonce the chain lost", function () {
  let node: AnvilNode;
  let db: Database;
  let dir: string;
  before(async () => {
    node = await startAnvil();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nonce-gap-"));
    db = openDatabase(path.join(dir, "ledger.db"));
    await migrate(db, relayerMigrations);
  });
  after(async () => {
    await closeDatabase(db);
    await node?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("is filled, so the transaction waiting behind the gap is mined", async () => {
    const account = devAccount(DEV_ROLES.relayer);
    const { publicClient: pc } = createChainClients({ rpcUrl: node.rpcUrl, chainId: node.chainId });
    const sender = new TxSender({
      db,
      publicClient: pc,
      account,
      chainId: node.chainId,
      log: silentLogger,
      pollMs: 100,
      stuckAfterMs: 2000,
      maxWaitMs: 30_000,
    });
    const to = devAccount(DEV_ROLES.auditor).address;
    for (let i = 0; i < 2; i++) await sender.waitMined(await sender.send("test", { to, data: "0x" }));
    const before = await pc.getTransactionCount({ address: account.address });
    expect(before).to.equal(2);

    // The next one is sent while blocks are not mined, then the chain "loses" the two mined ones.
    await pc.request({ method: "evm_setAutomine" as never, params: [false] as never });
    const waiting = await sender.send("test", { to, data: "0x" });
    expect(waiting.nonce).to.equal(2);
    await pc.request({ method: "anvil_setNonce" as never, params: [account.address, toHex(0)] as never });
    await pc.request({ method: "evm_setIntervalMining" as never, params: [1] as never });

    const mined = await sender.waitMined(waiting);
    expect(mined.receipt.status).to.equal("success");
    expect(mined.pending.nonce).to.equal(2);
    expect(await pc.getTransactionCount({ address: account.address })).to.equal(3);
    // The two fillers are recorded like any transaction until they are seen mined.
    const rows = await sender.inFlight();
    expect(rows.map((r) => [r.kind, r.nonce])).to.deep.equal([
      ["nonce-gap", 0],
      ["nonce-gap", 1],
    ]);
    for (const r of rows) expect((await sender.waitMined(r)).receipt.status).to.equal("success");
    expect(await sender.inFlight()).to.deep.equal([]);
  });
});
