import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import fs from "node:fs";
import path from "node:path";
import type { Contract } from "ethers";
import { ReferenceTree, leafHash, nodeHash, type Hex } from "./support/reference-tree";

const VECTORS = path.join(__dirname, "..", "vectors");

interface ReferenceVectors {
  leaves: string[];
  leafHashes: Hex[];
  roots: { size: number; root: Hex }[];
  inclusion: { leafIndex: number; treeSize: number; proof: Hex[] }[];
  consistency: { size1: number; size2: number; proof: Hex[] }[];
}
interface RejectionVectors {
  inclusion: {
    desc: string;
    leafIndex: number;
    treeSize: number;
    leafHash: Hex;
    proof: Hex[];
    rootHash: Hex;
    wantErr: boolean;
  }[];
  consistency: {
    desc: string;
    size1: number;
    size2: number;
    root1: Hex;
    root2: Hex;
    proof: Hex[];
    wantErr: boolean;
  }[];
}

/** Every way a proof can be wrong: one flipped byte, wrong sizes or index, a short or long proof. */
type Mutation = "flip" | "size1" | "size2" | "index" | "truncate" | "extend" | "root";

const isHash32 = (h: string) => /^0x[0-9a-fA-F]{64}$/.test(h);

function flipByte(proof: Hex[], item: number, byte: number): Hex[] {
  const out = [...proof];
  const b = Buffer.from(out[item]!.slice(2), "hex");
  b[byte] = b[byte]! ^ 0x01;
  out[item] = `0x${b.toString("hex")}`;
  return out;
}

describe("LogProof (RFC 9162 verification in Solidity)", function () {
  let harness: Contract;

  before(async function () {
    harness = (await ethers.deployContract("LogProofHarness")) as unknown as Contract;
  });

  it("hashes interior nodes as SHA-256(0x01 ‖ left ‖ right)", async function () {
    const a = leafHash(Buffer.from("a"));
    const b = leafHash(Buffer.from("b"));
    expect(await harness.hashChildren(a, b)).to.equal(nodeHash(a, b));
  });

  describe("known-answer vectors (test/vectors/rfc6962-reference.json)", function () {
    const v = JSON.parse(
      fs.readFileSync(path.join(VECTORS, "rfc6962-reference.json"), "utf8"),
    ) as ReferenceVectors;
    const root = (n: number) => v.roots.find((r) => r.size === n)!.root;

    it("the independent reference tree reproduces the published roots and proofs", function () {
      const tree = new ReferenceTree(v.leaves.map((l) => leafHash(Buffer.from(l.replace(/^0x/, ""), "hex"))));
      expect(tree.leaves).to.deep.equal(v.leafHashes);
      for (const r of v.roots) expect(tree.root(r.size)).to.equal(r.root);
      for (const c of v.inclusion)
        expect(tree.inclusionProof(c.leafIndex, c.treeSize)).to.deep.equal(c.proof);
      for (const c of v.consistency) expect(tree.consistencyProof(c.size1, c.size2)).to.deep.equal(c.proof);
    });

    it("accepts every inclusion proof of the reference tree", async function () {
      expect(v.inclusion.length).to.be.greaterThan(0);
      for (const c of v.inclusion) {
        const ok = await harness.verifyInclusion(
          root(c.treeSize),
          c.treeSize,
          c.leafIndex,
          v.leafHashes[c.leafIndex],
          c.proof,
        );
        expect(ok, `leaf ${c.leafIndex} of ${c.treeSize}`).to.equal(true);
      }
    });

    it("accepts every consistency proof of the reference tree", async function () {
      expect(v.consistency.length).to.be.greaterThan(0);
      for (const c of v.consistency) {
        const ok = await harness.verifyConsistency(c.size1, root(c.size1), c.size2, root(c.size2), c.proof);
        expect(ok, `${c.size1} -> ${c.size2}`).to.equal(true);
      }
    });
  });

  describe("rejection vectors (test/vectors/rfc6962-rejections.json)", function () {
    const file = path.join(VECTORS, "rfc6962-rejections.json");
    const r = JSON.parse(fs.readFileSync(file, "utf8")) as RejectionVectors;

    it("inclusion: accepts exactly the valid cases", async function () {
      expect(r.inclusion.length).to.be.greaterThan(0);
      for (const c of r.inclusion) {
        if (![c.rootHash, c.leafHash, ...c.proof].every(isHash32)) {
          // Malformed hashes cannot even be ABI-encoded as bytes32: the call never reaches the verifier.
          expect(c.wantErr, c.desc).to.equal(true);
          let encoded = true;
          try {
            harness.interface.encodeFunctionData("verifyInclusion", [
              c.rootHash,
              c.treeSize,
              c.leafIndex,
              c.leafHash,
              c.proof,
            ]);
          } catch {
            encoded = false;
          }
          expect(encoded, c.desc).to.equal(false);
          continue;
        }
        const ok = await harness.verifyInclusion(c.rootHash, c.treeSize, c.leafIndex, c.leafHash, c.proof);
        expect(ok, c.desc).to.equal(!c.wantErr);
      }
    });

    it("consistency: accepts exactly the valid cases", async function () {
      expect(r.consistency.length).to.be.greaterThan(0);
      for (const c of r.consistency) {
        const ok = await harness.verifyConsistency(c.size1, c.root1, c.size2, c.root2, c.proof);
        expect(ok, c.desc).to.equal(!c.wantErr);
      }
    });
  });

  describe("properties against the reference tree", function () {
    const N = 64;
    const tree = ReferenceTree.random(256, 1);

    it(`accepts every consistency proof for all sizes 1 <= m <= n <= ${N}`, async function () {
      for (let n = 1; n <= N; n++) {
        for (let m = 1; m <= n; m++) {
          const ok = await harness.verifyConsistency(
            m,
            tree.root(m),
            n,
            tree.root(n),
            tree.consistencyProof(m, n),
          );
          expect(ok, `${m} -> ${n}`).to.equal(true);
        }
      }
    });

    it(`accepts every inclusion proof for all leaves of trees up to ${N}`, async function () {
      for (let n = 1; n <= N; n++) {
        for (let i = 0; i < n; i++) {
          const ok = await harness.verifyInclusion(
            tree.root(n),
            n,
            i,
            tree.leaves[i],
            tree.inclusionProof(i, n),
          );
          expect(ok, `leaf ${i} of ${n}`).to.equal(true);
        }
      }
    });

    it("accepts proofs of random larger trees", async function () {
      const big = ReferenceTree.random(5000, 2);
      await fc.assert(
        fc.asyncProperty(
          fc
            .integer({ min: 1, max: 5000 })
            .chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n))),
          fc.nat(),
          async ([m, n], seed) => {
            const i = seed % n;
            expect(
              await harness.verifyConsistency(m, big.root(m), n, big.root(n), big.consistencyProof(m, n)),
            ).to.equal(true);
            expect(
              await harness.verifyInclusion(big.root(n), n, i, big.leaves[i], big.inclusionProof(i, n)),
            ).to.equal(true);
          },
        ),
        { numRuns: 60, seed: 42 },
      );
    });

    const mutations: Mutation[] = ["flip", "size1", "size2", "truncate", "extend", "root"];

    it("rejects every mutated consistency proof (flipped byte, wrong sizes, truncated, extended, wrong root)", async function () {
      // Exhaustive over small trees: every pair m < n up to 24, every mutation.
      const cases: [number, number, Mutation, number][] = [];
      for (let n = 2; n <= 24; n++)
        for (let m = 1; m < n; m++) for (const mu of mutations) cases.push([m, n, mu, m * 31 + n]);
      // Plus random pairs up to 64 and larger.
      fc.sample(
        fc.tuple(fc.integer({ min: 2, max: 200 }), fc.nat(), fc.constantFrom(...mutations), fc.nat()),
        { numRuns: 300, seed: 7 },
      ).forEach(([n, a, mu, s]) => cases.push([1 + (a % (n - 1)), n, mu, s]));
      for (const [m, n, mu, s] of cases) {
        const proof = tree.consistencyProof(m, n);
        let [m2, n2, p2, r1, r2] = [m, n, proof, tree.root(m), tree.root(n)];
        switch (mu) {
          case "flip":
            p2 = flipByte(proof, s % proof.length, s % 32);
            break;
          case "size1":
            m2 = s % 2 === 0 || m === 1 ? m + 1 : m - 1;
            break;
          case "size2":
            n2 = s % 2 === 0 || n - 1 === m ? n + 1 : n - 1;
            break;
          case "truncate":
            p2 = proof.slice(0, -1);
            break;
          case "extend":
            p2 = [...proof, tree.leaves[s % tree.leaves.length]!];
            break;
          case "root":
            [r1, r2] = s % 2 === 0 ? [tree.root(m + 1), r2] : [r1, tree.root(n + 1)];
            break;
        }
        const ok = await harness.verifyConsistency(m2, r1, n2, r2, p2);
        if (mu === "size1" || mu === "size2") {
          // RFC 9162 proofs do not always pin the sizes: a proof of the same length may verify
          // under other sizes with the same roots (the roots still bind the real trees). A proof
          // of another length never does, nor does the proof with the true roots of those sizes.
          const mutatedLength = m2 <= n2 ? tree.consistencyProof(m2, n2).length : -1;
          if (mutatedLength !== proof.length) expect(ok, `${mu}: ${m} -> ${n}`).to.equal(false);
          const trueRoots = await harness.verifyConsistency(m2, tree.root(m2), n2, tree.root(n2), p2);
          expect(trueRoots && m2 !== n2, `${mu} with true roots: ${m} -> ${n}`).to.equal(false);
          continue;
        }
        expect(ok, `${mu}: ${m} -> ${n}`).to.equal(false);
      }
    });

    it("rejects every mutated inclusion proof (flipped byte, wrong size, wrong index, truncated, extended)", async function () {
      const kinds: Mutation[] = ["flip", "size2", "index", "truncate", "extend"];
      const cases: [number, number, Mutation, number][] = [];
      for (let n = 2; n <= 24; n++)
        for (let i = 0; i < n; i++) for (const mu of kinds) cases.push([i, n, mu, i * 17 + n]);
      fc.sample(fc.tuple(fc.integer({ min: 2, max: 200 }), fc.nat(), fc.constantFrom(...kinds), fc.nat()), {
        numRuns: 300,
        seed: 9,
      }).forEach(([n, a, mu, s]) => cases.push([a % n, n, mu, s]));
      let checked = 0;
      for (const [i, n, mu, s] of cases) {
        const proof = tree.inclusionProof(i, n);
        let [i2, n2, p2] = [i, n, proof];
        switch (mu) {
          case "flip":
            p2 = flipByte(proof, s % proof.length, s % 32);
            break;
          case "size2":
            n2 = s % 2 === 0 ? n + 1 : n - 1;
            break;
          case "index":
            i2 = (i + 1 + (s % (n - 1))) % n;
            break;
          case "truncate":
            p2 = proof.slice(0, -1);
            break;
          case "extend":
            p2 = [...proof, tree.leaves[s % tree.leaves.length]!];
            break;
        }
        if (mu === "size2" && n2 === i) n2 = n + 1; // keep the index inside the claimed tree
        const ok = await harness.verifyInclusion(tree.root(n), n2, i2, tree.leaves[i], p2);
        if (mu === "size2") {
          // As RFC 9162 notes, an inclusion proof does not pin the tree size: a proof of the same
          // length may verify under another size; the stored (size, root) pair binds it. A size
          // that needs a proof of another length, or the true root of that size, never verifies.
          if (tree.inclusionProof(i, n2).length !== proof.length)
            expect(ok, `${mu}: ${i} of ${n}`).to.equal(false);
          const trueRoot = await harness.verifyInclusion(tree.root(n2), n2, i, tree.leaves[i], p2);
          expect(trueRoot, `${mu} with true root: ${i} of ${n}`).to.equal(false);
          checked++;
          continue;
        }
        expect(ok, `${mu}: leaf ${i} of ${n}`).to.equal(false);
        checked++;
      }
      expect(checked).to.equal(cases.length);
    });

    it("rejects an index at or beyond the tree size and any proof for an out-of-range size", async function () {
      const n = 13;
      for (const i of [13, 14, 2 ** 40]) {
        expect(
          await harness.verifyInclusion(tree.root(n), n, i, tree.leaves[0], tree.inclusionProof(0, n)),
        ).to.equal(false);
      }
      expect(await harness.verifyInclusion(tree.root(1), 0, 0, tree.leaves[0], [])).to.equal(false);
      expect(await harness.verifyConsistency(0, tree.root(1), 5, tree.root(5), [])).to.equal(false);
      expect(
        await harness.verifyConsistency(6, tree.root(6), 5, tree.root(5), tree.consistencyProof(5, 6)),
      ).to.equal(false);
      expect(await harness.verifyConsistency(5, tree.root(5), 5, tree.root(5), [])).to.equal(true);
      expect(await harness.verifyConsistency(5, tree.root(5), 5, tree.root(6), [])).to.equal(false);
      expect(await harness.verifyConsistency(5, tree.root(5), 5, tree.root(5), [tree.root(5)])).to.equal(
        false,
      );
      expect(await harness.verifyConsistency(4, tree.root(4), 8, tree.root(8), [])).to.equal(false);
    });
  });
});
