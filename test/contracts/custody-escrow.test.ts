import { expect } from "chai";
import { shouldTransferAdminInTwoSteps } from "./support/admin-rules";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Contract, Signer } from "ethers";
import { ANY, expectRevert } from "./support/errors";

const ADMIN_DELAY = 2 * 86_400;
const role = (name: string) => ethers.keccak256(ethers.toUtf8Bytes(name));
const PLATFORM = role("PLATFORM_ROLE");
const CUSTODIAN = role("CUSTODIAN_ROLE");
const PAUSER = role("PAUSER_ROLE");
const id = (s: string) => ethers.keccak256(ethers.toUtf8Bytes(s));
const EUR = ethers.encodeBytes32String("EUR");
const USD = ethers.encodeBytes32String("USD");
const DAY = 86_400;

enum State {
  None,
  Open,
  Disputed,
  Released,
  Refunded,
}

describe("CustodyEscrow", function () {
  let admin: Signer, platform: Signer, custodian: Signer, pauser: Signer, stranger: Signer;
  let payerAgent: Signer, payeeAgent: Signer, arbiter: Signer;
  let escrow: Contract;
  let now: number;

  beforeEach(async function () {
    [admin, platform, custodian, pauser, stranger, payerAgent, payeeAgent, arbiter] =
      await ethers.getSigners();
    escrow = (await ethers.deployContract("CustodyEscrow", [
      await admin.getAddress(),
      ADMIN_DELAY,
    ])) as unknown as Contract;
    await escrow.grantRole(PLATFORM, await platform.getAddress());
    await escrow.grantRole(CUSTODIAN, await custodian.getAddress());
    await escrow.grantRole(PAUSER, await pauser.getAddress());
    await escrow.setCustodianThreshold(EUR, 1_000_000n);
    now = await time.latest();
  });

  const as = (s: Signer) => escrow.connect(s) as Contract;

  shouldTransferAdminInTwoSteps(() => ({
    contract: escrow,
    admin,
    newAdmin: custodian,
    stranger,
    delay: ADMIN_DELAY,
  }));

  /** Terms: payer agent (payer side), payee agent, arbiter; threshold 2 of 3 unless overridden. */
  async function terms(over: Record<string, unknown> = {}) {
    return {
      payer: id("payer"),
      payee: id("payee"),
      asset: EUR,
      amount: 500_00n,
      approvers: [await payerAgent.getAddress(), await payeeAgent.getAddress(), await arbiter.getAddress()],
      payerSideMask: 0b001,
      threshold: 2,
      autoReleaseAt: 0,
      expiresAt: now + 30 * DAY,
      agreementHash: id("agreement"),
      ...over,
    };
  }

  async function create(escrowId: string, over: Record<string, unknown> = {}) {
    return as(platform).createEscrow(escrowId, await terms(over));
  }

  async function events(tx: { wait(): Promise<unknown> }) {
    const receipt = (await tx.wait()) as { logs: { topics: string[]; data: string }[] };
    return receipt.logs
      .map((l) => escrow.interface.parseLog(l))
      .filter((l) => l !== null)
      .map((l) => [l!.name, ...l!.args.toArray().map((v) => (typeof v === "string" ? v.toLowerCase() : v))]);
  }

  async function status(escrowId: string) {
    const [, s] = await escrow.getEscrow(escrowId);
    return s;
  }

  describe("createEscrow", function () {
    it("stores the terms and emits EscrowCreated", async function () {
      const t = await terms();
      const ev = await events(await as(platform).createEscrow(id("e1"), t));
      expect(ev).to.deep.equal([
        ["EscrowCreated", id("e1"), t.payer, t.payee, EUR.toLowerCase(), t.amount, t.agreementHash, false],
      ]);
      const [stored, s] = await escrow.getEscrow(id("e1"));
      expect(stored.payer).to.equal(t.payer);
      expect(stored.payee).to.equal(t.payee);
      expect(stored.asset).to.equal(EUR);
      expect(stored.amount).to.equal(t.amount);
      expect(stored.approvers).to.deep.equal(t.approvers);
      expect(stored.payerSideMask).to.equal(1n);
      expect(stored.threshold).to.equal(2n);
      expect(stored.autoReleaseAt).to.equal(0n);
      expect(stored.expiresAt).to.equal(BigInt(t.expiresAt));
      expect(stored.agreementHash).to.equal(t.agreementHash);
      expect(s.state).to.equal(BigInt(State.Open));
      expect(s.approvalCount).to.equal(0n);
      expect(s.custodianApprovalRequired).to.equal(false);
      expect(s.createdAt).to.equal(BigInt(await time.latest()));
      expect(s.closedAt).to.equal(0n);
    });

    it("requires the custodian above the asset's threshold, decided at creation", async function () {
      await create(id("small"), { amount: 1_000_000n });
      await create(id("large"), { amount: 1_000_001n });
      await create(id("usd"), { amount: 10n ** 30n, asset: USD });
      expect((await status(id("small"))).custodianApprovalRequired).to.equal(false);
      expect((await status(id("large"))).custodianApprovalRequired).to.equal(true);
      expect((await status(id("usd"))).custodianApprovalRequired).to.equal(false);
      await escrow.setCustodianThreshold(EUR, 0n);
      expect((await status(id("large"))).custodianApprovalRequired).to.equal(true);
      expect(await escrow.custodianThreshold(EUR)).to.equal(0n);
    });

    it("an existing id reverts with CustodyEscrowAlreadyExists", async function () {
      await create(id("e1"));
      await expectRevert(create(id("e1"), { amount: 1n }), escrow, "CustodyEscrowAlreadyExists", [id("e1")]);
      expect((await escrow.getEscrow(id("e1")))[0].amount).to.equal(500_00n);
    });

    it("rejects invalid terms with the offending values", async function () {
      const a = [await payerAgent.getAddress(), await payeeAgent.getAddress(), await arbiter.getAddress()];
      const cases: [Record<string, unknown>, string, unknown[]][] = [
        [{ payer: ethers.ZeroHash }, "CustodyEscrowInvalidParties", [ethers.ZeroHash, id("payee")]],
        [{ payee: ethers.ZeroHash }, "CustodyEscrowInvalidParties", [id("payer"), ethers.ZeroHash]],
        [{ payee: id("payer") }, "CustodyEscrowInvalidParties", [id("payer"), id("payer")]],
        [{ amount: 0n }, "CustodyEscrowInvalidAmount", [0]],
        [{ approvers: [], threshold: 1, payerSideMask: 0 }, "CustodyEscrowInvalidApprovers", [0, 1, 0]],
        [{ threshold: 0 }, "CustodyEscrowInvalidApprovers", [3, 0, 1]],
        [{ threshold: 4 }, "CustodyEscrowInvalidApprovers", [3, 4, 1]],
        [{ payerSideMask: 0b1000 }, "CustodyEscrowInvalidApprovers", [3, 2, 8]],
        [{ approvers: Array(17).fill(a[0]) }, "CustodyEscrowInvalidApprovers", [17, 2, 1]],
        [{ approvers: [a[0], a[1], a[0]] }, "CustodyEscrowInvalidApprover", [a[0]]],
        [{ approvers: [a[0], ethers.ZeroAddress] }, "CustodyEscrowInvalidApprover", [ethers.ZeroAddress]],
        [{ expiresAt: now }, "CustodyEscrowInvalidSchedule", [0, now, ANY]],
        [
          { autoReleaseAt: now + 30 * DAY },
          "CustodyEscrowInvalidSchedule",
          [now + 30 * DAY, now + 30 * DAY, ANY],
        ],
      ];
      for (const [over, name, args] of cases) {
        await expectRevert(create(id("bad"), over), escrow, name, args);
      }
      await expectRevert(escrow.getEscrow(id("bad")), escrow, "CustodyEscrowNotFound", [id("bad")]);
    });

    it("only the platform may create; not while paused", async function () {
      await expectRevert(
        as(stranger).createEscrow(id("e1"), await terms()),
        escrow,
        "AccessControlUnauthorizedAccount",
        [await stranger.getAddress(), PLATFORM],
      );
      await as(pauser).pause();
      await expectRevert(create(id("e1")), escrow, "EnforcedPause", []);
    });
  });

  describe("approve and release", function () {
    beforeEach(async function () {
      await create(id("e"));
    });

    it("the threshold releases in the approving transaction", async function () {
      const pa = (await payerAgent.getAddress()).toLowerCase();
      expect(await events(await as(payerAgent).approve(id("e")))).to.deep.equal([
        ["EscrowApproved", id("e"), pa, 1n, false],
      ]);
      expect(await escrow.releasable(id("e"))).to.equal(false);
      const ev = await events(await as(arbiter).approve(id("e")));
      expect(ev).to.deep.equal([
        ["EscrowApproved", id("e"), (await arbiter.getAddress()).toLowerCase(), 2n, false],
        ["EscrowReleased", id("e"), 500_00n, false],
      ]);
      const s = await status(id("e"));
      expect(s.state).to.equal(BigInt(State.Released));
      expect(s.approvedMask).to.equal(0b101n);
      expect(s.closedAt).to.equal(BigInt(await time.latest()));
    });

    it("each listed approver approves once; others cannot", async function () {
      await as(payerAgent).approve(id("e"));
      await expectRevert(as(payerAgent).approve(id("e")), escrow, "CustodyEscrowAlreadyApproved", [
        id("e"),
        await payerAgent.getAddress(),
      ]);
      await expectRevert(as(stranger).approve(id("e")), escrow, "CustodyEscrowNotApprover", [
        id("e"),
        await stranger.getAddress(),
      ]);
      await expectRevert(as(custodian).approve(id("e")), escrow, "CustodyEscrowNotApprover", [
        id("e"),
        await custodian.getAddress(),
      ]);
      await expectRevert(as(payerAgent).approve(id("nope")), escrow, "CustodyEscrowNotFound", [id("nope")]);
    });

    it("release() needs the threshold or the auto-release time", async function () {
      await as(payerAgent).approve(id("e"));
      await expectRevert(as(stranger).release(id("e")), escrow, "CustodyEscrowReleaseNotAllowed", [
        id("e"),
        1,
        2,
        0,
      ]);
    });

    it("auto-release: anyone releases after the time, not before", async function () {
      await create(id("auto"), { autoReleaseAt: now + 7 * DAY });
      await time.setNextBlockTimestamp(now + 7 * DAY - 1);
      await expectRevert(as(stranger).release(id("auto")), escrow, "CustodyEscrowReleaseNotAllowed", [
        id("auto"),
        0,
        2,
        now + 7 * DAY,
      ]);
      await time.increaseTo(now + 7 * DAY);
      expect(await escrow.releasable(id("auto"))).to.equal(true);
      expect(await events(await as(stranger).release(id("auto")))).to.deep.equal([
        ["EscrowReleased", id("auto"), 500_00n, false],
      ]);
      expect((await status(id("auto"))).state).to.equal(BigInt(State.Released));
    });

    it("a large escrow needs the custodian too, whichever approval comes last", async function () {
      await create(id("big"), { amount: 2_000_000n, autoReleaseAt: now + DAY });
      await as(payerAgent).approve(id("big"));
      const ev = await events(await as(payeeAgent).approve(id("big")));
      expect(ev).to.have.length(1); // approved, not released
      await expectRevert(as(stranger).release(id("big")), escrow, "CustodyEscrowCustodianApprovalMissing", [
        id("big"),
      ]);
      await time.increaseTo(now + 2 * DAY);
      await expectRevert(as(stranger).release(id("big")), escrow, "CustodyEscrowCustodianApprovalMissing", [
        id("big"),
      ]);
      await expectRevert(
        as(stranger).approveAsCustodian(id("big")),
        escrow,
        "AccessControlUnauthorizedAccount",
        [await stranger.getAddress(), CUSTODIAN],
      );
      const ev2 = await events(await as(custodian).approveAsCustodian(id("big")));
      expect(ev2).to.deep.equal([
        ["EscrowApproved", id("big"), (await custodian.getAddress()).toLowerCase(), 2n, true],
        ["EscrowReleased", id("big"), 2_000_000n, false],
      ]);
    });

    it("custodian first, then the threshold releases", async function () {
      await create(id("big"), { amount: 2_000_000n });
      await as(custodian).approveAsCustodian(id("big"));
      await expectRevert(
        as(custodian).approveAsCustodian(id("big")),
        escrow,
        "CustodyEscrowAlreadyApproved",
        [id("big"), await custodian.getAddress()],
      );
      await as(payerAgent).approve(id("big"));
      const ev = await events(await as(payeeAgent).approve(id("big")));
      expect(ev[1]).to.deep.equal(["EscrowReleased", id("big"), 2_000_000n, false]);
    });

    it("the custodian's approval is refused when not required", async function () {
      await expectRevert(
        as(custodian).approveAsCustodian(id("e")),
        escrow,
        "CustodyEscrowCustodianApprovalNotRequired",
        [id("e")],
      );
    });
  });

  describe("dispute and resolution", function () {
    beforeEach(async function () {
      await create(id("e"), { autoReleaseAt: now + DAY });
    });

    it("only a payer-side approver disputes; a dispute stops approvals and auto-release", async function () {
      await expectRevert(as(payeeAgent).dispute(id("e")), escrow, "CustodyEscrowNotPayerSide", [
        id("e"),
        await payeeAgent.getAddress(),
      ]);
      await expectRevert(as(stranger).dispute(id("e")), escrow, "CustodyEscrowNotPayerSide", [
        id("e"),
        await stranger.getAddress(),
      ]);
      expect(await events(await as(payerAgent).dispute(id("e")))).to.deep.equal([
        ["EscrowDisputed", id("e"), (await payerAgent.getAddress()).toLowerCase()],
      ]);
      await expectRevert(as(payerAgent).dispute(id("e")), escrow, "CustodyEscrowUnexpectedState", [
        id("e"),
        State.Disputed,
      ]);
      await expectRevert(as(arbiter).approve(id("e")), escrow, "CustodyEscrowUnexpectedState", [
        id("e"),
        State.Disputed,
      ]);
      await time.increaseTo(now + 2 * DAY);
      expect(await escrow.releasable(id("e"))).to.equal(false);
      await expectRevert(as(stranger).release(id("e")), escrow, "CustodyEscrowUnexpectedState", [
        id("e"),
        State.Disputed,
      ]);
    });

    it("the custodian resolves by releasing", async function () {
      await as(payerAgent).dispute(id("e"));
      await expectRevert(
        as(stranger).resolveDispute(id("e"), true),
        escrow,
        "AccessControlUnauthorizedAccount",
        [await stranger.getAddress(), CUSTODIAN],
      );
      expect(await events(await as(custodian).resolveDispute(id("e"), true))).to.deep.equal([
        ["EscrowReleased", id("e"), 500_00n, true],
      ]);
      expect((await status(id("e"))).state).to.equal(BigInt(State.Released));
    });

    it("the custodian resolves by refunding", async function () {
      await as(payerAgent).dispute(id("e"));
      expect(await events(await as(custodian).resolveDispute(id("e"), false))).to.deep.equal([
        ["EscrowRefunded", id("e"), 500_00n, true],
      ]);
      expect((await status(id("e"))).state).to.equal(BigInt(State.Refunded));
    });

    it("resolution needs a dispute and an unexpired escrow", async function () {
      await expectRevert(
        as(custodian).resolveDispute(id("e"), true),
        escrow,
        "CustodyEscrowUnexpectedState",
        [id("e"), State.Open],
      );
      await as(payerAgent).dispute(id("e"));
      await time.increaseTo(now + 30 * DAY);
      await expectRevert(as(custodian).resolveDispute(id("e"), true), escrow, "CustodyEscrowExpired", [
        id("e"),
        now + 30 * DAY,
      ]);
      // A dispute nobody resolved is refunded at expiry.
      expect(await escrow.refundable(id("e"))).to.equal(true);
      expect(await events(await as(stranger).refund(id("e")))).to.deep.equal([
        ["EscrowRefunded", id("e"), 500_00n, false],
      ]);
    });
  });

  describe("expiry and refund", function () {
    beforeEach(async function () {
      await create(id("e"));
    });

    it("refund only from the expiry time on; after it only a refund is possible", async function () {
      await time.setNextBlockTimestamp(now + 30 * DAY - 1);
      await expectRevert(as(stranger).refund(id("e")), escrow, "CustodyEscrowNotExpired", [
        id("e"),
        now + 30 * DAY,
      ]);
      await time.increaseTo(now + 30 * DAY);
      for (const [who, call] of [
        [payerAgent, "approve"],
        [payerAgent, "dispute"],
        [stranger, "release"],
      ] as const) {
        await expectRevert(as(who)[call](id("e")), escrow, "CustodyEscrowExpired", [id("e"), now + 30 * DAY]);
      }
      expect(await events(await as(stranger).refund(id("e")))).to.deep.equal([
        ["EscrowRefunded", id("e"), 500_00n, false],
      ]);
      expect((await status(id("e"))).state).to.equal(BigInt(State.Refunded));
    });

    it("refund of an unknown escrow reverts", async function () {
      await expectRevert(as(stranger).refund(id("nope")), escrow, "CustodyEscrowNotFound", [id("nope")]);
      expect(await escrow.refundable(id("nope"))).to.equal(false);
      expect(await escrow.releasable(id("nope"))).to.equal(false);
    });
  });

  describe("the outcome follows the terms and when the deciding condition was met, not when a transaction is sent", function () {
    const AUTO = () => now + 7 * DAY;
    const EXPIRY = () => now + 30 * DAY;

    it("auto-release that nobody sent before expiry still releases; the refund reverts with CustodyEscrowReleaseDue", async function () {
      await create(id("a"), { autoReleaseAt: AUTO() });
      await time.increaseTo(EXPIRY() + DAY);
      expect(await escrow.releasable(id("a"))).to.equal(true);
      expect(await escrow.refundable(id("a"))).to.equal(false);
      await expectRevert(as(stranger).refund(id("a")), escrow, "CustodyEscrowReleaseDue", [id("a"), AUTO()]);
      expect(await events(await as(stranger).release(id("a")))).to.deep.equal([
        ["EscrowReleased", id("a"), 500_00n, false],
      ]);
      expect((await status(id("a"))).state).to.equal(BigInt(State.Released));
    });

    it("paused over the whole window from autoReleaseAt to expiry: released after unpause", async function () {
      await create(id("a"), { autoReleaseAt: AUTO() });
      await time.increaseTo(AUTO() - 60);
      await as(pauser).pause();
      await time.increaseTo(EXPIRY() + DAY);
      expect(await escrow.releasable(id("a"))).to.equal(false); // paused: nothing can happen now
      expect(await escrow.refundable(id("a"))).to.equal(false);
      await as(pauser).unpause();
      expect(await escrow.releasable(id("a"))).to.equal(true);
      expect(await escrow.refundable(id("a"))).to.equal(false);
      await expectRevert(as(stranger).refund(id("a")), escrow, "CustodyEscrowReleaseDue", [id("a"), AUTO()]);
      await as(stranger).release(id("a"));
      expect((await status(id("a"))).state).to.equal(BigInt(State.Released));
    });

    it("a dispute after the auto-release time cannot undo the release; one before it still stops it", async function () {
      await create(id("late"), { autoReleaseAt: AUTO() });
      await create(id("early"), { autoReleaseAt: AUTO() });
      await time.setNextBlockTimestamp(AUTO() - 1);
      await as(payerAgent).dispute(id("early"));
      await time.setNextBlockTimestamp(AUTO());
      await expectRevert(as(payerAgent).dispute(id("late")), escrow, "CustodyEscrowReleaseDue", [
        id("late"),
        AUTO(),
      ]);
      await time.increaseTo(EXPIRY());
      expect(await escrow.refundable(id("early"))).to.equal(true);
      expect(await escrow.releasable(id("late"))).to.equal(true);
      await as(stranger).refund(id("early"));
      await as(stranger).release(id("late"));
      expect((await status(id("early"))).state).to.equal(BigInt(State.Refunded));
      expect((await status(id("late"))).state).to.equal(BigInt(State.Released));
    });

    it("a large escrow: the custodian's approval before expiry decides the release, paused or not", async function () {
      await create(id("approved"), { amount: 2_000_000n, autoReleaseAt: AUTO() });
      await create(id("never"), { amount: 2_000_000n, autoReleaseAt: AUTO() });
      await as(custodian).approveAsCustodian(id("approved")); // before autoReleaseAt: nothing releases yet
      expect((await status(id("approved"))).state).to.equal(BigInt(State.Open));
      await as(pauser).pause();
      await time.increaseTo(EXPIRY() + DAY);
      await as(pauser).unpause();
      // Auto-release time reached with the custodian's approval: released.
      await expectRevert(as(stranger).refund(id("approved")), escrow, "CustodyEscrowReleaseDue", [
        id("approved"),
        AUTO(),
      ]);
      await as(stranger).release(id("approved"));
      // Without it the release condition was never met: refunded.
      expect(await escrow.releasable(id("never"))).to.equal(false);
      await expectRevert(as(stranger).release(id("never")), escrow, "CustodyEscrowExpired", [
        id("never"),
        EXPIRY(),
      ]);
      await as(stranger).refund(id("never"));
      expect((await status(id("approved"))).state).to.equal(BigInt(State.Released));
      expect((await status(id("never"))).state).to.equal(BigInt(State.Refunded));
    });

    it("paused over the expiry of an escrow no rule released: still refunded after unpause", async function () {
      await create(id("r"));
      await as(payerAgent).approve(id("r")); // 1 of 2
      await as(pauser).pause();
      await time.increaseTo(EXPIRY() + DAY);
      await as(pauser).unpause();
      await expectRevert(as(stranger).release(id("r")), escrow, "CustodyEscrowExpired", [id("r"), EXPIRY()]);
      expect(await escrow.refundable(id("r"))).to.equal(true);
      await as(stranger).refund(id("r"));
      expect((await status(id("r"))).state).to.equal(BigInt(State.Refunded));
    });
  });

  describe("terminal states are final", function () {
    async function everyTransitionReverts(escrowId: string, state: State) {
      const args = [escrowId, state];
      await expectRevert(as(payeeAgent).approve(escrowId), escrow, "CustodyEscrowUnexpectedState", args);
      await expectRevert(as(payerAgent).dispute(escrowId), escrow, "CustodyEscrowUnexpectedState", args);
      await expectRevert(as(stranger).release(escrowId), escrow, "CustodyEscrowUnexpectedState", args);
      await expectRevert(
        as(custodian).resolveDispute(escrowId, true),
        escrow,
        "CustodyEscrowUnexpectedState",
        args,
      );
      await expectRevert(
        as(custodian).resolveDispute(escrowId, false),
        escrow,
        "CustodyEscrowUnexpectedState",
        args,
      );
      await time.increaseTo(now + 31 * DAY);
      await expectRevert(as(stranger).refund(escrowId), escrow, "CustodyEscrowUnexpectedState", args);
      await expectRevert(as(payeeAgent).approve(escrowId), escrow, "CustodyEscrowUnexpectedState", args);
      expect(await escrow.refundable(escrowId)).to.equal(false);
      const [t, s] = await escrow.getEscrow(escrowId);
      expect(s.state).to.equal(BigInt(state));
      expect(t.amount).to.equal(500_00n);
      expect(t.payer).to.equal(id("payer"));
      expect(t.payee).to.equal(id("payee"));
    }

    it("after a release", async function () {
      await create(id("e"));
      await as(payerAgent).approve(id("e"));
      await as(payeeAgent).approve(id("e"));
      await everyTransitionReverts(id("e"), State.Released);
    });

    it("after a refund", async function () {
      await create(id("e"));
      await time.increaseTo(now + 30 * DAY);
      await as(stranger).refund(id("e"));
      await everyTransitionReverts(id("e"), State.Refunded);
    });
  });

  describe("pause", function () {
    it("stops every transition; unpause resumes; only the pauser", async function () {
      await create(id("e"), { autoReleaseAt: now + DAY });
      await expectRevert(as(stranger).pause(), escrow, "AccessControlUnauthorizedAccount", [
        await stranger.getAddress(),
        PAUSER,
      ]);
      await as(pauser).pause();
      await expectRevert(as(payerAgent).approve(id("e")), escrow, "EnforcedPause", []);
      await expectRevert(as(payerAgent).dispute(id("e")), escrow, "EnforcedPause", []);
      await expectRevert(as(custodian).approveAsCustodian(id("e")), escrow, "EnforcedPause", []);
      await expectRevert(as(custodian).resolveDispute(id("e"), true), escrow, "EnforcedPause", []);
      await time.increaseTo(now + 2 * DAY);
      expect(await escrow.releasable(id("e"))).to.equal(false);
      await expectRevert(as(stranger).release(id("e")), escrow, "EnforcedPause", []);
      await expectRevert(as(stranger).refund(id("e")), escrow, "EnforcedPause", []);
      await expectRevert(as(stranger).unpause(), escrow, "AccessControlUnauthorizedAccount", [
        await stranger.getAddress(),
        PAUSER,
      ]);
      await as(pauser).unpause();
      expect(await escrow.releasable(id("e"))).to.equal(true);
      await as(stranger).release(id("e"));
    });
  });

  it("only the admin sets custodian thresholds", async function () {
    await expectRevert(
      as(stranger).setCustodianThreshold(EUR, 1n),
      escrow,
      "AccessControlUnauthorizedAccount",
      [await stranger.getAddress(), ethers.ZeroHash],
    );
    expect(await events(await escrow.setCustodianThreshold(USD, 7n))).to.deep.equal([
      ["CustodianThresholdSet", USD.toLowerCase(), 7n],
    ]);
    expect(await escrow.custodianThreshold(USD)).to.equal(7n);
    expect(await escrow.PLATFORM_ROLE()).to.equal(PLATFORM);
    expect(await escrow.CUSTODIAN_ROLE()).to.equal(CUSTODIAN);
    expect(await escrow.VERSION()).to.equal("1.1.0");
  });
});
