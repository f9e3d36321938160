import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import hre, { ethers, network } from "hardhat";
import type { Contract, Signer } from "ethers";
import { ReferenceTree, type Hex } from "./support/reference-tree";
import { expectRevert } from "./support/errors";
import { anchorCosignatureDigest } from "../../src/protocol/anchor-cosignature";
import { readAnchorCosigner } from "../../src/chain/actions/read-anchor-cosigner";

const ADMIN_DELAY = 2 * 86_400;
const ANCHORER = ethers.keccak256(ethers.toUtf8Bytes("ANCHORER_ROLE"));
const PAUSER = ethers.keccak256(ethers.toUtf8Bytes("PAUSER_ROLE"));
const META = (i: number): Hex => ethers.zeroPadValue(ethers.toBeHex(i + 1), 32) as Hex;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
// Stated again here, not imported from src/protocol: the contract is checked against the type as
// docs/contracts-v1.md writes it, independently of the TypeScript signer.
const TYPES = {
  AnchorCosignature: [
    { name: "headIndex", type: "uint256" },
    { name: "previousSize", type: "uint64" },
    { name: "newSize", type: "uint64" },
    { name: "newRoot", type: "bytes32" },
    { name: "metadataHash", type: "bytes32" },
  ],
};

interface Head {
  headIndex: number;
  previousSize: number;
  newSize: number;
  newRoot: string;
  metadataHash: string;
}

describe("CustodyAnchor with a cosigner", function () {
  let admin: Signer, anchorer: Signer, custodian: Signer, pauser: Signer, stranger: Signer;
  let anchor: Contract;
  let chainId: bigint;
  const tree = ReferenceTree.random(64, 11);

  beforeEach(async function () {
    [admin, anchorer, custodian, pauser, stranger] = await ethers.getSigners();
    anchor = (await ethers.deployContract("CustodyAnchor", [
      await admin.getAddress(),
      ADMIN_DELAY,
      await custodian.getAddress(),
    ])) as unknown as Contract;
    await anchor.grantRole(ANCHORER, await anchorer.getAddress());
    await anchor.grantRole(PAUSER, await pauser.getAddress());
    chainId = (await ethers.provider.getNetwork()).chainId;
  });

  const as = (s: Signer) => anchor.connect(s) as Contract;

  async function sign(signer: Signer, head: Head, domain: { chainId?: bigint; contract?: string } = {}) {
    return signer.signTypedData(
      {
        name: "CustodyAnchor",
        version: "1",
        chainId: domain.chainId ?? chainId,
        verifyingContract: domain.contract ?? (await anchor.getAddress()),
      },
      TYPES,
      head,
    );
  }

  /** Head `headIndex` of `newSize` leaves after `previousSize`, with the reference tree's root. */
  const head = (headIndex: number, previousSize: number, newSize: number): Head => ({
    headIndex,
    previousSize,
    newSize,
    newRoot: tree.root(newSize),
    metadataHash: META(headIndex),
  });

  const proofFor = (h: Head) =>
    h.previousSize === 0 ? [] : tree.consistencyProof(h.previousSize, h.newSize);

  const send = (h: Head, signature: string, by: Signer = anchorer) =>
    as(by).anchorCosigned(h.newSize, h.newRoot, proofFor(h), h.metadataHash, signature);

  /** The address `signature` recovers to over the digest the contract expects for `h`. */
  async function recovered(h: Head, signature: string) {
    const digest = await anchor.cosignatureDigest(
      h.headIndex,
      h.previousSize,
      h.newSize,
      h.newRoot,
      h.metadataHash,
    );
    return ethers.recoverAddress(digest, signature);
  }

  async function expectWrongCosigner(h: Head, signature: string) {
    const got = await recovered(h, signature);
    expect(got).to.not.equal(await custodian.getAddress());
    await expectRevert(send(h, signature), anchor, "CustodyAnchorWrongCosigner", [
      got,
      await custodian.getAddress(),
    ]);
    expect(await anchor.headCount()).to.equal(0n);
  }

  it("anchors heads carrying the cosigner's signature, with the same checks and event as anchor", async function () {
    expect(await anchor.cosigner()).to.equal(await custodian.getAddress());
    const heads = [head(0, 0, 3), head(1, 3, 8), head(2, 8, 20)];
    for (const h of heads) {
      const receipt = await (await send(h, await sign(custodian, h))).wait();
      const logs = receipt!.logs.map((l: never) => anchor.interface.parseLog(l)).filter(Boolean);
      expect(logs.map((l: { name: string }) => l.name)).to.deep.equal(["HeadAnchored"]);
      expect(logs[0].args.toArray()).to.deep.equal([
        BigInt(h.headIndex),
        BigInt(h.newSize),
        h.newRoot,
        h.metadataHash,
      ]);
    }
    expect(await anchor.headCount()).to.equal(3n);
    expect(await anchor.latestTreeSize()).to.equal(20n);
    expect((await anchor.getHead(1)).rootHash).to.equal(tree.root(8));
    expect(await anchor.verifyInclusion(2, 19, tree.leaves[19], tree.inclusionProof(19, 20))).to.equal(true);
    expect(await anchor.verifyConsistency(0, 2, tree.consistencyProof(3, 20))).to.equal(true);
  });

  it("refuses the anchorer alone: anchor without a cosignature, or signed by the anchorer's own key", async function () {
    const h = head(0, 0, 5);
    await expectRevert(
      as(anchorer).anchor(h.newSize, h.newRoot, [], h.metadataHash),
      anchor,
      "CustodyAnchorCosignatureRequired",
      [await custodian.getAddress()],
    );
    await expectWrongCosigner(h, await sign(anchorer, h));
    // Nor may the cosigner anchor without the anchorer: both keys are needed.
    await expectRevert(
      send(h, await sign(custodian, h), custodian),
      anchor,
      "AccessControlUnauthorizedAccount",
      [await custodian.getAddress(), ANCHORER],
    );
  });

  it("rejects a signature by another key with the address it recovers to", async function () {
    await expectWrongCosigner(head(0, 0, 5), await sign(stranger, head(0, 0, 5)));
  });

  it("rejects the cosigner's signature of another head index, previous size, size, root or metadata", async function () {
    const h = head(0, 0, 5);
    const others: Head[] = [
      { ...h, headIndex: 1 },
      { ...h, previousSize: 1 },
      { ...h, newSize: 6 },
      { ...h, newRoot: tree.root(4) },
      { ...h, metadataHash: META(7) },
    ];
    for (const other of others) await expectWrongCosigner(h, await sign(custodian, other));
  });

  it("rejects the cosigner's signature for another chain or another contract", async function () {
    const h = head(0, 0, 5);
    await expectWrongCosigner(h, await sign(custodian, h, { chainId: 1n }));
    const twin = (await ethers.deployContract("CustodyAnchor", [
      await admin.getAddress(),
      ADMIN_DELAY,
      await custodian.getAddress(),
    ])) as unknown as Contract;
    await expectWrongCosigner(h, await sign(custodian, h, { contract: await twin.getAddress() }));
  });

  it("a cosignature is good once: it cannot be replayed for the next head", async function () {
    const h0 = head(0, 0, 5);
    const sig0 = await sign(custodian, h0);
    await send(h0, sig0);
    // The same head again (same size and root) as head 1 after 5: the cosigner approved head 0 only.
    const h1 = { ...h0, headIndex: 1, previousSize: 5 };
    const got = await recovered(h1, sig0);
    await expectRevert(
      as(anchorer).anchorCosigned(h0.newSize, h0.newRoot, [], h0.metadataHash, sig0),
      anchor,
      "CustodyAnchorWrongCosigner",
      [got, await custodian.getAddress()],
    );
    expect(await anchor.headCount()).to.equal(1n);
  });

  it("rejects malleable (high-s) signatures, v other than 27/28 and other lengths", async function () {
    const h = head(0, 0, 5);
    const sig = ethers.Signature.from(await sign(custodian, h));
    // The same signature's twin (n - s, other v) recovers the same key on a bare ecrecover.
    const highS = ethers.toBeHex(SECP256K1_N - BigInt(sig.s), 32);
    const twin = ethers.concat([sig.r, highS, ethers.toBeHex(sig.v === 27 ? 28 : 27, 1)]);
    await expectRevert(send(h, twin), anchor, "CustodyAnchorCosignatureHighS", [highS]);
    for (const v of [0, 1, 29]) {
      await expectRevert(
        send(h, ethers.concat([sig.r, sig.s, ethers.toBeHex(v, 1)])),
        anchor,
        "CustodyAnchorCosignatureInvalidV",
        [v],
      );
    }
    for (const bytes of [0, 64, 66]) {
      const bad = ethers.hexlify(ethers.getBytes(ethers.concat([sig.serialized, "0x00"])).slice(0, bytes));
      await expectRevert(send(h, bad), anchor, "CustodyAnchorCosignatureLength", [bytes]);
    }
    // EIP-2098 compact form (64 bytes) is refused as a length too.
    await expectRevert(send(h, sig.compactSerialized), anchor, "CustodyAnchorCosignatureLength", [64]);
    // A signature that recovers no address at all: reported as the zero address.
    const garbage = ethers.concat([ethers.ZeroHash, sig.s, ethers.toBeHex(27, 1)]);
    await expectRevert(send(h, garbage), anchor, "CustodyAnchorWrongCosigner", [
      ethers.ZeroAddress,
      await custodian.getAddress(),
    ]);
    await send(h, sig.serialized);
    expect(await anchor.headCount()).to.equal(1n);
  });

  it("a cosignature does not make a bad head acceptable: proofs, sizes and pause still apply", async function () {
    await send(head(0, 0, 5), await sign(custodian, head(0, 0, 5)));
    // A forked root the custodian (wrongly) signed still needs a consistency proof.
    const forked = { ...head(1, 5, 8), newRoot: tree.root(7) };
    await expectRevert(
      send(forked, await sign(custodian, forked)),
      anchor,
      "CustodyAnchorInvalidConsistencyProof",
      [5, tree.root(5), 8, tree.root(7)],
    );
    const shrink = head(1, 5, 4);
    await expectRevert(
      as(anchorer).anchorCosigned(4, tree.root(4), [], META(1), await sign(custodian, shrink)),
      anchor,
      "CustodyAnchorTreeSizeNotIncreasing",
      [5, 4],
    );
    await as(pauser).pause();
    const next = head(1, 5, 8);
    await expectRevert(send(next, await sign(custodian, next)), anchor, "EnforcedPause", []);
    await as(pauser).unpause();
    await send(next, await sign(custodian, next));
    expect(await anchor.headCount()).to.equal(2n);
  });

  it("readAnchorCosigner: the cosigner; zero without one, and for a contract older than 1.2.0 (no cosigner())", async function () {
    const client = (await hre.viem.getPublicClient()) as never;
    expect(await readAnchorCosigner(client, (await anchor.getAddress()) as `0x${string}`)).to.equal(
      await custodian.getAddress(),
    );
    const plain = await ethers.deployContract("CustodyAnchor", [
      await admin.getAddress(),
      ADMIN_DELAY,
      ethers.ZeroAddress,
    ]);
    expect(await readAnchorCosigner(client, (await plain.getAddress()) as `0x${string}`)).to.equal(
      ethers.ZeroAddress,
    );
    // A 1.1.0 CustodyAnchor has no `cosigner()`: its VERSION says so. CustodyEscrow 1.1.0 (VERSION and
    // no cosigner()) stands in for one.
    const escrow = await ethers.deployContract("CustodyEscrow", [await admin.getAddress(), ADMIN_DELAY]);
    expect(await escrow.VERSION()).to.equal("1.1.0");
    expect(await readAnchorCosigner(client, (await escrow.getAddress()) as `0x${string}`)).to.equal(
      ethers.ZeroAddress,
    );
  });

  it("only the anchorer may call anchorCosigned", async function () {
    const h = head(0, 0, 5);
    for (const s of [admin, pauser, stranger]) {
      await expectRevert(send(h, await sign(custodian, h), s), anchor, "AccessControlUnauthorizedAccount", [
        await s.getAddress(),
        ANCHORER,
      ]);
    }
  });

  it("cosignatureDigest matches the TS digest and the shared vectors (test/vectors/anchor-cosignature-v1.json)", async function () {
    const h = head(3, 20, 33);
    const ts = anchorCosignatureDigest({
      chainId: Number(chainId),
      contract: (await anchor.getAddress()) as `0x${string}`,
      headIndex: 3n,
      previousSize: 20n,
      newSize: 33n,
      newRoot: h.newRoot as `0x${string}`,
      metadataHash: h.metadataHash as `0x${string}`,
    });
    expect(await anchor.cosignatureDigest(3, 20, 33, h.newRoot, h.metadataHash)).to.equal(ts);
    // ERC-5267: the domain as tools read it, and ethers' own EIP-712 hashing of it agrees.
    const d = await anchor.eip712Domain();
    expect([
      d.fields,
      d.name,
      d.version,
      d.chainId,
      d.verifyingContract,
      d.salt,
      [...d.extensions],
    ]).to.deep.equal(["0x0f", "CustodyAnchor", "1", chainId, await anchor.getAddress(), ethers.ZeroHash, []]);
    expect(
      ethers.TypedDataEncoder.hash(
        { name: d.name, version: d.version, chainId: d.chainId, verifyingContract: d.verifyingContract },
        TYPES,
        h,
      ),
    ).to.equal(ts);

    const doc = JSON.parse(
      fs.readFileSync(path.join(__dirname, "../vectors/anchor-cosignature-v1.json"), "utf8"),
    ) as {
      signer: string;
      vectors: {
        chainId: number;
        contract: string;
        headIndex: string;
        previousSize: string;
        newSize: string;
        newRoot: string;
        metadataHash: string;
        digest: string;
        signature: string;
      }[];
    };
    // The contract's code (cosigner = the vectors' key) placed at each vector's address; the EIP-712
    // domain follows the address the code runs at.
    const withVectorSigner = (await ethers.deployContract("CustodyAnchor", [
      await admin.getAddress(),
      ADMIN_DELAY,
      doc.signer,
    ])) as unknown as Contract;
    const code = await ethers.provider.getCode(await withVectorSigner.getAddress());
    let checked = 0;
    for (const v of doc.vectors) {
      if (BigInt(v.chainId) !== chainId) continue;
      await network.provider.send("hardhat_setCode", [v.contract, code]);
      const at = withVectorSigner.attach(v.contract) as Contract;
      expect(await at.cosigner()).to.equal(doc.signer);
      expect(
        await at.cosignatureDigest(v.headIndex, v.previousSize, v.newSize, v.newRoot, v.metadataHash),
      ).to.equal(v.digest);
      expect(ethers.recoverAddress(v.digest, v.signature)).to.equal(doc.signer);
      checked++;
    }
    expect(checked).to.equal(4);
  });
});
