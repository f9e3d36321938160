import type pg from "pg";
import type { Hasher } from "./hash";
import { LogAppendConflictError } from "./errors";
import { type TileKey, type TileWrite, planAppend, tileKeyString } from "./tiles";
import { type TileCache, cachedBorder, tileKey } from "./tile-cache";
import { buildLeafFilter, leafEpoch, leafPrefix, sealedEpochs } from "./leaf-keys";
import type { TileBackend } from "./store";

/** Concurrent proof-read queries per store (the pool's other connections stay free for appends and lookups). */
const READS_IN_FLIGHT = 4;

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

// Named statements: parsed and planned once per connection.
const READ_TILES = {
  name: "log_read_tiles",
  text: `SELECT t.level, t.idx, t.hashes FROM log_tiles t
           JOIN unnest($1::int[], $2::bigint[]) AS k(level, idx) ON t.level = k.level AND t.idx = k.idx`,
};
const READ_LEAF_TILES = {
  name: "log_read_leaf_tiles",
  text: "SELECT idx, hashes FROM log_tiles WHERE level = 0 AND idx >= $1 AND idx < $2 ORDER BY idx",
};
const LEAF_CANDIDATES = {
  name: "log_leaf_candidates",
  text: "SELECT idx FROM log_leaf_keys WHERE epoch = ANY ($1::int[]) AND prefix = $2 ORDER BY idx",
};

/**
 * PostgreSQL tiles. Appends from any number of processes are serialized by the row lock on
 * log_head (SELECT … FOR UPDATE), so concurrent callers cannot corrupt the tree: the loser sees
 * the new size and gets LogAppendConflictError. A proof is one round trip (cached tiles aside).
 */
export class PostgresTileBackend implements TileBackend {
  private waiting: {
    keys: readonly TileKey[];
    resolve: (t: TileWrite[]) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private readsInFlight = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly hasher: Hasher,
    private readonly cache: TileCache,
  ) {}

  async size(): Promise<number> {
    const r = await this.pool.query("SELECT size FROM log_head WHERE id = 1");
    return Number(r.rows[0].size);
  }

  private async read(q: pg.Pool | pg.PoolClient, keys: readonly TileKey[]): Promise<TileWrite[]> {
    if (keys.length === 0) return [];
    const r = await q.query({ ...READ_TILES, values: [keys.map((k) => k.level), keys.map((k) => k.index)] });
    return r.rows.map((row) => ({
      level: row.level as number,
      index: Number(row.idx),
      hashes: row.hashes as Buffer,
    }));
  }

  /**
   * Proof reads: up to READS_IN_FLIGHT queries at once; requests arriving while all are busy wait and
   * then go out together as one query (under load, many proofs share a round trip; idle, none waits).
   */
  readTiles(keys: readonly TileKey[]): Promise<TileWrite[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.waiting.push({ keys, resolve, reject });
      this.flushReads();
    });
  }

  private flushReads(): void {
    if (this.readsInFlight >= READS_IN_FLIGHT || this.waiting.length === 0) return;
    const group = this.waiting;
    this.waiting = [];
    const all = new Map<number, TileKey>();
    for (const w of group) for (const k of w.keys) all.set(tileKey(k.level, k.index), k);
    this.readsInFlight++;
    this.read(this.pool, [...all.values()])
      .then(
        (rows) => {
          const byKey = new Map(rows.map((r) => [tileKey(r.level, r.index), r]));
          for (const w of group) w.resolve(w.keys.flatMap((k) => byKey.get(tileKey(k.level, k.index)) ?? []));
        },
        (e) => {
          for (const w of group) w.reject(e);
        },
      )
      .finally(() => {
        this.readsInFlight--;
        this.flushReads();
      });
  }

  async append(
    fromIndex: number,
    leafHashes: readonly Uint8Array[],
  ): Promise<{ size: number; writes: TileWrite[] }> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      try {
        const r = await client.query("SELECT size FROM log_head WHERE id = 1 FOR UPDATE");
        const size = Number(r.rows[0].size);
        if (fromIndex !== size) throw new LogAppendConflictError(fromIndex, size);
        let writes: TileWrite[] = [];
        if (leafHashes.length > 0) {
          const { border, missing } = cachedBorder(this.cache, size);
          for (const t of await this.read(client, missing))
            border.set(tileKeyString(t.level, t.index), t.hashes);
          writes = planAppend(size, border, leafHashes, this.hasher);
          await client.query(
            `INSERT INTO log_tiles (level, idx, hashes)
               SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[])
             ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes`,
            [writes.map((w) => w.level), writes.map((w) => w.index), writes.map((w) => buf(w.hashes))],
          );
          const epochs: number[] = new Array(leafHashes.length);
          const prefixes: string[] = new Array(leafHashes.length);
          const indices: number[] = new Array(leafHashes.length);
          for (let i = 0; i < leafHashes.length; i++) {
            epochs[i] = leafEpoch(size + i);
            prefixes[i] = String(leafPrefix(leafHashes[i]));
            indices[i] = size + i;
          }
          await client.query(
            // Sorted by key, consecutive index inserts land on the same pages.
            `INSERT INTO log_leaf_keys (epoch, prefix, idx)
               SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[]) ORDER BY 1, 2, 3`,
            [epochs, prefixes, indices],
          );
          for (const e of sealedEpochs(size, size + leafHashes.length)) {
            const p = await client.query("SELECT prefix FROM log_leaf_keys WHERE epoch = $1", [e]);
            const bits = buildLeafFilter(p.rows.map((row) => Number(row.prefix)));
            await client.query(
              "INSERT INTO log_leaf_filters (epoch, bits) VALUES ($1, $2) ON CONFLICT (epoch) DO UPDATE SET bits = EXCLUDED.bits",
              [e, buf(bits)],
            );
          }
          await client.query("UPDATE log_head SET size = $1 WHERE id = 1", [size + leafHashes.length]);
        }
        await client.query("COMMIT");
        return { size: size + leafHashes.length, writes };
      } catch (e) {
        await client.query("ROLLBACK");
        throw e;
      }
    } finally {
      client.release();
    }
  }

  async *leafCandidates(prefix: number, epochs: readonly number[]): AsyncIterable<number[]> {
    if (epochs.length === 0) return;
    const r = await this.pool.query({ ...LEAF_CANDIDATES, values: [epochs, prefix] });
    yield r.rows.map((row) => Number(row.idx));
  }

  async readLeafTiles(from: number, to: number): Promise<TileWrite[]> {
    const r = await this.pool.query({ ...READ_LEAF_TILES, values: [from, to] });
    return r.rows.map((row) => ({ level: 0, index: Number(row.idx), hashes: row.hashes as Buffer }));
  }

  async leafFilters(fromEpoch: number): Promise<{ epoch: number; bits: Uint8Array }[]> {
    const r = await this.pool.query("SELECT epoch, bits FROM log_leaf_filters WHERE epoch >= $1", [
      fromEpoch,
    ]);
    return r.rows.map((row) => ({ epoch: row.epoch as number, bits: row.bits as Buffer }));
  }
}
