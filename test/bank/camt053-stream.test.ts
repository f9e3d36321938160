import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { parseCamt053 } from "../../src/bank/camt053";
import { writeCamt053 } from "../../src/bank/camt053-writer";
import { MalformedStatementError, StatementAmountError } from "../../src/bank/errors";
import type { BankStatement } from "../../src/bank/statement";
import { parseCamt053Tree } from "./camt053-tree";

/**
 * parseCamt053 reads the document in one streaming pass (saxes) and maps each entry as it closes.
 * camt053-tree.ts is the former reading (fast-xml-parser's validator, then its object tree, then
 * the same mapping): the two must agree on every document, accepted or refused.
 */
const FIXTURES = [
  "camt053-v02-eur.xml",
  "camt053-v02-jpy.xml",
  "camt053-v08-cny.xml",
  "camt053-v08-usd-p1.xml",
  "camt053-v08-usd-p2.xml",
];
const fixture = (name: string) => readFileSync(join(__dirname, "fixtures", name), "utf8");

type Outcome = { ok: string } | { error: string; where: string };

function outcome(fn: () => unknown): Outcome {
  try {
    return { ok: JSON.stringify(fn(), (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) };
  } catch (e) {
    const x = e as { name: string; where?: string };
    // The two XML readers count columns differently; both name a line and a column.
    const where = x.where ?? "";
    return { error: x.name, where: /^line \d+, column /.test(where) ? "line, column" : where };
  }
}

function sameAsTree(xml: string, what: string) {
  expect(
    outcome(() => parseCamt053(xml)),
    what,
  ).to.deep.equal(outcome(() => parseCamt053Tree(xml)));
}

/**
 * Every leaf element removed, emptied, set to "X" and doubled; every element given an unknown child,
 * text, and its first child again; the document cut every 61 characters.
 */
function mutations(xml: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of xml.matchAll(/<([A-Za-z]+)( [^>]*)?>([^<]*)<\/\1>/g)) {
    const i = m.index;
    const j = i + m[0].length;
    const open = `<${m[1]}${m[2] ?? ""}>`;
    out.push([`without ${m[0]} at ${i}`, xml.slice(0, i) + xml.slice(j)]);
    out.push([`${m[1]} empty at ${i}`, `${xml.slice(0, i)}${open}</${m[1]}>${xml.slice(j)}`]);
    out.push([`${m[1]} = X at ${i}`, `${xml.slice(0, i)}${open}X</${m[1]}>${xml.slice(j)}`]);
    out.push([`${m[1]} twice at ${i}`, xml.slice(0, i) + m[0] + m[0] + xml.slice(j)]);
  }
  // Into every element: an unknown child, a copy of its first child, and text beside its children.
  for (const m of xml.matchAll(/<([A-Za-z]+)( [^>]*)?>(\s*<([A-Za-z]+)[^>]*>[^<]*<\/\4>)?/g)) {
    const j = m.index + m[0].length - (m[3]?.length ?? 0);
    out.push([`child in ${m[1]} at ${j}`, `${xml.slice(0, j)}<Xtra>x</Xtra>${xml.slice(j)}`]);
    out.push([`text in ${m[1]} at ${j}`, `${xml.slice(0, j)} more ${xml.slice(j)}`]);
    if (m[3]) out.push([`${m[4]} again in ${m[1]} at ${j}`, `${xml.slice(0, j)}${m[3]}${xml.slice(j)}`]);
  }
  for (let k = 1; k < xml.length; k += 61) out.push([`cut at ${k}`, xml.slice(0, k)]);
  return out;
}

function bigStatement(n: number, e2e: (i: number) => string): BankStatement {
  const day = "2026-11-30";
  let closing = 0n;
  const entries = Array.from({ length: n }, (_, i) => {
    const amount = BigInt(1 + ((i * 7919) % 100_000));
    const credit = i % 5 !== 0;
    closing += credit ? amount : -amount;
    return {
      index: i,
      amount,
      direction: credit ? ("credit" as const) : ("debit" as const),
      status: "booked" as const,
      reversal: i % 97 === 0,
      bookingDate: day,
      valueDate: day,
      endToEndId: e2e(i),
      accountServicerRef: `ASR-${i}`,
    };
  });
  return {
    id: "BIG",
    account: "DE89370400440532013000",
    currency: "EUR",
    exponent: 2,
    page: 1,
    lastPage: true,
    opening: { type: "OPBD", amount: 10n ** 12n, date: day },
    closing: { type: "CLBD", amount: 10n ** 12n + closing, date: day },
    entries,
  };
}

describe("bank: camt.053 streaming parse", () => {
  it("gives the tree reading's result on every fixture", () => {
    for (const f of FIXTURES) {
      const xml = fixture(f);
      expect(parseCamt053(xml), f).to.deep.equal(parseCamt053Tree(xml));
      expect(parseCamt053(Buffer.from(xml)), f).to.deep.equal(parseCamt053Tree(xml));
    }
  });

  it("accepts and refuses exactly as the tree reading, with the same error and place (every leaf mutated, every cut)", () => {
    let cases = 0;
    for (const f of FIXTURES)
      for (const [what, xml] of mutations(fixture(f))) {
        sameAsTree(xml, `${f}: ${what}`);
        cases++;
      }
    expect(cases).to.be.greaterThan(1500);
  });

  it("reads large statements of both versions, across chunk boundaries, from bytes and from text", () => {
    for (const version of ["02", "08"] as const) {
      const s = bigStatement(3000, (i) => `E2E-ü€-${i}`);
      const xml = writeCamt053([s], { version, messageId: "BIG", createdAt: "2026-11-30T18:00:00Z" });
      expect(Buffer.byteLength(xml)).to.be.greaterThan(2 ** 20);
      const doc = parseCamt053(Buffer.from(xml));
      expect(doc.statements[0].entries).to.have.length(3000);
      expect(doc.statements[0].entries[2999].endToEndId).to.equal("E2E-ü€-2999");
      expect(doc).to.deep.equal(parseCamt053Tree(xml));
      expect(parseCamt053(xml)).to.deep.equal(doc);
    }
  });

  it("decodes a multi-byte character split between two chunks of bytes", () => {
    const xml = writeCamt053([bigStatement(10, (i) => `E2E-${i}`)], {
      version: "08",
      messageId: "B",
      createdAt: "2026-11-30T18:00:00Z",
    }).replace("<Id>BIG</Id>", "<Id>BIG-€</Id>");
    const at = xml.indexOf("<Ntry>");
    const head = Buffer.byteLength(xml.slice(0, at));
    // The comment's "€" (3 bytes) starts one byte before the first 1 MiB chunk ends.
    const pad = "a".repeat(2 ** 20 - 1 - head - "<!--".length);
    const split = `${xml.slice(0, at)}<!--${pad}€-->${xml.slice(at)}`;
    expect(
      Buffer.from(split)
        .subarray(2 ** 20 - 1, 2 ** 20 + 2)
        .toString(),
    ).to.equal("€");
    expect(parseCamt053(Buffer.from(split)).statements[0].id).to.equal("BIG-€");
    expect(parseCamt053(Buffer.from(split))).to.deep.equal(parseCamt053Tree(split));
  });

  it("refuses XML that is not well-formed wherever the fault is, before any mapping error", () => {
    const s = bigStatement(2000, (i) => `E2E-${i}`);
    const xml = writeCamt053([s], { version: "08", messageId: "B", createdAt: "2026-11-30T18:00:00Z" });
    const lines = xml.split("\n");
    const broken: [string, string][] = [
      ["a stray '<' at the start", xml.replace("<GrpHdr>", "<GrpHdr><")],
      ["a mismatched end tag in entry 3", xml.replace("</AcctSvcrRef>", "</AcctSvcrRf>")],
      ["an unclosed entry at the end", xml.replace(/<\/Ntry>\s*<\/Stmt>/, "</Stmt>")],
      ["text after the root", `${xml}\ntrailing`],
      ["a second root", `${xml}<Document/>`],
      ["cut in the middle", xml.slice(0, xml.length >> 1)],
      ["an undefined entity", xml.replace("<MsgId>B</MsgId>", "<MsgId>B&nbsp;</MsgId>")],
      ["an unquoted attribute", xml.replace('<Amt Ccy="EUR">', "<Amt Ccy=EUR>")],
      // A mapping error early on (an amount that is not a decimal) does not hide the XML fault.
      ["a bad amount first, a broken tag last", xml.replace(">0.01<", ">x<").replace("</Stmt>", "</Stmtt>")],
    ];
    for (const [what, doc] of broken)
      for (const input of [doc, Buffer.from(doc)]) {
        let err: unknown;
        try {
          parseCamt053(input);
        } catch (e) {
          err = e;
        }
        expect(err, what).to.be.instanceOf(MalformedStatementError);
        expect((err as MalformedStatementError).where, what).to.match(/^line \d+, column \d+$/);
        expect((err as Error).message, what).to.contain("not well-formed XML");
      }
    const line = Number(/^line (\d+)/.exec(outcomeWhere(broken[1][1]))?.[1]);
    expect(lines[line - 1]).to.contain("<AcctSvcrRef>ASR-0<");
  });

  it("names the entry of a mapping error in a large statement, after the statement-level checks", () => {
    const s = bigStatement(2000, (i) => `E2E-${i}`);
    const xml = writeCamt053([s], { version: "08", messageId: "B", createdAt: "2026-11-30T18:00:00Z" });
    const at = xml.indexOf("<AcctSvcrRef>ASR-1500</AcctSvcrRef>");
    const amt = xml.lastIndexOf('<Amt Ccy="EUR">', at);
    const bad = `${xml.slice(0, amt)}<Amt Ccy="EUR">1.001</Amt>${xml.slice(xml.indexOf("</Amt>", amt) + 6)}`;
    expect(outcome(() => parseCamt053(bad))).to.deep.equal({
      error: StatementAmountError.name,
      where: "Document/BkToCstmrStmt/Stmt[0]/Ntry[1500]/Amt",
    });
    sameAsTree(bad, "bad amount in entry 1500");
    // A statement-level fault (no Id) comes first, as it did when the whole tree was read first.
    sameAsTree(bad.replace("<Id>BIG</Id>", ""), "no Stmt/Id and a bad amount");
  });

  it("reads a namespace-prefixed document, CDATA and character references", () => {
    const xml = fixture("camt053-v08-cny.xml");
    const prefixed = xml
      .replace(/<(\/?)([A-Za-z])/g, "<$1c:$2")
      .replace('<c:Document xmlns="', '<c:Document xmlns:c="');
    expect(prefixed).to.contain("<c:Document xmlns:c=");
    expect(parseCamt053(prefixed)).to.deep.equal(parseCamt053(xml));
    sameAsTree(prefixed, "prefixed");
    const cdata = xml.replace("<Id>CNY-SEG-20261130</Id>", "<Id><![CDATA[CNY-SEG-20261130]]></Id>");
    expect(parseCamt053(cdata)).to.deep.equal(parseCamt053(xml));
    // A character reference is the character (XML 1.0 §4.1).
    const ref = xml.replace("<Id>CNY-SEG-20261130</Id>", "<Id>CNY-SEG-&#50;0261130</Id>");
    expect(parseCamt053(ref)).to.deep.equal(parseCamt053(xml));
    const bom = `\ufeff${xml}`;
    expect(parseCamt053(Buffer.from(bom))).to.deep.equal(parseCamt053(xml));
  });

  it("refuses entries that come before the account currency (camt.053 element order)", () => {
    const xml = fixture("camt053-v02-jpy.xml");
    const acct = /<Acct>[\s\S]*?<\/Acct>/.exec(xml)?.[0] as string;
    const moved = xml.replace(acct, "").replace("</Stmt>", `${acct}</Stmt>`);
    expect(outcome(() => parseCamt053(moved))).to.deep.equal({
      error: MalformedStatementError.name,
      where: "Document/BkToCstmrStmt/Stmt[0]/Acct",
    });
  });
});

function outcomeWhere(xml: string): string {
  try {
    parseCamt053(xml);
  } catch (e) {
    return (e as MalformedStatementError).where;
  }
  return "";
}
