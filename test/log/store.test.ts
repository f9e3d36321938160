import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { openLogStore } from "../../src/log/store";
import { MemoryLogStore } from "../../src/log/memory-store";
import { LogAppendConflictError } from "../../src/log/errors";
import { toHex } from "../../src/log/hex";
import { describeWithPg } from "../support/pg";
import { shouldBehaveLikeLogStore } from "./store.behaviour";
import { makeLeaves, refRoot } from "./reference";

const pool = (db: Database) => {
  if (db.kind !== "postgres") throw new Error("not a PostgreSQL database");
  return db.pool;
};

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
      return {
        async open() {
          db = openDatabase(file);
          return openLogStore(db);
        },
        async reopen() {
          if (db) await closeDatabase(db);
          db = openDatabase(file);
          return openLogStore(db);
        },
        async close() {
          if (db) await closeDatabase(db);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    { persistent: true },
  );
});

describeWithPg("log/store (postgres)", (ctx) => {
  let dbs: Database[] = [];
  shouldBehaveLikeLogStore(
    () => ({
      async open() {
        const db = openDatabase(ctx.url, { poolSize: 4 });
        dbs.push(db);
        const s = await openLogStore(db);
        await pool(db).query("TRUNCATE log_tiles, log_leaf_index; UPDATE log_head SET size = 0");
        return s;
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

  it("concurrent appenders from separate pools never corrupt the tree", async () => {
    const a = openDatabase(ctx.url, { poolSize: 4 });
    const b = openDatabase(ctx.url, { poolSize: 4 });
    try {
      const sa = await openLogStore(a);
      const sb = await openLogStore(b);
      await pool(a).query("TRUNCATE log_tiles, log_leaf_index; UPDATE log_head SET size = 0");
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
