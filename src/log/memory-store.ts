import type { Hasher } from "./hash";
import { HASH_SIZE } from "./hash";
import { IndexOutOfRangeError, LogAppendConflictError, LogArgumentError } from "./errors";
import { toHex } from "./hex";
import { checkNodeRange, isSize } from "./math";
import { MemoryTree } from "./tree";
import type { LogStore } from "./store";

/** LogStore held in memory (tests, benches, tools). Same contract as the database stores. */
export class MemoryLogStore implements LogStore {
  readonly tree: MemoryTree;
  private readonly index = new Map<string, number>();

  constructor(hasher?: Hasher) {
    this.tree = new MemoryTree(hasher);
  }

  async size(): Promise<number> {
    return this.tree.size;
  }

  async append(fromIndex: number, leafHashes: readonly Uint8Array[]): Promise<number> {
    if (!isSize(fromIndex)) throw new LogArgumentError("fromIndex must be a non-negative integer");
    if (fromIndex !== this.tree.size) throw new LogAppendConflictError(fromIndex, this.tree.size);
    leafHashes.forEach((h, i) => {
      if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE)
        throw new LogArgumentError(`leafHashes[${i}] must be a 32-byte Uint8Array`);
    });
    for (const h of leafHashes) {
      const key = toHex(h);
      if (!this.index.has(key)) this.index.set(key, this.tree.size);
      this.tree.append(h);
    }
    return this.tree.size;
  }

  async leafHash(index: number): Promise<Uint8Array> {
    return Uint8Array.from(this.tree.leafHash(index));
  }

  async leafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    if (!isSize(from) || !isSize(limit))
      throw new LogArgumentError("from and limit must be non-negative integers");
    const out: Uint8Array[] = [];
    for (let i = from; i < Math.min(from + limit, this.tree.size); i++)
      out.push(Uint8Array.from(this.tree.leafHash(i)));
    return out;
  }

  async root(size?: number): Promise<Uint8Array> {
    return Uint8Array.from(this.tree.root(size));
  }

  async inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]> {
    if (isSize(treeSize) && treeSize > this.tree.size)
      throw new IndexOutOfRangeError(treeSize, this.tree.size + 1, "tree size");
    return this.tree.inclusionProof(leafIndex, treeSize).map((h) => Uint8Array.from(h));
  }

  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    return this.tree.consistencyProof(size1, size2).map((h) => Uint8Array.from(h));
  }

  async nodeHashes(level: number, start: number, count: number): Promise<Uint8Array> {
    checkNodeRange(level, start, count);
    const end = (start + count) * 2 ** level;
    if (end > this.tree.size)
      throw new IndexOutOfRangeError(end - 1, this.tree.size, "last leaf under the nodes");
    const out = new Uint8Array(count * HASH_SIZE);
    for (let i = 0; i < count; i++) out.set(this.tree.node(level, start + i), i * HASH_SIZE);
    return out;
  }

  async findLeaf(leafHash: Uint8Array): Promise<number | undefined> {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE)
      throw new LogArgumentError("leafHash must be a 32-byte Uint8Array");
    return this.index.get(toHex(leafHash));
  }
}
