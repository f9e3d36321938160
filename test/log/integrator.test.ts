import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { createLogIntegrator } from "../../src/log/integrator";
import { MemoryLogStore } from "../../src/log/memory-store";
import { logReaderOf } from "../../src/log/reader";
import { openLogStore, type LogStore } from "../../src/log/store";
import { toHex } from "../../src/log/hex";
import pg from "pg";
import { advisoryLockKey, createPgAdvisoryLease } from "../../src/db/lease";
import { describeWithPg } from "../support/pg";
import { makeLeaves, refRoot } from "./reference";

/** A growing list of committed leaf hashes, as the ledger's event table would serve them. */
function growingSource(all: readonly Uint8Array[]) {
  let committed = 0;
  return {
    commit: (n: number) => (committed = Math.min(all.length, committed + n)),
    async leafHashes(from: number, limit: number) {
      return all.slice(from, Math.min(committed, from + limit));
    },
  };
}

/** Wraps a store and records how many appends run at once. */
function watched(store: LogStore) {
  let running = 0;
  const stats = { maxConcurrent: 0, appends: 0 };
  const wrapped: LogStore = Object.assign(Object.create(store), {
    async append(fromIndex: number, leafHashes: readonly Uint8Array[]) {
      running++;
      stats.appends++;
      stats.maxConcurrent = Math.max(stats.maxConcurrent, running);
      try {
        await new Promise((r) => setImmediate(r));
        return await store.append(fromIndex, leafHashes);
      } finally {
        running--;
      }
    },
  });
  return { store: wrapped, stats };
}

describe("log: the integrator is the one writer, everyone else reads", () => {
  const leaves = makeLeaves(2_000);

  it("appends every committed leaf in order; the reader sees the same tree as the reference", async () => {
    const source = growingSource(leaves);
    const store = new MemoryLogStore();
    const integrator = createLogIntegrator({ source, store, batchSize: 300 });
    source.commit(1_234);
    expect(await integrator.integrate()).to.equal(1_234);
    expect(toHex(await integrator.reader.root())).to.equal(toHex(refRoot(leaves.slice(0, 1_234))));
    expect((await integrator.reader.leafHashes(1_200, 100)).map(toHex)).to.deep.equal(
      leaves.slice(1_200, 1_234).map(toHex),
    );
    source.commit(10_000);
    expect(await integrator.integrate()).to.equal(2_000);
    expect(toHex(await integrator.reader.root())).to.equal(toHex(refRoot(leaves)));
  });

  it("never runs two rounds at once, and a call during a round is covered by a later round", async () => {
    const source = growingSource(leaves);
    const { store, stats } = watched(new MemoryLogStore());
    const integrator = createLogIntegrator({ source, store, batchSize: 50 });
    source.commit(500);
    const first = integrator.integrate();
    // Committed while the first round runs: the callers below must still see these leaves.
    source.commit(500);
    const sizes = await Promise.all([
      first,
      integrator.integrate(),
      integrator.integrate(),
      integrator.integrate(),
    ]);
    expect(stats.maxConcurrent).to.equal(1);
    expect(sizes.slice(1)).to.deep.equal([1_000, 1_000, 1_000]);
    expect(await store.size()).to.equal(1_000);
  });

  it("the loop integrates commits until stopped; a nudge starts a round early", async () => {
    const source = growingSource(leaves);
    const store = new MemoryLogStore();
    const integrator = createLogIntegrator({ source, store, intervalMs: 60_000 });
    integrator.start();
    try {
      source.commit(700);
      integrator.nudge();
      while ((await store.size()) < 700) await new Promise((r) => setTimeout(r, 5));
      expect(await integrator.reader.size()).to.equal(700);
    } finally {
      await integrator.stop();
    }
    source.commit(100);
    await new Promise((r) => setTimeout(r, 20));
    integrator.nudge();
    expect(await store.size()).to.equal(700); // stopped: nothing appends any more
  });

  it("hands out a reader without any way to append", async () => {
    const reader = logReaderOf(new MemoryLogStore());
    expect(Object.keys(reader).sort()).to.deep.equal([
      "consistencyProof",
      "findLeaf",
      "inclusionProof",
      "leafHash",
      "leafHashes",
      "nodeHashes",
      "root",
      "size",
    ]);
    expect("append" in reader).to.equal(false);
  });

  describe("on a SQLite store", () => {
    let dir: string;
    let db: Database;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "custody-integrator-"));
      db = openDatabase(join(dir, "log.db"));
    });
    after(async () => {
      await closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    });

    it("two integrators on one database still append each leaf once (the store refuses a stale round)", async () => {
      const source = growingSource(leaves);
      source.commit(2_000);
      const a = createLogIntegrator({ source, store: await openLogStore(db), batchSize: 128 });
      const b = createLogIntegrator({ source, store: await openLogStore(db), batchSize: 128 });
      const [sa, sb] = await Promise.all([a.integrate(), b.integrate()]);
      expect([sa, sb]).to.deep.equal([2_000, 2_000]);
      expect(toHex(await a.reader.root())).to.equal(toHex(refRoot(leaves)));
      expect((await b.reader.leafHashes(0, 5_000)).map(toHex)).to.deep.equal(leaves.map(toHex));
    });
  });
});

describeWithPg("log: one integrating process per PostgreSQL log (lease)", (ctx) => {
  it("the loop appends only while it holds the lease; integrate() called directly always does", async () => {
    const db = openDatabase(ctx.url);
    const holder = new pg.Client({ connectionString: ctx.url });
    await holder.connect();
    const key = advisoryLockKey("log-integrator").toString();
    // Another process's integrator holds the lease.
    await holder.query("SELECT pg_advisory_lock($1::bigint)", [key]);
    const source = growingSource(makeLeaves(500));
    const store = await openLogStore(db);
    const integrator = createLogIntegrator({
      source,
      store,
      intervalMs: 10,
      lease: createPgAdvisoryLease(ctx.url, { name: "log-integrator" }),
    });
    try {
      integrator.start();
      source.commit(100);
      await new Promise((r) => setTimeout(r, 200));
      expect(await store.size()).to.equal(0);
      expect(await integrator.integrate()).to.equal(100);
      // The holder's session ends: this loop takes the lease and appends what follows.
      await holder.end();
      source.commit(150);
      while ((await store.size()) < 250) await new Promise((r) => setTimeout(r, 10));
    } finally {
      await integrator.stop();
      await holder.end().catch(() => undefined);
      await closeDatabase(db);
    }
  });
});
