import type { Hasher } from "../../log/hash";
import { nodeHasher } from "../../log/node-hasher";
import { hashRange, inclusionRanges, type NodeReader } from "../../log/tree";

/** Leaf hashes by position (the ledger's `leafHashes`). */
export interface LeafHashSource {
  leafHashes(from: number, limit: number): Promise<Uint8Array[]>;
}

export interface ProofCacheOptions {
  /**
   * Levels below this are not kept: a proof recomputes them from the 2^lowLevels leaves of its
   * chunk (one range read). Memory is about 64 · n / 2^lowLevels bytes (4 MiB per 10^6 leaves at 4).
   */
  lowLevels?: number;
  hasher?: Hasher;
  /** Leaves read per step while extending (the event loop runs between steps). */
  pageSize?: number;
}

/**
 * In-memory upper levels of the RFC 9162 tree, so that an inclusion proof costs one small range
 * read (the leaf's chunk) and a few dozen hashes instead of O(log n) storage reads. Nodes of
 * perfect subtrees never change in an append-only tree, so the cache only grows; a proof for any
 * size n it covers is exact. Proofs are built from the same RFC 9162 ranges as src/log.
 */
export class ProofCache {
  readonly lowLevels: number;
  private readonly chunk: number;
  private readonly hasher: Hasher;
  private readonly pageSize: number;
  /** levels[k]: the complete nodes of level lowLevels + k, 32 bytes each, left to right. */
  private levels: Uint8Array[] = [];
  private counts: number[] = [];
  /** Leaves covered: a multiple of the chunk width. */
  private covered = 0;
  private extending?: Promise<void>;
  /** Leaves of the last partial chunk per tree size (the right edge of an anchored head). */
  private readonly tails = new Map<number, Uint8Array[]>();

  constructor(
    private readonly source: LeafHashSource,
    opts: ProofCacheOptions = {},
  ) {
    this.lowLevels = opts.lowLevels ?? 4;
    this.chunk = 2 ** this.lowLevels;
    this.hasher = opts.hasher ?? nodeHasher;
    this.pageSize = Math.max(this.chunk, Math.floor((opts.pageSize ?? 16_384) / this.chunk) * this.chunk);
  }

  /** True when proofs for trees of `size` leaves can be served from the cache. */
  covers(size: number): boolean {
    return this.covered >= size - (size % this.chunk);
  }

  /** Grows the cache to cover `size` leaves (whole chunks); concurrent callers share one run. */
  extendTo(size: number): Promise<void> {
    if (this.covers(size)) return Promise.resolve();
    const run = (this.extending ?? Promise.resolve()).then(() => this.grow(size));
    this.extending = run.finally(() => {
      if (this.extending === run) this.extending = undefined;
    });
    return run;
  }

  private push(k: number, node: Uint8Array, at: number): void {
    if (!this.levels[k]) {
      this.levels[k] = new Uint8Array(1024 * 32);
      this.counts[k] = 0;
    }
    let buf = this.levels[k];
    if ((at + 1) * 32 > buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, (at + 1) * 32));
      bigger.set(buf);
      this.levels[k] = buf = bigger;
    }
    buf.set(node, at * 32);
    this.counts[k] = at + 1;
  }

  private async grow(size: number): Promise<void> {
    const target = size - (size % this.chunk);
    while (this.covered < target) {
      const n = Math.min(this.pageSize, target - this.covered);
      const leaves = await this.source.leafHashes(this.covered, n);
      if (leaves.length < n) throw new Error(`leaf source has fewer than ${this.covered + n} leaves`);
      for (let c = 0; c < n; c += this.chunk) {
        const chunkIndex = (this.covered + c) / this.chunk;
        this.push(
          0,
          hashRange(new LeafReader(leaves, c, this.hasher), 0, this.chunk, this.hasher),
          chunkIndex,
        );
        // Complete the parents this node finishes, level by level.
        let k = 0;
        let idx = chunkIndex;
        while (idx % 2 === 1) {
          const buf = this.levels[k];
          const parent = this.hasher.hashChildren(
            buf.subarray((idx - 1) * 32, idx * 32),
            buf.subarray(idx * 32, idx * 32 + 32),
          );
          k++;
          idx = (idx - 1) / 2;
          this.push(k, parent, idx);
        }
      }
      this.covered += n;
      // Let requests run between pages.
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  private async tail(size: number): Promise<Uint8Array[]> {
    const start = size - (size % this.chunk);
    if (start === size) return [];
    let t = this.tails.get(size);
    if (!t) {
      t = await this.source.leafHashes(start, size - start);
      if (this.tails.size >= 64) this.tails.delete(this.tails.keys().next().value as number);
      this.tails.set(size, t);
    }
    return t;
  }

  /** RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves. Requires covers(size). */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    const ranges = inclusionRanges(index, size);
    const chunkStart = index - (index % this.chunk);
    const full = chunkStart + this.chunk <= size;
    const leaves = full ? await this.source.leafHashes(chunkStart, this.chunk) : await this.tail(size);
    const tailStart = size - (size % this.chunk);
    const tail = full && tailStart < size ? await this.tail(size) : full ? [] : leaves;
    return ranges.map(([b, e]) =>
      hashRange(this.reader(chunkStart, leaves, tailStart, tail), b, e, this.hasher),
    );
  }

  /** RFC 9162 root of the first `size` leaves. Requires covers(size) and size >= 1. */
  async root(size: number): Promise<Uint8Array> {
    const tailStart = size - (size % this.chunk);
    const tail = await this.tail(size);
    return hashRange(this.reader(tailStart, tail, tailStart, tail), 0, size, this.hasher);
  }

  private reader(
    chunkStart: number,
    leaves: Uint8Array[],
    tailStart: number,
    tail: Uint8Array[],
  ): NodeReader {
    const lowLevels = this.lowLevels;
    const hasher = this.hasher;
    return {
      node: (level, index) => {
        if (level >= lowLevels) {
          const buf = this.levels[level - lowLevels];
          return buf.subarray(index * 32, index * 32 + 32);
        }
        const first = index * 2 ** level;
        const [base, from] = first >= tailStart ? [tail, tailStart] : [leaves, chunkStart];
        return hashRange(new LeafReader(base, first - from, hasher), 0, 2 ** level, hasher);
      },
    };
  }
}

/** Perfect nodes over an array of leaf hashes starting at `offset` (computed on demand). */
class LeafReader implements NodeReader {
  constructor(
    private readonly leaves: Uint8Array[],
    private readonly offset: number,
    private readonly hasher: Hasher,
  ) {}
  node(level: number, index: number): Uint8Array {
    if (level === 0) return this.leaves[this.offset + index];
    return this.hasher.hashChildren(this.node(level - 1, 2 * index), this.node(level - 1, 2 * index + 1));
  }
}
