import { expect } from "chai";
import { ethers } from "hardhat";
import { shouldTransferAdminInTwoSteps } from "./support/admin-rules";
import type { Contract, Signer, TransactionReceipt } from "ethers";
import { ReferenceTree } from "./support/reference-tree";
import { expectRevert } from "./support/errors";

const role = (name: string) => ethers.keccak256(ethers.toUtf8Bytes(name));
const ANCHORER = role("ANCHORER_ROLE");
const PLATFORM = role("PLATFORM_ROLE");
const CUSTODIAN = role("CUSTODIAN_ROLE");
const EUR = ethers.encodeBytes32String("EUR");
const USD = ethers.encodeBytes32String("USD");
const DAY = 20_424; // 2025-12-02
const STATEMENT = ethers.keccak256(ethers.toUtf8Bytes("camt.053 statement"));
const ROOT = ethers.keccak256(ethers.toUtf8Bytes("liabilities root"));

describe("CustodySolvency", function () {
  let admin: Signer, platform: Signer, custodian: Signer, relayer: Signer, stranger: Signer;
  let anchor: Contract, solvency: Contract;
  const tree = ReferenceTree.random(16, 7);

  beforeEach(async function () {
    [admin, platform, custodian, relayer, stranger] = await ethers.getSigners();
    anchor = (await ethers.deployContract("CustodyAnchor", [
      await admin.getAddress(),
      86_400, // admin transfer delay (AccessControlDefaultAdminRules)
      ethers.ZeroAddress,
    ])) as unknown as Contract;
    solvency = (await ethers.deployContract("CustodySolvency", [
      await admin.getAddress(),
      86_400, // admin transfer delay
      await anchor.getAddress(),
    ])) as unknown as Contract;
    await anchor.grantRole(ANCHORER, await admin.getAddress());
    await solvency.grantRole(PLATFORM, await platform.getAddress());
    await solvency.grantRole(CUSTODIAN, await custodian.getAddress());
    await anchor.anchor(10, tree.root(10), [], ethers.ZeroHash);
  });

  const as = (s: Signer) => solvency.connect(s) as Contract;

  function events(receipt: TransactionReceipt | null, name: string) {
    return receipt!.logs
      .map((l) => solvency.interface.parseLog(l))
      .filter((l) => l?.name === name)
      .map((l) => l!.args.toArray().map((v: unknown) => (typeof v === "string" ? v.toLowerCase() : v)));
  }

  async function signAttestation(
    signer: Signer,
    asset: string,
    day: number,
    reserves: bigint,
    statement: string,
  ) {
    const { chainId } = await ethers.provider.getNetwork();
    return signer.signTypedData(
      { name: "CustodySolvency", version: "1", chainId, verifyingContract: await solvency.getAddress() },
      {
        ReservesAttestation: [
          { name: "asset", type: "bytes32" },
          { name: "day", type: "uint32" },
          { name: "reserves", type: "uint128" },
          { name: "statementHash", type: "bytes32" },
        ],
      },
      { asset, day, reserves, statementHash: statement },
    );
  }

  describe("attestReserves", function () {
    it("records the custodian's closing balance and statement hash and emits ReservesAttested", async function () {
      const receipt = await (await as(custodian).attestReserves(EUR, DAY, 1_000n, STATEMENT)).wait();
      expect(events(receipt, "ReservesAttested")).to.deep.equal([
        [EUR, BigInt(DAY), (await custodian.getAddress()).toLowerCase(), 1_000n, STATEMENT],
      ]);
      const r = await solvency.getReserves(EUR, DAY);
      expect(r.amount).to.equal(1_000n);
      expect(r.statementHash).to.equal(STATEMENT);
      expect(r.attested).to.equal(true);
      // No commitment yet: no comparison.
      expect(events(receipt, "ReservesCovered")).to.deep.equal([]);
      expect(events(receipt, "ReservesShortfall")).to.deep.equal([]);
    });

    it("refuses callers without CUSTODIAN_ROLE, the platform included", async function () {
      for (const s of [platform, stranger, admin]) {
        await expectRevert(
          as(s).attestReserves(EUR, DAY, 1n, STATEMENT),
          solvency,
          "AccessControlUnauthorizedAccount",
          [await s.getAddress(), CUSTODIAN],
        );
      }
    });

    it("refuses a second attestation for the same asset and day, and keeps the first", async function () {
      await as(custodian).attestReserves(EUR, DAY, 1_000n, STATEMENT);
      await expectRevert(
        as(custodian).attestReserves(EUR, DAY, 5_000n, ROOT),
        solvency,
        "CustodySolvencyAlreadyAttested",
        [EUR, DAY],
      );
      expect((await solvency.getReserves(EUR, DAY)).amount).to.equal(1_000n);
    });

    it("refuses reserves of 2^96 or more (the stored width)", async function () {
      await expectRevert(
        as(custodian).attestReserves(EUR, DAY, 1n << 96n, STATEMENT),
        solvency,
        "CustodySolvencyReservesTooLarge",
        [1n << 96n],
      );
      await as(custodian).attestReserves(EUR, DAY, (1n << 96n) - 1n, STATEMENT);
      expect((await solvency.getReserves(EUR, DAY)).amount).to.equal((1n << 96n) - 1n);
    });

    it("keeps other assets and days apart", async function () {
      await as(custodian).attestReserves(EUR, DAY, 1_000n, STATEMENT);
      await as(custodian).attestReserves(USD, DAY, 2_000n, STATEMENT);
      await as(custodian).attestReserves(EUR, DAY + 1, 3_000n, STATEMENT);
      expect((await solvency.getReserves(EUR, DAY)).amount).to.equal(1_000n);
      expect((await solvency.getReserves(USD, DAY)).amount).to.equal(2_000n);
      expect((await solvency.getReserves(EUR, DAY + 1)).amount).to.equal(3_000n);
      expect((await solvency.getReserves(USD, DAY + 1)).attested).to.equal(false);
    });
  });

  describe("attestReservesWithSignature", function () {
    it("accepts the custodian's EIP-712 signature submitted by the relayer, naming the custodian", async function () {
      const sig = await signAttestation(custodian, EUR, DAY, 7_000n, STATEMENT);
      const receipt = await (
        await as(relayer).attestReservesWithSignature(EUR, DAY, 7_000n, STATEMENT, sig)
      ).wait();
      expect(events(receipt, "ReservesAttested")).to.deep.equal([
        [EUR, BigInt(DAY), (await custodian.getAddress()).toLowerCase(), 7_000n, STATEMENT],
      ]);
    });

    it("refuses a replayed signature", async function () {
      const sig = await signAttestation(custodian, EUR, DAY, 7_000n, STATEMENT);
      await as(relayer).attestReservesWithSignature(EUR, DAY, 7_000n, STATEMENT, sig);
      await expectRevert(
        as(stranger).attestReservesWithSignature(EUR, DAY, 7_000n, STATEMENT, sig),
        solvency,
        "CustodySolvencyAlreadyAttested",
        [EUR, DAY],
      );
    });

    it("refuses a signature used for another asset, day, amount or statement", async function () {
      const sig = await signAttestation(custodian, EUR, DAY, 7_000n, STATEMENT);
      for (const [asset, day, amount, statement] of [
        [USD, DAY, 7_000n, STATEMENT],
        [EUR, DAY + 1, 7_000n, STATEMENT],
        [EUR, DAY, 70_000n, STATEMENT],
        [EUR, DAY, 7_000n, ROOT],
      ] as const) {
        // The signature recovers to some other address, which holds no role.
        await expectRevert(
          as(relayer).attestReservesWithSignature(asset, day, amount, statement, sig),
          solvency,
          "CustodySolvencyUnauthorizedSigner",
        );
        expect((await solvency.getReserves(asset, day)).attested).to.equal(false);
      }
      // The genuine terms still go through once.
      await as(relayer).attestReservesWithSignature(EUR, DAY, 7_000n, STATEMENT, sig);
    });

    it("refuses a signature by a key without CUSTODIAN_ROLE", async function () {
      const sig = await signAttestation(platform, EUR, DAY, 7_000n, STATEMENT);
      await expectRevert(
        as(relayer).attestReservesWithSignature(EUR, DAY, 7_000n, STATEMENT, sig),
        solvency,
        "CustodySolvencyUnauthorizedSigner",
        [await platform.getAddress()],
      );
    });

    it("refuses a signature made for another contract (domain separation)", async function () {
      const other = (await ethers.deployContract("CustodySolvency", [
        await admin.getAddress(),
        86_400, // admin transfer delay
        await anchor.getAddress(),
      ])) as unknown as Contract;
      await other.grantRole(CUSTODIAN, await custodian.getAddress());
      const sig = await signAttestation(custodian, EUR, DAY, 7_000n, STATEMENT);
      await expectRevert(
        (other.connect(relayer) as Contract).attestReservesWithSignature(EUR, DAY, 7_000n, STATEMENT, sig),
        other,
        "CustodySolvencyUnauthorizedSigner",
      );
    });
  });

  describe("commitSnapshot", function () {
    it("records the snapshot and emits SnapshotCommitted", async function () {
      const receipt = await (await as(platform).commitSnapshot(EUR, DAY, 10, ROOT, 900n, 16)).wait();
      expect(events(receipt, "SnapshotCommitted")).to.deep.equal([[EUR, BigInt(DAY), 10n, ROOT, 900n, 16n]]);
      const c = await solvency.getCommitment(EUR, DAY);
      expect([c.rootHash, c.rootSum, c.logSize, c.leafCount]).to.deep.equal([ROOT, 900n, 10n, 16n]);
    });

    it("refuses callers without PLATFORM_ROLE, the custodian included", async function () {
      for (const s of [custodian, stranger, admin]) {
        await expectRevert(
          as(s).commitSnapshot(EUR, DAY, 10, ROOT, 900n, 16),
          solvency,
          "AccessControlUnauthorizedAccount",
          [await s.getAddress(), PLATFORM],
        );
      }
    });

    it("refuses a log size beyond the latest anchored head", async function () {
      await expectRevert(
        as(platform).commitSnapshot(EUR, DAY, 11, ROOT, 900n, 16),
        solvency,
        "CustodySolvencyLogSizeNotAnchored",
        [11, 10],
      );
      const fresh = (await ethers.deployContract("CustodyAnchor", [
        await admin.getAddress(),
        86_400,
        ethers.ZeroAddress,
      ])) as unknown as Contract;
      const s2 = (await ethers.deployContract("CustodySolvency", [
        await admin.getAddress(),
        86_400, // admin transfer delay
        await fresh.getAddress(),
      ])) as unknown as Contract;
      await s2.grantRole(PLATFORM, await platform.getAddress());
      await expectRevert(
        (s2.connect(platform) as Contract).commitSnapshot(EUR, DAY, 1, ROOT, 0n, 1),
        s2,
        "CustodySolvencyLogSizeNotAnchored",
        [1, 0],
      );
    });

    it("refuses leaf counts that are not a power of two in 1..2^32, and impossible root sums", async function () {
      for (const n of [0n, 3n, 12n, (1n << 32n) + 1n, 1n << 33n]) {
        await expectRevert(
          as(platform).commitSnapshot(EUR, DAY, 10, ROOT, 0n, n),
          solvency,
          "CustodySolvencyInvalidLeafCount",
          [n],
        );
      }
      await expectRevert(
        as(platform).commitSnapshot(EUR, DAY, 10, ROOT, 16n << 64n, 16),
        solvency,
        "CustodySolvencyRootSumOutOfRange",
        [16n << 64n, 16],
      );
      await as(platform).commitSnapshot(EUR, DAY, 10, ROOT, (16n << 64n) - 1n, 16);
    });

    it("refuses a second commitment for the same asset and day, and keeps the first", async function () {
      await as(platform).commitSnapshot(EUR, DAY, 10, ROOT, 900n, 16);
      await expectRevert(
        as(platform).commitSnapshot(EUR, DAY, 5, STATEMENT, 1n, 2),
        solvency,
        "CustodySolvencyAlreadyCommitted",
        [EUR, DAY],
      );
      expect((await solvency.getCommitment(EUR, DAY)).rootSum).to.equal(900n);
      await as(platform).commitSnapshot(USD, DAY, 10, ROOT, 1n, 2);
    });
  });

  describe("coverage", function () {
    it("emits ReservesCovered when the later attestation covers the committed sum (equal counts)", async function () {
      await as(platform).commitSnapshot(EUR, DAY, 10, ROOT, 900n, 16);
      const receipt = await (await as(custodian).attestReserves(EUR, DAY, 900n, STATEMENT)).wait();
      expect(events(receipt, "ReservesCovered")).to.deep.equal([[EUR, BigInt(DAY), 900n, 900n]]);
      expect(events(receipt, "ReservesShortfall")).to.deep.equal([]);
    });

    it("emits ReservesShortfall when the later commitment exceeds the attested reserves", async function () {
      await as(custodian).attestReserves(EUR, DAY, 899n, STATEMENT);
      const receipt = await (await as(platform).commitSnapshot(EUR, DAY, 10, ROOT, 900n, 16)).wait();
      expect(events(receipt, "ReservesShortfall")).to.deep.equal([[EUR, BigInt(DAY), 899n, 900n]]);
      expect(events(receipt, "ReservesCovered")).to.deep.equal([]);
    });

    it("never compares across assets or days", async function () {
      await as(custodian).attestReserves(EUR, DAY, 1n, STATEMENT);
      for (const [asset, day] of [
        [USD, DAY],
        [EUR, DAY + 1],
      ] as const) {
        const receipt = await (await as(platform).commitSnapshot(asset, day, 10, ROOT, 900n, 16)).wait();
        expect(events(receipt, "ReservesShortfall")).to.deep.equal([]);
        expect(events(receipt, "ReservesCovered")).to.deep.equal([]);
      }
    });
  });

  shouldTransferAdminInTwoSteps(() => ({
    contract: solvency,
    admin,
    newAdmin: custodian,
    stranger,
    delay: 86_400,
  }));

  it("reads the bound on log sizes from the anchor's latest head", async function () {
    expect(await anchor.latestTreeSize()).to.equal(10n);
    await anchor.anchor(12, tree.root(12), tree.consistencyProof(10, 12), ethers.ZeroHash);
    expect(await anchor.latestTreeSize()).to.equal(12n);
    await as(platform).commitSnapshot(EUR, DAY, 12, ROOT, 900n, 16);
    expect((await solvency.getCommitment(EUR, DAY)).logSize).to.equal(12n);
  });

  it("exposes its anchor, version and EIP-712 domain", async function () {
    expect(await solvency.custodyAnchor()).to.equal(await anchor.getAddress());
    expect(await solvency.VERSION()).to.equal("1.1.0");
    const { chainId } = await ethers.provider.getNetwork();
    expect(await solvency.domainSeparator()).to.equal(
      ethers.TypedDataEncoder.hashDomain({
        name: "CustodySolvency",
        version: "1",
        chainId,
        verifyingContract: await solvency.getAddress(),
      }),
    );
  });
});
