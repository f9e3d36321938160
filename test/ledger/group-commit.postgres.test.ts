import { expect } from "chai";
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { type Database, closeDatabase, openDatabase } from "../../src/db/database";
import {
  IdempotencyConflictError,
  InsufficientFundsError,
  type Ledger,
  type TransferInput,
  UnknownAccountError,
  openLedger,
} from "../../src/ledger";
import { describeWithPg } from "../support/pg";
import { KEY } from "./support";

const WRITER = path.join(__dirname, "fixtures", "pg-writer.ts");
const CUSTOMERS = 20;

/** A writer process; `acks` fills with the ids whose calls returned. */
function startWriter(url: string, prefix: string, count: number, callers: number) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", WRITER, url, prefix, String(count), String(callers), String(CUSTOMERS)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const acks: string[] = [];
  let stderr = "";
  let buf = "";
  child.stderr!.on("data", (d) => (stderr += d));
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const [what, id] = buf.slice(0, nl).split(" ");
      buf = buf.slice(nl + 1);
      if (what === "ack") acks.push(id);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, acks, exited, stderr: () => stderr };
}

async function waitFor(cond: () => boolean, what: string, child: ChildProcess[]): Promise<void> {
  while (!cond()) {
    if (child.some((c) => c.exitCode !== null)) throw new Error(`a writer exited before ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every acknowledged id is stored once, with one event; the sequence has no gap. */
async function checkLog(url: string, acked: string[]): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows: t } = await c.query("SELECT id FROM ledger_transfers WHERE id = ANY($1::text[])", [acked]);
    expect(t.length, "acknowledged transfers present").to.equal(new Set(acked).size);
    const { rows: e } = await c.query(
      "SELECT subject_id, COUNT(*)::int AS n FROM ledger_events WHERE subject_id = ANY($1::text[]) GROUP BY subject_id",
      [acked],
    );
    expect(e.length).to.equal(t.length);
    for (const r of e) expect(r.n, `events of ${r.subject_id}`).to.equal(1);
    const { rows } = await c.query(
      `SELECT COUNT(*)::int AS n, COALESCE(MIN(sequence), 0)::int AS lo, COALESCE(MAX(sequence), -1)::int AS hi,
         (SELECT next_sequence FROM ledger_log_state WHERE id = 1)::int AS next FROM ledger_events`,
    );
    const { n, lo, hi, next } = rows[0];
    expect([lo, hi], "sequences 0..n-1").to.deep.equal([0, n - 1]);
    expect(next, "the counter row matches the committed events").to.equal(n);
    return n;
  } finally {
    await c.end();
  }
}

/**
 * PostgreSQL group commit: concurrent calls in one process share a transaction, each keeps its own
 * answer, and several processes on one database keep one gap-free sequence.
 */
describeWithPg("ledger group commit (postgres)", (ctx) => {
  let db: Database;
  let ledger: Ledger;
  let checkouts = 0;

  before(async () => {
    db = openDatabase(ctx.url, { poolSize: 8 });
    if (db.kind !== "postgres") throw new Error("postgres expected");
    // Each write transaction checks one connection out of the pool.
    const pool = db.pool;
    const connect = pool.connect.bind(pool) as (...a: unknown[]) => unknown;
    pool.connect = ((...a: unknown[]) => {
      checkouts++;
      return connect(...a);
    }) as typeof pool.connect;
    ledger = await openLedger(db, { pseudonymKey: KEY });
    await ledger.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
    for (let i = 0; i < CUSTOMERS; i++)
      await ledger.openAccount({ id: `cust-${i}`, type: "customer", asset: "EUR", scale: 2 });
    await ledger.transferBatch(
      Array.from({ length: CUSTOMERS }, (_, i) => ({
        id: `fund-${i}`,
        debitAccountId: "bank",
        creditAccountId: `cust-${i}`,
        amount: 100n,
        kind: "deposit" as const,
      })),
    );
  });
  after(async () => {
    await ledger.close();
    await closeDatabase(db);
  });

  it("answers each concurrent call on its own: failures among them change nothing and fail no neighbour", async () => {
    const before = await ledger.eventCount();
    const calls: { input: TransferInput; fails?: new (...a: never[]) => Error }[] = [];
    for (let i = 0; i < CUSTOMERS; i++) {
      const c = (k: number) => `cust-${(i + k) % CUSTOMERS}`;
      calls.push({
        input: { id: `ok-${i}`, debitAccountId: c(0), creditAccountId: c(1), amount: 10n, kind: "transfer" },
      });
      calls.push({
        input: {
          id: `over-${i}`,
          debitAccountId: c(0),
          creditAccountId: c(2),
          amount: 101n,
          kind: "transfer",
        },
        fails: InsufficientFundsError,
      });
      calls.push({
        input: {
          id: `ghost-${i}`,
          debitAccountId: c(0),
          creditAccountId: "nobody",
          amount: 1n,
          kind: "transfer",
        },
        fails: UnknownAccountError,
      });
    }
    calls.push({
      input: {
        id: "ok-0",
        debitAccountId: "cust-0",
        creditAccountId: "cust-1",
        amount: 10n,
        kind: "transfer",
      },
    });
    calls.push({
      input: {
        id: "ok-1",
        debitAccountId: "cust-1",
        creditAccountId: "cust-2",
        amount: 11n,
        kind: "transfer",
      },
      fails: IdempotencyConflictError,
    });
    const checkoutsBefore = checkouts;
    const settled = await Promise.allSettled(calls.map((c) => ledger.transfer(c.input)));
    // One group, one transaction (a retry would make it two).
    expect(checkouts - checkoutsBefore, "transactions for 62 calls issued together").to.be.at.most(2);
    settled.forEach((s, i) => {
      const c = calls[i];
      if (c.fails) {
        expect(s.status, c.input.id).to.equal("rejected");
        expect((s as PromiseRejectedResult).reason).to.be.instanceOf(c.fails);
      } else
        expect(s.status, `${c.input.id}: ${String((s as PromiseRejectedResult).reason)}`).to.equal(
          "fulfilled",
        );
    });
    const sequences = settled
      .filter(
        (s): s is PromiseFulfilledResult<Awaited<ReturnType<Ledger["transfer"]>>> => s.status === "fulfilled",
      )
      .map((s) => s.value.sequence);
    expect(new Set(sequences).size).to.equal(CUSTOMERS);
    expect([Math.min(...sequences), Math.max(...sequences)]).to.deep.equal([before, before + CUSTOMERS - 1]);
    expect(await ledger.eventCount()).to.equal(before + CUSTOMERS);
    for (let i = 0; i < CUSTOMERS; i++) expect((await ledger.getBalance(`cust-${i}`)).posted).to.equal(100n);
    expect((await ledger.checkInvariants()).violations).to.deep.equal([]);
  });

  it("replays of committed transfers among concurrent single calls: the stored answer, or a conflict, and nothing twice", async () => {
    // Single calls skip the id lookup at first; replays must still be decided as with it.
    const first = await ledger.transfer({
      id: "replayed-0",
      debitAccountId: "cust-3",
      creditAccountId: "cust-4",
      amount: 5n,
      kind: "transfer",
    });
    const before = await ledger.eventCount();
    const settled = await Promise.allSettled([
      ledger.transfer({
        id: "fresh-0",
        debitAccountId: "cust-5",
        creditAccountId: "cust-6",
        amount: 1n,
        kind: "transfer",
      }),
      ledger.transfer({
        id: "replayed-0",
        debitAccountId: "cust-3",
        creditAccountId: "cust-4",
        amount: 5n,
        kind: "transfer",
      }),
      // A replay whose body would now fail if it were applied again: still the stored answer's conflict.
      ledger.transfer({
        id: "replayed-0",
        debitAccountId: "cust-3",
        creditAccountId: "cust-4",
        amount: 500n,
        kind: "transfer",
      }),
      ledger.transfer({
        id: "broke-0",
        debitAccountId: "cust-7",
        creditAccountId: "cust-8",
        amount: 10_000n,
        kind: "transfer",
      }),
      ledger.transfer({
        id: "fresh-1",
        debitAccountId: "cust-6",
        creditAccountId: "cust-5",
        amount: 1n,
        kind: "transfer",
      }),
    ]);
    expect(settled.map((s) => s.status)).to.deep.equal([
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
      "fulfilled",
    ]);
    expect((settled[1] as PromiseFulfilledResult<typeof first>).value.sequence).to.equal(first.sequence);
    expect((settled[2] as PromiseRejectedResult).reason).to.be.instanceOf(IdempotencyConflictError);
    expect((settled[3] as PromiseRejectedResult).reason).to.be.instanceOf(InsufficientFundsError);
    expect(await ledger.eventCount()).to.equal(before + 2);
    expect((await ledger.checkInvariants()).violations).to.deep.equal([]);
  });

  it("a unit the database refuses fails alone: its neighbours are committed without it", async () => {
    // A real refusal by the server (a trigger), at write time, after every plan succeeded.
    const pool = (db as Database & { kind: "postgres" }).pool;
    await pool.query(`
      CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id LIKE 'poison%' THEN RAISE EXCEPTION 'poisoned transfer %', NEW.id; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_poison BEFORE INSERT ON ledger_transfers FOR EACH ROW EXECUTE FUNCTION refuse_poison();`);
    try {
      const before = await ledger.eventCount();
      const ids = Array.from({ length: 12 }, (_, i) => (i === 5 ? "poison-5" : `near-${i}`));
      const settled = await Promise.allSettled(
        ids.map((id, i) =>
          ledger.transfer({
            id,
            debitAccountId: "bank",
            creditAccountId: `cust-${i}`,
            amount: 1n,
            kind: "deposit",
          }),
        ),
      );
      settled.forEach((s, i) => expect(s.status, ids[i]).to.equal(i === 5 ? "rejected" : "fulfilled"));
      expect(String((settled[5] as PromiseRejectedResult).reason)).to.match(/poisoned transfer/);
      expect(await ledger.eventCount()).to.equal(before + 11);
      const events = await ledger.getEvents(before, 20);
      expect(events.map((e) => e.sequence)).to.deep.equal(Array.from({ length: 11 }, (_, i) => before + i));
      expect((await ledger.checkInvariants()).violations).to.deep.equal([]);
    } finally {
      await pool.query("DROP TRIGGER refuse_poison ON ledger_transfers; DROP FUNCTION refuse_poison()");
    }
  });

  it("two writer processes on one database: every transfer once, one gap-free sequence", async function () {
    const a = startWriter(ctx.url, "pa", 800, 16);
    const b = startWriter(ctx.url, "pb", 800, 16);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect(ea.code, a.stderr()).to.equal(0);
    expect(eb.code, b.stderr()).to.equal(0);
    expect([a.acks.length, b.acks.length]).to.deep.equal([800, 800]);
    await checkLog(ctx.url, [...a.acks, ...b.acks]);
    expect((await ledger.checkInvariants()).violations).to.deep.equal([]);
  });

  it("kill -9 of two writers mid-load: every acknowledged transfer is present exactly once, no gap", async function () {
    const a = startWriter(ctx.url, "ka", 0, 16);
    const b = startWriter(ctx.url, "kb", 0, 16);
    await waitFor(() => a.acks.length >= 300 && b.acks.length >= 300, "300 acknowledgements each", [
      a.child,
      b.child,
    ]);
    a.child.kill("SIGKILL");
    b.child.kill("SIGKILL");
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect([ea.signal, eb.signal]).to.deep.equal(["SIGKILL", "SIGKILL"]);
    const acked = [...a.acks, ...b.acks];
    const n = await checkLog(ctx.url, acked);
    // Writes in flight at the kill may or may not have committed; either way they are whole.
    const report = await ledger.checkInvariants();
    expect(report.violations).to.deep.equal([]);
    expect(report.events).to.equal(n);
    await ledger.transfer({
      id: "after-kill",
      debitAccountId: "bank",
      creditAccountId: "cust-0",
      amount: 1n,
      kind: "deposit",
    });
    expect(await ledger.eventCount()).to.equal(n + 1);
  });
});
