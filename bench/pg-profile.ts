/**
 * npm run bench:pg-profile [-- --cases 16,64,b1000,rt,rt25,commit,commit-async] [-- --transfers N] [-- --split-min N] [-- --prof-proofs]
 *
 * Where the time of the PostgreSQL write path goes, in figures that hold on a shared, loaded
 * machine: for each case (single transfers from 16 or 64 concurrent callers, `b1000` = batches of
 * 1 000 from one caller) it counts the statements the store sends (by kind) and the transactions
 * (groups), the CPU time of this Node process and of the server backends serving it (from
 * /proc/<pid>/stat of each backend of the bench database: server and bench share the machine), and
 * samples `pg_stat_activity` of the bench database every 20 ms (wait events, including "on CPU"
 * and "idle in transaction", i.e. waiting for Node's next statement).
 *
 * CPU per transfer (Node + server) is the figure to compare before/after: it bounds the rate two
 * free cores could reach (at best Node and the server each on a core), whatever else runs here.
 * Prints one JSON object per case and a table; writes bench/results/pg-profile.json.
 *
 * `groupsBesideAnother`: the share of transactions that began while another transaction of this
 * process was open (0 = the server and Node take turns; group overlap is what two in-flight groups buy).
 *
 * Cases `rt` and `rt25`: 5 000 round trips of a bare simple-protocol SELECT on one connection (`rt25`
 * with a 25 KB literal in it): the fixed cost, in Node and server CPU, of one round trip here.
 *
 * Cases `commit` and `commit-async`: 3 000 one-row update transactions on one connection, with
 * `synchronous_commit` on (the WAL flushed to disk before COMMIT answers, as the ledger runs) and off:
 * the difference is what the flush of a commit costs, in server CPU and in wall time.
 *
 * Per-statement server time (`serverStatements`, top 10 per case, the statements inside
 * `ledger_commit_transfers` included) when the server preloads pg_stat_statements; enable it with
 * `ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'` and a server restart (and
 * `ALTER SYSTEM RESET shared_preload_libraries` and a restart to undo).
 *
 * `--split-min N`: the store's split minimum (src/ledger/postgres-store.ts) for this run.
 *
 * `--prof-proofs`: the same accounting for inclusion proofs from the PostgreSQL log store at 10^6
 * leaves, one caller (statements and CPU per proof).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { randomBytes, randomInt } from "node:crypto";
import pg from "pg";
import { closeDatabase, openDatabase } from "../src/db/database";
import { type TransferInput, openLedger } from "../src/ledger";
import { createPgTestDatabase } from "../test/support/pg";
import { processCpuMs } from "./support/cpu";
import { ACCOUNTS, seedAccounts } from "./support/ledger-workload";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const CASES = arg("--cases", "16,64,b1000").split(",");
// `--split-min N`: the store's split minimum for this run (default: the store's own).
const SPLIT_MIN = process.argv.includes("--split-min") ? Number(arg("--split-min", "")) : undefined;
// `--account-cache N`: the store's account cache size for this run (0: every group locks and loads).
const ACCOUNT_CACHE = process.argv.includes("--account-cache")
  ? Number(arg("--account-cache", ""))
  : undefined;
const TRANSFERS = Number(arg("--transfers", "20000"));
const KEY = new Uint8Array(32).fill(7);

// Every statement any pg client of this process sends, by its first words.
const COMMIT_TRANSFERS = "ledger_commit_transfers(…); COMMIT";
const counts = new Map<string, number>();
// Milliseconds from sending each statement to its answer, by kind (server time + waits + queueing).
const waitedMs = new Map<string, number>();
// Transactions this process has open, and how many began while another one was open.
const openTx = new Set<pg.Client>();
const overlap = { begun: 0, besideAnother: 0, ended: 0 };
const origQuery = pg.Client.prototype.query;
(pg.Client.prototype as { query: unknown }).query = function (this: pg.Client, ...args: unknown[]) {
  const q = args[0] as string | { text?: string; name?: string };
  const text = typeof q === "string" ? q : (q?.text ?? "");
  // Only the head: a group's commit carries its rows inline (ledger_commit_transfers, then COMMIT).
  const head = text.slice(0, 200).trim().replace(/\s+/g, " ");
  // A checked call sent without BEGIN is a transaction of its own (accounts from the cache).
  const alone = head.startsWith("SELECT ledger_commit_transfers_checked(") && !openTx.has(this);
  const kind = !head.includes("ledger_commit_transfers")
    ? head.split(" ").slice(0, 3).join(" ").slice(0, 40)
    : head.includes("_checked(")
      ? `ledger_commit_transfers_checked(${head.includes("_checked($1") ? "$1 …" : "…"})${alone ? " alone" : ""}`
      : head.includes("ledger_commit_transfers($1")
        ? "ledger_commit_transfers($1 …) (COMMIT follows)"
        : COMMIT_TRANSFERS;
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
  if (head.startsWith("BEGIN") || alone) {
    overlap.begun++;
    if (openTx.size > 0) overlap.besideAnother++;
    openTx.add(this);
  }
  const ends = alone || /(COMMIT|ROLLBACK)$/.test(text.trimEnd());
  if (ends) overlap.ended++;
  const t0 = performance.now();
  const r = (origQuery as (...a: unknown[]) => unknown).apply(this, args);
  if (r instanceof Promise) {
    const done = () => {
      waitedMs.set(kind, (waitedMs.get(kind) ?? 0) + performance.now() - t0);
      if (ends) openTx.delete(this);
    };
    r.then(done, done);
  } else if (ends) openTx.delete(this);
  return r;
};

/** utime + stime of a process, in ms (0 if it is gone). */
const cpuMs = (pid: number): number => processCpuMs(pid) ?? 0;

let seq = 0;
function transfers(n: number): TransferInput[] {
  return Array.from({ length: n }, (_, i) => {
    const a = randomInt(ACCOUNTS);
    let b = randomInt(ACCOUNTS - 1);
    if (b >= a) b++;
    return {
      id: `p${(seq++).toString().padStart(12, "0")}`,
      debitAccountId: `c${a}`,
      creditAccountId: `c${b}`,
      amount: 1n + BigInt(i % 50),
      kind: "transfer" as const,
    };
  });
}

interface Sampler {
  stop(): Promise<{ samples: number; waits: Record<string, number> }>;
}

/** Samples the non-idle backends of `dbName` (and "idle in transaction" ones) every 20 ms. */
function sample(admin: pg.Client, dbName: string, self: number): Sampler {
  const waits: Record<string, number> = {};
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await admin.query(
        `SELECT state, wait_event_type, wait_event FROM pg_stat_activity
         WHERE datname = $1 AND pid <> $2 AND state IS NOT NULL AND state <> 'idle'`,
        [dbName, self],
      );
      samples++;
      for (const r of rows) {
        const k =
          r.state === "idle in transaction"
            ? "idle in transaction (waiting for the client)"
            : r.wait_event_type
              ? `${r.wait_event_type}/${r.wait_event}`
              : "on CPU";
        waits[k] = (waits[k] ?? 0) + 1;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { samples, waits };
    },
  };
}

async function backendPids(admin: pg.Client, dbName: string, self: number): Promise<number[]> {
  const { rows } = await admin.query("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> $2", [
    dbName,
    self,
  ]);
  return rows.map((r) => Number(r.pid));
}

/**
 * Turns on pg_stat_statements for `dbName` when the server preloads it (`shared_preload_libraries`),
 * counting the statements inside functions too (`track = all`), so each case reports the server's
 * time per statement. False when it is not loaded: the cases then report CPU and waits only.
 * Call before the bench's pool connects (the setting applies to new sessions).
 */
async function statStatementsOn(admin: pg.Client, dbName: string): Promise<boolean> {
  try {
    await admin.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    await admin.query("SELECT pg_stat_statements_reset()"); // fails unless preloaded
    await admin.query(`ALTER DATABASE ${dbName} SET pg_stat_statements.track = 'all'`);
    return true;
  } catch {
    return false;
  }
}
let statStatements = false;

/** The statements of `dbName` that took the most server time since the last reset, per unit of `n`. */
async function topStatements(admin: pg.Client, dbName: string, n: number): Promise<unknown> {
  if (!statStatements) return "pg_stat_statements is not loaded (shared_preload_libraries)";
  const { rows } = await admin.query(
    `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query, toplevel, calls, total_exec_time
     FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)
       AND query NOT LIKE '%pg_stat_activity%' AND query NOT LIKE '%pg_stat_statements%'
     ORDER BY total_exec_time DESC LIMIT 10`,
    [dbName],
  );
  return rows.map((r) => ({
    query: r.query,
    nested: !r.toplevel,
    calls: Number(r.calls),
    execUsPerUnit: +((Number(r.total_exec_time) * 1000) / n).toFixed(1),
  }));
}

async function measure(
  admin: pg.Client,
  dbName: string,
  self: number,
  name: string,
  run: () => Promise<number>,
): Promise<Record<string, unknown>> {
  const pids = await backendPids(admin, dbName, self);
  const pg0 = pids.map(cpuMs);
  if (statStatements) await admin.query("SELECT pg_stat_statements_reset()");
  counts.clear();
  waitedMs.clear();
  overlap.begun = overlap.besideAnother = overlap.ended = 0;
  const load0 = loadavg()[0];
  const sampler = sample(admin, dbName, self);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await run();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const s = await sampler.stop();
  // Backends opened during the run count whole (they started within it).
  const fresh = (await backendPids(admin, dbName, self)).filter((p) => !pids.includes(p));
  // A backend that ended during the run (the pool closes idle ones) is left out.
  const pgMs =
    pids.map(cpuMs).reduce((a, x, i) => a + (x > 0 ? x - pg0[i] : 0), 0) +
    fresh.map(cpuMs).reduce((a, x) => a + x, 0);
  const stmts = Object.fromEntries([...counts.entries()].sort((a, b) => b[1] - a[1]));
  const groups = overlap.ended; // transactions ended (committed or rolled back)
  const total = [...counts.values()].reduce((a, x) => a + x, 0) - s.samples; // the sampler's own
  const nodeMs = (c.user + c.system) / 1000;
  const serverStatements = await topStatements(admin, dbName, n); // after the counts are read
  return {
    case: name,
    units: n,
    wallS: +(wall / 1000).toFixed(2),
    perSec: Math.round(n / (wall / 1000)),
    load1: [+load0.toFixed(2), +loadavg()[0].toFixed(2)],
    groups,
    unitsPerGroup: groups ? +(n / groups).toFixed(1) : undefined,
    statementsPerGroup: groups ? +(total / groups).toFixed(2) : undefined,
    statementsPerUnit: +(total / n).toFixed(3),
    nodeCpuUsPerUnit: +((nodeMs * 1000) / n).toFixed(1),
    pgCpuUsPerUnit: +((pgMs * 1000) / n).toFixed(1),
    cpuUsPerUnit: +(((nodeMs + pgMs) * 1000) / n).toFixed(1),
    // The best two free cores could do if Node and the server each had one.
    twoCoreCeilingPerSec: Math.round(n / (Math.max(nodeMs, pgMs) / 1000)),
    statements: Object.fromEntries(Object.entries(stmts).filter(([k]) => !k.startsWith("SELECT state,"))),
    msPerStatementKind: Object.fromEntries(
      [...waitedMs.entries()]
        .filter(([k]) => !k.startsWith("SELECT state,"))
        .map(([k, v]) => [k, +(v / (counts.get(k) ?? 1)).toFixed(3)]),
    ),
    groupsBesideAnother: overlap.begun ? +(overlap.besideAnother / overlap.begun).toFixed(3) : undefined,
    waitSamples: s.samples,
    waits: s.waits,
    serverStatements,
  };
}

async function ledgerCases(out: Record<string, unknown>[]): Promise<void> {
  const tdb = await createPgTestDatabase("bench_pgprof");
  const dbName = new URL(tdb.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: tdb.url });
  await admin.connect();
  const self = Number((await admin.query("SELECT pg_backend_pid() AS p")).rows[0].p);
  statStatements = await statStatementsOn(admin, dbName);
  const db = openDatabase(tdb.url, { poolSize: 16 });
  try {
    const ledger = await openLedger(db, {
      pseudonymKey: KEY,
      postgresGroups: { splitMin: SPLIT_MIN, accountCacheSize: ACCOUNT_CACHE },
    });
    await seedAccounts(ledger);
    for (const c of CASES) {
      let r: Record<string, unknown>;
      // One statement sent `times` times on one connection (after `setup`): the fixed costs cases.
      const repeated = async (name: string, text: string, times: number, setup?: string) => {
        if (db.kind !== "postgres") throw new Error("postgres expected");
        const client = await db.pool.connect();
        try {
          if (setup) await client.query(setup);
          return await measure(admin, dbName, self, name, async () => {
            for (let i = 0; i < times; i++) await client.query(text);
            return times;
          });
        } finally {
          client.release();
        }
      };
      if (c === "rt" || c === "rt25") {
        const text = c === "rt" ? "SELECT 1" : `SELECT length('${"a".repeat(25 * 1024)}')`;
        r = await repeated(`round trip, ${c === "rt" ? "SELECT 1" : "25 KB"}`, text, 5000);
      } else if (c === "commit" || c === "commit-async") {
        // What a durable commit costs by itself: one-row transactions, flushed (`commit`) or not.
        const sync = c === "commit" ? "on" : "off";
        r = await repeated(
          `one-row commit, synchronous_commit ${sync}`,
          `BEGIN; SET LOCAL synchronous_commit = ${sync}; UPDATE bench_commit SET v = v + 1 WHERE id = 1; COMMIT`,
          3000,
          "CREATE TABLE IF NOT EXISTS bench_commit (id int PRIMARY KEY, v bigint); INSERT INTO bench_commit VALUES (1, 0) ON CONFLICT DO NOTHING",
        );
      } else if (c.startsWith("b")) {
        const size = Number(c.slice(1));
        r = await measure(admin, dbName, self, `batched ${size}`, async () => {
          const total = Math.max(size, Math.ceil((TRANSFERS * 2) / size) * size);
          for (let done = 0; done < total; done += size) await ledger.transferBatch(transfers(size));
          return total;
        });
      } else {
        const callers = Number(c);
        r = await measure(admin, dbName, self, `one per call, ${callers} callers`, async () => {
          let done = 0;
          await Promise.all(
            Array.from({ length: callers }, async () => {
              while (done < TRANSFERS) {
                done++;
                await ledger.transfer(transfers(1)[0]);
              }
            }),
          );
          return TRANSFERS;
        });
      }
      console.log(JSON.stringify(r));
      out.push(r);
    }
  } finally {
    await admin.end();
    await closeDatabase(db);
    await tdb.drop();
  }
}

async function proofCase(out: Record<string, unknown>[]): Promise<void> {
  const { openLogStore } = await import("../src/log/store");
  const { nodeHasher } = await import("../src/log/node-hasher");
  const tdb = await createPgTestDatabase("bench_pgprof");
  const dbName = new URL(tdb.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: tdb.url });
  await admin.connect();
  const self = Number((await admin.query("SELECT pg_backend_pid() AS p")).rows[0].p);
  statStatements = await statStatementsOn(admin, dbName);
  const db = openDatabase(tdb.url);
  try {
    const store = await openLogStore(db);
    const n = 1_000_000;
    for (let size = 0; size < n;) {
      const k = Math.min(10_000, n - size);
      const raw = randomBytes(32 * k);
      const hs = Array.from({ length: k }, (_, i) => nodeHasher.hashLeaf(raw.subarray(32 * i, 32 * i + 32)));
      size = await store.append(size, hs);
    }
    for (let round = 0; round < 2; round++) {
      const r = await measure(
        admin,
        dbName,
        self,
        `inclusion proofs at 10^6, 1 caller (round ${round + 1})`,
        async () => {
          const Q = 20_000;
          for (let q = 0; q < Q; q++) await store.inclusionProof(randomInt(n), n);
          return Q;
        },
      );
      console.log(JSON.stringify(r));
      out.push(r);
    }
  } finally {
    await admin.end();
    await closeDatabase(db);
    await tdb.drop();
  }
}

(async () => {
  const out: Record<string, unknown>[] = [];
  if (process.argv.includes("--prof-proofs")) await proofCase(out);
  else await ledgerCases(out);
  console.table(
    out.map((r) => ({
      case: r.case,
      perSec: r.perSec,
      load1: String(r.load1),
      unitsPerGroup: r.unitsPerGroup,
      stmtsPerGroup: r.statementsPerGroup,
      nodeUs: r.nodeCpuUsPerUnit,
      pgUs: r.pgCpuUsPerUnit,
      ceiling: r.twoCoreCeilingPerSec,
      beside: r.groupsBesideAnother,
    })),
  );
  mkdirSync(join(__dirname, "results"), { recursive: true });
  writeFileSync(
    join(__dirname, "results", "pg-profile.json"),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, results: out }, null, 2),
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
