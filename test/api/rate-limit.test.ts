import { expect } from "chai";
import pg from "pg";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { apiMigrations } from "../../src/api/auth/keys";
import { createPgRateLimiter, rateLimitMigrations } from "../../src/api/http/rate-limit-pg";
import { createRateLimiter } from "../../src/api/http/rate-limit";
import { describeWithPg } from "../support/pg";
import { seedLedger, startApiStack, type ApiStack } from "./support/stack";

describe("api: rate limit before authentication", function () {
  let s: ApiStack;
  before(async () => {
    s = await startApiStack({ options: { rateLimit: { ratePerSecond: 0.001, burst: 20 } } });
    await seedLedger(s);
  });
  after(async () => s?.stop());

  it("150 requests with distinct fake keys from one address: the burst gets 401, the rest 429", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 150; i++) {
      const fake = `cal_${i.toString(16).padStart(16, "0")}_${"x".repeat(43)}`;
      // Alternate the express path (POST) and the lean GET path: both limit before authenticating.
      const r =
        i % 2 === 0
          ? await s.call("GET", "/v1/accounts/alice", { key: fake })
          : await s.call("POST", "/v1/accounts", { key: fake, body: { id: `x${i}` } });
      statuses.push(r.status);
      if (r.status === 429) expect(Number(r.headers.get("retry-after"))).to.be.at.least(1);
    }
    const count = (n: number) => statuses.filter((x) => x === n).length;
    expect(count(401) + count(429)).to.equal(150);
    expect(count(401)).to.equal(20); // the burst (the rate refills nothing during the run)
    expect(count(429)).to.equal(130);
    // Once throttled, the address is refused before any key is looked up, valid or not.
    expect((await s.call("GET", "/v1/accounts/alice", { key: s.keys.platform })).status).to.equal(429);
  });

  it("the in-process limiter's peek takes nothing", () => {
    let t = 0;
    const l = createRateLimiter({ ratePerSecond: 1, burst: 2, now: () => t });
    expect(l.peek("a")).to.equal(0);
    expect(l.take("a")).to.equal(0);
    expect(l.peek("a")).to.equal(0);
    expect(l.take("a")).to.equal(0);
    expect(l.peek("a")).to.equal(1);
    t += 1000;
    expect(l.peek("a")).to.equal(0);
  });
});

describeWithPg("api: rate limit shared by processes on PostgreSQL", (ctx) => {
  let db: Database;
  const pools: pg.Pool[] = [];
  before(async () => {
    db = openDatabase(ctx.url);
    await migrate(db, [...apiMigrations, ...rateLimitMigrations]);
  });
  after(async () => {
    if (db) await closeDatabase(db);
  });

  it("two API processes draw from one bucket per caller", async () => {
    // Two pools stand for two processes: nothing is shared but the database.
    const [a, b] = [0, 1].map(() => {
      const pool = new pg.Pool({ connectionString: ctx.url, max: 2 });
      pools.push(pool);
      return createPgRateLimiter(pool, { ratePerSecond: 0.01, burst: 10 });
    });
    const waits: number[] = [];
    for (let i = 0; i < 14; i++) waits.push(await (i % 2 === 0 ? a! : b!).take("key:k1"));
    expect(waits.slice(0, 10)).to.deep.equal(Array(10).fill(0));
    for (const w of waits.slice(10)) expect(w).to.be.greaterThan(0);
    // Refused by one process: that process refuses the caller before asking the database again.
    expect(b!.peek("key:k1")).to.be.greaterThan(0);
    // Another caller has its own bucket.
    expect(await a!.take("key:k2")).to.equal(0);
    const rows = (await pools[0]!.query("SELECT caller FROM api_rate_buckets ORDER BY caller")).rows;
    expect(rows.map((r: { caller: string }) => r.caller)).to.deep.equal(["key:k1", "key:k2"]);
    for (const p of pools.splice(0)) await p.end();
  });
});
