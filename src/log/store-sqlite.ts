import type BetterSqlite3 from "better-sqlite3";
import type { Hasher } from "./hash";
import { LogAppendConflictError } from "./errors";
import { type TileKey, borderTileKeys, planAppend, tileKeyString } from "./tiles";
import type { TileBackend } from "./store";

/** SQLite (better-sqlite3) tiles: synchronous, one IMMEDIATE transaction per append. */
export class SqliteTileBackend implements TileBackend {
  private readonly getSize: BetterSqlite3.Statement;
  private readonly getTile: BetterSqlite3.Statement;
  private readonly putTile: BetterSqlite3.Statement;
  private readonly putLeaf: BetterSqlite3.Statement;
  private readonly setSize: BetterSqlite3.Statement;
  private readonly getLeaf: BetterSqlite3.Statement;
  private readonly appendTx: (fromIndex: number, leafHashes: readonly Uint8Array[]) => number;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly hasher: Hasher,
  ) {
    this.getSize = db.prepare("SELECT size FROM log_head WHERE id = 1").pluck();
    this.getTile = db.prepare("SELECT hashes FROM log_tiles WHERE level = ? AND idx = ?").pluck();
    this.putTile = db.prepare("INSERT OR REPLACE INTO log_tiles (level, idx, hashes) VALUES (?, ?, ?)");
    this.putLeaf = db.prepare("INSERT INTO log_leaf_index (hash, idx) VALUES (?, ?)");
    this.setSize = db.prepare("UPDATE log_head SET size = ? WHERE id = 1");
    this.getLeaf = db.prepare("SELECT idx FROM log_leaf_index WHERE hash = ? ORDER BY idx LIMIT 1").pluck();
    const tx = db.transaction((fromIndex: number, leafHashes: readonly Uint8Array[]): number => {
      const size = this.getSize.get() as number;
      if (fromIndex !== size) throw new LogAppendConflictError(fromIndex, size);
      if (leafHashes.length === 0) return size;
      const border = this.readSync(borderTileKeys(size));
      for (const w of planAppend(size, border, leafHashes, this.hasher))
        this.putTile.run(w.level, w.index, w.hashes);
      for (let i = 0; i < leafHashes.length; i++) this.putLeaf.run(leafHashes[i], size + i);
      this.setSize.run(size + leafHashes.length);
      return size + leafHashes.length;
    });
    this.appendTx = (fromIndex, leafHashes) => tx.immediate(fromIndex, leafHashes);
  }

  private readSync(keys: readonly TileKey[]): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const k of keys) {
      const blob = this.getTile.get(k.level, k.index) as Buffer | undefined;
      if (blob) out.set(tileKeyString(k.level, k.index), blob);
    }
    return out;
  }

  async size(): Promise<number> {
    return this.getSize.get() as number;
  }

  async readTiles(keys: readonly TileKey[]): Promise<Map<string, Uint8Array>> {
    return this.readSync(keys);
  }

  async append(fromIndex: number, leafHashes: readonly Uint8Array[]): Promise<number> {
    return this.appendTx(fromIndex, leafHashes);
  }

  async findLeaf(leafHash: Uint8Array): Promise<number | undefined> {
    return (this.getLeaf.get(leafHash) as number | undefined) ?? undefined;
  }
}
