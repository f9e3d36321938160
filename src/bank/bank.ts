import { createHash } from "node:crypto";
import type { Hex } from "viem";
import type { Database } from "../db/database";
import { migrate } from "../db/migrate";
import { InvariantError } from "../errors";
import { canonicalJson } from "../ledger/canonical";
import type { JsonValue } from "../ledger/types";
import {
  BreakNotResolvableError,
  InvalidReconciliationInputError,
  StatementConflictError,
  StatementCurrencyMismatchError,
  StatementIncompleteError,
  UnknownBankAccountError,
  UnknownBreakError,
  UnknownReconciliationError,
} from "./errors";
import type { BankFact, FactLog } from "./facts";
import { readLedgerDay } from "./ledger-view";
import { bankMigrations } from "./migrations";
import { parseStatementDocument } from "./parse";
import { reconcileDay, type PagedEntry } from "./reconcile";
import {
  buildReport,
  reportBytes,
  reportHash,
  type ReconciliationReport,
  type ReportBreak,
  type ReportStatementRef,
  type StatementGap,
} from "./report";
import { buf, num, queryAll, writeBatch, type Row, type Stmt } from "./sql";
import {
  type BankDocument,
  type BankStatement,
  DATE_RE,
  addDays,
  checkPageChain,
  statementContent,
  statementCutoff,
  statementDay,
  statementFromContent,
} from "./statement";

/** What the bank module needs from the ledger: the mirror accounts and the fact log. */
export interface BankLedgerPort extends FactLog {
  listAccounts(opts?: {
    type?: "bank_mirror";
  }): Promise<
    { id: string; type: string; asset: string; scale: number; metadata?: Record<string, unknown> }[]
  >;
}

export interface OpenBankOptions {
  db: Database;
  ledger: BankLedgerPort;
  /** Bank account id (IBAN or other) → custodian-mirror ledger account; default: each mirror account's `metadata.bankAccount`. */
  bankAccounts?: Record<string, string>;
  /** Days a value date may differ when matching without an end-to-end id (default 1). */
  toleranceDays?: number;
  clock?: () => number;
  /** Tests only: runs after each stored row of an import and may throw, like a crash would. */
  faults?: { importRow?: (i: number) => void; beforeStatementFact?: () => void };
}

export interface ImportedStatement {
  bankAccount: string;
  statementId: string;
  page: number;
  lastPage: boolean;
  ledgerAccount: string;
  currency: string;
  day: string;
  entries: number;
}

export interface ImportResult {
  documentHash: Hex;
  format: BankDocument["format"];
  /** True when the same document (or the same statements) had been received before. */
  replay: boolean;
  factSequence: number;
  statements: ImportedStatement[];
}

export interface BreakRecord {
  id: string;
  ledgerAccount: string;
  day: string;
  class: ReportBreak["class"];
  severity: ReportBreak["severity"];
  /** open (alarming), timing (expected to clear), cleared (a later statement matched it), resolved, superseded (a re-run replaced it). */
  status: "open" | "timing" | "cleared" | "resolved" | "superseded";
  detail: ReportBreak;
  clearedBy?: string;
  resolution?: BreakResolution;
}

/** The document of a BANK_BREAK_RESOLVED fact. */
export interface BreakResolution {
  version: "custody-break-resolution-v1";
  breakId: string;
  reportHash: Hex;
  explanation: string;
  resolvedBy: { keyId: string; role: string };
  resolvedAt: string;
}

export interface StoredReconciliation {
  ledgerAccount: string;
  day: string;
  run: number;
  report: ReconciliationReport;
  reportHash: Hex;
  factSequence: number;
}

export interface BankProgress {
  (phase: "read" | "match" | "store", done: number, total: number): void;
}

/** The statements of one day as a chain (see #statementsOf). */
interface DayStatements {
  pages: BankStatement[];
  entries: PagedEntry[];
  refs: ReportStatementRef[];
  gaps: StatementGap[];
  notes: string[];
}

const sha256 = (b: Uint8Array | string): Hex => `0x${createHash("sha256").update(b).digest("hex")}`;

/**
 * The custodian bank in the data: statements in (stored whole, hashed into the log), daily
 * reconciliation against the custodian-mirror account, breaks and their resolutions.
 * Nothing here ever writes to the ledger's money: only facts.
 */
export class CustodianBank {
  readonly #db: Database;
  readonly #ledger: BankLedgerPort;
  readonly #map?: Record<string, string>;
  readonly #tolerance: number;
  readonly #clock: () => number;
  readonly #faults: NonNullable<OpenBankOptions["faults"]>;

  constructor(o: OpenBankOptions) {
    this.#db = o.db;
    this.#ledger = o.ledger;
    this.#map = o.bankAccounts;
    this.#tolerance = o.toleranceDays ?? 1;
    this.#clock = o.clock ?? Date.now;
    this.#faults = o.faults ?? {};
    if (!Number.isSafeInteger(this.#tolerance) || this.#tolerance < 0 || this.#tolerance > 31)
      throw new InvalidReconciliationInputError("toleranceDays must be an integer in [0, 31]");
  }

  get toleranceDays(): number {
    return this.#tolerance;
  }

  async #mirrorAccounts(): Promise<Map<string, { id: string; asset: string; scale: number }>> {
    const out = new Map<string, { id: string; asset: string; scale: number }>();
    const mirrors = await this.#ledger.listAccounts({ type: "bank_mirror" });
    const byId = new Map(mirrors.map((m) => [m.id, m]));
    if (this.#map) {
      for (const [bank, ledgerId] of Object.entries(this.#map)) {
        const m = byId.get(ledgerId);
        if (m) out.set(bank.replace(/\s+/g, "").toUpperCase(), m);
      }
    }
    for (const m of mirrors) {
      const b = m.metadata?.bankAccount;
      if (typeof b === "string") out.set(b.replace(/\s+/g, "").toUpperCase(), m);
    }
    return out;
  }

  /**
   * Parses, checks and stores one statement document, then records its BANK_STATEMENT fact.
   * Rejected documents store nothing. The same document (or the same statements) again returns
   * the stored result; a statement id and page received before with other content throws
   * StatementConflictError. A document stored but whose fact was not yet recorded (a crash in
   * between) is completed by importing it again or by `completePending`.
   */
  async importStatement(raw: Uint8Array): Promise<ImportResult> {
    const doc = parseStatementDocument(raw);
    const hash = sha256(raw);
    const mirrors = await this.#mirrorAccounts();
    const imported: ImportedStatement[] = [];
    const rows: Stmt[] = [];
    let allKnown = true;
    const known = await queryAll(this.#db, "SELECT fact_sequence FROM bank_documents WHERE hash = ?", [hash]);
    for (let i = 0; i < doc.statements.length; i++) {
      const s = doc.statements[i];
      const where =
        doc.format === "custody-bank-statement-v1"
          ? `$.statements[${i}]`
          : `Document/BkToCstmrStmt/Stmt[${i}]`;
      const m = mirrors.get(s.account.toUpperCase());
      if (!m)
        throw new UnknownBankAccountError(
          `${where}/Acct`,
          `account ${s.account} is not a custodian account of the ledger`,
          {
            details: "a bank_mirror account names it in metadata.bankAccount",
          },
        );
      if (m.asset !== s.currency)
        throw new StatementCurrencyMismatchError(
          `${where}/Acct/Ccy`,
          `statement in ${s.currency}, ledger account ${m.id} holds ${m.asset}`,
        );
      if (m.scale !== s.exponent)
        throw new StatementCurrencyMismatchError(
          `${where}/Acct/Ccy`,
          `${s.currency} has ISO 4217 exponent ${s.exponent}, ledger account ${m.id} has scale ${m.scale}`,
        );
      const content = statementContent(s);
      const contentHash = sha256(content);
      const key = `${s.account}/${s.id}/page ${s.page}`;
      const prior = await queryAll(
        this.#db,
        "SELECT content_hash FROM bank_statements WHERE bank_account = ? AND statement_id = ? AND page = ?",
        [s.account, s.id, s.page],
      );
      const item: ImportedStatement = {
        bankAccount: s.account,
        statementId: s.id,
        page: s.page,
        lastPage: s.lastPage,
        ledgerAccount: m.id,
        currency: s.currency,
        day: statementDay(s),
        entries: s.entries.length,
      };
      imported.push(item);
      if (prior.length > 0) {
        if (prior[0].content_hash !== contentHash)
          throw new StatementConflictError(key, {
            details: `stored content ${String(prior[0].content_hash)}, received ${contentHash}`,
          });
        continue;
      }
      allKnown = false;
      rows.push({
        sql: `INSERT INTO bank_statements (bank_account, statement_id, page, last_page, ledger_account, currency, day, cutoff,
              document_hash, statement_index, content_hash, opening, closing, entries, content) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        params: [
          s.account,
          s.id,
          s.page,
          s.lastPage ? 1 : 0,
          m.id,
          s.currency,
          statementDay(s),
          statementCutoff(s),
          hash,
          i,
          contentHash,
          s.opening.amount.toString(),
          s.closing.amount.toString(),
          s.entries.length,
          content,
        ],
      });
    }
    const factId = `bank-statement:${hash.slice(2)}`;
    if (known.length === 0 && !allKnown) {
      rows.unshift(
        {
          sql: `INSERT INTO bank_documents (hash, format, message_id, received_at, fact_id, fact_sequence) VALUES (?,?,?,?,?,NULL)`,
          params: [hash, doc.format, doc.messageId, this.#clock(), factId],
        },
        {
          // The bytes as received, bound as a view of the caller's buffer (no copy of the document).
          sql: "INSERT INTO bank_document_bytes (hash, raw) VALUES (?,?)",
          params: [hash, Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)],
        },
      );
      await writeBatch(this.#db, rows, this.#faults.importRow);
    } else if (known.length === 0) {
      // Every statement in it is already stored identically (a resend under a new message): a replay.
      const first = doc.statements[0];
      const r = await queryAll(
        this.#db,
        `SELECT d.hash, d.fact_id, d.fact_sequence FROM bank_statements s JOIN bank_documents d ON d.hash = s.document_hash
         WHERE s.bank_account = ? AND s.statement_id = ? AND s.page = ?`,
        [first.account, first.id, first.page],
      );
      const fact = await this.#statementFact(r[0].hash as Hex, r[0].fact_id as string, imported, doc);
      return {
        documentHash: r[0].hash as Hex,
        format: doc.format,
        replay: true,
        factSequence: fact.sequence,
        statements: imported,
      };
    }
    this.#faults.beforeStatementFact?.();
    const fact = await this.#statementFact(hash, factId, imported, doc);
    return {
      documentHash: hash,
      format: doc.format,
      replay: known.length > 0,
      factSequence: fact.sequence,
      statements: imported,
    };
  }

  async #statementFact(
    hash: Hex,
    factId: string,
    st: ImportedStatement[],
    doc: BankDocument,
  ): Promise<BankFact> {
    const one = doc.statements.length === 1 ? doc.statements[0] : undefined;
    const fact = await this.#ledger.recordFact({
      id: factId,
      kind: "BANK_STATEMENT",
      documentHash: hash,
      subject: st[0].ledgerAccount,
      asset: st[0].currency,
      ...(one && one.closing.amount >= 0n && one.lastPage ? { amount: one.closing.amount } : {}),
    });
    await writeBatch(this.#db, [
      {
        sql: "UPDATE bank_documents SET fact_sequence = ? WHERE hash = ? AND fact_sequence IS NULL",
        params: [fact.sequence, hash],
      },
    ]);
    return fact;
  }

  /** Records the facts of documents stored before a crash but not yet in the log. Returns how many. */
  async completePending(): Promise<number> {
    const rows = await queryAll(
      this.#db,
      "SELECT d.hash, b.raw FROM bank_documents d JOIN bank_document_bytes b ON b.hash = d.hash WHERE d.fact_sequence IS NULL",
    );
    for (const r of rows) await this.importStatement(buf(r.raw));
    return rows.length;
  }

  async #raw(hash: string): Promise<Buffer> {
    const r = await queryAll(this.#db, "SELECT raw FROM bank_document_bytes WHERE hash = ?", [hash]);
    return buf(r[0].raw);
  }

  /** The raw bytes of a stored document (for the audit and for the bank's own check). */
  async statementDocument(hash: Hex): Promise<{ raw: Buffer; factId: string; factSequence?: number }> {
    const r = await queryAll(
      this.#db,
      "SELECT b.raw, d.fact_id, d.fact_sequence FROM bank_documents d JOIN bank_document_bytes b ON b.hash = d.hash WHERE d.hash = ?",
      [hash],
    );
    if (r.length === 0) throw new UnknownReconciliationError(`document ${hash}`);
    const out: { raw: Buffer; factId: string; factSequence?: number } = {
      raw: buf(r[0].raw),
      factId: r[0].fact_id as string,
    };
    if (r[0].fact_sequence !== null) out.factSequence = num(r[0].fact_sequence);
    return out;
  }

  /**
   * Days with a complete, logged statement, per ledger account (ascending). `latestFact` is the
   * log sequence of the day's newest statement fact: it grows when another statement of the day
   * arrives (a custodian may send several a day), so a caller can tell that the day needs a re-run.
   */
  async statementDays(): Promise<{ ledgerAccount: string; day: string; latestFact: number }[]> {
    const r = await queryAll(
      this.#db,
      `SELECT s.ledger_account, s.day, MAX(d.fact_sequence) AS latest FROM bank_statements s
       JOIN bank_documents d ON d.hash = s.document_hash
       WHERE d.fact_sequence IS NOT NULL AND s.last_page = 1 GROUP BY s.ledger_account, s.day
       ORDER BY s.day, s.ledger_account`,
    );
    return r.map((x) => ({
      ledgerAccount: x.ledger_account as string,
      day: x.day as string,
      latestFact: num(x.latest),
    }));
  }

  /**
   * The statements of `day` for a ledger account, parsed from their stored bytes, as one chain:
   * each complete statement (every page up to the last, each opening at the previous page's
   * closing), ordered by cut-off, then by arrival in the log. A statement whose opening balance is
   * not the previous statement's closing balance is a gap (reported as a `statement_gap` break by
   * the reconciliation, not an error). A statement with pages still missing is left out with a
   * note. With `only`, exactly those pages are used (a re-run of a stored report).
   */
  async #statementsOf(
    ledgerAccount: string,
    day: string,
    require: boolean,
    only?: readonly ReportStatementRef[],
  ): Promise<DayStatements | undefined> {
    const rows = await queryAll(
      this.#db,
      `SELECT s.statement_id, s.page, s.document_hash, s.statement_index, s.cutoff, s.content, s.content_hash, d.fact_sequence
       FROM bank_statements s JOIN bank_documents d ON d.hash = s.document_hash
       WHERE s.ledger_account = ? AND s.day = ? AND d.fact_sequence IS NOT NULL ORDER BY s.statement_id, s.page`,
      [ledgerAccount, day],
    );
    const wanted = only ? new Set(only.map((r) => `${r.id}|${r.page}|${r.documentHash}`)) : undefined;
    const used = wanted
      ? rows.filter((r) => wanted.has(`${r.statement_id}|${r.page}|${r.document_hash}`))
      : rows;
    if (used.length === 0) {
      if (require) throw new StatementIncompleteError(`no statement of ${day} for ${ledgerAccount}`);
      return undefined;
    }
    const docs = new Map<string, BankDocument>();
    const byId = new Map<
      string,
      { pages: BankStatement[]; refs: ReportStatementRef[]; cutoff: number; arrived: number }
    >();
    for (const r of used) {
      const id = r.statement_id as string;
      const h = r.document_hash as string;
      let page: BankStatement;
      if (typeof r.content === "string") {
        // The parsed page stored at import; it must still be what its content hash says.
        if (sha256(r.content) !== r.content_hash)
          throw new InvariantError(
            `stored content of statement ${id} page ${num(r.page)} does not match its hash`,
          );
        page = statementFromContent(r.content);
      } else {
        // Stored before contents were kept: parse the raw document.
        let d = docs.get(h);
        if (!d) docs.set(h, (d = parseStatementDocument(await this.#raw(h))));
        page = d.statements[num(r.statement_index)];
      }
      let st = byId.get(id);
      if (!st) byId.set(id, (st = { pages: [], refs: [], cutoff: 0, arrived: Infinity }));
      st.pages.push(page);
      st.refs.push({ id, page: num(r.page), documentHash: h as Hex });
      st.cutoff = Math.max(st.cutoff, num(r.cutoff));
      st.arrived = Math.min(st.arrived, num(r.fact_sequence));
    }
    const complete: {
      id: string;
      pages: BankStatement[];
      refs: ReportStatementRef[];
      cutoff: number;
      arrived: number;
    }[] = [];
    const notes: string[] = [];
    let firstProblem: Error | undefined;
    for (const [id, st] of byId) {
      try {
        checkPageChain(st.pages, `statement ${id}`);
        if (!st.pages[st.pages.length - 1].lastPage)
          throw new StatementIncompleteError(`statement ${id} of ${day}: the last page has not arrived`);
        complete.push({ id, ...st });
      } catch (e) {
        firstProblem ??= e as Error;
        notes.push(`statement ${id} left out: ${(e as Error).message}`);
      }
    }
    if (complete.length === 0) {
      if (!require) return undefined;
      const e = firstProblem as Error;
      throw e instanceof StatementIncompleteError ? e : new StatementIncompleteError(e.message, { cause: e });
    }
    complete.sort((a, b) => a.cutoff - b.cutoff || a.arrived - b.arrived || (a.id < b.id ? -1 : 1));
    const several = complete.length > 1;
    const out: DayStatements = { pages: [], entries: [], refs: [], gaps: [], notes };
    for (let k = 0; k < complete.length; k++) {
      const st = complete[k];
      if (k > 0) {
        const prev = complete[k - 1];
        const expected = prev.pages[prev.pages.length - 1].closing.amount;
        const opening = st.pages[0].opening.amount;
        if (opening !== expected)
          out.gaps.push({
            statementId: st.id,
            previousStatementId: prev.id,
            expectedOpening: expected,
            opening,
          });
      }
      for (const p of st.pages) {
        out.pages.push(p);
        for (const e of p.entries)
          out.entries.push(several ? { ...e, page: p.page, statementId: st.id } : { ...e, page: p.page });
      }
      out.refs.push(...st.refs);
    }
    return out;
  }

  /** Computes the reconciliation of one day without storing it (also what the audit re-runs). */
  async computeReconciliation(
    ledgerAccount: string,
    day: string,
    opts: {
      throughSequence?: number;
      toleranceDays?: number;
      adjacent?: ReportStatementRef[];
      /** A re-run: exactly these pages of the day (the stored report's `statements`). */
      statements?: ReportStatementRef[];
      progress?: BankProgress;
    } = {},
  ): Promise<ReconciliationReport> {
    if (!DATE_RE.test(day))
      throw new InvalidReconciliationInputError(`date must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
    const stmt = await this.#statementsOf(ledgerAccount, day, true, opts.statements);
    const { pages, refs, entries, gaps, notes } = stmt as DayStatements;
    const last = pages[pages.length - 1];
    const cutoff = statementCutoff(last);
    opts.progress?.("read", entries.length, entries.length);
    const adjacentEntries = [];
    const adjacentRefs: ReportStatementRef[] = [];
    if (opts.adjacent) {
      // A re-run uses exactly the adjacent statements the original run used.
      for (const ref of opts.adjacent) {
        const d = parseStatementDocument((await this.statementDocument(ref.documentHash)).raw);
        for (const s of d.statements)
          if (s.id === ref.id && s.page === ref.page) adjacentEntries.push(...s.entries);
        adjacentRefs.push(ref);
      }
    } else {
      for (const d of [addDays(day, -1), addDays(day, 1)]) {
        const a = await this.#statementsOf(ledgerAccount, d, false);
        if (!a) continue;
        adjacentEntries.push(...a.entries);
        adjacentRefs.push(...a.refs);
      }
    }
    const view = await readLedgerDay(this.#db, ledgerAccount, last.currency, cutoff, opts.throughSequence);
    const tolerance = opts.toleranceDays ?? this.#tolerance;
    const result = reconcileDay({
      day,
      toleranceDays: tolerance,
      entries,
      movements: view.today,
      previousMovements: view.previous,
      nextMovements: view.next,
      adjacentEntries,
    });
    opts.progress?.("match", entries.length, entries.length);
    return buildReport({
      day,
      ledgerAccount,
      bankAccount: last.account,
      currency: last.currency,
      exponent: last.exponent,
      cutoff,
      toleranceDays: tolerance,
      statements: refs,
      adjacentStatements: adjacentRefs,
      throughSequence: view.throughSequence,
      bankClosing: last.closing.amount,
      ledgerBalance: view.mirrorBalance,
      customerLiabilities: view.customerLiabilities,
      bankEntries: entries.length,
      ledgerMovements: view.today.length,
      result,
      gaps,
      notes,
    });
  }

  /**
   * Reconciles `day` for every custodian account with a complete statement that day (or only
   * `ledgerAccount`), stores each report, records its BANK_RECONCILIATION fact and its breaks.
   * A re-run of a day stores a new run; the previous run's unresolved breaks become superseded.
   */
  async reconcile(
    day: string,
    opts: { ledgerAccount?: string; progress?: BankProgress } = {},
  ): Promise<StoredReconciliation[]> {
    if (!DATE_RE.test(day))
      throw new InvalidReconciliationInputError(`date must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
    let accounts = (await this.statementDays()).filter((d) => d.day === day).map((d) => d.ledgerAccount);
    if (opts.ledgerAccount) accounts = accounts.filter((a) => a === opts.ledgerAccount);
    if (accounts.length === 0)
      throw new StatementIncompleteError(
        `no complete statement of ${day}${opts.ledgerAccount ? ` for ${opts.ledgerAccount}` : ""}`,
      );
    const out: StoredReconciliation[] = [];
    for (const account of accounts) {
      const report = await this.computeReconciliation(account, day, { progress: opts.progress });
      out.push(await this.#store(report, opts.progress));
    }
    return out;
  }

  async #store(report: ReconciliationReport, progress?: BankProgress): Promise<StoredReconciliation> {
    const hash = reportHash(report);
    const prev = await queryAll(
      this.#db,
      "SELECT run, report_hash, fact_sequence FROM bank_reconciliations WHERE ledger_account = ? AND day = ? ORDER BY run DESC LIMIT 1",
      [report.ledgerAccount, report.day],
    );
    const factId = `bank-reconciliation:${hash.slice(2)}`;
    let run = prev.length ? num(prev[0].run) : 0;
    if (!prev.length || prev[0].report_hash !== hash) {
      run += 1;
      const id = `${report.ledgerAccount}/${report.day}/${run}`;
      const stmts: Stmt[] = [
        {
          sql: `INSERT INTO bank_reconciliations (ledger_account, day, run, report, report_hash, fact_id, fact_sequence, created_at)
                VALUES (?,?,?,?,?,?,NULL,?)`,
          params: [
            report.ledgerAccount,
            report.day,
            run,
            reportBytes(report).toString("utf8"),
            hash,
            factId,
            this.#clock(),
          ],
        },
        {
          sql: `UPDATE bank_breaks SET status = 'superseded' WHERE ledger_account = ? AND day = ? AND status IN ('open', 'timing')`,
          params: [report.ledgerAccount, report.day],
        },
      ];
      const explained = await this.#explainedBreaks(report.ledgerAccount, report.day);
      for (const b of report.breaks) {
        const transferId = b.ledger?.transferId ?? null;
        // The same break a person already explained in an earlier run of this day keeps that
        // explanation (its resolution names the break it was given for); a segregation shortfall
        // is explained again in every report that shows it.
        const carried = b.class === "segregation_shortfall" ? undefined : explained.get(breakContent(b));
        stmts.push({
          sql: `INSERT INTO bank_breaks (id, ledger_account, day, run, class, severity, transfer_id, detail, status,
                  resolution, resolution_hash, resolution_fact_sequence)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
          params: [
            `${id}/${b.n}`,
            report.ledgerAccount,
            report.day,
            run,
            b.class,
            b.severity,
            transferId,
            canonicalJson(b as unknown as JsonValue),
            carried ? "resolved" : b.class === "timing" ? "timing" : "open",
            carried ? (carried.resolution as string) : null,
            carried ? (carried.resolution_hash as string) : null,
            carried ? num(carried.resolution_fact_sequence) : null,
          ],
        });
        // A movement now seen on the other side clears what another day reported about it.
        if (b.class === "timing" && transferId)
          stmts.push({
            sql: `UPDATE bank_breaks SET status = 'cleared', cleared_by = ? WHERE transfer_id = ? AND day <> ?
                  AND status IN ('open', 'timing') AND class IN ('ledger_only', 'timing')`,
            params: [`${id}/${b.n}`, transferId, report.day],
          });
      }
      await writeBatch(this.#db, stmts);
    }
    progress?.("store", 1, 1);
    const fact = await this.#ledger.recordFact({
      id: factId,
      kind: "BANK_RECONCILIATION",
      documentHash: hash,
      subject: report.ledgerAccount,
      asset: report.currency,
    });
    await writeBatch(this.#db, [
      {
        sql: "UPDATE bank_reconciliations SET fact_sequence = ? WHERE ledger_account = ? AND day = ? AND run = ?",
        params: [fact.sequence, report.ledgerAccount, report.day, run],
      },
    ]);
    return {
      ledgerAccount: report.ledgerAccount,
      day: report.day,
      run,
      report,
      reportHash: hash,
      factSequence: fact.sequence,
    };
  }

  /**
   * Breaks of earlier runs of this account and day that a person resolved and whose resolution is
   * in the log, by their content (all but their position in the report).
   */
  async #explainedBreaks(ledgerAccount: string, day: string): Promise<Map<string, Row>> {
    const rows = await queryAll(
      this.#db,
      `SELECT detail, resolution, resolution_hash, resolution_fact_sequence FROM bank_breaks
        WHERE ledger_account = ? AND day = ? AND status = 'resolved' AND resolution_fact_sequence IS NOT NULL
        ORDER BY run, id`,
      [ledgerAccount, day],
    );
    const out = new Map<string, Row>();
    for (const r of rows) out.set(breakContent(JSON.parse(r.detail as string) as ReportBreak), r);
    return out;
  }

  /** The latest stored reconciliation of `day`, per account. */
  async getReconciliations(day: string): Promise<StoredReconciliation[]> {
    if (!DATE_RE.test(day))
      throw new InvalidReconciliationInputError(`date must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
    const rows = await queryAll(
      this.#db,
      `SELECT r.* FROM bank_reconciliations r WHERE r.day = ? AND r.fact_sequence IS NOT NULL AND r.run =
         (SELECT MAX(x.run) FROM bank_reconciliations x WHERE x.ledger_account = r.ledger_account AND x.day = r.day AND x.fact_sequence IS NOT NULL)
       ORDER BY r.ledger_account`,
      [day],
    );
    if (rows.length === 0) throw new UnknownReconciliationError(`of ${day}`);
    return rows.map(toStored);
  }

  /** Every stored run (the audit re-runs them all). */
  async allReconciliations(): Promise<StoredReconciliation[]> {
    const rows = await queryAll(
      this.#db,
      "SELECT * FROM bank_reconciliations WHERE fact_sequence IS NOT NULL ORDER BY day, ledger_account, run",
    );
    return rows.map(toStored);
  }

  async listBreaks(
    opts: { status?: BreakRecord["status"] | "all"; limit?: number } = {},
  ): Promise<BreakRecord[]> {
    const status = opts.status ?? "open";
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
    const rows =
      status === "all"
        ? await queryAll(this.#db, "SELECT * FROM bank_breaks ORDER BY day, id LIMIT ?", [limit])
        : await queryAll(this.#db, "SELECT * FROM bank_breaks WHERE status = ? ORDER BY day, id LIMIT ?", [
            status,
            limit,
          ]);
    return rows.map(toBreak);
  }

  async getBreak(id: string): Promise<BreakRecord> {
    const rows = await queryAll(this.#db, "SELECT * FROM bank_breaks WHERE id = ?", [id]);
    if (rows.length === 0) throw new UnknownBreakError(id);
    return toBreak(rows[0]);
  }

  /** Open (alarming) breaks per class, and open segregation shortfalls, for metrics and readiness. */
  async alarmSummary(): Promise<{ openBreaks: Record<string, number>; shortfalls: number }> {
    const rows = await queryAll(
      this.#db,
      "SELECT class, COUNT(*) AS n FROM bank_breaks WHERE status = 'open' GROUP BY class",
    );
    const openBreaks: Record<string, number> = {};
    for (const r of rows) openBreaks[r.class as string] = num(r.n);
    return { openBreaks, shortfalls: openBreaks.segregation_shortfall ?? 0 };
  }

  /**
   * Resolves an open break with a person's explanation, recorded as a BANK_BREAK_RESOLVED fact.
   * Nothing in the ledger changes. Resolving again with the same explanation is a no-op.
   */
  async resolveBreak(
    id: string,
    explanation: string,
    by: { keyId: string; role: string },
  ): Promise<BreakRecord> {
    const text = explanation.trim();
    if (text.length < 3 || text.length > 4000)
      throw new InvalidReconciliationInputError("an explanation of 3 to 4000 characters is required");
    const b = await this.getBreak(id);
    if (b.status === "resolved") {
      if (b.resolution?.explanation === text) return b;
      throw new BreakNotResolvableError(id, "was already resolved with another explanation");
    }
    if (b.status !== "open")
      throw new BreakNotResolvableError(id, `is ${b.status}; only open breaks are resolved`);
    const rec = await queryAll(
      this.#db,
      "SELECT report_hash FROM bank_reconciliations WHERE ledger_account = ? AND day = ? AND run = ?",
      [b.ledgerAccount, b.day, num(id.split("/").at(-2))],
    );
    const resolution: BreakResolution = {
      version: "custody-break-resolution-v1",
      breakId: id,
      reportHash: rec[0].report_hash as Hex,
      explanation: text,
      resolvedBy: by,
      resolvedAt: new Date(this.#clock()).toISOString(),
    };
    const doc = canonicalJson(resolution as unknown as JsonValue);
    const hash = sha256(doc);
    await writeBatch(this.#db, [
      {
        sql: "UPDATE bank_breaks SET status = 'resolved', resolution = ?, resolution_hash = ? WHERE id = ? AND status = 'open'",
        params: [doc, hash, id],
      },
    ]);
    const fact = await this.#ledger.recordFact({
      id: `bank-break-resolved:${hash.slice(2)}`,
      kind: "BANK_BREAK_RESOLVED",
      documentHash: hash,
      subject: b.ledgerAccount,
    });
    await writeBatch(this.#db, [
      {
        sql: "UPDATE bank_breaks SET resolution_fact_sequence = ? WHERE id = ?",
        params: [fact.sequence, id],
      },
    ]);
    return this.getBreak(id);
  }
}

/** A break's content without its position in the report: the same discrepancy in two runs. */
function breakContent(b: ReportBreak): string {
  const { n: _n, ...content } = b;
  return canonicalJson(content as unknown as JsonValue);
}

function toStored(r: Row): StoredReconciliation {
  return {
    ledgerAccount: r.ledger_account as string,
    day: r.day as string,
    run: num(r.run),
    report: JSON.parse(r.report as string) as ReconciliationReport,
    reportHash: r.report_hash as Hex,
    factSequence: num(r.fact_sequence),
  };
}

function toBreak(r: Row): BreakRecord {
  const b: BreakRecord = {
    id: r.id as string,
    ledgerAccount: r.ledger_account as string,
    day: r.day as string,
    class: r.class as BreakRecord["class"],
    severity: r.severity as BreakRecord["severity"],
    status: r.status as BreakRecord["status"],
    detail: JSON.parse(r.detail as string) as ReportBreak,
  };
  if (r.cleared_by) b.clearedBy = r.cleared_by as string;
  if (r.resolution) b.resolution = JSON.parse(r.resolution as string) as BreakResolution;
  return b;
}

/** Applies the bank tables and opens the module. */
export async function openCustodianBank(o: OpenBankOptions): Promise<CustodianBank> {
  await migrate(o.db, bankMigrations);
  return new CustodianBank(o);
}
