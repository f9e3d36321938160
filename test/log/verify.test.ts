import { expect } from "chai";
import {
  verifyInclusion,
  verifyConsistency,
  rootFromInclusionProof,
  isInclusionValid,
  isConsistencyValid,
} from "../../src/log/verify";
import {
  ProofError,
  RootMismatchError,
  ProofLengthError,
  IndexOutOfRangeError,
  InvalidProofInputError,
} from "../../src/log/errors";
import { toHex } from "../../src/log/hex";
import { makeLeaves, refRoot, refInclusion, refConsistency } from "./reference";

function flip(h: Uint8Array, bit = 0): Uint8Array {
  const c = Uint8Array.from(h);
  c[bit >> 3] ^= 1 << (bit & 7);
  return c;
}

describe("log/verify", () => {
  const leaves = makeLeaves(70);

  it("accepts every inclusion proof of the reference tree up to 70 leaves, as bytes and as hex", () => {
    for (let n = 1; n <= 70; n++) {
      const root = refRoot(leaves.slice(0, n));
      for (let i = 0; i < n; i++) {
        const proof = refInclusion(leaves.slice(0, n), i);
        verifyInclusion({ leafIndex: i, treeSize: n, leafHash: leaves[i], proof, rootHash: root });
        expect(
          toHex(rootFromInclusionProof({ leafIndex: i, treeSize: n, leafHash: leaves[i], proof })),
        ).to.equal(toHex(root));
        if (i % 7 === 0)
          verifyInclusion({
            leafIndex: i,
            treeSize: n,
            leafHash: toHex(leaves[i]).toUpperCase().replace("0X", "0x") as `0x${string}`,
            proof: proof.map(toHex),
            rootHash: toHex(root),
          });
      }
    }
  });

  it("accepts every consistency proof of the reference tree up to 40 leaves", () => {
    for (let n = 1; n <= 40; n++) {
      const root2 = refRoot(leaves.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const proof = refConsistency(leaves.slice(0, n), m);
        verifyConsistency({ size1: m, size2: n, root1: refRoot(leaves.slice(0, m)), root2, proof });
      }
    }
  });

  it("rejects every single-bit corruption, wrong length and wrong index of inclusion proofs", () => {
    for (const n of [1, 2, 3, 5, 8, 13, 33]) {
      const tree = leaves.slice(0, n);
      const root = refRoot(tree);
      for (let i = 0; i < n; i++) {
        const proof = refInclusion(tree, i);
        const base = { leafIndex: i, treeSize: n, leafHash: leaves[i], proof, rootHash: root };
        expect(() => verifyInclusion({ ...base, rootHash: flip(root, 9) })).to.throw(RootMismatchError);
        expect(() => verifyInclusion({ ...base, leafHash: flip(leaves[i], 255) })).to.throw(
          RootMismatchError,
        );
        for (let j = 0; j < proof.length; j++) {
          const bad = proof.slice();
          bad[j] = flip(bad[j], j);
          expect(isInclusionValid({ ...base, proof: bad })).to.equal(false);
        }
        expect(() => verifyInclusion({ ...base, proof: [...proof, root] })).to.throw(ProofLengthError);
        if (proof.length)
          expect(() => verifyInclusion({ ...base, proof: proof.slice(1) })).to.throw(ProofLengthError);
        for (let j = 0; j < n; j++) {
          if (j !== i) expect(isInclusionValid({ ...base, leafIndex: j })).to.equal(false);
        }
        // No check for other tree sizes: an inclusion proof alone does not pin the size (RFC 9162
        // property); the anchored (size, root) pair does.
      }
    }
  });

  it("rejects corrupted consistency proofs and swapped roots", () => {
    for (const n of [2, 3, 7, 8, 9, 21]) {
      const root2 = refRoot(leaves.slice(0, n));
      for (let m = 1; m < n; m++) {
        const root1 = refRoot(leaves.slice(0, m));
        const proof = refConsistency(leaves.slice(0, n), m);
        const base = { size1: m, size2: n, root1, root2, proof };
        expect(() => verifyConsistency({ ...base, root1: flip(root1) })).to.throw(RootMismatchError);
        expect(() => verifyConsistency({ ...base, root2: flip(root2) })).to.throw(RootMismatchError);
        expect(isConsistencyValid({ ...base, root1: root2, root2: root1 })).to.equal(false);
        for (let j = 0; j < proof.length; j++) {
          const bad = proof.slice();
          bad[j] = flip(bad[j], 3);
          expect(isConsistencyValid({ ...base, proof: bad })).to.equal(false);
        }
        expect(() => verifyConsistency({ ...base, proof: [] })).to.throw(ProofLengthError);
        expect(() => verifyConsistency({ ...base, proof: [...proof, root1] })).to.throw(ProofLengthError);
        for (let s = 1; s <= n; s++)
          if (s !== m) expect(isConsistencyValid({ ...base, size1: s })).to.equal(false);
      }
    }
  });

  it("size1 === size2 needs an empty proof and equal roots", () => {
    const r = refRoot(leaves.slice(0, 5));
    verifyConsistency({ size1: 5, size2: 5, root1: r, root2: r, proof: [] });
    expect(() => verifyConsistency({ size1: 5, size2: 5, root1: r, root2: flip(r), proof: [] })).to.throw(
      RootMismatchError,
    );
    expect(() => verifyConsistency({ size1: 5, size2: 5, root1: r, root2: r, proof: [r] })).to.throw(
      ProofLengthError,
    );
  });

  it("names malformed input", () => {
    const h = leaves[0];
    const inc = { leafIndex: 0, treeSize: 1, leafHash: h, proof: [] as Uint8Array[], rootHash: h };
    verifyInclusion(inc);
    expect(() => verifyInclusion({ ...inc, leafIndex: 1 })).to.throw(IndexOutOfRangeError);
    expect(() => verifyInclusion({ ...inc, treeSize: 0 })).to.throw(InvalidProofInputError);
    expect(() => verifyInclusion({ ...inc, leafIndex: -1 })).to.throw(InvalidProofInputError);
    expect(() => verifyInclusion({ ...inc, leafIndex: 0.5 })).to.throw(InvalidProofInputError);
    expect(() => verifyInclusion({ ...inc, treeSize: 2 ** 53 })).to.throw(InvalidProofInputError);
    expect(() => verifyInclusion({ ...inc, rootHash: "0x1234" })).to.throw(InvalidProofInputError);
    expect(() => verifyInclusion({ ...inc, rootHash: `0x${"zz".repeat(32)}` })).to.throw(
      InvalidProofInputError,
    );
    expect(() => verifyInclusion({ ...inc, leafHash: toHex(h).slice(2) as `0x${string}` })).to.throw(
      InvalidProofInputError,
    );
    expect(() => verifyInclusion({ ...inc, leafHash: h.subarray(1) })).to.throw(InvalidProofInputError);
    expect(() => verifyInclusion({ ...inc, proof: "0x" as unknown as Uint8Array[] })).to.throw(
      InvalidProofInputError,
    );
    const two = { leafIndex: 0, treeSize: 2, leafHash: h, rootHash: h };
    expect(() => verifyInclusion({ ...two, proof: [`0x${"0".repeat(63)}g`] })).to.throw(
      InvalidProofInputError,
    );
    const c = { size1: 1, size2: 1, root1: h, root2: h, proof: [] };
    expect(() => verifyConsistency({ ...c, size1: 0 })).to.throw(InvalidProofInputError);
    expect(() => verifyConsistency({ ...c, size1: 2 })).to.throw(InvalidProofInputError);
    expect(isConsistencyValid({ ...c, size2: -1 })).to.equal(false);
    for (const f of [
      () => verifyInclusion({ ...inc, treeSize: 0 }),
      () => verifyConsistency({ ...c, size1: 2 }),
    ]) {
      try {
        f();
        expect.fail("no error");
      } catch (e) {
        expect(e).to.be.instanceOf(ProofError);
        expect((e as ProofError).code).to.equal("PROOF_INVALID_INPUT");
      }
    }
  });

  it("handles sizes beyond 2^32 without 32-bit truncation", () => {
    // A proof for the last leaf of a 2^33+1 tree: the leaf's sibling path is just the left subtree root.
    const n = 2 ** 33 + 1;
    const left = leaves[1];
    const proof = [left];
    const root = rootFromInclusionProof({ leafIndex: n - 1, treeSize: n, leafHash: leaves[0], proof });
    verifyInclusion({ leafIndex: n - 1, treeSize: n, leafHash: leaves[0], proof, rootHash: root });
    expect(
      isInclusionValid({ leafIndex: n - 2, treeSize: n, leafHash: leaves[0], proof, rootHash: root }),
    ).to.equal(false);
  });
});
