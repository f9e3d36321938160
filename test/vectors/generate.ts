/**
 * Regenerates test/vectors/rfc6962-reference.json from the naive reference tree in test/log.
 * Run: npx tsx test/vectors/generate.ts && npx prettier --write test/vectors. The output is checked in; test/log/vectors.test.ts checks
 * it against published values and against the library.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashLeaf } from "../../src/log/hash";
import { toHex } from "../../src/log/hex";
import { refConsistency, refInclusion, refRoot } from "../log/reference";

const LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
];

export function buildReferenceVectors() {
  const leafBytes = LEAVES.map((h) => Uint8Array.from(Buffer.from(h, "hex")));
  const hashes = leafBytes.map(hashLeaf);
  const roots = [];
  const inclusion = [];
  const consistency = [];
  for (let n = 1; n <= hashes.length; n++) {
    const t = hashes.slice(0, n);
    roots.push({ size: n, root: toHex(refRoot(t)) });
    for (let i = 0; i < n; i++)
      inclusion.push({ leafIndex: i, treeSize: n, proof: refInclusion(t, i).map(toHex) });
    for (let m = 1; m <= n; m++)
      consistency.push({ size1: m, size2: n, proof: refConsistency(t, m).map(toHex) });
  }
  return {
    source:
      "RFC 6962 reference tree (the 8 test leaves of Certificate Transparency implementations), computed from the " +
      "RFC 9162 §2.1 definitions with SHA-256. Roots for sizes 1..8 and sample inclusion/consistency proofs agree " +
      "with the published test data of google/certificate-transparency-go (merkletree) and " +
      "transparency-dev/merkle (proof/verify_test.go); see test/log/vectors.test.ts.",
    hash: "sha256",
    emptyRoot: toHex(refRoot([])),
    leaves: LEAVES.map((h) => `0x${h}`),
    leafHashes: hashes.map(toHex),
    roots,
    inclusion,
    consistency,
  };
}

type Case = Record<string, unknown> & { desc: string; wantErr: boolean };

/** Language-neutral rejection (and a few acceptance) cases over the same tree, in the style of transparency-dev's JSON vectors. */
export function buildRejectionVectors() {
  const v = buildReferenceVectors();
  const root = (n: number) => v.roots[n - 1].root;
  const inc = (i: number, n: number) => v.inclusion.find((x) => x.leafIndex === i && x.treeSize === n)!.proof;
  const con = (m: number, n: number) => v.consistency.find((x) => x.size1 === m && x.size2 === n)!.proof;
  const flip = (h: string) => (h.slice(0, -1) + (h.endsWith("0") ? "1" : "0")) as string;
  const inclusion: Case[] = [];
  const I = (
    desc: string,
    leafIndex: number,
    treeSize: number,
    leafHash: string,
    proof: string[],
    rootHash: string,
    wantErr = true,
  ) => inclusion.push({ desc, leafIndex, treeSize, leafHash, proof, rootHash, wantErr });
  I("valid: leaf 5 of 8", 5, 8, v.leafHashes[5], inc(5, 8), root(8), false);
  I("valid: single leaf tree, empty proof", 0, 1, v.leafHashes[0], [], root(1), false);
  I("index equal to size", 8, 8, v.leafHashes[5], inc(5, 8), root(8));
  I("index beyond size", 9, 8, v.leafHashes[5], inc(5, 8), root(8));
  I("size 0", 0, 0, v.leafHashes[0], [], root(1));
  I("wrong index", 4, 8, v.leafHashes[5], inc(5, 8), root(8));
  I("wrong leaf hash", 5, 8, v.leafHashes[4], inc(5, 8), root(8));
  I("leaf bytes instead of leaf hash (no 0x00 prefix)", 0, 1, "0x" + "00".repeat(32), [], root(1));
  I("flipped root", 5, 8, v.leafHashes[5], inc(5, 8), flip(root(8)));
  I("flipped proof hash", 5, 8, v.leafHashes[5], [inc(5, 8)[0], flip(inc(5, 8)[1]), inc(5, 8)[2]], root(8));
  I("proof too short", 5, 8, v.leafHashes[5], inc(5, 8).slice(0, 2), root(8));
  I("proof too long", 5, 8, v.leafHashes[5], [...inc(5, 8), root(8)], root(8));
  I("proof hashes reordered", 5, 8, v.leafHashes[5], inc(5, 8).slice().reverse(), root(8));
  I("root of another size", 5, 8, v.leafHashes[5], inc(5, 8), root(7));
  I(
    "proof hash of 31 bytes",
    5,
    8,
    v.leafHashes[5],
    [inc(5, 8)[0].slice(0, -2), ...inc(5, 8).slice(1)],
    root(8),
  );
  I("non-hex proof hash", 5, 8, v.leafHashes[5], ["0x" + "zz".repeat(32), ...inc(5, 8).slice(1)], root(8));
  I("hash without 0x", 5, 8, v.leafHashes[5].slice(2), inc(5, 8), root(8));
  const consistency: Case[] = [];
  const C = (
    desc: string,
    size1: number,
    size2: number,
    root1: string,
    root2: string,
    proof: string[],
    wantErr = true,
  ) => consistency.push({ desc, size1, size2, root1, root2, proof, wantErr });
  C("valid: 6 to 8", 6, 8, root(6), root(8), con(6, 8), false);
  C("valid: 3 to 7", 3, 7, root(3), root(7), con(3, 7), false);
  C("valid: equal sizes, empty proof", 5, 5, root(5), root(5), [], false);
  C("equal sizes, different roots", 5, 5, root(5), flip(root(5)), []);
  C("equal sizes, non-empty proof", 5, 5, root(5), root(5), [root(5)]);
  C("size1 0", 0, 8, root(1), root(8), []);
  C("size1 greater than size2", 8, 6, root(8), root(6), con(6, 8));
  C("empty proof for different sizes", 6, 8, root(6), root(8), []);
  C("flipped first root", 6, 8, flip(root(6)), root(8), con(6, 8));
  C("flipped second root", 6, 8, root(6), flip(root(8)), con(6, 8));
  C("flipped proof hash", 6, 8, root(6), root(8), [con(6, 8)[0], con(6, 8)[1], flip(con(6, 8)[2])]);
  C("proof too short", 6, 8, root(6), root(8), con(6, 8).slice(0, 2));
  C("proof too long", 6, 8, root(6), root(8), [...con(6, 8), root(8)]);
  C("roots swapped", 6, 8, root(8), root(6), con(6, 8));
  C("proof for other sizes", 2, 5, root(2), root(5), con(6, 8).slice(0, 2));
  C("power-of-two size1 with its root prepended", 4, 8, root(4), root(8), [root(4), ...con(4, 8)]);
  return {
    source: "Cases derived by mutating test/vectors/rfc6962-reference.json (same tree).",
    inclusion,
    consistency,
  };
}

if (require.main === module) {
  for (const [name, data] of [
    ["rfc6962-reference.json", buildReferenceVectors()],
    ["rfc6962-rejections.json", buildRejectionVectors()],
  ] as const) {
    const out = join(__dirname, name);
    writeFileSync(out, JSON.stringify(data, null, 2) + "\n");
    console.log(`wrote ${out}`);
  }
}
