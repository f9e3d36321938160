import { XMLBuilder } from "fast-xml-parser";
import { formatMinorUnits } from "./currency";
import type { BankStatement, StatementBalance, StatementEntry } from "./statement";

/**
 * Writes statements as camt.053 XML (001.02 or 001.08): what the demo's simulated custodian bank
 * sends, and how tests derive statements from a ledger. Pure. Output parses back to the same model
 * with `parseCamt053` (entry indexes are positions).
 */
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  format: true,
  suppressEmptyNode: true,
});

export interface WriteCamt053Options {
  version: "02" | "08";
  messageId: string;
  createdAt: string;
}

function dateHolder(d: string) {
  return { Dt: d };
}

function balance(b: StatementBalance, ccy: string, exponent: number) {
  return {
    Tp: { CdOrPrtry: { Cd: b.type } },
    Amt: { "@Ccy": ccy, "#text": formatMinorUnits(b.amount < 0n ? -b.amount : b.amount, exponent) },
    CdtDbtInd: b.amount < 0n ? "DBIT" : "CRDT",
    Dt: dateHolder(b.date),
  };
}

function entry(e: StatementEntry, ccy: string, exponent: number, v08: boolean) {
  const code = e.status === "booked" ? "BOOK" : e.status === "pending" ? "PDNG" : "INFO";
  const out: Record<string, unknown> = {
    ...(e.entryRef ? { NtryRef: e.entryRef } : {}),
    Amt: { "@Ccy": ccy, "#text": formatMinorUnits(e.amount, exponent) },
    CdtDbtInd: e.direction === "credit" ? "CRDT" : "DBIT",
    ...(e.reversal ? { RvslInd: "true" } : {}),
    Sts: v08 ? { Cd: code } : code,
    ...(e.bookingDate ? { BookgDt: dateHolder(e.bookingDate) } : {}),
    ...(e.valueDate ? { ValDt: dateHolder(e.valueDate) } : {}),
    ...(e.accountServicerRef ? { AcctSvcrRef: e.accountServicerRef } : {}),
    BkTxCd: {
      Domn: { Cd: "PMNT", Fmly: { Cd: e.direction === "credit" ? "RCDT" : "ICDT", SubFmlyCd: "ESCT" } },
    },
  };
  if (e.endToEndId) out.NtryDtls = { TxDtls: { Refs: { EndToEndId: e.endToEndId } } };
  return out;
}

export function writeCamt053(statements: readonly BankStatement[], o: WriteCamt053Options): string {
  const v08 = o.version === "08";
  const first = statements[0];
  const paginated = statements.length === 1 && (first.page > 1 || !first.lastPage);
  const doc = {
    "?xml": { "@version": "1.0", "@encoding": "UTF-8" },
    Document: {
      "@xmlns": `urn:iso:std:iso:20022:tech:xsd:camt.053.001.${o.version}`,
      BkToCstmrStmt: {
        GrpHdr: {
          MsgId: o.messageId,
          CreDtTm: o.createdAt,
          ...(paginated ? { MsgPgntn: { PgNb: String(first.page), LastPgInd: String(first.lastPage) } } : {}),
        },
        Stmt: statements.map((s) => ({
          Id: s.id,
          ...(v08 && paginated ? { StmtPgntn: { PgNb: String(s.page), LastPgInd: String(s.lastPage) } } : {}),
          ...(s.electronicSequence ? { ElctrncSeqNb: s.electronicSequence } : {}),
          ...(s.createdAt ? { CreDtTm: s.createdAt } : {}),
          ...(s.toDateTime
            ? { FrToDt: { FrDtTm: s.fromDateTime ?? s.toDateTime, ToDtTm: s.toDateTime } }
            : {}),
          Acct: {
            Id: /^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(s.account)
              ? { IBAN: s.account }
              : { Othr: { Id: s.account } },
            Ccy: s.currency,
          },
          Bal: [balance(s.opening, s.currency, s.exponent), balance(s.closing, s.currency, s.exponent)],
          Ntry: s.entries.map((e) => entry(e, s.currency, s.exponent, v08)),
        })),
      },
    },
  };
  return builder.build(doc) as string;
}
