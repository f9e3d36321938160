import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { type SqlRunner, sqlRunner } from "../../src/db/tx-runner";
import type { FactInput } from "../../src/ledger";
import { riskMigrations } from "../../src/risk/migrations";
import { type OutboxDeps, enqueue, pendingOutbox, publishOutbox } from "../../src/risk/outbox";
import type { FactPort } from "../../src/risk/ports";
import { describeWithPg } from "../support/pg";

/** A fact port that counts what it was asked to record, yielding to the event loop on each call. */
function countingFacts(
  done: Map<string, number>,
  wait: () => Promise<void> = () => new Promise(setImmediate),
) {
  const port: FactPort = {
    recordFact: async (f: FactInput) => {
      await wait();
      done.set(f.id, (done.get(f.id) ?? 0) + 1);
      return undefined as never;
    },
    getFact: async () => undefined as never,
    listFacts: async () => [],
  };
  return port;
}

function deps(runner: SqlRunner, facts: FactPort, now: () => number, claimMs?: number): OutboxDeps {
  return {
    runner,
    facts,
    ledger: { setAccountStatus: async () => undefined as never },
    now,
    ...(claimMs === undefined ? {} : { claimMs }),
  };
}

async function enqueueFacts(runner: SqlRunner, n: number, now: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `f-${String(i).padStart(4, "0")}`);
  await runner.tx(function* () {
    for (const id of ids)
      yield* enqueue("fact", id, { id, kind: "NOTE", subject: "alice", document: {} }, now);
  });
  return ids;
}

describe("risk outbox: claimed before it is worked", () => {
  let dir: string;
  let db: Database;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-outbox-"));
    db = openDatabase(path.join(dir, "risk.db"));
    await migrate(db, riskMigrations);
  });
  afterEach(async () => {
    await closeDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("an item a publisher claimed is not due for another until the claim runs out (a dead publisher delays, loses nothing)", async () => {
    const runner = sqlRunner(db);
    let now = 1_000_000;
    const ids = await enqueueFacts(runner, 5, now);
    // The first publisher claims everything and never finishes (it died mid-work).
    const stuck = new Map<string, number>();
    void publishOutbox(
      deps(
        runner,
        countingFacts(stuck, () => new Promise<void>(() => {})),
        () => now,
        60_000,
      ),
    );
    await new Promise(setImmediate);
    const done = new Map<string, number>();
    const other = deps(runner, countingFacts(done), () => now, 60_000);
    expect(await publishOutbox(other)).to.equal(0);
    now += 59_999;
    expect(await publishOutbox(other)).to.equal(0);
    now += 1;
    expect(await publishOutbox(other)).to.equal(5);
    expect([...done.keys()]).to.deep.equal(ids);
    expect(await pendingOutbox(runner)).to.deep.equal({});
    expect(stuck.size).to.equal(0);
  });

  it("a failed item is retried after its backoff, not after the claim", async () => {
    const runner = sqlRunner(db);
    let now = 1_000_000;
    await enqueueFacts(runner, 1, now);
    let fail = true;
    const done = new Map<string, number>();
    const facts = countingFacts(done, async () => {
      if (fail) throw new Error("log unavailable");
    });
    const d = { ...deps(runner, facts, () => now, 600_000), baseBackoffMs: 1000 };
    expect(await publishOutbox(d)).to.equal(0);
    fail = false;
    now += 999;
    expect(await publishOutbox(d)).to.equal(0);
    now += 1;
    expect(await publishOutbox(d)).to.equal(1);
    expect(done.get("f-0000")).to.equal(1);
  });
});

describeWithPg("risk outbox: several publishers on one PostgreSQL database", (ctx) => {
  it("every item is done exactly once and no publisher deadlocks another", async () => {
    // Two databases handles stand for two stack processes, each publishing from two loops.
    const dbs = [openDatabase(ctx.url, { poolSize: 3 }), openDatabase(ctx.url, { poolSize: 3 })];
    try {
      await migrate(dbs[0], riskMigrations);
      const runners = dbs.map(sqlRunner);
      const ids = await enqueueFacts(runners[0], 1000, Date.now());
      const done = new Map<string, number>();
      const publishers = [0, 0, 1, 1].map((i) => deps(runners[i], countingFacts(done), Date.now));
      const published = await Promise.all(
        publishers.map(async (d) => {
          let n = 0;
          for (let k; (k = await publishOutbox(d, 100)) > 0;) n += k;
          return n;
        }),
      );
      expect(published.reduce((a, b) => a + b, 0)).to.equal(1000);
      expect(published.filter((n) => n > 0).length).to.be.greaterThan(1);
      expect([...done.keys()].sort()).to.deep.equal(ids);
      expect([...done.values()].every((n) => n === 1)).to.equal(true);
      expect(await pendingOutbox(runners[1])).to.deep.equal({});
    } finally {
      for (const d of dbs) await closeDatabase(d);
    }
  });
});
