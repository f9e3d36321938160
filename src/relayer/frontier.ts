import { hash } from "node:crypto";

/**
 * The right edge of an RFC 9162 tree being built leaf by leaf: one perfect-subtree hash per set
 * bit of `size`, largest (leftmost) first. Lets the relayer recompute the root at every anchored
 * size in one streaming pass over the ledger's leaf hashes, with O(log n) memory.
 */
export class MerkleFrontier {
  private readonly stack: Buffer[] = [];
  private n = 0;

  get size(): number {
    return this.n;
  }

  /** Appends a leaf *hash* (already `SHA-256(0x00 ‖ leaf)`). */
  push(leafHash: Uint8Array): void {
    let h: Buffer = Buffer.from(leafHash);
    for (let s = this.n; s & 1; s >>= 1) h = nodeHash(this.stack.pop()!, h);
    this.stack.push(h);
    this.n++;
  }

  /** RFC 9162 Merkle Tree Hash of the leaves pushed so far. */
  root(): Uint8Array {
    if (this.n === 0) return hash("sha256", Buffer.alloc(0), "buffer");
    let r = this.stack[this.stack.length - 1]!;
    for (let i = this.stack.length - 2; i >= 0; i--) r = nodeHash(this.stack[i]!, r);
    return r;
  }
}

const buf = Buffer.alloc(65);
function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 33);
  return hash("sha256", buf, "buffer");
}
