import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Contract, Signer } from "ethers";
import { expectRevert } from "./errors";

/**
 * Shared behaviour of every contract's DEFAULT_ADMIN_ROLE (OpenZeppelin AccessControlDefaultAdminRules):
 * one holder, never granted directly, handed over in two steps with `delay` seconds between them.
 */
export function shouldTransferAdminInTwoSteps(
  ctx: () => { contract: Contract; admin: Signer; newAdmin: Signer; stranger: Signer; delay: number },
): void {
  describe("DEFAULT_ADMIN_ROLE: two steps with a delay", function () {
    it("cannot be granted directly; only the admin starts a transfer; the new admin accepts after the delay", async function () {
      const { contract, admin, newAdmin, stranger, delay } = ctx();
      const ADMIN = ethers.ZeroHash;
      const [adminAddr, newAddr, strangerAddr] = await Promise.all(
        [admin, newAdmin, stranger].map((s) => s.getAddress()),
      );
      await expectRevert(
        contract.grantRole(ADMIN, newAddr),
        contract,
        "AccessControlEnforcedDefaultAdminRules",
        [],
      );
      await expectRevert(
        (contract.connect(stranger) as Contract).beginDefaultAdminTransfer(strangerAddr),
        contract,
        "AccessControlUnauthorizedAccount",
        [strangerAddr, ADMIN],
      );
      expect(await contract.defaultAdminDelay()).to.equal(BigInt(delay));
      await contract.beginDefaultAdminTransfer(newAddr);
      const [pending, schedule] = await contract.pendingDefaultAdmin();
      expect(pending).to.equal(newAddr);
      expect(schedule).to.equal(BigInt((await time.latest()) + delay));
      await expectRevert(
        (contract.connect(newAdmin) as Contract).acceptDefaultAdminTransfer(),
        contract,
        "AccessControlEnforcedDefaultAdminDelay",
        [schedule],
      );
      expect(await contract.hasRole(ADMIN, adminAddr)).to.equal(true);
      await time.increaseTo(schedule + 1n);
      await (contract.connect(newAdmin) as Contract).acceptDefaultAdminTransfer();
      expect(await contract.hasRole(ADMIN, newAddr)).to.equal(true);
      expect(await contract.hasRole(ADMIN, adminAddr)).to.equal(false);
      expect(await contract.defaultAdmin()).to.equal(newAddr);
    });
  });
}
