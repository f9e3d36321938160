import { z } from "zod";
import { currencyExponent, parseMinorUnits } from "./currency";
import { MalformedStatementError, UnsupportedStatementFormatError } from "./errors";
import { decodeUtf8Strict } from "./utf8";
import {
  type BankDocument,
  type BankStatement,
  type StatementBalance,
  type StatementEntry,
  checkDate,
  checkStatementConsistency,
} from "./statement";

/**
 * `custody-bank-statement-v1`: the JSON feed form of a camt.053 statement for banks that push an
 * API feed (spec: docs/bank-statement-v1.md). Amounts are decimal strings in the currency's major
 * unit, exactly as camt.053 writes them; balances carry a sign, entries a direction. Pure.
 */
export const BANK_STATEMENT_JSON_VERSION = "custody-bank-statement-v1";

const Decimal = z.string().max(40);
const Day = z.string().max(10);
const Balance = z.strictObject({
  type: z.enum(["OPBD", "PRCD", "ITBD", "CLBD"]),
  amount: Decimal,
  date: Day,
});
const Entry = z.strictObject({
  amount: Decimal,
  direction: z.enum(["credit", "debit"]),
  status: z.enum(["booked", "pending", "info"]),
  reversal: z.boolean().optional(),
  bookingDate: Day.optional(),
  valueDate: Day.optional(),
  endToEndId: z.string().min(1).max(35).optional(),
  accountServicerRef: z.string().min(1).max(35).optional(),
  entryRef: z.string().min(1).max(35).optional(),
});
const Statement = z.strictObject({
  id: z.string().min(1).max(35),
  account: z.string().min(1).max(34),
  currency: z.string().regex(/^[A-Z]{3}$/),
  page: z.number().int().min(1).max(99999).optional(),
  lastPage: z.boolean().optional(),
  electronicSequence: z.string().min(1).max(18).optional(),
  createdAt: z.iso.datetime({ offset: true }).optional(),
  fromDateTime: z.iso.datetime({ offset: true }).optional(),
  toDateTime: z.iso.datetime({ offset: true }).optional(),
  opening: Balance,
  closing: Balance,
  entries: z.array(Entry).max(10_000_000),
});
const Feed = z.strictObject({
  version: z.literal(BANK_STATEMENT_JSON_VERSION),
  messageId: z.string().min(1).max(35),
  createdAt: z.iso.datetime({ offset: true }),
  statements: z.array(Statement).min(1),
});

function signed(text: string, exponent: number, where: string): bigint {
  return text.startsWith("-")
    ? -parseMinorUnits(text.slice(1), exponent, where)
    : parseMinorUnits(text, exponent, where);
}

/** Parses and checks one JSON feed document; errors name the JSON path at fault. */
export function parseStatementJson(raw: Uint8Array | string): BankDocument {
  const text = typeof raw === "string" ? raw : decodeUtf8Strict(raw);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new MalformedStatementError("$", `not JSON: ${(e as Error).message}`);
  }
  if (
    typeof value === "object" &&
    value !== null &&
    (value as { version?: unknown }).version !== BANK_STATEMENT_JSON_VERSION
  )
    throw new UnsupportedStatementFormatError(
      "$.version",
      `expected ${JSON.stringify(BANK_STATEMENT_JSON_VERSION)}`,
    );
  const r = Feed.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = "$" + issue.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`)).join("");
    throw new MalformedStatementError(where, issue.message);
  }
  const f = r.data;
  return {
    format: "custody-bank-statement-v1",
    messageId: f.messageId,
    createdAt: f.createdAt,
    statements: f.statements.map((s, i) => {
      const p = `$.statements[${i}]`;
      const exponent = currencyExponent(s.currency, `${p}.currency`);
      const bal = (b: z.infer<typeof Balance>, w: string): StatementBalance => ({
        type: b.type,
        amount: signed(b.amount, exponent, `${w}.amount`),
        date: checkDate(b.date, `${w}.date`),
      });
      const entries = s.entries.map((e, j): StatementEntry => {
        const w = `${p}.entries[${j}]`;
        const out: StatementEntry = {
          index: j,
          amount: parseMinorUnits(e.amount, exponent, `${w}.amount`),
          direction: e.direction,
          status: e.status,
          reversal: e.reversal ?? false,
        };
        if (e.bookingDate !== undefined) out.bookingDate = checkDate(e.bookingDate, `${w}.bookingDate`);
        if (e.valueDate !== undefined) out.valueDate = checkDate(e.valueDate, `${w}.valueDate`);
        if (e.endToEndId !== undefined) out.endToEndId = e.endToEndId;
        if (e.accountServicerRef !== undefined) out.accountServicerRef = e.accountServicerRef;
        if (e.entryRef !== undefined) out.entryRef = e.entryRef;
        return out;
      });
      const st: BankStatement = {
        id: s.id,
        account: s.account.replace(/\s+/g, ""),
        currency: s.currency,
        exponent,
        page: s.page ?? 1,
        lastPage: s.lastPage ?? true,
        opening: bal(s.opening, `${p}.opening`),
        closing: bal(s.closing, `${p}.closing`),
        entries,
      };
      if (s.electronicSequence !== undefined) st.electronicSequence = s.electronicSequence;
      if (s.createdAt !== undefined) st.createdAt = s.createdAt;
      if (s.fromDateTime !== undefined) st.fromDateTime = s.fromDateTime;
      if (s.toDateTime !== undefined) st.toDateTime = s.toDateTime;
      checkStatementConsistency(st, p);
      return st;
    }),
  };
}

/** Parses either form: XML (first non-blank byte `<`) as camt.053, otherwise the JSON feed. */
export function detectFormat(raw: Uint8Array): "xml" | "json" {
  for (const b of raw) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0xef || b === 0xbb || b === 0xbf)
      continue;
    return b === 0x3c ? "xml" : "json";
  }
  return "json";
}
