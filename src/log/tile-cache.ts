import { type Hasher, HASH_SIZE } from "./hash";
import { LogCorruptError } from "./errors";
import { type BorderTile, TILE_HEIGHT, TILE_WIDTH, borderTileKeys, tileKeyString } from "./tiles";
import type { NodeReader, PairHasher } from "./tree";

/**
 * A stored tile with the perfect nodes between its entries and the next tile level (tree levels
 * 4T+1 … 4T+3), computed once on first use: any node inside it is then a lookup, not up to 7 hashes.
 * Entries and inner nodes share one buffer (one allocation per cached tile: 960 bytes when full).
 */
export class ExpandedTile {
  /** Entries, then row 1, row 2, … (row l: the floor(width / 2^l) complete nodes l levels up). */
  private readonly buf: Uint8Array;
  private readonly rowStart: number[] = [0];
  private readonly rowCount: number[];
  private expanded = false;

  constructor(
    entries: Uint8Array,
    private readonly hasher: Hasher,
  ) {
    const width = entries.length / HASH_SIZE;
    this.rowCount = [width];
    let total = width;
    for (let l = 1; l < TILE_HEIGHT; l++) {
      this.rowStart.push(total * HASH_SIZE);
      this.rowCount.push(Math.floor(this.rowCount[l - 1] / 2));
      total += this.rowCount[l];
    }
    this.buf = new Uint8Array(total * HASH_SIZE);
    this.buf.set(entries);
  }

  /** Number of stored entries. */
  get width(): number {
    return this.rowCount[0];
  }

  /** The stored entries (width·32 bytes). */
  get entries(): Uint8Array {
    return this.buf.subarray(0, this.rowCount[0] * HASH_SIZE);
  }

  private expand(): void {
    const pair = typeof (this.hasher as Partial<PairHasher>).hashPairInto === "function";
    const b = this.buf;
    for (let l = 1; l < TILE_HEIGHT; l++) {
      const below = this.rowStart[l - 1];
      const at = this.rowStart[l];
      for (let j = 0; j < this.rowCount[l]; j++) {
        const src = below + 2 * j * HASH_SIZE;
        if (pair) (this.hasher as Hasher & PairHasher).hashPairInto(b, src, b, at + j * HASH_SIZE);
        else
          b.set(
            this.hasher.hashChildren(
              b.subarray(src, src + HASH_SIZE),
              b.subarray(src + HASH_SIZE, src + 2 * HASH_SIZE),
            ),
            at + j * HASH_SIZE,
          );
      }
    }
    this.expanded = true;
  }

  /** Node `offset` at `level` (0 … TILE_HEIGHT-1) above the entries, or undefined if not complete. */
  node(level: number, offset: number): Uint8Array | undefined {
    if (offset >= this.rowCount[level]) return undefined;
    if (level > 0 && !this.expanded) this.expand();
    const at = this.rowStart[level] + offset * HASH_SIZE;
    return this.buf.subarray(at, at + HASH_SIZE);
  }
}

/** Numeric map key of tile (level, index); tile levels stay below 16 for sizes up to 2^53. */
export const tileKey = (level: number, index: number): number => index * 16 + level;

/**
 * Bounded cache of tiles, shared by all reads of one store. Safe without invalidation: a stored tile
 * only ever grows (full tiles never change, the last tile of a level gains entries at its end), so
 * a cached tile answers every node it holds for every tree size; a read that needs more entries
 * than the cached copy has goes to the database.
 *
 * Two generations approximate LRU in O(1): hits move to the young map; when it holds half the
 * capacity it becomes the old one and the previous old generation is dropped. (Evicting from one
 * Map in insertion order costs O(deleted entries) per eviction in V8: ~8 µs each at 32k tiles.)
 */
export class TileCache {
  private young = new Map<number, ExpandedTile>();
  private old = new Map<number, ExpandedTile>();

  constructor(readonly capacity: number) {}

  private keep(k: number, t: ExpandedTile): void {
    this.young.set(k, t);
    if (this.young.size >= this.capacity / 2) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  /** The cached tile if it holds at least `minWidth` entries (and marks it recently used). */
  get(level: number, index: number, minWidth: number): ExpandedTile | undefined {
    const k = tileKey(level, index);
    let t = this.young.get(k);
    if (!t) {
      t = this.old.get(k);
      if (t && t.width >= minWidth) {
        this.old.delete(k);
        this.keep(k, t);
      }
    }
    return t && t.width >= minWidth ? t : undefined;
  }

  /** Keeps `tile` unless a copy with at least as many entries is cached. */
  put(level: number, index: number, tile: ExpandedTile): void {
    if (this.capacity < 2) return;
    const k = tileKey(level, index);
    const cur = this.young.get(k) ?? this.old.get(k);
    if (cur && cur.width >= tile.width) return;
    this.old.delete(k);
    this.keep(k, tile);
  }

  /** Tiles held (at most `capacity`). */
  get size(): number {
    return this.young.size + this.old.size;
  }
}

/** Position of tree node (level, index) in the tile layout. */
export function nodeTilePosition(
  level: number,
  index: number,
): { tileLevel: number; tileIndex: number; inner: number; offset: number; width: number } {
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const inner = level % TILE_HEIGHT;
  const span = 2 ** inner;
  const first = index * span; // first entry covered, at tree level tileLevel·TILE_HEIGHT
  const tileIndex = Math.floor(first / TILE_WIDTH);
  const entryOffset = first % TILE_WIDTH;
  return { tileLevel, tileIndex, inner, offset: entryOffset / span, width: entryOffset + span };
}

/** NodeReader over a set of fetched tiles (keyed by tileKey). */
export class TileSetReader implements NodeReader {
  constructor(private readonly tiles: ReadonlyMap<number, ExpandedTile>) {}

  node(level: number, index: number): Uint8Array {
    const p = nodeTilePosition(level, index);
    const h = this.tiles.get(tileKey(p.tileLevel, p.tileIndex))?.node(p.inner, p.offset);
    if (!h)
      throw new LogCorruptError(`tile ${p.tileLevel}/${p.tileIndex} does not hold node ${level}/${index}`, {
        details: `needs ${p.width} entries`,
      });
    return h;
  }
}

/**
 * The border tiles an append at `size` extends (tiles.borderTileKeys), as far as the cache holds
 * them (cut to the stored width, keyed by tileKeyString), and the ones left to read.
 */
export function cachedBorder(
  cache: TileCache,
  size: number,
): { border: Map<string, Uint8Array>; missing: BorderTile[] } {
  const border = new Map<string, Uint8Array>();
  const missing: BorderTile[] = [];
  for (const b of borderTileKeys(size)) {
    const hit = cache.get(b.level, b.index, b.width);
    if (hit) border.set(tileKeyString(b.level, b.index), hit.entries.subarray(0, b.width * HASH_SIZE));
    else missing.push(b);
  }
  return { border, missing };
}

/**
 * Full level-0 tiles (16 leaf hashes, 512 bytes; a full tile never changes) in fixed slots of 1 MiB
 * slabs, up to a byte budget. Beside TileCache, whose per-tile objects cost ~1.6 KiB, this holds a
 * leaf tile in its 512 bytes, so the leaf level of a 10^6-leaf tree (62 500 tiles, 32 MB) fits
 * whole in 64 MiB and a proof needs no database read at all once warm. Tiles are kept in the order
 * they are appended through this store or first read; when the budget is spent, later tiles are
 * left to TileCache (for uniformly random reads, as good as any eviction). The budget is what a server on a remote database trades
 * for round trips (PostgreSQL); SQLite reads its own page cache and needs none.
 */
export class LeafTileSlab {
  static readonly TILES_PER_SLAB = 2048;
  private static readonly TILE_BYTES = TILE_WIDTH * HASH_SIZE;
  /** Bytes of one slab (its allocation unit). */
  static readonly SLAB_BYTES = LeafTileSlab.TILES_PER_SLAB * LeafTileSlab.TILE_BYTES;
  private readonly slabs: ({ data: Uint8Array; have: Uint8Array } | undefined)[] = [];
  private bytes = 0;

  constructor(readonly budgetBytes: number) {}

  /** The 16 leaf hashes of full level-0 tile `index`, if held (a view into the slab). */
  get(index: number): Uint8Array | undefined {
    const s = this.slabs[Math.floor(index / LeafTileSlab.TILES_PER_SLAB)];
    const i = index % LeafTileSlab.TILES_PER_SLAB;
    if (!s || (s.have[i >> 3] & (1 << (i & 7))) === 0) return undefined;
    return s.data.subarray(i * LeafTileSlab.TILE_BYTES, (i + 1) * LeafTileSlab.TILE_BYTES);
  }

  /** Keeps full tile `index` if the budget allows; true if held. */
  put(index: number, entries: Uint8Array): boolean {
    if (entries.length !== LeafTileSlab.TILE_BYTES) return false;
    const n = Math.floor(index / LeafTileSlab.TILES_PER_SLAB);
    let s = this.slabs[n];
    if (!s) {
      const size = LeafTileSlab.SLAB_BYTES;
      if (this.bytes + size > this.budgetBytes) return false;
      this.bytes += size;
      s = this.slabs[n] = {
        data: new Uint8Array(size),
        have: new Uint8Array(LeafTileSlab.TILES_PER_SLAB / 8),
      };
    }
    const i = index % LeafTileSlab.TILES_PER_SLAB;
    s.data.set(entries, i * LeafTileSlab.TILE_BYTES);
    s.have[i >> 3] |= 1 << (i & 7);
    return true;
  }

  /** Bytes allocated (at most the budget). */
  get allocated(): number {
    return this.bytes;
  }
}
