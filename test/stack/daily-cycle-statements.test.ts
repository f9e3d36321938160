import { expect } from "chai";
import fs from "node:fs";
import type { PublicClient } from "viem";
import { openCustodianBank, type CustodianBank } from "../../src/bank/bank";
import { writeCamt053 } from "../../src/bank/camt053-writer";
import { readLedgerDay } from "../../src/bank/ledger-view";
import { deriveStatement } from "../../src/bank/simulated-bank";
import type { BankStatement } from "../../src/bank/statement";
import type { Database } from "../../src/db/database";
import type { Ledger } from "../../src/ledger";
import { createLogger } from "../../src/logging";
import { createDailyCycle, type DailyCycle } from "../../src/stack/daily-cycle";
import { openTestLedger, tempSqliteUrl } from "../ledger/support";
import { openMirrorAndCustomers } from "../bank/support";

const IBAN = "DE89370400440532013000";
const DAY = "2026-11-30";
const at = (hh: number) => Date.parse(`${DAY}T${String(hh).padStart(2, "0")}:00:00Z`);

/**
 * The daily cycle with a custodian that sends several statements a day (one per batch of
 * deposits, as the soak does): each consecutive statement reconciles the day again, a gap in the
 * chain is a statement_gap break of the report, and a day still missing pages waits, said once.
 * No chain here (no custodian key): only the bank part of the cycle.
 */
describe("stack: the daily cycle with several statements a day", () => {
  let ledger: Ledger;
  let db: Database;
  let bank: CustodianBank;
  let cycle: DailyCycle;
  let lines: { level: string; msg: string; error?: string }[];
  let close: () => Promise<void>;
  let dir: string;
  let now = at(9);

  beforeEach(async () => {
    const tmp = tempSqliteUrl("cycle.db");
    dir = tmp.dir;
    const t = await openTestLedger({ name: "sqlite", url: () => tmp.url }, { clock: () => now });
    ({ ledger, db } = t);
    close = t.close;
    await openMirrorAndCustomers(ledger, IBAN);
    bank = await openCustodianBank({ db, ledger });
    lines = [];
    cycle = createDailyCycle({
      clock: () => now,
      firstDay: DAY,
      bank,
      inbox: { scan: async () => [], stop: async () => {} },
      publicClient: undefined as unknown as PublicClient,
      log: createLogger({
        level: "debug",
        destination: { write: (l: string) => lines.push(JSON.parse(l) as (typeof lines)[number]) },
      }),
    });
  });
  afterEach(async () => {
    await close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function deposit(id: string, hh: number, amount: bigint) {
    now = at(hh);
    await ledger.transfer({
      id,
      debitAccountId: "bank-eur",
      creditAccountId: "alice",
      amount,
      kind: "deposit",
      metadata: { endToEndId: `E2E-${id}` },
    });
  }

  /** The statement of the deposits booked in (from, to], opening at `opening`. */
  async function statement(
    id: string,
    opening: bigint,
    from: number,
    to: number,
    refs = id,
  ): Promise<BankStatement> {
    const view = await readLedgerDay(db, "bank-eur", "EUR", at(17));
    return deriveStatement({
      id,
      account: IBAN,
      currency: "EUR",
      exponent: 2,
      day: DAY,
      opening,
      openingDate: DAY,
      cutoff: to,
      movements: view.today.filter((m) => m.createdAt > from && m.createdAt <= to),
      servicerRefPrefix: refs,
    });
  }
  const xml = (...pages: BankStatement[]) =>
    Buffer.from(
      writeCamt053(pages, { version: "08", messageId: pages[0].id, createdAt: `${DAY}T18:00:00Z` }),
    );
  const errors = () => lines.filter((l) => l.level === "error" || l.level === "fatal");
  const reconciledLines = () => lines.filter((l) => l.msg === "day reconciled");

  it("reconciles the day again as each consecutive statement arrives, with no error logged", async () => {
    await deposit("d1", 10, 1_000n);
    const s1 = await statement("S1", 0n, 0, at(10));
    await bank.importStatement(xml(s1));
    await cycle.runOnce();
    await cycle.runOnce();
    expect(reconciledLines()).to.have.length(1);

    await deposit("d2", 11, 2_000n);
    const s2 = await statement("S2", s1.closing.amount, at(10), at(11));
    await bank.importStatement(xml(s2));
    await cycle.runOnce();
    await cycle.runOnce();
    expect(reconciledLines()).to.have.length(2);
    const [latest] = await bank.getReconciliations(DAY);
    expect(latest.report.statements.map((s) => s.id)).to.deep.equal(["S1", "S2"]);
    expect(latest.report.breaks).to.deep.equal([]);
    expect(latest.report.counts.matched).to.equal(2);
    expect(errors()).to.deep.equal([]);
  });

  it("reports a gap in the chain once, as a statement_gap break, not as an error every cycle", async () => {
    await deposit("d1", 10, 1_000n);
    await deposit("d2", 11, 2_000n);
    await deposit("d3", 12, 4_000n);
    const s1 = await statement("S1", 0n, 0, at(10));
    const s2 = await statement("S2", s1.closing.amount, at(10), at(11)); // never arrives
    const s3 = await statement("S3", s2.closing.amount, at(11), at(12));
    await bank.importStatement(xml(s1));
    await bank.importStatement(xml(s3));
    for (let i = 0; i < 5; i++) await cycle.runOnce();
    expect(errors()).to.deep.equal([]);
    expect(reconciledLines()).to.have.length(1);
    const open = await bank.listBreaks();
    expect(open.map((b) => b.class).sort()).to.deep.equal(["ledger_only", "statement_gap"]);
    expect(open.find((b) => b.class === "statement_gap")!.detail.gap).to.deep.include({
      statementId: "S3",
      previousStatementId: "S1",
      difference: "2000",
    });
    expect(await bank.allReconciliations()).to.have.length(1);
  });

  it("a statement still missing a page waits, said once, while the other days go on", async () => {
    await deposit("d1", 10, 1_000n);
    await deposit("d2", 11, 2_000n);
    const p1 = { ...(await statement("P", 0n, 0, at(10))), page: 1, lastPage: false };
    const p2 = {
      ...(await statement("P", p1.closing.amount, at(10), at(11), "P-2")),
      page: 2,
      lastPage: true,
    };
    await bank.importStatement(xml(p2));
    for (let i = 0; i < 4; i++) await cycle.runOnce();
    expect(errors()).to.deep.equal([]);
    expect(lines.filter((l) => l.level === "warn").map((l) => l.msg)).to.deep.equal([
      "statement incomplete; the day waits",
    ]);
    await bank.importStatement(xml(p1));
    await cycle.runOnce();
    const [rec] = await bank.getReconciliations(DAY);
    expect(rec.report.breaks).to.deep.equal([]);
    expect(rec.report.statements.map((s) => s.page)).to.deep.equal([1, 2]);
  });
});
