import type { Hasher } from "./hash";
import { nodeHasher } from "./node-hasher";

/**
 * The right edge of an RFC 9162 tree being built leaf by leaf: one perfect-subtree hash per set
 * bit of `size`, largest (leftmost) first. Computes the root at every size of a stream of leaf
 * hashes in one pass with O(log n) memory (the relayer's audit of the ledger against every
 * anchored head uses it); for proofs keep a `MemoryTree` or a `LogStore` instead.
 */
export class MerkleFrontier {
  private readonly stack: Uint8Array[] = [];
  private n = 0;

  constructor(private readonly hasher: Hasher = nodeHasher) {}

  get size(): number {
    return this.n;
  }

  /** Appends a leaf *hash* (already `SHA-256(0x00 ‖ leaf)`). */
  push(leafHash: Uint8Array): void {
    let h = leafHash;
    for (let s = this.n; s & 1; s >>= 1) h = this.hasher.hashChildren(this.stack.pop()!, h);
    this.stack.push(h);
    this.n++;
  }

  /** RFC 9162 Merkle Tree Hash of the leaves pushed so far. */
  root(): Uint8Array {
    if (this.n === 0) return this.hasher.emptyRoot();
    let r = this.stack[this.stack.length - 1]!;
    for (let i = this.stack.length - 2; i >= 0; i--) r = this.hasher.hashChildren(this.stack[i]!, r);
    return r;
  }
}
