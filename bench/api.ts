/**
 * npm run bench:api [-- --events 1000000] [-- --duration 15] [-- --connections 16] [-- --reuse]
 *
 * Proof service throughput on a log of `--events` ledger events (default 10^6):
 *  1. prepare (once; `--reuse` keeps it under os.tmpdir() between runs): a SQLite ledger filled with
 *     deposits in batches, the log store synced, and the log anchored on a fresh anvil chain by the
 *     real relayer in 10 heads (so receipts prove against different heads);
 *  2. the API runs in a child process (one core), with its request log written to a file;
 *  3. autocannon (this process, the other core) drives, each for `--duration` seconds after a warm-up:
 *     - proofs by leaf hash (public): GET /v1/proofs/by-leaf-hash/:hash over random leaves,
 *     - receipts (auditor key):       GET /v1/receipts/:leafIndex over random leaves,
 *     - receipts (holder key):        GET /v1/transfers/:id/receipt of the holder's own transfers.
 * Rate limiting is off (one client address would otherwise be throttled). Prints a table and writes
 * bench/out/api.json. `--cpu-prof DIR` runs the API process under `node --cpu-prof` (profile in DIR).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
// autocannon ships no types; the few fields used here are typed at the call site.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon: (opts: object) => Promise<any> = require("autocannon");
import { toHex } from "viem";
import { closeDatabase, openDatabase } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { openLedger } from "../src/ledger/ledger";
import { createLogIntegrator } from "../src/log/integrator";
import { logReaderOf } from "../src/log/reader";
import { openLogStore } from "../src/log/store";
import { apiMigrations, createApiKey, openApiKeyStore } from "../src/api/auth/keys";
import { relayerMigrations } from "../src/relayer/migrations";
import { createRelayer } from "../src/relayer/relayer";
import { createLogger, silentLogger } from "../src/logging";
import { logAnchorSource } from "../src/relayer/source";
import { startDevChain } from "../src/chain/dev";
import { openAnchorStore } from "../src/relayer/anchor-store";
import { createApiApp, startApiServer } from "../src/api/app";
import { processCpuMs } from "./support/cpu";

const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const EVENTS = flag("events", 1_000_000);
const DURATION = flag("duration", 15);
const CONNECTIONS = flag("connections", 16);
const REUSE = args.includes("--reuse");
const profIndex = args.indexOf("--cpu-prof");
const CPU_PROF_DIR = profIndex >= 0 ? args[profIndex + 1] : undefined;
const HEADS = 10;
const CUSTOMERS = 1000;
const SAMPLE = 100_000;

const workDir = path.join(os.tmpdir(), `custody-bench-api-${EVENTS}`);
const dbFile = path.join(workDir, "ledger.db");
const metaFile = path.join(workDir, "meta.json");
const KEY = new Uint8Array(32).fill(7);

interface Meta {
  events: number;
  auditorKey: string;
  holderKey: string;
  holderTransfers: string[];
  sample: { index: number; hash: string }[];
  anchors: number;
  prepareSeconds: number;
}

async function prepare(): Promise<Meta> {
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true });
  const t0 = performance.now();
  const db = openDatabase(dbFile);
  await migrate(db, [...apiMigrations, ...relayerMigrations]);
  const ledger = await openLedger(db, { pseudonymKey: KEY });
  await ledger.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
  for (let c = 0; c < CUSTOMERS; c++)
    await ledger.openAccount({ id: `c${c}`, type: "customer", asset: "EUR", scale: 2 });
  let n = 0;
  for (let have = await ledger.eventCount(); have < EVENTS; have = await ledger.eventCount()) {
    const batch = Array.from({ length: Math.min(8000, EVENTS - have) }, () => {
      const id = `d${n++}`;
      return {
        id,
        debitAccountId: "bank",
        creditAccountId: `c${n % CUSTOMERS}`,
        amount: BigInt(1 + randomInt(1_000_000)),
        kind: "deposit" as const,
      };
    });
    await ledger.transferBatch(batch);
    if (n % 200_000 < 8000) console.error(`  filled ${have + batch.length} events`);
  }
  const logStore = await openLogStore(db);
  const source = logAnchorSource({
    ledger,
    integrator: createLogIntegrator({ source: ledger, store: logStore }),
  });
  // The integrator appends in bounded rounds: sync until the log holds every event.
  while ((await logStore.size()) < EVENTS) await source.sync();
  console.error(`  log synced: ${await logStore.size()} leaves`);

  const chain = await startDevChain();
  try {
    const { clients, deployment } = chain;
    const relayer = createRelayer({
      db,
      source,
      publicClient: clients.publicClient,
      account: chain.accounts.relayer,
      deployment,
      policy: { batchSize: 1, maxDelayMs: 0, maxBatch: Math.ceil(EVENTS / HEADS) },
      confirmations: 0,
      auditIntervalMs: 24 * 3600_000,
      log: silentLogger,
    });
    for (let i = 0; i < HEADS + 2; i++) await relayer.runOnce();
    await relayer.stop();
  } finally {
    await chain.stop();
  }
  const anchors = openAnchorStore(db);
  const latest = await anchors.latest();
  if (!latest || latest.treeSize < EVENTS) throw new Error(`anchoring stopped at ${latest?.treeSize ?? 0}`);

  const sample: Meta["sample"] = [];
  for (let i = 0; i < SAMPLE; i++) {
    const index = randomInt(EVENTS);
    const [h] = await ledger.leafHashes(index, 1);
    sample.push({ index, hash: toHex(h) });
  }
  const holderTransfers = Array.from({ length: 200 }, (_, k) => `d${k * CUSTOMERS + 41}`).filter(
    (_, k) => k * CUSTOMERS + 41 < n,
  );
  const meta: Meta = {
    events: await ledger.eventCount(),
    auditorKey: (await createApiKey(db, { role: "auditor" })).key,
    holderKey: (await createApiKey(db, { role: "holder", accounts: ["c42"] })).key,
    holderTransfers,
    sample,
    anchors: latest.headIndex + 1,
    prepareSeconds: Math.round((performance.now() - t0) / 1000),
  };
  await closeDatabase(db);
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  return meta;
}

/** Child process: the API over the prepared database. Prints its URL on stdout. */
async function serve(): Promise<void> {
  const db = openDatabase(dbFile);
  // The request log as deployed: pino to a file (lines below warn written once per event-loop turn).
  const logFd = fs.openSync(path.join(workDir, "api-requests.log"), "a");
  const app = createApiApp({
    ledger: await openLedger(db, { pseudonymKey: KEY }),
    log: logReaderOf(await openLogStore(db)),
    anchors: openAnchorStore(db),
    auth: openApiKeyStore(db),
    logger: createLogger({ component: "api", destination: logFd }),
    options: { rateLimit: false, warmProofCache: true },
  });
  const server = await startApiServer(app, { host: "127.0.0.1", port: 0 });
  process.stdout.write(`${server.url}\n`);
  process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
}

function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const prof = CPU_PROF_DIR ? ["--cpu-prof", "--cpu-prof-dir", CPU_PROF_DIR] : [];
  const child = spawn(process.execPath, [...prof, "--import", "tsx", __filename, "--serve", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c) => {
      out += c;
      const m = /^(http:\/\/\S+)\n/m.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.once("exit", (code) => reject(new Error(`API process exited with ${code}`)));
  });
}

/** CPU seconds (user + system) the API process has used so far, from /proc (Linux). */
function cpuSecondsOf(pid: number): number {
  const ms = processCpuMs(pid);
  if (ms === undefined) throw new Error(`the API process ${pid} is gone`);
  return ms / 1000;
}

interface Row {
  scenario: string;
  reqPerSec: number;
  /** API process CPU per request: what one idle core would sustain is 10^6 / cpuUsPerReq. */
  cpuUsPerReq: number;
  oneCoreReqPerSec: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  requests: number;
}

async function drive(
  url: string,
  pid: number,
  scenario: string,
  pathOf: () => string,
  key?: string,
): Promise<Row> {
  const run = (duration: number) =>
    autocannon({
      url,
      connections: CONNECTIONS,
      duration,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      requests: [{ method: "GET", setupRequest: (req: any) => ({ ...req, path: pathOf() }) }],
    });
  await run(3); // warm-up: JIT, page cache, anchor cache
  const cpu0 = cpuSecondsOf(pid);
  const r = await run(DURATION);
  const cpuUs = ((cpuSecondsOf(pid) - cpu0) * 1e6) / Math.max(1, r.requests.total);
  return {
    scenario,
    reqPerSec: Math.round(r.requests.average),
    cpuUsPerReq: Math.round(cpuUs),
    oneCoreReqPerSec: Math.round(1e6 / cpuUs),
    p50ms: r.latency.p50,
    p90ms: r.latency.p90,
    p99ms: r.latency.p99,
    maxMs: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
    requests: r.requests.total,
  };
}

async function main(): Promise<void> {
  if (args.includes("--serve")) return serve();
  let meta: Meta;
  if (REUSE && fs.existsSync(metaFile)) {
    meta = JSON.parse(fs.readFileSync(metaFile, "utf8"));
    console.error(`reusing the prepared log in ${workDir} (${meta.events} events)`);
  } else {
    console.error(`preparing a log of ${EVENTS} events in ${workDir} …`);
    meta = await prepare();
    console.error(`prepared in ${meta.prepareSeconds} s (${meta.anchors} anchored heads)`);
  }
  const { child, url } = await startServer();
  // Wait for the proof cache to cover the log (a cold start serves from storage meanwhile).
  const t0 = performance.now();
  for (;;) {
    const ready = (await (await fetch(`${url}/v1/ready`)).json()) as {
      checks: { proofCache?: { leaves: number } };
    };
    if ((ready.checks.proofCache?.leaves ?? 0) >= meta.events) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const warmSeconds = +((performance.now() - t0) / 1000).toFixed(1);
  console.error(`proof cache filled in ${warmSeconds} s`);
  const rows: Row[] = [];
  try {
    const pick = () => meta.sample[randomInt(meta.sample.length)];
    rows.push(
      await drive(
        url,
        child.pid!,
        "proof by leaf hash (public)",
        () => `/v1/proofs/by-leaf-hash/${pick().hash}`,
      ),
    );
    rows.push(
      await drive(
        url,
        child.pid!,
        "receipt by leaf index (auditor)",
        () => `/v1/receipts/${pick().index}`,
        meta.auditorKey,
      ),
    );
    rows.push(
      await drive(
        url,
        child.pid!,
        "transfer receipt (holder, own)",
        () => `/v1/transfers/${meta.holderTransfers[randomInt(meta.holderTransfers.length)]}/receipt`,
        meta.holderKey,
      ),
    );
  } finally {
    child.kill("SIGTERM");
  }
  console.table(rows);
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    events: meta.events,
    anchoredHeads: meta.anchors,
    connections: CONNECTIONS,
    durationSeconds: DURATION,
    loadAverageAtEnd: os.loadavg().map((x) => +x.toFixed(2)),
    prepareSeconds: meta.prepareSeconds,
    proofCacheWarmSeconds: warmSeconds,
    rows,
  };
  fs.mkdirSync(path.join(__dirname, "out"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "out", "api.json"), JSON.stringify(out, null, 2));
  if (!REUSE) fs.rmSync(workDir, { recursive: true, force: true });
}

main().then(
  () => {
    if (!args.includes("--serve")) process.exit(0);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
