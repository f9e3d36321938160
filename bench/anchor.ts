/**
 * npm run bench:anchor
 *
 * 1. latency: a writer commits ledger transfers (real ledger on SQLite, durable) at a steady rate
 *    while the relayer anchors on anvil with 1 s blocks; for every entry, the time from its commit
 *    to the moment the relayer has recorded the mined anchor covering it (p50, p99, max).
 * 2. throughput: the writer commits as fast as it can in batches of 1000 (1 s blocks); entries/s
 *    anchored over the run, against entries/s committed.
 * 3. gas: on anvil (instant mining, its default hardfork), the gas of one `anchor` carrying a batch
 *    of B entries after a first head of B entries (so the consistency proof is realistic), for
 *    B = 100, 10k, 100k, 1M; gas per entry = gasUsed / B.
 * Prints a table and writes bench/out/anchor.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { bytesToHex, type Hex } from "viem";
import type { AnvilNode } from "../src/chain/anvil";
import { startDevChain } from "../src/chain/dev";
import { openDatabase, closeDatabase } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { openLedger } from "../src/ledger";
import { nodeHasher } from "../src/log/node-hasher";
import { createLogIntegrator } from "../src/log/integrator";
import { openLogStore } from "../src/log/store";
import { MemoryTree } from "../src/log/tree";
import { relayerMigrations } from "../src/relayer/anchor-store";
import { silentLogger } from "../src/logging";
import { createRelayer } from "../src/relayer/relayer";
import { logAnchorSource } from "../src/relayer/source";
import type { AnchorSource } from "../src/relayer/types";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function chainWithContracts(blockTime?: number) {
  const chain = await startDevChain({ blockTime });
  return { ...chain, relayer: chain.accounts.relayer };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Ledger → tree → relayer on anvil with 1 s blocks; the writer commits `perTick` transfers every `tickMs`. */
async function ledgerRun(opts: { seconds: number; perTick: number; tickMs: number; label: string }) {
  const dir = mkdtempSync(join(tmpdir(), "bench-anchor-"));
  const { node, relayer: account, clients, deployment } = await chainWithContracts(1);
  let node2: AnvilNode | undefined = node;
  const db = openDatabase(join(dir, "ledger.db"));
  try {
    await migrate(db, relayerMigrations);
    const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(9) });
    await ledger.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
    for (let i = 0; i < 100; i++)
      await ledger.openAccount({ id: `c${i}`, type: "customer", asset: "EUR", scale: 2 });
    const relayer = createRelayer({
      db,
      source: logAnchorSource({
        ledger,
        integrator: createLogIntegrator({ source: ledger, store: await openLogStore(db) }),
      }),
      publicClient: clients.publicClient,
      account,
      deployment,
      // Anchor whatever is pending as soon as the previous anchor is mined.
      policy: { batchSize: 1, maxDelayMs: 0 },
      registry: new Registry(),
      log: silentLogger,
      pollIntervalMs: 20,
    });
    // Commit times per entry (sequence → ms), and when each anchor was first seen recorded.
    const commits: { upTo: number; at: number; from: number }[] = [];
    const anchoredAt: { size: number; at: number }[] = [];
    let stop = false;
    const watcher = (async () => {
      let last = 0;
      while (!stop) {
        const a = await relayer.anchors.latestFinal();
        if (a && a.treeSize > last) {
          last = a.treeSize;
          anchoredAt.push({ size: a.treeSize, at: performance.now() });
        }
        await sleep(5);
      }
    })();
    relayer.start();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < opts.seconds * 1000) {
      const from = await ledger.eventCount();
      const batch = [];
      for (let i = 0; i < opts.perTick; i++)
        batch.push({
          id: `t${n++}`,
          debitAccountId: "bank",
          creditAccountId: `c${n % 100}`,
          amount: 1n + BigInt(n % 1000),
          kind: "deposit" as const,
        });
      await ledger.transferBatch(batch);
      commits.push({ from, upTo: await ledger.eventCount(), at: performance.now() });
      // Yield to timers either way: the relayer runs in this process (better-sqlite3 is synchronous).
      if (opts.tickMs) await sleep(opts.tickMs);
      else await new Promise((r) => setImmediate(r));
    }
    const writeSeconds = (performance.now() - t0) / 1000;
    const total = await ledger.eventCount();
    const firstMeasured = commits[0]!.from;
    // Wait until everything is anchored.
    while (!anchoredAt.length || anchoredAt[anchoredAt.length - 1]!.size < total) await sleep(50);
    const allSeconds = (anchoredAt[anchoredAt.length - 1]!.at - t0) / 1000;
    stop = true;
    await watcher;
    await relayer.stop();
    const lat: number[] = [];
    for (const c of commits) {
      const a = anchoredAt.find((x) => x.size >= c.upTo)!;
      for (let i = c.from; i < c.upTo; i++) lat.push(a.at - c.at);
    }
    lat.sort((a, b) => a - b);
    const entries = total - firstMeasured;
    const heads = anchoredAt.length;
    await ledger.close();
    return {
      case: opts.label,
      entries,
      heads,
      committedPerSec: Math.round(entries / writeSeconds),
      anchoredPerSec: Math.round(entries / allSeconds),
      p50ms: Math.round(percentile(lat, 50)),
      p99ms: Math.round(percentile(lat, 99)),
      maxMs: Math.round(lat[lat.length - 1]!),
    };
  } finally {
    await closeDatabase(db);
    await node2?.stop();
    node2 = undefined;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An in-memory source of B·2 random leaves (no ledger): measures only the chain side. */
class MemorySource implements AnchorSource {
  readonly tree = new MemoryTree(nodeHasher);
  constructor(n: number) {
    const buf = randomBytes(32);
    for (let i = 0; i < n; i++) {
      buf.writeUInt32BE(i, 0);
      this.tree.append(nodeHasher.hashLeaf(buf));
    }
  }
  async sync() {
    return this.tree.size;
  }
  async root(size: number): Promise<Hex> {
    return bytesToHex(this.tree.root(size));
  }
  async consistencyProof(a: number, b: number): Promise<Hex[]> {
    return this.tree.consistencyProof(a, b).map((h) => bytesToHex(h));
  }
  async entryTimestamp(i: number) {
    return i < this.tree.size ? 0 : undefined;
  }
  async ledgerLeafHashes(from: number, limit: number) {
    const out: Uint8Array[] = [];
    for (let i = from; i < Math.min(this.tree.size, from + limit); i++) out.push(this.tree.leafHash(i));
    return out;
  }
}

async function gasRun(batch: number) {
  const dir = mkdtempSync(join(tmpdir(), "bench-gas-"));
  const { node, relayer: account, clients, deployment } = await chainWithContracts();
  const db = openDatabase(join(dir, "r.db"));
  try {
    await migrate(db, relayerMigrations);
    const source = new MemorySource(2 * batch);
    const relayer = createRelayer({
      db,
      source,
      publicClient: clients.publicClient,
      account,
      deployment,
      policy: { batchSize: batch, maxBatch: batch, maxDelayMs: 3_600_000 },
      registry: new Registry(),
      log: silentLogger,
    });
    const first = (await relayer.runOnce()).anchored!;
    const second = (await relayer.runOnce()).anchored!;
    const r1 = await clients.publicClient.getTransactionReceipt({ hash: first.txHash });
    const r2 = await clients.publicClient.getTransactionReceipt({ hash: second.txHash });
    await relayer.stop();
    return {
      case: `gas, batch ${batch}`,
      firstAnchorGas: Number(r1.gasUsed),
      anchorGas: Number(r2.gasUsed),
      proofHashes: source.tree.consistencyProof(batch, 2 * batch).length,
      gasPerEntry: Number((Number(r2.gasUsed) / batch).toPrecision(3)),
    };
  } finally {
    await closeDatabase(db);
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const results: Record<string, unknown>[] = [];
  results.push(
    await ledgerRun({ seconds: 20, perTick: 20, tickMs: 100, label: "latency, ~200 entries/s, 1 s blocks" }),
  );
  console.table([results[results.length - 1]]);
  results.push(
    await ledgerRun({
      seconds: 15,
      perTick: 1000,
      tickMs: 0,
      label: "throughput, batches of 1000, 1 s blocks",
    }),
  );
  console.table([results[results.length - 1]]);
  for (const b of [100, 10_000, 100_000, 1_000_000]) {
    results.push(await gasRun(b));
    console.table([results[results.length - 1]]);
  }
  console.table(results);
  mkdirSync(join(__dirname, "out"), { recursive: true });
  writeFileSync(
    join(__dirname, "out", "anchor.json"),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2),
  );
}

void main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
