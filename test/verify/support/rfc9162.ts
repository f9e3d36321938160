import { createHash } from "node:crypto";

/**
 * An independent RFC 9162 §2.1 reference, written from the RFC's text for test code only: it shares
 * nothing with src/log, so a receipt accepted by both this and the project's verifier is checked by
 * two implementations. Recursive definitions, no performance concerns.
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

function refNodeHash(left: Uint8Array, right: Uint8Array): Buffer {
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
