import { expect } from "chai";
import {
  refConsistencyProof,
  refHash,
  refInclusionPath,
  refLeafHash,
  refRoot,
  refVerifyConsistency,
  refVerifyInclusion,
} from "../support/rfc9162";

// The test-side RFC 9162 reference checks the project's proofs; this keeps it able to say "no".
describe("test reference (RFC 9162): agrees with itself and refuses altered proofs", () => {
  const leaves = Array.from({ length: 20 }, (_, i) => refLeafHash(Buffer.from(`entry ${i}`)));
  const flip = (b: Buffer) => {
    const c = Buffer.from(b);
    c[0]! ^= 1;
    return c;
  };

  it("inclusion: every leaf of every size verifies; an altered path or root does not", () => {
    for (let n = 1; n <= leaves.length; n++) {
      const root = refRoot(leaves.slice(0, n));
      for (let m = 0; m < n; m++) {
        const path = refInclusionPath(m, leaves.slice(0, n));
        expect(refVerifyInclusion(m, n, leaves[m]!, path, root)).to.equal(true);
        expect(refVerifyInclusion(m, n, leaves[m]!, path, flip(root))).to.equal(false);
        if (path.length)
          expect(refVerifyInclusion(m, n, leaves[m]!, [flip(path[0]!), ...path.slice(1)], root)).to.equal(
            false,
          );
      }
    }
  });

  it("consistency: every pair of sizes verifies; an altered proof or root does not", () => {
    for (let n = 1; n <= leaves.length; n++) {
      const root2 = refRoot(leaves.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const root1 = refRoot(leaves.slice(0, m));
        const proof = refConsistencyProof(m, leaves.slice(0, n));
        expect(refVerifyConsistency(m, n, root1, root2, proof), `${m}→${n}`).to.equal(true);
        expect(refVerifyConsistency(m, n, flip(root1), root2, proof)).to.equal(false);
        expect(refVerifyConsistency(m, n, root1, flip(root2), proof)).to.equal(false);
        if (proof.length)
          expect(refVerifyConsistency(m, n, root1, root2, [flip(proof[0]!), ...proof.slice(1)])).to.equal(
            false,
          );
      }
    }
  });

  it("reads only lower-case 32-byte hashes", () => {
    expect(refHash(`0x${"ab".repeat(32)}`)).to.have.length(32);
    expect(() => refHash(`0x${"AB".repeat(32)}`)).to.throw();
    expect(() => refHash("0xabcd")).to.throw();
  });
});
