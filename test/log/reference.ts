import { hashChildren, hashLeaf, emptyRoot } from "../../src/log/hash";

/**
 * Naive RFC 9162 §2.1 reference tree, written straight from the recursive definitions (MTH, PATH,
 * SUBPROOF). Test code only: it recomputes everything and is the oracle for the real code.
 */
function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}

// Memo per leaves array, so property tests over all proofs of a few hundred leaves stay cheap.
const memo = new WeakMap<readonly Uint8Array[], Map<string, Uint8Array>>();

/** MTH(D[lo:hi]) over leaf hashes. */
export function refRoot(leaves: readonly Uint8Array[], lo = 0, hi = leaves.length): Uint8Array {
  const n = hi - lo;
  if (n === 0) return emptyRoot();
  if (n === 1) return leaves[lo];
  let m = memo.get(leaves);
  if (!m) memo.set(leaves, (m = new Map()));
  const key = `${lo}:${hi}`;
  let h = m.get(key);
  if (!h) {
    const s = k(n);
    h = hashChildren(refRoot(leaves, lo, lo + s), refRoot(leaves, lo + s, hi));
    m.set(key, h);
  }
  return h;
}

/** PATH(m, D[lo:hi]). */
export function refInclusion(
  leaves: readonly Uint8Array[],
  m: number,
  lo = 0,
  hi = leaves.length,
): Uint8Array[] {
  const n = hi - lo;
  if (n <= 1) return [];
  const s = k(n);
  if (m < s) return [...refInclusion(leaves, m, lo, lo + s), refRoot(leaves, lo + s, hi)];
  return [...refInclusion(leaves, m - s, lo + s, hi), refRoot(leaves, lo, lo + s)];
}

function subproof(
  leaves: readonly Uint8Array[],
  m: number,
  lo: number,
  hi: number,
  b: boolean,
): Uint8Array[] {
  const n = hi - lo;
  if (m === n) return b ? [] : [refRoot(leaves, lo, hi)];
  const s = k(n);
  if (m <= s) return [...subproof(leaves, m, lo, lo + s, b), refRoot(leaves, lo + s, hi)];
  return [...subproof(leaves, m - s, lo + s, hi, false), refRoot(leaves, lo, lo + s)];
}

/** PROOF(m, D[0:n]) for 0 < m <= n (empty for m = n). */
export function refConsistency(leaves: readonly Uint8Array[], m: number, n = leaves.length): Uint8Array[] {
  return subproof(leaves, m, 0, n, true);
}

/** Leaf hashes of `n` distinct leaves (leaf bytes = 4-byte big-endian index, offset by `seed`). */
export function makeLeaves(n: number, seed = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, seed);
    new DataView(b.buffer).setUint32(4, i);
    out.push(hashLeaf(b));
  }
  return out;
}
