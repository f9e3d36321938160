import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import pg from "pg";
import type { Address } from "viem";
import { createChainClients } from "../../src/chain/clients";
import { readDeployment } from "../../src/chain/deployment";
import { closeDatabase, openDatabase } from "../../src/db/database";
import {
  checkAnchors,
  checkAudit,
  checkEscrows,
  checkLedger,
  checkReceipts,
  type CheckResult,
} from "./checks";
import { FAULT_HELP, FAULT_KINDS, injectFault, type FaultKind } from "./faults";
import { REPO_ROOT, StackProcess, freePort, sleep } from "./stack-process";
import { Workload, rng } from "./workload";

/**
 * `npm run soak`: the stack under a mixed workload and injected faults, then checks that nothing
 * acknowledged was lost or applied twice, the anchors are gap-free, receipts verify, the audit
 * passes and every escrow decided on chain is applied. See docs/reliability.md.
 */
interface Options {
  minutes?: number;
  seconds?: number;
  backend: "sqlite" | "postgres";
  seed: number;
  dir?: string;
  summary?: string;
  faults: FaultKind[];
  faultInterval: number;
  workers: number;
  minFaults: number;
  pgUrl: string;
  cleanup?: boolean;
}

interface FaultRecord {
  kind: FaultKind;
  atSeconds: number;
  /** When it was injected (ms since the epoch). */
  at: number;
  recovered: boolean;
  recoveryMs?: number;
  note?: string;
  error?: string;
}

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number");
  return n;
};

function parseArgs(argv: string[]): Options {
  const p = new Command("soak")
    .description(
      "Runs the stack (src/stack/main.ts, as `npm start`) as child processes under a mixed workload over HTTP " +
        "(transfers, batches, escrows, camt.053 statements), injects faults at seeded random moments, resends " +
        "every unanswered request with its id after each, and checks at the end: acknowledged = present exactly " +
        "once, no duplicate or missing anchor, saved receipts verify, `custody audit` passes, escrows decided on " +
        "chain are applied. Exit code 1 if any check fails.",
    )
    .option("--minutes <n>", "how long the workload and the faults run", positive)
    .option(
      "--seconds <n>",
      "the same in seconds, for short runs (default 60 when neither is given)",
      positive,
    )
    .addOption(
      new Option("--backend <kind>", "ledger database").choices(["sqlite", "postgres"]).default("sqlite"),
    )
    .option(
      "--seed <n>",
      "seed of the workload's choices and of the fault schedule",
      (v) => Number(v),
      Date.now() % 1_000_000,
    )
    .option(
      "--faults <list>",
      `comma-separated fault kinds (default all that apply): ${FAULT_KINDS.join(", ")}`,
    )
    .option("--fault-interval <s>", "mean seconds between faults", positive, 15)
    .option("--workers <n>", "concurrent request loops", positive, 3)
    .option(
      "--min-faults <n>",
      "keep going past the duration until this many faults were injected (default 0)",
      (v) => Number(v),
      0,
    )
    .option("--dir <folder>", "run folder: data folder, stack log, audit report (default: a new temp folder)")
    .option("--summary <file>", "JSON summary (default <run folder>/soak-summary.json)")
    .option(
      "--pg-url <url>",
      "PostgreSQL server to create the run's database on",
      process.env.CUSTODY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    )
    .option("--cleanup", "remove the run folder's data at the end (keeps the summary and the stack log)")
    .addHelpText(
      "after",
      "\nFaults:\n" +
        FAULT_KINDS.map((k) => `  ${k.padEnd(12)} ${FAULT_HELP[k]}`).join("\n") +
        "\n\nExample: npm run soak -- --minutes 30 --backend postgres --seed 7",
    )
    .allowExcessArguments(false);
  p.parse(argv);
  const o = p.opts();
  const applicable = FAULT_KINDS.filter((k) => k !== "drop-pg" || o.backend === "postgres");
  const faults = o.faults
    ? (String(o.faults)
        .split(",")
        .map((s) => s.trim()) as FaultKind[])
    : applicable;
  for (const f of faults) if (!applicable.includes(f)) p.error(`unknown or inapplicable fault kind ${f}`);
  if (!Number.isSafeInteger(o.seed)) p.error("--seed must be an integer");
  if (!Number.isSafeInteger(o.minFaults) || o.minFaults < 0)
    p.error("--min-faults must be a non-negative integer");
  return { ...o, faults, seed: o.seed, workers: Math.floor(o.workers) } as Options;
}

function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function percentile(xs: number[], q: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}

async function logHead(apiUrl: string): Promise<{ treeSize: number; anchored: number } | undefined> {
  try {
    const h = (await (
      await fetch(`${apiUrl}/v1/log/head`, { signal: AbortSignal.timeout(5000) })
    ).json()) as any;
    return { treeSize: h.treeSize, anchored: h.latestAnchor?.treeSize ?? 0 };
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv);
  const seconds = o.seconds ?? (o.minutes ? o.minutes * 60 : 60);
  const random = rng(o.seed);
  const dir = path.resolve(o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), `custody-soak-${o.backend}-`)));
  fs.mkdirSync(dir, { recursive: true });
  const dataDir = path.join(dir, "data");
  const summaryFile = path.resolve(o.summary ?? path.join(dir, "soak-summary.json"));
  const say = (line: string) =>
    process.stdout.write(`soak ${new Date().toISOString().slice(11, 19)} ${line}\n`);
  say(`backend ${o.backend}, ${seconds} s, seed ${o.seed}, faults ${o.faults.join(",")}; run folder ${dir}`);

  let pgDatabase: string | undefined;
  let dbUrl = path.join(dataDir, "ledger.sqlite");
  if (o.backend === "postgres") {
    pgDatabase = `custody_soak_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: o.pgUrl, connectionTimeoutMillis: 5000 });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${pgDatabase}`);
    await admin.end();
    const u = new URL(o.pgUrl);
    u.pathname = `/${pgDatabase}`;
    dbUrl = u.toString();
  }
  const env = {
    ...process.env,
    CUSTODY_PSEUDONYM_KEY: randomBytes(32).toString("hex"),
    CUSTODY_DATA_DIR: dataDir,
  };
  const stack = new StackProcess({
    dataDir,
    dbUrl: o.backend === "postgres" ? dbUrl : "",
    apiPort: await freePort(),
    chainPort: await freePort(),
    logFile: path.join(dir, "stack.log"),
    env,
  });
  let up = false;
  const faults: FaultRecord[] = [];
  const checks: CheckResult[] = [];
  let workload: Workload | undefined;
  const t0 = Date.now();
  try {
    await stack.start();
    up = true;
    say(`stack up at ${stack.apiUrl} (chain ${stack.rpcUrl})`);
    const deploymentFile = path.join(dataDir, "deployment.json");
    const deployment = readDeployment(deploymentFile);
    const apiKeys = JSON.parse(fs.readFileSync(path.join(dataDir, "api-keys.json"), "utf8"));
    const created = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "keys",
        "create",
        "--role",
        "custodian",
        "--db",
        dbUrl,
        "--json",
      ],
      { cwd: REPO_ROOT, env, encoding: "utf8" },
    );
    if (created.status !== 0) throw new Error(`cannot create a custodian key: ${created.stderr}`);
    const custodian = JSON.parse(created.stdout).key as string;
    const anchor = deployment.custodyAnchor as Address;
    workload = new Workload(
      {
        apiUrl: stack.apiUrl,
        rpcUrl: stack.rpcUrl,
        chainId: deployment.chainId,
        escrow: deployment.custodyEscrow as Address,
        keys: { platform: apiKeys.platform, custodian },
        up: () => up,
      },
      random,
    );
    const w = workload;
    await w.setup();
    say("accounts opened and funded; workload and faults start");
    const start = Date.now();
    const end = start + seconds * 1000;
    w.start({ workers: o.workers, pauseMs: 20, maxReceipts: 200 });

    // Faults in a seeded order that cycles through every kind before repeating one.
    let cycle: FaultKind[] = [];
    // The stack died by itself (recorded as a crash, a failed check): restart it, as a supervisor would.
    const ensureRunning = async () => {
      if (stack.running) return;
      say("  the stack exited by itself; restarting it");
      up = false;
      await stack.stop();
      await stack.start();
      up = true;
    };
    const more = () => Date.now() < end || faults.length < o.minFaults;
    while (more()) {
      const wait = o.faultInterval * 1000 * (0.5 + random());
      await sleep(Math.max(0, faults.length < o.minFaults ? wait : Math.min(wait, end - Date.now())));
      if (!more()) break;
      await ensureRunning();
      if (cycle.length === 0) cycle = shuffle([...o.faults], random);
      const kind = cycle.shift()!;
      const rec: FaultRecord = {
        kind,
        atSeconds: Math.round((Date.now() - start) / 1000),
        at: Date.now(),
        recovered: false,
      };
      faults.push(rec);
      say(`fault ${faults.length}: ${kind}`);
      try {
        const r = await injectFault(kind, {
          stack,
          setUp: (v) => (up = v),
          anchor,
          chainId: deployment.chainId,
          pgAdminUrl: o.pgUrl,
          pgDatabase,
          random,
        });
        rec.note = r.note;
        // Recovered: the API answers, the unanswered requests are answered, and an anchor on chain covers
        // every entry acknowledged before the fault ended.
        const over = r.since;
        up = true;
        await w.resendUnanswered(120);
        const target = w.maxAckedSequence + 1;
        for (let i = 0; Date.now() - over < 180_000; i++) {
          await ensureRunning();
          const h = await logHead(stack.apiUrl);
          if (h && h.anchored >= target && w.journal.toResend().length === 0) {
            rec.recovered = true;
            rec.recoveryMs = Date.now() - over;
            break;
          }
          if (i % 8 === 7) await w.resendUnanswered(1);
          await sleep(250);
        }
        say(
          `  ${rec.recovered ? `recovered in ${rec.recoveryMs} ms` : "NOT recovered within 180 s"}${rec.note ? ` (${rec.note})` : ""}`,
        );
      } catch (e) {
        rec.error = String((e as Error)?.message ?? e);
        say(`  fault failed: ${rec.error}`);
        if (!(await stack.healthy())) {
          await stack.stop().catch(() => undefined);
          await stack.start();
          up = true;
        }
      }
    }
    await w.stop();
    await ensureRunning();
    say("workload stopped; resending what is unanswered and waiting for the stack to settle");
    await w.resendUnanswered(120);

    // Escrows: decide the rest (refunds wait for expiry), then the relayer applies them.
    const { publicClient } = createChainClients({ rpcUrl: stack.rpcUrl, chainId: deployment.chainId });
    // An approval mined in blocks a chain fault lost is gone: like a real approver, each lane looks
    // at the chain again once and approves again what it finds open (the relayer re-sends refunds).
    w.decided.clear();
    let escrows = await checkEscrows(w);
    for (
      const until = Date.now() + 150_000;
      Date.now() < until && !(escrows.ok && escrows.undecided === 0);
    ) {
      await w.decideDue(true);
      await sleep(2000);
      escrows = await checkEscrows(w);
    }
    // Anchoring catches up with the whole log (posted and voided holds add entries).
    let size = -1;
    for (const until = Date.now() + 180_000; Date.now() < until;) {
      const h = await logHead(stack.apiUrl);
      if (h && h.anchored === h.treeSize && h.treeSize === size) break;
      size = h?.treeSize ?? -1;
      await sleep(1500);
    }
    say("checking");
    const db = openDatabase(dbUrl);
    try {
      checks.push(await checkLedger(db, w));
    } finally {
      await closeDatabase(db);
    }
    checks.push(await checkAnchors(publicClient, anchor, stack.apiUrl, size));
    // Kills of the chain node (kill-stack, kill-chain) and the reclaim of an orphaned one (kill-node)
    // restart it from its last state dump.
    const lossFaultsAt = faults.filter((f) => f.kind.startsWith("kill-")).map((f) => f.at);
    checks.push(await checkReceipts(w, stack.rpcUrl, anchor, lossFaultsAt));
    checks.push(escrows);
    checks.push(
      checkAudit({
        rpcUrl: stack.rpcUrl,
        dbUrl,
        deployment: deploymentFile,
        out: path.join(dir, "audit-report.json"),
        env,
      }),
    );
    checks.push({
      name: "the stack never exited by itself",
      ok: stack.crashes.length === 0,
      detail: `${stack.crashes.length} crash(es); see ${path.join(dir, "stack.log")}`,
      examples: stack.crashes.map((c) => `${c.at}: exit code ${c.code}, signal ${c.signal}`),
    });
    const failedFaults = faults.filter((f) => !f.recovered);
    checks.push({
      name: "the stack recovered from every fault",
      ok: failedFaults.length === 0,
      detail: `${faults.length - failedFaults.length} of ${faults.length}`,
      examples: failedFaults.length
        ? failedFaults.map((f) => `${f.kind} at ${f.atSeconds} s: ${f.error ?? "not recovered"}`)
        : undefined,
    });
  } catch (e) {
    checks.push({ name: "the soak ran to the end", ok: false, detail: String((e as Error)?.stack ?? e) });
  } finally {
    up = false;
    await workload?.stop();
    await stack.stop().catch(() => undefined);
    if (pgDatabase) {
      const admin = new pg.Client({ connectionString: o.pgUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${pgDatabase} WITH (FORCE)`);
      await admin.end();
    }
  }

  const recovery = (xs: FaultRecord[]) => {
    const ms = xs.filter((f) => f.recovered).map((f) => f.recoveryMs!);
    return {
      injected: xs.length,
      survived: ms.length,
      p50Ms: percentile(ms, 0.5),
      maxMs: ms.length ? Math.max(...ms) : undefined,
    };
  };
  const byKind = Object.fromEntries(o.faults.map((k) => [k, recovery(faults.filter((f) => f.kind === k))]));
  const summary = {
    format: "custody-soak-summary-v1",
    ok: checks.length > 0 && checks.every((c) => c.ok),
    backend: o.backend,
    seed: o.seed,
    seconds,
    startedAt: new Date(t0).toISOString(),
    wallSeconds: Math.round((Date.now() - t0) / 1000),
    machine: { cpus: os.cpus().length, platform: `${os.platform()} ${os.release()}`, node: process.version },
    requests: workload?.journal.counts(),
    receiptsSaved: workload?.receipts.length ?? 0,
    faults: { all: recovery(faults), byKind, list: faults },
    checks,
  };
  fs.mkdirSync(path.dirname(summaryFile), { recursive: true });
  fs.writeFileSync(summaryFile, JSON.stringify(summary, null, 2) + "\n");
  if (o.cleanup) fs.rmSync(dataDir, { recursive: true, force: true });

  const r = summary.requests;
  say(
    `requests ${r?.requests ?? 0} (${JSON.stringify(r?.byKind ?? {})}), attempts ${r?.attempts ?? 0}, resends ${r?.resends ?? 0}, acknowledged ${r?.acked ?? 0}, refused ${r?.rejected ?? 0}, unanswered ${r?.unanswered ?? 0}, 5xx ${r?.serverErrors ?? 0}, no answer ${r?.noAnswer ?? 0}`,
  );
  for (const [k, v] of Object.entries(byKind))
    say(
      `fault ${k.padEnd(12)} injected ${v.injected}, survived ${v.survived}, recovery p50 ${v.p50Ms ?? "-"} ms, max ${v.maxMs ?? "-"} ms`,
    );
  for (const c of checks) {
    say(`${c.ok ? "PASS" : "FAIL"} ${c.name}: ${c.detail}`);
    for (const x of c.examples ?? []) say(`       ${x}`);
  }
  say(`${summary.ok ? "all checks passed" : "CHECKS FAILED"}; summary ${summaryFile}`);
  return summary.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`soak: ${String((e as Error)?.stack ?? e)}\n`);
    process.exit(2);
  },
);
