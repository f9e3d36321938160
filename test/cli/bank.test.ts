import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { auditBank } from "../../src/bank/audit";
import { writeCamt053 } from "../../src/bank/camt053-writer";
import { readLedgerDay } from "../../src/bank/ledger-view";
import { deriveStatement } from "../../src/bank/simulated-bank";
import { runCli } from "../../src/cli/main";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { openLedger } from "../../src/ledger";
import { openMirrorAndCustomers } from "../bank/support";

const IBAN = "DE89370400440532013000";
const KEY_HEX = "42".repeat(32);

describe("cli: custody statements import / reconcile, and the bank audit", () => {
  let dir: string;
  let dbPath: string;
  const days = ["2026-11-30", "2026-12-01"];
  const cutoff = (d: string) => Date.parse(`${d}T17:00:00Z`);

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  before(async () => {
    process.env.CUSTODY_TEST_BANK_KEY = KEY_HEX;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-cli-bank-"));
    dbPath = path.join(dir, "ledger.db");
    const db = openDatabase(dbPath);
    let now = Date.parse(`${days[0]}T09:00:00Z`);
    const ledger = await openLedger(db, { pseudonymKey: Buffer.from(KEY_HEX, "hex"), clock: () => now });
    await openMirrorAndCustomers(ledger, IBAN);
    let opening = 0n;
    for (const [i, day] of days.entries()) {
      for (let k = 0; k < 3; k++) {
        now = Date.parse(`${day}T1${k}:00:00Z`);
        await ledger.transfer({
          id: `d${i}${k}`,
          debitAccountId: "bank-eur",
          creditAccountId: "alice",
          amount: BigInt(1000 * (k + 1)),
          kind: "deposit",
          metadata: { endToEndId: `E2E-${i}${k}` },
        });
      }
      const view = await readLedgerDay(db, "bank-eur", "EUR", cutoff(day));
      // The bank leaves out the second deposit of the second day.
      const movements = i === 1 ? view.today.filter((m) => m.transferId !== "d11") : view.today;
      const s = deriveStatement({
        id: `S-${day}`,
        account: IBAN,
        currency: "EUR",
        exponent: 2,
        day,
        opening,
        openingDate: day,
        cutoff: cutoff(day),
        movements,
      });
      opening = s.closing.amount;
      fs.writeFileSync(
        path.join(dir, `${day}.xml`),
        writeCamt053([s], {
          version: i === 0 ? "02" : "08",
          messageId: `M-${day}`,
          createdAt: `${day}T18:00:00Z`,
        }),
      );
    }
    await ledger.close();
    await closeDatabase(db);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const common = () => ["--db", dbPath, "--pseudonym-key-env", "CUSTODY_TEST_BANK_KEY"];

  it("imports files, reconciles a clean day (exit 0) and a day with a missing deposit (exit 1)", async () => {
    const imp = await cli(
      "statements",
      "import",
      path.join(dir, `${days[0]}.xml`),
      path.join(dir, `${days[1]}.xml`),
      ...common(),
    );
    expect(imp.code, imp.err).to.equal(0);
    expect(imp.out).to.match(/stored .*S-2026-11-30 page 1 of 2026-11-30 for bank-eur \(3 entries\)/);
    const again = await cli("statements", "import", path.join(dir, `${days[0]}.xml`), ...common());
    expect(again.out).to.match(/^already stored/);
    const clean = await cli("reconcile", "--date", days[0], "--no-progress", ...common());
    expect(clean.code, clean.err).to.equal(0);
    expect(clean.out).to.contain("3 matched, 0 break(s)");
    const broken = await cli("reconcile", "--date", days[1], "--no-progress", ...common());
    expect(broken.code).to.equal(1);
    expect(broken.out).to.contain("ledger_only");
    expect(broken.out).to.contain("difference -2000 minor units");
    const bad = await cli("reconcile", "--date", "30.11.2026", "--no-progress", ...common());
    expect(bad.code).to.equal(2);
    expect(bad.err).to.contain("YYYY-MM-DD");
    const nokey = await cli(
      "reconcile",
      "--date",
      days[0],
      "--db",
      dbPath,
      "--pseudonym-key-env",
      "CUSTODY_TEST_NO_SUCH_VAR",
    );
    expect(nokey.code).to.equal(2);
  });

  it("the audit re-runs every stored reconciliation and names the first day that differs", async () => {
    const db = openDatabase(dbPath);
    if (db.kind !== "sqlite") throw new Error("SQLite expected");
    try {
      const ok = await auditBank(db);
      expect(ok).to.deep.include({ passed: true, documents: 2, reconciliations: 2 });
      // Someone rewrites the second day's stored statement: its re-run no longer gives the reported result.
      const row = db.sqlite
        .prepare(
          "SELECT d.hash, b.raw FROM bank_documents d JOIN bank_document_bytes b ON b.hash = d.hash WHERE d.message_id = ?",
        )
        .get(`M-${days[1]}`) as { hash: string; raw: Buffer };
      const forged = Buffer.from(row.raw.toString("utf8").replace("E2E-12", "E2E-11"));
      db.sqlite.prepare("UPDATE bank_document_bytes SET raw = ? WHERE hash = ?").run(forged, row.hash);
      const bad = await auditBank(db);
      expect(bad.passed).to.equal(false);
      expect(bad.firstDifferingDay, JSON.stringify(bad.findings)).to.equal(days[1]);
      expect(bad.findings.map((f) => f.message).join("\n")).to.contain("re-hashes");
      db.sqlite.prepare("UPDATE bank_document_bytes SET raw = ? WHERE hash = ?").run(row.raw, row.hash);
      // The parsed content a reconciliation reads, rewritten with its hash: the raw bytes disagree.
      const page = db.sqlite
        .prepare("SELECT content, content_hash FROM bank_statements WHERE document_hash = ?")
        .get(row.hash) as { content: string; content_hash: string };
      const content = page.content.replace("E2E-12", "E2E-11");
      const contentHash = `0x${createHash("sha256").update(content).digest("hex")}`;
      const setContent = db.sqlite.prepare(
        "UPDATE bank_statements SET content = ?, content_hash = ? WHERE document_hash = ?",
      );
      setContent.run(content, contentHash, row.hash);
      const rewritten = await auditBank(db);
      expect(rewritten.firstDifferingDay, JSON.stringify(rewritten.findings)).to.equal(days[1]);
      expect(rewritten.findings.map((f) => f.message).join("\n")).to.contain("stored content differs");
      setContent.run(page.content, page.content_hash, row.hash);
      expect((await auditBank(db)).passed).to.equal(true);
      // A stored report edited after the fact no longer matches its logged hash.
      db.sqlite
        .prepare(
          "UPDATE bank_reconciliations SET report = replace(report, '\"matched\":3', '\"matched\":4') WHERE day = ?",
        )
        .run(days[0]);
      const edited = await auditBank(db);
      expect(edited.firstDifferingDay).to.equal(days[0]);
    } finally {
      await closeDatabase(db);
    }
  });
});
