/**
 * npm run bench:ledger [-- --quick]
 *
 * Durable commits throughout (SQLite WAL + synchronous=FULL; PostgreSQL synchronous_commit as the
 * server is configured, default on). 10 000 customer accounts funded from one bank mirror; every
 * transfer moves money between two random customers and appends one event (leaf + SHA-256).
 *  - transfers/s one per call (one transaction each), and batched (transferBatch of 100 / 1000 / 8000);
 *  - single transfers also from 16 and 64 concurrent callers (both backends group concurrent calls
 *    into shared commits; PostgreSQL also with 4 callers);
 *  - PostgreSQL: 1, 2 and 4 writer processes on one database, 16 or 64 callers each (child
 *    processes of this script, `--writer`, started once per process count and warmed up by 30 000
 *    untimed transfers first, see WRITER_WARMUP), the rate over all of them;
 *  - time for checkInvariants over a ledger of 1M events (SQLite; PostgreSQL with --pg-1m), measured
 *    first, when the ledger holds exactly that many events.
 * `--runs N` (default 3) repeats every measurement N times in the same process; the summary gives
 * the best and the median of the runs (the machine is shared: single runs are noisy).
 * In-process cases also give CPU per transfer (medians): `nodeUs` of this process and, on
 * PostgreSQL, `serverUs` of every postgres process on the machine (backends and background
 * writers alike), figures that hold better than rates when the machine's speed swings.
 * Each backend's cases run in a child process of their own (`backendProcess`).
 * Prints a table and writes bench/results/ledger.json.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";
import { closeDatabase, openDatabase } from "../src/db/database";
import { type Ledger, openLedger } from "../src/ledger";
import { postgresCpuMs } from "./support/cpu";
import { ACCOUNTS, nextTransfers as nextWorkload, rng, seedAccounts } from "./support/ledger-workload";

const quick = process.argv.includes("--quick");
const pg1m = process.argv.includes("--pg-1m");
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
// `--only sqlite-batched-8000` (backend-mode-batch, spaces as dashes): run just that case, for profiling.
const onlyArg = process.argv.indexOf("--only");
const ONLY = onlyArg > 0 ? process.argv[onlyArg + 1] : undefined;
// `--only sqlite` (a prefix ending at a dash) runs every case of that backend.
const caseName = (backend: string, mode: string, batch: number, concurrency = 1) =>
  `${backend}-${mode}-${batch}${concurrency > 1 ? `x${concurrency}` : ""}`.replace(/ /g, "-");
const wanted = (backend: string, mode: string, batch: number, concurrency = 1) => {
  const name = caseName(backend, mode, batch, concurrency);
  return ONLY === undefined || ONLY === name || name.startsWith(`${ONLY}-`);
};
const KEY = new Uint8Array(32).fill(7);
const PG_ADMIN = process.env.CUSTODY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

type Row = Record<string, string | number>;
const results: Row[] = [];

/** Id tag (bench/support/ledger-workload.ts): each writer process of the multi-process cases has its own. */
let idTag = "t";
const nextTransfers = (n: number, rnd: () => number) => nextWorkload(idTag, n, rnd);

async function measure(
  backend: string,
  ledger: Ledger,
  mode: string,
  batch: number,
  total: number,
  concurrency = 1,
): Promise<void> {
  if (!wanted(backend, mode, batch, concurrency)) return;
  const rnd = rng(batch * 31 + concurrency);
  const server0 = backend === "postgres" ? postgresCpuMs() : 0;
  const node0 = process.cpuUsage();
  const t0 = performance.now();
  let done = 0;
  const worker = async () => {
    while (done < total) {
      const n = Math.min(batch, total - done);
      done += n;
      const ts = nextTransfers(n, rnd);
      if (batch === 1) await ledger.transfer(ts[0]);
      else await ledger.transferBatch(ts);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const s = (performance.now() - t0) / 1000;
  const node = process.cpuUsage(node0);
  const row: Row = {
    backend,
    mode,
    batch,
    concurrency,
    transfers: total,
    seconds: +s.toFixed(2),
    perSec: Math.round(total / s),
    // CPU per transfer: this process, and (PostgreSQL) every server process on the machine.
    nodeUs: +((node.user + node.system) / total).toFixed(1),
  };
  if (backend === "postgres") row.serverUs = +(((postgresCpuMs() - server0) * 1000) / total).toFixed(1);
  results.push(row);
  console.table([row]);
}

async function fillTo(ledger: Ledger, events: number): Promise<void> {
  const rnd = rng(99);
  for (let have = await ledger.eventCount(); have < events; have = await ledger.eventCount()) {
    await ledger.transferBatch(nextTransfers(Math.min(8000, events - have), rnd));
  }
}

async function repeat(f: () => Promise<void>): Promise<void> {
  for (let i = 0; i < RUNS; i++) await f();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Best and median of each measurement over the runs (best = highest rate). */
function summary() {
  const groups = new Map<string, Row[]>();
  for (const r of results) {
    const k = `${r.backend}|${r.mode}|${r.batch}|${r.concurrency}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((rows) => {
    const rates = rows.map((r) => Number(r.perSec));
    const secs = rows.map((r) => Number(r.seconds));
    const cpu = (k: string) =>
      rows[0][k] === undefined ? "" : +median(rows.map((r) => Number(r[k]))).toFixed(1);
    return {
      backend: rows[0].backend,
      mode: rows[0].mode,
      batch: rows[0].batch,
      concurrency: rows[0].concurrency,
      transfers: rows[0].transfers,
      events: rows[0].events ?? "",
      runs: rows.length,
      bestPerSec: Math.max(...rates),
      medianPerSec: Math.round(median(rates)),
      bestSeconds: Math.min(...secs),
      medianSeconds: +median(secs).toFixed(2),
      nodeUs: cpu("nodeUs"),
      serverUs: cpu("serverUs"),
    };
  });
}

async function invariantTime(backend: string, ledger: Ledger): Promise<void> {
  if (!wanted(backend, "checkInvariants", 0)) return;
  const t0 = performance.now();
  const r = await ledger.checkInvariants();
  const s = (performance.now() - t0) / 1000;
  if (!r.ok) throw new Error(`invariants broken: ${JSON.stringify(r.violations.slice(0, 3))}`);
  const row = {
    backend,
    mode: "checkInvariants",
    batch: 0,
    concurrency: 1,
    transfers: r.transfers,
    events: r.events,
    seconds: +s.toFixed(2),
    perSec: Math.round(r.events / s),
  };
  results.push(row);
  console.table([row]);
}

/** A writer process of the multi-process cases, driven by lines on its stdin and stdout. */
interface WriterProcess {
  child: ReturnType<typeof spawn>;
  line(prefix: string): Promise<string>;
}

function spawnWriter(url: string, tag: string): WriterProcess {
  const child = spawn(process.execPath, ["--import", "tsx", __filename, "--writer", url, tag], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    lines.push(line);
    waiters.splice(0).forEach((w) => w());
  });
  child.on("exit", () => waiters.splice(0).forEach((w) => w()));
  return {
    child,
    async line(prefix: string) {
      for (;;) {
        const i = lines.findIndex((x) => x.startsWith(prefix));
        if (i >= 0) return lines.splice(i, 1)[0];
        if (child.exitCode !== null) throw new Error(`writer exited with ${child.exitCode}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

/**
 * `procs` writer processes on one database, started and warmed up once, then for each number of
 * callers (concurrent single-transfer calls in each process) RUNS measurements: the rate is all
 * their transfers over the wall time from the start signal to the last one done.
 */
async function processes(
  url: string,
  procs: number,
  callerCounts: number[],
  perProcess: number,
): Promise<void> {
  const mode = `${procs} processes, one per call`;
  const counts = callerCounts.filter((c) => wanted("postgres", mode, 1, c));
  if (!counts.length) return;
  const writers = Array.from({ length: procs }, (_, k) => spawnWriter(url, `w${k}p${procs}`));
  try {
    await Promise.all(writers.map((w) => w.line("ready")));
    for (const callers of counts)
      for (let run = 0; run < RUNS; run++) {
        const t0 = performance.now();
        for (const w of writers) w.child.stdin!.write(`go ${perProcess} ${callers}\n`);
        await Promise.all(writers.map((w) => w.line("done")));
        const s = (performance.now() - t0) / 1000;
        const row = {
          backend: "postgres",
          mode,
          batch: 1,
          concurrency: callers,
          transfers: perProcess * procs,
          seconds: +s.toFixed(2),
          perSec: Math.round((perProcess * procs) / s),
        };
        results.push(row);
        console.table([row]);
      }
  } finally {
    for (const w of writers) w.child.stdin!.end();
    await Promise.all(writers.map((w) => (w.child.exitCode !== null ? undefined : once(w.child, "exit"))));
  }
}

/**
 * Transfers each writer process sends (16 callers) before it reports ready. A new Node process
 * spends its first tens of thousands of transfers compiling code and sizing its heap, on the same
 * two cores as the server: with 3 000, one process with 16 callers measured 11 400–11 600/s, with
 * 20 000, 13 200/s (BENCHMARKS.md, 2026-12-05), and a long-running server is past that.
 */
const WRITER_WARMUP = 30_000;

/**
 * A writer process of `processes`: opens the ledger, warms up, then for each `go N callers` line
 * sends N transfers from that many concurrent callers and answers `done`; exits when stdin ends.
 */
async function writer(url: string, tag: string): Promise<void> {
  idTag = tag;
  const db = openDatabase(url, { poolSize: 8 });
  const ledger = await openLedger(db, { pseudonymKey: KEY });
  const rnd = rng(tag.length * 7919 + tag.charCodeAt(1));
  const send = async (n: number, callers: number) => {
    let done = 0;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (done < n) {
          done++;
          await ledger.transfer(nextTransfers(1, rnd)[0]);
        }
      }),
    );
  };
  // Untimed: a server process runs warm (compiled code, a sized heap, its connections' cached plans).
  await send(WRITER_WARMUP, 16);
  process.stdout.write("ready\n");
  for await (const line of createInterface({ input: process.stdin })) {
    const [word, n, callers] = line.split(" ");
    if (word !== "go") continue;
    await send(Number(n), Number(callers));
    process.stdout.write("done\n");
  }
  await closeDatabase(db);
  process.exit(0);
}

async function sqlite(): Promise<void> {
  if (ONLY !== undefined && !`${ONLY}-`.startsWith("sqlite-")) return;
  const dir = mkdtempSync(join(tmpdir(), "bench-ledger-"));
  try {
    const db = openDatabase(join(dir, "ledger.db"));
    const ledger = await openLedger(db, { pseudonymKey: KEY });
    await seedAccounts(ledger);
    await fillTo(ledger, quick ? 200_000 : 1_000_000);
    await repeat(() => invariantTime("sqlite", ledger));
    await repeat(() => measure("sqlite", ledger, "one per call", 1, quick ? 1000 : 5000));
    // Concurrent single calls share commits (group commit in the SQLite store).
    await repeat(() => measure("sqlite", ledger, "one per call", 1, quick ? 2000 : 20_000, 16));
    await repeat(() => measure("sqlite", ledger, "one per call", 1, quick ? 4000 : 40_000, 64));
    await repeat(() => measure("sqlite", ledger, "batched", 100, quick ? 20_000 : 100_000));
    await repeat(() => measure("sqlite", ledger, "batched", 1000, quick ? 50_000 : 300_000));
    await repeat(() => measure("sqlite", ledger, "batched", 8000, quick ? 80_000 : 400_000));
    await closeDatabase(db);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(): Promise<void> {
  if (ONLY !== undefined && !`${ONLY}-`.startsWith("postgres-")) return;
  const admin = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (e) {
    console.warn(`PostgreSQL unreachable at ${PG_ADMIN}: skipping (${String(e)})`);
    return;
  }
  const name = `bench_ledger_${process.pid}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  try {
    const db = openDatabase(u.toString(), { poolSize: 16 });
    const ledger = await openLedger(db, { pseudonymKey: KEY });
    await seedAccounts(ledger);
    if (pg1m) {
      await fillTo(ledger, 1_000_000);
      await repeat(() => invariantTime("postgres", ledger));
    }
    await repeat(() => measure("postgres", ledger, "one per call", 1, quick ? 500 : 3000));
    await repeat(() => measure("postgres", ledger, "one per call", 1, quick ? 1000 : 5000, 4));
    await repeat(() => measure("postgres", ledger, "one per call", 1, quick ? 2000 : 20_000, 16));
    await repeat(() => measure("postgres", ledger, "one per call", 1, quick ? 4000 : 40_000, 64));
    for (const procs of [1, 2, 4]) await processes(u.toString(), procs, [16, 64], quick ? 4000 : 20_000);
    await repeat(() => measure("postgres", ledger, "batched", 100, quick ? 10_000 : 50_000));
    await repeat(() => measure("postgres", ledger, "batched", 1000, quick ? 20_000 : 200_000));
    await repeat(() => measure("postgres", ledger, "batched", 8000, quick ? 40_000 : 200_000));
    await repeat(() => measure("postgres", ledger, "batched x2 callers", 1000, quick ? 20_000 : 200_000, 2));
    if (!pg1m) await repeat(() => invariantTime("postgres", ledger));
    await closeDatabase(db);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const RESULTS = "RESULTS";

/**
 * Runs one backend's cases in a child process of this script (`--backend`, the other arguments
 * passed on) and takes its results. Each backend gets a fresh Node process, as a deployment runs one
 * backend: in one process, after the SQLite cases, the PostgreSQL batches of 1 000 cost this
 * process ~23 % more CPU per transfer (BENCHMARKS.md, 2026-12-05).
 */
async function backendProcess(backend: "sqlite" | "postgres"): Promise<void> {
  if (ONLY !== undefined && !`${ONLY}-`.startsWith(`${backend}-`)) return;
  const child = spawn(
    process.execPath,
    [...process.execArgv, __filename, ...process.argv.slice(2), "--backend", backend],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.startsWith(`${RESULTS} `))
      results.push(...(JSON.parse(line.slice(RESULTS.length + 1)) as Row[]));
    else process.stdout.write(`${line}\n`);
  });
  // "close", not "exit": every line of its output has been read by then.
  const [code] = (await once(child, "close")) as [number | null];
  if (code !== 0) throw new Error(`the ${backend} cases exited with ${code}`);
}

(async () => {
  const w = process.argv.indexOf("--writer");
  if (w > 0) {
    const [url, tag] = process.argv.slice(w + 1);
    return writer(url, tag);
  }
  const b = process.argv.indexOf("--backend");
  if (b > 0) {
    await (process.argv[b + 1] === "sqlite" ? sqlite() : postgres());
    process.stdout.write(`${RESULTS} ${JSON.stringify(results)}\n`);
    return;
  }
  await backendProcess("sqlite");
  await backendProcess("postgres");
  const best = summary();
  console.table(best);
  mkdirSync(join(__dirname, "results"), { recursive: true });
  const file = join(__dirname, "results", "ledger.json");
  let summaryOut: unknown[] = best;
  let resultsOut: unknown[] = results;
  if (ONLY !== undefined && existsSync(file)) {
    // A partial run replaces its own cases and keeps the other cases of the last full run.
    type Case = { backend: string; mode: string; batch: number; concurrency: number };
    const key = (r: Case) => caseName(r.backend, r.mode, r.batch, r.concurrency);
    const rerun = new Set((results as Case[]).map(key));
    const prev = JSON.parse(readFileSync(file, "utf8")) as { summary: Case[]; results: Case[] };
    summaryOut = [...prev.summary.filter((r) => !rerun.has(key(r))), ...best];
    resultsOut = [...prev.results.filter((r) => !rerun.has(key(r))), ...results];
  }
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        quick,
        runs: RUNS,
        only: ONLY,
        summary: summaryOut,
        results: resultsOut,
      },
      null,
      2,
    ),
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
