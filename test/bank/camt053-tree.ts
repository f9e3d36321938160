import { XMLParser, XMLValidator } from "fast-xml-parser";
import { currencyExponent, parseMinorUnits } from "../../src/bank/currency";
import { MalformedStatementError, UnsupportedStatementFormatError } from "../../src/bank/errors";
import {
  type BalanceType,
  type BankDocument,
  type BankStatement,
  type EntryStatus,
  type StatementBalance,
  type StatementEntry,
  type StatementFormat,
  checkCurrency,
  checkStatementConsistency,
  dateOf,
} from "../../src/bank/statement";

/**
 * ISO 20022 camt.053 (BankToCustomerStatement) versions 001.02 and 001.08 to the statement model.
 * Pure. Element names follow the ISO 20022 message definitions; the two versions differ here in
 * `Ntry/Sts` (a code in 02, `Sts/Cd` in 08) and in pagination (`GrpHdr/MsgPgntn` in both,
 * `Stmt/StmtPgntn` from 08 on).
 */
const NAMESPACES: Record<string, StatementFormat> = {
  "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02": "camt.053.001.02",
  "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08": "camt.053.001.08",
};

const REPEATED = new Set(["Stmt", "Bal", "Ntry", "NtryDtls", "TxDtls"]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  removeNSPrefix: true,
  // Every value stays a string: amounts must never pass through a JavaScript number.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => REPEATED.has(name),
});

// Reads only the root's attributes (the namespace names the version): the body stays unparsed.
const rootReader = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  stopNodes: ["*.BkToCstmrStmt"],
});

type Node = Record<string, unknown>;

function rootNamespace(xml: string): string {
  const tree = rootReader.parse(xml) as Node;
  for (const [k, v] of Object.entries(tree)) {
    if (k !== "Document" && !k.endsWith(":Document")) continue;
    if (!isNode(v)) return "";
    const prefix = k.includes(":") ? `:${k.slice(0, k.indexOf(":"))}` : "";
    const ns = v[`@xmlns${prefix}`];
    return typeof ns === "string" ? ns : "";
  }
  return "";
}

function isNode(v: unknown): v is Node {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function opt(n: Node, name: string): Node | undefined {
  const v = n[name];
  if (v === undefined) return undefined;
  return isNode(v) ? v : { "#text": v };
}

function req(n: Node, name: string, path: string): Node {
  const v = opt(n, name);
  if (!v) throw new MalformedStatementError(`${path}/${name}`, "required element is missing");
  return v;
}

function textOf(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (isNode(v) && typeof v["#text"] === "string") return v["#text"];
  return undefined;
}

function optText(n: Node, name: string): string | undefined {
  const t = textOf(n[name]);
  return t === undefined || t === "" ? undefined : t;
}

function reqText(n: Node, name: string, path: string): string {
  const t = optText(n, name);
  if (t === undefined)
    throw new MalformedStatementError(`${path}/${name}`, "required element is missing or empty");
  return t;
}

function list(n: Node, name: string): Node[] {
  const v = n[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (isNode(x) ? x : { "#text": x }));
}

/** ISODate or ISODateTime element holder (`Dt` or `DtTm`) as its calendar date. */
function dateChoice(n: Node | undefined, path: string): string | undefined {
  if (!n) return undefined;
  const d = optText(n, "Dt") ?? optText(n, "DtTm");
  if (d === undefined) throw new MalformedStatementError(path, "expected Dt or DtTm");
  return dateOf(d, path);
}

function amountOf(n: Node, name: string, path: string, currency: string, exponent: number): bigint {
  const a = req(n, name, path);
  const ccy = typeof a["@Ccy"] === "string" ? a["@Ccy"] : undefined;
  if (ccy === undefined) throw new MalformedStatementError(`${path}/${name}`, "Ccy attribute is missing");
  checkCurrency(ccy, currency, `${path}/${name}/@Ccy`);
  const t = textOf(a);
  if (t === undefined) throw new MalformedStatementError(`${path}/${name}`, "amount is empty");
  return parseMinorUnits(t, exponent, `${path}/${name}`);
}

function direction(n: Node, path: string): "credit" | "debit" {
  const d = reqText(n, "CdtDbtInd", path);
  if (d === "CRDT") return "credit";
  if (d === "DBIT") return "debit";
  throw new MalformedStatementError(`${path}/CdtDbtInd`, `expected CRDT or DBIT, got ${JSON.stringify(d)}`);
}

const BALANCE_TYPES = new Set<BalanceType>(["OPBD", "PRCD", "ITBD", "CLBD"]);

function balances(stmt: Node, path: string, currency: string, exponent: number) {
  const out: StatementBalance[] = [];
  list(stmt, "Bal").forEach((b, i) => {
    const p = `${path}/Bal[${i}]`;
    const code = optText(req(req(b, "Tp", p), "CdOrPrtry", `${p}/Tp`), "Cd");
    // Other balance types (CLAV, FWAV, ITAV...) are read past: the comparison uses booked balances.
    if (code === undefined || !BALANCE_TYPES.has(code as BalanceType)) return;
    const amount = amountOf(b, "Amt", p, currency, exponent);
    const date = dateChoice(req(b, "Dt", p), `${p}/Dt`);
    out.push({
      type: code as BalanceType,
      amount: direction(b, p) === "credit" ? amount : -amount,
      date: date as string,
    });
  });
  const opening =
    out.find((b) => b.type === "OPBD" || b.type === "PRCD") ?? out.find((b) => b.type === "ITBD");
  const closing =
    out.find((b) => b.type === "CLBD") ??
    (opening ? out.filter((b) => b.type === "ITBD" && b !== opening).pop() : undefined);
  if (!opening)
    throw new MalformedStatementError(`${path}/Bal`, "no opening booked balance (OPBD, PRCD or ITBD)");
  if (!closing)
    throw new MalformedStatementError(`${path}/Bal`, "no closing booked balance (CLBD or a second ITBD)");
  return { opening, closing };
}

function entryStatus(n: Node, path: string): EntryStatus {
  const raw = n["Sts"];
  const code = textOf(raw) ?? (isNode(raw) ? optText(raw, "Cd") : undefined);
  if (code === "BOOK") return "booked";
  if (code === "PDNG" || code === "FUTR") return "pending";
  if (code === "INFO") return "info";
  throw new MalformedStatementError(
    `${path}/Sts`,
    `expected BOOK, PDNG, FUTR or INFO, got ${JSON.stringify(code)}`,
  );
}

function entry(n: Node, index: number, path: string, currency: string, exponent: number): StatementEntry {
  const e: StatementEntry = {
    index,
    amount: amountOf(n, "Amt", path, currency, exponent),
    direction: direction(n, path),
    status: entryStatus(n, path),
    reversal: false,
  };
  const rv = optText(n, "RvslInd");
  if (rv !== undefined) {
    if (rv !== "true" && rv !== "false" && rv !== "1" && rv !== "0")
      throw new MalformedStatementError(`${path}/RvslInd`, `expected a boolean, got ${JSON.stringify(rv)}`);
    e.reversal = rv === "true" || rv === "1";
  }
  const bd = dateChoice(opt(n, "BookgDt"), `${path}/BookgDt`);
  if (bd) e.bookingDate = bd;
  const vd = dateChoice(opt(n, "ValDt"), `${path}/ValDt`);
  if (vd) e.valueDate = vd;
  const asr = optText(n, "AcctSvcrRef");
  if (asr) e.accountServicerRef = asr;
  const nr = optText(n, "NtryRef");
  if (nr) e.entryRef = nr;
  // A batch entry (several TxDtls) has no single end-to-end id; only a lone transaction's counts.
  const txs = list(n, "NtryDtls").flatMap((d) => list(d, "TxDtls"));
  if (txs.length === 1) {
    const refs = opt(txs[0], "Refs");
    const e2e = refs ? optText(refs, "EndToEndId") : undefined;
    if (e2e && e2e !== "NOTPROVIDED") e.endToEndId = e2e;
  }
  return e;
}

function accountId(acct: Node, path: string): string {
  const id = req(acct, "Id", path);
  const iban = optText(id, "IBAN");
  if (iban) return iban.replace(/\s+/g, "").toUpperCase();
  const othr = opt(id, "Othr");
  const o = othr ? optText(othr, "Id") : undefined;
  if (o) return o;
  throw new MalformedStatementError(`${path}/Id`, "expected IBAN or Othr/Id");
}

function pagination(n: Node | undefined, path: string): { page: number; last: boolean } | undefined {
  if (!n) return undefined;
  const pg = reqText(n, "PgNb", path);
  if (!/^[1-9]\d{0,4}$/.test(pg))
    throw new MalformedStatementError(`${path}/PgNb`, `expected a page number, got ${pg}`);
  const last = reqText(n, "LastPgInd", path);
  if (last !== "true" && last !== "false" && last !== "1" && last !== "0")
    throw new MalformedStatementError(`${path}/LastPgInd`, `expected a boolean, got ${JSON.stringify(last)}`);
  return { page: Number(pg), last: last === "true" || last === "1" };
}

function statement(
  stmt: Node,
  path: string,
  msgPage: { page: number; last: boolean } | undefined,
): BankStatement {
  const acct = req(stmt, "Acct", path);
  const currency = optText(acct, "Ccy");
  let ccy = currency;
  if (ccy === undefined) {
    // Ccy is optional on the account: then every amount must agree, the first balance names it.
    const b0 = list(stmt, "Bal")[0];
    const a = b0 ? opt(b0, "Amt") : undefined;
    ccy = a && typeof a["@Ccy"] === "string" ? a["@Ccy"] : undefined;
  }
  if (ccy === undefined) throw new MalformedStatementError(`${path}/Acct/Ccy`, "no account currency");
  const exponent = currencyExponent(ccy, currency ? `${path}/Acct/Ccy` : `${path}/Bal[0]/Amt/@Ccy`);
  const { opening, closing } = balances(stmt, path, ccy, exponent);
  const pg = pagination(opt(stmt, "StmtPgntn"), `${path}/StmtPgntn`) ?? msgPage ?? { page: 1, last: true };
  const s: BankStatement = {
    id: reqText(stmt, "Id", path),
    account: accountId(acct, `${path}/Acct`),
    currency: ccy,
    exponent,
    page: pg.page,
    lastPage: pg.last,
    opening,
    closing,
    entries: list(stmt, "Ntry").map((n, i) => entry(n, i, `${path}/Ntry[${i}]`, ccy as string, exponent)),
  };
  const seq = optText(stmt, "ElctrncSeqNb");
  if (seq) s.electronicSequence = seq;
  const cre = optText(stmt, "CreDtTm");
  if (cre) s.createdAt = cre;
  const ft = opt(stmt, "FrToDt");
  if (ft) {
    const from = optText(ft, "FrDtTm");
    const to = optText(ft, "ToDtTm");
    if (from) s.fromDateTime = from;
    if (to) {
      if (Number.isNaN(Date.parse(to)))
        throw new MalformedStatementError(
          `${path}/FrToDt/ToDtTm`,
          `${JSON.stringify(to)} is not a date-time`,
        );
      s.toDateTime = to;
    }
  }
  checkStatementConsistency(s, path);
  return s;
}

/**
 * Parses and checks one camt.053 message. Throws a StatementRejectedError subclass naming the
 * element at fault; never returns a statement whose balances do not add up.
 *
 * @example
 * const doc = parseCamt053(readFileSync("stmt.xml"));
 * doc.statements[0].closing.amount; // bigint minor units
 */
export function parseCamt053Tree(raw: Uint8Array | string): BankDocument {
  const xml =
    typeof raw === "string" ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8");
  const valid = XMLValidator.validate(xml);
  if (valid !== true)
    throw new MalformedStatementError(
      `line ${valid.err.line}, column ${valid.err.col}`,
      `not well-formed XML: ${valid.err.msg}`,
    );
  const tree = parser.parse(xml) as Node;
  const doc = opt(tree, "Document");
  if (!doc) throw new UnsupportedStatementFormatError("/", "the root element is not an ISO 20022 Document");
  const ns = rootNamespace(xml);
  const format = NAMESPACES[ns];
  if (!format)
    throw new UnsupportedStatementFormatError(
      "Document/@xmlns",
      `unsupported message ${JSON.stringify(ns)}`,
      {
        details: `expected one of ${Object.keys(NAMESPACES).join(", ")}`,
      },
    );
  const root = req(doc, "BkToCstmrStmt", "Document");
  const base = "Document/BkToCstmrStmt";
  const hdr = req(root, "GrpHdr", base);
  const msgPage = pagination(opt(hdr, "MsgPgntn"), `${base}/GrpHdr/MsgPgntn`);
  const stmts = list(root, "Stmt");
  if (stmts.length === 0) throw new MalformedStatementError(`${base}/Stmt`, "the message holds no statement");
  const createdAt = reqText(hdr, "CreDtTm", `${base}/GrpHdr`);
  if (Number.isNaN(Date.parse(createdAt)))
    throw new MalformedStatementError(
      `${base}/GrpHdr/CreDtTm`,
      `${JSON.stringify(createdAt)} is not a date-time`,
    );
  return {
    format,
    messageId: reqText(hdr, "MsgId", `${base}/GrpHdr`),
    createdAt,
    statements: stmts.map((s, i) => statement(s, `${base}/Stmt[${i}]`, msgPage)),
  };
}
