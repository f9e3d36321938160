import type BetterSqlite3 from "better-sqlite3";
import type { WriteTurnstile } from "../db/turnstile";
import type { Hasher } from "./hash";
import { LogAppendConflictError } from "./errors";
import { type TileKey, type TileWrite, planAppend, tileKeyString } from "./tiles";
import { type TileCache, cachedBorder } from "./tile-cache";
import { buildLeafFilter, leafEpoch, leafPrefix, sealedEpochs } from "./leaf-keys";
import type { TileBackend } from "./store";

/** Rows per multi-row INSERT of leaf keys (3 parameters each; SQLite allows 32766). */
const KEY_ROWS = 256;

/**
 * SQLite (better-sqlite3) tiles: synchronous, one IMMEDIATE transaction per append, in the
 * process's turn at the write lock when one is given (src/db/turnstile.ts).
 */
export class SqliteTileBackend implements TileBackend {
  private readonly getSize: BetterSqlite3.Statement;
  private readonly getTile: BetterSqlite3.Statement;
  private readonly putTile: BetterSqlite3.Statement;
  private readonly putKey: BetterSqlite3.Statement;
  private readonly putKeys: BetterSqlite3.Statement;
  private readonly setSize: BetterSqlite3.Statement;
  private readonly getCandidates: BetterSqlite3.Statement;
  private readonly getFilters: BetterSqlite3.Statement;
  private readonly getLeafTiles: BetterSqlite3.Statement;
  private readonly getEpochPrefixes: BetterSqlite3.Statement;
  private readonly putFilter: BetterSqlite3.Statement;
  private readonly appendTx: (
    fromIndex: number,
    leafHashes: readonly Uint8Array[],
  ) => { size: number; writes: TileWrite[] };

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly hasher: Hasher,
    private readonly cache: TileCache,
    private readonly turnstile?: WriteTurnstile,
  ) {
    this.getSize = db.prepare("SELECT size FROM log_head WHERE id = 1").pluck();
    this.getTile = db.prepare("SELECT hashes FROM log_tiles WHERE level = ? AND idx = ?").pluck();
    this.putTile = db.prepare("INSERT OR REPLACE INTO log_tiles (level, idx, hashes) VALUES (?, ?, ?)");
    this.putKey = db.prepare("INSERT INTO log_leaf_keys (epoch, prefix, idx) VALUES (?, ?, ?)");
    this.putKeys = db.prepare(
      "INSERT INTO log_leaf_keys (epoch, prefix, idx) VALUES " +
        new Array(KEY_ROWS).fill("(?, ?, ?)").join(", "),
    );
    this.setSize = db.prepare("UPDATE log_head SET size = ? WHERE id = 1");
    this.getCandidates = db
      .prepare("SELECT idx FROM log_leaf_keys WHERE epoch = ? AND prefix = ? ORDER BY idx")
      .pluck();
    this.getFilters = db.prepare("SELECT epoch, bits FROM log_leaf_filters WHERE epoch >= ?");
    this.getLeafTiles = db.prepare(
      "SELECT idx, hashes FROM log_tiles WHERE level = 0 AND idx >= ? AND idx < ? ORDER BY idx",
    );
    this.getEpochPrefixes = db.prepare("SELECT prefix FROM log_leaf_keys WHERE epoch = ?").pluck();
    this.putFilter = db.prepare("INSERT OR REPLACE INTO log_leaf_filters (epoch, bits) VALUES (?, ?)");
    const tx = db.transaction((fromIndex: number, leafHashes: readonly Uint8Array[]) => {
      const size = this.getSize.get() as number;
      if (fromIndex !== size) throw new LogAppendConflictError(fromIndex, size);
      if (leafHashes.length === 0) return { size, writes: [] };
      const { border, missing } = cachedBorder(this.cache, size);
      for (const t of this.readSync(missing)) border.set(tileKeyString(t.level, t.index), t.hashes);
      const writes = planAppend(size, border, leafHashes, this.hasher);
      for (const w of writes) this.putTile.run(w.level, w.index, w.hashes);
      this.insertKeys(size, leafHashes);
      for (const e of sealedEpochs(size, size + leafHashes.length))
        this.putFilter.run(e, buildLeafFilter(this.getEpochPrefixes.all(e) as number[]));
      this.setSize.run(size + leafHashes.length);
      return { size: size + leafHashes.length, writes };
    });
    this.appendTx = (fromIndex, leafHashes) => tx.immediate(fromIndex, leafHashes);
  }

  private insertKeys(size: number, leafHashes: readonly Uint8Array[]): void {
    // Sorted by key, consecutive inserts land on the same b-tree pages.
    const n = leafHashes.length;
    const rows: [number, number, number][] = new Array(n);
    for (let i = 0; i < n; i++) rows[i] = [leafEpoch(size + i), leafPrefix(leafHashes[i]), size + i];
    rows.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    const params: number[] = new Array(3 * KEY_ROWS);
    let i = 0;
    for (; i + KEY_ROWS <= n; i += KEY_ROWS) {
      for (let j = 0; j < KEY_ROWS; j++) {
        const r = rows[i + j];
        params[3 * j] = r[0];
        params[3 * j + 1] = r[1];
        params[3 * j + 2] = r[2];
      }
      this.putKeys.run(params);
    }
    for (; i < n; i++) this.putKey.run(rows[i][0], rows[i][1], rows[i][2]);
  }

  private readSync(keys: readonly TileKey[]): TileWrite[] {
    const out: TileWrite[] = [];
    for (const k of keys) {
      const blob = this.getTile.get(k.level, k.index) as Buffer | undefined;
      if (blob) out.push({ level: k.level, index: k.index, hashes: blob });
    }
    return out;
  }

  async size(): Promise<number> {
    return this.getSize.get() as number;
  }

  async readTiles(keys: readonly TileKey[]): Promise<TileWrite[]> {
    return this.readSync(keys);
  }

  async append(
    fromIndex: number,
    leafHashes: readonly Uint8Array[],
  ): Promise<{ size: number; writes: TileWrite[] }> {
    const write = () => this.appendTx(fromIndex, leafHashes);
    return this.turnstile ? this.turnstile.run(write) : write();
  }

  async *leafCandidates(prefix: number, epochs: readonly number[]): AsyncIterable<number[]> {
    for (const e of epochs) {
      const group = this.getCandidates.all(e, prefix) as number[];
      if (group.length > 0) yield group;
    }
  }

  async readLeafTiles(from: number, to: number): Promise<TileWrite[]> {
    return (this.getLeafTiles.all(from, to) as { idx: number; hashes: Buffer }[]).map((r) => ({
      level: 0,
      index: r.idx,
      hashes: r.hashes,
    }));
  }

  async leafFilters(fromEpoch: number): Promise<{ epoch: number; bits: Uint8Array }[]> {
    return this.getFilters.all(fromEpoch) as { epoch: number; bits: Uint8Array }[];
  }
}
