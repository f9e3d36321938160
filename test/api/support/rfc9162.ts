import { createHash } from "node:crypto";

/**
 * An independent RFC 9162 §2.1 implementation for tests only: written from the RFC text, it shares
 * no code with src/log, so a receipt that passes here passes any conforming verifier.
 */
const sha256 = (...parts: Buffer[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

export const leafHash = (leaf: Buffer) => sha256(Buffer.from([0]), leaf);
export const nodeHash = (l: Buffer, r: Buffer) => sha256(Buffer.from([1]), l, r);

const hex = (b: Buffer) => `0x${b.toString("hex")}` as `0x${string}`;
const buf = (h: string) => {
  if (!/^0x[0-9a-f]{64}$/.test(h)) throw new Error(`not a lower-case 32-byte hash: ${h}`);
  return Buffer.from(h.slice(2), "hex");
};

/** MTH(D[n]) over leaf hashes (RFC 9162 §2.1.1). */
export function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** PATH(m, D[n]) (RFC 9162 §2.1.3.1). */
export function path(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k
    ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

/** The verification algorithm of RFC 9162 §2.1.3.2, step by step. Returns true iff the proof checks. */
export function verifyInclusion(p: {
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  proof: string[];
  rootHash: string;
}): boolean {
  if (p.leafIndex >= p.treeSize) return false;
  let fn = p.leafIndex;
  let sn = p.treeSize - 1;
  let r = buf(p.leafHash);
  for (const ph of p.proof) {
    const pb = buf(ph);
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(pb, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, pb);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(buf(p.rootHash));
}

/** The consistency-proof verification of RFC 9162 §2.1.4.2. */
export function verifyConsistency(p: {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
}): boolean {
  if (p.size1 > p.size2) return false;
  if (p.size1 === p.size2) return p.proof.length === 0 && p.root1 === p.root2;
  if (p.size1 === 0) return false;
  let proof = p.proof.map(buf);
  if (proof.length === 0) return false;
  if ((p.size1 & (p.size1 - 1)) === 0) proof = [buf(p.root1), ...proof];
  let fn = p.size1 - 1;
  let sn = p.size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = proof[0];
  let sr = proof[0];
  for (const c of proof.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(buf(p.root1)) && sr.equals(buf(p.root2));
}

export { hex as toHex };
