/**
 * bench:risk — the rules engine against the ledger's batched rate (SQLite, batches of 8 000), all
 * default rules on. Reports, in one run (each phase in its own process):
 *   1. ledger alone: transfers/s committed in batches of 8 000;
 *   2. engine alone over the events already committed: events/s evaluated (and committed), by
 *      the wall clock and by the process's CPU time (less sensitive to a loaded machine);
 *   3. ledger at its top rate with the engine evaluating on the ledger's thread (engine.start(),
 *      woken by each commit): transfers/s, and the commit → alert latency (time from the commit of
 *      the batch holding the event that fired an alert to the engine's commit of that alert);
 *   4. the same with the engine evaluating and committing on its own thread and connection
 *      (RiskEngineThread, as the stack runs it, its tables in a SQLite file of their own,
 *      src/risk/database.ts): the ledger's rate, the latency to the alert's commit (in the thread)
 *      and to its report back on the ledger's thread, and how long the ledger waited for its turns
 *      at the write lock; `with-thread-shared` runs it with the risk tables in the ledger's file
 *      (the layout before; the two connections then take turns, src/db/turnstile.ts);
 *   5. both latencies at a steady moderate rate: batches of 1 000 every 100 ms (10 000/s).
 * Performance is measured, never asserted. Usage: npm run bench:risk [-- transfers] [-- --pg]
 * (`--pg`: every phase on a PostgreSQL database of its own, created and dropped by the phase, at
 * $CUSTODY_TEST_PG_URL or postgres://postgres@127.0.0.1:5432/postgres).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { closeDatabase, openDatabase } from "../src/db/database";
import { first } from "../src/db/sql";
import { openLedger, type Ledger, type TransferInput } from "../src/ledger";
import { RiskEngine, RiskEngineThread, DEFAULT_RULE_FILE, openRiskDatabase } from "../src/risk";
import { createPgTestDatabase } from "../test/support/pg";

const PG = process.argv.includes("--pg");
const TOTAL = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 160_000);
const BATCH = 8000;
const CUSTOMERS = 2000;
const KEY = new Uint8Array(32).fill(7);
const RULES = JSON.stringify({ ...DEFAULT_RULE_FILE, rates: { CNY: "1", USD: "7.1" } });

/** A phase's database: a SQLite file in `dir`, or with --pg a PostgreSQL database it drops after. */
const dropAfter: (() => Promise<void>)[] = [];
async function setup(dir: string) {
  let url = path.join(dir, "ledger.db");
  if (PG) {
    const pgdb = await createPgTestDatabase("bench_risk");
    dropAfter.push(() => pgdb.drop());
    url = pgdb.url;
  }
  const db = openDatabase(url);
  const ledger = await openLedger(db, { pseudonymKey: KEY });
  const base = { asset: "CNY", scale: 2 } as const;
  await ledger.openAccount({ id: "cash", type: "settlement", ...base, metadata: { channel: "cash" } });
  await ledger.openAccount({
    id: "swift",
    type: "settlement",
    ...base,
    metadata: { channel: "cross_border" },
  });
  for (let i = 0; i < CUSTOMERS; i++)
    await ledger.openAccount({
      id: `c${i}`,
      type: "customer",
      ...base,
      ...(i % 10 === 0 ? { metadata: { holder: "company" } } : {}),
    });
  return { db, ledger, url };
}

let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);

/** Deposits from the cash desk (some large), customer transfers, withdrawals abroad. */
function batch(prefix: string, n: number): TransferInput[] {
  const out: TransferInput[] = [];
  for (let i = 0; i < n; i++) {
    const c = `c${Math.floor(rnd() * CUSTOMERS)}`;
    const r = rnd();
    const id = `${prefix}-${i}`;
    if (r < 0.6)
      out.push({
        id,
        debitAccountId: "cash",
        creditAccountId: c,
        amount: BigInt(1 + Math.floor(rnd() * 600_000)),
        kind: "deposit",
      });
    else
      out.push({
        id,
        debitAccountId: c,
        creditAccountId: r < 0.9 ? `c${Math.floor(rnd() * CUSTOMERS)}` : "swift",
        amount: 1n,
        kind: r < 0.9 ? "transfer" : "withdrawal",
      });
  }
  // Self-transfers are invalid; first-in-batch balances may be short: keep debits at 1 fen after deposits.
  return out.filter((t) => t.debitAccountId !== t.creditAccountId);
}

/**
 * CPU seconds of this process's main thread (the ledger's), from /proc (Linux; NaN elsewhere):
 * less sensitive to a loaded machine than the wall clock, and blind to other threads' work.
 */
function mainThreadCpu(): number {
  try {
    const f = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

async function commitAll(
  ledger: Ledger,
  tag: string,
  onCommit?: (lastSeq: number, at: number) => void,
  pace?: { batch: number; everyMs: number },
) {
  let done = 0;
  const size = pace?.batch ?? BATCH;
  const t0 = process.hrtime.bigint();
  const cpu0 = mainThreadCpu();
  const start = performance.now();
  for (let b = 0; done < TOTAL; b++) {
    if (pace) {
      const due = start + b * pace.everyMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    // A server's writer runs once per request (a macrotask); a loop of awaits on the synchronous
    // SQLite driver would never yield, and no timer or wake-up in the process would ever run.
    else await new Promise((r) => setImmediate(r));
    const ts = batch(`${tag}${b}`, Math.min(size, TOTAL - done));
    // Fund the debits first so the batch posts in full.
    const posted = await ledger.transferBatch(ts).catch(async () => {
      const deposits = ts.filter((t) => t.kind === "deposit");
      return ledger.transferBatch(deposits);
    });
    done += posted.length;
    onCommit?.(posted[posted.length - 1].sequence, performance.now());
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { transfers: done, seconds: s, rate: done / s, mainCpu: mainThreadCpu() - cpu0 };
}

function pct(xs: number[], p: number) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
}

async function main() {
  const PHASES = ["alone", "with-engine", "with-thread", "with-thread-shared", "steady", "steady-thread"];
  const phase = process.argv.slice(2).find((a) => PHASES.includes(a));
  if (phase === undefined) {
    // Each phase in its own process: a second ledger opened in one process after the first closed
    // stalled here, and separate processes also keep the phases' heaps apart.
    for (const p of [
      "alone",
      "with-engine",
      "with-thread",
      "with-thread-shared",
      "steady",
      "steady-thread",
    ]) {
      const r = spawnSync(
        process.execPath,
        ["--import", "tsx", __filename, String(TOTAL), p, ...(PG ? ["--pg"] : [])],
        {
          stdio: "inherit",
        },
      );
      if (r.status !== 0) process.exit(r.status ?? 1);
    }
    return;
  }
  if (phase === "alone") return phaseAlone();
  const steady = { batch: 1000, everyMs: 100 };
  if (phase === "steady") return phaseWithEngine(false, steady);
  if (phase === "steady-thread") return phaseWithEngine(true, steady);
  if (phase === "with-thread-shared") return phaseWithEngine(true, undefined, true);
  return phaseWithEngine(phase === "with-thread");
}

async function phaseAlone() {
  console.log(
    `bench:risk — ${TOTAL} transfers per phase, batches of ${BATCH}, ${CUSTOMERS} customers, ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  // 1. Ledger alone.
  const d1 = fs.mkdtempSync(path.join(os.tmpdir(), "bench-risk-a-"));
  const a = await setup(d1);
  const alone = await commitAll(a.ledger, "a");
  console.log(
    `ledger alone:            ${alone.rate.toFixed(0)} transfers/s (${alone.transfers} in ${alone.seconds.toFixed(2)} s; ledger's thread ${alone.mainCpu.toFixed(2)} CPU s)`,
  );
  // 3. Engine alone over those events.
  const engineA = await RiskEngine.open(a.db, a.ledger, a.ledger, { rules: RULES, batchSize: BATCH });
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const evaluated = await engineA.drain();
  const es = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = process.cpuUsage(c0);
  const cpu = (c1.user + c1.system) / 1e6;
  const alerts = Number(
    (await first<{ n: number | string }>(a.db, "SELECT COUNT(*) AS n FROM risk_alerts"))!.n,
  );
  console.log(
    `engine alone:            ${(evaluated / es).toFixed(0)} events/s evaluated and committed (${evaluated} events, ${alerts} alerts, ${es.toFixed(2)} s)`,
  );
  console.log(
    `engine alone, CPU time:  ${(evaluated / cpu).toFixed(0)} events per CPU second (${cpu.toFixed(2)} s user + system)`,
  );
  await a.ledger.close();
  await closeDatabase(a.db);
  fs.rmSync(d1, { recursive: true, force: true });
}

async function phaseWithEngine(
  ownThread: boolean,
  pace?: { batch: number; everyMs: number },
  sharedFile = false,
) {
  // 3./4. Ledger with the engine on its thread or on its own, at the top rate or paced (5).
  const d2 = fs.mkdtempSync(path.join(os.tmpdir(), "bench-risk-b-"));
  const b = await setup(d2);
  // As the stack keeps them (a file of their own), or in the ledger's file (the layout before).
  const risk = sharedFile ? { db: b.db, close: async () => {} } : await openRiskDatabase(b.db);
  const engineB = await RiskEngine.open(risk.db, b.ledger, b.ledger, {
    rules: RULES,
    batchSize: BATCH,
  });
  await engineB.drain();
  const commitAt: { seq: number; at: number }[] = [];
  // To the alert's report on this thread, and to its commit (the same on the ledger's thread).
  const latencies: number[] = [];
  const toCommit: number[] = [];
  engineB.onAlerts = (list, committedAt) => {
    const now = performance.now();
    const committed = committedAt - performance.timeOrigin;
    for (const x of list) {
      const c = commitAt.find((e) => e.seq >= x.sequence);
      if (c) latencies.push(now - c.at);
      if (c && committedAt !== undefined) toCommit.push(committed - c.at);
    }
  };
  // (Optional chaining: the same bench also runs on trees from before the turnstile, for comparisons.)
  const turns = b.db.kind === "sqlite" ? b.db.turnstile?.stats : undefined;
  const turns0 = turns && { ...turns };
  const thread = ownThread
    ? await RiskEngineThread.start({
        main: engineB,
        databaseUrl: b.url,
        pseudonymKey: KEY,
        onCommit: (l) => b.ledger.onCommit(l),
        batchSize: BATCH,
      })
    : (engineB.start(), undefined);
  const withEngine = await commitAll(b.ledger, "b", (seq, at) => commitAt.push({ seq, at }), pace);
  const lastSeq = commitAt[commitAt.length - 1].seq;
  while (engineB.cursor <= lastSeq) await new Promise((r) => setTimeout(r, 5));
  await (thread ?? engineB).stop();
  const label = `${ownThread ? `own thread${sharedFile ? ", risk tables in the ledger's file" : ""}` : "ledger's thread"}, ${pace ? `steady ${pace.batch} every ${pace.everyMs} ms` : `top rate, batches of ${BATCH}`}`;
  console.log(
    `ledger with engine (${label}): ${withEngine.rate.toFixed(0)} transfers/s (${withEngine.transfers} in ${withEngine.seconds.toFixed(2)} s; ledger's thread ${withEngine.mainCpu.toFixed(2)} CPU s)`,
  );
  console.log(
    `commit → alert latency (${label}): p50 ${pct(latencies, 50).toFixed(0)} ms, p99 ${pct(latencies, 99).toFixed(0)} ms, max ${pct(latencies, 100).toFixed(0)} ms over ${latencies.length} alerts`,
  );
  if (ownThread) {
    console.log(
      `commit → alert committed (${label}): p50 ${pct(toCommit, 50).toFixed(0)} ms, p99 ${pct(toCommit, 99).toFixed(0)} ms, max ${pct(toCommit, 100).toFixed(0)} ms`,
    );
    if (turns && turns0)
      console.log(
        `ledger's turns at the write lock: ${turns.turns - turns0.turns}, ${turns.waited - turns0.waited} waited, ${(turns.waitedMs - turns0.waitedMs).toFixed(0)} ms in all`,
      );
  }
  await b.ledger.close();
  await risk.close();
  await closeDatabase(b.db);
  fs.rmSync(d2, { recursive: true, force: true });
  console.log(
    `load after: ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
}
void main()
  .then(async () => {
    for (const drop of dropAfter) await drop();
  })
  .then(() => process.exit(0));
