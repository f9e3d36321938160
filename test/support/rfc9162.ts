import { createHash } from "node:crypto";

/**
 * An independent RFC 9162 §2.1 reference, written from the RFC's text for test code only (API,
 * verify and web tests): it deliberately shares nothing with src/log, so what both this and the
 * project's code accept is checked by two implementations. Recursive definitions, no performance
 * concerns.
 */

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
}

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export function refLeafHash(leafBytes: Uint8Array): Buffer {
  return sha256(LEAF_PREFIX, leafBytes);
}

export function refNodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(NODE_PREFIX, left, right);
}

/** Largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over already-hashed leaves (§2.1.1). */
export function refRoot(leafHashes: readonly Uint8Array[]): Buffer {
  const n = leafHashes.length;
  if (n === 0) return sha256();
  if (n === 1) return Buffer.from(leafHashes[0]);
  const k = splitPoint(n);
  return refNodeHash(refRoot(leafHashes.slice(0, k)), refRoot(leafHashes.slice(k)));
}

/** PATH(m, D[n]) (§2.1.3.1). Requires 0 <= m < n. */
export function refInclusionPath(m: number, leafHashes: readonly Uint8Array[]): Buffer[] {
  const n = leafHashes.length;
  if (n <= 1) return [];
  const k = splitPoint(n);
  if (m < k) return [...refInclusionPath(m, leafHashes.slice(0, k)), refRoot(leafHashes.slice(k))];
  return [...refInclusionPath(m - k, leafHashes.slice(k)), refRoot(leafHashes.slice(0, k))];
}

/** The verification algorithm of §2.1.3.2, step by step. Returns false instead of throwing. */
export function refVerifyInclusion(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = refNodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = refNodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(Buffer.from(root));
}

/** PROOF(m, D[n]) (§2.1.4.1): consistency proof from the first m leaves to all n. Requires 0 < m <= n. */
export function refConsistencyProof(m: number, leafHashes: readonly Uint8Array[]): Buffer[] {
  return subproof(m, leafHashes, true);
}

function subproof(m: number, d: readonly Uint8Array[], b: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return b ? [] : [refRoot(d)];
  const k = splitPoint(n);
  if (m <= k) return [...subproof(m, d.slice(0, k), b), refRoot(d.slice(k))];
  return [...subproof(m - k, d.slice(k), false), refRoot(d.slice(0, k))];
}

/** The consistency-proof verification of §2.1.4.2, step by step. Returns false instead of throwing. */
export function refVerifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  if (size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && same(root1, root2);
  if (size1 === 0 || proof.length === 0) return false;
  const path = (size1 & (size1 - 1)) === 0 ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = refNodeHash(c, fr);
      sr = refNodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = refNodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(fr, root1) && same(sr, root2);
}

/** A 32-byte hash from its JSON form; throws unless it is lower-case 0x-hex (the fixed format). */
export function refHash(hex: string): Buffer {
  if (!/^0x[0-9a-f]{64}$/.test(hex)) throw new Error(`not a lower-case 32-byte hash: ${hex}`);
  return Buffer.from(hex.slice(2), "hex");
}
