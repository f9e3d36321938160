import {
  StatementBalanceMismatchError,
  StatementCurrencyMismatchError,
  MalformedStatementError,
} from "./errors";

/**
 * The bank statement model every input format maps to (camt.053.001.02, camt.053.001.08 and the
 * JSON feed `custody-bank-statement-v1`). Pure: no I/O. Amounts are bigint minor units at the
 * currency's ISO 4217 exponent; dates are `YYYY-MM-DD`; times are ISO 8601 strings as sent.
 */
export type StatementFormat = "camt.053.001.02" | "camt.053.001.08" | "custody-bank-statement-v1";

export type BalanceType = "OPBD" | "PRCD" | "ITBD" | "CLBD";
export type EntryStatus = "booked" | "pending" | "info";

export interface StatementBalance {
  type: BalanceType;
  /** Signed: a debit (overdrawn) balance is negative. */
  amount: bigint;
  date: string;
}

export interface StatementEntry {
  /** Position in the statement page (0-based), for error paths and break references. */
  index: number;
  /** Always positive; `direction` carries the sign. */
  amount: bigint;
  /** Credit = money in to the account holder (the custodian account); debit = money out. */
  direction: "credit" | "debit";
  status: EntryStatus;
  /** The entry reverses an earlier one (its direction is already the reversing direction). */
  reversal: boolean;
  bookingDate?: string;
  valueDate?: string;
  endToEndId?: string;
  accountServicerRef?: string;
  entryRef?: string;
}

export interface BankStatement {
  /** The bank's statement id (Stmt/Id). */
  id: string;
  /** IBAN or other account id, as the bank names the account. */
  account: string;
  currency: string;
  exponent: number;
  /** 1-based page of a multi-page statement; 1 when not paginated. */
  page: number;
  lastPage: boolean;
  electronicSequence?: string;
  createdAt?: string;
  fromDateTime?: string;
  toDateTime?: string;
  opening: StatementBalance;
  closing: StatementBalance;
  entries: StatementEntry[];
}

export interface BankDocument {
  format: StatementFormat;
  messageId: string;
  createdAt: string;
  statements: BankStatement[];
}

/** The business day a statement (page) reports: its closing balance's date. */
export function statementDay(s: BankStatement): string {
  return s.closing.date;
}

const DAY_MS = 86_400_000;

/**
 * The instant the statement's balances stand at: `FrToDt/ToDtTm` when given, otherwise the end of
 * the closing balance's day (UTC). Ledger movements at or before it count in the comparison.
 */
export function statementCutoff(s: BankStatement): number {
  if (s.toDateTime !== undefined) {
    const t = Date.parse(s.toDateTime);
    if (Number.isFinite(t)) return t;
  }
  return Date.parse(`${s.closing.date}T00:00:00Z`) + DAY_MS - 1;
}

export const DATE_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export function checkDate(text: string, where: string): string {
  if (!DATE_RE.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`)))
    throw new MalformedStatementError(where, `${JSON.stringify(text)} is not a date (YYYY-MM-DD)`);
  return text;
}

/** `text` as a UTC date: a date stays, a date-time keeps its calendar date as written. */
export function dateOf(text: string, where: string): string {
  return checkDate(text.slice(0, 10), where);
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}

/** Signed effect of booked entries on the balance. Pending and information entries move nothing. */
export function bookedNet(s: BankStatement): bigint {
  let net = 0n;
  for (const e of s.entries)
    if (e.status === "booked") net += e.direction === "credit" ? e.amount : -e.amount;
  return net;
}

/**
 * The consistency rules every statement page must pass before anything is stored:
 * opening + booked entries = closing; every amount in the account's currency (checked by the
 * parsers, which see the currency attributes). `where` is the page's path in its document.
 */
export function checkStatementConsistency(s: BankStatement, where: string): void {
  const net = bookedNet(s);
  if (s.opening.amount + net !== s.closing.amount)
    throw new StatementBalanceMismatchError(
      where,
      `opening balance + booked entries ≠ closing balance (${s.opening.type} ${s.opening.amount} + ${net} = ${s.opening.amount + net}, ${s.closing.type} ${s.closing.amount})`,
      { details: `difference ${s.closing.amount - s.opening.amount - net} minor units of ${s.currency}` },
    );
  if (s.closing.date < s.opening.date)
    throw new MalformedStatementError(
      where,
      `closing balance date ${s.closing.date} is before opening ${s.opening.date}`,
    );
}

export function checkCurrency(found: string, expected: string, where: string): void {
  if (found !== expected)
    throw new StatementCurrencyMismatchError(where, `amount in ${found}, the account is in ${expected}`);
}

/**
 * Pages of one statement chain: page n+1 opens at page n's closing amount. Requires pages sorted
 * by page number.
 */
export function checkPageChain(pages: readonly BankStatement[], where: string): void {
  for (let i = 0; i < pages.length; i++) {
    if (pages[i].page !== i + 1)
      throw new StatementBalanceMismatchError(where, `page ${i + 1} of statement ${pages[0].id} is missing`);
    if (i > 0 && pages[i].opening.amount !== pages[i - 1].closing.amount)
      throw new StatementBalanceMismatchError(
        where,
        `page ${i + 1} opens at ${pages[i].opening.amount}, page ${i} closed at ${pages[i - 1].closing.amount}`,
      );
  }
}

/**
 * The canonical JSON of a statement page (keys sorted, no whitespace, amounts as decimal strings):
 * what `content_hash` hashes and what is stored to reconcile from. The same bytes as
 * `canonicalJson` of the page with its bigints as strings, in one pass.
 */
export function statementContent(s: BankStatement): string {
  return canonical(s);
}

function canonical(v: unknown): string {
  if (typeof v === "bigint") return `"${v.toString()}"`;
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = "[";
    for (let i = 0; i < v.length; i++)
      out += (i ? "," : "") + (v[i] === undefined ? "null" : canonical(v[i]));
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  let out = "{";
  let first = true;
  for (const k of Object.keys(o).sort()) {
    const x = o[k];
    if (x === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(k)}:${canonical(x)}`;
    first = false;
  }
  return `${out}}`;
}

/** A statement page back from its stored content (see statementContent). */
export function statementFromContent(text: string): BankStatement {
  const s = JSON.parse(text) as Omit<BankStatement, "opening" | "closing" | "entries"> & {
    opening: Omit<StatementBalance, "amount"> & { amount: string };
    closing: Omit<StatementBalance, "amount"> & { amount: string };
    entries: (Omit<StatementEntry, "amount"> & { amount: string })[];
  };
  return {
    ...s,
    opening: { ...s.opening, amount: BigInt(s.opening.amount) },
    closing: { ...s.closing, amount: BigInt(s.closing.amount) },
    entries: s.entries.map((e) => ({ ...e, amount: BigInt(e.amount) })),
  };
}
