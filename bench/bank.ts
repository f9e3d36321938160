/**
 * npm run bench:bank [-- --events N] [-- --entries N] [-- --backend sqlite|postgres|both|none]
 *
 * 1. Parser throughput: one camt.053.001.08 file of `--entries` entries (default 100 000), parsed
 *    by `parseCamt053` (one streaming saxes pass: well-formedness, mapping to bigint minor units as
 *    each entry closes, balance check) next to a plain fast-xml-parser `parse` of the same bytes (no
 *    validation, no mapping, a whole object tree): what reading and mapping cost against the plain
 *    library parse.
 * 2. Import + reconcile: a ledger of `--events` events (default 10^6: 1 000 customers, the
 *    statement's deposits on the business day, customer-to-customer transfers the day before),
 *    then `importStatement` (parse, store raw bytes and each page's canonical JSON, fact) and
 *    `reconcile` of that day, timed separately, on SQLite and PostgreSQL.
 * Figures are medians of `--runs` (default 3) for the parser, single runs for import/reconcile.
 * `--ledger-cache FILE` (SQLite only): keep a copy of the built ledger in FILE and start from it
 * next time (building 10^6 events takes a minute); `--skip-parser` leaves out step 1,
 * `--backend none` step 2.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import pg from "pg";
import { openCustodianBank } from "../src/bank/bank";
import { parseCamt053 } from "../src/bank/camt053";
import { writeCamt053 } from "../src/bank/camt053-writer";
import { readLedgerDay } from "../src/bank/ledger-view";
import { deriveStatement } from "../src/bank/simulated-bank";
import type { BankStatement } from "../src/bank/statement";
import { closeDatabase, openDatabase } from "../src/db/database";
import { type TransferInput, openLedger } from "../src/ledger";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const EVENTS = Number(arg("events", "1000000"));
const ENTRIES = Number(arg("entries", "100000"));
const RUNS = Number(arg("runs", "3"));
const BACKEND = arg("backend", "both");
const LEDGER_CACHE = arg("ledger-cache", "");
const CUSTOMERS = 1000;
const DAY = "2026-11-30";
const CUTOFF = Date.parse(`${DAY}T17:00:00Z`);
const IBAN = "DE89370400440532013000";
const PG_ADMIN = process.env.CUSTODY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function syntheticStatement(n: number): BankStatement {
  let closing = 0n;
  const entries = Array.from({ length: n }, (_, i) => {
    const amount = BigInt(100 + (i % 9_900));
    closing += amount;
    return {
      index: i,
      amount,
      direction: "credit" as const,
      status: "booked" as const,
      reversal: false,
      bookingDate: DAY,
      valueDate: DAY,
      endToEndId: `E2E-${i}`,
      accountServicerRef: `ASR-${i}`,
    };
  });
  return {
    id: "BENCH",
    account: IBAN,
    currency: "EUR",
    exponent: 2,
    page: 1,
    lastPage: true,
    opening: { type: "OPBD", amount: 0n, date: DAY },
    closing: { type: "CLBD", amount: closing, date: DAY },
    entries,
  };
}

function parserBench() {
  const xml = Buffer.from(
    writeCamt053([syntheticStatement(ENTRIES)], {
      version: "08",
      messageId: "B",
      createdAt: `${DAY}T18:00:00Z`,
    }),
  );
  const plain = new XMLParser({ ignoreAttributes: false });
  const ours: number[] = [];
  const raw: number[] = [];
  const oursCpu: number[] = [];
  const rawCpu: number[] = [];
  const cpu = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
  for (let r = 0; r < RUNS; r++) {
    let t = process.hrtime.bigint();
    let c = process.cpuUsage();
    plain.parse(xml);
    raw.push(ms(t));
    rawCpu.push(cpu(process.cpuUsage(c)));
    t = process.hrtime.bigint();
    c = process.cpuUsage();
    parseCamt053(xml);
    ours.push(ms(t));
    oursCpu.push(cpu(process.cpuUsage(c)));
  }
  const out = {
    entries: ENTRIES,
    megabytes: +(xml.length / 1e6).toFixed(1),
    plainParseMs: Math.round(median(raw)),
    plainEntriesPerSec: Math.round(ENTRIES / (median(raw) / 1000)),
    parseCamt053Ms: Math.round(median(ours)),
    parseCamt053EntriesPerSec: Math.round(ENTRIES / (median(ours) / 1000)),
    plainCpuMs: Math.round(median(rawCpu)),
    parseCamt053CpuMs: Math.round(median(oursCpu)),
  };
  console.log("parser", JSON.stringify(out));
}

async function importBench(backend: "sqlite" | "postgres") {
  let url: string;
  let cleanup: () => Promise<void>;
  if (backend === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "custody-bench-bank-"));
    url = join(dir, "ledger.db");
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const name = `custody_bench_bank_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(PG_ADMIN);
    u.pathname = `/${name}`;
    url = u.toString();
    cleanup = async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  const cached = backend === "sqlite" && LEDGER_CACHE !== "" && existsSync(LEDGER_CACHE);
  if (cached) copyFileSync(LEDGER_CACHE, url);
  const db = openDatabase(url);
  let now = Date.parse(`${DAY}T00:00:00Z`) - 86_400_000;
  const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(9), clock: () => now });
  try {
    const t0 = process.hrtime.bigint();
    if (!cached) await buildLedger();
    else now = Date.parse(`${DAY}T09:00:00Z`);
    if (backend === "sqlite" && LEDGER_CACHE !== "" && !cached) {
      if (db.kind === "sqlite") db.sqlite.prepare("VACUUM INTO ?").run(LEDGER_CACHE);
    }
    const events = await ledger.eventCount();
    const buildS = ms(t0) / 1000;
    const view = await readLedgerDay(db, "bank-eur", "EUR", CUTOFF);
    const s = deriveStatement({
      id: "BENCH",
      account: IBAN,
      currency: "EUR",
      exponent: 2,
      day: DAY,
      opening: view.mirrorBalance - view.today.reduce((a, m) => a + m.amount, 0n),
      openingDate: DAY,
      cutoff: CUTOFF,
      movements: view.today,
    });
    const xml = Buffer.from(
      writeCamt053([s], { version: "08", messageId: "B", createdAt: `${DAY}T18:00:00Z` }),
    );
    const bank = await openCustodianBank({ db, ledger });
    // CPU time of this process next to wall time: on a shared machine it is the steadier figure
    // (it leaves out the PostgreSQL server's own work).
    const cpuMs = (c: NodeJS.CpuUsage) => Math.round((c.user + c.system) / 1000);
    let t = process.hrtime.bigint();
    let c = process.cpuUsage();
    await bank.importStatement(xml);
    const importMs = ms(t);
    const importCpuMs = cpuMs(process.cpuUsage(c));
    t = process.hrtime.bigint();
    c = process.cpuUsage();
    const [rec] = await bank.reconcile(DAY);
    const reconcileMs = ms(t);
    const reconcileCpuMs = cpuMs(process.cpuUsage(c));
    console.log(
      backend,
      JSON.stringify({
        events,
        entries: s.entries.length,
        ledgerBuildS: +buildS.toFixed(1),
        ledgerCached: cached,
        importMs: Math.round(importMs),
        reconcileMs: Math.round(reconcileMs),
        importCpuMs,
        reconcileCpuMs,
        totalS: +((importMs + reconcileMs) / 1000).toFixed(2),
        breaks: rec.report.breaks.length,
        matched: rec.report.counts.matched,
      }),
    );
  } finally {
    await ledger.close();
    await closeDatabase(db);
    await cleanup();
  }

  async function buildLedger() {
    await ledger.openAccount({
      id: "bank-eur",
      type: "bank_mirror",
      asset: "EUR",
      scale: 2,
      metadata: { bankAccount: IBAN },
    });
    for (let c = 0; c < CUSTOMERS; c++)
      await ledger.openAccount({ id: `c${c}`, type: "customer", asset: "EUR", scale: 2 });
    // Funding the day before so customer transfers can move money.
    const fund: TransferInput[] = [];
    for (let c = 0; c < CUSTOMERS; c++)
      fund.push({
        id: `f${c}`,
        debitAccountId: "bank-eur",
        creditAccountId: `c${c}`,
        amount: 10n ** 9n,
        kind: "deposit",
      });
    await ledger.transferBatch(fund);
    const filler = Math.max(0, EVENTS - ENTRIES - 2 * CUSTOMERS - 1);
    for (let done = 0; done < filler;) {
      const n = Math.min(8000, filler - done);
      const batch: TransferInput[] = [];
      for (let i = 0; i < n; i++) {
        const k = done + i;
        const a = k % CUSTOMERS;
        batch.push({
          id: `x${String(k).padStart(9, "0")}`,
          debitAccountId: `c${a}`,
          creditAccountId: `c${(a + 1 + (k % 7)) % CUSTOMERS}`,
          amount: 1n,
          kind: "transfer",
        });
      }
      await ledger.transferBatch(batch);
      done += n;
    }
    now = Date.parse(`${DAY}T09:00:00Z`);
    for (let done = 0; done < ENTRIES;) {
      const n = Math.min(8000, ENTRIES - done);
      const batch: TransferInput[] = [];
      for (let i = 0; i < n; i++) {
        const k = done + i;
        batch.push({
          id: `d${String(k).padStart(9, "0")}`,
          debitAccountId: "bank-eur",
          creditAccountId: `c${k % CUSTOMERS}`,
          amount: BigInt(100 + (k % 9900)),
          kind: "deposit",
          metadata: { endToEndId: `E2E-${k}` },
        });
      }
      await ledger.transferBatch(batch);
      done += n;
    }
  }
}

async function main() {
  const { loadavg, cpus } = await import("node:os");
  console.log(
    `bench:bank ${new Date().toISOString()} cpus=${cpus().length} load=${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  if (!process.argv.includes("--skip-parser")) parserBench();
  if (BACKEND === "sqlite" || BACKEND === "both") await importBench("sqlite");
  if (BACKEND === "postgres" || BACKEND === "both") await importBench("postgres");
  console.log(
    `load after=${(await import("node:os"))
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
}

void main();
