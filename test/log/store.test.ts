import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { logMigrations, openLogStore } from "../../src/log/store";
import { migrate } from "../../src/db/migrate";
import { planAppend } from "../../src/log/tiles";
import { nodeHasher } from "../../src/log/node-hasher";
import { leafEpoch, leafPrefix } from "../../src/log/leaf-keys";
import { MemoryLogStore } from "../../src/log/memory-store";
import { LogAppendConflictError, LogArgumentError } from "../../src/log/errors";
import { toHex } from "../../src/log/hex";
import { describeWithPg } from "../support/pg";
import { shouldBehaveLikeLogStore } from "./store.behaviour";
import { makeLeaves, refInclusion, refRoot } from "./reference";
import { LeafTileSlab } from "../../src/log/tile-cache";

const pool = (db: Database) => {
  if (db.kind !== "postgres") throw new Error("not a PostgreSQL database");
  return db.pool;
};

/** The log store on a PostgreSQL test database, with the tree every earlier test left emptied. */
async function emptiedStore(db: Database) {
  const s = await openLogStore(db);
  await pool(db).query("TRUNCATE log_tiles, log_leaf_keys, log_leaf_filters; UPDATE log_head SET size = 0");
  return s;
}

/**
 * A database in the log/001 layout (leaf index keyed by the full hash) with `leaves` stored, as an
 * older release left it; the hashes include 0xff… prefixes to catch sign errors in the conversion.
 */
async function seedVersion1(db: Database, leaves: readonly Uint8Array[]): Promise<void> {
  await migrate(db, logMigrations.slice(0, 1));
  const tiles = planAppend(0, new Map(), leaves, nodeHasher);
  if (db.kind === "sqlite") {
    db.sqlite.transaction(() => {
      for (const t of tiles)
        db.sqlite
          .prepare("INSERT INTO log_tiles (level, idx, hashes) VALUES (?, ?, ?)")
          .run(t.level, t.index, t.hashes);
      leaves.forEach((h, i) =>
        db.sqlite.prepare("INSERT INTO log_leaf_index (hash, idx) VALUES (?, ?)").run(h, i),
      );
      db.sqlite.prepare("UPDATE log_head SET size = ?").run(leaves.length);
    })();
  } else {
    for (const t of tiles)
      await db.pool.query("INSERT INTO log_tiles (level, idx, hashes) VALUES ($1, $2, $3)", [
        t.level,
        t.index,
        Buffer.from(t.hashes),
      ]);
    for (let i = 0; i < leaves.length; i++)
      await db.pool.query("INSERT INTO log_leaf_index (hash, idx) VALUES ($1, $2)", [
        Buffer.from(leaves[i]),
        i,
      ]);
    await db.pool.query("UPDATE log_head SET size = $1", [leaves.length]);
  }
}

function upgradeLeaves(): Uint8Array[] {
  const leaves = makeLeaves(40, 21);
  leaves[5] = Uint8Array.from({ length: 32 }, () => 0xff);
  leaves[6] = Uint8Array.from({ length: 32 }, (_, i) => (i < 6 ? 0x80 : i));
  leaves[7] = new Uint8Array(32);
  leaves[30] = leaves[2]; // repeated: the first index still wins
  return leaves;
}

async function expectUpgraded(db: Database, leaves: readonly Uint8Array[]): Promise<void> {
  const s = await openLogStore(db);
  expect(await s.size()).to.equal(leaves.length);
  expect(toHex(await s.root())).to.equal(toHex(refRoot(leaves)));
  for (let i = 0; i < leaves.length; i++)
    expect(await s.findLeaf(leaves[i]), `leaf ${i}`).to.equal(i === 30 ? 2 : i);
  const rows =
    db.kind === "sqlite"
      ? (db.sqlite.prepare("SELECT epoch, prefix, idx FROM log_leaf_keys ORDER BY idx").all() as Record<
          string,
          unknown
        >[])
      : (await db.pool.query("SELECT epoch, prefix, idx FROM log_leaf_keys ORDER BY idx")).rows;
  expect(rows.map((r) => [Number(r.epoch), Number(r.prefix), Number(r.idx)])).to.deep.equal(
    leaves.map((h, i) => [leafEpoch(i), leafPrefix(h), i]),
  );
  await s.append(leaves.length, [leaves[0], makeLeaves(1, 99)[0]]);
  expect(await s.findLeaf(makeLeaves(1, 99)[0])).to.equal(leaves.length + 1);
}

/**
 * Watches the statements a PostgreSQL database's pool sends: every statement's name (or text), and
 * how many full leaf tiles (level 0, index below `fullTiles`) proof reads asked for.
 */
function spyTileReads(db: Database, fullTiles: number): { names: string[]; fullLeafTiles: number } {
  const spy = { names: [] as string[], fullLeafTiles: 0 };
  const p = pool(db);
  const query = p.query.bind(p) as (...a: unknown[]) => unknown;
  (p as unknown as { query: unknown }).query = (...a: unknown[]) => {
    const q = a[0] as { name?: string; values?: unknown[][] };
    spy.names.push(q?.name ?? String(a[0]));
    if (q?.name === "log_read_tiles")
      spy.fullLeafTiles += q.values![0].filter(
        (l, i) => l === 0 && Number(q.values![1][i]) < fullTiles,
      ).length;
    return query(...a);
  };
  return spy;
}

describe("log/tile-cache LeafTileSlab", () => {
  const tile = (b: number) => new Uint8Array(512).fill(b);
  it("keeps full leaf tiles up to its budget, in 1 MiB slabs, and refuses partial ones", () => {
    const slab = new LeafTileSlab(2 * 1024 * 1024);
    expect(slab.put(5, tile(1))).to.equal(true);
    expect(slab.put(2048 * 7 + 3, tile(2))).to.equal(true);
    expect(slab.allocated).to.equal(2 * 1024 * 1024);
    expect(slab.put(2048 * 9, tile(3)), "a third slab is over budget").to.equal(false);
    expect(slab.put(6, tile(4).subarray(0, 480)), "a partial tile").to.equal(false);
    expect(slab.get(5)).to.deep.equal(tile(1));
    expect(slab.get(2048 * 7 + 3)).to.deep.equal(tile(2));
    for (const i of [4, 6, 2048 * 9, 2048 * 7 + 2]) expect(slab.get(i)).to.equal(undefined);
    expect(new LeafTileSlab(0).put(0, tile(1)), "no budget").to.equal(false);
  });
});

describe("log/store (memory)", () => {
  shouldBehaveLikeLogStore(
    () => ({
      open: async () => new MemoryLogStore(),
      close: async () => {},
    }),
    { persistent: false },
  );
});

describe("log/store (sqlite)", () => {
  shouldBehaveLikeLogStore(
    () => {
      const dir = mkdtempSync(join(tmpdir(), "custody-log-"));
      const file = join(dir, "log.db");
      let db: Database | undefined;
      const others: Database[] = [];
      return {
        async open() {
          db = openDatabase(file);
          return openLogStore(db);
        },
        async another() {
          const d = openDatabase(file);
          others.push(d);
          return openLogStore(d);
        },
        async reopen() {
          if (db) await closeDatabase(db);
          db = openDatabase(file);
          return openLogStore(db);
        },
        async close() {
          if (db) await closeDatabase(db);
          for (const d of others) await closeDatabase(d);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    { persistent: true },
  );
});

describe("log/store (sqlite) upgrade", () => {
  it("log/002 moves a log/001 leaf index to leaf keys; proofs and lookups are unchanged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "custody-log-up-"));
    const db = openDatabase(join(dir, "log.db"));
    try {
      const leaves = upgradeLeaves();
      await seedVersion1(db, leaves);
      await expectUpgraded(db, leaves);
    } finally {
      await closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithPg("log/store (postgres) upgrade", (ctx) => {
  it("log/002 moves a log/001 leaf index to leaf keys; proofs and lookups are unchanged", async () => {
    const db = openDatabase(ctx.url, { poolSize: 2 });
    try {
      const leaves = upgradeLeaves();
      await seedVersion1(db, leaves);
      await expectUpgraded(db, leaves);
    } finally {
      await closeDatabase(db);
    }
  });
});

describeWithPg("log/store (postgres)", (ctx) => {
  let dbs: Database[] = [];
  shouldBehaveLikeLogStore(
    () => ({
      async open() {
        const db = openDatabase(ctx.url, { poolSize: 4 });
        dbs.push(db);
        const s = await emptiedStore(db);
        return s;
      },
      async another() {
        const db = openDatabase(ctx.url, { poolSize: 4 });
        dbs.push(db);
        return openLogStore(db);
      },
      async reopen() {
        for (const d of dbs) await closeDatabase(d);
        const db = openDatabase(ctx.url, { poolSize: 4 });
        dbs = [db];
        return openLogStore(db);
      },
      async close() {
        for (const d of dbs) await closeDatabase(d);
        dbs = [];
      },
    }),
    { persistent: true },
  );

  it("serves proofs from held leaf tiles without reading them again", async () => {
    const db = openDatabase(ctx.url, { poolSize: 4 });
    try {
      const writer = await emptiedStore(db);
      const leaves = makeLeaves(1000, 5);
      await writer.append(0, leaves);
      // A second handle starts cold: small tile cache, leaf tiles in the slab.
      const reader = await openLogStore(db, { cacheTiles: 4, leafTileBytes: 1024 * 1024 });
      const spy = spyTileReads(db, 62);
      const check = async () => {
        for (let i = 0; i < 1000; i += 7)
          expect((await reader.inclusionProof(i, 1000)).map(toHex)).to.deep.equal(
            refInclusion(leaves, i).map(toHex),
          );
      };
      await check();
      expect(spy.fullLeafTiles, "cold: each leaf tile read once").to.equal(62);
      spy.fullLeafTiles = 0;
      await check();
      expect(spy.fullLeafTiles, "warm: every leaf tile from the slab").to.equal(0);
      const none = await openLogStore(db, { cacheTiles: 4, leafTileBytes: 0 });
      for (let i = 0; i < 1000; i += 7) await none.inclusionProof(i, 1000);
      expect(spy.fullLeafTiles, "without the slab, a 4-tile cache reads them again").to.be.greaterThan(62);
      // The handle that appended holds the leaf tiles it wrote: none is read.
      spy.fullLeafTiles = 0;
      for (let i = 0; i < 1000; i += 7) await writer.inclusionProof(i, 1000);
      expect(spy.fullLeafTiles, "the writer reads no leaf tile").to.equal(0);
    } finally {
      await closeDatabase(db);
    }
  });

  it("warmLeafTiles loads every full leaf tile in range reads, up to the slab's budget", async () => {
    const db = openDatabase(ctx.url, { poolSize: 4 });
    try {
      const writer = await emptiedStore(db);
      const leaves = makeLeaves(1000, 9);
      await writer.append(0, leaves);
      const spy = spyTileReads(db, 62);
      const names = spy.names;
      // 62 full tiles of 1000 leaves (the 63rd is partial and stays out), 10 per read.
      const reader = await openLogStore(db, { cacheTiles: 4, leafTileBytes: 1024 * 1024 });
      names.length = 0;
      expect(await reader.warmLeafTiles({ chunkTiles: 10 })).to.deep.equal({ tiles: 62, bytes: 1024 * 1024 });
      expect(names.filter((n) => n === "log_read_leaf_tiles")).to.have.length(7);
      names.length = 0;
      for (let i = 0; i < 992; i += 3)
        expect((await reader.inclusionProof(i, 1000)).map(toHex)).to.deep.equal(
          refInclusion(leaves, i).map(toHex),
        );
      expect(spy.fullLeafTiles, "every full leaf tile comes from the slab").to.equal(0);
      // A slab with no budget reads nothing; one smaller than the tree keeps what fits (2 048 tiles
      // per 1 MiB slab, so a 1-byte budget holds none); a bad chunk size is refused before any read.
      names.length = 0;
      const none = await openLogStore(db, { leafTileBytes: 0 });
      expect(await none.warmLeafTiles()).to.deep.equal({ tiles: 0, bytes: 0 });
      const tiny = await openLogStore(db, { leafTileBytes: 1 });
      expect(await tiny.warmLeafTiles()).to.deep.equal({ tiles: 0, bytes: 0 });
      expect(names).to.not.include("log_read_leaf_tiles");
      let refused: unknown;
      await reader.warmLeafTiles({ chunkTiles: 0 }).catch((e) => (refused = e));
      expect(refused).to.be.instanceOf(LogArgumentError);
    } finally {
      await closeDatabase(db);
    }
  });

  it("concurrent appenders from separate pools never corrupt the tree", async () => {
    const a = openDatabase(ctx.url, { poolSize: 4 });
    const b = openDatabase(ctx.url, { poolSize: 4 });
    try {
      const sa = await emptiedStore(a);
      const sb = await openLogStore(b);
      const leaves = makeLeaves(400, 9);
      // Each writer appends the next batch at the size it last saw; losers retry at the new size.
      const writer = async (s: typeof sa) => {
        let conflicts = 0;
        for (;;) {
          const size = await s.size();
          if (size >= leaves.length) return conflicts;
          try {
            await s.append(size, leaves.slice(size, Math.min(size + 7, leaves.length)));
          } catch (e) {
            if (!(e instanceof LogAppendConflictError)) throw e;
            conflicts++;
          }
        }
      };
      await Promise.all([writer(sa), writer(sb), writer(sa), writer(sb)]);
      expect(await sa.size()).to.equal(400);
      expect(toHex(await sb.root())).to.equal(toHex(refRoot(leaves)));
      for (let i = 0; i < 400; i += 37) expect(await sa.findLeaf(leaves[i])).to.equal(i);
    } finally {
      await closeDatabase(a);
      await closeDatabase(b);
    }
  });
});
