import { type Hasher, HASH_SIZE } from "./hash";
import { LogCorruptError } from "./errors";

/**
 * Pure tile layout of the persistent tree. Tile (level T, index t) holds the hashes of the perfect
 * nodes at tree level T·TILE_HEIGHT with indices [t·TILE_WIDTH, t·TILE_WIDTH + w), concatenated
 * (w·32 bytes, w <= TILE_WIDTH). Level-0 tiles hold the leaf hashes. A full tile never changes; the
 * last tile of each level is partial and only grows (its stored prefix never changes). Nodes between
 * tile levels are recomputed from at most 2^(TILE_HEIGHT-1) entries of one tile (tile-cache.ts), so
 * any node costs one tile read and at most 7 hashes, and any proof O(log n) reads.
 */
export const TILE_HEIGHT = 4;
export const TILE_WIDTH = 2 ** TILE_HEIGHT;

export interface TileKey {
  readonly level: number;
  readonly index: number;
}

export const tileKeyString = (level: number, index: number): string => `${level}/${index}`;

/** Tile entries: tile level T stores tree level T·TILE_HEIGHT. */
export interface TileWrite extends TileKey {
  readonly hashes: Uint8Array;
}

/** A partial (not yet full) last tile of a tile level, and how many entries it holds. */
export interface BorderTile extends TileKey {
  readonly width: number;
}

/** The partial last tile of each tile level of a tree of `size` leaves (what an append extends). */
export function borderTileKeys(size: number): BorderTile[] {
  const out: BorderTile[] = [];
  for (let count = size, level = 0; count > 0; count = Math.floor(count / TILE_WIDTH), level++) {
    if (count % TILE_WIDTH !== 0)
      out.push({ level, index: Math.floor(count / TILE_WIDTH), width: count % TILE_WIDTH });
  }
  return out;
}

/** MTH of a full tile's entries: the node TILE_HEIGHT levels above them. */
export function tileRoot(tile: Uint8Array, hasher: Hasher): Uint8Array {
  let row: Uint8Array[] = [];
  for (let i = 0; i < TILE_WIDTH; i++) row.push(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(hasher.hashChildren(row[i], row[i + 1]));
    row = next;
  }
  return row[0];
}

/**
 * The tile writes that append `leafHashes` to a tree of `size` leaves whose partial border tiles are
 * `border` (keyed by tileKeyString; see borderTileKeys). Costs about one hash per new leaf plus the
 * border: O(k + log n), never a rebuild.
 */
export function planAppend(
  size: number,
  border: ReadonlyMap<string, Uint8Array>,
  leafHashes: readonly Uint8Array[],
  hasher: Hasher,
): TileWrite[] {
  const writes: TileWrite[] = [];
  let entries = leafHashes;
  let count = size; // complete nodes at this tile level's tree level, before the append
  for (let level = 0; entries.length > 0; level++) {
    let index = Math.floor(count / TILE_WIDTH);
    let fill = count % TILE_WIDTH;
    let buf = new Uint8Array(TILE_WIDTH * HASH_SIZE);
    if (fill > 0) {
      const prev = border.get(tileKeyString(level, index));
      if (!prev || prev.length !== fill * HASH_SIZE)
        throw new LogCorruptError(`border tile ${level}/${index} is missing or has the wrong length`, {
          details: `expected ${fill * HASH_SIZE} bytes, found ${prev?.length ?? "none"}`,
        });
      buf.set(prev);
    }
    const up: Uint8Array[] = [];
    for (const e of entries) {
      buf.set(e, fill * HASH_SIZE);
      if (++fill === TILE_WIDTH) {
        writes.push({ level, index, hashes: buf });
        up.push(tileRoot(buf, hasher));
        index++;
        fill = 0;
        buf = new Uint8Array(TILE_WIDTH * HASH_SIZE);
      }
    }
    if (fill > 0) writes.push({ level, index, hashes: buf.slice(0, fill * HASH_SIZE) });
    count = Math.floor(count / TILE_WIDTH);
    entries = up;
  }
  return writes;
}
