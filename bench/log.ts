/**
 * npm run bench:log [-- --full] [-- --store-1e7] [-- --only <case prefix, e.g. store>]
 *
 * Each case runs in its own child process so that its peak RSS is its own. Cases:
 *  - rfc9162 (ours, MemoryTree + Node hasher): leaf-hash N values, append incrementally, root,
 *    every inclusion proof; N = 1e5 and 1e6.
 *  - merkletreejs (keccak, sortPairs, hashLeaves): build + every proof, N = 1e5 and 1e6.
 *  - @openzeppelin/merkle-tree StandardMerkleTree (bytes32 leaves): build + every proof, N = 1e5
 *    (and 1e6 with --full: ~15 min).
 *  - store-sqlite: append N leaf hashes in batches of 10k to a SQLite file (leaf hashing timed
 *    apart), then 10k random inclusion proofs at the final size, 10k at random past sizes, 10k
 *    consistency proofs, 10k findLeaf, and 10k inclusion proofs from a second store handle with
 *    the tile cache off; N = 1e6 (and 1e7 with --store-1e7).
 *  - store-postgres: the same at N = 1e6 (when PostgreSQL answers).
 * Prints a table and writes bench/results/log.json.
 */
import { spawnSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";

type Result = Record<string, number | string>;

function values(n: number): Buffer {
  // Deterministic-size random leaf values (32 bytes each): the same set for every contender in a case.
  return randomBytes(32 * n);
}

const ms = (t0: number) => performance.now() - t0;
const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function runCase(name: string, n: number): Promise<Result> {
  const raw = values(n);
  if (name === "rfc9162") {
    const { MemoryTree } = await import("../src/log/tree");
    const { nodeHasher } = await import("../src/log/node-hasher");
    let t = performance.now();
    const leaves: Uint8Array[] = new Array(n);
    for (let i = 0; i < n; i++) leaves[i] = nodeHasher.hashLeaf(raw.subarray(32 * i, 32 * i + 32));
    const leafMs = ms(t);
    t = performance.now();
    const tree = new MemoryTree(nodeHasher);
    for (let i = 0; i < n; i++) tree.append(leaves[i]);
    const appendMs = ms(t);
    t = performance.now();
    tree.root();
    const rootMs = ms(t);
    t = performance.now();
    let hashes = 0;
    for (let i = 0; i < n; i++) hashes += tree.inclusionProof(i).length;
    const proofsMs = ms(t);
    return {
      leafHashMs: leafMs,
      appendMs,
      appendPerSec: Math.round(n / (appendMs / 1000)),
      rootMs,
      proofsMs,
      buildAndProofsMs: leafMs + appendMs + rootMs + proofsMs,
      proofHashes: hashes,
      peakMiB: peakMiB(),
    };
  }
  if (name === "merkletreejs") {
    const { MerkleTree } = await import("merkletreejs");
    const { keccak_256 } = await import("@noble/hashes/sha3");
    const keccak = (d: Buffer) => Buffer.from(keccak_256(d));
    const leaves: Buffer[] = new Array(n);
    for (let i = 0; i < n; i++) leaves[i] = raw.subarray(32 * i, 32 * i + 32);
    let t = performance.now();
    const tree = new MerkleTree(leaves, keccak, { sortPairs: true, hashLeaves: true });
    tree.getRoot();
    const buildMs = ms(t);
    t = performance.now();
    const hashed = tree.getLeaves();
    let hashes = 0;
    for (let i = 0; i < n; i++) hashes += tree.getProof(hashed[i], i).length;
    const proofsMs = ms(t);
    return {
      buildMs,
      proofsMs,
      buildAndProofsMs: buildMs + proofsMs,
      proofHashes: hashes,
      peakMiB: peakMiB(),
    };
  }
  if (name === "oz-standard") {
    const { StandardMerkleTree } = await import("@openzeppelin/merkle-tree");
    const rows: [string][] = new Array(n);
    for (let i = 0; i < n; i++) rows[i] = ["0x" + raw.subarray(32 * i, 32 * i + 32).toString("hex")];
    let t = performance.now();
    const tree = StandardMerkleTree.of(rows, ["bytes32"]);
    tree.root;
    const buildMs = ms(t);
    t = performance.now();
    let hashes = 0;
    for (let i = 0; i < n; i++) hashes += tree.getProof(i).length;
    const proofsMs = ms(t);
    return {
      buildMs,
      proofsMs,
      buildAndProofsMs: buildMs + proofsMs,
      proofHashes: hashes,
      peakMiB: peakMiB(),
    };
  }
  if (name === "store-sqlite" || name === "store-postgres") {
    const { openDatabase, closeDatabase } = await import("../src/db/database");
    const { openLogStore } = await import("../src/log/store");
    const { nodeHasher } = await import("../src/log/node-hasher");
    let url: string;
    let cleanup: () => Promise<void>;
    if (name === "store-sqlite") {
      const dir = mkdtempSync(join(tmpdir(), "custody-bench-log-"));
      url = join(dir, "log.db");
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const { createPgTestDatabase } = await import("../test/support/pg");
      const pg = await createPgTestDatabase("custody_bench");
      url = pg.url;
      cleanup = () => pg.drop();
    }
    const db = openDatabase(url);
    try {
      const store = await openLogStore(db);
      const batch = 10_000;
      // Leaf hashes come from the ledger's events already hashed: hashing is timed apart from the append.
      const leafAt = (i: number) => nodeHasher.hashLeaf(raw.subarray(32 * i, 32 * i + 32));
      let leafHashMs = 0;
      let appendMs = 0;
      let size = 0;
      while (size < n) {
        const k = Math.min(batch, n - size);
        let t = performance.now();
        const hs: Uint8Array[] = new Array(k);
        for (let i = 0; i < k; i++) hs[i] = leafAt(size + i);
        leafHashMs += ms(t);
        t = performance.now();
        size = await store.append(size, hs);
        appendMs += ms(t);
      }
      const Q = 10_000;
      const lat = new Float64Array(Q);
      // Three rounds of Q operations; the round with the median wall time is reported (the machine is
      // shared: CPU time says what the store itself costs).
      const timed = async (op: (q: number) => Promise<unknown>) => {
        const rounds: { total: number; cpu: number; p99: number }[] = [];
        for (let r = 0; r < 3; r++) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          for (let q = 0; q < Q; q++) {
            const t = performance.now();
            await op(q);
            lat[q] = performance.now() - t;
          }
          const total = ms(t0);
          const c = process.cpuUsage(c0);
          const sorted = Float64Array.from(lat).sort();
          rounds.push({ total, cpu: (c.user + c.system) / 1000, p99: sorted[Math.floor(Q * 0.99)] });
        }
        return rounds.sort((a, b) => a.total - b.total)[1];
      };
      const latest = await timed(() => store.inclusionProof(randomInt(n), n));
      const past = await timed(() => {
        const s = 1 + randomInt(n);
        return store.inclusionProof(randomInt(s), s);
      });
      const cons = await timed(() => {
        const s2 = 1 + randomInt(n);
        return store.consistencyProof(1 + randomInt(s2), s2);
      });
      const find = await timed(() => store.findLeaf(leafAt(randomInt(n))));
      // Throughput with 16 requests in flight (what a server sees; matters for PostgreSQL round trips).
      const t16 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next++ < Q) await store.inclusionProof(randomInt(n), n);
        }),
      );
      const inflight16 = { total: ms(t16) };
      // The same inclusion proofs from a store without the tile cache: every tile from the database.
      const uncached = await openLogStore(db, { cacheTiles: 0 });
      const noCache = await timed(() => uncached.inclusionProof(randomInt(n), n));
      // A handle that did not append (a proof server in another process, or after a restart): its
      // leaf tiles loaded at start by range reads (only where the slab has a budget: PostgreSQL).
      const fresh = await openLogStore(db);
      const tw = performance.now();
      const warmed = await fresh.warmLeafTiles();
      const warmMs = ms(tw);
      const freshLatest = await timed(() => fresh.inclusionProof(randomInt(n), n));
      let t = performance.now();
      await store.root(n);
      const rootMs = ms(t);
      const perSec = (x: { total: number }) => Math.round(Q / (x.total / 1000));
      return {
        leafHashMs,
        appendMs,
        appendPerSec: Math.round(n / (appendMs / 1000)),
        rootMs,
        inclusion10kLatestMs: latest.total,
        inclusionLatestPerSec: perSec(latest),
        inclusionLatestP99Ms: latest.p99,
        inclusionLatestCpuMs: latest.cpu,
        inclusion16InFlightPerSec: perSec(inflight16),
        inclusion10kPastSizesMs: past.total,
        inclusionPastPerSec: perSec(past),
        consistency10kMs: cons.total,
        consistencyPerSec: perSec(cons),
        consistencyP99Ms: cons.p99,
        findLeaf10kMs: find.total,
        findLeafPerSec: perSec(find),
        warmLeafTilesMs: warmMs,
        warmLeafTiles: warmed.tiles,
        inclusionFreshWarmedPerSec: perSec(freshLatest),
        inclusionFreshWarmedP99Ms: freshLatest.p99,
        inclusion10kNoCacheMs: noCache.total,
        inclusionNoCachePerSec: perSec(noCache),
        peakMiB: peakMiB(),
      };
    } finally {
      await closeDatabase(db);
      await cleanup();
    }
  }
  throw new Error(`unknown case ${name}`);
}

function child(name: string, n: number): Result | { error: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", __filename, "--case", name, String(n)], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
    env: { ...process.env, NODE_OPTIONS: "--max-old-space-size=16000" },
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    return { error: (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ") };
  }
}

async function pgUp(): Promise<boolean> {
  const { default: pg } = await import("pg");
  const { PG_ADMIN_URL } = await import("../test/support/pg");
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ci = args.indexOf("--case");
  if (ci >= 0) {
    const res = await runCase(args[ci + 1], Number(args[ci + 2]));
    console.log(JSON.stringify(res));
    return;
  }
  const full = args.includes("--full");
  let plan: [string, number][] = [
    ["rfc9162", 100_000],
    ["merkletreejs", 100_000],
    ["oz-standard", 100_000],
    ["rfc9162", 1_000_000],
    ["merkletreejs", 1_000_000],
  ];
  if (full) plan.push(["oz-standard", 1_000_000]);
  plan.push(["store-sqlite", 1_000_000]);
  if (args.includes("--store-1e7")) plan.push(["store-sqlite", 10_000_000]);
  if (await pgUp()) plan.push(["store-postgres", 1_000_000]);
  const only = args.indexOf("--only");
  if (only >= 0) plan = plan.filter(([c]) => c.startsWith(args[only + 1]));

  const rows: { case: string; n: number; result: Result | { error: string } }[] = [];
  for (const [name, n] of plan) {
    process.stderr.write(`running ${name} n=${n} …\n`);
    const result = child(name, n);
    rows.push({ case: name, n, result });
    console.log(`${name.padEnd(15)} n=${String(n).padStart(8)}  ${fmt(result)}`);
  }
  // Side by side: build + every proof, per N.
  console.log("\nbuild + all membership proofs (one core):");
  for (const n of [100_000, 1_000_000]) {
    const get = (c: string) => rows.find((r) => r.case === c && r.n === n)?.result as Result | undefined;
    const ours = get("rfc9162")?.buildAndProofsMs as number | undefined;
    if (!ours) continue;
    const line = [`n=${n}`, `ours ${(ours / 1000).toFixed(2)} s`];
    for (const c of ["merkletreejs", "oz-standard"]) {
      const v = get(c)?.buildAndProofsMs as number | undefined;
      if (v) line.push(`${c} ${(v / 1000).toFixed(2)} s (${(v / ours).toFixed(1)}x)`);
    }
    console.log("  " + line.join("   "));
  }
  // Rows carry their own date; a partial run (--only) replaces only the cases it ran.
  const file = join(__dirname, "results", "log.json");
  const date = new Date().toISOString();
  let kept: { case: string; n: number; date?: string }[] = [];
  if (only >= 0 && existsSync(file)) {
    const prev = JSON.parse(readFileSync(file, "utf8"));
    kept = (prev.rows ?? [])
      .map((r: { date?: string }) => ({ date: prev.date, ...r }))
      .filter((r: { case: string; n: number }) => !rows.some((x) => x.case === r.case && x.n === r.n));
  }
  const out = {
    date,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    rows: [...kept, ...rows.map((r) => ({ ...r, date }))],
  };
  mkdirSync(join(__dirname, "results"), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  console.log(`\nwrote bench/results/log.json`);
}

function fmt(r: Result | { error: string }): string {
  if ("error" in r) return `ERROR ${r.error}`;
  return Object.entries(r)
    .map(([k, v]) => `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(0) : v}`)
    .join(" ");
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
