import type { Database } from "../db/database";
import { type Migration, migrate } from "../db/migrate";
import { type Hasher, HASH_SIZE } from "./hash";
import { nodeHasher } from "./node-hasher";
import { IndexOutOfRangeError, InvalidProofInputError, LogArgumentError } from "./errors";
import { isSize } from "./math";
import { type LeafRange, consistencyRanges, hashRange, inclusionRanges, nodesForRanges } from "./tree";
import { type TileKey, TileNodeReader, tilesForNodes } from "./tiles";
import { SqliteTileBackend } from "./store-sqlite";
import { PostgresTileBackend } from "./store-postgres";

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
  /** MTH of the first `size` leaves (default: current size); size 0 = the empty root. */
  root(size?: number): Promise<Uint8Array>;
  /** Requires leafIndex < treeSize <= size(). */
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]>;
  /** Requires 1 <= size1 <= size2 <= size(); empty for size1 === size2. */
  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
  /** Index of a leaf hash (the first, if repeated), or undefined (for "proof by leaf hash"). */
  findLeaf(leafHash: Uint8Array): Promise<number | undefined>;
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
];

/** What a database backend provides; the tree logic above it is shared (tiles.ts). */
export interface TileBackend {
  size(): Promise<number>;
  readTiles(keys: readonly TileKey[]): Promise<Map<string, Uint8Array>>;
  /** Atomically: check fromIndex === size (under a lock), plan with tiles.planAppend, write tiles, leaf index and size. */
  append(fromIndex: number, leafHashes: readonly Uint8Array[]): Promise<number>;
  findLeaf(leafHash: Uint8Array): Promise<number | undefined>;
}

function checkHash(h: unknown, what: string): Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE)
    throw new LogArgumentError(`${what} must be a 32-byte Uint8Array`, {
      details: `got ${h instanceof Uint8Array ? `${h.length} bytes` : typeof h}`,
    });
  return h;
}

/** LogStore over tiles in a database; see openLogStore. */
export class TileLogStore implements LogStore {
  constructor(
    private readonly backend: TileBackend,
    private readonly hasher: Hasher = nodeHasher,
  ) {}

  size(): Promise<number> {
    return this.backend.size();
  }

  async append(fromIndex: number, leafHashes: readonly Uint8Array[]): Promise<number> {
    if (!isSize(fromIndex)) throw new LogArgumentError("fromIndex must be a non-negative integer");
    if (!Array.isArray(leafHashes)) throw new LogArgumentError("leafHashes must be an array");
    leafHashes.forEach((h, i) => checkHash(h, `leafHashes[${i}]`));
    return this.backend.append(fromIndex, leafHashes);
  }

  private async sizeAtLeast(size: number, what: string): Promise<void> {
    const current = await this.backend.size();
    if (size > current) throw new IndexOutOfRangeError(size, current + 1, what);
  }

  private async hashRanges(ranges: readonly LeafRange[]): Promise<Uint8Array[]> {
    const nodes = nodesForRanges(ranges);
    const tiles = await this.backend.readTiles(tilesForNodes(nodes));
    const reader = new TileNodeReader(tiles, this.hasher);
    return ranges.map(([b, e]) => hashRange(reader, b, e, this.hasher));
  }

  async leafHash(index: number): Promise<Uint8Array> {
    const size = await this.backend.size();
    if (!isSize(index)) throw new InvalidProofInputError("leaf index must be a non-negative integer");
    if (index >= size) throw new IndexOutOfRangeError(index, size);
    const [h] = await this.hashRanges([[index, index + 1]]);
    return Uint8Array.from(h);
  }

  async root(size?: number): Promise<Uint8Array> {
    const current = await this.backend.size();
    const n = size ?? current;
    if (!isSize(n)) throw new InvalidProofInputError("tree size must be a non-negative integer");
    if (n > current) throw new IndexOutOfRangeError(n, current + 1, "tree size");
    if (n === 0) return this.hasher.emptyRoot();
    const [h] = await this.hashRanges([[0, n]]);
    return Uint8Array.from(h);
  }

  async inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]> {
    const ranges = inclusionRanges(leafIndex, treeSize); // validates the arguments
    await this.sizeAtLeast(treeSize, "tree size");
    return (await this.hashRanges(ranges)).map((h) => Uint8Array.from(h));
  }

  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    const ranges = consistencyRanges(size1, size2);
    await this.sizeAtLeast(size2, "tree size");
    return (await this.hashRanges(ranges)).map((h) => Uint8Array.from(h));
  }

  findLeaf(leafHash: Uint8Array): Promise<number | undefined> {
    return this.backend.findLeaf(checkHash(leafHash, "leafHash"));
  }
}

/**
 * Opens the log store on the ledger's database (SQLite or PostgreSQL), applying logMigrations.
 * A restart reads the stored tiles; nothing is recomputed.
 *
 * @example
 * const store = await openLogStore(openDatabase("custody.db"));
 * await store.append(await store.size(), [leafHash]);
 */
export async function openLogStore(db: Database, opts: { hasher?: Hasher } = {}): Promise<LogStore> {
  await migrate(db, logMigrations);
  const hasher = opts.hasher ?? nodeHasher;
  const backend =
    db.kind === "sqlite"
      ? new SqliteTileBackend(db.sqlite, hasher)
      : new PostgresTileBackend(db.pool, hasher);
  return new TileLogStore(backend, hasher);
}
