import { SaxesParser, type SaxesTagPlain } from "saxes";
import { currencyExponent, parseMinorUnits } from "./currency";
import { StrictUtf8Decoder } from "./utf8";
import { MalformedStatementError, StatementRejectedError, UnsupportedStatementFormatError } from "./errors";
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
} from "./statement";

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

type Node = Record<string, unknown>;

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

/** The account currency and its exponent, read from `Acct/Ccy` or else the first balance's `Amt/@Ccy`. */
function accountCurrency(stmt: Node, path: string): { ccy: string; exponent: number } {
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
  return { ccy, exponent };
}

/**
 * One `Stmt` as it streams: its entries are mapped as each `Ntry` closes (and then dropped), with
 * the account currency as read from the elements before the first entry. `error` is the first
 * entry's rejection, thrown where the entries are evaluated, after the statement-level checks.
 */
interface StmtStream {
  path: string;
  entries: StatementEntry[];
  count: number;
  /** The currency the entries were mapped with; null when it could not be read (then none are). */
  mappedWith?: { ccy: string; exponent: number } | null;
  error?: StatementRejectedError;
}

function statement(
  stmt: Node,
  stream: StmtStream | undefined,
  path: string,
  msgPage: { page: number; last: boolean } | undefined,
): BankStatement {
  const acct = req(stmt, "Acct", path);
  const { ccy, exponent } = accountCurrency(stmt, path);
  const { opening, closing } = balances(stmt, path, ccy, exponent);
  const pg = pagination(opt(stmt, "StmtPgntn"), `${path}/StmtPgntn`) ?? msgPage ?? { page: 1, last: true };
  const entries = (): StatementEntry[] => {
    if (!stream || stream.count === 0) return [];
    const m = stream.mappedWith;
    // Entries are mapped as they arrive: the currency must be known before them (camt.053 puts
    // Acct and Bal before Ntry) and must be the one the whole statement reads.
    if (!m || m.ccy !== ccy || m.exponent !== exponent)
      throw new MalformedStatementError(
        `${path}/Acct`,
        "the account currency must be given (Acct/Ccy or Bal) before the entries",
      );
    if (stream.error) throw stream.error;
    return stream.entries;
  };
  const s: BankStatement = {
    id: reqText(stmt, "Id", path),
    account: accountId(acct, `${path}/Acct`),
    currency: ccy,
    exponent,
    page: pg.page,
    lastPage: pg.last,
    opening,
    closing,
    entries: entries(),
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

const localName = (qname: string): string => {
  const i = qname.indexOf(":");
  return i < 0 ? qname : qname.slice(i + 1);
};

/** The children of an element that the mapping reads (each with its own); others are not built. */
type Reads = ReadonlyMap<string, Reads>;
const reads = (o: { [k: string]: Reads }): Reads => new Map(Object.entries(o));
const LEAF: Reads = new Map();
const DATE = reads({ Dt: LEAF, DtTm: LEAF });

/** What `entry` reads of a `Ntry`: the rest (BkTxCd, AmtDtls, parties, remittance...) is only checked for well-formedness. */
const ENTRY_READS = reads({
  Amt: LEAF,
  CdtDbtInd: LEAF,
  Sts: reads({ Cd: LEAF }),
  RvslInd: LEAF,
  BookgDt: DATE,
  ValDt: DATE,
  AcctSvcrRef: LEAF,
  NtryRef: LEAF,
  NtryDtls: reads({ TxDtls: reads({ Refs: reads({ EndToEndId: LEAF }) }) }),
});

/** An element being read: its children and attributes (`node`, made on the first), its text. */
interface Frame {
  name: string;
  node: Node | undefined;
  text: string;
  /** Which children to build; undefined: all of them. */
  reads: Reads | undefined;
}

/** An element inside one the mapping does not read. */
const SKIPPED: Frame = { name: "", node: undefined, text: "", reads: LEAF };

/** Bytes fed to the XML parser per write: the document is never decoded to one string. */
const CHUNK = 1 << 20;

/** Thrown out of the SAX callbacks to stop at the first well-formedness error. */
class NotWellFormed extends Error {}

/**
 * A streaming read of the document with saxes (a conformant XML 1.0 parser: a document that is not
 * well-formed fails, with its line and column). Builds small element trees of the same shape the
 * mapping functions read — an element with only text is its (trimmed) text; with attributes or
 * children an object with `@attr` keys, child keys (arrays for the REPEATED names and any repeated
 * element) and `#text` — except that each `Document/BkToCstmrStmt/Stmt/Ntry` is mapped to its
 * StatementEntry as it closes and not kept, and only the parts of it the mapping reads are built. Mapping errors are kept until the end: a document that
 * is not well-formed is refused as such wherever its first fault is, and the other checks run in
 * document order afterwards.
 */
function readDocument(raw: Uint8Array | string): {
  root: string;
  namespace: string;
  tree: Node | string | undefined;
  streams: WeakMap<Node, StmtStream>;
} {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const stack: Frame[] = [];
  const streams = new WeakMap<Node, StmtStream>();
  let root = "";
  let namespace = "";
  let tree: Node | string | undefined;
  // Only a camt.053 Document of a supported version is built and mapped; anything else is only
  // checked for well-formedness before it is refused.
  let build = false;
  let stmtIndex = 0;
  let stream: StmtStream | undefined;
  let stmtNode: Node | undefined;
  let xmlError: { line: number; column: number; message: string } | undefined;

  const addChild = (parent: Node, name: string, value: unknown) => {
    const prev = parent[name];
    if (prev === undefined) parent[name] = REPEATED.has(name) ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else parent[name] = [prev, value];
  };

  parser.on("error", (e) => {
    const m = /^\d+:\d+: /.exec(e.message);
    xmlError = {
      line: parser.line,
      column: parser.column,
      message: m ? e.message.slice(m[0].length) : e.message,
    };
    throw new NotWellFormed();
  });
  parser.on("opentag", (tag: SaxesTagPlain) => {
    const depth = stack.length;
    const name = localName(tag.name);
    if (depth === 0) {
      root = name;
      const i = tag.name.indexOf(":");
      const ns = tag.attributes[i < 0 ? "xmlns" : `xmlns:${tag.name.slice(0, i)}`];
      namespace = typeof ns === "string" ? ns : "";
      build = name === "Document" && NAMESPACES[namespace] !== undefined;
    }
    if (!build) {
      stack.push(SKIPPED);
      return;
    }
    let want: Reads | undefined;
    if (depth > 0) {
      const parent = stack[depth - 1];
      if (parent === SKIPPED) {
        stack.push(SKIPPED);
        return;
      }
      parent.node ??= {};
      if (parent.reads !== undefined) {
        want = parent.reads.get(name);
        if (want === undefined) {
          stack.push(SKIPPED);
          return;
        }
      } else if (depth === 3 && name === "Ntry" && parent.node === stmtNode) want = ENTRY_READS;
    }
    let node: Node | undefined;
    for (const k in tag.attributes) {
      if (k === "xmlns" || k.startsWith("xmlns:")) continue;
      (node ??= {})[`@${localName(k)}`] = tag.attributes[k];
    }
    if (depth === 2 && name === "Stmt" && stack[1].name === "BkToCstmrStmt") {
      node ??= {};
      stmtNode = node;
      stream = { path: `Document/BkToCstmrStmt/Stmt[${stmtIndex++}]`, entries: [], count: 0 };
      streams.set(node, stream);
    }
    stack.push({ name, node, text: "", reads: want });
  });
  // saxes reports each run of text between two pieces of markup once: trimmed per run, as
  // fast-xml-parser's trimValues did.
  parser.on("text", (t) => {
    const f = stack[stack.length - 1];
    if (f === undefined || f === SKIPPED) return;
    const v = t.trim();
    if (v !== "") f.text += v;
  });
  parser.on("cdata", (t) => {
    const f = stack[stack.length - 1];
    if (f === undefined || f === SKIPPED) return;
    f.text += t;
  });
  parser.on("closetag", () => {
    const f = stack.pop() as Frame;
    if (f === SKIPPED) return;
    let value: Node | string;
    if (f.node === undefined) value = f.text;
    else {
      if (f.text !== "") f.node["#text"] = f.text;
      value = f.node;
    }
    const depth = stack.length;
    if (depth === 0) {
      tree = value;
      return;
    }
    if (f.reads === ENTRY_READS && stream) {
      onEntry(stream, stmtNode as Node, value);
      return;
    }
    addChild(stack[depth - 1].node as Node, f.name, value);
  });

  const onEntry = (st: StmtStream, stmt: Node, value: Node | string) => {
    const index = st.count++;
    if (st.mappedWith === undefined) {
      try {
        const { ccy, exponent } = accountCurrency(stmt, st.path);
        st.mappedWith = { ccy, exponent };
      } catch (e) {
        if (!(e instanceof StatementRejectedError)) throw e;
        st.mappedWith = null;
      }
    }
    if (st.mappedWith === null || st.error) return;
    try {
      const n = isNode(value) ? value : { "#text": value };
      st.entries.push(
        entry(n, index, `${st.path}/Ntry[${index}]`, st.mappedWith.ccy, st.mappedWith.exponent),
      );
    } catch (e) {
      if (!(e instanceof StatementRejectedError)) throw e;
      st.error = e;
    }
  };

  try {
    if (typeof raw === "string") {
      for (let i = 0; i < raw.length; i += CHUNK) parser.write(raw.slice(i, i + CHUNK));
    } else {
      const decoder = new StrictUtf8Decoder(raw);
      for (let i = 0; i < raw.length; i += CHUNK)
        parser.write(decoder.write(raw.subarray(i, Math.min(i + CHUNK, raw.length))));
      const rest = decoder.end();
      if (rest) parser.write(rest);
    }
    parser.close();
  } catch (e) {
    if (!(e instanceof NotWellFormed)) throw e;
  }
  if (xmlError)
    throw new MalformedStatementError(
      `line ${xmlError.line}, column ${xmlError.column}`,
      `not well-formed XML: ${xmlError.message}`,
    );
  return { root, namespace, tree, streams };
}

/**
 * Parses and checks one camt.053 message in one streaming pass. Throws a StatementRejectedError
 * subclass naming the element at fault (or the line and column of a well-formedness fault); never
 * returns a statement whose balances do not add up.
 *
 * @example
 * const doc = parseCamt053(readFileSync("stmt.xml"));
 * doc.statements[0].closing.amount; // bigint minor units
 */
export function parseCamt053(raw: Uint8Array | string): BankDocument {
  const { root, namespace, tree, streams } = readDocument(raw);
  if (root !== "Document")
    throw new UnsupportedStatementFormatError("/", "the root element is not an ISO 20022 Document");
  const format = NAMESPACES[namespace];
  if (!format)
    throw new UnsupportedStatementFormatError(
      "Document/@xmlns",
      `unsupported message ${JSON.stringify(namespace)}`,
      {
        details: `expected one of ${Object.keys(NAMESPACES).join(", ")}`,
      },
    );
  const doc: Node = isNode(tree) ? tree : { "#text": tree };
  const rootEl = req(doc, "BkToCstmrStmt", "Document");
  const base = "Document/BkToCstmrStmt";
  const hdr = req(rootEl, "GrpHdr", base);
  const msgPage = pagination(opt(hdr, "MsgPgntn"), `${base}/GrpHdr/MsgPgntn`);
  const stmts = list(rootEl, "Stmt");
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
    statements: stmts.map((s, i) => statement(s, streams.get(s), `${base}/Stmt[${i}]`, msgPage)),
  };
}
