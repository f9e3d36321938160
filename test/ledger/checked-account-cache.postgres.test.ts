import { expect } from "chai";
import type { Database } from "../../src/db/database";
import { InsufficientFundsError, type Ledger } from "../../src/ledger";
import { describeWithPg, recordPgStatements } from "../support/pg";
import { openTestLedger, rejects, uniquePrefix } from "./support";

/**
 * The PostgreSQL store plans from its cache of committed account rows and checks them as it writes
 * (src/ledger/checked-account-cache.ts). Here two ledgers on one database stand for two processes:
 * each one's writes make the other's cached rows out of date, which its checks must catch.
 */
describeWithPg("ledger: checked account cache (postgres)", (ctx) => {
  const record = recordPgStatements();

  /** What `body` sends, by kind: checked calls, lock-and-loads, locked commit calls, and the rest. */
  async function sent(body: () => Promise<unknown>): Promise<string[]> {
    return (await record(body)).sent.map((s) =>
      s.startsWith("SELECT ledger_commit_transfers_checked(")
        ? "checked"
        : s.startsWith("SELECT ledger_update_accounts_checked(")
          ? "update"
          : s.startsWith("SELECT ledger_append_transfers(")
            ? "append"
            : s.includes("SELECT a.ctid")
              ? "lock"
              : s.startsWith("SELECT ledger_commit_transfers(")
                ? "commit"
                : s.startsWith("SELECT t.* FROM unnest(")
                  ? "transfer ids"
                  : s.slice(0, 30),
    );
  }

  let a: { ledger: Ledger; db: Database; close(): Promise<void> };
  let b: { ledger: Ledger; db: Database; close(): Promise<void> };
  let p: string;
  const transfer = (l: Ledger, id: string, from: string, to: string, amount: bigint) =>
    l.transfer({
      id: `${p}-${id}`,
      debitAccountId: `${p}-${from}`,
      creditAccountId: `${p}-${to}`,
      amount,
      kind: "transfer",
    });
  const deposit = (l: Ledger, id: string, to: string, amount: bigint) =>
    l.transfer({
      id: `${p}-${id}`,
      debitAccountId: `${p}-bank`,
      creditAccountId: `${p}-${to}`,
      amount,
      kind: "deposit",
    });
  const posted = async (id: string) => (await a.ledger.getBalance(`${p}-${id}`)).posted;

  beforeEach(async () => {
    a = await openTestLedger({ name: "postgres", url: () => ctx.url });
    p = uniquePrefix();
    await a.ledger.openAccount({ id: `${p}-bank`, type: "bank_mirror", asset: "EUR", scale: 2 });
    for (const c of ["alice", "bob"])
      await a.ledger.openAccount({ id: `${p}-${c}`, type: "customer", asset: "EUR", scale: 2 });
    await deposit(a.ledger, "fund", "alice", 100n);
    // Opened after the writes above: its cache starts from the stored rows.
    b = await openTestLedger({ name: "postgres", url: () => ctx.url });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it("a group of transfers on cached accounts is one round trip, also for a process that just started", async () => {
    expect(await sent(() => transfer(a.ledger, "t1", "alice", "bob", 10n))).to.deep.equal(["checked"]);
    // b read every account when it opened; a's write since then makes its rows of alice and bob
    // old: the check fails, nothing is written, and the group runs again on locked rows.
    expect(await sent(() => transfer(b.ledger, "t2", "alice", "bob", 5n))).to.deep.equal([
      "checked",
      "lock",
      "commit",
    ]);
    expect(await sent(() => transfer(b.ledger, "t3", "bob", "alice", 5n))).to.deep.equal(["checked"]);
    expect(await posted("alice")).to.equal(90n);
    expect(await posted("bob")).to.equal(10n);
  });

  it("no double spend: a debit planned on a balance another process spent fails its check and is refused on locked rows", async () => {
    await transfer(b.ledger, "spend", "alice", "bob", 100n); // a still caches alice at 100
    const before = await a.ledger.eventCount();
    let err: unknown;
    const kinds = await sent(() =>
      rejects(transfer(a.ledger, "again", "alice", "bob", 50n), InsufficientFundsError).then(
        (e) => (err = e),
      ),
    );
    expect(err).to.be.instanceOf(InsufficientFundsError);
    // The checked call found alice changed and wrote nothing; the retry locked and loaded her,
    // and the refusal stands once no stored transfer has its id.
    expect(kinds).to.deep.equal(["checked", "lock", "transfer ids", "ROLLBACK"]);
    const stats = a.ledger.writeStats();
    expect(stats.unlockedRetries).to.equal(1);
    expect(stats.accountCache).to.include({ stale: 1, pauses: 0, paused: false });
    expect(await a.ledger.eventCount()).to.equal(before);
    expect(await posted("alice")).to.equal(0n);
    expect(await posted("bob")).to.equal(100n);
    const report = await a.ledger.checkInvariants();
    expect(report.ok, JSON.stringify(report.violations)).to.equal(true);
  });

  it("a refusal is never answered from a cached row: a debit the cache says is uncovered goes through on the real balance", async () => {
    await deposit(b.ledger, "more", "alice", 500n); // a still caches alice at 100
    let kinds = await sent(() => transfer(a.ledger, "big", "alice", "bob", 300n));
    // The plan failed on the cached row, so it ran again on locked rows, where it is covered.
    expect(kinds).to.deep.equal(["lock", "commit"]);
    expect(await posted("alice")).to.equal(300n);
    expect(await posted("bob")).to.equal(300n);
    // A refusal that stands is decided on locked rows too.
    kinds = await sent(() =>
      rejects(transfer(a.ledger, "too-big", "alice", "bob", 301n), InsufficientFundsError),
    );
    expect(kinds).to.deep.equal(["lock", "transfer ids", "ROLLBACK"]);
  });

  it("other writes (a hold) check cached rows too: one planned on a spent balance is refused on locked rows", async () => {
    const hold = (id: string, amount: bigint) =>
      a.ledger.createHold({
        id: `${p}-${id}`,
        debitAccountId: `${p}-alice`,
        creditAccountId: `${p}-bob`,
        amount,
        kind: "transfer",
      });
    // Cached and current: the hold id is looked up, the accounts are not locked and loaded; the
    // check runs with the counter update.
    let kinds = await sent(() => hold("h1", 10n));
    expect(kinds[0]).to.match(/^BEGIN; SELECT h\./);
    expect(kinds).not.to.include("lock");
    expect((await a.ledger.getBalance(`${p}-alice`)).pending).to.equal(10n);
    await transfer(b.ledger, "spend", "alice", "bob", 90n); // a still caches alice with 90 available
    const before = await a.ledger.eventCount();
    kinds = await sent(() => rejects(hold("h2", 50n), InsufficientFundsError));
    expect(kinds).to.include("lock");
    expect(await a.ledger.eventCount()).to.equal(before);
    const alice = await a.ledger.getBalance(`${p}-alice`);
    expect([alice.posted, alice.pending]).to.deep.equal([10n, 10n]);
  });

  it("the checked update locks its accounts in id order, whatever order it is given (no deadlock with locking writers)", async () => {
    const db = a.db;
    if (db.kind !== "postgres") throw new Error("postgres expected");
    const [x, y] = [`${p}-alice`, `${p}-bob`]; // x < y
    const one = await db.pool.connect();
    const two = await db.pool.connect();
    try {
      await one.query("BEGIN");
      await one.query("SELECT 1 FROM ledger_accounts WHERE id = $1 FOR UPDATE", [x]);
      const pid = Number((await two.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
      await two.query("BEGIN");
      // Given y (bob) before x (alice), with their current values: it must wait for x before it takes y.
      const call = two.query(
        `SELECT ledger_update_accounts_checked($1, '{active,active}', '{0,0}', '{0,100}', '{0,0}', '{0,0}',
           '{active,active}', '{0,0}', '{0,100}', '{0,0}', '{0,0}')`,
        [[y, x]],
      );
      for (;;) {
        const { rows } = await db.pool.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", [
          pid,
        ]);
        if (rows[0]?.wait_event_type === "Lock") break;
        await new Promise((r) => setTimeout(r, 10));
      }
      // y is free: a writer that locks in id order goes on instead of deadlocking.
      await one.query("SELECT 1 FROM ledger_accounts WHERE id = $1 FOR UPDATE NOWAIT", [y]);
      await one.query("ROLLBACK");
      await call;
      await two.query("ROLLBACK");
    } finally {
      one.release();
      two.release();
    }
  });

  it("the checked update of many accounts visits them in id order, not in the order the table holds them", async () => {
    const db = a.db;
    if (db.kind !== "postgres") throw new Error("postgres expected");
    // Opened in descending id order, 100 at a time: the table holds them about that way round. The
    // call updates every fifth; a hash join of those (the smaller side, hashed) with the table reads
    // the table in its order and would lock k1995 first. The caller's session below prefers a hash
    // join, and the function must not follow it.
    const N = 2000;
    const id = (i: number) => `${p}-k${String(i).padStart(4, "0")}`;
    for (let hi = N; hi > 0; hi -= 100)
      await Promise.all(
        Array.from({ length: 100 }, (_, k) =>
          a.ledger.openAccount({ id: id(hi - 1 - k), type: "customer", asset: "EUR", scale: 2 }),
        ),
      );
    const ids = Array.from({ length: N / 5 }, (_, i) => id(5 * i));
    const same = (v: string) => `{${ids.map(() => v).join(",")}}`;
    const [holder, caller, probe] = [
      await db.pool.connect(),
      await db.pool.connect(),
      await db.pool.connect(),
    ];
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM ledger_accounts WHERE id = $1 FOR UPDATE", [id(1000)]);
      const pid = Number((await caller.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
      await caller.query("BEGIN");
      await caller.query("SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off");
      const call = caller.query(
        `SELECT ledger_update_accounts_checked($1, $2, $3, $3, $3, $3, $2, $3, $3, $3, $3)`,
        [[...ids].reverse(), same("active"), same("0")],
      );
      for (;;) {
        const { rows } = await db.pool.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", [
          pid,
        ]);
        if (rows[0]?.wait_event_type === "Lock") break;
        await new Promise((r) => setTimeout(r, 10));
      }
      // Waiting at k1000: it holds k0000 … k0995 and has not reached k1005 … k1995.
      const free = async (i: number) => {
        await probe.query("BEGIN");
        try {
          await probe.query("SELECT 1 FROM ledger_accounts WHERE id = $1 FOR UPDATE NOWAIT", [id(i)]);
          return true;
        } catch (e) {
          if ((e as { code?: string }).code !== "55P03") throw e; // lock_not_available
          return false;
        } finally {
          await probe.query("ROLLBACK");
        }
      };
      const seen: boolean[] = [];
      for (const i of [0, 500, 995, 1005, 1500, 1995]) seen.push(await free(i));
      expect(seen).to.deep.equal([false, false, false, true, true, true]);
      await holder.query("ROLLBACK");
      await call;
      await caller.query("ROLLBACK");
      // On this small table the planner finds an id-ordered plan by itself; on others it would
      // not: the function fixes the join method for every session.
      const { rows } = await db.pool.query(
        "SELECT proconfig FROM pg_proc WHERE proname = 'ledger_update_accounts_checked'",
      );
      expect(rows[0].proconfig).to.include.members([
        "enable_nestloop=on",
        "enable_hashjoin=off",
        "enable_mergejoin=off",
      ]);
    } finally {
      holder.release();
      caller.release();
      probe.release();
    }
  });

  it("the split commit's functions plan once per session, not once per call with the batch's arrays inside", async () => {
    const db = a.db;
    if (db.kind !== "postgres") throw new Error("postgres expected");
    // A custom plan per call copies every array argument into the plan (a batch's leaves: 416 KB).
    const { rows } = await db.pool.query(
      `SELECT proname, proconfig FROM pg_proc
        WHERE proname IN ('ledger_append_transfers', 'ledger_update_accounts_checked') ORDER BY proname`,
    );
    expect(
      rows.map((r) => [r.proname, r.proconfig.includes("plan_cache_mode=force_generic_plan")]),
    ).to.deep.equal([
      ["ledger_append_transfers", true],
      ["ledger_update_accounts_checked", true],
    ]);
  });

  for (const what of ["a hold", "a fact about an account"])
    it(`a write that is not only transfers (${what}) checks its cached accounts before it takes the sequence counter`, async () => {
      const db = a.db;
      if (db.kind !== "postgres") throw new Error("postgres expected");
      const other = await db.pool.connect();
      try {
        await other.query("BEGIN");
        await other.query("SELECT 1 FROM ledger_accounts WHERE id = $1 FOR UPDATE", [`${p}-alice`]);
        const write =
          what === "a hold"
            ? a.ledger.createHold({
                id: `${p}-h`,
                debitAccountId: `${p}-alice`,
                creditAccountId: `${p}-bob`,
                amount: 10n,
                kind: "transfer",
              })
            : a.ledger.recordFact({
                id: `${p}-f`,
                kind: "ALERT_RAISED",
                documentHash: `0x${"ab".repeat(32)}`,
                subject: `${p}-alice`,
              });
        const self = Number((await other.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
        for (;;) {
          // From another session: inside a transaction, pg_stat_activity stays as first read.
          const { rows } = await db.pool.query(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1 AND wait_event_type = 'Lock'",
            [self],
          );
          if (rows.length) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        // It waits for alice without holding the counter: a writer holding alice and waiting for
        // the counter (any group of transfers) would otherwise deadlock with it.
        await other.query("SELECT 1 FROM ledger_log_state WHERE id = 1 FOR UPDATE NOWAIT");
        await other.query("ROLLBACK");
        await write;
      } finally {
        other.release();
      }
    });

  it("refuses, with its own SQLSTATE and nothing written, a row whose stored values are not the expected ones", async () => {
    const db = a.db;
    if (db.kind !== "postgres") throw new Error("postgres expected");
    const next = async () =>
      Number((await db.pool.query("SELECT next_sequence FROM ledger_log_state")).rows[0].next_sequence);
    const before = await next();
    const err = await db.pool
      .query(
        `SELECT ledger_commit_transfers_checked('{${p}-alice}', '{active}', '{1}', '{100}', '{0}', '{0}',
           '{active}', '{0}', '{99}', '{0}', '{0}',
           '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', ''::bytea)`,
      )
      .then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
    expect(err?.code).to.equal("LG002");
    expect(await next()).to.equal(before);
    expect(await posted("alice")).to.equal(100n);
  });

  it("while checks keep failing (another process writes the same accounts), it locks every group for a while", async () => {
    const rounds: string[][] = [];
    for (let i = 0; i < 4; i++) {
      await deposit(b.ledger, `b${i}`, "alice", 1n);
      rounds.push(await sent(() => transfer(a.ledger, `a${i}`, "alice", "bob", 1n)));
    }
    const stale = ["checked", "lock", "commit"];
    expect(rounds).to.deep.equal([stale, stale, stale, ["lock", "commit"]]);
    expect(a.ledger.writeStats().accountCache).to.include({ stale: 3, pauses: 1, paused: true });
    expect(await posted("alice")).to.equal(100n);
    expect(await posted("bob")).to.equal(4n);
  });
  describe("a large group: the checked update, then the append, in one transaction", () => {
    const CUSTOMERS = 12;
    const batch = (l: Ledger, tag: string, from: number, to: number) =>
      l.transferBatch(
        Array.from({ length: to - from }, (_, k) => ({
          id: `${p}-${tag}${from + k}`,
          debitAccountId: `${p}-bank`,
          creditAccountId: `${p}-k${(from + k) % CUSTOMERS}`,
          amount: BigInt(1 + ((from + k) % 7)),
          kind: "deposit" as const,
        })),
      );
    /** What customer k holds after the deposits of ids from..to-1 (each once). */
    const expected = (k: number, ranges: [number, number][]) => {
      let sum = 0n;
      for (const [from, to] of ranges)
        for (let i = from; i < to; i++) if (i % CUSTOMERS === k) sum += BigInt(1 + (i % 7));
      return sum;
    };
    const balancesAre = async (ranges: [number, number][]) => {
      for (let k = 0; k < CUSTOMERS; k++)
        expect(await posted(`k${k}`), `k${k}`).to.equal(expected(k, ranges));
    };
    beforeEach(async () => {
      for (let k = 0; k < CUSTOMERS; k++)
        await a.ledger.openAccount({ id: `${p}-k${k}`, type: "customer", asset: "EUR", scale: 2 });
    });

    it("sends the update while it builds the append, and commits both", async () => {
      const before = await a.ledger.eventCount();
      const { value: answers, sent: texts } = await record(() => batch(a.ledger, "d", 0, 300));
      expect(texts.map((t) => t.slice(0, 38))).to.deep.equal([
        "BEGIN",
        "SELECT ledger_update_accounts_checked(",
        "SELECT ledger_append_transfers($1::tex",
        "COMMIT",
      ]);
      expect(answers.map((t) => t.sequence)).to.deep.equal(answers.map((_, i) => before + i));
      expect(await a.ledger.eventCount()).to.equal(before + 300);
      await balancesAre([[0, 300]]);
      const report = await a.ledger.checkInvariants();
      expect(report.ok, JSON.stringify(report.violations)).to.equal(true);
    });

    it("a stale cached row: the update refuses, nothing is written, and the group runs again on locked rows", async () => {
      await batch(b.ledger, "d", 0, 300); // b caches the rows it wrote
      await batch(a.ledger, "d", 300, 600); // which are then old
      const before = await b.ledger.eventCount();
      const retries = b.ledger.writeStats().unlockedRetries;
      const kinds = await sent(() => batch(b.ledger, "d", 600, 900));
      // A large locked group binds its call and commits after it.
      expect(kinds).to.deep.equal(["BEGIN", "update", "ROLLBACK", "lock", "commit", "COMMIT"]);
      expect(b.ledger.writeStats().unlockedRetries).to.equal(retries + 1);
      expect(await b.ledger.eventCount()).to.equal(before + 300);
      await balancesAre([[0, 900]]);
      const report = await b.ledger.checkInvariants();
      expect(report.ok, JSON.stringify(report.violations)).to.equal(true);
    });

    it("an append that fails after the update went through leaves nothing of either: a replayed batch applies once", async () => {
      const first = await batch(a.ledger, "d", 0, 300);
      const before = await a.ledger.eventCount();
      // 100 transfers already stored, 200 new. The first attempt does not look ids up (a large
      // group), so its append hits the once-per-transfer index after its update was written.
      const { value: answers, sent: texts } = await record(() => batch(a.ledger, "d", 200, 500));
      expect(texts.slice(0, 4).map((t) => t.slice(0, 38))).to.deep.equal([
        "BEGIN",
        "SELECT ledger_update_accounts_checked(",
        "SELECT ledger_append_transfers($1::tex",
        "ROLLBACK",
      ]);
      expect(texts.length).to.be.greaterThan(4); // the retry, ids looked up
      expect(answers.slice(0, 100).map((t) => t.sequence)).to.deep.equal(
        first.slice(200).map((t) => t.sequence),
      );
      expect(await a.ledger.eventCount()).to.equal(before + 200);
      await balancesAre([[0, 500]]);
      const report = await a.ledger.checkInvariants();
      expect(report.ok, JSON.stringify(report.violations)).to.equal(true);
    });
  });
});
