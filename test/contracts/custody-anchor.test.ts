import { expect } from "chai";
import { shouldTransferAdminInTwoSteps } from "./support/admin-rules";
import { ethers } from "hardhat";
import type { Contract, Signer } from "ethers";
import { ReferenceTree, nodeHash, type Hex } from "./support/reference-tree";
import { expectRevert } from "./support/errors";
import { takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";

const ADMIN_DELAY = 2 * 86_400;
const role = (name: string) => ethers.keccak256(ethers.toUtf8Bytes(name));
const ANCHORER = role("ANCHORER_ROLE");
const AUDITOR = role("AUDITOR_ROLE");
const PAUSER = role("PAUSER_ROLE");
const META = (i: number): Hex => ethers.zeroPadValue(ethers.toBeHex(i + 1), 32) as Hex;

describe("CustodyAnchor", function () {
  let admin: Signer, anchorer: Signer, auditor: Signer, pauser: Signer, stranger: Signer;
  let anchor: Contract;
  const tree = ReferenceTree.random(128, 3);

  beforeEach(async function () {
    [admin, anchorer, auditor, pauser, stranger] = await ethers.getSigners();
    anchor = (await ethers.deployContract("CustodyAnchor", [
      await admin.getAddress(),
      ADMIN_DELAY,
      ethers.ZeroAddress,
    ])) as unknown as Contract;
    await anchor.grantRole(ANCHORER, await anchorer.getAddress());
    await anchor.grantRole(AUDITOR, await auditor.getAddress());
    await anchor.grantRole(PAUSER, await pauser.getAddress());
  });

  const as = (s: Signer) => anchor.connect(s) as Contract;

  shouldTransferAdminInTwoSteps(() => ({
    contract: anchor,
    admin,
    newAdmin: auditor,
    stranger,
    delay: ADMIN_DELAY,
  }));

  /** Anchors the reference tree at each size in turn, with the proof from the previous size. */
  async function anchorSizes(sizes: number[]) {
    let prev = 0;
    for (const [i, n] of sizes.entries()) {
      const proof = prev === 0 ? [] : tree.consistencyProof(prev, n);
      await as(anchorer).anchor(n, tree.root(n), proof, META(i));
      prev = n;
    }
  }

  describe("anchor", function () {
    it("stores the first head without a proof and emits HeadAnchored", async function () {
      const tx = await as(anchorer).anchor(5, tree.root(5), [], META(0));
      const receipt = await tx.wait();
      const block = await ethers.provider.getBlock(receipt!.blockNumber);
      await expectEvent(receipt, "HeadAnchored", [0n, 5n, tree.root(5), META(0)]);
      expect(await anchor.headCount()).to.equal(1n);
      const head = await anchor.getHead(0);
      expect(head.rootHash).to.equal(tree.root(5));
      expect(head.treeSize).to.equal(5n);
      expect(head.timestamp).to.equal(BigInt(block!.timestamp));
      expect(head.blockNumber).to.equal(BigInt(receipt!.blockNumber));
      expect(head.metadataHash).to.equal(ethers.ZeroHash); // emitted, not stored
    });

    it("appends heads with valid consistency proofs and returns their indices", async function () {
      await anchorSizes([1, 2, 3, 8, 13, 64, 100]);
      expect(await anchor.headCount()).to.equal(7n);
      const [index, head] = await anchor.latestHead();
      expect(index).to.equal(6n);
      expect(head.treeSize).to.equal(100n);
      expect(head.rootHash).to.equal(tree.root(100));
      expect(
        await as(anchorer).anchor.staticCall(128, tree.root(128), tree.consistencyProof(100, 128), META(7)),
      ).to.equal(7n);
    });

    it("rejects a non-empty proof for the first head", async function () {
      await expectRevert(
        as(anchorer).anchor(4, tree.root(4), [tree.root(1)], META(0)),
        anchor,
        "CustodyAnchorUnexpectedProof",
        [1],
      );
    });

    it("rejects a size that does not grow (including size 0 first)", async function () {
      await expectRevert(
        as(anchorer).anchor(0, tree.root(1), [], META(0)),
        anchor,
        "CustodyAnchorTreeSizeNotIncreasing",
        [0, 0],
      );
      await anchorSizes([10]);
      await expectRevert(
        as(anchorer).anchor(10, tree.root(10), [], META(1)),
        anchor,
        "CustodyAnchorTreeSizeNotIncreasing",
        [10, 10],
      );
      await expectRevert(
        as(anchorer).anchor(9, tree.root(9), [], META(1)),
        anchor,
        "CustodyAnchorTreeSizeNotIncreasing",
        [10, 9],
      );
    });

    it("rejects a size above 2^48 - 1 with CustodyAnchorTreeSizeTooLarge and stores nothing", async function () {
      const max = 2n ** 48n - 1n;
      for (const size of [max + 1n, 2n ** 64n - 1n]) {
        await expectRevert(
          as(anchorer).anchor(size, tree.root(1), [], META(0)),
          anchor,
          "CustodyAnchorTreeSizeTooLarge",
          [size, max],
        );
      }
      expect(await anchor.headCount()).to.equal(0n);
      // The bound itself is accepted (the first head needs no proof).
      await as(anchorer).anchor(max, tree.root(1), [], META(0));
      expect((await anchor.getHead(0)).treeSize).to.equal(max);
      expect(await anchor.headCovering(max - 1n)).to.equal(0n);
      await expectRevert(
        as(anchorer).anchor(max + 1n, tree.root(2), [tree.root(1)], META(1)),
        anchor,
        "CustodyAnchorTreeSizeTooLarge",
        [max + 1n, max],
      );
    });

    it("keeps every head's size, time and block apart although two heads share a slot", async function () {
      // Heads 0..6: pairs (0,1), (2,3), (4,5) and 6 alone; one block per anchor with distinct times.
      const sizes = [1, 2, 3, 8, 13, 64, 100];
      const mined: { timestamp: bigint; block: bigint }[] = [];
      const start = await time.latest();
      let prev = 0;
      for (const [i, n] of sizes.entries()) {
        await time.setNextBlockTimestamp(start + 1_000 * (i + 1) + i * i);
        const proof = prev === 0 ? [] : tree.consistencyProof(prev, n);
        const receipt = await (await as(anchorer).anchor(n, tree.root(n), proof, META(i))).wait();
        const block = await ethers.provider.getBlock(receipt!.blockNumber);
        mined.push({ timestamp: BigInt(block!.timestamp), block: BigInt(receipt!.blockNumber) });
        prev = n;
        // Every head so far reads back unchanged after each write (a write to the high half of a
        // pair must not disturb the low half).
        for (let h = 0; h <= i; h++) {
          const head = await anchor.getHead(h);
          expect(
            [head.rootHash, head.treeSize, head.timestamp, head.blockNumber, head.metadataHash],
            `head ${h} after anchoring head ${i}`,
          ).to.deep.equal([
            tree.root(sizes[h]!),
            BigInt(sizes[h]!),
            mined[h]!.timestamp,
            mined[h]!.block,
            ethers.ZeroHash,
          ]);
        }
        // The count, the latest info and Pausable's flag share a word written whole by anchor.
        expect(await anchor.paused()).to.equal(false);
        expect(await anchor.headCount()).to.equal(BigInt(i + 1));
        const [latestIndex, latest] = await anchor.latestHead();
        expect([latestIndex, latest.treeSize, latest.blockNumber]).to.deep.equal([
          BigInt(i),
          BigInt(n),
          mined[i]!.block,
        ]);
      }
      // Views that read sizes of even and odd heads.
      for (let leaf = 0; leaf < 100; leaf++) {
        expect(await anchor.headCovering(leaf), `leaf ${leaf}`).to.equal(
          BigInt(sizes.findIndex((n) => n > leaf)),
        );
      }
      for (const [h, n] of sizes.entries()) {
        expect(
          await anchor.verifyInclusion(h, n - 1, tree.leaves[n - 1], tree.inclusionProof(n - 1, n)),
        ).to.equal(true);
        if (h > 0) {
          expect(await anchor.verifyConsistency(h - 1, h, tree.consistencyProof(sizes[h - 1]!, n))).to.equal(
            true,
          );
        }
      }
    });

    it("stores timestamps up to 2^40 - 1", async function () {
      // The chain's clock only moves forward: restore it so later tests keep realistic times.
      const snapshot = await takeSnapshot();
      try {
        const max40 = 2n ** 40n - 1n;
        await time.setNextBlockTimestamp(max40);
        await as(anchorer).anchor(5, tree.root(5), [], META(0));
        const head = await anchor.getHead(0);
        expect([head.treeSize, head.timestamp]).to.deep.equal([5n, max40]);
      } finally {
        await snapshot.restore();
      }
    });

    it("rejects rewritten history: a wrong proof, a forked root, a wrong size", async function () {
      await anchorSizes([6]);
      const forked = ReferenceTree.random(128, 99);
      const cases: [number, Hex, Hex[]][] = [
        [8, tree.root(8), tree.consistencyProof(5, 8)], // proof from another size
        [8, forked.root(8), forked.consistencyProof(6, 8)], // history rewritten: different first 6 leaves
        [8, tree.root(9), tree.consistencyProof(6, 8)], // root of another size
        [8, tree.root(8), tree.consistencyProof(6, 8).slice(1)], // truncated
        [8, tree.root(8), []], // no proof
      ];
      for (const [n, root, proof] of cases) {
        await expectRevert(
          as(anchorer).anchor(n, root, proof, META(1)),
          anchor,
          "CustodyAnchorInvalidConsistencyProof",
          [6, tree.root(6), n, root],
        );
      }
      expect(await anchor.headCount()).to.equal(1n);
    });

    it("rejects a shortened or lengthened proof even with the root that proof leads to", async function () {
      // An anchorer picks the new root, so it could pick whatever root a malformed proof hashes to:
      // only the proof's shape (RFC 9162: exactly the nodes the two sizes need) stops that.
      const pairs: [number, number][] = [
        [1, 6],
        [2, 7],
        [4, 13],
        [3, 8],
        [5, 8],
        [6, 100],
        [64, 100],
        [7, 128],
        [96, 127],
        [33, 65],
      ];
      for (const [m, n] of pairs) {
        const proof = tree.consistencyProof(m, n);
        const forged: Hex[][] = [proof.slice(0, -1), proof.slice(0, -2), [...proof, tree.root(1)]];
        await as(anchorer).anchor(m, tree.root(m), [], META(0));
        for (const p of forged.filter((f) => f.length > 0)) {
          const root = walkedRoot(m, n, tree.root(m), p);
          await expectRevert(
            as(anchorer).anchor(n, root, p, META(1)),
            anchor,
            "CustodyAnchorInvalidConsistencyProof",
            [m, tree.root(m), n, root],
          );
        }
        await as(anchorer).anchor(n, tree.root(n), proof, META(1));
        // Next pair on a fresh contract.
        anchor = (await ethers.deployContract("CustodyAnchor", [
          await admin.getAddress(),
          ADMIN_DELAY,
          ethers.ZeroAddress,
        ])) as unknown as Contract;
        await anchor.grantRole(ANCHORER, await anchorer.getAddress());
      }
    });

    it("only the anchorer may anchor", async function () {
      for (const s of [admin, auditor, stranger]) {
        await expectRevert(
          as(s).anchor(1, tree.root(1), [], META(0)),
          anchor,
          "AccessControlUnauthorizedAccount",
          [await s.getAddress(), ANCHORER],
        );
      }
    });

    it("pause stops anchoring, unpause resumes; only the pauser may do either", async function () {
      await anchorSizes([2]);
      await expectRevert(as(stranger).pause(), anchor, "AccessControlUnauthorizedAccount", [
        await stranger.getAddress(),
        PAUSER,
      ]);
      await expectEvent(await (await as(pauser).pause()).wait(), "Paused", [await pauser.getAddress()]);
      expect(await anchor.paused()).to.equal(true);
      await expectRevert(
        as(anchorer).anchor(4, tree.root(4), tree.consistencyProof(2, 4), META(1)),
        anchor,
        "EnforcedPause",
        [],
      );
      await expectRevert(as(pauser).pause(), anchor, "EnforcedPause", []);
      // Views and attestations keep working while paused.
      expect(await anchor.verifyInclusion(0, 1, tree.leaves[1], tree.inclusionProof(1, 2))).to.equal(true);
      await as(auditor).attest(0, META(9), true);
      await expectRevert(as(stranger).unpause(), anchor, "AccessControlUnauthorizedAccount", [
        await stranger.getAddress(),
        PAUSER,
      ]);
      await as(pauser).unpause();
      await expectRevert(as(pauser).unpause(), anchor, "ExpectedPause", []);
      await as(anchorer).anchor(4, tree.root(4), tree.consistencyProof(2, 4), META(1));
      expect(await anchor.headCount()).to.equal(2n);
    });

    it("the admin grants and revokes roles", async function () {
      await anchor.revokeRole(ANCHORER, await anchorer.getAddress());
      await expectRevert(
        as(anchorer).anchor(1, tree.root(1), [], META(0)),
        anchor,
        "AccessControlUnauthorizedAccount",
        [await anchorer.getAddress(), ANCHORER],
      );
      await expectRevert(
        as(stranger).grantRole(ANCHORER, await stranger.getAddress()),
        anchor,
        "AccessControlUnauthorizedAccount",
        [await stranger.getAddress(), ethers.ZeroHash],
      );
      expect(await anchor.ANCHORER_ROLE()).to.equal(ANCHORER);
      expect(await anchor.AUDITOR_ROLE()).to.equal(AUDITOR);
      expect(await anchor.PAUSER_ROLE()).to.equal(PAUSER);
      expect(await anchor.VERSION()).to.equal("1.2.0");
      expect(await anchor.cosigner()).to.equal(ethers.ZeroAddress);
      await anchor.grantRole(ANCHORER, await anchorer.getAddress());
      await expectRevert(
        as(anchorer).anchorCosigned(1, tree.root(1), [], META(0), "0x" + "11".repeat(65)),
        anchor,
        "CustodyAnchorNoCosigner",
        [],
      );
    });
  });

  describe("views", function () {
    const sizes = [3, 7, 8, 20, 33];
    beforeEach(async function () {
      await anchorSizes(sizes);
    });

    it("verifyInclusion accepts receipts against any head covering the leaf and rejects wrong ones", async function () {
      for (const [h, n] of sizes.entries()) {
        for (let i = 0; i < n; i++) {
          expect(
            await anchor.verifyInclusion(h, i, tree.leaves[i], tree.inclusionProof(i, n)),
            `leaf ${i} head ${h}`,
          ).to.equal(true);
        }
        expect(await anchor.verifyInclusion(h, n, tree.leaves[n], tree.inclusionProof(n - 1, n))).to.equal(
          false,
        );
      }
      expect(await anchor.verifyInclusion(4, 5, tree.leaves[6], tree.inclusionProof(5, 33))).to.equal(false);
      expect(await anchor.verifyInclusion(3, 5, tree.leaves[5], tree.inclusionProof(5, 33))).to.equal(false);
    });

    it("verifyConsistency between any two heads", async function () {
      for (let a = 0; a < sizes.length; a++) {
        for (let b = a; b < sizes.length; b++) {
          const proof = tree.consistencyProof(sizes[a]!, sizes[b]!);
          expect(await anchor.verifyConsistency(a, b, proof), `${a} -> ${b}`).to.equal(true);
          if (a < b) expect(await anchor.verifyConsistency(b, a, proof)).to.equal(false);
          if (proof.length > 0) expect(await anchor.verifyConsistency(a, b, proof.slice(1))).to.equal(false);
        }
      }
    });

    it("unknown head indices revert with CustodyAnchorUnknownHead", async function () {
      const n = sizes.length;
      await expectRevert(anchor.getHead(n), anchor, "CustodyAnchorUnknownHead", [n, n]);
      await expectRevert(
        anchor.verifyInclusion(n, 0, tree.leaves[0], []),
        anchor,
        "CustodyAnchorUnknownHead",
        [n, n],
      );
      await expectRevert(anchor.verifyConsistency(0, n + 1, []), anchor, "CustodyAnchorUnknownHead", [
        n + 1,
        n,
      ]);
      await expectRevert(anchor.verifyConsistency(n, 0, []), anchor, "CustodyAnchorUnknownHead", [n, n]);
      await expectRevert(as(auditor).attest(n, META(0), true), anchor, "CustodyAnchorUnknownHead", [n, n]);
    });

    it("headCovering finds the first head whose tree holds the leaf", async function () {
      for (let leaf = 0; leaf < 33; leaf++) {
        const expected = sizes.findIndex((n) => n > leaf);
        expect(await anchor.headCovering(leaf), `leaf ${leaf}`).to.equal(BigInt(expected));
      }
      await expectRevert(anchor.headCovering(33), anchor, "CustodyAnchorLeafNotCovered", [33, 33]);
      await expectRevert(anchor.headCovering(2n ** 64n - 1n), anchor, "CustodyAnchorLeafNotCovered", [
        2n ** 64n - 1n,
        33,
      ]);
    });
  });

  it("latestHead and headCovering revert when nothing is anchored", async function () {
    expect(await anchor.headCount()).to.equal(0n);
    await expectRevert(anchor.latestHead(), anchor, "CustodyAnchorNoHeads", []);
    await expectRevert(anchor.headCovering(0), anchor, "CustodyAnchorLeafNotCovered", [0, 0]);
    await expectRevert(anchor.getHead(0), anchor, "CustodyAnchorUnknownHead", [0, 0]);
  });

  describe("attest", function () {
    beforeEach(async function () {
      await anchorSizes([4, 9]);
    });

    it("stores and emits the auditor's sign-off, once per auditor and head", async function () {
      const tx = await as(auditor).attest(1, META(42), false);
      const receipt = await tx.wait();
      const block = await ethers.provider.getBlock(receipt!.blockNumber);
      await expectEvent(receipt, "AuditAttested", [1n, await auditor.getAddress(), META(42), false]);
      const a = await anchor.getAttestation(1, await auditor.getAddress());
      expect([a.reportHash, a.passed, a.timestamp]).to.deep.equal([
        META(42),
        false,
        BigInt(block!.timestamp),
      ]);
      await expectRevert(as(auditor).attest(1, META(43), true), anchor, "CustodyAnchorAlreadyAttested", [
        1,
        await auditor.getAddress(),
      ]);
      await as(auditor).attest(0, META(41), true);
      expect((await anchor.getAttestation(0, await auditor.getAddress())).passed).to.equal(true);
      const none = await anchor.getAttestation(0, await stranger.getAddress());
      expect(none.timestamp).to.equal(0n);
    });

    it("only auditors may attest", async function () {
      for (const s of [admin, anchorer, stranger]) {
        await expectRevert(as(s).attest(0, META(1), true), anchor, "AccessControlUnauthorizedAccount", [
          await s.getAddress(),
          AUDITOR,
        ]);
      }
    });
  });

  /**
   * The second root that the RFC 9162 §2.1.4.2 walk computes from `proof`, without its checks on the
   * proof's length: for a malformed proof, the root a dishonest anchorer would submit with it.
   */
  function walkedRoot(m: number, n: number, root1: Hex, proof: Hex[]): Hex {
    let fn = m - 1;
    let sn = n - 1;
    let i = 0;
    let fr = (m & fn) === 0 ? root1 : proof[i++]!;
    while (fn & 1) {
      fn >>>= 1;
      sn >>>= 1;
    }
    let sr = fr;
    for (; i < proof.length; i++) {
      const c = proof[i]!;
      if (fn & 1 || fn === sn) {
        fr = nodeHash(c, fr);
        sr = nodeHash(c, sr);
        while (!(fn & 1) && fn !== 0) {
          fn >>>= 1;
          sn >>>= 1;
        }
      } else {
        sr = nodeHash(sr, c);
      }
      fn >>>= 1;
      sn >>>= 1;
    }
    return sr;
  }

  async function expectEvent(receipt: unknown, name: string, args: unknown[]) {
    const logs = (receipt as { logs: { topics: string[]; data: string }[] }).logs;
    const parsed = logs.map((l) => anchor.interface.parseLog(l)).filter((l) => l?.name === name);
    expect(parsed, `${name} emitted once`).to.have.length(1);
    const norm = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : v);
    expect(parsed[0]!.args.toArray().map(norm)).to.deep.equal(args.map(norm));
  }
});
