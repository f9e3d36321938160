import { expect } from "chai";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { bytesToHex } from "viem";
import { startDevChain } from "../../src/chain/dev";
import { auditReportHash, type AuditReport } from "../../src/audit";
import { custodyAnchorAbi } from "../../src/chain/generated/abi";
import { EXIT_INVALID, EXIT_USAGE, EXIT_VALID } from "../../src/cli/context";
import { runCli } from "../../src/cli/main";
import { defaultAuditReportPath } from "../../src/cli/audit";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { openLedger } from "../../src/ledger";
import { type AuditChain, FEES, KEY, anchorHeads, auditArgs, populateLedger, tempDir } from "./support";

const ROOT = path.resolve(__dirname, "../..");

/** Opens a copy of the database as an insider would: raw SQL, append-only triggers dropped. */
function tamper(file: string, f: (s: BetterSqlite3.Database) => void): void {
  const s = new BetterSqlite3(file);
  try {
    s.exec("DROP TRIGGER ledger_events_no_update; DROP TRIGGER ledger_events_no_delete;");
    f(s);
  } finally {
    s.close();
  }
}

function leafOf(s: BetterSqlite3.Database, seq: number): Buffer {
  return s.prepare("SELECT leaf FROM ledger_events WHERE sequence = ?").pluck().get(seq) as Buffer;
}

function leafHash(leaf: Buffer): Buffer {
  return createHash("sha256")
    .update(Buffer.concat([Buffer.from([0]), leaf]))
    .digest();
}

/** Rewrites event `seq` with `edit` applied to its leaf, and re-hashes it (a careful insider). */
function rewriteEvent(
  s: BetterSqlite3.Database,
  seq: number,
  edit: (leaf: Buffer) => void,
  rehash = true,
): void {
  const leaf = Buffer.from(leafOf(s, seq));
  edit(leaf);
  if (rehash)
    s.prepare("UPDATE ledger_events SET leaf = ?, leaf_hash = ? WHERE sequence = ?").run(
      leaf,
      leafHash(leaf),
      seq,
    );
  else s.prepare("UPDATE ledger_events SET leaf = ? WHERE sequence = ?").run(leaf, seq);
}

describe("custody audit (SQLite ledger, anvil chain)", function () {
  this.timeout(180_000);
  let chain: AuditChain;
  let dir: string;
  let pristine: string;
  let events: number;
  // Heads anchored at these sizes: head 0 = 6, head 1 = 12, head 2 = 18, head 3 = all events.
  let sizes: number[];
  let copies = 0;

  before(async () => {
    chain = await startDevChain();
    dir = tempDir();
    pristine = path.join(dir, "ledger.db");
    const db = openDatabase(pristine);
    const ledger = await openLedger(db, { pseudonymKey: KEY, feeSchedule: FEES });
    await populateLedger(ledger, chain);
    events = await ledger.eventCount();
    sizes = [6, 12, 18, events];
    await anchorHeads(ledger, db, chain, sizes);
    await ledger.close();
    if (db.kind === "sqlite") db.sqlite.pragma("wal_checkpoint(TRUNCATE)");
    await closeDatabase(db);
  });

  after(async () => {
    await chain?.node.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function copy(): string {
    const file = path.join(dir, `copy-${copies++}.db`);
    fs.copyFileSync(pristine, file);
    return file;
  }

  const baseArgs = (db: string, out: string) => auditArgs(chain, db, out);

  async function audit(db: string, extra: string[] = []) {
    const out = path.join(dir, `report-${copies++}.json`);
    const lines: string[] = [];
    const errs: string[] = [];
    const code = await runCli([...baseArgs(db, out), ...extra], {
      out: (s) => lines.push(s),
      err: (s) => errs.push(s),
    });
    const report = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, "utf8")) as AuditReport) : undefined;
    return { code, report: report!, stdout: lines.join("\n"), stderr: errs.join("\n") };
  }

  it("passes on the untouched ledger: every head, escrow and invariant checks out", async () => {
    const r = await audit(copy());
    expect(r.stderr).to.equal("");
    expect(r.code).to.equal(EXIT_VALID);
    const rep = r.report;
    expect(rep.format).to.equal("custody-audit-report-v1");
    expect(rep.passed).to.equal(true);
    expect(rep.findings).to.deep.equal([]);
    expect(rep.firstBadIndex).to.equal(null);
    expect(rep.log.events).to.equal(events);
    expect(rep.heads).to.include({ count: 4, verified: 4, consistentPairs: 3 });
    expect(rep.log.anchoredSize).to.equal(events);
    expect(rep.escrows).to.deep.equal({ holds: 3, released: 1, refunded: 1, open: 1 });
    expect(rep.ledger.assets).to.have.length(1);
    expect(rep.ledger.assets[0]).to.include({ asset: "EUR", covered: true, bankMirrorBalance: "15000" });
    expect(rep.checks.every((c) => c.ok)).to.equal(true);
    expect(r.stdout).to.match(/^PASSED {2}custody audit of \d+ events/);
    expect(r.stdout).to.contain(`report hash ${auditReportHash(rep)}`);
  });

  it("an event changed and re-hashed after anchoring: names the event and the head that covers it", async () => {
    const db = copy();
    // Event 10 is transfer t1 (alice → bob 1500); make it 15000.
    tamper(db, (s) => rewriteEvent(s, 10, (leaf) => leaf.writeBigUInt64BE(15_000n, 312)));
    const r = await audit(db);
    expect(r.code).to.equal(EXIT_INVALID);
    expect(r.report.passed).to.equal(false);
    expect(r.report.firstBadIndex).to.equal(10);
    expect(r.report.firstBadHead).to.equal(1);
    const root = r.report.findings.find((f) => f.check === "head_root")!;
    expect(root).to.include({ headIndex: 1, treeSize: 12, index: 10 });
    expect(r.report.heads.verified).to.equal(1);
    expect(r.stdout).to.contain("first bad index 10, first bad head 1");
  });

  it("an event changed without its stored hash: the leaf hash check names it", async () => {
    const db = copy();
    tamper(db, (s) => rewriteEvent(s, 13, (leaf) => leaf.writeBigUInt64BE(1n, 312), false));
    const r = await audit(db);
    expect(r.code).to.equal(EXIT_INVALID);
    expect(r.report.firstBadIndex).to.equal(13);
    expect(r.report.firstBadHead).to.equal(2);
    expect(r.report.findings.map((f) => f.check)).to.include.members(["leaf_hash", "head_root"]);
    expect(r.report.findings.find((f) => f.check === "leaf_hash")!.index).to.equal(13);
  });

  it("an event deleted: names the gap and the first head that no longer matches", async () => {
    const db = copy();
    tamper(db, (s) => s.prepare("DELETE FROM ledger_events WHERE sequence = 10").run());
    const r = await audit(db);
    expect(r.code).to.equal(EXIT_INVALID);
    expect(r.report.firstBadIndex).to.equal(10);
    expect(r.report.firstBadHead).to.equal(1);
    expect(r.report.findings[0]).to.include({ check: "event_sequence", index: 10 });
    expect(r.report.log.events).to.equal(events - 1);
  });

  it("two events reordered: names the first moved event", async () => {
    const db = copy();
    tamper(db, (s) => {
      const a = s.prepare("SELECT leaf, leaf_hash FROM ledger_events WHERE sequence = 16").get() as {
        leaf: Buffer;
        leaf_hash: Buffer;
      };
      const b = s.prepare("SELECT leaf, leaf_hash FROM ledger_events WHERE sequence = 17").get() as typeof a;
      const set = s.prepare("UPDATE ledger_events SET leaf = ?, leaf_hash = ? WHERE sequence = ?");
      set.run(b.leaf, b.leaf_hash, 16);
      set.run(a.leaf, a.leaf_hash, 17);
    });
    const r = await audit(db);
    expect(r.code).to.equal(EXIT_INVALID);
    expect(r.report.firstBadIndex).to.equal(16);
    expect(r.report.firstBadHead).to.equal(2);
    expect(r.report.findings[0]).to.include({ check: "event_sequence", index: 16 });
  });

  it("an event inserted (later events renumbered and re-encoded): names the insertion point", async () => {
    const db = copy();
    tamper(db, (s) => {
      s.exec("UPDATE ledger_events SET sequence = sequence + 1000000 WHERE sequence >= 10");
      s.exec("UPDATE ledger_events SET sequence = sequence - 999999 WHERE sequence >= 1000000");
      // A careful insider renumbers the moved leaves too, so each leaf carries its row's sequence.
      const seqs = s
        .prepare("SELECT sequence FROM ledger_events WHERE sequence >= 11")
        .pluck()
        .all() as number[];
      for (const seq of seqs) rewriteEvent(s, seq, (leaf) => leaf.writeBigUInt64BE(BigInt(seq), 88));
      // The forged event: a second deposit to alice, filed as event 10.
      const forged = Buffer.from(leafOf(s, 8));
      forged.writeBigUInt64BE(10n, 88);
      randomBytes(32).copy(forged, 4 * 32);
      s.prepare(
        "INSERT INTO ledger_events (sequence, subject_kind, subject_id, debit_account_id, credit_account_id, created_at, leaf, leaf_hash) " +
          "SELECT 10, subject_kind, 'forged', debit_account_id, credit_account_id, created_at, ?, ? FROM ledger_events WHERE sequence = 8",
      ).run(forged, leafHash(forged));
    });
    const r = await audit(db);
    expect(r.code).to.equal(EXIT_INVALID);
    expect(r.report.firstBadIndex).to.equal(10);
    expect(r.report.firstBadHead).to.equal(1);
    expect(r.report.findings.find((f) => f.check === "head_root")).to.include({ headIndex: 1, index: 10 });
    expect(r.report.log.events).to.equal(events + 1);
  });

  it("the anchored tail deleted: the log is behind the chain at the last head", async () => {
    const db = copy();
    let from = 0;
    tamper(db, (s) => {
      // From the refund of escrow e2 on.
      from = s
        .prepare("SELECT MAX(sequence) FROM ledger_events WHERE subject_id = 'e2'")
        .pluck()
        .get() as number;
      s.prepare("DELETE FROM ledger_events WHERE sequence >= ?").run(from);
    });
    const r = await audit(db);
    expect(r.code).to.equal(EXIT_INVALID);
    expect(r.report.findings.find((f) => f.check === "log_behind_chain")).to.include({
      headIndex: 3,
      index: from,
    });
    expect(r.report.firstBadHead).to.equal(3);
    expect(r.report.firstBadIndex).to.equal(from);
    // The refund of escrow e2 went with the deleted tail: the chain says Refunded, the ledger pending.
    expect(r.report.findings.find((f) => f.check === "escrow_state")!.message).to.match(
      /pending in the ledger but Refunded/,
    );
  });

  it("a stored balance edited (events intact): reported, but the events still check out", async () => {
    const db = copy();
    tamper(db, (s) =>
      s
        .prepare(
          "UPDATE ledger_balances SET credits_posted = 999999 WHERE account_key = (SELECT key FROM ledger_account_terms WHERE id = 'bob')",
        )
        .run(),
    );
    const r = await audit(db);
    expect(r.code).to.equal(EXIT_INVALID);
    expect(r.report.findings.map((f) => f.check)).to.deep.equal(["stored_balance"]);
    expect(r.report.heads.verified).to.equal(4);
  });

  it("--attest records the report hash on chain, signed by the auditor key", async () => {
    const priv = bytesToHex(chain.accounts.auditor.getHdKey().privateKey!);
    process.env.CUSTODY_TEST_AUDITOR_KEY = priv;
    try {
      const r = await audit(copy(), ["--attest", "--auditor-key-env", "CUSTODY_TEST_AUDITOR_KEY"]);
      expect(r.code).to.equal(EXIT_VALID);
      expect(r.stderr).to.match(/attested head 3 \(passed\)/);
      const att = await chain.clients.publicClient.readContract({
        address: chain.deployment.custodyAnchor,
        abi: custodyAnchorAbi,
        functionName: "getAttestation",
        args: [3n, chain.accounts.auditor.address],
      });
      expect(att.reportHash).to.equal(auditReportHash(r.report));
      expect(att.passed).to.equal(true);
      // A key without AUDITOR_ROLE is refused by the chain: exit 2, nothing recorded.
      process.env.CUSTODY_TEST_AUDITOR_KEY = bytesToHex(chain.accounts.approverPayer.getHdKey().privateKey!);
      const refused = await audit(copy(), ["--attest", "--auditor-key-env", "CUSTODY_TEST_AUDITOR_KEY"]);
      expect(refused.code).to.equal(EXIT_USAGE);
      expect(refused.stderr).to.match(/AccessControlUnauthorizedAccount/);
    } finally {
      delete process.env.CUSTODY_TEST_AUDITOR_KEY;
    }
  });

  it("without --out, the report goes to <data dir>/audit/ (0600, git-ignored), never the current folder", async () => {
    const dataDir = path.join(dir, "data-dir-default");
    const before = fs.existsSync("custody-audit-report.json");
    const saved = process.env.CUSTODY_DATA_DIR;
    process.env.CUSTODY_DATA_DIR = dataDir;
    try {
      const args = baseArgs(copy(), "unused");
      const i = args.indexOf("--out");
      args.splice(i, 2);
      const code = await runCli(args, { out: () => {}, err: () => {} });
      expect(code).to.equal(EXIT_VALID);
    } finally {
      if (saved === undefined) delete process.env.CUSTODY_DATA_DIR;
      else process.env.CUSTODY_DATA_DIR = saved;
    }
    const file = path.join(dataDir, "audit", "custody-audit-report.json");
    expect(JSON.parse(fs.readFileSync(file, "utf8")).format).to.equal("custody-audit-report-v1");
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).to.equal(0o700);
    expect(fs.existsSync("custody-audit-report.json")).to.equal(before);
    expect(defaultAuditReportPath({})).to.equal(path.join(".data", "audit", "custody-audit-report.json"));
    const ignored = fs.readFileSync(path.join(__dirname, "../../.gitignore"), "utf8").split("\n");
    expect(ignored).to.include(".data/").and.include("custody-audit-report*.json");
  });

  it("bad usage and unreachable sources exit 2 without a verdict", async () => {
    const errs: string[] = [];
    const io = { out: () => {}, err: (s: string) => errs.push(s) };
    const a = chain.deployment.custodyAnchor;
    expect(await runCli(["audit", "--rpc", chain.node.rpcUrl, "--contract", a], io)).to.equal(EXIT_USAGE);
    expect(errs.join("\n")).to.contain("exactly one of --db and --api");
    const noChain = await runCli(
      [
        "audit",
        "--rpc",
        "http://127.0.0.1:9",
        "--db",
        copy(),
        "--contract",
        a,
        "--out",
        path.join(dir, "x.json"),
      ],
      io,
    );
    expect(noChain).to.equal(EXIT_USAGE);
    const notAnchor = await runCli(
      ["audit", "--rpc", chain.node.rpcUrl, "--db", copy(), "--contract", `0x${"11".repeat(20)}`],
      io,
    );
    expect(notAnchor).to.equal(EXIT_USAGE);
    expect(errs.join("\n")).to.contain("no contract at");
  });

  it("runs as a child process: exit 0 on the clean ledger, 1 once an event is changed", async () => {
    const run = (db: string) =>
      new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
        const out = path.join(dir, `child-${copies++}.json`);
        const child = spawn(process.execPath, [path.join(ROOT, "bin/custody"), ...baseArgs(db, out)], {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.on("error", reject);
        child.on("exit", (code) => resolve({ code, stdout }));
      });
    const clean = await run(copy());
    expect(clean.code).to.equal(0);
    expect(clean.stdout).to.match(/^PASSED/);
    const db = copy();
    tamper(db, (s) => rewriteEvent(s, 4, (leaf) => (leaf[351] = 1)));
    const bad = await run(db);
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.match(/^FAILED/);
    expect(bad.stdout).to.contain("first bad index 4, first bad head 0");
  });
});
