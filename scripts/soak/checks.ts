import { spawnSync } from "node:child_process";
import type { Address, PublicClient } from "viem";
import { readHead } from "../../src/chain/actions/read-head";
import { readHeadCount } from "../../src/chain/actions/read-head-count";
import type { Database } from "../../src/db/database";
import { all } from "../../src/db/sql";
import { verifyReceipt } from "../../src/verify";
import type { JournalEntry } from "./journal";
import { REPO_ROOT } from "./stack-process";
import type { Workload } from "./workload";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** The first few offending items, for the report. */
  examples?: string[];
}

function result(name: string, problems: string[], detail: string): CheckResult {
  return problems.length === 0
    ? { name, ok: true, detail }
    : {
        name,
        ok: false,
        detail: `${problems.length} problem(s); ${detail}`,
        examples: problems.slice(0, 10),
      };
}

type TransferRow = { id: string; d: string; c: string; amount: string; kind: string; hold_id: string | null };

/** Transfers the journal asked for, by transfer id, with the request they came from. */
function requestedTransfers(entries: Iterable<JournalEntry>) {
  const out = new Map<string, { e: JournalEntry; body: any }>();
  for (const e of entries) {
    if (e.kind === "transfer") out.set(e.id, { e, body: e.body });
    if (e.kind === "batch") for (const t of (e.body as any).transfers) out.set(t.id, { e, body: t });
  }
  return out;
}

/**
 * Acknowledged = present exactly once, with the acknowledged content; a request finally rejected
 * is absent; nothing the soak never sent is in the ledger (escrow releases aside, which the
 * ledger books itself); one transfer event per transfer.
 */
export async function checkLedger(db: Database, w: Workload): Promise<CheckResult> {
  const problems: string[] = [];
  const rows = await all<TransferRow>(
    db,
    "SELECT id, debit_account_id AS d, credit_account_id AS c, CAST(amount AS TEXT) AS amount, kind, hold_id FROM ledger_transfers",
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const asked = requestedTransfers(w.journal.entries.values());
  let acked = 0;
  for (const [id, { e, body }] of asked) {
    const row = byId.get(id);
    if (e.state === "acked") {
      acked++;
      if (!row) problems.push(`acknowledged transfer ${id} is missing`);
      else if (row.d !== body.debitAccountId || row.c !== body.creditAccountId || row.amount !== body.amount)
        problems.push(`transfer ${id} differs from the acknowledged request: ${JSON.stringify(row)}`);
    } else if (e.state === "rejected" && row) {
      problems.push(`transfer ${id} was refused (${e.error}) but is in the ledger`);
    } else if (e.state === "unanswered") problems.push(`transfer ${id} never got an answer`);
  }
  for (const r of rows)
    if (!asked.has(r.id) && !r.hold_id) problems.push(`transfer ${r.id} is in the ledger but was never sent`);
  const [ev] = await all<{ n: unknown; d: unknown }>(
    db,
    "SELECT COUNT(*) AS n, COUNT(DISTINCT subject_id) AS d FROM ledger_events WHERE subject_kind = 2",
  );
  if (Number(ev!.n) !== Number(ev!.d))
    problems.push(`${Number(ev!.n) - Number(ev!.d)} duplicate transfer events`);
  if (Number(ev!.n) !== rows.length)
    problems.push(`${Number(ev!.n)} transfer events for ${rows.length} transfer rows`);

  const holds = new Set(
    (await all<{ id: string }>(db, "SELECT id FROM ledger_holds WHERE kind = 'escrow_hold'")).map(
      (h) => h.id,
    ),
  );
  for (const e of w.journal.entries.values()) {
    if (e.kind !== "escrow") continue;
    if (e.state === "acked" && !holds.has(e.id)) problems.push(`acknowledged escrow ${e.id} is missing`);
    if (e.state === "rejected" && holds.has(e.id)) problems.push(`escrow ${e.id} was refused but is held`);
    if (e.state === "unanswered") problems.push(`escrow ${e.id} never got an answer`);
  }
  const statements = await all<{ statement_id: string; n: unknown }>(
    db,
    "SELECT statement_id, COUNT(*) AS n FROM bank_statements GROUP BY statement_id",
  );
  const stored = new Map(statements.map((s) => [s.statement_id, Number(s.n)]));
  for (const e of w.journal.entries.values()) {
    if (e.kind !== "statement") continue;
    const n = stored.get(e.id) ?? 0;
    if (e.state === "acked" && n !== 1) problems.push(`acknowledged statement ${e.id} stored ${n} times`);
    if (e.state === "rejected" && n !== 0) problems.push(`statement ${e.id} was refused but is stored`);
    if (e.state === "unanswered") problems.push(`statement ${e.id} never got an answer`);
  }
  return result(
    "acknowledged requests present exactly once",
    problems,
    `${acked} acknowledged transfers, ${rows.length} transfer rows, ${holds.size} escrow holds, ${stored.size} statements`,
  );
}

/**
 * The chain's heads form a gap-free sequence of growing tree sizes, equal one to one to the
 * relayer's anchor records, and the last one covers the whole log.
 */
export async function checkAnchors(
  pc: PublicClient,
  anchor: Address,
  apiUrl: string,
  logSize: number,
): Promise<CheckResult> {
  const problems: string[] = [];
  const count = await readHeadCount(pc, anchor);
  const records = new Map<number, { treeSize: number; rootHash: string }>();
  for (let before: number | undefined; ;) {
    const q = before === undefined ? "" : `&beforeHeadIndex=${before}`;
    const page = (await (await fetch(`${apiUrl}/v1/log/anchors?limit=1000${q}`)).json()) as any;
    for (const a of page.anchors) records.set(a.headIndex, a);
    if (page.anchors.length < 1000) break;
    before = page.anchors[page.anchors.length - 1].headIndex;
  }
  let prev = 0;
  for (let i = 0; i < count; i++) {
    const h = await readHead(pc, anchor, i);
    if (h.treeSize <= prev) problems.push(`head ${i} has size ${h.treeSize}, not above ${prev}`);
    prev = h.treeSize;
    const r = records.get(i);
    if (!r) problems.push(`head ${i} on chain has no anchor record`);
    else if (r.treeSize !== h.treeSize || r.rootHash.toLowerCase() !== h.rootHash)
      problems.push(
        `head ${i} differs from its record: chain ${h.treeSize}/${h.rootHash}, record ${r.treeSize}/${r.rootHash}`,
      );
  }
  for (const i of records.keys()) if (i >= count) problems.push(`anchor record ${i} is not on chain`);
  if (prev !== logSize) problems.push(`the last head covers ${prev} entries, the log holds ${logSize}`);
  return result("no duplicate or missing anchors", problems, `${count} heads on chain, log size ${logSize}`);
}

/**
 * Every saved receipt verifies against the chain now. The one exception is the local chain's known
 * limit (docs/reliability.md, "The local chain loses blocks"): a receipt saved shortly *before* a
 * fault that can lose blocks (`lossFaultsAt`, ms) may name a head the chain then lost; it passes only if the
 * chain no longer holds its head as named and a fresh receipt of the same transfer verifies.
 */
export async function checkReceipts(
  w: Workload,
  rpcUrl: string,
  anchor: Address,
  lossFaultsAt: readonly number[],
): Promise<CheckResult> {
  const problems: string[] = [];
  let replaced = 0;
  for (const r of w.receipts) {
    const v = await verifyReceipt(r.receipt, { rpcUrl, expectedContract: anchor });
    if (v.ok) continue;
    const what = `receipt of ${r.transferId} (saved ${r.savedAt}): ${v.reason}`;
    const saved = Date.parse(r.savedAt);
    if (
      // Within 30 s: a kill loses the blocks since the last state dump (1 s) or copy (5 s).
      !lossFaultsAt.some((t) => t >= saved && t - saved <= 30_000) ||
      !/on chain differs|was never anchored/.test(String(v.reason ?? ""))
    ) {
      problems.push(what);
      continue;
    }
    const fresh = await w.receiptOf(r.transferId).catch(() => undefined);
    const again =
      fresh === undefined ? undefined : await verifyReceipt(fresh, { rpcUrl, expectedContract: anchor });
    if (again?.ok) replaced++;
    else
      problems.push(
        `${what}; saved before a chain fault, and a fresh receipt ${again ? `fails too: ${again.reason}` : "is not given"}`,
      );
  }
  return result(
    "every saved receipt still verifies",
    problems,
    `${w.receipts.length - replaced} receipts verified; ${replaced} named a head a later chain fault lost, and a fresh receipt of each verifies`,
  );
}

/** Every escrow the chain decided is applied in the ledger the same way (released = posted, refunded = voided). */
export async function checkEscrows(w: Workload): Promise<CheckResult & { undecided: number }> {
  const problems: string[] = [];
  let decided = 0;
  let undecided = 0;
  for (const e of w.journal.of("acked", "escrow")) {
    const res = await fetch(`${w.t.apiUrl}/v1/escrows/${e.id}`, {
      headers: { authorization: `Bearer ${w.t.keys.platform}` },
    });
    const x = (await res.json()) as any;
    const want =
      x?.chain?.state === "Released" ? "posted" : x?.chain?.state === "Refunded" ? "voided" : undefined;
    if (x?.chain?.error) problems.push(`escrow ${e.id}: chain unreadable: ${x.chain.error}`);
    if (!want) {
      undecided++;
      if (x?.status !== "pending")
        problems.push(`escrow ${e.id} is ${x?.status} in the ledger but ${x?.chain?.state} on chain`);
      continue;
    }
    decided++;
    if (x.status !== want)
      problems.push(`escrow ${e.id} is ${x.chain.state} on chain but ${x.status} in the ledger`);
  }
  return {
    ...result(
      "every escrow decided on chain is applied in the ledger",
      problems,
      `${decided} decided, ${undecided} open`,
    ),
    undecided,
  };
}

/** Runs `custody audit` (the CLI) against the database and the chain. */
export function checkAudit(o: {
  rpcUrl: string;
  dbUrl: string;
  deployment: string;
  out: string;
  env: NodeJS.ProcessEnv;
}): CheckResult {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "audit",
      "--rpc",
      o.rpcUrl,
      "--db",
      o.dbUrl,
      "--deployment",
      o.deployment,
      "--out",
      o.out,
    ],
    { cwd: REPO_ROOT, env: o.env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const tail = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-8);
  return {
    name: "custody audit passes",
    ok: r.status === 0,
    detail: `exit code ${r.status}; report ${o.out}`,
    examples: r.status === 0 ? undefined : tail,
  };
}
