import type BetterSqlite3 from "better-sqlite3";
import type { Hex } from "viem";
import type { Database } from "../db/database";
import { InvariantError } from "../errors";
import { migrate } from "../db/migrate";
import type { WriteTurnstile } from "../db/turnstile";
import { type Step, UnitOfWork, syncStep } from "../db/unit-of-work";
import { WalPolicy } from "../db/wal-policy";
import { ledgerMigrations } from "./migrations";
import {
  accountFromRow,
  eventFromRow,
  EVENT_LEAF_COLUMNS,
  eventLeafFromValues,
  factFromRow,
  factValues,
  holdFromRow,
  holdValues,
  limitsToJson,
  transferFromRow,
  transferValues,
} from "./rows";
import {
  type AccountFilter,
  type AccountRow,
  type DecisionRow,
  type FactRow,
  type HoldRow,
  type LedgerStore,
  type LedgerWriteStats,
  type LoadKeys,
  type LoadedState,
  type Plan,
  SUBJECT_KINDS,
  type SnapshotVisitor,
  type TransferRow,
  type TransferTotals,
} from "./store";
import { type LedgerDialect, type LedgerTables, type SealedEvent, ledgerPlanner } from "./unit";

type Row = Record<string, unknown>;

const PAGE = 10_000;
/** Accounts kept between transactions; beyond this the cache starts over. */
const ACCOUNT_CACHE_MAX = 200_000;

const INT64_MAX = 0x7fff_ffff_ffff_ffffn;
/** A balance as stored (see ledger/003): INTEGER when it fits in 64 bits, else decimal TEXT. */
function balance(v: bigint): bigint | string {
  return v <= INT64_MAX && v >= -INT64_MAX ? v : v.toString();
}

/** An account's four balance columns, in the order the balance statements take them. */
function balances(a: AccountRow): (bigint | string)[] {
  return [
    balance(a.debitsPosted),
    balance(a.creditsPosted),
    balance(a.debitsPending),
    balance(a.creditsPending),
  ];
}

const EVENT_PAGE = 50_000;

/**
 * Account rows as this store last read or wrote them. Trusted only while nothing else changed the
 * database: `data_version` moves when another connection commits, `total_changes()` when anything
 * else writes through this connection; either clears it, as does any failed transaction. Rows in it
 * are never handed to plans (they get copies, see unit.ts): only written rows replace them.
 */
export class AccountCache {
  readonly rows = new Map<string, AccountRow>();
  #seen: [number, number] = [-1, -1];

  /** Drops everything unless the database is as this cache last saw it. */
  check(changes: number, version: number): void {
    if (changes !== this.#seen[0] || version !== this.#seen[1] || this.rows.size > ACCOUNT_CACHE_MAX)
      this.rows.clear();
  }
  /** The database as of now is what the cache reflects (inside the transaction that wrote it). */
  seen(changes: number, version: number): void {
    this.#seen = [changes, version];
  }
  clear(): void {
    this.rows.clear();
    this.#seen = [-1, -1];
  }
}

/** One SQLite write transaction: what it wrote, for the WAL policy. */
interface SqliteTx {
  events: number;
}

/**
 * SQLite's side of the unit of work: `BEGIN IMMEDIATE` takes the database write lock before
 * loading, so loaded rows are current even with several processes on one file, and nothing needs
 * row locks. Synchronous: a whole group runs inside one better-sqlite3 transaction. Before it, the
 * unit of work takes the process's turn at the write lock (`turnstile`, src/db/turnstile.ts), so
 * back-to-back groups leave a turn to the process's other writers (the risk engine's thread).
 */
class SqliteLedgerDialect implements LedgerDialect<SqliteTx> {
  readonly kind = "sqlite" as const;
  readonly #s: BetterSqlite3.Database;
  readonly #st: () => Statements;
  readonly cache = new AccountCache();
  readonly wal: WalPolicy;
  readonly turnstile: WriteTurnstile;

  constructor(s: BetterSqlite3.Database, st: () => Statements, turnstile: WriteTurnstile) {
    this.#s = s;
    this.#st = st;
    this.turnstile = turnstile;
    this.wal = new WalPolicy(s);
  }

  transaction<T>(body: (tx: SqliteTx) => Step<T>): T {
    const tx: SqliteTx = { events: 0 };
    let value: T;
    try {
      value = this.#s
        .transaction(() => {
          const v = syncStep(body(tx));
          const [changes, version] = this.#st().version.get() as [number, number];
          this.cache.seen(changes, version);
          return v;
        })
        .immediate();
    } catch (e) {
      this.cache.clear();
      throw e;
    }
    if (tx.events) this.wal.committed(tx.events);
    return value;
  }

  retryable(): boolean {
    return false;
  }

  lockAndLoad<N extends keyof LedgerTables>(
    _tx: SqliteTx,
    table: N,
    keys: readonly LedgerTables[N]["key"][],
  ): LedgerTables[N]["row"][] {
    const st = this.#st();
    type R = LedgerTables[N]["row"];
    const each = (stmt: BetterSqlite3.Statement, map: (r: Row) => R): R[] => {
      const out: R[] = [];
      for (const k of keys) {
        const r = stmt.get(k) as Row | undefined;
        if (r) out.push(map(r));
      }
      return out;
    };
    switch (table) {
      case "accounts":
        return this.#accounts(keys as readonly string[]) as R[];
      case "transfers":
        // One statement for a batch's ids (a JSON array): one call instead of one per transfer.
        return keys.length > 1
          ? ((st.transfersIn.all(JSON.stringify(keys)) as Row[]).map(transferFromRow) as R[])
          : each(st.transfer, transferFromRow);
      case "holds":
        return each(st.hold, holdFromRow);
      case "holdsByEscrowId":
        return each(st.holdByEscrow, holdFromRow);
      case "decisions":
        return each(st.decision, (r) => ({
          chainEventId: r.chain_event_id as string,
          holdId: r.hold_id as string,
          action: r.action as DecisionRow["action"],
        }));
      case "facts":
        return each(st.fact, factFromRow);
      default:
        throw new InvariantError(`no rows to load from ${String(table)}`);
    }
  }

  #accounts(ids: readonly string[]): AccountRow[] {
    const st = this.#st();
    const cache = this.cache;
    const [changes, version] = st.version.get() as [number, number];
    cache.check(changes, version);
    const missing: string[] = [];
    for (const id of ids) if (!cache.rows.has(id)) missing.push(id);
    let fetched: Row[] = [];
    if (missing.length > 1) fetched = st.accountsIn.all(JSON.stringify(missing)) as Row[];
    else if (missing.length === 1) {
      const r = st.account.get(missing[0]) as Row | undefined;
      if (r) fetched = [r];
    }
    for (const r of fetched) {
      const a = accountFromRow(r);
      a.key = Number(r.account_key);
      cache.rows.set(a.id, a);
    }
    const out: AccountRow[] = [];
    for (const id of ids) {
      const a = cache.rows.get(id);
      if (a) out.push(a);
    }
    return out;
  }

  nextSequences(): number {
    return Number(this.#st().nextSeq.get());
  }

  insert<N extends keyof LedgerTables>(
    tx: SqliteTx,
    table: N,
    rows: readonly LedgerTables[N]["row"][],
  ): void {
    const st = this.#st();
    switch (table) {
      case "accounts":
        for (const a of rows as AccountRow[]) {
          const { lastInsertRowid } = st.insertAccount.run(
            a.id,
            a.pseudonym,
            a.type,
            a.asset,
            a.scale,
            a.status,
            limitsToJson(a.limits),
            a.metadata,
            a.createdAt,
            a.sequence,
          );
          a.key = Number(lastInsertRowid);
          st.insertBalance.run(a.key, ...balances(a));
          this.cache.rows.set(a.id, a);
        }
        return;
      case "transfers":
        for (const t of rows as TransferRow[]) st.insertTransfer.run(transferValues(t));
        return;
      case "holds":
        for (const h of rows as HoldRow[]) st.insertHold.run(holdValues(h));
        return;
      case "decisions":
        for (const d of rows as DecisionRow[]) st.insertDecision.run(d.chainEventId, d.holdId, d.action);
        return;
      case "facts":
        for (const f of rows as FactRow[]) st.insertFact.run(factValues(f));
        return;
      case "events":
        for (const e of rows as SealedEvent[]) {
          const d = e.draft;
          st.insertEvent.run(
            e.sequence,
            SUBJECT_KINDS[d.subjectKind],
            d.subjectId,
            d.debitAccountId,
            d.creditAccountId,
            d.createdAt,
            e.leaf.subarray(1),
            e.hash,
          );
        }
        tx.events += rows.length;
        return;
      default:
        throw new InvariantError(`no rows to insert into ${String(table)}`);
    }
  }

  upsert<N extends keyof LedgerTables>(
    _tx: SqliteTx,
    table: N,
    rows: readonly LedgerTables[N]["row"][],
  ): void {
    const st = this.#st();
    switch (table) {
      case "accounts":
        for (const a of rows as AccountRow[]) {
          if (a.key === undefined)
            throw new InvariantError(`account ${a.id} was updated without being loaded`);
          st.updateBalance.run(...balances(a), a.key);
          this.cache.rows.set(a.id, a);
        }
        return;
      case "accountStatuses":
        for (const a of rows as AccountRow[]) {
          if (a.key === undefined) throw new InvariantError(`account ${a.id} changed without being loaded`);
          st.updateStatus.run(a.status, a.key);
        }
        return;
      case "holds":
        for (const h of rows as HoldRow[])
          st.updateHold.run(
            h.status,
            h.resolvedAt,
            h.resolvedSequence,
            h.resolution,
            h.releaseTransferId,
            h.id,
          );
        return;
      default:
        throw new InvariantError(`no rows to update in ${String(table)}`);
    }
  }
}

type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(s: BetterSqlite3.Database) {
  return {
    account: s.prepare("SELECT * FROM ledger_accounts WHERE id = ?"),
    accountByPseudonym: s.prepare("SELECT * FROM ledger_accounts WHERE pseudonym = ?"),
    transfer: s.prepare("SELECT * FROM ledger_transfers WHERE id = ?"),
    transfersIn: s.prepare("SELECT * FROM ledger_transfers WHERE id IN (SELECT value FROM json_each(?))"),
    accountsIn: s.prepare("SELECT * FROM ledger_accounts WHERE id IN (SELECT value FROM json_each(?))"),
    hold: s.prepare("SELECT * FROM ledger_holds WHERE id = ?"),
    holdByEscrow: s.prepare("SELECT * FROM ledger_holds WHERE escrow_id = ?"),
    decision: s.prepare("SELECT * FROM ledger_hold_decisions WHERE chain_event_id = ?"),
    fact: s.prepare("SELECT * FROM ledger_facts WHERE id = ?"),
    // Reads on the request path (receipts, served-row checks): prepared once, not per call.
    eventsFrom: s.prepare("SELECT * FROM ledger_events WHERE sequence >= ? ORDER BY sequence LIMIT ?"),
    eventAt: s.prepare("SELECT * FROM ledger_events WHERE sequence = ?"),
    accountEventSequences: s
      .prepare(
        "SELECT sequence FROM ledger_events WHERE subject_kind = 1 AND subject_id = ? ORDER BY sequence",
      )
      .pluck(),
    leafHashesFrom: s
      .prepare("SELECT leaf_hash FROM ledger_events WHERE sequence >= ? ORDER BY sequence LIMIT ?")
      .pluck(),
    openEscrowHolds: s.prepare(
      "SELECT * FROM ledger_holds WHERE status = 'pending' AND kind = 'escrow_hold' ORDER BY created_at, id",
    ),
    dueHoldIds: s
      .prepare(
        "SELECT id FROM ledger_holds WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?",
      )
      .pluck(),
    // Both stay put while only this store writes (see AccountCache).
    version: s.prepare("SELECT total_changes(), data_version FROM pragma_data_version").raw(),
    nextSeq: s.prepare("SELECT COALESCE(MAX(sequence) + 1, 0) AS n FROM ledger_events").pluck(),
    eventLeaves: s
      .prepare(
        `SELECT ${EVENT_LEAF_COLUMNS} FROM ledger_events WHERE sequence >= ? ORDER BY sequence LIMIT ?`,
      )
      .raw(),
    insertAccount: s.prepare(
      `INSERT INTO ledger_account_terms (id, pseudonym, type, asset, scale, status, limits, metadata, created_at,
        sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertBalance: s.prepare(
      `INSERT INTO ledger_balances (account_key, debits_posted, credits_posted, debits_pending, credits_pending)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    updateStatus: s.prepare("UPDATE ledger_account_terms SET status = ? WHERE key = ?"),
    updateBalance: s.prepare(
      `UPDATE ledger_balances SET debits_posted = ?, credits_posted = ?, debits_pending = ?, credits_pending = ?
       WHERE account_key = ?`,
    ),
    insertTransfer: s.prepare(
      `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, kind, metadata, fee,
        hold_id, sequence, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertHold: s.prepare(
      `INSERT INTO ledger_holds (id, debit_account_id, credit_account_id, asset, amount, kind, status, escrow_id,
        payee_account_id, timeout_ms, expires_at, metadata, fee, created_at, sequence, resolved_at,
        resolved_sequence, resolution, release_transfer_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateHold: s.prepare(
      `UPDATE ledger_holds SET status = ?, resolved_at = ?, resolved_sequence = ?, resolution = ?,
        release_transfer_id = ? WHERE id = ?`,
    ),
    insertDecision: s.prepare(
      "INSERT INTO ledger_hold_decisions (chain_event_id, hold_id, action) VALUES (?, ?, ?)",
    ),
    insertFact: s.prepare(
      `INSERT INTO ledger_facts (id, kind, document_hash, subject_account_id, asset, amount, sequence, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertEvent: s.prepare(
      `INSERT INTO ledger_events (sequence, subject_kind, subject_id, debit_account_id, credit_account_id,
        created_at, leaf, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
  };
}

/**
 * SQLite backend (better-sqlite3, WAL, synchronous=FULL as opened by src/db). Writes go through
 * the shared unit of work (src/db/unit-of-work.ts, plan code in unit.ts) over SqliteLedgerDialect,
 * with its named parts: the group commit queue (one transaction per turn of the event loop), the
 * WAL policy (src/db/wal-policy.ts) and the account cache.
 */
export class SqliteLedgerStore implements LedgerStore {
  readonly backend = "sqlite" as const;
  readonly #db: Database & { kind: "sqlite" };
  readonly #s: BetterSqlite3.Database;
  #stmts?: Statements;
  readonly #dialect: SqliteLedgerDialect;
  readonly #uow: UnitOfWork<LoadKeys, LoadedState, Plan<unknown>, SqliteTx, LedgerTables>;

  constructor(db: Database & { kind: "sqlite" }, clock: () => number) {
    this.#db = db;
    this.#s = db.sqlite;
    this.#dialect = new SqliteLedgerDialect(this.#s, () => this.stmts, db.turnstile);
    this.#uow = new UnitOfWork(this.#dialect, ledgerPlanner<SqliteTx>(), { clock, maxInFlight: 1 });
  }

  writeStats(): LedgerWriteStats {
    return { ...this.#uow.stats };
  }

  async migrate(): Promise<void> {
    this.#dialect.wal.open();
    await migrate(this.#db, ledgerMigrations);
    this.#stmts = prepareStatements(this.#s);
  }

  private get stmts() {
    if (!this.#stmts) this.#stmts = prepareStatements(this.#s);
    return this.#stmts;
  }

  execute<T>(keys: LoadKeys, plan: (state: LoadedState, now: number) => Plan<T>): Promise<T> {
    return this.#uow.execute(keys, plan);
  }

  async getAccount(id: string) {
    const r = this.stmts.account.get(id) as Row | undefined;
    return r && accountFromRow(r);
  }
  async getAccountByPseudonym(p: Hex) {
    const r = this.stmts.accountByPseudonym.get(p.toLowerCase()) as Row | undefined;
    return r && accountFromRow(r);
  }
  async listAccounts(f: AccountFilter) {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.type !== undefined) where.push("type = ?") && args.push(f.type);
    if (f.asset !== undefined) where.push("asset = ?") && args.push(f.asset);
    if (f.status !== undefined) where.push("status = ?") && args.push(f.status);
    if (f.after !== undefined) where.push("id > ?") && args.push(f.after);
    const sql = `SELECT * FROM ledger_accounts ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id LIMIT ?`;
    return (this.#s.prepare(sql).all(...args, f.limit) as Row[]).map(accountFromRow);
  }
  async getTransfer(id: string) {
    const r = this.stmts.transfer.get(id) as Row | undefined;
    return r && transferFromRow(r);
  }
  async getHold(id: string) {
    const r = this.stmts.hold.get(id) as Row | undefined;
    return r && holdFromRow(r);
  }
  async getHoldByEscrowId(escrowId: Hex) {
    const r = this.stmts.holdByEscrow.get(escrowId.toLowerCase()) as Row | undefined;
    return r && holdFromRow(r);
  }
  async getFact(id: string) {
    const r = this.stmts.fact.get(id) as Row | undefined;
    return r && factFromRow(r);
  }
  async listFacts(filter: { kind?: number; afterSequence?: number; limit: number }) {
    const rows = this.#s
      .prepare(
        `SELECT * FROM ledger_facts WHERE sequence > ? ${filter.kind === undefined ? "" : "AND kind = ?"}
         ORDER BY sequence LIMIT ?`,
      )
      .all(
        ...[filter.afterSequence ?? -1, ...(filter.kind === undefined ? [] : [filter.kind]), filter.limit],
      ) as Row[];
    return rows.map(factFromRow);
  }
  async listOpenEscrowHolds() {
    return (this.stmts.openEscrowHolds.all() as Row[]).map(holdFromRow);
  }
  async dueHoldIds(now: number, limit: number) {
    return this.stmts.dueHoldIds.all(now, limit) as string[];
  }
  async eventCount() {
    return Number(this.stmts.nextSeq.get());
  }
  async getEvents(fromSeq: number, limit: number) {
    return (this.stmts.eventsFrom.all(fromSeq, limit) as Row[]).map(eventFromRow);
  }
  async getEventLeaves(fromSeq: number, limit: number) {
    return (this.stmts.eventLeaves.all(fromSeq, limit) as unknown[][]).map(eventLeafFromValues);
  }
  async getEventsBySequence(sequences: readonly number[]) {
    if (sequences.length === 0) return [];
    const stmt = this.stmts.eventAt;
    return sequences
      .map((s) => stmt.get(s) as Row | undefined)
      .filter((r): r is Row => r !== undefined)
      .map(eventFromRow)
      .sort((a, b) => a.sequence - b.sequence);
  }
  async accountEventSequences(id: string) {
    return (this.stmts.accountEventSequences.all(id) as number[]).map(Number);
  }
  async leafHashes(fromSeq: number, limit: number) {
    return (this.stmts.leafHashesFrom.all(fromSeq, limit) as Buffer[]).map((b) => new Uint8Array(b));
  }
  private scan<T>(table: string, map: (r: Row) => T, visit: (rows: T[]) => void, key = "rowid"): void {
    // Integer key order: the physical order, cheapest to walk.
    const stmt = this.#s.prepare(
      `SELECT ${key} AS _rid, * FROM ${table} WHERE ${key} > ? ORDER BY ${key} LIMIT ${PAGE}`,
    );
    let after = -1;
    for (;;) {
      const rows = stmt.all(after) as Row[];
      if (rows.length === 0) return;
      visit(rows.map(map));
      after = Number(rows[rows.length - 1]._rid);
    }
  }
  private scanEvents(visit: NonNullable<SnapshotVisitor["events"]>): void {
    // Raw rows and the hash preimage built by SQLite: one buffer per leaf, no per-row objects to map.
    // (|| yields text; the cast gives its bytes back unchanged as a blob.)
    const stmt = this.#s
      .prepare(
        `SELECT sequence, CAST(x'00' || leaf AS BLOB), leaf_hash FROM ledger_events WHERE sequence > ? ORDER BY sequence LIMIT ${EVENT_PAGE}`,
      )
      .raw();
    let after = -1;
    for (;;) {
      const rows = stmt.all(after) as [number, Buffer, Buffer][];
      if (rows.length === 0) return;
      visit(rows.map(([sequence, prefixedLeaf, leafHash]) => ({ sequence, prefixedLeaf, leafHash })));
      after = rows[rows.length - 1][0];
    }
  }

  /**
   * Per-account transfer sums in SQL, exactly: amounts are decimal TEXT (up to 39 digits), so each
   * is cut into five 9-digit limbs summed as 64-bit integers (no overflow below ~10^10 rows) and
   * recombined as bigints. Returns undefined if any amount is not a canonical decimal of at most
   * 45 digits; the caller then sums rows itself.
   */
  private transferTotals(): TransferTotals | undefined {
    const bad = this.#s
      .prepare(
        `SELECT COUNT(*) FROM ledger_transfers WHERE typeof(amount) <> 'text' OR length(amount) NOT BETWEEN 1 AND 45
           OR amount GLOB '*[^0-9]*' OR (amount GLOB '0*' AND amount <> '0')`,
      )
      .pluck()
      .get() as number;
    if (bad !== 0) return undefined;
    const limbs = [0, 1, 2, 3, 4]
      .map((k) => `SUM(CAST(substr(amount, ${-9 * (k + 1)}, 9) AS INTEGER))`)
      .join(", ");
    const sums = new Map<string, { debits: bigint; credits: bigint }>();
    let count = 0;
    for (const side of ["debit", "credit"] as const) {
      const rows = this.#s
        .prepare(
          `SELECT ${side}_account_id, COUNT(*), ${limbs} FROM ledger_transfers GROUP BY ${side}_account_id`,
        )
        .safeIntegers()
        .raw()
        .all() as [string, bigint, ...bigint[]][];
      for (const [id, n, ...parts] of rows) {
        let total = 0n;
        for (let k = parts.length - 1; k >= 0; k--) total = total * 1_000_000_000n + parts[k];
        let s = sums.get(id);
        if (!s) sums.set(id, (s = { debits: 0n, credits: 0n }));
        if (side === "debit") {
          s.debits += total;
          count += Number(n);
        } else s.credits += total;
      }
    }
    return { count, accounts: [...sums].map(([accountId, s]) => ({ accountId, ...s })) };
  }

  async scanSnapshot(v: SnapshotVisitor) {
    // One deferred read transaction: a WAL snapshot, unaffected by writers in other processes.
    this.#s.transaction(() => {
      if (v.events) this.scanEvents(v.events);
      if (v.accounts) this.scan("ledger_accounts", accountFromRow, v.accounts, "account_key");
      const totals = v.transferTotals ? this.transferTotals() : undefined;
      if (totals) v.transferTotals!(totals);
      else if (v.transfers) this.scan("ledger_transfers", transferFromRow, v.transfers);
      if (v.holds) this.scan("ledger_holds", holdFromRow, v.holds);
    })();
  }
  async close() {
    // The Database handle belongs to the caller (it may be shared with src/log); the checkpoint
    // thread is this store's.
    await this.#dialect.wal.close();
  }
}
