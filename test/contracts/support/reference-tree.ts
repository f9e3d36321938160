import { createHash } from "node:crypto";

/**
 * Independent RFC 9162 §2.1 reference tree for the contract tests: the recursive definitions
 * (MTH, PATH, SUBPROOF) over node:crypto SHA-256, sharing no code with src/log. Hashes are 0x hex.
 */
export type Hex = `0x${string}`;

const hex = (b: Buffer): Hex => `0x${b.toString("hex")}`;
const buf = (h: string): Buffer => Buffer.from(h.replace(/^0x/, ""), "hex");

export function leafHash(leafBytes: Buffer): Hex {
  return hex(
    createHash("sha256")
      .update(Buffer.concat([Buffer.from([0]), leafBytes]))
      .digest(),
  );
}

export function nodeHash(left: Hex, right: Hex): Hex {
  return hex(
    createHash("sha256")
      .update(Buffer.concat([Buffer.from([1]), buf(left), buf(right)]))
      .digest(),
  );
}

/** Largest power of two strictly below n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export class ReferenceTree {
  private readonly memo = new Map<string, Hex>();
  constructor(readonly leaves: readonly Hex[]) {}

  /** A tree of `n` distinct leaves derived from `seed`. */
  static random(n: number, seed = 0): ReferenceTree {
    const leaves: Hex[] = [];
    for (let i = 0; i < n; i++) leaves.push(leafHash(Buffer.from(`leaf ${seed}/${i}`)));
    return new ReferenceTree(leaves);
  }

  /** MTH(D[lo:hi]); requires hi > lo. */
  root(hi = this.leaves.length, lo = 0): Hex {
    const n = hi - lo;
    if (n === 1) return this.leaves[lo]!;
    const key = `${lo}:${hi}`;
    let h = this.memo.get(key);
    if (!h) {
      const k = split(n);
      h = nodeHash(this.root(lo + k, lo), this.root(hi, lo + k));
      this.memo.set(key, h);
    }
    return h;
  }

  /** PATH(m, D[0:n]): inclusion proof of leaf m in the tree of the first n leaves. */
  inclusionProof(m: number, n: number): Hex[] {
    return this.path(m, 0, n);
  }

  private path(m: number, lo: number, hi: number): Hex[] {
    const n = hi - lo;
    if (n <= 1) return [];
    const k = split(n);
    if (m < k) return [...this.path(m, lo, lo + k), this.root(hi, lo + k)];
    return [...this.path(m - k, lo + k, hi), this.root(lo + k, lo)];
  }

  /** PROOF(m, D[0:n]): consistency proof from the first m leaves to the first n (0 < m <= n). */
  consistencyProof(m: number, n: number): Hex[] {
    return this.subproof(m, 0, n, true);
  }

  private subproof(m: number, lo: number, hi: number, complete: boolean): Hex[] {
    const n = hi - lo;
    if (m === n) return complete ? [] : [this.root(hi, lo)];
    const k = split(n);
    if (m <= k) return [...this.subproof(m, lo, lo + k, complete), this.root(hi, lo + k)];
    return [...this.subproof(m - k, lo + k, hi, false), this.root(lo + k, lo)];
  }
}

/**
 * Proofs for a tree of `n` identical leaves (`leaf`): every subtree hash depends only on its size,
 * so proofs for trees of 2^30 leaves cost O(log^2 n). Used by the gas benchmark.
 */
export class UniformTree {
  private readonly bySize = new Map<number, Hex>();
  constructor(readonly leaf: Hex) {}

  root(n: number): Hex {
    if (n === 1) return this.leaf;
    let h = this.bySize.get(n);
    if (!h) {
      const k = split(n);
      h = nodeHash(this.root(k), this.root(n - k));
      this.bySize.set(n, h);
    }
    return h;
  }

  inclusionProof(m: number, n: number): Hex[] {
    if (n <= 1) return [];
    const k = split(n);
    if (m < k) return [...this.inclusionProof(m, k), this.root(n - k)];
    return [...this.inclusionProof(m - k, n - k), this.root(k)];
  }

  consistencyProof(m: number, n: number, complete = true): Hex[] {
    if (m === n) return complete ? [] : [this.root(n)];
    const k = split(n);
    if (m <= k) return [...this.consistencyProof(m, k, complete), this.root(n - k)];
    return [...this.consistencyProof(m - k, n - k, false), this.root(k)];
  }
}
