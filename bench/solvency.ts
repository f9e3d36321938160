/**
 * bench:solvency — (1) the liabilities sum tree over 10^6 customers (height 20, 2^20 leaves with
 * padding) built with every customer's proof, next to the plain RFC 9162 tree over the same leaf
 * hashes in the same run (the cost of the sums as a ratio). Both run on one thread with the same
 * techniques: the JS SHA-256 of src/protocol/sha256.ts hashing each node from its children where
 * they lie in the level buffer, and proofs written as 32-bit word copies of the sibling nodes; so
 * the ratio is the sums' cost (16 more bytes per child in each node's input and in each proof
 * element, and the additions). (2) A balance proof served over HTTP
 * (GET /v1/accounts/{id}/balance-proof) by a real API on a SQLite ledger, p50/p99.
 * Not a test: prints a table (wall and CPU time) and writes bench/out/solvency.json.
 *
 *   npm run bench:solvency            (CUSTODY_BENCH_CUSTOMERS, CUSTODY_BENCH_HTTP_CUSTOMERS to resize;
 *                                      CUSTODY_BENCH_HTTP=0 to skip the HTTP part)
 */
import { silentLogger } from "../src/logging";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  SumPathWriter,
  buildLiabilitiesTree,
  buildSumTree,
  buildSumTreeFromLeaves,
  heightFor,
  snapshotPrk,
  sumTreeNode,
  type SumTree,
} from "../src/protocol/liabilities-tree-v1";
import { sha256PrefixedInto } from "../src/protocol/sha256";
import { assetBytes32 } from "../src/protocol/balance-proof-v1";
import { logReaderOf } from "../src/log/reader";

const CUSTOMERS = Number(process.env.CUSTODY_BENCH_CUSTOMERS ?? 1_000_000);
const HTTP_CUSTOMERS = Number(process.env.CUSTODY_BENCH_HTTP_CUSTOMERS ?? 20_000);
const HTTP = process.env.CUSTODY_BENCH_HTTP !== "0";
const HTTP_REQUESTS = 3_000;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const rows: { what: string; ms: number; cpuMs?: number; note?: string }[] = [];
const record = (what: string, t: number, note?: string, cpu?: number) => {
  rows.push({ what, ms: Math.round(t), cpuMs: cpu === undefined ? undefined : Math.round(cpu), note });
  const c = cpu === undefined ? "" : ` (CPU ${Math.round(cpu)} ms)`;
  console.log(`${what.padEnd(64)} ${Math.round(t).toString().padStart(7)} ms${c}${note ? `  ${note}` : ""}`);
};

/** Wall and CPU (user + system, this process) milliseconds of `f`. */
function timed<T>(f: () => T): { value: T; wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = f();
  const wall = ms(t0);
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1000 };
}

/**
 * Every proof of the sum tree, written into one reused buffer per proof (as a server would
 * serialise it): each sibling's hash and 16-byte sum, copied from the level by SumPathWriter.
 */
function allSumProofs(tree: SumTree, positions: Iterable<number>): number {
  const writer = new SumPathWriter(tree);
  const buf = new Uint8Array(writer.pathBytes);
  let bytes = 0;
  for (const pos of positions) {
    writer.write(pos, buf, 0);
    bytes += buf.length;
  }
  return bytes;
}

/** RFC 9162 tree over a power-of-two number of leaf hashes: every level kept, nodes hashed in place. */
function buildPlainTree(leafHashes: Uint8Array, height: number): Uint8Array[] {
  const levels = [leafHashes];
  for (let l = 0; l < height; l++) {
    const below = levels[l]!;
    const count = below.length / 64;
    const out = new Uint8Array(count * 32);
    for (let i = 0; i < count; i++) sha256PrefixedInto(0x01, below, 64 * i, 64, out, 32 * i);
    levels.push(out);
  }
  return levels;
}

/** Every RFC 9162 inclusion proof, copied as 32-bit words like SumPathWriter's. */
function allPlainProofs(levels: Uint8Array[], positions: Iterable<number>): number {
  const height = levels.length - 1;
  const words = levels.map((l) => new Int32Array(l.buffer, l.byteOffset, l.length >> 2));
  const buf = new Uint8Array(height * 32);
  const to = new Int32Array(buf.buffer);
  let bytes = 0;
  for (const pos of positions) {
    let i = pos;
    for (let l = 0; l < height; l++, i >>= 1) {
      const from = words[l]!;
      const s = 8 * (i ^ 1);
      for (let k = 0; k < 8; k++) to[8 * l + k] = from[s + k]!;
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

  const whole = timed(() => buildLiabilitiesTree({ prk, asset32, height, accounts }));
  const built = whole.value;
  record("snapshot end to end: HKDF keys+salts, shuffle, leaves, sum tree", whole.wall, undefined, whole.cpu);

  const leafNodes = built.tree.levels[0]!;
  const n = 2 ** height;
  const leafHashes = new Uint8Array(32 * n);
  const balances = new Array<bigint>(n);
  for (let i = 0; i < n; i++) {
    leafHashes.set(leafNodes.subarray(48 * i, 48 * i + 32), 32 * i);
    balances[i] = sumTreeNode(built.tree, 0, i).sum;
  }
  const positions = [...built.positionOf.values()];
  type Run = Record<
    "sum" | "plain" | "sumProofs" | "plainProofs" | "fromBigints",
    { wall: number; cpu: number }
  >;
  const runs: Run[] = [];
  for (let r = 0; r < 3; r++) {
    // The snapshot job's path: the leaf level as buildLiabilitiesTree writes it (a fresh copy).
    const leaves = leafNodes.slice();
    const sum = timed(() => buildSumTreeFromLeaves(leaves, height));
    const sumProofs = timed(() => allSumProofs(sum.value, positions));
    const plain = timed(() => buildPlainTree(leafHashes, height));
    const plainProofs = timed(() => allPlainProofs(plain.value, positions));
    const fromBigints = timed(() => buildSumTree(leafHashes, balances, height));
    if (Buffer.compare(fromBigints.value.rootHash, sum.value.rootHash) !== 0) throw new Error("roots differ");
    runs.push({ sum, plain, sumProofs, plainProofs, fromBigints });
  }
  const med = (k: keyof Run) => runs.map((x) => x[k]).sort((a, b) => a.wall - b.wall)[1]!;
  const row = (what: string, k: keyof Run, note?: string) => record(what, med(k).wall, note, med(k).cpu);
  row("sum tree build from the leaf level (median of 3)", "sum");
  row("sum tree: every customer's proof (median of 3)", "sumProofs", `${positions.length} proofs`);
  row("RFC 9162 tree build, same leaf hashes (median of 3)", "plain");
  row("RFC 9162 tree: every proof (median of 3)", "plainProofs");
  row("sum tree build from leaf hashes + bigint balances (median of 3)", "fromBigints");
  const total = med("sum").wall + med("sumProofs").wall;
  const ratio = total / (med("plain").wall + med("plainProofs").wall);
  record(
    "sum tree + proofs, one thread",
    total,
    `ratio to RFC 9162 (one thread): ${ratio.toFixed(2)}x`,
    med("sum").cpu + med("sumProofs").cpu,
  );
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
  if (HTTP) await httpBench();
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
