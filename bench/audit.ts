/**
 * npm run bench:audit [-- --events 1000000] [-- --head-every 1000] [-- --cli]
 *
 * Builds a SQLite ledger of N events (default 10^6: 1,001 accounts opened, then deposits and
 * customer-to-customer transfers, written with the ledger's own leaf writer, transfer rows and
 * stored balances consistent), anchors a head every `--head-every` events on a fresh anvil chain, then times the
 * full audit (`runAudit`: read every event, leaf hash, tree rebuild, leaf decoding, replay with
 * every invariant, every head's root and consistency, every derived row: accounts, balances,
 * transfers). With `--cli` it also times
 * `custody audit` end to end as a child process. Prints a table and writes bench/results/audit.json.
 */
import { spawn } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { bytesToHex, type Hex } from "viem";
import { chainReader, databaseEventSource, runAudit } from "../src/audit";
import { startDevChain } from "../src/chain/dev";
import { custodyAnchorAbi } from "../src/chain/generated/abi";
import { closeDatabase, openDatabase } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { ZERO32 } from "../src/protocol/leaf-v1";
import { detailsHash } from "../src/ledger/canonical";
import { accountDetails } from "../src/ledger/engine";
import { prepareLeaf, sealLeaf } from "../src/ledger/leaf-writer";
import { ledgerMigrations } from "../src/ledger/migrations";
import { ACCOUNT_TYPES, TRANSFER_KINDS } from "../src/ledger/types";
import { nodeHasher } from "../src/log/node-hasher";
import { MemoryTree } from "../src/log/tree";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const N = arg("events", 1_000_000);
const HEAD_EVERY = arg("head-every", 1000);
const CUSTOMERS = 1000;
// Every account is opened with scale 2, no limits, no metadata.
const ACCOUNT_TERMS_HASH = detailsHash(accountDetails({ scale: 2, metadata: null }));
const KIND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(TRANSFER_KINDS).map(([k, v]) => [v, k]),
);

interface Acct {
  id: string;
  pseudonym: Hex;
  type: keyof typeof ACCOUNT_TYPES;
  dp: bigint;
  cp: bigint;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "custody-bench-audit-"));
  const file = join(dir, "ledger.db");
  const db = openDatabase(file);
  await migrate(db, ledgerMigrations);
  if (db.kind !== "sqlite") throw new Error("unreachable");
  const s = db.sqlite;

  let t = performance.now();
  const accounts: Acct[] = [];
  const mk = (id: string, type: Acct["type"]): Acct => ({
    id,
    pseudonym: bytesToHex(randomBytes(32)),
    type,
    dp: 0n,
    cp: 0n,
  });
  const bank = mk("bank", "bank_mirror");
  accounts.push(bank);
  for (let i = 0; i < CUSTOMERS; i++) accounts.push(mk(`c${i}`, "customer"));
  const ins = s.prepare(
    "INSERT INTO ledger_events (sequence, subject_kind, subject_id, debit_account_id, credit_account_id, created_at, leaf, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const insTransfer = s.prepare(
    "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, kind, sequence, created_at) VALUES (?, ?, ?, 'EUR', ?, ?, ?, ?)",
  );
  const now = Date.now();
  let seq = 0;
  const leafHashes: Uint8Array[] = new Array(N);
  const write = (
    type: "ACCOUNT_OPENED" | "TRANSFER_POSTED",
    f: { entryId: Hex; debit?: Acct; credit?: Acct; amount?: bigint; code: number },
    subject: string,
  ) => {
    const p = prepareLeaf({
      eventType: type,
      timestamp: now,
      salt: bytesToHex(randomBytes(32)),
      entryId: f.entryId,
      debitAccount: f.debit?.pseudonym ?? ZERO32,
      creditAccount: f.credit?.pseudonym ?? ZERO32,
      asset: "EUR",
      amount: f.amount ?? 0n,
      code: f.code,
      reference: ZERO32,
      metadataHash: type === "ACCOUNT_OPENED" ? ACCOUNT_TERMS_HASH : ZERO32,
    });
    const { leafBytes, leafHash } = sealLeaf(p, seq);
    leafHashes[seq] = leafHash;
    ins.run(
      seq,
      type === "ACCOUNT_OPENED" ? 1 : 2,
      subject,
      f.debit?.id ?? null,
      f.credit?.id ?? null,
      now,
      leafBytes,
      leafHash,
    );
    // The derived row the ledger keeps for a transfer (compared with its event by the audit).
    if (type === "TRANSFER_POSTED")
      insTransfer.run(subject, f.debit!.id, f.credit!.id, f.amount!.toString(), KIND_NAMES[f.code], seq, now);
    seq++;
  };
  s.transaction(() => {
    for (const a of accounts)
      write("ACCOUNT_OPENED", { entryId: a.pseudonym, code: ACCOUNT_TYPES[a.type] }, a.id);
    for (let i = 1; i <= CUSTOMERS && seq < N; i++) {
      const c = accounts[i]!;
      const amount = 1_000_000_000n;
      bank.dp += amount;
      c.cp += amount;
      write(
        "TRANSFER_POSTED",
        {
          entryId: bytesToHex(randomBytes(32)),
          debit: bank,
          credit: c,
          amount,
          code: TRANSFER_KINDS.deposit,
        },
        `d${i}`,
      );
    }
    while (seq < N) {
      const d = accounts[1 + randomInt(CUSTOMERS)]!;
      let c = accounts[1 + randomInt(CUSTOMERS)]!;
      if (c === d) c = accounts[1 + ((accounts.indexOf(d) + 0) % CUSTOMERS)]!;
      const amount = BigInt(1 + randomInt(100));
      d.dp += amount;
      c.cp += amount;
      write(
        "TRANSFER_POSTED",
        { entryId: bytesToHex(randomBytes(32)), debit: d, credit: c, amount, code: TRANSFER_KINDS.transfer },
        `t${seq}`,
      );
    }
    const acc = s.prepare(
      "INSERT INTO ledger_account_terms (id, pseudonym, type, asset, scale, status, created_at, sequence) VALUES (?, ?, ?, 'EUR', 2, 'active', ?, ?)",
    );
    const bal = s.prepare(
      "INSERT INTO ledger_balances (account_key, debits_posted, credits_posted, debits_pending, credits_pending) VALUES (?, ?, ?, 0, 0)",
    );
    accounts.forEach((a, i) =>
      bal.run(acc.run(a.id, a.pseudonym, a.type, now, i).lastInsertRowid, a.dp.toString(), a.cp.toString()),
    );
  })();
  s.pragma("wal_checkpoint(TRUNCATE)");
  const genMs = performance.now() - t;

  t = performance.now();
  const chain = await startDevChain();
  const { node, deployment } = chain;
  const clients = chain.clientsOf(chain.accounts.relayer);
  const tree = new MemoryTree(nodeHasher);
  let prev = 0;
  let heads = 0;
  let lastHash: Hex | undefined;
  for (let size = Math.min(HEAD_EVERY, N); ; size = Math.min(size + HEAD_EVERY, N)) {
    while (tree.size < size) tree.append(leafHashes[tree.size]!);
    const proof = prev === 0 ? [] : tree.consistencyProof(prev, size).map((h) => bytesToHex(h));
    lastHash = await clients.walletClient.writeContract({
      address: deployment.custodyAnchor,
      abi: custodyAnchorAbi,
      functionName: "anchor",
      args: [BigInt(size), bytesToHex(tree.root(size)), proof, ZERO32],
      gas: 1_000_000n,
    });
    heads++;
    prev = size;
    if (size === N) break;
  }
  await clients.publicClient.waitForTransactionReceipt({ hash: lastHash! });
  const anchorMs = performance.now() - t;
  leafHashes.length = 0;
  await closeDatabase(db);

  // The audit itself, in-process (same code path as the CLI).
  const auditDb = openDatabase(file);
  const rss0 = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  t = performance.now();
  let derivedAt: number | undefined;
  const report = await runAudit({
    events: databaseEventSource(auditDb),
    onProgress: (p) => {
      if (p.phase === "derived" && p.done === 0) derivedAt = performance.now();
    },
    chain: await chainReader({
      rpcUrl: node.rpcUrl,
      custodyAnchor: deployment.custodyAnchor,
      custodyEscrow: deployment.custodyEscrow,
    }),
  });
  const auditMs = performance.now() - t;
  const derivedMs = derivedAt === undefined ? 0 : t + auditMs - derivedAt;
  const cpu = process.cpuUsage(cpu0);
  await closeDatabase(auditDb);
  if (!report.passed || report.heads.verified !== heads)
    throw new Error(`benchmark ledger did not pass: ${JSON.stringify(report.findings.slice(0, 3))}`);

  let cliMs: number | undefined;
  if (process.argv.includes("--cli")) {
    t = performance.now();
    // Async: anvil logs through a pipe to this process, which must keep reading it.
    const r = await new Promise<{ status: number | null; stderr: string }>((done, fail) => {
      const child = spawn(
        process.execPath,
        [
          resolve(__dirname, "../bin/custody"),
          "audit",
          "--rpc",
          node.rpcUrl,
          "--db",
          file,
          "--contract",
          deployment.custodyAnchor,
          "--escrow",
          deployment.custodyEscrow,
          "--out",
          join(dir, "report.json"),
          "--no-progress",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", fail);
      child.on("exit", (status) => done({ status, stderr }));
    });
    cliMs = performance.now() - t;
    if (r.status !== 0) throw new Error(`custody audit exited ${r.status}: ${r.stderr}`);
  }
  await node.stop();
  rmSync(dir, { recursive: true, force: true });

  const result = {
    date: new Date().toISOString(),
    machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    events: N,
    heads,
    generateSeconds: +(genMs / 1000).toFixed(1),
    anchorSeconds: +(anchorMs / 1000).toFixed(1),
    auditSeconds: +(auditMs / 1000).toFixed(2),
    // Of which: comparing every derived row (accounts, transfers) with the replay.
    derivedRowsSeconds: +(derivedMs / 1000).toFixed(2),
    eventsPerSecond: Math.round(N / (auditMs / 1000)),
    auditCpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    loadAverage: +loadavg()[0]!.toFixed(1),
    auditRssGrowthMiB: Math.round((process.memoryUsage().rss - rss0) / 2 ** 20),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(cliMs !== undefined ? { cliSeconds: +(cliMs / 1000).toFixed(2) } : {}),
  };
  console.table(result);
  mkdirSync(resolve(__dirname, "results"), { recursive: true });
  writeFileSync(resolve(__dirname, "results/audit.json"), JSON.stringify(result, null, 2) + "\n");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
