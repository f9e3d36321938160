import { expect } from "chai";
import type { Hex } from "viem";
import { readEscrow } from "../../src/chain/actions/read-escrow";
import { startDevChain, type DevChain } from "../../src/chain/dev";
import { custodyEscrowAbi } from "../../src/chain/generated/abi";
import { FeeScheduleViolationError, ZERO32 } from "../../src/ledger";
import { assetToBytes32 } from "../../src/protocol/leaf-v1";
import { Approvals } from "../../src/risk/approvals";
import { RiskEngine } from "../../src/risk/engine";
import {
  ApprovalNotPendingError,
  InvalidRiskInputError,
  MakerCheckerConflictError,
} from "../../src/risk/errors";
import { ledgerExecutors, storedFeeSchedule } from "../../src/risk/executors";
import { openRiskLedger } from "./fixture";
import { rejects, rulesWith } from "./support";

describe("risk: default executors for fee schedule changes and escrow overrides (SQLite, anvil)", function () {
  this.timeout(120_000);
  let chain: DevChain;
  let env: Awaited<ReturnType<typeof openRiskLedger>>;
  let engine: RiskEngine;
  let approvals: Approvals;

  before(async () => {
    chain = await startDevChain();
  });
  after(async () => chain?.node.stop());

  beforeEach(async () => {
    env = await openRiskLedger();
    const l = env.ledger;
    for (const [id, type] of [
      ["bank", "bank_mirror"],
      ["escrow", "escrow"],
      ["fees", "fee_revenue"],
      ["alice", "customer"],
      ["bob", "customer"],
    ] as const)
      await l.openAccount({ id, type, asset: "EUR", scale: 2 });
    await l.transfer({
      id: "d1",
      debitAccountId: "bank",
      creditAccountId: "alice",
      amount: 100_000n,
      kind: "deposit",
    });
    engine = await RiskEngine.open(env.db, l, l, { rules: rulesWith([]) });
    const custodian = chain.clientsOf(chain.accounts.custodian);
    approvals = new Approvals(
      engine.runner,
      ledgerExecutors(l, engine, {}, { ...custodian, escrow: chain.deployment.custodyEscrow }),
    );
  });
  afterEach(async () => env.close());

  const fee = (id: string, code: string) =>
    env.ledger.transfer({
      id,
      debitAccountId: "alice",
      creditAccountId: "fees",
      amount: 150n,
      kind: "fee",
      fee: { code, base: 10_000n },
    });

  it("a fee schedule change is proposed, refused to its maker, approved by a checker, in force and stored once", async () => {
    await rejects(fee("f0", "card"), FeeScheduleViolationError);
    const schedule = { card: { asset: "EUR", fixed: "100", basisPoints: 50, max: "1000" } };
    const p = await approvals.propose("fee_schedule_change", { schedule }, "k-maker");
    await rejects(approvals.approve(p.id, "k-maker"), MakerCheckerConflictError);
    expect(await storedFeeSchedule(engine.runner)).to.equal(undefined);
    await rejects(fee("f1", "card"), FeeScheduleViolationError);
    // Two checkers approve at once: one wins, the operation executes once.
    const [a, b] = await Promise.allSettled([
      approvals.approve(p.id, "k-checker-1"),
      approvals.approve(p.id, "k-checker-2"),
    ]);
    const won = [a, b].filter((r) => r.status === "fulfilled");
    expect(won).to.have.length(1);
    const lost = [a, b].find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(lost.reason).to.be.instanceOf(ApprovalNotPendingError);
    const done = await approvals.get(p.id);
    expect(done.state).to.equal("executed");
    expect(done.result).to.deep.equal({ feeCodes: ["card"] });
    // 100 + 0.5% of 10 000 = 150: within the new schedule.
    expect((await fee("f2", "card")).amount).to.equal(150n);
    expect(await storedFeeSchedule(engine.runner)).to.deep.equal({
      card: { asset: "EUR", fixed: 100n, basisPoints: 50, min: undefined, max: 1000n },
    });
    await rejects(approvals.approve(p.id, "k-checker-3"), ApprovalNotPendingError);
    await engine.publish();
    expect(await env.ledger.listFacts({ kind: "APPROVAL_EXECUTED" })).to.have.length(1);
  });

  it("refuses a malformed fee schedule at proposal time", async () => {
    for (const schedule of [
      { card: { asset: "EUR", fixed: "-1" } },
      { card: { asset: "EUR", basisPoints: 10_001 } },
      { card: { fixed: "1" } },
      { card: { asset: "EUR", fixed: 1 } },
    ])
      await rejects(approvals.propose("fee_schedule_change", { schedule }, "k-maker"), InvalidRiskInputError);
  });

  async function escrowHold(id: string, payee: string): Promise<Hex> {
    const h = await env.ledger.createHold({
      id,
      debitAccountId: "alice",
      creditAccountId: "escrow",
      amount: 1_000n,
      kind: "escrow_hold",
      payeeAccountId: payee,
    });
    const platform = chain.clientsOf(chain.accounts.relayer);
    const hash = await platform.walletClient.writeContract({
      address: chain.deployment.custodyEscrow,
      abi: custodyEscrowAbi,
      functionName: "createEscrow",
      chain: platform.walletClient.chain,
      args: [
        h.escrowId!,
        {
          payer: env.ledger.accountPseudonym("alice"),
          payee: env.ledger.accountPseudonym(payee),
          asset: assetToBytes32("EUR"),
          amount: 1_000n,
          approvers: [chain.accounts.approverPayer.address],
          payerSideMask: 1,
          threshold: 1,
          autoReleaseAt: 0n,
          expiresAt: BigInt(Math.floor(Date.now() / 1000) + 86_400),
          agreementHash: ZERO32,
        },
      ],
    });
    await platform.publicClient.waitForTransactionReceipt({ hash });
    return h.escrowId!;
  }

  it("an escrow override resolves a disputed escrow on chain with the custodian's role, exactly once", async () => {
    const escrowId = await escrowHold(`e-${Date.now()}`, "bob");
    const payer = chain.clientsOf(chain.accounts.approverPayer);
    const hash = await payer.walletClient.writeContract({
      address: chain.deployment.custodyEscrow,
      abi: custodyEscrowAbi,
      functionName: "dispute",
      chain: payer.walletClient.chain,
      args: [escrowId],
    });
    await payer.publicClient.waitForTransactionReceipt({ hash });
    const holdId = (await env.ledger.getHoldByEscrowId(escrowId))!.id;
    const p = await approvals.propose(
      "escrow_override",
      { holdId, action: "void", justification: "goods never shipped (case 77)" },
      "k-maker",
    );
    await rejects(approvals.approve(p.id, "k-maker"), MakerCheckerConflictError);
    expect(
      (await readEscrow(chain.clients.publicClient, chain.deployment.custodyEscrow, escrowId)).state,
    ).to.equal("Disputed");
    const done = await approvals.approve(p.id, "k-checker");
    expect(done.state).to.equal("executed");
    const result = done.result as { state: string; tx: string; escrowId: string };
    expect(result).to.include({ holdId, escrowId, state: "Refunded" });
    expect(result.tx).to.match(/^0x[0-9a-f]{64}$/);
    expect(
      (await readEscrow(chain.clients.publicClient, chain.deployment.custodyEscrow, escrowId)).state,
    ).to.equal("Refunded");
    await rejects(approvals.approve(p.id, "k-checker-2"), ApprovalNotPendingError);
    // A second override of the same decision sends nothing: the chain already says Refunded.
    const again = await approvals.propose(
      "escrow_override",
      { holdId, action: "void", justification: "retry" },
      "k-maker",
    );
    expect((await approvals.approve(again.id, "k-checker")).result).to.include({
      state: "Refunded",
      tx: null,
    });
  });

  it("an escrow override the contract does not allow fails with a named error and changes nothing", async () => {
    const escrowId = await escrowHold(`o-${Date.now()}`, "bob");
    const holdId = (await env.ledger.getHoldByEscrowId(escrowId))!.id;
    const p = await approvals.propose(
      "escrow_override",
      { holdId, action: "void", justification: "not disputed" },
      "k-maker",
    );
    const done = await approvals.approve(p.id, "k-checker");
    expect(done.state).to.equal("failed");
    expect(done.result).to.deep.include({ error: "ESCROW_OVERRIDE_NOT_ALLOWED" });
    expect(
      (await readEscrow(chain.clients.publicClient, chain.deployment.custodyEscrow, escrowId)).state,
    ).to.equal("Open");
  });
});
