/**
 * bench:solvency — (1) the liabilities sum tree over 10^6 customers (height 20, 2^20 leaves with
 * padding) built with every customer's proof, next to the plain RFC 9162 tree over the same leaf
 * hashes in the same run (the cost of the sums as a ratio; both hash with the same in-place JS
 * SHA-256 of src/protocol/sha256.ts, so the ratio is the sums' cost); (2) a balance proof served over HTTP
 * (GET /v1/accounts/{id}/balance-proof) by a real API on a SQLite ledger, p50/p99.
 * Not a test: prints a table and writes bench/out/solvency.json.
 *
 *   npm run bench:solvency            (CUSTODY_BENCH_CUSTOMERS, CUSTODY_BENCH_HTTP_CUSTOMERS to resize)
 */
import { silentLogger } from "../src/logging";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  buildLiabilitiesTree,
  buildSumTree,
  heightFor,
  snapshotPrk,
  type SumTree,
} from "../src/protocol/liabilities-tree-v1";
import { FixedLengthSha256 } from "../src/protocol/sha256";
import { assetBytes32 } from "../src/protocol/balance-proof-v1";
import { logReaderOf } from "../src/log/reader";

const CUSTOMERS = Number(process.env.CUSTODY_BENCH_CUSTOMERS ?? 1_000_000);
const HTTP_CUSTOMERS = Number(process.env.CUSTODY_BENCH_HTTP_CUSTOMERS ?? 20_000);
const HTTP_REQUESTS = 3_000;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const rows: { what: string; ms: number; note?: string }[] = [];
const record = (what: string, t: number, note?: string) => {
  rows.push({ what, ms: Math.round(t), note });
  console.log(`${what.padEnd(64)} ${Math.round(t).toString().padStart(7)} ms${note ? `  ${note}` : ""}`);
};

/**
 * Every proof of the sum tree, written into one reused buffer per proof (as a server would
 * serialise it): each sibling's hash and its sum's 16-byte encoding, both kept by the tree.
 */
function allSumProofs(tree: SumTree, positions: Iterable<number>): number {
  const buf = new Uint8Array(tree.height * 48);
  let bytes = 0;
  for (const pos of positions) {
    let i = pos;
    for (let l = 0; l < tree.height; l++) {
      const s = i ^ 1;
      const level = tree.levels[l]!;
      // Byte loops: a subarray per sibling (a new view object each) cost more than the copy.
      const h = level.hashes;
      const m = level.sumBytes;
      for (let k = 0; k < 32; k++) buf[48 * l + k] = h[32 * s + k]!;
      for (let k = 0; k < 16; k++) buf[48 * l + 32 + k] = m[16 * s + k]!;
      i >>= 1;
    }
    bytes += buf.length;
  }
  return bytes;
}

/** RFC 9162 tree over a power-of-two number of leaf hashes: every level kept. */
function buildPlainTree(leafHashes: Uint8Array, height: number): Uint8Array[] {
  const levels = [leafHashes];
  const sha = new FixedLengthSha256(65);
  const buf = sha.input;
  buf[0] = 1;
  for (let l = 0; l < height; l++) {
    const below = levels[l]!;
    const count = below.length / 64;
    const out = new Uint8Array(count * 32);
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < 64; k++) buf[1 + k] = below[64 * i + k]!;
      sha.digestInto(out, 32 * i);
    }
    levels.push(out);
  }
  return levels;
}

function allPlainProofs(levels: Uint8Array[], positions: Iterable<number>): number {
  const height = levels.length - 1;
  const buf = new Uint8Array(height * 32);
  let bytes = 0;
  for (const pos of positions) {
    let i = pos;
    for (let l = 0; l < height; l++) {
      const s = i ^ 1;
      const h = levels[l]!;
      for (let k = 0; k < 32; k++) buf[32 * l + k] = h[32 * s + k]!;
      i >>= 1;
    }
    bytes += buf.length;
  }
  return bytes;
}

async function treeBench() {
  const height = heightFor(CUSTOMERS);
  const prk = snapshotPrk(new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
  const asset32 = assetBytes32("EUR");
  const accounts = Array.from({ length: CUSTOMERS }, (_, i) => {
    const p = new Uint8Array(32);
    new DataView(p.buffer).setUint32(0, i * 2654435761);
    new DataView(p.buffer).setUint32(4, i);
    return { pseudonym: p, balance: BigInt((i * 7919) % 10_000_000) };
  });
  console.log(
    `${CUSTOMERS} customers, height ${height} (${2 ** height} leaves), ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );

  let t0 = process.hrtime.bigint();
  const built = buildLiabilitiesTree({
    prk,
    asset32,
    height,
    accounts,
  });
  const full = ms(t0);
  record("snapshot end to end: HKDF keys+salts, shuffle, leaves, sum tree", full);

  const leafHashes = built.tree.levels[0]!.hashes;
  const balances = built.tree.levels[0]!.sums;
  const positions = [...built.positionOf.values()];
  const runs: { sum: number; plain: number; sumProofs: number; plainProofs: number }[] = [];
  for (let r = 0; r < 3; r++) {
    t0 = process.hrtime.bigint();
    const tree = buildSumTree(leafHashes, balances, height);
    const sum = ms(t0);
    t0 = process.hrtime.bigint();
    allSumProofs(tree, positions);
    const sumProofs = ms(t0);
    t0 = process.hrtime.bigint();
    const plainLevels = buildPlainTree(leafHashes, height);
    const plain = ms(t0);
    t0 = process.hrtime.bigint();
    allPlainProofs(plainLevels, positions);
    const plainProofs = ms(t0);
    runs.push({ sum, plain, sumProofs, plainProofs });
  }
  const med = (k: keyof (typeof runs)[0]) => runs.map((x) => x[k]).sort((a, b) => a - b)[1]!;
  record("sum tree build (median of 3)", med("sum"));
  record("sum tree: every customer's proof (median of 3)", med("sumProofs"), `${positions.length} proofs`);
  record("RFC 9162 tree build, same leaf hashes (median of 3)", med("plain"));
  record("RFC 9162 tree: every proof (median of 3)", med("plainProofs"));
  const ratio = (med("sum") + med("sumProofs")) / (med("plain") + med("plainProofs"));
  record("sum tree + proofs", med("sum") + med("sumProofs"), `ratio to RFC 9162: ${ratio.toFixed(2)}x`);
  return { height, ratio };
}

async function httpBench() {
  const { openDatabase, closeDatabase } = await import("../src/db/database");
  const { migrate } = await import("../src/db/migrate");
  const { openLedger } = await import("../src/ledger");
  const { createApiApp, startApiServer } = await import("../src/api/app");
  const { apiMigrations, createApiKey, openApiKeyStore } = await import("../src/api/auth/keys");
  const { MemoryLogStore } = await import("../src/log/memory-store");
  const { SolvencySnapshots, solvencyMigrations } = await import("../src/solvency");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-bench-solvency-"));
  const db = openDatabase(path.join(dir, "ledger.sqlite"));
  try {
    const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(9) });
    await migrate(db, [...apiMigrations, ...solvencyMigrations]);
    await ledger.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
    for (let i = 0; i < HTTP_CUSTOMERS; i++)
      await ledger.openAccount({ id: `c${i}`, type: "customer", asset: "EUR", scale: 2 });
    for (let i = 0; i < HTTP_CUSTOMERS; i += 1000)
      await ledger.transferBatch(
        Array.from({ length: Math.min(1000, HTTP_CUSTOMERS - i) }, (_, j) => ({
          id: `d${i + j}`,
          debitAccountId: "bank",
          creditAccountId: `c${i + j}`,
          amount: BigInt(1 + i + j),
          kind: "deposit" as const,
        })),
      );
    const snapshots = new SolvencySnapshots({ db, ledger, masterSecret: new Uint8Array(32).fill(5) });
    let t0 = process.hrtime.bigint();
    const snap = await snapshots.take({
      asset: "EUR",
      day: "2026-12-01",
      logSize: await ledger.eventCount(),
    });
    record(
      `snapshot of a SQLite ledger: replay ${snap.logSize} events, ${HTTP_CUSTOMERS} customers`,
      ms(t0),
      `height ${snap.height}`,
    );
    const key = (await createApiKey(db, { role: "auditor" })).key;
    const app = createApiApp({
      ledger,
      log: logReaderOf(new MemoryLogStore()),
      anchors: {
        latest: async () => undefined,
        list: async () => [],
        covering: async () => undefined,
        byHeadIndex: async () => undefined,
      },
      auth: openApiKeyStore(db),
      solvency: snapshots,
      logger: silentLogger,
      options: { rateLimit: false },
    });
    const server = await startApiServer(app, { host: "127.0.0.1", port: 0 });
    const headers = { authorization: `Bearer ${key}` };
    // Warm-up (first request rebuilds nothing: the tree is cached from the snapshot).
    for (let i = 0; i < 50; i++)
      await (await fetch(`${server.url}/v1/accounts/c${i}/balance-proof`, { headers })).text();
    const lat: number[] = [];
    for (let i = 0; i < HTTP_REQUESTS; i++) {
      const t = process.hrtime.bigint();
      const res = await fetch(
        `${server.url}/v1/accounts/c${(i * 7) % HTTP_CUSTOMERS}/balance-proof?snapshot=${snap.id}`,
        { headers },
      );
      const body = await res.text();
      if (res.status !== 200) throw new Error(`status ${res.status}: ${body}`);
      lat.push(ms(t));
    }
    lat.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
    console.log(
      `HTTP balance proof, ${HTTP_REQUESTS} sequential requests: p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms, max ${q(1).toFixed(2)} ms`,
    );
    rows.push(
      { what: "HTTP balance proof p50", ms: q(0.5) },
      { what: "HTTP balance proof p99", ms: q(0.99) },
    );
    await server.close();
    await ledger.close();
  } finally {
    await closeDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const load = os.loadavg();
  const tree = await treeBench();
  await httpBench();
  const out = path.join(__dirname, "out");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, "solvency.json"),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        cores: os.cpus().length,
        loadAtStart: load,
        customers: CUSTOMERS,
        ...tree,
        rows,
      },
      null,
      2,
    ),
  );
  console.log(
    `load at end ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
