import { expect } from "chai";
import { ethers } from "hardhat";
import type { Contract } from "ethers";
import { MemoryTree } from "../../src/log/tree";
import { nodeHasher } from "../../src/log/node-hasher";
import { toHex, type Hex } from "../../src/log/hex";
import { isConsistencyValid, isInclusionValid } from "../../src/log/verify";

/**
 * The TypeScript verifier (src/log/verify.ts) and the contract's verifier (LogProof, via its test
 * harness) must accept and reject exactly the same proofs: random valid proofs from the log's own
 * tree, and the same proofs corrupted in every way a caller could get wrong.
 */

// Small deterministic PRNG so a failure is reproducible from the printed case.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const flip = (h: Hex, byte: number): Hex => {
  const b = Buffer.from(h.slice(2), "hex");
  b[byte % 32] ^= 0x01;
  return `0x${b.toString("hex")}`;
};

describe("log cross-check: TypeScript verifier vs contract verifier", function () {
  let harness: Contract;
  const tree = new MemoryTree(nodeHasher);
  const N = 700;

  before(async function () {
    harness = (await ethers.deployContract("LogProofHarness")) as unknown as Contract;
    for (let i = 0; i < N; i++) tree.append(nodeHasher.hashLeaf(Buffer.from(`leaf ${i}`)));
  });

  it("agree on random valid and corrupted inclusion proofs", async function () {
    const r = rng(9162);
    const pick = (n: number) => Math.floor(r() * n);
    let accepted = 0;
    let rejected = 0;
    for (let c = 0; c < 120; c++) {
      const size = 1 + pick(N);
      const index = pick(size);
      const proof = tree.inclusionProof(index, size).map(toHex);
      const leafHash = toHex(tree.leafHash(index));
      const root = toHex(tree.root(size));
      const variants: { leafIndex: number; treeSize: number; leafHash: Hex; proof: Hex[]; rootHash: Hex }[] =
        [
          { leafIndex: index, treeSize: size, leafHash, proof, rootHash: root },
          { leafIndex: index, treeSize: size, leafHash, proof, rootHash: flip(root, pick(32)) },
          { leafIndex: index, treeSize: size, leafHash: flip(leafHash, pick(32)), proof, rootHash: root },
          { leafIndex: (index + 1 + pick(size)) % size, treeSize: size, leafHash, proof, rootHash: root },
          { leafIndex: index, treeSize: size + 1 + pick(5), leafHash, proof, rootHash: root },
          { leafIndex: size, treeSize: size, leafHash, proof, rootHash: root },
          { leafIndex: index, treeSize: size, leafHash, proof: [...proof, root], rootHash: root },
        ];
      if (proof.length > 0) {
        const j = pick(proof.length);
        variants.push({
          leafIndex: index,
          treeSize: size,
          leafHash,
          proof: proof.map((h, k) => (k === j ? flip(h, pick(32)) : h)),
          rootHash: root,
        });
        variants.push({
          leafIndex: index,
          treeSize: size,
          leafHash,
          proof: proof.slice(0, -1),
          rootHash: root,
        });
      }
      for (const v of variants) {
        const ts = isInclusionValid(v);
        const sol: boolean = await harness.verifyInclusion(
          v.rootHash,
          v.treeSize,
          v.leafIndex,
          v.leafHash,
          v.proof,
        );
        expect(sol, JSON.stringify(v)).to.equal(ts);
        ts ? accepted++ : rejected++;
      }
    }
    // Both outcomes must have been exercised for the comparison to mean anything.
    expect(accepted).to.be.greaterThan(100);
    expect(rejected).to.be.greaterThan(500);
  });

  it("agree on random valid and corrupted consistency proofs", async function () {
    const r = rng(6962);
    const pick = (n: number) => Math.floor(r() * n);
    let accepted = 0;
    let rejected = 0;
    for (let c = 0; c < 120; c++) {
      const size2 = 1 + pick(N);
      const size1 = 1 + pick(size2);
      const proof = tree.consistencyProof(size1, size2).map(toHex);
      const root1 = toHex(tree.root(size1));
      const root2 = toHex(tree.root(size2));
      const variants: { size1: number; size2: number; root1: Hex; root2: Hex; proof: Hex[] }[] = [
        { size1, size2, root1, root2, proof },
        { size1, size2, root1: flip(root1, pick(32)), root2, proof },
        { size1, size2, root1, root2: flip(root2, pick(32)), proof },
        { size1, size2, root1: root2, root2: root1, proof },
        { size1: size1 > 1 ? size1 - 1 : size1 + 1, size2, root1, root2, proof },
        { size1, size2: size2 + 1 + pick(4), root1, root2, proof },
        { size1, size2, root1, root2, proof: [...proof, root1] },
        { size1: size2, size2: size1, root1: root2, root2: root1, proof },
      ];
      if (proof.length > 0) {
        const j = pick(proof.length);
        variants.push({
          size1,
          size2,
          root1,
          root2,
          proof: proof.map((h, k) => (k === j ? flip(h, pick(32)) : h)),
        });
        variants.push({ size1, size2, root1, root2, proof: proof.slice(1) });
        variants.push({ size1, size2, root1, root2, proof: [] });
      }
      for (const v of variants) {
        const ts = isConsistencyValid(v);
        const sol: boolean = await harness.verifyConsistency(v.size1, v.root1, v.size2, v.root2, v.proof);
        expect(sol, JSON.stringify(v)).to.equal(ts);
        ts ? accepted++ : rejected++;
      }
    }
    expect(accepted).to.be.greaterThan(100);
    expect(rejected).to.be.greaterThan(500);
  });

  it("agree on the edge cases: empty trees, size1 = 0, equal sizes", async function () {
    const h = toHex(tree.leafHash(0));
    const r5 = toHex(tree.root(5));
    const inc: [number, number, Hex, Hex[], Hex][] = [
      [0, 0, h, [], h],
      [0, 1, h, [], h],
      [1, 1, h, [], h],
    ];
    for (const [i, n, leaf, proof, root] of inc) {
      const ts = isInclusionValid({ leafIndex: i, treeSize: n, leafHash: leaf, proof, rootHash: root });
      expect(await harness.verifyInclusion(root, n, i, leaf, proof), `inclusion ${i}/${n}`).to.equal(ts);
    }
    const con: [number, Hex, number, Hex, Hex[]][] = [
      [0, r5, 5, r5, []],
      [0, toHex(nodeHasher.emptyRoot()), 5, r5, []],
      [5, r5, 5, r5, []],
      [5, r5, 5, flip(r5, 0), []],
      [5, r5, 5, r5, [r5]],
      [0, r5, 0, r5, []],
    ];
    for (const [m, a, n, b, proof] of con) {
      const ts = isConsistencyValid({ size1: m, size2: n, root1: a, root2: b, proof });
      expect(await harness.verifyConsistency(m, a, n, b, proof), `consistency ${m}->${n}`).to.equal(ts);
    }
  });
});
