import { LogBehindError } from "./errors";
import type { Hasher } from "./hash";
import { nodeHasher } from "./node-hasher";
import { hashRange, inclusionRanges, type NodeReader } from "./tree";

/** Leaf hashes by position (the ledger's `leafHashes`). */
export interface LeafHashSource {
  leafHashes(from: number, limit: number): Promise<Uint8Array[]>;
}

export interface ProofCacheOptions {
  /**
   * Levels below this are not kept: a proof recomputes them from the 2^lowLevels leaves of its
   * chunk (one range read). Memory is about 64 · n / 2^lowLevels bytes. Default: 0 (everything in
   * memory, plus a leaf-hash index: ~112 bytes per leaf) while that fits `memoryBudgetBytes` for
   * the size first asked for, else the fewest low levels that fit.
   */
  lowLevels?: number;
  /** Default 512 MiB. */
  memoryBudgetBytes?: number;
  hasher?: Hasher;
  /** Leaves read per step while extending (the event loop runs between steps); default 8192. */
  pageSize?: number;
}

/**
 * In-memory upper levels of the RFC 9162 tree, so that an inclusion proof costs one small range
 * read (the leaf's chunk) and a few dozen hashes instead of O(log n) storage reads. Nodes of
 * perfect subtrees never change in an append-only tree, so the cache only grows; a proof for any
 * size n it covers is exact. Proofs are built from the same RFC 9162 ranges as src/log.
 */
export class ProofCache {
  private lowLevelsChoice?: number;
  private chunk = 1;
  private readonly budget: number;
  private index?: LeafIndex;
  private readonly hasher: Hasher;
  private pageSize: number;
  /** levels[k]: the complete nodes of level lowLevels + k, 32 bytes each, left to right. */
  private levels: Uint8Array[] = [];
  private counts: number[] = [];
  /** Leaves covered: a multiple of the chunk width. */
  private covered = 0;
  private extending?: Promise<void>;
  /** Leaves of the last partial chunk per tree size (the right edge of an anchored head). */
  private readonly tails = new Map<number, Uint8Array[]>();
  /** Hashes of right-edge ranges per (size, begin): the same for every proof against one head. */
  private readonly edges = new Map<string, Uint8Array>();

  constructor(
    private readonly source: LeafHashSource,
    opts: ProofCacheOptions = {},
  ) {
    this.hasher = opts.hasher ?? nodeHasher;
    this.budget = opts.memoryBudgetBytes ?? 512 * 2 ** 20;
    this.pageSize = opts.pageSize ?? 8192;
    if (opts.lowLevels !== undefined) this.choose(opts.lowLevels);
  }

  private choose(low: number): void {
    this.lowLevelsChoice = low;
    this.chunk = 2 ** low;
    this.pageSize = Math.max(this.chunk, Math.floor(this.pageSize / this.chunk) * this.chunk);
    // With every leaf in memory, a leaf hash is found without storage too.
    if (low === 0) this.index = new LeafIndex();
  }

  /** Leaves whose levels are in memory. */
  get coveredLeaves(): number {
    return this.covered;
  }

  /** Levels recomputed per proof (undefined until the first extension picks it). */
  get lowLevels(): number | undefined {
    return this.lowLevelsChoice;
  }

  /** True when proofs for trees of `size` leaves can be served from the cache. */
  covers(size: number): boolean {
    if (this.lowLevelsChoice === undefined) return false;
    return this.covered >= size - (size % this.chunk);
  }

  /**
   * The index of a leaf hash among the covered leaves (the first, if repeated), or undefined when
   * it is not among them or the leaves are not kept in memory.
   */
  findLeaf(leafHash: Uint8Array): number | undefined {
    const leaves = this.levels[0];
    if (!this.index || !leaves) return undefined;
    return this.index.find(leafHash, (i) => {
      for (let b = 0; b < 32; b++) if (leaves[i * 32 + b] !== leafHash[b]) return false;
      return true;
    });
  }

  /** Grows the cache to cover `size` leaves (whole chunks); concurrent callers share one run. */
  extendTo(size: number): Promise<void> {
    if (this.covers(size)) return Promise.resolve();
    const run = (this.extending ?? Promise.resolve()).then(() => this.grow(size));
    // The chain itself never rejects (a caller that drops `run` must not leave an unhandled rejection).
    const settled: Promise<void> = run.then(
      () => {},
      () => {},
    );
    this.extending = settled;
    void settled.then(() => {
      if (this.extending === settled) this.extending = undefined;
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
    if (this.lowLevelsChoice === undefined) {
      let low = 0;
      if (112 * size > this.budget) low = Math.ceil(Math.log2((64 * size) / this.budget));
      this.choose(low);
    }
    const target = size - (size % this.chunk);
    while (this.covered < target) {
      const n = Math.min(this.pageSize, target - this.covered);
      const leaves = await this.source.leafHashes(this.covered, n);
      if (leaves.length < n) throw new LogBehindError(this.covered + n, this.covered + leaves.length);
      for (let c = 0; c < n; c += this.chunk) {
        const chunkIndex = (this.covered + c) / this.chunk;
        this.push(
          0,
          hashRange(new LeafReader(leaves, c, this.hasher), 0, this.chunk, this.hasher),
          chunkIndex,
        );
        this.index?.add(leaves[c], chunkIndex);
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
    const reader = this.reader(chunkStart, leaves, tailStart, tail);
    return ranges.map(([b, e]) => {
      // Ranges ending at the tree's right edge are shared by every proof for this size.
      if (e !== size) return hashRange(reader, b, e, this.hasher);
      const key = `${size}:${b}`;
      let h = this.edges.get(key);
      if (!h) {
        h = hashRange(reader, b, e, this.hasher);
        if (this.edges.size >= 4096) this.edges.clear();
        this.edges.set(key, h);
      }
      return h;
    });
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
    const lowLevels = this.lowLevelsChoice!;
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

/**
 * Open-addressing hash table from the first 8 bytes of a leaf hash to its index; the caller
 * confirms the full hash, so prefix collisions only cost a probe. 16 bytes per slot, load ≤ 1/2.
 */
class LeafIndex {
  private keys = new Uint32Array(2 * 1024);
  private vals = new Float64Array(1024).fill(-1);
  private mask = 1023;
  private count = 0;

  private static slot(hi: number, lo: number, mask: number): number {
    return (Math.imul(hi ^ Math.imul(lo, 0x9e3779b1), 0x85ebca6b) >>> 0) & mask;
  }

  add(hash: Uint8Array, index: number): void {
    if (2 * (this.count + 1) > this.vals.length) this.resize();
    this.insert(word(hash, 0), word(hash, 4), index);
    this.count++;
  }

  private insert(hi: number, lo: number, index: number): void {
    let s = LeafIndex.slot(hi, lo, this.mask);
    while (this.vals[s] !== -1) s = (s + 1) & this.mask;
    this.keys[2 * s] = hi;
    this.keys[2 * s + 1] = lo;
    this.vals[s] = index;
  }

  private resize(): void {
    const { keys, vals } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.vals = new Float64Array(vals.length * 2).fill(-1);
    this.mask = this.vals.length - 1;
    // Re-inserting in slot order keeps earlier indices first along each probe run.
    const entries: [number, number, number][] = [];
    for (let s = 0; s < vals.length; s++)
      if (vals[s] !== -1) entries.push([keys[2 * s], keys[2 * s + 1], vals[s]]);
    entries.sort((a, b) => a[2] - b[2]);
    for (const [hi, lo, v] of entries) this.insert(hi, lo, v);
  }

  find(hash: Uint8Array, confirm: (index: number) => boolean): number | undefined {
    const hi = word(hash, 0);
    const lo = word(hash, 4);
    for (let s = LeafIndex.slot(hi, lo, this.mask); this.vals[s] !== -1; s = (s + 1) & this.mask) {
      if (this.keys[2 * s] === hi && this.keys[2 * s + 1] === lo && confirm(this.vals[s]))
        return this.vals[s];
    }
    return undefined;
  }
}

function word(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
