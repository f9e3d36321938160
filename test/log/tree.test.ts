import { expect } from "chai";
import fc from "fast-check";
import {
  MemoryTree,
  consistencyRanges,
  inclusionRanges,
  nodesForRanges,
  rangeNodes,
} from "../../src/log/tree";
import { nodeHasher } from "../../src/log/node-hasher";
import { portableHasher } from "../../src/log/hash";
import { toHex } from "../../src/log/hex";
import { IndexOutOfRangeError, InvalidProofInputError } from "../../src/log/errors";
import { verifyConsistency, verifyInclusion } from "../../src/log/verify";
import { makeLeaves, refConsistency, refInclusion, refRoot } from "./reference";

const hexAll = (a: Uint8Array[]) => a.map(toHex);

describe("log/tree", () => {
  const N = 200;
  const leaves = makeLeaves(N);

  it("MemoryTree matches the reference tree: every root, inclusion proof and (to 120) consistency proof, sizes 1..200", () => {
    const tree = new MemoryTree(nodeHasher);
    for (let n = 1; n <= N; n++) {
      tree.append(leaves[n - 1]);
      const prefix = leaves.slice(0, n);
      expect(toHex(tree.root())).to.equal(toHex(refRoot(prefix)));
      for (let i = 0; i < n; i++)
        expect(hexAll(tree.inclusionProof(i))).to.deep.equal(hexAll(refInclusion(prefix, i)));
      if (n <= 120)
        for (let m = 1; m <= n; m++)
          expect(hexAll(tree.consistencyProof(m))).to.deep.equal(hexAll(refConsistency(prefix, m)));
    }
  });

  it("serves proofs for every past size after more appends", () => {
    const tree = new MemoryTree(portableHasher);
    tree.appendMany(leaves);
    expect(toHex(tree.root(0))).to.equal(toHex(refRoot([])));
    for (let n = 1; n <= N; n += 7) {
      const prefix = leaves.slice(0, n);
      expect(toHex(tree.root(n))).to.equal(toHex(refRoot(prefix)));
      for (let i = 0; i < n; i += 3)
        expect(hexAll(tree.inclusionProof(i, n))).to.deep.equal(hexAll(refInclusion(prefix, i)));
      for (let m = 1; m <= n; m += 5)
        expect(hexAll(tree.consistencyProof(m, n))).to.deep.equal(hexAll(refConsistency(prefix, m)));
    }
  });

  it("random larger trees: proofs equal the reference and verify (property)", () => {
    const big = makeLeaves(5000, 7);
    const tree = new MemoryTree(nodeHasher);
    tree.appendMany(big);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.nat(), fc.nat(), (n, a, b) => {
        const prefix = big.slice(0, n);
        const i = a % n;
        const m = (b % n) + 1;
        const root = tree.root(n);
        expect(toHex(root)).to.equal(toHex(refRoot(prefix)));
        const proof = tree.inclusionProof(i, n);
        expect(hexAll(proof)).to.deep.equal(hexAll(refInclusion(prefix, i)));
        verifyInclusion({ leafIndex: i, treeSize: n, leafHash: big[i], proof, rootHash: root });
        const cproof = tree.consistencyProof(m, n);
        expect(hexAll(cproof)).to.deep.equal(hexAll(refConsistency(prefix, m)));
        verifyConsistency({ size1: m, size2: n, root1: tree.root(m), root2: root, proof: cproof });
      }),
      { numRuns: 60 },
    );
  });

  it("plans ranges as RFC 9162 subtrees of perfect nodes", () => {
    expect(inclusionRanges(6, 7)).to.deep.equal([
      [4, 6],
      [0, 4],
    ]);
    expect(consistencyRanges(3, 7)).to.deep.equal([
      [2, 3],
      [3, 4],
      [0, 2],
      [4, 7],
    ]);
    expect(consistencyRanges(4, 8)).to.deep.equal([[4, 8]]);
    expect(consistencyRanges(5, 5)).to.deep.equal([]);
    expect(rangeNodes(4, 7)).to.deep.equal([
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(
      nodesForRanges([
        [0, 4],
        [4, 7],
        [4, 6],
      ]),
    ).to.have.length(3);
    expect(() => rangeNodes(3, 7)).to.throw();
  });

  it("names bad arguments", () => {
    const tree = new MemoryTree();
    tree.appendMany(leaves.slice(0, 5));
    expect(() => tree.inclusionProof(5)).to.throw(IndexOutOfRangeError);
    expect(() => tree.inclusionProof(0, 6)).to.throw(IndexOutOfRangeError);
    expect(() => tree.inclusionProof(0, 0)).to.throw(InvalidProofInputError);
    expect(() => tree.inclusionProof(-1)).to.throw(InvalidProofInputError);
    expect(() => tree.consistencyProof(0, 5)).to.throw(InvalidProofInputError);
    expect(() => tree.consistencyProof(4, 3)).to.throw(InvalidProofInputError);
    expect(() => tree.consistencyProof(1, 6)).to.throw(IndexOutOfRangeError);
    expect(() => tree.root(6)).to.throw(IndexOutOfRangeError);
    expect(() => tree.leafHash(5)).to.throw(IndexOutOfRangeError);
    expect(() => tree.append(new Uint8Array(31))).to.throw(InvalidProofInputError);
    expect(tree.size).to.equal(5);
  });

  it("nodeHasher and portableHasher agree", () => {
    const a = leaves[1];
    const b = leaves[2];
    expect(toHex(nodeHasher.hashChildren(a, b))).to.equal(toHex(portableHasher.hashChildren(a, b)));
    expect(toHex(nodeHasher.hashLeaf(a))).to.equal(toHex(portableHasher.hashLeaf(a)));
    expect(toHex(nodeHasher.hashLeaf(new Uint8Array()))).to.equal(
      toHex(portableHasher.hashLeaf(new Uint8Array())),
    );
    expect(toHex(nodeHasher.emptyRoot())).to.equal(toHex(portableHasher.emptyRoot()));
  });
});
