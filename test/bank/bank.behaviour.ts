import { expect } from "chai";
import { openCustodianBank, type CustodianBank } from "../../src/bank/bank";
import { writeCamt053 } from "../../src/bank/camt053-writer";
import {
  StatementConflictError,
  StatementCurrencyMismatchError,
  StatementIncompleteError,
  UnknownBankAccountError,
  BreakNotResolvableError,
} from "../../src/bank/errors";
import { readLedgerDay } from "../../src/bank/ledger-view";
import { deriveStatement } from "../../src/bank/simulated-bank";
import type { BankStatement } from "../../src/bank/statement";
import { bankMigrations } from "../../src/bank/migrations";
import { queryAll } from "../../src/bank/sql";
import type { Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { run } from "../../src/db/sql";
import type { Ledger } from "../../src/ledger";
import { rejects, type Backend, openTestLedger } from "../ledger/support";
import { bankPort, openMirrorAndCustomers } from "./support";

export const IBAN = "DE89370400440532013000";
const D1 = "2026-11-30";
const D2 = "2026-12-01";
const cutoffOf = (day: string) => Date.parse(`${day}T17:00:00Z`);
const at = (day: string, hh: number) => Date.parse(`${day}T${String(hh).padStart(2, "0")}:00:00Z`);

interface Env {
  ledger: Ledger;
  db: Database;
  bank: CustodianBank;
  setTime(t: number): void;
  deposit(id: string, customer: string, amount: bigint, e2e: string): Promise<void>;
  withdraw(id: string, customer: string, amount: bigint, e2e: string): Promise<void>;
  /** The statement a faithful bank sends for `day`, minus `omit` end-to-end ids, plus `extra` movements. */
  statement(
    day: string,
    opening: bigint,
    o?: { omit?: string[]; version?: "02" | "08"; id?: string },
  ): Promise<BankStatement>;
  xml(s: BankStatement, version?: "02" | "08"): Buffer;
  close(): Promise<void>;
}

export function bankBehaviour(
  backend: Backend,
  fresh: () => Promise<{ url: string; drop(): Promise<void> }>,
): void {
  let env: Env;
  let dropDb: () => Promise<void>;

  beforeEach(async () => {
    const d = await fresh();
    dropDb = d.drop;
    let now = at(D1, 9);
    const { ledger, db, close } = await openTestLedger(
      { name: backend.name, url: () => d.url },
      { clock: () => now },
    );
    await openMirrorAndCustomers(ledger, IBAN, ["alice", "bob", "carol"]);
    await ledger.openAccount({ id: "settle-eur", type: "settlement", asset: "EUR", scale: 2 });
    const bank = await openCustodianBank({ db, ledger: bankPort(ledger), toleranceDays: 1 });
    env = {
      ledger,
      db,
      bank,
      setTime: (t) => (now = t),
      async deposit(id, customer, amount, e2e) {
        await ledger.transfer({
          id,
          debitAccountId: "bank-eur",
          creditAccountId: customer,
          amount,
          kind: "deposit",
          metadata: { endToEndId: e2e },
        });
      },
      async withdraw(id, customer, amount, e2e) {
        await ledger.transfer({
          id,
          debitAccountId: customer,
          creditAccountId: "settle-eur",
          amount,
          kind: "withdrawal",
        });
        await ledger.transfer({
          id: `${id}-paid`,
          debitAccountId: "settle-eur",
          creditAccountId: "bank-eur",
          amount,
          kind: "transfer",
          metadata: { endToEndId: e2e },
        });
      },
      async statement(day, opening, o = {}) {
        const view = await readLedgerDay(db, "bank-eur", "EUR", cutoffOf(day));
        return deriveStatement({
          id: o.id ?? `EUR-${day}`,
          account: IBAN,
          currency: "EUR",
          exponent: 2,
          day,
          opening,
          openingDate: day,
          cutoff: cutoffOf(day),
          movements: view.today.filter((m) => !(o.omit ?? []).includes(m.endToEndId)),
        });
      },
      xml: (s, version = "08") =>
        Buffer.from(
          writeCamt053([s], { version, messageId: `MSG-${s.id}`, createdAt: `${s.closing.date}T18:00:00Z` }),
        ),
      async close() {
        await close();
        await dropDb();
      },
    };
  });
  afterEach(async () => env.close());

  async function dayOne() {
    env.setTime(at(D1, 10));
    await env.deposit("d1", "alice", 250_000n, "E2E-DEP-ALICE-0001");
    env.setTime(at(D1, 11));
    await env.deposit("d2", "bob", 100_050n, "E2E-DEP-BOB-0001");
    env.setTime(at(D1, 12));
    await env.withdraw("w1", "alice", 30_000n, "E2E-WDR-ALICE-0001");
  }

  it("imports a faithful statement, reconciles it to zero breaks and logs both hashes", async () => {
    await dayOne();
    const s = await env.statement(D1, 0n);
    expect(s.closing.amount).to.equal(320_050n);
    const imp = await env.bank.importStatement(env.xml(s, "02"));
    expect(imp.replay).to.equal(false);
    expect(imp.statements[0]).to.deep.include({ ledgerAccount: "bank-eur", day: D1, entries: 3 });
    const [rec] = await env.bank.reconcile(D1);
    expect(rec.report.breaks).to.deep.equal([]);
    expect(rec.report.balances).to.deep.equal({ bank: "320050", ledger: "320050", difference: "0" });
    expect(rec.report.segregation).to.deep.include({ customerLiabilities: "320050", ok: true });
    expect(rec.report.counts.matched).to.equal(3);
    expect(rec.report.statements[0].documentHash).to.equal(imp.documentHash);
    const fact = await env.ledger.getFact(`bank-statement:${imp.documentHash.slice(2)}`);
    expect([fact.kind, fact.documentHash, fact.sequence]).to.deep.equal([
      "BANK_STATEMENT",
      imp.documentHash,
      imp.factSequence,
    ]);
    const rfact = await env.ledger.getFact(`bank-reconciliation:${rec.reportHash.slice(2)}`);
    expect([rfact.kind, rfact.documentHash, rfact.sequence]).to.deep.equal([
      "BANK_RECONCILIATION",
      rec.reportHash,
      rec.factSequence,
    ]);
    const [again] = await env.bank.getReconciliations(D1);
    expect(again.reportHash).to.equal(rec.reportHash);
    // Re-running the stored reconciliation reaches the same report.
    const rerun = await env.bank.computeReconciliation("bank-eur", D1, {
      throughSequence: rec.report.ledger.throughSequence,
      toleranceDays: rec.report.toleranceDays,
      adjacent: rec.report.adjacentStatements,
    });
    expect(rerun).to.deep.equal(rec.report);
  });

  it("takes an identical replay idempotently and rejects a conflicting resend, storing nothing", async () => {
    await dayOne();
    const s = await env.statement(D1, 0n);
    const first = await env.bank.importStatement(env.xml(s));
    const replay = await env.bank.importStatement(env.xml(s));
    expect(replay).to.deep.equal({ ...first, replay: true });
    // The same statement resent under another message id and creation time is still a replay.
    const resent = Buffer.from(
      writeCamt053([s], { version: "02", messageId: "OTHER", createdAt: `${D1}T19:00:00Z` }),
    );
    expect((await env.bank.importStatement(resent)).documentHash).to.equal(first.documentHash);
    const changed = await env.statement(D1, 0n, { omit: ["E2E-DEP-BOB-0001"] });
    const before = await queryAll(env.db, "SELECT COUNT(*) AS n FROM bank_documents");
    await rejects(env.bank.importStatement(env.xml(changed)), StatementConflictError);
    expect(await queryAll(env.db, "SELECT COUNT(*) AS n FROM bank_documents")).to.deep.equal(before);
  });

  it("rejects statements for unknown accounts and in the wrong currency", async () => {
    await dayOne();
    const s = await env.statement(D1, 0n);
    await rejects(
      env.bank.importStatement(env.xml({ ...s, account: "FR7630006000011234567890189" })),
      UnknownBankAccountError,
    );
    const usd = { ...s, currency: "USD" };
    await rejects(env.bank.importStatement(env.xml(usd)), StatementCurrencyMismatchError);
    expect(await queryAll(env.db, "SELECT COUNT(*) AS n FROM bank_statements")).to.deep.equal([
      { n: backend.name === "sqlite" ? 0 : "0" },
    ]);
  });

  it("stores nothing when an import crashes half-way, and completes one that crashed before its fact", async () => {
    await dayOne();
    const raw = env.xml(await env.statement(D1, 0n));
    const crashing = await openCustodianBank({
      db: env.db,
      ledger: bankPort(env.ledger),
      faults: {
        importRow: (i) => {
          if (i === 1) throw new Error("crash after the document row");
        },
      },
    });
    try {
      await crashing.importStatement(raw);
      expect.fail("the fault did not fire");
    } catch (e) {
      expect(String(e)).to.contain("crash after the document row");
    }
    expect(await queryAll(env.db, "SELECT hash FROM bank_documents")).to.deep.equal([]);
    expect(await queryAll(env.db, "SELECT hash FROM bank_document_bytes")).to.deep.equal([]);
    expect(await queryAll(env.db, "SELECT statement_id FROM bank_statements")).to.deep.equal([]);

    const beforeFact = await openCustodianBank({
      db: env.db,
      ledger: bankPort(env.ledger),
      faults: {
        beforeStatementFact: () => {
          throw new Error("crash before the fact");
        },
      },
    });
    try {
      await beforeFact.importStatement(raw);
      expect.fail("the fault did not fire");
    } catch (e) {
      expect(String(e)).to.contain("crash before the fact");
    }
    // Stored but not acknowledged: reconciliation does not use it yet.
    await rejects(env.bank.reconcile(D1), StatementIncompleteError);
    expect(await env.bank.completePending()).to.equal(1);
    const [rec] = await env.bank.reconcile(D1);
    expect(rec.report.breaks).to.deep.equal([]);
  });

  it("a missing deposit is a ledger_only break that raises an alarm until a person resolves it", async () => {
    await dayOne();
    const s = await env.statement(D1, 0n, { omit: ["E2E-DEP-BOB-0001"] });
    await env.bank.importStatement(env.xml(s));
    const [rec] = await env.bank.reconcile(D1);
    expect(rec.report.breaks.map((b) => [b.class, b.ledger?.transferId])).to.deep.equal([
      ["ledger_only", "d2"],
      ["segregation_shortfall", undefined],
    ]);
    expect(rec.report.balances.difference).to.equal("-100050");
    expect(rec.report.segregation.ok).to.equal(false);
    const open = await env.bank.listBreaks();
    expect(open.map((b) => b.class).sort()).to.deep.equal(["ledger_only", "segregation_shortfall"]);
    expect((await env.bank.alarmSummary()).openBreaks).to.deep.equal({
      ledger_only: 1,
      segregation_shortfall: 1,
    });
    const id = open.find((b) => b.class === "ledger_only")!.id;
    const resolved = await env.bank.resolveBreak(
      id,
      "Bank confirmed the deposit was credited on 1 Dec (ticket 4711)",
      {
        keyId: "k1",
        role: "custodian",
      },
    );
    expect(resolved.status).to.equal("resolved");
    expect(resolved.resolution).to.deep.include({
      breakId: id,
      reportHash: rec.reportHash,
      explanation: "Bank confirmed the deposit was credited on 1 Dec (ticket 4711)",
    });
    await rejects(
      env.bank.resolveBreak(id, "another story", { keyId: "k2", role: "custodian" }),
      BreakNotResolvableError,
    );
    expect((await env.bank.alarmSummary()).openBreaks).to.deep.equal({ segregation_shortfall: 1 });
    // Nothing in the ledger changed.
    expect((await env.ledger.getBalance("bank-eur")).posted).to.equal(320_050n);
  });

  it("a re-run of the day keeps a person's explanation for the same break, and alarms only for what is new", async () => {
    await dayOne();
    const s = await env.statement(D1, 0n, { omit: ["E2E-DEP-BOB-0001"] });
    await env.bank.importStatement(env.xml(s));
    const [first] = await env.bank.reconcile(D1);
    const explainedId = (await env.bank.listBreaks()).find((b) => b.class === "ledger_only")!.id;
    const explanation = "Bank confirmed the deposit was credited on 1 Dec (ticket 4711)";
    await env.bank.resolveBreak(explainedId, explanation, { keyId: "k1", role: "custodian" });
    // Later the same day: a deposit the bank has not booked yet, and another statement of the day
    // (the chain goes on from the first one's closing), so the day is reconciled again.
    env.setTime(at(D1, 16));
    await env.deposit("d3", "carol", 5_000n, "E2E-DEP-CAROL-0001");
    const more = await env.statement(D1, 0n, { omit: ["E2E-DEP-BOB-0001", "E2E-DEP-CAROL-0001"] });
    const next = deriveStatement({
      id: "EUR-D1-LATE",
      account: IBAN,
      currency: "EUR",
      exponent: 2,
      day: D1,
      opening: more.closing.amount,
      openingDate: D1,
      cutoff: cutoffOf(D1) + 1,
      movements: [],
      servicerRefPrefix: "LATE",
    });
    await env.bank.importStatement(env.xml(next));
    const [second] = await env.bank.reconcile(D1);
    expect(second.run).to.equal(first.run + 1);
    const all = (await env.bank.listBreaks({ status: "all" })).filter((b) =>
      b.id.includes(`/${second.run}/`),
    );
    const d2 = all.find((b) => b.detail.ledger?.transferId === "d2")!;
    const d3 = all.find((b) => b.detail.ledger?.transferId === "d3")!;
    expect(d2.status, "the explained break").to.equal("resolved");
    expect(d2.resolution).to.deep.include({
      breakId: explainedId,
      reportHash: first.reportHash,
      explanation,
    });
    expect(d3.status, "the new break").to.equal("open");
    expect(all.find((b) => b.class === "segregation_shortfall")!.status, "a shortfall alarms again").to.equal(
      "open",
    );
    expect((await env.bank.alarmSummary()).openBreaks).to.deep.equal({
      ledger_only: 1,
      segregation_shortfall: 1,
    });
  });

  it("a deposit the bank books the next day is timing there and clears the day before's break", async () => {
    await dayOne();
    env.setTime(at(D1, 16));
    await env.deposit("d3", "carol", 5_000n, "E2E-DEP-CAROL-0001");
    const s1 = await env.statement(D1, 0n, { omit: ["E2E-DEP-CAROL-0001"] });
    await env.bank.importStatement(env.xml(s1));
    const [r1] = await env.bank.reconcile(D1);
    expect(r1.report.breaks.map((b) => b.class)).to.include("ledger_only");
    env.setTime(at(D2, 10));
    await env.deposit("d4", "alice", 7_000n, "E2E-DEP-ALICE-0002");
    const own = await env.statement(D2, s1.closing.amount, { id: `EUR-${D2}` });
    const carol = (await readLedgerDay(env.db, "bank-eur", "EUR", cutoffOf(D1))).today.find(
      (m) => m.transferId === "d3",
    )!;
    const s2 = deriveStatement({
      id: own.id,
      account: IBAN,
      currency: "EUR",
      exponent: 2,
      day: D2,
      opening: s1.closing.amount,
      openingDate: D1,
      cutoff: cutoffOf(D2),
      movements: [...(await readLedgerDay(env.db, "bank-eur", "EUR", cutoffOf(D2))).today, carol],
    });
    await env.bank.importStatement(env.xml(s2, "02"));
    const [r2] = await env.bank.reconcile(D2);
    expect(r2.report.breaks.map((b) => [b.class, b.severity, b.ledger?.transferId])).to.deep.equal([
      ["timing", "info", "d3"],
    ]);
    expect(r2.report.balances.difference).to.equal("0");
    const cleared = (await env.bank.listBreaks({ status: "cleared" })).map((b) => [
      b.day,
      b.class,
      b.detail.ledger?.transferId,
    ]);
    expect(cleared).to.deep.equal([[D1, "ledger_only", "d3"]]);
  });

  /** One statement per batch of the day's movements (booked up to `cutoff`), as a custodian sending several a day. */
  async function intraday(id: string, opening: bigint, from: number, cutoff: number) {
    const view = await readLedgerDay(env.db, "bank-eur", "EUR", cutoffOf(D1));
    return deriveStatement({
      id,
      account: IBAN,
      currency: "EUR",
      exponent: 2,
      day: D1,
      opening,
      openingDate: D1,
      cutoff,
      movements: view.today.filter((m) => m.createdAt > from && m.createdAt <= cutoff),
      servicerRefPrefix: id,
    });
  }

  it("reconciles a day of several consecutive statements as one chain, and re-runs it from the pages it used", async () => {
    await dayOne();
    const a = await intraday("EUR-D1-A", 0n, 0, at(D1, 11));
    const b = await intraday("EUR-D1-B", a.closing.amount, at(D1, 11), cutoffOf(D1));
    expect([a.entries.length, b.entries.length]).to.deep.equal([2, 1]);
    // Sent out of order: the chain follows the statements' cut-offs, not their arrival.
    await env.bank.importStatement(env.xml(b));
    await env.bank.importStatement(env.xml(a, "02"));
    const [rec] = await env.bank.reconcile(D1);
    expect(rec.report.breaks).to.deep.equal([]);
    expect(rec.report.counts).to.deep.include({ bankEntries: 3, matched: 3 });
    expect(rec.report.balances).to.deep.equal({ bank: "320050", ledger: "320050", difference: "0" });
    expect(rec.report.statements.map((r) => r.id)).to.deep.equal(["EUR-D1-A", "EUR-D1-B"]);
    // A third statement of the day arrives later: the audit's re-run of the first run still uses
    // exactly the statements that run listed.
    env.setTime(at(D1, 16));
    await env.deposit("d3", "carol", 5_000n, "E2E-DEP-CAROL-0001");
    const c = await intraday("EUR-D1-C", b.closing.amount, cutoffOf(D1) - 1, cutoffOf(D1) + 1);
    await env.bank.importStatement(env.xml(c));
    const rerun = await env.bank.computeReconciliation("bank-eur", D1, {
      throughSequence: rec.report.ledger.throughSequence,
      toleranceDays: rec.report.toleranceDays,
      adjacent: rec.report.adjacentStatements,
      statements: rec.report.statements,
    });
    expect(rerun).to.deep.equal(rec.report);
  });

  it("a gap in the day's chain of statements is one statement_gap break, not an error", async () => {
    await dayOne();
    const a = await intraday("EUR-D1-A", 0n, 0, at(D1, 11));
    const missing = await intraday("EUR-D1-B", a.closing.amount, at(D1, 11), at(D1, 12));
    expect(missing.entries.length).to.equal(1);
    const c = await intraday("EUR-D1-C", missing.closing.amount, at(D1, 12), cutoffOf(D1));
    await env.bank.importStatement(env.xml(a));
    await env.bank.importStatement(env.xml(c)); // B never arrives
    const [rec] = await env.bank.reconcile(D1);
    const gap = rec.report.breaks.filter((x) => x.class === "statement_gap");
    expect(gap).to.have.length(1);
    expect(gap[0].severity).to.equal("high");
    expect(gap[0].gap).to.deep.equal({
      statementId: "EUR-D1-C",
      previousStatementId: "EUR-D1-A",
      expectedOpening: "350050",
      opening: "320050",
      difference: "-30000",
    });
    // B's movement (the withdrawal) is not in any statement: a ledger_only break besides the gap.
    expect(rec.report.breaks.map((x) => [x.class, x.ledger?.transferId])).to.deep.include([
      "ledger_only",
      "w1-paid",
    ]);
    expect((await env.bank.alarmSummary()).openBreaks).to.deep.include({ statement_gap: 1 });
    // A re-run supersedes the earlier run's breaks: the gap stays one open break.
    await env.bank.reconcile(D1);
    expect((await env.bank.listBreaks()).filter((x) => x.class === "statement_gap")).to.have.length(1);
    // The missing statement arrives: the chain closes and the re-run has no gap.
    await env.bank.importStatement(env.xml(missing));
    const [closed] = await env.bank.reconcile(D1);
    expect(closed.report.breaks).to.deep.equal([]);
    expect((await env.bank.alarmSummary()).openBreaks).to.deep.equal({});
  });

  it("keeps the bytes of documents stored before they had their own table (bank/004)", async () => {
    const d = await fresh();
    const old = await openTestLedger({ name: backend.name, url: () => d.url });
    try {
      await migrate(old.db, bankMigrations.slice(0, 3));
      const raw = Buffer.from("<Document>as stored before</Document>");
      await run(
        old.db,
        `INSERT INTO bank_documents (hash, format, message_id, raw, received_at, fact_id, fact_sequence)
         VALUES (?,?,?,?,?,?,?)`,
        ["0xaa", "camt.053.001.08", "M-1", raw, 1, "bank-statement:aa", 7],
      );
      await migrate(old.db, bankMigrations);
      const [row] = await queryAll(old.db, "SELECT hash, raw FROM bank_document_bytes");
      expect(row.hash).to.equal("0xaa");
      expect(Buffer.from(row.raw as Uint8Array).equals(raw)).to.equal(true);
      const [doc] = await queryAll(old.db, "SELECT * FROM bank_documents");
      expect(doc).to.not.have.property("raw");
      expect(Number(doc.fact_sequence)).to.equal(7);
    } finally {
      await old.close();
      await d.drop();
    }
  });
}
