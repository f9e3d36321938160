import type { Database } from "../db/database";
import { type Migration, migrate } from "../db/migrate";
import { type Hasher, HASH_SIZE } from "./hash";
import { nodeHasher } from "./node-hasher";
import { IndexOutOfRangeError, InvalidProofInputError, LogArgumentError, LogCorruptError } from "./errors";
import { equalBytes } from "./hex";
import { checkNodeRange, isSize } from "./math";
import {
  type LeafRange,
  type NodeId,
  consistencyRanges,
  hashRange,
  inclusionRanges,
  rangeNodes,
} from "./tree";
import { type TileKey, type TileWrite, TILE_WIDTH } from "./tiles";
import {
  ExpandedTile,
  LeafTileSlab,
  TileCache,
  TileSetReader,
  nodeTilePosition,
  tileKey,
} from "./tile-cache";
import {
  LEAF_EPOCH_BITS,
  LEAF_EPOCH_SIZE,
  epochCount,
  leafFilterMayHave,
  leafPrefix,
  sqlitePrefixExpression,
} from "./leaf-keys";
import { SqliteTileBackend } from "./sqlite-store";
import { PostgresTileBackend } from "./postgres-store";

/**
 * The persistent, append-only RFC 9162 tree over the ledger's leaf hashes. Proofs are served for
 * every past size, not only the latest; each costs O(log n) tile reads. The ledger's event table
 * is the source of truth and the tree is derived from it (see sync.ts).
 */
export interface LogStore {
  size(): Promise<number>;
  /** Appends leaf hashes at positions fromIndex.. ; requires fromIndex === size() (else LogAppendConflictError). */
  append(fromIndex: number, leafHashes: readonly Uint8Array[]): Promise<number>;
  /** Requires index < size() (else IndexOutOfRangeError). */
  leafHash(index: number): Promise<Uint8Array>;
  /** Up to `limit` leaf hashes from position `from`, in order; fewer (or none) at the end. */
  leafHashes(from: number, limit: number): Promise<Uint8Array[]>;
  /** MTH of the first `size` leaves (default: current size); size 0 = the empty root. */
  root(size?: number): Promise<Uint8Array>;
  /** Requires leafIndex < treeSize <= size(). */
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]>;
  /** Requires 1 <= size1 <= size2 <= size(); empty for size1 === size2. */
  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
  /** Index of a leaf hash (the first, if repeated), or undefined (for "proof by leaf hash"). */
  findLeaf(leafHash: Uint8Array): Promise<number | undefined>;
  /**
   * The hashes of the perfect nodes at tree `level` with indices [start, start + count), concatenated
   * (count·32 bytes): what a C2SP hash tile holds. Requires every one of them complete in the stored
   * tree, i.e. (start + count)·2^level <= size() (else IndexOutOfRangeError).
   */
  nodeHashes(level: number, start: number, count: number): Promise<Uint8Array>;
}

export const logMigrations: Migration[] = [
  {
    id: "log/001_tiles",
    sqlite: `
      CREATE TABLE log_head (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL);
      INSERT INTO log_head (id, size) VALUES (1, 0);
      CREATE TABLE log_tiles (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hashes BLOB NOT NULL,
        PRIMARY KEY (level, idx)
      ) WITHOUT ROWID;
      CREATE TABLE log_leaf_index (
        hash BLOB NOT NULL,
        idx INTEGER NOT NULL,
        PRIMARY KEY (hash, idx)
      ) WITHOUT ROWID;`,
    postgres: `
      CREATE TABLE log_head (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL);
      INSERT INTO log_head (id, size) VALUES (1, 0);
      CREATE TABLE log_tiles (
        level INTEGER NOT NULL,
        idx BIGINT NOT NULL,
        hashes BYTEA NOT NULL,
        PRIMARY KEY (level, idx)
      );
      CREATE TABLE log_leaf_index (
        hash BYTEA NOT NULL,
        idx BIGINT NOT NULL,
        PRIMARY KEY (hash, idx)
      );`,
  },
  {
    // The leaf-hash index keyed by (epoch, 6-byte prefix) instead of the random 32-byte hash; see leaf-keys.ts.
    id: "log/002_leaf_keys",
    sqlite: `
      CREATE TABLE log_leaf_keys (
        epoch INTEGER NOT NULL,
        prefix INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        PRIMARY KEY (epoch, prefix, idx)
      ) WITHOUT ROWID;
      INSERT INTO log_leaf_keys (epoch, prefix, idx)
        SELECT idx >> ${LEAF_EPOCH_BITS}, ${sqlitePrefixExpression("hash")}, idx FROM log_leaf_index ORDER BY 1, 2, 3;
      DROP TABLE log_leaf_index;`,
    postgres: `
      CREATE TABLE log_leaf_keys (
        epoch INTEGER NOT NULL,
        prefix BIGINT NOT NULL,
        idx BIGINT NOT NULL,
        PRIMARY KEY (epoch, prefix, idx)
      );
      INSERT INTO log_leaf_keys (epoch, prefix, idx)
        SELECT (idx >> ${LEAF_EPOCH_BITS})::int, ('x' || encode(substr(hash, 1, 6), 'hex'))::bit(48)::bigint, idx
          FROM log_leaf_index;
      DROP TABLE log_leaf_index;`,
  },
  {
    // Per sealed epoch, a bitmap of the key prefixes it holds (leaf-keys.ts); epochs sealed before
    // this migration have none and are always probed.
    id: "log/003_leaf_filters",
    sqlite: `CREATE TABLE log_leaf_filters (epoch INTEGER PRIMARY KEY, bits BLOB NOT NULL);`,
    postgres: `CREATE TABLE log_leaf_filters (epoch INTEGER PRIMARY KEY, bits BYTEA NOT NULL);`,
  },
];

/** What a database backend provides; the tree logic above it is shared (tiles.ts, tile-cache.ts). */
export interface TileBackend {
  size(): Promise<number>;
  /** The stored tiles among `keys` (missing ones are left out), in any order. */
  readTiles(keys: readonly TileKey[]): Promise<TileWrite[]>;
  /**
   * Atomically: check fromIndex === size (under a lock), plan with tiles.planAppend (border tiles
   * from the cache when it holds them), write tiles, leaf keys and size. Returns the new size and
   * the tiles written.
   */
  append(
    fromIndex: number,
    leafHashes: readonly Uint8Array[],
  ): Promise<{ size: number; writes: TileWrite[] }>;
  /**
   * Indices in the given epochs (ascending) whose leaf hash starts with `prefix` (leaf-keys.ts),
   * ascending, in groups (a caller that finds its leaf stops early); may include false candidates.
   */
  leafCandidates(prefix: number, epochs: readonly number[]): AsyncIterable<number[]>;
  /** The stored leaf filters of epochs >= fromEpoch. */
  leafFilters(fromEpoch: number): Promise<{ epoch: number; bits: Uint8Array }[]>;
  /** Stored level-0 tiles with index in [from, to), ascending, in one read (full and partial alike). */
  readLeafTiles(from: number, to: number): Promise<TileWrite[]>;
}

function checkHash(h: unknown, what: string): Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE)
    throw new LogArgumentError(`${what} must be a 32-byte Uint8Array`, {
      details: `got ${h instanceof Uint8Array ? `${h.length} bytes` : typeof h}`,
    });
  return h;
}

/** The perfect node whose presence proves the tree has at least `size` leaves (the last node of [0, size)). Requires size >= 1. */
function sizeWitness(size: number): NodeId {
  let level = 0;
  while ((size / 2 ** level) % 2 === 0) level++;
  return { level, index: size / 2 ** level - 1 };
}

/** Default tile cache: ~1.6 KiB per full tile with its inner nodes (measured), so at most ~50 MiB. */
export const DEFAULT_CACHE_TILES = 32_768;
/**
 * Default budget of the leaf-tile slab on PostgreSQL (tile-cache.ts, LeafTileSlab): every leaf tile
 * of a tree of up to 2^21 leaves. SQLite: none (its page cache is local).
 */
export const DEFAULT_PG_LEAF_TILE_BYTES = 64 * 1024 * 1024;

/** LogStore over tiles in a database; see openLogStore. */
export class TileLogStore implements LogStore {
  // Leaf filters of sealed epochs (immutable; 64 KiB per 2^16 leaves) and the epoch below which all are loaded.
  private readonly filters = new Map<number, Uint8Array>();
  private filtersFrom = 0;

  constructor(
    private readonly backend: TileBackend,
    private readonly hasher: Hasher = nodeHasher,
    private readonly cache: TileCache = new TileCache(DEFAULT_CACHE_TILES),
    private readonly leafTiles: LeafTileSlab = new LeafTileSlab(0),
  ) {}

  size(): Promise<number> {
    return this.backend.size();
  }

  async append(fromIndex: number, leafHashes: readonly Uint8Array[]): Promise<number> {
    if (!isSize(fromIndex)) throw new LogArgumentError("fromIndex must be a non-negative integer");
    if (!Array.isArray(leafHashes)) throw new LogArgumentError("leafHashes must be an array");
    leafHashes.forEach((h, i) => checkHash(h, `leafHashes[${i}]`));
    const { size, writes } = await this.backend.append(fromIndex, leafHashes);
    // Committed: keep the upper tiles and the new border; full leaf tiles go to the slab while it
    // has room (it has none on SQLite by default: they are read at random later).
    for (const w of writes)
      if (w.level > 0 || w.hashes.length < TILE_WIDTH * HASH_SIZE)
        this.cache.put(w.level, w.index, new ExpandedTile(w.hashes, this.hasher));
      else this.leafTiles.put(w.index, w.hashes);
    return size;
  }

  /**
   * Loads every full leaf tile of the stored tree into the leaf-tile slab, `chunkTiles` per read
   * (one sequential range scan each), until the tree's full tiles or the slab's budget end. A handle
   * that did not append them (a proof server in another process, or any process after a restart)
   * then answers proofs without a round trip for leaf tiles. Full tiles never change, so what is
   * loaded stays valid; tiles appended meanwhile go to the slab through `append` as before.
   */
  async warmLeafTiles(opts: { chunkTiles?: number } = {}): Promise<{ tiles: number; bytes: number }> {
    const chunk = opts.chunkTiles ?? 4096;
    if (!Number.isSafeInteger(chunk) || chunk < 1)
      throw new LogArgumentError("chunkTiles must be a positive integer");
    // A budget below one slab holds no tile: nothing to read.
    if (this.leafTiles.budgetBytes < LeafTileSlab.SLAB_BYTES) return { tiles: 0, bytes: 0 };
    const full = Math.floor((await this.backend.size()) / TILE_WIDTH);
    let tiles = 0;
    for (let from = 0; from < full; from += chunk) {
      for (const t of await this.backend.readLeafTiles(from, Math.min(full, from + chunk))) {
        if (t.hashes.length !== TILE_WIDTH * HASH_SIZE) continue;
        if (!this.leafTiles.put(t.index, t.hashes)) return { tiles, bytes: this.leafTiles.allocated };
        tiles++;
      }
    }
    return { tiles, bytes: this.leafTiles.allocated };
  }

  /**
   * Tiles holding `nodes`: from the cache, the rest in one backend read. Undefined when a node is
   * not in storage (the tree is smaller than the caller assumed).
   */
  private async readNodes(nodes: readonly NodeId[]): Promise<TileSetReader | undefined> {
    const need = new Map<number, { level: number; index: number; width: number }>();
    for (const n of nodes) {
      const p = nodeTilePosition(n.level, n.index);
      const k = tileKey(p.tileLevel, p.tileIndex);
      const cur = need.get(k);
      if (!cur) need.set(k, { level: p.tileLevel, index: p.tileIndex, width: p.width });
      else if (cur.width < p.width) need.set(k, { ...cur, width: p.width });
    }
    const got = new Map<number, ExpandedTile>();
    const missing: { level: number; index: number; width: number }[] = [];
    for (const [k, t] of need) {
      const hit = this.cache.get(t.level, t.index, t.width);
      if (hit) got.set(k, hit);
      else {
        const leaves = t.level === 0 ? this.leafTiles.get(t.index) : undefined;
        if (leaves) got.set(k, new ExpandedTile(leaves, this.hasher));
        else missing.push(t);
      }
    }
    if (missing.length > 0) {
      for (const w of await this.backend.readTiles(missing)) {
        const tile = new ExpandedTile(w.hashes, this.hasher);
        if (w.level !== 0 || !this.leafTiles.put(w.index, w.hashes)) this.cache.put(w.level, w.index, tile);
        got.set(tileKey(w.level, w.index), tile);
      }
      for (const t of missing)
        if ((got.get(tileKey(t.level, t.index))?.width ?? 0) < t.width) return undefined;
    }
    return new TileSetReader(got);
  }

  /** MTH of each range, reading the tiles once; `atLeast` is a size the tree must have (else IndexOutOfRangeError). */
  private async hashRanges(
    ranges: readonly LeafRange[],
    atLeast: number,
    what: string,
  ): Promise<Uint8Array[]> {
    const nodes = ranges.flatMap(([b, e]) => rangeNodes(b, e)); // readNodes dedupes by tile
    if (atLeast > 0) nodes.push(sizeWitness(atLeast));
    const reader = await this.readNodes(nodes);
    if (!reader) {
      const current = await this.backend.size();
      if (atLeast > current) throw new IndexOutOfRangeError(atLeast, current + 1, what);
      throw new LogCorruptError(`tiles below size ${current} are missing`, {
        details: `needed for size ${atLeast}`,
      });
    }
    return ranges.map(([b, e]) => Uint8Array.from(hashRange(reader, b, e, this.hasher)));
  }

  async leafHash(index: number): Promise<Uint8Array> {
    if (!isSize(index)) throw new InvalidProofInputError("leaf index must be a non-negative integer");
    const reader = await this.readNodes([{ level: 0, index }]);
    if (!reader) {
      const size = await this.backend.size();
      if (index >= size) throw new IndexOutOfRangeError(index, size);
      throw new LogCorruptError(`tile of leaf ${index} is missing`, { details: `size ${size}` });
    }
    return Uint8Array.from(reader.node(0, index));
  }

  async leafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    if (!isSize(from) || !isSize(limit))
      throw new InvalidProofInputError("from and limit must be non-negative integers");
    const end = Math.min(from + limit, await this.backend.size());
    if (end <= from) return [];
    const nodes: NodeId[] = [];
    for (let i = from; i < end; i++) nodes.push({ level: 0, index: i });
    const reader = await this.readNodes(nodes); // one backend read for the tiles not cached
    if (!reader) throw new LogCorruptError(`tiles of leaves [${from}, ${end}) are missing`);
    const out: Uint8Array[] = new Array(end - from);
    for (let i = from; i < end; i++) out[i - from] = Uint8Array.from(reader.node(0, i));
    return out;
  }

  async root(size?: number): Promise<Uint8Array> {
    const n = size ?? (await this.backend.size());
    if (!isSize(n)) throw new InvalidProofInputError("tree size must be a non-negative integer");
    if (n === 0) return this.hasher.emptyRoot();
    const [h] = await this.hashRanges([[0, n]], n, "tree size");
    return h;
  }

  async inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]> {
    const ranges = inclusionRanges(leafIndex, treeSize); // validates the arguments
    return this.hashRanges(ranges, treeSize, "tree size");
  }

  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    const ranges = consistencyRanges(size1, size2);
    return this.hashRanges(ranges, size2, "tree size");
  }

  async nodeHashes(level: number, start: number, count: number): Promise<Uint8Array> {
    checkNodeRange(level, start, count);
    const nodes: NodeId[] = [];
    for (let i = 0; i < count; i++) nodes.push({ level, index: start + i });
    const reader = await this.readNodes(nodes);
    if (!reader) {
      const size = await this.backend.size();
      throw new IndexOutOfRangeError((start + count) * 2 ** level - 1, size, "last leaf under the nodes");
    }
    const out = new Uint8Array(count * HASH_SIZE);
    for (let i = 0; i < count; i++) out.set(reader.node(level, start + i), i * HASH_SIZE);
    return out;
  }

  async findLeaf(leafHash: Uint8Array): Promise<number | undefined> {
    checkHash(leafHash, "leafHash");
    const prefix = leafPrefix(leafHash);
    const size = await this.backend.size();
    const sealed = Math.floor(size / LEAF_EPOCH_SIZE);
    if (this.filtersFrom < sealed) {
      // Every epoch below `sealed` was sealed before this read: its filter is visible now or never.
      for (const f of await this.backend.leafFilters(this.filtersFrom)) this.filters.set(f.epoch, f.bits);
      this.filtersFrom = sealed;
    }
    const epochs: number[] = [];
    for (let e = 0; e < epochCount(size); e++) {
      const bits = this.filters.get(e);
      if (!bits || leafFilterMayHave(bits, prefix)) epochs.push(e);
    }
    // Candidates share the 6-byte prefix; the stored leaf decides.
    for await (const group of this.backend.leafCandidates(prefix, epochs))
      for (const idx of group) {
        const reader = await this.readNodes([{ level: 0, index: idx }]);
        if (!reader) throw new LogCorruptError(`leaf key ${idx} points past the stored leaves`);
        if (equalBytes(reader.node(0, idx), leafHash)) return idx;
      }
    return undefined;
  }
}

/** Options of openLogStore. */
export interface OpenLogStoreOptions {
  hasher?: Hasher;
  /** Tiles kept in memory (~LRU, ~1.6 KiB each); 0 disables the cache. Default DEFAULT_CACHE_TILES. */
  cacheTiles?: number;
  /**
   * Bytes for full leaf tiles kept in 512-byte slots (LeafTileSlab); 0 for none. Default: PostgreSQL
   * DEFAULT_PG_LEAF_TILE_BYTES (each tile it holds is a round trip saved), SQLite 0. With
   * `cacheTiles: 0` it is 0 unless given.
   */
  leafTileBytes?: number;
}

/**
 * Opens the log store on the ledger's database (SQLite or PostgreSQL), applying logMigrations.
 * A restart reads the stored tiles; nothing is recomputed.
 *
 * @example
 * const store = await openLogStore(openDatabase("custody.db"));
 * await store.append(await store.size(), [leafHash]);
 */
export async function openLogStore(db: Database, opts: OpenLogStoreOptions = {}): Promise<TileLogStore> {
  await migrate(db, logMigrations);
  const hasher = opts.hasher ?? nodeHasher;
  const cache = new TileCache(opts.cacheTiles ?? DEFAULT_CACHE_TILES);
  const backend =
    db.kind === "sqlite"
      ? new SqliteTileBackend(db.sqlite, hasher, cache, db.turnstile)
      : new PostgresTileBackend(db.pool, hasher, cache);
  const leafTiles = new LeafTileSlab(
    opts.leafTileBytes ?? (db.kind === "postgres" && opts.cacheTiles !== 0 ? DEFAULT_PG_LEAF_TILE_BYTES : 0),
  );
  return new TileLogStore(backend, hasher, cache, leafTiles);
}
