import type pg from "pg";
import type { Hasher } from "./hash";
import { LogAppendConflictError } from "./errors";
import { type TileKey, borderTileKeys, planAppend, tileKeyString } from "./tiles";
import type { TileBackend } from "./store";

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/**
 * PostgreSQL tiles. Appends from any number of processes are serialized by the row lock on
 * log_head (SELECT … FOR UPDATE), so concurrent callers cannot corrupt the tree: the loser sees
 * the new size and gets LogAppendConflictError.
 */
export class PostgresTileBackend implements TileBackend {
  constructor(
    private readonly pool: pg.Pool,
    private readonly hasher: Hasher,
  ) {}

  async size(): Promise<number> {
    const r = await this.pool.query("SELECT size FROM log_head WHERE id = 1");
    return Number(r.rows[0].size);
  }

  private async read(q: pg.Pool | pg.PoolClient, keys: readonly TileKey[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    if (keys.length === 0) return out;
    const r = await q.query(
      `SELECT t.level, t.idx, t.hashes FROM log_tiles t
         JOIN unnest($1::int[], $2::bigint[]) AS k(level, idx) ON t.level = k.level AND t.idx = k.idx`,
      [keys.map((k) => k.level), keys.map((k) => k.index)],
    );
    for (const row of r.rows) out.set(tileKeyString(row.level, Number(row.idx)), row.hashes as Buffer);
    return out;
  }

  readTiles(keys: readonly TileKey[]): Promise<Map<string, Uint8Array>> {
    return this.read(this.pool, keys);
  }

  async append(fromIndex: number, leafHashes: readonly Uint8Array[]): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      try {
        const r = await client.query("SELECT size FROM log_head WHERE id = 1 FOR UPDATE");
        const size = Number(r.rows[0].size);
        if (fromIndex !== size) throw new LogAppendConflictError(fromIndex, size);
        if (leafHashes.length > 0) {
          const border = await this.read(client, borderTileKeys(size));
          const writes = planAppend(size, border, leafHashes, this.hasher);
          await client.query(
            `INSERT INTO log_tiles (level, idx, hashes)
               SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[])
             ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes`,
            [writes.map((w) => w.level), writes.map((w) => w.index), writes.map((w) => buf(w.hashes))],
          );
          await client.query(
            "INSERT INTO log_leaf_index (hash, idx) SELECT * FROM unnest($1::bytea[], $2::bigint[])",
            [leafHashes.map(buf), leafHashes.map((_, i) => size + i)],
          );
          await client.query("UPDATE log_head SET size = $1 WHERE id = 1", [size + leafHashes.length]);
        }
        await client.query("COMMIT");
        return size + leafHashes.length;
      } catch (e) {
        await client.query("ROLLBACK");
        throw e;
      }
    } finally {
      client.release();
    }
  }

  async findLeaf(leafHash: Uint8Array): Promise<number | undefined> {
    const r = await this.pool.query("SELECT idx FROM log_leaf_index WHERE hash = $1 ORDER BY idx LIMIT 1", [
      buf(leafHash),
    ]);
    return r.rowCount ? Number(r.rows[0].idx) : undefined;
  }
}
