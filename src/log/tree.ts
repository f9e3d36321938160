import { type Hasher, HASH_SIZE, portableHasher } from "./hash";
import { IndexOutOfRangeError, InvalidProofInputError } from "./errors";
import { InvariantError } from "../errors";
import { bitLength, isSize, largestPowerOfTwoBelow } from "./math";

/**
 * Pure RFC 9162 §2.1 tree algorithms: which subtree hashes make up a root or a proof, and an
 * incremental in-memory tree. Browser-safe. Storage (src/log/store*.ts) fetches the same node ids
 * from its tiles, so both produce byte-identical proofs.
 *
 * A *node* (level, index) is the hash of the perfect subtree over leaves
 * [index·2^level, (index+1)·2^level); it exists once the tree has (index+1)·2^level leaves and
 * never changes afterwards (append-only). Every proof element is MTH(D[begin:end]) for a range
 * that RFC 9162's recursion produces; such a range is a run of perfect nodes of decreasing size.
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** Half-open leaf range [begin, end). */
export type LeafRange = readonly [begin: number, end: number];

/**
 * Optional fast path a Hasher may offer: hash the 64 bytes src[srcOffset..+64) as left ‖ right
 * (RFC 9162 node hash) straight into out[outOffset..+32), without allocating.
 */
export interface PairHasher {
  hashPairInto(src: Uint8Array, srcOffset: number, out: Uint8Array, outOffset: number): void;
}

/** Reads perfect-subtree hashes. Requires the node to be complete in the underlying tree. */
export interface NodeReader {
  node(level: number, index: number): Uint8Array;
}

/**
 * The perfect nodes covering [begin, end), left to right. Requires a range produced by the RFC 9162
 * recursion (begin a multiple of the power of two at or above end - begin).
 */
export function rangeNodes(begin: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let pos = begin;
  while (pos < end) {
    const level = bitLength(end - pos) - 1;
    const width = 2 ** level;
    if (pos % width !== 0)
      throw new InvariantError(`range [${begin}, ${end}) is not a subtree of an RFC 9162 tree`);
    out.push({ level, index: pos / width });
    pos += width;
  }
  return out;
}

/** MTH(D[begin:end]) from perfect nodes: the right fold H(n0, H(n1, … nk)). */
export function hashRange(
  reader: NodeReader,
  begin: number,
  end: number,
  hasher: Hasher = portableHasher,
): Uint8Array {
  const nodes = rangeNodes(begin, end);
  let h = reader.node(nodes[nodes.length - 1].level, nodes[nodes.length - 1].index);
  for (let i = nodes.length - 2; i >= 0; i--)
    h = hasher.hashChildren(reader.node(nodes[i].level, nodes[i].index), h);
  return h;
}

function checkIndex(index: number, size: number): void {
  if (!isSize(size) || size < 1)
    throw new InvalidProofInputError("tree size must be an integer >= 1", { details: `got ${String(size)}` });
  if (!isSize(index))
    throw new InvalidProofInputError("leaf index must be a non-negative integer", {
      details: `got ${String(index)}`,
    });
  if (index >= size) throw new IndexOutOfRangeError(index, size);
}

function checkSizes(size1: number, size2: number): void {
  if (!isSize(size1) || size1 < 1)
    throw new InvalidProofInputError("size1 must be an integer >= 1", { details: `got ${String(size1)}` });
  if (!isSize(size2) || size2 < size1)
    throw new InvalidProofInputError("size2 must be an integer >= size1", {
      details: `size1 ${size1}, size2 ${size2}`,
    });
}

/** Ranges of the inclusion proof PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), bottom first. Requires index < size. */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  checkIndex(index, size);
  const out: LeafRange[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      out.push([lo + k, hi]);
      hi = lo + k;
    } else {
      out.push([lo, lo + k]);
      lo += k;
    }
  }
  return out.reverse();
}

/** Ranges of the consistency proof PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1). Requires 1 <= size1 <= size2. */
export function consistencyRanges(size1: number, size2: number): LeafRange[] {
  checkSizes(size1, size2);
  const siblings: LeafRange[] = [];
  let lo = 0;
  let hi = size2;
  let complete = true; // SUBPROOF's b: the old tree is still a prefix we descend along the left edge
  for (;;) {
    if (size1 === hi) {
      const path = siblings.reverse();
      return complete ? path : [[lo, hi], ...path];
    }
    const k = largestPowerOfTwoBelow(hi - lo);
    if (size1 - lo <= k) {
      siblings.push([lo + k, hi]);
      hi = lo + k;
    } else {
      siblings.push([lo, lo + k]);
      lo += k;
      complete = false;
    }
  }
}

/** All node ids a set of ranges needs (deduplicated), for batched reads from storage. */
export function nodesForRanges(ranges: readonly LeafRange[]): NodeId[] {
  const seen = new Set<string>();
  const out: NodeId[] = [];
  for (const [b, e] of ranges) {
    for (const n of rangeNodes(b, e)) {
      const key = `${n.level}:${n.index}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(n);
      }
    }
  }
  return out;
}

/** Root of a tree of `size` leaves from its perfect nodes; the empty root for size 0. */
export function rootFromNodes(reader: NodeReader, size: number, hasher: Hasher = portableHasher): Uint8Array {
  return size === 0 ? hasher.emptyRoot() : hashRange(reader, 0, size, hasher);
}

/**
 * An append-only RFC 9162 tree held in memory: every perfect node at every level, in one flat
 * buffer per level. Appending k leaves costs about k node hashes (never a rebuild); proofs for any
 * past size cost O(log n) reads plus the hashes of at most one right-border range.
 */
export class MemoryTree implements NodeReader {
  private levels: { buf: Uint8Array; count: number }[] = [];
  private n = 0;
  // Right-border range hashes for the size they were computed at (proofs of one size share them).
  private borderSize = -1;
  private border = new Map<number, Uint8Array>();

  private readonly pair?: PairHasher;

  constructor(private readonly hasher: Hasher = portableHasher) {
    if (typeof (hasher as Partial<PairHasher>).hashPairInto === "function")
      this.pair = hasher as Hasher & PairHasher;
  }

  get size(): number {
    return this.n;
  }

  private level(l: number): { buf: Uint8Array; count: number } {
    while (this.levels.length <= l) this.levels.push({ buf: new Uint8Array(HASH_SIZE * 64), count: 0 });
    return this.levels[l];
  }

  /** Makes room for one more node at level l; returns the level. */
  private reserve(l: number): { buf: Uint8Array; count: number } {
    const lv = this.level(l);
    if ((lv.count + 1) * HASH_SIZE > lv.buf.length) {
      const grown = new Uint8Array(lv.buf.length * 2);
      grown.set(lv.buf);
      lv.buf = grown;
    }
    return lv;
  }

  private push(l: number, hash: Uint8Array): void {
    const lv = this.reserve(l);
    lv.buf.set(hash, lv.count * HASH_SIZE);
    lv.count++;
  }

  /** Appends one leaf hash (32 bytes) and the parents it completes. */
  append(leafHash: Uint8Array): void {
    if (leafHash.length !== HASH_SIZE) throw new InvalidProofInputError("leaf hash must be 32 bytes");
    this.push(0, leafHash);
    let idx = this.n;
    let l = 0;
    while (idx % 2 === 1) {
      const lv = this.levels[l];
      if (this.pair) {
        const up = this.reserve(l + 1);
        this.pair.hashPairInto(lv.buf, (idx - 1) * HASH_SIZE, up.buf, up.count * HASH_SIZE);
        up.count++;
      } else {
        const left = lv.buf.subarray((idx - 1) * HASH_SIZE, idx * HASH_SIZE);
        const right = lv.buf.subarray(idx * HASH_SIZE, (idx + 1) * HASH_SIZE);
        this.push(l + 1, this.hasher.hashChildren(left, right));
      }
      idx = (idx - 1) / 2;
      l++;
    }
    this.n++;
  }

  appendMany(leafHashes: Iterable<Uint8Array>): void {
    for (const h of leafHashes) this.append(h);
  }

  /** Hash of the perfect node (level, index). Requires (index + 1)·2^level <= size. Returns a view. */
  node(level: number, index: number): Uint8Array {
    const lv = this.levels[level];
    if (!lv || index >= lv.count)
      throw new IndexOutOfRangeError(index, lv?.count ?? 0, `node at level ${level}`);
    return lv.buf.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }

  leafHash(index: number): Uint8Array {
    if (!isSize(index) || index >= this.n) throw new IndexOutOfRangeError(index, this.n);
    return this.node(0, index);
  }

  private checkSize(size: number): void {
    if (!isSize(size) || size > this.n) throw new IndexOutOfRangeError(size, this.n + 1, "tree size");
  }

  /** MTH(D[0:size]); the empty root for size 0. Requires size <= this.size. */
  root(size: number = this.n): Uint8Array {
    this.checkSize(size);
    return rootFromNodes(this, size, this.hasher);
  }

  private rangeHash(begin: number, end: number): Uint8Array {
    if (end - begin === 2 ** (bitLength(end - begin) - 1))
      return this.node(bitLength(end - begin) - 1, begin / (end - begin));
    if (this.borderSize !== end) {
      this.borderSize = end;
      this.border.clear();
    }
    let h = this.border.get(begin);
    if (!h) {
      h = hashRange(this, begin, end, this.hasher);
      this.border.set(begin, h);
    }
    return h;
  }

  /** Inclusion proof for leaf `index` in the tree of `size` leaves (default: current size). */
  inclusionProof(index: number, size: number = this.n): Uint8Array[] {
    this.checkSize(size);
    checkIndex(index, size);
    // Bottom-up form of PATH: at each level the sibling is a perfect node, or the partial
    // right-border range, or absent (a lone right-edge node is carried up unhashed).
    const proof: Uint8Array[] = [];
    let idx = index;
    let last = size - 1;
    let width = 1;
    let level = 0;
    while (last > 0) {
      const sib = idx % 2 === 1 ? idx - 1 : idx + 1;
      if (sib <= last) {
        const begin = sib * width;
        proof.push(begin + width <= size ? this.node(level, sib) : this.rangeHash(begin, size));
      }
      idx = Math.floor(idx / 2);
      last = Math.floor(last / 2);
      width *= 2;
      level++;
    }
    return proof;
  }

  /** Consistency proof from size1 to size2 (default: current size). Requires 1 <= size1 <= size2 <= size. */
  consistencyProof(size1: number, size2: number = this.n): Uint8Array[] {
    this.checkSize(size2);
    return consistencyRanges(size1, size2).map(([b, e]) => this.rangeHash(b, e));
  }
}
