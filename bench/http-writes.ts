/**
 * npm run bench:http-writes [-- --duration 10 --warmup 3 --repeat 3 --processes 1,2,4 --connections 16,64 --account-cache N]
 *
 * Write throughput through the HTTP API: POST /v1/transfers, one transfer per request, on PostgreSQL
 * with 1, 2 and 4 API processes on one database, and on SQLite with one process (the ratio in the
 * same run). The setup is the one docs/operations.md describes, per configuration:
 *  - one anvil node (this process starts it) and a fresh pair of contracts for each configuration;
 *  - a fresh PostgreSQL database (dropped at the end, also on failure), or a fresh SQLite data folder;
 *  - N real `npm start` processes (src/stack/main.ts: API + relayer + the other stack services), each
 *    its own port and data folder, sharing the database URL, the deployment file, the relayer key and
 *    the pseudonym key; the first one applies the migrations. **Rate limiting is off**
 *    (`--rate-limit 0`): every request comes from one client address and one key;
 *  - a platform key made with `custody keys create --role platform`;
 *  - `--accounts` customer accounts opened and funded from one bank mirror (POST /v1/transfers/batch).
 * Then autocannon (in this process) sends single transfers between random customers, each with a unique
 * client id, with 16 and 64 connections spread round-robin over the processes: a warm-up of `--warmup`
 * seconds, then `--repeat` runs of `--duration` seconds. Each run reports transfers/s, latency p50/p99
 * and the CPU used by the API processes, the PostgreSQL backends of the bench database, the driver and
 * everything else on the machine (from /proc), and wait events sampled from pg_stat_activity.
 * Any non-2xx answer or socket error fails the bench. At the end of each configuration: every
 * acknowledged transfer is in the ledger exactly once with its own event, and the event sequence is
 * gap-free (0 … n-1). Prints a table and writes bench/results/http-writes.json.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Command, InvalidArgumentError } from "commander";
import pg from "pg";
import { bytesToHex } from "viem";
import { devAccount } from "../src/chain/anvil";
import { DEV_ROLES, startDevChain, type DevChain } from "../src/chain/dev";
import { writeDeployment } from "../src/chain/deployment";
import { runCli } from "../src/cli/main";
import { processCpuMs } from "./support/cpu";

// autocannon ships no types; the fields used here are typed at the call site.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon: (opts: object) => Promise<any> = require("autocannon");

const STACK_MAIN = path.resolve(__dirname, "../src/stack/main.ts");
const PG_ADMIN = process.env.CUSTODY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "1,2,4" → [1, 2, 4]; every entry a positive integer. */
export function parseList(s: string): number[] {
  const xs = s.split(",").map((x) => x.trim());
  if (xs.length === 0 || xs.some((x) => !/^[1-9][0-9]*$/.test(x)))
    throw new InvalidArgumentError(`expected positive integers separated by commas, got "${s}"`);
  return xs.map(Number);
}

function nonNegativeInt(s: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) throw new InvalidArgumentError(`expected a whole number, got "${s}"`);
  return Number(s);
}

function positiveInt(s: string): number {
  if (!/^[1-9][0-9]*$/.test(s)) throw new InvalidArgumentError(`expected a positive integer, got "${s}"`);
  return Number(s);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of no values");
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * What the ledger must show after a run: every acknowledged transfer once with its own event, and the
 * events numbered 0 … n-1. Returns the problems found (none = consistent).
 */
export function ledgerProblems(v: {
  acknowledged: number;
  acknowledgedDistinct: number;
  foundInLedger: number;
  distinctEvents: number;
  events: number;
  minSequence: number | null;
  maxSequence: number | null;
}): string[] {
  const p: string[] = [];
  if (v.acknowledgedDistinct !== v.acknowledged)
    p.push(`${v.acknowledged - v.acknowledgedDistinct} transfer ids acknowledged twice`);
  if (v.foundInLedger !== v.acknowledgedDistinct)
    p.push(`${v.acknowledgedDistinct - v.foundInLedger} acknowledged transfers missing from the ledger`);
  if (v.distinctEvents !== v.foundInLedger)
    p.push(`acknowledged transfers share events (${v.foundInLedger} transfers, ${v.distinctEvents} events)`);
  if (v.events > 0 && v.minSequence !== 0) p.push(`the event sequence starts at ${v.minSequence}, not 0`);
  if (v.events > 0 && (v.maxSequence ?? -1) - (v.minSequence ?? 0) + 1 !== v.events)
    p.push(`the event sequence has gaps: ${v.events} events over ${v.minSequence}…${v.maxSequence}`);
  return p;
}

interface Options {
  duration: number;
  warmup: number;
  repeat: number;
  processes: number[];
  connections: number[];
  accounts: number;
  sqlite: boolean;
  postgres: boolean;
  cpuProfDir?: string;
  /** PostgreSQL stack processes' account cache size (CUSTODY_PG_ACCOUNT_CACHE); default theirs. */
  accountCache?: number;
}

function parseOptions(argv: string[]): Options {
  const program = new Command("bench:http-writes")
    .description(
      "POST /v1/transfers throughput through the HTTP API: N stack processes (API + relayer) on one " +
        "PostgreSQL database against one anvil chain, and one process on SQLite. Rate limiting is off. " +
        "Fails on any non-2xx answer, on a socket error, or when an acknowledged transfer is not in the " +
        "ledger exactly once or the event sequence has a gap.",
    )
    .option("--duration <s>", "seconds per measured run", positiveInt, 10)
    .option("--warmup <s>", "seconds of load before the runs of each connection count", positiveInt, 3)
    .option("--repeat <n>", "measured runs per case (best and median are reported)", positiveInt, 3)
    .option("--processes <list>", "API process counts on PostgreSQL", parseList, [1, 2, 4])
    .option("--connections <list>", "concurrent connections, spread over the processes", parseList, [16, 64])
    .option(
      "--accounts <n>",
      "customer accounts, funded first; transfers go between random pairs",
      positiveInt,
      1000,
    )
    .option("--no-sqlite", "skip the SQLite case (one process)")
    .option(
      "--account-cache <n>",
      "PostgreSQL: the stack processes' --pg-account-cache (0 = lock and load every time)",
      nonNegativeInt,
    )
    .option("--cpu-prof-dir <dir>", "start the API processes with node --cpu-prof, writing the profiles here")
    .option("--no-postgres", "skip the PostgreSQL cases")
    .allowExcessArguments(false);
  program.parse(argv, { from: "user" });
  return program.opts<Options>();
}

// ---------------------------------------------------------------------------------------------------
// Processes and CPU accounting (Linux /proc)

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** CPU seconds (user + system) a process has used, or undefined when it is gone. */
function cpuSecondsOf(pid: number): number | undefined {
  const ms = processCpuMs(pid);
  return ms === undefined ? undefined : ms / 1000;
}

/** Busy and total CPU seconds of the whole machine, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3]! + v[4]!; // idle + iowait
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / 100, total: total / 100 };
}

interface StackProcess {
  name: string;
  child: ChildProcess;
  url: string;
  dataDir: string;
  logFile: string;
  exited: Promise<void>;
}

async function startStackProcess(
  name: string,
  dir: string,
  args: { db?: string; rpc: string; deployment: string; cpuProfDir?: string },
  env: Record<string, string>,
): Promise<StackProcess> {
  const port = await freePort();
  const dataDir = path.join(dir, name);
  fs.mkdirSync(dataDir, { recursive: true });
  // The request log goes to a file, as deployed; piping it here would load the driver.
  const logFile = path.join(dir, `${name}.log`);
  const fd = fs.openSync(logFile, "a");
  const child = spawn(
    process.execPath,
    [
      ...(args.cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", args.cpuProfDir] : []),
      ...["--import", "tsx", STACK_MAIN],
      ...["--data-dir", dataDir, "--rpc", args.rpc, "--deployment", args.deployment],
      ...(args.db ? ["--db", args.db] : []),
      ...["--port", String(port), "--rate-limit", "0"],
    ],
    { env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] },
  );
  fs.closeSync(fd);
  live.children.add(child);
  let dead = false;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      dead = true;
      live.children.delete(child);
      resolve();
    }),
  );
  const p = { name, child, url: `http://127.0.0.1:${port}`, dataDir, logFile, exited };
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (dead)
      throw new Error(`${name} exited during start:\n${fs.readFileSync(logFile, "utf8").slice(-4000)}`);
    try {
      if ((await fetch(`${p.url}/v1/health`)).ok) return p;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not answer /v1/health within 300 s`);
    }
    await sleep(250);
  }
}

async function stopStackProcess(p: StackProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill("SIGTERM");
  const t = setTimeout(() => p.child.kill("SIGKILL"), 30_000);
  await p.exited;
  clearTimeout(t);
}

// ---------------------------------------------------------------------------------------------------
// Databases

/**
 * What must be undone if the bench is interrupted (Ctrl-C, SIGTERM): the child processes and the
 * databases. The normal and the failing paths undo the same in their `finally` blocks.
 */
const live = { children: new Set<ChildProcess>(), databases: new Set<string>() };

function onInterrupt(signal: NodeJS.Signals, stopChain: () => Promise<void>, dir: string): void {
  process.once(signal, () => {
    console.error(`${signal}: stopping the API processes and dropping the bench databases …`);
    for (const c of live.children) c.kill("SIGKILL");
    void Promise.allSettled([...live.databases].map((name) => dropPgDatabase(name)))
      .then(() => stopChain())
      .finally(() => {
        fs.rmSync(dir, { recursive: true, force: true });
        process.exit(130);
      });
  });
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function dropPgDatabase(name: string): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  live.databases.delete(name);
}

async function createPgDatabase(): Promise<{ name: string; url: string }> {
  const name = `custody_bench_http_${process.pid}_${Date.now().toString(36)}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  live.databases.add(name);
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  return { name, url: u.toString() };
}

interface LedgerCheck {
  acknowledged: number;
  acknowledgedDistinct: number;
  foundInLedger: number;
  distinctEvents: number;
  events: number;
  minSequence: number | null;
  maxSequence: number | null;
  /** Bench transfers in the ledger that no client saw acknowledged (in flight when a run stopped). */
  committedUnacknowledged: number;
}

async function checkPg(url: string, acked: string[]): Promise<LedgerCheck> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const distinct = [...new Set(acked)];
    const found = await c.query<{ n: string; seqs: string }>(
      `SELECT count(*) AS n, count(DISTINCT e.sequence) AS seqs
         FROM ledger_transfers t JOIN ledger_events e ON e.sequence = t.sequence WHERE t.id = ANY($1)`,
      [distinct],
    );
    const ev = await c.query<{ n: string; lo: string | null; hi: string | null }>(
      "SELECT count(*) AS n, min(sequence) AS lo, max(sequence) AS hi FROM ledger_events",
    );
    const all = await c.query<{ n: string }>(
      "SELECT count(*) AS n FROM ledger_transfers WHERE id LIKE 'h-%'",
    );
    return {
      acknowledged: acked.length,
      acknowledgedDistinct: distinct.length,
      foundInLedger: Number(found.rows[0]!.n),
      distinctEvents: Number(found.rows[0]!.seqs),
      events: Number(ev.rows[0]!.n),
      minSequence: ev.rows[0]!.lo === null ? null : Number(ev.rows[0]!.lo),
      maxSequence: ev.rows[0]!.hi === null ? null : Number(ev.rows[0]!.hi),
      committedUnacknowledged: Number(all.rows[0]!.n) - Number(found.rows[0]!.n),
    };
  } finally {
    await c.end();
  }
}

function checkSqlite(file: string, acked: string[]): LedgerCheck {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const distinct = [...new Set(acked)];
    // Read-only file: match in memory against the bench's transfer ids.
    const rows = db.prepare("SELECT id, sequence FROM ledger_transfers WHERE id LIKE 'h-%'").all() as {
      id: string;
      sequence: number;
    }[];
    const seqOf = new Map(rows.map((r) => [r.id, Number(r.sequence)]));
    const seqs = new Set<number>();
    let found = 0;
    for (const id of distinct) {
      const s = seqOf.get(id);
      if (s === undefined) continue;
      found++;
      seqs.add(s);
    }
    const eventSeqs = new Set(
      (db.prepare("SELECT sequence FROM ledger_events").all() as { sequence: number }[]).map((r) =>
        Number(r.sequence),
      ),
    );
    const distinctEvents = [...seqs].filter((s) => eventSeqs.has(s)).length;
    const ev = db
      .prepare("SELECT count(*) AS n, min(sequence) AS lo, max(sequence) AS hi FROM ledger_events")
      .get() as {
      n: number;
      lo: number | null;
      hi: number | null;
    };
    return {
      acknowledged: acked.length,
      acknowledgedDistinct: distinct.length,
      foundInLedger: found,
      distinctEvents,
      events: Number(ev.n),
      minSequence: ev.lo === null ? null : Number(ev.lo),
      maxSequence: ev.hi === null ? null : Number(ev.hi),
      committedUnacknowledged: rows.length - found,
    };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Load

interface RunRow {
  backend: string;
  processes: number;
  connections: number;
  run: number;
  transfersPerSec: number;
  requests: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
  /** CPU used during the run, in % of one core (the machine has os.cpus().length × 100 %). */
  cpuApiPct: number;
  cpuPostgresPct: number;
  cpuDriverPct: number;
  cpuAnvilPct: number;
  cpuOtherPct: number;
  loadAvg1: number;
}

class Driver {
  readonly acked: string[] = [];
  private n = 0;
  private readonly failures: string[] = [];
  constructor(
    private readonly prefix: string,
    private readonly accounts: number,
    private readonly key: string,
  ) {}

  private body(): string {
    const a = Math.floor(Math.random() * this.accounts);
    let b = Math.floor(Math.random() * (this.accounts - 1));
    if (b >= a) b++;
    return JSON.stringify({
      id: `h-${this.prefix}-${(this.n++).toString(36)}`,
      debitAccountId: `c${a}`,
      creditAccountId: `c${b}`,
      amount: String(1 + (this.n % 50)),
      kind: "transfer",
    });
  }

  async run(urls: string[], connections: number, duration: number) {
    const r = await autocannon({
      url: urls,
      connections,
      duration,
      timeout: 30,
      headers: { "content-type": "application/json", authorization: `Bearer ${this.key}` },
      requests: [
        {
          method: "POST",
          path: "/v1/transfers",
          setupRequest: (req: object) => ({ ...req, body: this.body() }),
          onResponse: (status: number, body: unknown) => {
            const text = String(body);
            if (status === 201) {
              const id = /"id":"([^"]+)"/.exec(text)?.[1];
              if (id) this.acked.push(id);
              else if (this.failures.length < 5)
                this.failures.push(`201 without an id: ${text.slice(0, 200)}`);
            } else if (this.failures.length < 5) this.failures.push(`${status}: ${text.slice(0, 300)}`);
          },
        },
      ],
    });
    if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || this.failures.length > 0)
      throw new Error(
        `${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts; first: ${this.failures.join(" | ")}`,
      );
    return r as {
      requests: { total: number };
      latency: { p50: number; p99: number };
      duration: number;
      non2xx: number;
      errors: number;
    };
  }
}

async function api(url: string, key: string, method: string, route: string, body: unknown): Promise<void> {
  const r = await fetch(`${url}${route}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  if (r.status !== 201 && r.status !== 200)
    throw new Error(`${method} ${route}: ${r.status} ${await r.text()}`);
}

async function seedAccounts(url: string, key: string, accounts: number): Promise<void> {
  await api(url, key, "POST", "/v1/accounts", { id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < accounts; i = next++)
        await api(url, key, "POST", "/v1/accounts", {
          id: `c${i}`,
          type: "customer",
          asset: "EUR",
          scale: 2,
        });
    }),
  );
  for (let i = 0; i < accounts; i += 1000) {
    const transfers = Array.from({ length: Math.min(1000, accounts - i) }, (_, k) => ({
      id: `fund-${i + k}`,
      debitAccountId: "bank",
      creditAccountId: `c${i + k}`,
      amount: "1000000000000",
      kind: "deposit",
    }));
    await api(url, key, "POST", "/v1/transfers/batch", { transfers });
  }
}

/**
 * Samples the bench database's sessions every 200 ms: the wait events of the active ones, and the CPU
 * time of every server process seen (the pools open and close sessions during a run, so the set of
 * processes is not fixed: one that appears after the start counts from 0, as a new backend does).
 */
function pgSampler(dbName: string) {
  const tally = new Map<string, number>();
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  let samples = 0;
  let stop = false;
  const c = new pg.Client({ connectionString: PG_ADMIN });
  const done = (async () => {
    await c.connect();
    try {
      while (!stop) {
        const r = await c.query<{ pid: number; state: string | null; w: string }>(
          `SELECT pid, state, coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w FROM pg_stat_activity
            WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [dbName],
        );
        for (const { pid, state, w } of r.rows) {
          if (state === "active") tally.set(w, (tally.get(w) ?? 0) + 1);
          const cpu = cpuSecondsOf(pid);
          if (cpu === undefined) continue;
          if (!first.has(pid)) first.set(pid, samples === 0 ? cpu : 0);
          last.set(pid, cpu);
        }
        samples++;
        await sleep(200);
      }
    } finally {
      await c.end();
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      let cpuSeconds = 0;
      for (const [pid, v] of last) cpuSeconds += v - first.get(pid)!;
      // Average number of active backends in each wait state per sample ("CPU" = not waiting).
      const waits = Object.fromEntries(
        [...tally.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [k, +(v / Math.max(1, samples)).toFixed(2)]),
      );
      return { cpuSeconds, waits };
    },
  };
}

// ---------------------------------------------------------------------------------------------------

interface Config {
  backend: "postgres" | "sqlite";
  processes: number;
}

interface ConfigResult {
  backend: string;
  processes: number;
  runs: RunRow[];
  /** Per run: average number of active backends of the bench database in each wait state. */
  waitEvents: { connections: number; run: number; waits: Record<string, number> }[];
  /**
   * CPU of the API processes over 5 s with no requests, right after the seeding: the background
   * services (log sync, relayer, witness, rules engine) are still working through the seeding events.
   */
  idleApiCpuPct: number;
  check: LedgerCheck;
  startSeconds: number;
}

async function runConfig(o: Options, chain: DevChain, dir: string, cfg: Config): Promise<ConfigResult> {
  const tag = `${cfg.backend}-${cfg.processes}`;
  const cdir = path.join(dir, tag);
  fs.mkdirSync(cdir, { recursive: true });
  const deploymentFile = path.join(cdir, "deployment.json");
  writeDeployment(deploymentFile, await chain.deploy());
  const env = {
    CUSTODY_RELAYER_KEY: bytesToHex(devAccount(DEV_ROLES.relayer).getHdKey().privateKey!),
    CUSTODY_PSEUDONYM_KEY: randomBytes(32).toString("hex"),
    ...(o.accountCache !== undefined ? { CUSTODY_PG_ACCOUNT_CACHE: String(o.accountCache) } : {}),
  };
  const pgDb = cfg.backend === "postgres" ? await createPgDatabase() : undefined;
  const procs: StackProcess[] = [];
  try {
    const args = {
      db: pgDb?.url,
      rpc: chain.node.rpcUrl,
      deployment: deploymentFile,
      cpuProfDir: o.cpuProfDir && path.resolve(o.cpuProfDir, tag),
    };
    const t0 = performance.now();
    // One after the other: the first applies the migrations.
    for (let i = 0; i < cfg.processes; i++) procs.push(await startStackProcess(`api${i}`, cdir, args, env));
    const startSeconds = +((performance.now() - t0) / 1000).toFixed(1);
    const dbUrl = pgDb?.url ?? path.join(procs[0]!.dataDir, "ledger.sqlite");
    const out: string[] = [];
    const code = await runCli(["keys", "create", "--role", "platform", "--db", dbUrl, "--json"], {
      out: (s) => out.push(s),
      err: (s) => out.push(s),
    });
    if (code !== 0) throw new Error(`custody keys create: exit ${code}: ${out.join("\n")}`);
    const key = (JSON.parse(out[0]!) as { key: string }).key;
    await seedAccounts(procs[0]!.url, key, o.accounts);
    console.error(
      `${tag}: ${cfg.processes} process(es) up in ${startSeconds} s, ${o.accounts} accounts funded`,
    );

    // What the stack processes use with no requests in flight (the background services catching up on
    // the seeding events, then polling): part of every CPU figure below.
    const idle0 = procs.reduce((a, p) => a + (cpuSecondsOf(p.child.pid!) ?? 0), 0);
    const idleT = performance.now();
    await sleep(5000);
    const idleApiCpuPct = Math.round(
      (100 * (procs.reduce((a, p) => a + (cpuSecondsOf(p.child.pid!) ?? 0), 0) - idle0)) /
        ((performance.now() - idleT) / 1000),
    );

    const driver = new Driver(tag, o.accounts, key);
    const urls = procs.map((p) => p.url);
    const runs: RunRow[] = [];
    const waitEvents: ConfigResult["waitEvents"] = [];
    for (const connections of o.connections) {
      await driver.run(urls, connections, o.warmup);
      for (let run = 1; run <= o.repeat; run++) {
        const sum = (ps: number[]) => ps.reduce((a, p) => a + (cpuSecondsOf(p) ?? 0), 0);
        const apiPids = procs.map((p) => p.child.pid!);
        const sampler = pgDb ? pgSampler(pgDb.name) : undefined;
        const before = {
          api: sum(apiPids),
          anvil: chain.node.pid ? (cpuSecondsOf(chain.node.pid) ?? 0) : 0,
          driver: process.cpuUsage(),
          machine: machineCpu(),
          t: performance.now(),
        };
        const r = await driver.run(urls, connections, o.duration);
        const wall = (performance.now() - before.t) / 1000;
        const d = process.cpuUsage(before.driver);
        const api = sum(apiPids) - before.api;
        const sampled = await sampler?.stop();
        const pgCpu = sampled?.cpuSeconds ?? 0;
        if (sampled) waitEvents.push({ connections, run, waits: sampled.waits });
        const anvil = (chain.node.pid ? (cpuSecondsOf(chain.node.pid) ?? 0) : 0) - before.anvil;
        const driverCpu = (d.user + d.system) / 1e6;
        const machineBusy = machineCpu().busy - before.machine.busy;
        const pct = (x: number) => Math.round((100 * x) / wall);
        const row: RunRow = {
          backend: cfg.backend,
          processes: cfg.processes,
          connections,
          run,
          transfersPerSec: Math.round(r.requests.total / wall),
          requests: r.requests.total,
          p50ms: r.latency.p50,
          p99ms: r.latency.p99,
          non2xx: r.non2xx,
          errors: r.errors,
          cpuApiPct: pct(api),
          cpuPostgresPct: pct(pgCpu),
          cpuDriverPct: pct(driverCpu),
          cpuAnvilPct: pct(anvil),
          cpuOtherPct: pct(Math.max(0, machineBusy - api - pgCpu - driverCpu - anvil)),
          loadAvg1: +os.loadavg()[0]!.toFixed(2),
        };
        runs.push(row);
        console.table([row]);
      }
    }
    for (const p of procs) await stopStackProcess(p);
    const check = pgDb ? await checkPg(pgDb.url, driver.acked) : checkSqlite(dbUrl, driver.acked);
    const problems = ledgerProblems(check);
    console.error(`${tag}: ledger check ${JSON.stringify(check)}`);
    if (problems.length > 0) throw new Error(`${tag}: ${problems.join("; ")}`);
    return {
      backend: cfg.backend,
      processes: cfg.processes,
      runs,
      waitEvents,
      idleApiCpuPct,
      check,
      startSeconds,
    };
  } finally {
    for (const p of procs) await stopStackProcess(p).catch(() => undefined);
    if (pgDb) await dropPgDatabase(pgDb.name);
  }
}

function summarize(results: ConfigResult[]) {
  const rows = [];
  for (const c of results) {
    for (const connections of new Set(c.runs.map((r) => r.connections))) {
      const rs = c.runs.filter((r) => r.connections === connections);
      const rates = rs.map((r) => r.transfersPerSec);
      const sqlite = results
        .find((x) => x.backend === "sqlite")
        ?.runs.filter((r) => r.connections === connections)
        .map((r) => r.transfersPerSec);
      rows.push({
        backend: c.backend,
        processes: c.processes,
        connections,
        bestPerSec: Math.max(...rates),
        medianPerSec: Math.round(median(rates)),
        p50ms: median(rs.map((r) => r.p50ms)),
        p99ms: median(rs.map((r) => r.p99ms)),
        non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
        medianVsSqlite: sqlite?.length ? +(median(rates) / median(sqlite)).toFixed(2) : "",
        idleApiPct: c.idleApiCpuPct,
        cpuApiPct: median(rs.map((r) => r.cpuApiPct)),
        cpuPgPct: median(rs.map((r) => r.cpuPostgresPct)),
        cpuDriverPct: median(rs.map((r) => r.cpuDriverPct)),
        cpuOtherPct: median(rs.map((r) => r.cpuOtherPct)),
        // CPU per transfer does not depend on how much of the machine others take; the rate on an idle
        // machine cannot exceed cores / (API + PostgreSQL + driver CPU per transfer).
        apiCpuUsPerTransfer: Math.round(median(rs.map((r) => (r.cpuApiPct * 1e4) / r.transfersPerSec))),
        pgCpuUsPerTransfer: Math.round(median(rs.map((r) => (r.cpuPostgresPct * 1e4) / r.transfersPerSec))),
      });
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const configs: Config[] = [
    ...(o.sqlite ? [{ backend: "sqlite" as const, processes: 1 }] : []),
    ...(o.postgres ? o.processes.map((processes) => ({ backend: "postgres" as const, processes })) : []),
  ];
  const loadBefore = os.loadavg().map((x) => +x.toFixed(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-bench-http-"));
  const chain = await startDevChain();
  for (const signal of ["SIGINT", "SIGTERM"] as const) onInterrupt(signal, () => chain.stop(), dir);
  const results: ConfigResult[] = [];
  try {
    for (const cfg of configs) results.push(await runConfig(o, chain, dir, cfg));
  } finally {
    await chain.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const summary = summarize(results);
  console.table(summary);
  const out = {
    date: new Date().toISOString(),
    command: `npm run bench:http-writes -- ${process.argv.slice(2).join(" ")}`.trim(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    options: o,
    rateLimit: "off (--rate-limit 0)",
    loadAverageBefore: loadBefore,
    loadAverageAfter: os.loadavg().map((x) => +x.toFixed(2)),
    summary,
    configs: results,
  };
  const resultsDir = path.join(__dirname, "results");
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, "http-writes.json"), JSON.stringify(out, null, 2) + "\n");
}

if (require.main === module)
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
