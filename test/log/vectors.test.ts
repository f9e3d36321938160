import { expect } from "chai";
import reference from "../vectors/rfc6962-reference.json";
import rejections from "../vectors/rfc6962-rejections.json";
import { hashLeaf, emptyRoot } from "../../src/log/hash";
import { toHex, type Hex } from "../../src/log/hex";
import {
  isConsistencyValid,
  isInclusionValid,
  verifyConsistency,
  verifyInclusion,
} from "../../src/log/verify";
import { buildReferenceVectors, buildRejectionVectors } from "../vectors/generate";

// Published values of the RFC 6962 reference tree, as listed in the test data of
// google/certificate-transparency-go (merkletree) and transparency-dev/merkle (proof/verify_test.go).
const PUBLISHED_ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const A = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7";
const B = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e";
const C = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4";
const D = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b";
const E = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0";
const F = "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7";
const G = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a";
const PUBLISHED_INCLUSION: [number, number, string[]][] = [
  [0, 8, [A, B, C]],
  [5, 8, [D, E, F]],
  [2, 3, [PUBLISHED_ROOTS[1]]],
  [1, 5, [PUBLISHED_ROOTS[0], B, D]],
];
const PUBLISHED_CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, [A, B, C]],
  [6, 8, [G, E, F]],
  [2, 5, [B, D]],
];

const hx = (s: string) => `0x${s}`;

describe("log/vectors (RFC 6962 reference tree)", () => {
  it("the checked-in JSON is what the generator produces", () => {
    expect(reference).to.deep.equal(JSON.parse(JSON.stringify(buildReferenceVectors())));
    expect(rejections).to.deep.equal(JSON.parse(JSON.stringify(buildRejectionVectors())));
  });

  it("matches the published roots, inclusion and consistency proofs", () => {
    expect(reference.emptyRoot).to.equal(toHex(emptyRoot()));
    expect(reference.roots.map((r) => r.root)).to.deep.equal(PUBLISHED_ROOTS.map(hx));
    for (const [i, n, proof] of PUBLISHED_INCLUSION) {
      const v = reference.inclusion.find((x) => x.leafIndex === i && x.treeSize === n)!;
      expect(v.proof).to.deep.equal(proof.map(hx));
    }
    for (const [m, n, proof] of PUBLISHED_CONSISTENCY) {
      const v = reference.consistency.find((x) => x.size1 === m && x.size2 === n)!;
      expect(v.proof).to.deep.equal(proof.map(hx));
    }
  });

  it("covers every (index, size) and every (size1, size2) with 1 <= size1 <= size2 <= 8", () => {
    expect(reference.inclusion).to.have.length(36);
    expect(reference.consistency).to.have.length(36);
    for (let i = 0; i < reference.leaves.length; i++) {
      const bytes = Uint8Array.from(Buffer.from(reference.leaves[i].slice(2), "hex"));
      expect(toHex(hashLeaf(bytes))).to.equal(reference.leafHashes[i]);
    }
  });

  it("the verifier accepts every reference proof", () => {
    for (const v of reference.inclusion) {
      verifyInclusion({
        leafIndex: v.leafIndex,
        treeSize: v.treeSize,
        leafHash: reference.leafHashes[v.leafIndex] as Hex,
        proof: v.proof as Hex[],
        rootHash: reference.roots[v.treeSize - 1].root as Hex,
      });
    }
    for (const v of reference.consistency) {
      verifyConsistency({
        size1: v.size1,
        size2: v.size2,
        root1: reference.roots[v.size1 - 1].root as Hex,
        root2: reference.roots[v.size2 - 1].root as Hex,
        proof: v.proof as Hex[],
      });
    }
  });

  it("the verifier decides every rejection vector as wanted", () => {
    for (const c of rejections.inclusion) {
      const ok = isInclusionValid(c as unknown as Parameters<typeof isInclusionValid>[0]);
      expect(ok, c.desc).to.equal(!c.wantErr);
    }
    for (const c of rejections.consistency) {
      const ok = isConsistencyValid(c as unknown as Parameters<typeof isConsistencyValid>[0]);
      expect(ok, c.desc).to.equal(!c.wantErr);
    }
    expect(rejections.inclusion.filter((c) => c.wantErr).length).to.be.greaterThan(10);
  });
});
