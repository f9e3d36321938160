import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import type { Hex } from "viem";
import type { HDAccount } from "viem/accounts";
import { ESCROW_TERMS_FORMAT } from "../../src/protocol/escrow-terms-v1";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { openLedger, type Ledger } from "../../src/ledger";
import { openLogStore } from "../../src/log/store";
import { custodyEscrowAbi as escrowAbi } from "../../src/chain/generated/abi";
import { relayerMigrations } from "../../src/relayer/anchor-store";
import type { Relayer } from "../../src/relayer/relayer";
import { startDevChain, type DevChain } from "../../src/chain/dev";
import { chainNow, escrowBridgeRelayer, seedEscrowLedger, sendEscrowCall } from "./support/escrow";

describe("relayer: escrow bridge (real ledger, log store and anvil)", function () {
  let chain: DevChain;
  let dir: string;
  let db: Database;
  let ledger: Ledger;
  let relayer: Relayer;

  before(async () => {
    chain = await startDevChain();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-escrow-"));
    db = openDatabase(path.join(dir, "ledger.db"));
    await migrate(db, relayerMigrations);
    ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(7) });
    await seedEscrowLedger(ledger, 10_000n);
    relayer = escrowBridgeRelayer({
      db,
      ledger,
      logStore: await openLogStore(db),
      chain,
      registry: new Registry(),
    });
  });
  after(async () => {
    await relayer?.stop();
    await ledger?.close();
    if (db) await closeDatabase(db);
    await chain?.node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** `custody-escrow-terms-v1` terms with no payer-side approvers, no auto-release and no agreement. */
  const terms = (t: { approvers: string[]; threshold: number; expiresAt: number }) => ({
    format: ESCROW_TERMS_FORMAT,
    payerSideMask: 0,
    autoReleaseAt: 0,
    agreementHash: `0x${"00".repeat(32)}`,
    ...t,
  });

  const now = () => chainNow(chain);

  const send = (account: HDAccount, functionName: "approve" | "refund", escrowId: Hex) =>
    sendEscrowCall(chain, account, functionName, escrowId);

  async function onChainState(escrowId: Hex) {
    const [, status] = await chain.clients.publicClient.readContract({
      address: chain.deployment.custodyEscrow,
      abi: escrowAbi,
      functionName: "getEscrow",
      args: [escrowId],
    });
    return status.state; // 1 Open, 2 Disputed, 3 Released, 4 Refunded
  }

  async function replayFromStart() {
    db.kind === "sqlite" && db.sqlite.prepare("DELETE FROM relayer_cursors").run();
    const before = await ledger.eventCount();
    await relayer.runOnce();
    await relayer.runOnce();
    expect(await ledger.eventCount(), "replayed chain events append nothing").to.equal(before);
  }

  it("hold opened → escrow on chain → approvals → release → the ledger posts the hold, exactly once", async () => {
    const [a, b] = [chain.accounts.approverPayer.address, chain.accounts.approverPayee.address];
    const hold = await ledger.createHold({
      id: "e1",
      debitAccountId: "alice",
      creditAccountId: "esc",
      amount: 3000n,
      kind: "escrow_hold",
      payeeAccountId: "bob",
      metadata: {
        escrowTerms: terms({ approvers: [a, b], threshold: 2, expiresAt: (await now()) + 3600 }),
      },
    });
    await relayer.runOnce();
    expect(await onChainState(hold.escrowId!)).to.equal(1);
    // Running again does not try to create it twice.
    await relayer.runOnce();
    expect((await ledger.getHold("e1")).status).to.equal("pending");

    await send(chain.accounts.approverPayer, "approve", hold.escrowId!);
    await send(chain.accounts.approverPayee, "approve", hold.escrowId!); // the threshold is met: released in this transaction
    expect(await onChainState(hold.escrowId!)).to.equal(3);
    await relayer.runOnce();
    const posted = await ledger.getHold("e1");
    expect(posted.status).to.equal("posted");
    expect(posted.resolution).to.deep.include({ source: "chain" });
    expect((await ledger.getBalance("bob")).posted).to.equal(3000n);
    await replayFromStart();
    expect((await ledger.getBalance("bob")).posted).to.equal(3000n);
    // The ledger events of the escrow are anchored too.
    expect(relayer.status().lagEntries).to.equal(0);
  });

  it("expiry → refund → the ledger voids the hold; replayed events change nothing", async () => {
    const a = chain.accounts.approverPayer.address;
    const hold = await ledger.createHold({
      id: "e2",
      debitAccountId: "alice",
      creditAccountId: "esc",
      amount: 1000n,
      kind: "escrow_hold",
      payeeAccountId: "bob",
      metadata: { escrowTerms: terms({ approvers: [a], threshold: 1, expiresAt: (await now()) + 60 }) },
    });
    const aliceBefore = await ledger.getBalance("alice");
    await relayer.runOnce();
    expect(await onChainState(hold.escrowId!)).to.equal(1);
    const pc = chain.clients.publicClient;
    await pc.request({ method: "evm_increaseTime" as never, params: [120] as never });
    await pc.request({ method: "evm_mine" as never, params: [] as never });
    await send(chain.accounts.approverPayee, "refund", hold.escrowId!); // permissionless once expired
    expect(await onChainState(hold.escrowId!)).to.equal(4);
    await relayer.runOnce();
    expect((await ledger.getHold("e2")).status).to.equal("voided");
    const aliceAfter = await ledger.getBalance("alice");
    expect(aliceAfter.available).to.equal(aliceBefore.available + 1000n);
    await replayFromStart();
    expect((await ledger.getHold("e2")).status).to.equal("voided");
  });
});
