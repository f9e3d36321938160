import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import {
  MalformedStatementError,
  StatementAmountError,
  StatementBalanceMismatchError,
  StatementCurrencyMismatchError,
  UnknownCurrencyError,
  UnsupportedStatementFormatError,
} from "../../src/bank/errors";
import { currencyExponent, formatMinorUnits, parseMinorUnits } from "../../src/bank/currency";
import { parseCamt053 } from "../../src/bank/camt053";
import { parseStatementJson } from "../../src/bank/json-feed";
import { parseStatementDocument } from "../../src/bank/parse";
import {
  statementContent,
  statementCutoff,
  statementDay,
  statementFromContent,
} from "../../src/bank/statement";
import { canonicalJson } from "../../src/ledger/canonical";
import type { JsonValue } from "../../src/ledger/types";

const fixture = (name: string) => readFileSync(join(__dirname, "fixtures", name));
const text = (name: string) => fixture(name).toString("utf8");

function rejects<T extends Error>(fn: () => unknown, cls: new (...a: never[]) => T, where?: RegExp): T {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(cls);
    if (where) expect((e as { where: string }).where).to.match(where);
    return e as T;
  }
  expect.fail(`expected ${cls.name}`);
}

describe("bank: ISO 4217 amounts", () => {
  it("uses each currency's exponent (JPY 0, EUR/CNY/USD 2, KWD 3)", () => {
    expect(currencyExponent("JPY", "x")).to.equal(0);
    expect(currencyExponent("EUR", "x")).to.equal(2);
    expect(currencyExponent("CNY", "x")).to.equal(2);
    expect(currencyExponent("USD", "x")).to.equal(2);
    expect(currencyExponent("KWD", "x")).to.equal(3);
    rejects(() => currencyExponent("XXQ", "Acct/Ccy"), UnknownCurrencyError, /Acct\/Ccy/);
  });

  it("parses decimals to bigint minor units without floats", () => {
    expect(parseMinorUnits("1000.50", 2, "x")).to.equal(100050n);
    expect(parseMinorUnits("0.1", 2, "x")).to.equal(10n);
    expect(parseMinorUnits("125000", 0, "x")).to.equal(125000n);
    expect(parseMinorUnits("20000.00", 0, "x")).to.equal(20000n);
    expect(parseMinorUnits("999999999999999999.99", 2, "x")).to.equal(99999999999999999999n);
    rejects(() => parseMinorUnits("100.5", 0, "Ntry[1]/Amt"), StatementAmountError, /Ntry\[1\]\/Amt/);
    rejects(() => parseMinorUnits("1.005", 2, "x"), StatementAmountError);
    for (const bad of ["", "-1", "1e5", "1,00", "0x10", " .5", "1."])
      rejects(() => parseMinorUnits(bad, 2, "x"), StatementAmountError);
  });

  it("round-trips every amount through its decimal text (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }), fc.constantFrom(0, 2, 3), (v, exp) => {
        expect(parseMinorUnits(formatMinorUnits(v, exp), exp, "x")).to.equal(v);
      }),
    );
  });
});

describe("bank: camt.053 parsing", () => {
  it("reads a 001.02 EUR statement: balances, entries, reversal, pending, batch", () => {
    const doc = parseCamt053(fixture("camt053-v02-eur.xml"));
    expect(doc.format).to.equal("camt.053.001.02");
    expect(doc.messageId).to.equal("STMT-20261130-EUR-0001");
    expect(doc.statements).to.have.length(1);
    const s = doc.statements[0];
    expect(s.account).to.equal("DE89370400440532013000");
    expect(s.currency).to.equal("EUR");
    expect(s.electronicSequence).to.equal("330");
    expect(s.opening).to.deep.equal({ type: "OPBD", amount: 15_000_000n, date: "2026-11-29" });
    expect(s.closing).to.deep.equal({ type: "CLBD", amount: 15_239_555n, date: "2026-11-30" });
    expect(statementDay(s)).to.equal("2026-11-30");
    expect(statementCutoff(s)).to.equal(Date.parse("2026-11-30T17:00:00Z"));
    expect(s.entries).to.have.length(6);
    expect(s.entries[0]).to.deep.include({
      amount: 250_000n,
      direction: "credit",
      status: "booked",
      reversal: false,
      bookingDate: "2026-11-30",
      valueDate: "2026-11-30",
      endToEndId: "E2E-DEP-ALICE-0001",
      accountServicerRef: "EXAM-301130-000101",
    });
    expect(s.entries[1].valueDate).to.equal("2026-11-30");
    expect(s.entries[2].direction).to.equal("debit");
    expect(s.entries[3]).to.deep.include({ reversal: true, direction: "credit", amount: 4505n });
    expect(s.entries[4].status).to.equal("pending");
    // Two transactions in one entry: no single end-to-end id to match on.
    expect(s.entries[5].endToEndId).to.equal(undefined);
  });

  it("reads a 001.08 CNY statement (Othr id, Sts/Cd, PRCD, INFO entry)", () => {
    const s = parseCamt053(fixture("camt053-v08-cny.xml")).statements[0];
    expect(s.account).to.equal("6222021001123456789");
    expect(s.opening).to.deep.equal({ type: "PRCD", amount: 80_000_000n, date: "2026-11-29" });
    expect(s.closing.amount).to.equal(81_200_080n);
    expect(s.entries.map((e) => e.status)).to.deep.equal(["booked", "booked", "info"]);
    expect(s.entries[1].bookingDate).to.equal("2026-11-30");
  });

  it("reads JPY with exponent 0", () => {
    const s = parseCamt053(fixture("camt053-v02-jpy.xml")).statements[0];
    expect(s.exponent).to.equal(0);
    expect(s.closing.amount).to.equal(5_105_000n);
    expect(s.entries.map((e) => e.amount)).to.deep.equal([125_000n, 20_000n]);
  });

  it("reads both pages of a multi-page USD statement", () => {
    const p1 = parseCamt053(fixture("camt053-v08-usd-p1.xml")).statements[0];
    const p2 = parseCamt053(fixture("camt053-v08-usd-p2.xml")).statements[0];
    expect([p1.page, p1.lastPage, p2.page, p2.lastPage]).to.deep.equal([1, false, 2, true]);
    expect(p1.closing).to.deep.equal({ type: "ITBD", amount: 1_075_025n, date: "2026-11-30" });
    expect(p2.opening.amount).to.equal(p1.closing.amount);
    expect(p2.closing.amount).to.equal(1_050_025n);
  });

  it("reads the JSON feed form to the same model", () => {
    const doc = parseStatementDocument(fixture("statement-v1-eur.json"));
    expect(doc.format).to.equal("custody-bank-statement-v1");
    const s = doc.statements[0];
    expect(s.closing.amount).to.equal(15_339_554n);
    expect(s.entries[0]).to.deep.include({
      amount: 99_999n,
      endToEndId: "E2E-DEP-FRANK-0001",
      reversal: false,
    });
    expect(s.entries[1].status).to.equal("pending");
  });

  it("rejects opening + entries ≠ closing, naming the statement", () => {
    const xml = text("camt053-v02-eur.xml").replace(
      '<Amt Ccy="EUR">1000.50</Amt>',
      '<Amt Ccy="EUR">1000.51</Amt>',
    );
    const e = rejects(
      () => parseCamt053(xml),
      StatementBalanceMismatchError,
      /^Document\/BkToCstmrStmt\/Stmt\[0\]$/,
    );
    expect(e.details).to.contain("difference -1 minor units of EUR");
  });

  it("rejects an entry whose currency is not the account's, naming the entry", () => {
    const xml = text("camt053-v02-eur.xml").replace(
      '<Amt Ccy="EUR">300.00</Amt>',
      '<Amt Ccy="USD">300.00</Amt>',
    );
    rejects(() => parseCamt053(xml), StatementCurrencyMismatchError, /Stmt\[0\]\/Ntry\[2\]\/Amt\/@Ccy$/);
  });

  it("rejects JPY amounts with minor digits, naming the entry", () => {
    const xml = text("camt053-v02-jpy.xml").replace(
      '<Amt Ccy="JPY">125000</Amt>',
      '<Amt Ccy="JPY">125000.5</Amt>',
    );
    rejects(() => parseCamt053(xml), StatementAmountError, /Stmt\[0\]\/Ntry\[0\]\/Amt$/);
  });

  it("rejects missing elements, bad codes, bad dates, unknown versions and broken XML", () => {
    rejects(
      () =>
        parseCamt053(
          text("camt053-v02-eur.xml").replace("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>DEBIT</CdtDbtInd>"),
        ),
      MalformedStatementError,
      /Ntry\[2\]\/CdtDbtInd$/,
    );
    rejects(
      () => parseCamt053(text("camt053-v02-eur.xml").replace("<Sts>PDNG</Sts>", "<Sts>MAYBE</Sts>")),
      MalformedStatementError,
      /Ntry\[4\]\/Sts$/,
    );
    rejects(
      () => parseCamt053(text("camt053-v08-cny.xml").replace("<Id>CNY-SEG-20261130</Id>", "")),
      MalformedStatementError,
      /Stmt\[0\]\/Id$/,
    );
    rejects(
      () => parseCamt053(text("camt053-v02-jpy.xml").replace("<Dt>2026-11-29</Dt>", "<Dt>2026-13-29</Dt>")),
      MalformedStatementError,
      /Bal\[0\]\/Dt$/,
    );
    rejects(
      () => parseCamt053(text("camt053-v02-eur.xml").replace("xsd:camt.053.001.02", "xsd:camt.053.001.04")),
      UnsupportedStatementFormatError,
      /xmlns/,
    );
    rejects(
      () => parseCamt053(text("camt053-v02-eur.xml").replace("</Stmt>", "")),
      MalformedStatementError,
      /^line \d+/,
    );
    rejects(() => parseStatementJson("{"), MalformedStatementError, /^\$$/);
    rejects(
      () =>
        parseStatementJson(
          text("statement-v1-eur.json").replace('"direction": "credit"', '"direction": "up"'),
        ),
      MalformedStatementError,
      /^\$\.statements\[0\]\.entries\[0\]\.direction$/,
    );
    rejects(
      () => parseStatementJson(text("statement-v1-eur.json").replace('"153395.54"', '"153395.55"')),
      StatementBalanceMismatchError,
      /^\$\.statements\[0\]$/,
    );
  });
});

describe("bank: stored statement content", () => {
  it("is the canonical JSON the content hash always covered, and reads back to the same page", () => {
    const files = [
      "camt053-v02-eur.xml",
      "camt053-v02-jpy.xml",
      "camt053-v08-cny.xml",
      "camt053-v08-usd-p1.xml",
      "camt053-v08-usd-p2.xml",
      "statement-v1-eur.json",
    ];
    for (const f of files)
      for (const s of parseStatementDocument(fixture(f)).statements) {
        // The form content hashes had before contents were stored (bigints as strings, JSON round trip).
        const before = canonicalJson(
          JSON.parse(JSON.stringify(s, (_k, v) => (typeof v === "bigint" ? v.toString() : v))) as JsonValue,
        );
        expect(statementContent(s), f).to.equal(before);
        expect(statementFromContent(statementContent(s)), f).to.deep.equal(s);
      }
  });
});
