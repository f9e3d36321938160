import { expect } from "chai";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { Registry } from "prom-client";
import type { Hex } from "viem";
import type { HDAccount } from "viem/accounts";
import type { DevChain } from "../../src/chain/dev";
import { ESCROW_TERMS_FORMAT } from "../../src/protocol/escrow-terms-v1";
import type { Database } from "../../src/db/database";
import type { Ledger } from "../../src/ledger";
import { openLogStore } from "../../src/log/store";
import { custodyEscrowAbi as escrowAbi } from "../../src/chain/generated/abi";
import { onChainTermsOf, type EscrowLedger } from "../../src/relayer/escrow-bridge";
import type { Relayer } from "../../src/relayer/relayer";
import { all, run } from "../../src/db/sql";
import { pgAvailable } from "../support/pg";
import {
  chainNow,
  escrowBridgeRelayer,
  sendEscrowCall,
  openEscrowBridgeEnv,
  type EscrowBridgeEnv,
} from "./support/escrow";

/**
 * Errors the real drivers throw when the database is busy or the connection drops, built with the
 * drivers' own classes. They are injected around postHold/voidHold because a lock or a reset cannot
 * be timed to land exactly between reading a chain event and applying it.
 */
function transientErrors(): Error[] {
  const busy = new BetterSqlite3.SqliteError("database is locked", "SQLITE_BUSY");
  const serialization = new pg.DatabaseError(
    "could not serialize access due to concurrent update",
    0,
    "error",
  );
  serialization.code = "40001";
  const reset = Object.assign(new Error("read ECONNRESET"), {
    code: "ECONNRESET",
    errno: -104,
    syscall: "read",
  });
  return [busy, serialization, reset];
}

/** The ledger as the bridge sees it, with a queue of errors thrown before post/void. */
function faultyLedger(ledger: Ledger, faults: Error[]): EscrowLedger {
  const maybeFail = () => {
    const e = faults.shift();
    if (e) throw e;
  };
  return {
    listOpenEscrowHolds: () => ledger.listOpenEscrowHolds(),
    getHoldByEscrowId: (id) => ledger.getHoldByEscrowId(id),
    accountPseudonym: (id) => ledger.accountPseudonym(id),
    async postHold(id, d) {
      maybeFail();
      return ledger.postHold(id, d);
    },
    async voidHold(id, d) {
      maybeFail();
      return ledger.voidHold(id, d);
    },
  };
}

function bridgeFaultSuite(backend: "sqlite" | "postgres") {
  describe(`relayer: escrow bridge under faults (${backend}, real anvil)`, function () {
    let chain: DevChain;
    let db: Database;
    let ledger: Ledger;
    let relayer: Relayer;
    let registry: Registry;
    const faults: Error[] = [];

    const newRelayer = (r: Registry) =>
      escrowBridgeRelayer({
        db,
        ledger,
        logStore,
        chain,
        registry: r,
        bridgeLedger: faultyLedger(ledger, faults),
      });
    let logStore: Awaited<ReturnType<typeof openLogStore>>;

    let env: EscrowBridgeEnv | undefined;
    before(async function () {
      if (backend === "postgres" && !(await pgAvailable())) return this.skip();
      env = await openEscrowBridgeEnv(backend, 9);
      ({ chain, db, ledger, logStore } = env);
      registry = new Registry();
      relayer = newRelayer(registry);
    });
    after(async () => {
      await relayer?.stop();
      await env?.close();
    });

    const now = () => chainNow(chain);
    const terms = async (over: { threshold?: number; expiresIn?: number } = {}) => ({
      format: ESCROW_TERMS_FORMAT,
      approvers: [chain.accounts.approverPayer.address, chain.accounts.approverPayee.address],
      payerSideMask: 1,
      threshold: over.threshold ?? 1,
      autoReleaseAt: 0,
      expiresAt: (await now()) + (over.expiresIn ?? 3600),
      agreementHash: `0x${"00".repeat(32)}`,
    });

    const send = (account: HDAccount, functionName: "approve" | "refund", escrowId: Hex) =>
      sendEscrowCall(chain, account, functionName, escrowId);

    async function openEscrowHold(id: string, t?: Awaited<ReturnType<typeof terms>>) {
      return ledger.createHold({
        id,
        debitAccountId: "alice",
        creditAccountId: "esc",
        amount: 1000n,
        kind: "escrow_hold",
        payeeAccountId: "bob",
        metadata: { escrowTerms: t ?? (await terms()) },
      });
    }

    const escrowAlarmGauge = async (r: Registry, kind: string) => {
      const m = (await r.getSingleMetric("custody_relayer_escrow_alarms")!.get()).values;
      return m.find((v) => v.labels.kind === kind)?.value ?? 0;
    };

    it("a busy database, a PostgreSQL SQLSTATE and a reset connection never lose a release: the cursor stays until it is applied", async () => {
      const hold = await openEscrowHold("tx1");
      await relayer.runOnce(); // creates the escrow on chain
      await send(chain.accounts.approverPayer, "approve", hold.escrowId!); // threshold 1: released
      const injected = transientErrors();
      faults.push(...injected);
      for (const e of injected) {
        const err = await relayer.runOnce().then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(err, `${e.constructor.name} fails the step`).to.equal(e);
        expect((await ledger.getHold("tx1")).status).to.equal("pending");
      }
      expect(faults).to.have.length(0);
      await relayer.runOnce();
      expect((await ledger.getHold("tx1")).status).to.equal("posted");
      expect((await ledger.getBalance("bob")).posted).to.equal(1000n);
      expect(relayer.status().alarm).to.equal(undefined);
    });

    it("the same outcome already in the ledger (another chain event) is skipped without an alarm", async () => {
      const hold = await openEscrowHold("same1");
      await relayer.runOnce();
      // The ledger learnt of the release from an earlier chain event (e.g. one mined before a reorg).
      await ledger.postHold("same1", { source: "chain", chainEventId: `0x${"a1".repeat(32)}:0` });
      const events = await ledger.eventCount();
      await send(chain.accounts.approverPayer, "approve", hold.escrowId!);
      await relayer.runOnce();
      expect(await ledger.eventCount()).to.equal(events);
      expect((await ledger.getHold("same1")).status).to.equal("posted");
      expect(relayer.status().alarm).to.equal(undefined);
    });

    it("a hold the chain releases but the ledger already voided raises a lasting alarm (metric, readiness input) and changes nothing", async () => {
      const hold = await openEscrowHold("other1");
      await relayer.runOnce();
      await ledger.voidHold("other1", { source: "chain", chainEventId: `0x${"b2".repeat(32)}:0` });
      const events = await ledger.eventCount();
      await send(chain.accounts.approverPayer, "approve", hold.escrowId!); // the chain says: release
      await relayer.runOnce();
      expect((await ledger.getHold("other1")).status).to.equal("voided");
      expect(await ledger.eventCount()).to.equal(events);
      const alarm = relayer.status().alarm;
      expect(alarm?.kind).to.equal("escrow-decided-otherwise");
      expect(alarm?.message).to.include(hold.escrowId!.toLowerCase());
      expect(await escrowAlarmGauge(registry, "escrow-decided-otherwise")).to.equal(1);
      // Recorded in the database: a restarted relayer still reports it.
      await relayer.stop();
      registry = new Registry();
      relayer = newRelayer(registry);
      await relayer.runOnce();
      expect(relayer.status().alarm?.kind).to.equal("escrow-decided-otherwise");
      expect(await escrowAlarmGauge(registry, "escrow-decided-otherwise")).to.equal(1);
      const rows = await all<{ escrow_id: string }>(db, "SELECT escrow_id FROM relayer_escrow_alarms");
      expect(rows.map((r) => r.escrow_id)).to.deep.equal([hold.escrowId!.toLowerCase()]);
    });

    it("an escrow already on chain with other terms is refused, raises an alarm, and its release is never applied", async () => {
      const escrowId = `0x${"5e".repeat(31)}01` as Hex;
      const t = await terms({ threshold: 2 });
      const hold = await ledger.createHold({
        id: "mism1",
        debitAccountId: "alice",
        creditAccountId: "esc",
        amount: 1000n,
        kind: "escrow_hold",
        payeeAccountId: "bob",
        escrowId,
        metadata: { escrowTerms: t },
      });
      // Someone with the platform role created that escrow first, with a threshold of 1.
      const expected = await onChainTermsOf(ledger, hold);
      const { walletClient, publicClient } = chain.clientsOf(chain.accounts.relayer);
      const hash = await walletClient.writeContract({
        address: chain.deployment.custodyEscrow,
        abi: escrowAbi,
        functionName: "createEscrow",
        args: [escrowId, { ...expected, threshold: 1 }],
      });
      await publicClient.waitForTransactionReceipt({ hash });
      await relayer.runOnce();
      const alarm = relayer.status().alarm;
      expect(alarm?.kind).to.equal("escrow-terms-mismatch");
      expect(alarm?.message).to.include("threshold is 1, expected 2");
      expect(await escrowAlarmGauge(registry, "escrow-terms-mismatch")).to.equal(1);
      await send(chain.accounts.approverPayer, "approve", escrowId); // one approval releases it on chain
      await relayer.runOnce();
      expect((await ledger.getHold("mism1")).status).to.equal("pending");
    });

    it("an auto-release nobody sent before expiry, the contract paused over the whole window: released and posted after unpause", async () => {
      const t0 = await now();
      const t = { ...(await terms({ threshold: 2 })), autoReleaseAt: t0 + 100, expiresAt: t0 + 200 };
      const hold = await openEscrowHold("late1", t);
      await relayer.runOnce(); // created on chain
      const admin = chain.clientsOf(chain.accounts.admin);
      const pause = async (functionName: "pause" | "unpause") => {
        const hash = await admin.walletClient.writeContract({
          address: chain.deployment.custodyEscrow,
          abi: escrowAbi,
          functionName,
        });
        await admin.publicClient.waitForTransactionReceipt({ hash });
      };
      await pause("pause");
      const pc = chain.clients.publicClient;
      await pc.request({ method: "evm_increaseTime" as never, params: [300] as never });
      await pc.request({ method: "evm_mine" as never, params: [] as never });
      await relayer.runOnce(); // paused: nothing can be sent
      expect((await ledger.getHold("late1")).status).to.equal("pending");
      await pause("unpause");
      await relayer.runOnce(); // sends release (the rules released it at autoReleaseAt)
      await relayer.runOnce(); // applies EscrowReleased
      const h = await ledger.getHold("late1");
      expect(h.status).to.equal("posted");
      expect(hold.escrowId).to.be.a("string");
    });

    it("alarms cleared in the table (the operator resolved them) are gone at the next step, without a restart", async () => {
      expect(relayer.status().alarm).not.to.equal(undefined);
      await run(db, "DELETE FROM relayer_escrow_alarms");
      await relayer.runOnce();
      expect(relayer.status().alarm).to.equal(undefined);
      expect(await escrowAlarmGauge(registry, "escrow-decided-otherwise")).to.equal(0);
      expect(await escrowAlarmGauge(registry, "escrow-terms-mismatch")).to.equal(0);
    });
  });
}

bridgeFaultSuite("sqlite");
bridgeFaultSuite("postgres");
