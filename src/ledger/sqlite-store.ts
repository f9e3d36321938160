import type BetterSqlite3 from "better-sqlite3";
import type { Hex } from "viem";
import type { Database } from "../db/database";
import { InvariantError } from "../errors";
import { BackgroundCheckpointer } from "../db/checkpointer";
import { migrate } from "../db/migrate";
import { startLeafHashes } from "./leaf-hasher";
import { setLeafSequence } from "./leaf-writer";
import { ledgerMigrations } from "./migrations";
import {
  accountFromRow,
  eventFromRow,
  factFromRow,
  holdFromRow,
  limitsToJson,
  transferFromRow,
} from "./rows";
import {
  type AccountFilter,
  type AccountRow,
  type DecisionRow,
  type EventRow,
  type HoldRow,
  type LedgerStore,
  type LoadKeys,
  type LoadedState,
  type Plan,
  SUBJECT_KINDS,
  type SnapshotVisitor,
  type TransferRow,
  type TransferTotals,
} from "./store";

type Row = Record<string, unknown>;

interface QueuedUnit {
  keys: LoadKeys;
  plan: (state: LoadedState, now: number) => Plan<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

const PAGE = 10_000;
/** WAL pages between automatic checkpoints (SQLite's default is 1 000, i.e. 4 MiB). */
const WAL_AUTOCHECKPOINT = 16_384;
/** Once checkpoints run in the background, the writer's own is only a backstop: 256 MiB of WAL. */
const WAL_AUTOCHECKPOINT_BACKSTOP = 65_536;
/**
 * Events written through this store before checkpoints move to a background thread (about 10 MiB
 * of WAL): small ledgers (tests, demos) never start the thread.
 */
const BACKGROUND_CHECKPOINT_AFTER = 20_000;
/**
 * Then one checkpoint per this many events (about 2 MiB of WAL): each one also syncs the database
 * file, and one per small commit would compete with the commits' own WAL syncs.
 */
const BACKGROUND_CHECKPOINT_EVERY = 4_000;
/**
 * And every this many events (~40 MiB of WAL) the writer itself runs a RESTART checkpoint between
 * two transactions: the background thread has copied all but the last few frames, so it copies
 * those, rewinds the WAL and the file stops growing. A busy writer never leaves the background
 * thread a gap between transactions to do this.
 */
const WAL_RESTART_EVERY = 64_000;
/** How long that RESTART may wait for readers of older snapshots before giving up until next time. */
const WAL_RESTART_WAIT_MS = 100;
/** Accounts kept between transactions; beyond this the cache starts over. */
const ACCOUNT_CACHE_MAX = 200_000;

const INT64_MAX = 0x7fff_ffff_ffff_ffffn;
/** A balance as stored (see ledger/003): INTEGER when it fits in 64 bits, else decimal TEXT. */
function balance(v: bigint): bigint | string {
  return v <= INT64_MAX && v >= -INT64_MAX ? v : v.toString();
}

const EVENT_PAGE = 50_000;
/** Units with at least this many transfer ids skip the id lookup on their first attempt (see #apply). */
const OPTIMISTIC_MIN_TRANSFERS = 16;

/**
 * SQLite backend (better-sqlite3, WAL, synchronous=FULL as opened by src/db). One write
 * transaction at a time: `BEGIN IMMEDIATE` takes the database write lock before loading, so the
 * loaded balances are current even with several processes on one file.
 */
export class SqliteLedgerStore implements LedgerStore {
  readonly backend = "sqlite" as const;
  readonly #db: Database & { kind: "sqlite" };
  readonly #s: BetterSqlite3.Database;
  readonly #clock: () => number;
  #stmts?: ReturnType<SqliteLedgerStore["prepare"]>;
  /**
   * Account rows as this store last read or wrote them. Trusted only while nothing else changed
   * the database: `data_version` moves when another connection commits, `total_changes()` when
   * anything else writes through this connection; either clears it, as does any failed unit.
   */
  #accounts = new Map<string, AccountRow>();
  #seen: [number, number] = [-1, -1];
  #eventsWritten = 0;
  #eventsAtCheckpoint = 0;
  #eventsAtRestart = 0;
  #closed = false;
  #checkpointer?: BackgroundCheckpointer;

  constructor(db: Database & { kind: "sqlite" }, clock: () => number) {
    this.#db = db;
    this.#s = db.sqlite;
    this.#clock = clock;
  }

  async migrate(): Promise<void> {
    // A batch of 8 000 transfers writes ~2 000 pages: with the default every such commit also
    // checkpointed them into the database file (and synced it). A larger WAL checkpoints the
    // account pages that every batch rewrites once per several batches. Durability is unchanged:
    // a commit is durable once its WAL frames are synced.
    this.#s.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT}`);
    await migrate(this.#db, ledgerMigrations);
    this.#stmts = this.prepare();
  }

  private prepare() {
    const s = this.#s;
    return {
      account: s.prepare("SELECT * FROM ledger_accounts WHERE id = ?"),
      accountByPseudonym: s.prepare("SELECT * FROM ledger_accounts WHERE pseudonym = ?"),
      transfer: s.prepare("SELECT * FROM ledger_transfers WHERE id = ?"),
      // One statement for a batch's ids (a JSON array): one call instead of one per transfer.
      transfersIn: s.prepare("SELECT * FROM ledger_transfers WHERE id IN (SELECT value FROM json_each(?))"),
      accountsIn: s.prepare("SELECT * FROM ledger_accounts WHERE id IN (SELECT value FROM json_each(?))"),
      hold: s.prepare("SELECT * FROM ledger_holds WHERE id = ?"),
      holdByEscrow: s.prepare("SELECT * FROM ledger_holds WHERE escrow_id = ?"),
      decision: s.prepare("SELECT * FROM ledger_hold_decisions WHERE chain_event_id = ?"),
      fact: s.prepare("SELECT * FROM ledger_facts WHERE id = ?"),
      // Both stay put while only this store writes (see #accounts).
      version: s.prepare("SELECT total_changes(), data_version FROM pragma_data_version").raw(),
      nextSeq: s.prepare("SELECT COALESCE(MAX(sequence) + 1, 0) AS n FROM ledger_events").pluck(),
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

  private get stmts() {
    if (!this.#stmts) this.#stmts = this.prepare();
    return this.#stmts;
  }

  /**
   * Group commit: writes that arrive while the event loop is busy are queued and applied together
   * on the next turn in one transaction (one fsync), each inside its own savepoint, so each stays
   * all-or-nothing and gets its own answer: a unit that throws is rolled back alone. Units run in
   * arrival order, each seeing the writes of the units before it.
   */
  execute<T>(keys: LoadKeys, plan: (state: LoadedState, now: number) => Plan<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ keys, plan, resolve, reject } as QueuedUnit);
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  #queue: QueuedUnit[] = [];

  #flush(): void {
    const units = this.#queue;
    this.#queue = [];
    if (units.length === 1) {
      // Alone: its own transaction, no savepoint needed.
      const u = units[0];
      try {
        const value = this.#s.transaction(() => this.#apply(u.keys, u.plan)).immediate();
        this.#committed();
        u.resolve(value);
      } catch (e) {
        this.#accounts.clear();
        u.reject(e);
      }
      return;
    }
    // better-sqlite3 runs a transaction function called inside another one as a savepoint.
    const unit = this.#s.transaction((u: QueuedUnit) => this.#apply(u.keys, u.plan));
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.#s
        .transaction(() => {
          for (const u of units) {
            try {
              outcomes.push({ ok: true, value: unit(u) });
            } catch (error) {
              // Some errors (I/O, out of memory) make SQLite roll back the whole transaction: then
              // none of the group is written and every unit must fail, not run on in autocommit.
              this.#accounts.clear();
              if (!this.#s.inTransaction) throw error;
              outcomes.push({ ok: false, error });
            }
          }
        })
        .immediate();
    } catch (e) {
      // The commit itself failed: nothing of the group was written.
      this.#accounts.clear();
      for (const u of units) u.reject(e);
      return;
    }
    this.#committed();
    units.forEach((u, i) => {
      const o = outcomes[i];
      if (o.ok) u.resolve(o.value);
      else u.reject(o.error);
    });
  }

  /**
   * After a commit, once the ledger writes in volume: a background checkpoint every
   * BACKGROUND_CHECKPOINT_EVERY events, and the WAL rewound here every WAL_RESTART_EVERY.
   */
  #committed(): void {
    if (this.#checkpointer) {
      if (this.#eventsWritten - this.#eventsAtRestart >= WAL_RESTART_EVERY) {
        this.#eventsAtRestart = this.#eventsAtCheckpoint = this.#eventsWritten;
        return this.#restartWal();
      }
      if (this.#eventsWritten - this.#eventsAtCheckpoint < BACKGROUND_CHECKPOINT_EVERY) return;
      this.#eventsAtCheckpoint = this.#eventsWritten;
      return this.#checkpointer.notify();
    }
    if (this.#eventsWritten < BACKGROUND_CHECKPOINT_AFTER || this.#closed) return;
    const path = this.#s.name;
    if (this.#s.memory || path === "" || path === ":memory:") return;
    this.#checkpointer = new BackgroundCheckpointer(path);
    this.#s.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_BACKSTOP}`);
    this.#eventsAtCheckpoint = this.#eventsAtRestart = this.#eventsWritten;
    this.#checkpointer.notify();
  }

  #restartWal(): void {
    const s = this.#s;
    const timeout = s.pragma("busy_timeout", { simple: true }) as number;
    s.pragma(`busy_timeout = ${WAL_RESTART_WAIT_MS}`);
    try {
      // Busy (a reader on an older snapshot, the background checkpoint mid-run): next time.
      s.pragma("wal_checkpoint(RESTART)");
    } catch {
      // SQLITE_BUSY can also surface as an error; the next restart tries again.
    } finally {
      s.pragma(`busy_timeout = ${timeout}`);
    }
  }

  /**
   * Runs one unit inside the open transaction. A batch of transfers first runs without looking its
   * ids up: the primary key of ledger_transfers refuses an id that exists, and the lookup of every
   * id (one index probe each, about a tenth of a batch's time) is then only paid when a batch
   * replays or fails. That first attempt runs in a savepoint; if it throws anything, the unit runs
   * again with every id loaded, and that run alone decides the outcome (an existing id returns the
   * stored transfer even where applying it again would now break a rule).
   */
  #apply<T>(keys: LoadKeys, plan: (state: LoadedState, now: number) => Plan<T>): T {
    if ((keys.transfers?.length ?? 0) >= OPTIMISTIC_MIN_TRANSFERS) {
      try {
        return this.#s.transaction(() => this.#attempt(keys, plan, false))();
      } catch (e) {
        // An error that ended the whole transaction (I/O, out of memory) is final.
        if (!this.#s.inTransaction) throw e;
        // The savepoint is rolled back: rows cached by the attempt may not be what is stored.
        this.#accounts.clear();
      }
    }
    return this.#attempt(keys, plan, true);
  }

  #attempt<T>(keys: LoadKeys, plan: (state: LoadedState, now: number) => Plan<T>, loadTransfers: boolean): T {
    const st = this.stmts;
    {
      const state: LoadedState = {
        accounts: new Map(),
        transfers: new Map(),
        holds: new Map(),
        holdsByEscrowId: new Map(),
        decisions: new Map(),
        facts: new Map(),
      };
      const accountIds = new Set(keys.accounts ?? []);
      for (const id of keys.holds ?? []) {
        const r = st.hold.get(id) as Row | undefined;
        if (!r) continue;
        const h = holdFromRow(r);
        state.holds.set(h.id, h);
        accountIds.add(h.debitAccountId).add(h.creditAccountId);
        if (h.payeeAccountId) accountIds.add(h.payeeAccountId);
      }
      for (const e of keys.escrowIds ?? []) {
        const r = st.holdByEscrow.get(e) as Row | undefined;
        if (r) state.holdsByEscrowId.set(e, holdFromRow(r));
      }
      const cache = this.#accounts;
      const [changes, version] = st.version.get() as [number, number];
      if (changes !== this.#seen[0] || version !== this.#seen[1] || cache.size > ACCOUNT_CACHE_MAX)
        cache.clear();
      // The plan mutates the cached rows in place: any unit that fails clears the whole cache
      // (#flush, #apply), so what stays in it is what was written.
      const missing: string[] = [];
      for (const id of accountIds) if (!cache.has(id)) missing.push(id);
      let fetched: Row[] = [];
      if (missing.length > 1) fetched = st.accountsIn.all(JSON.stringify(missing)) as Row[];
      else if (missing.length === 1) {
        const r = st.account.get(missing[0]) as Row | undefined;
        if (r) fetched = [r];
      }
      for (const r of fetched) {
        const a = accountFromRow(r);
        a.key = Number(r.account_key);
        cache.set(a.id, a);
      }
      // The plan reads the cache itself: it now holds every account named above that exists (the
      // whole database is locked, so the other rows in it are current too).
      state.accounts = cache;
      const transferIds = loadTransfers ? (keys.transfers ?? []) : [];
      if (transferIds.length > 1) {
        for (const r of st.transfersIn.all(JSON.stringify(transferIds)) as Row[])
          state.transfers.set(r.id as string, transferFromRow(r));
      } else {
        for (const id of transferIds) {
          const r = st.transfer.get(id) as Row | undefined;
          if (r) state.transfers.set(id, transferFromRow(r));
        }
      }
      for (const id of keys.chainEventIds ?? []) {
        const r = st.decision.get(id) as Row | undefined;
        if (r)
          state.decisions.set(id, {
            chainEventId: id,
            holdId: r.hold_id as string,
            action: r.action as DecisionRow["action"],
          });
      }
      for (const id of keys.facts ?? []) {
        const r = st.fact.get(id) as Row | undefined;
        if (r) state.facts.set(id, factFromRow(r));
      }

      const p = plan(state, this.#clock());
      const c = p.changes;
      if (c.events.length === 0) {
        this.#seen = [changes, version];
        return p.result();
      }

      this.#eventsWritten += c.events.length;
      let seq = Number(st.nextSeq.get());
      // Sequences first (rows below carry them); the leaves are hashed while the rows are written.
      const events = c.events;
      const leaves: Buffer[] = new Array(events.length);
      for (let i = 0; i < events.length; i++) {
        const d = events[i];
        d.assign(seq);
        setLeafSequence(d.prepared, seq++);
        leaves[i] = d.prepared.buf;
      }
      const hashing = startLeafHashes(leaves);
      for (const a of c.newAccounts) {
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
        st.insertBalance.run(
          a.key,
          balance(a.debitsPosted),
          balance(a.creditsPosted),
          balance(a.debitsPending),
          balance(a.creditsPending),
        );
      }
      for (const a of c.statusChanged) {
        if (a.key === undefined) throw new InvariantError(`account ${a.id} changed without being loaded`);
        st.updateStatus.run(a.status, a.key);
      }
      for (const a of c.updatedAccounts) {
        if (a.key === undefined) throw new InvariantError(`account ${a.id} was updated without being loaded`);
        st.updateBalance.run(
          balance(a.debitsPosted),
          balance(a.creditsPosted),
          balance(a.debitsPending),
          balance(a.creditsPending),
          a.key,
        );
      }
      for (const t of c.newTransfers) {
        st.insertTransfer.run(
          t.id,
          t.debitAccountId,
          t.creditAccountId,
          t.asset,
          t.amount.toString(),
          t.kind,
          t.metadata,
          t.fee,
          t.holdId,
          t.sequence,
          t.createdAt,
        );
      }
      for (const h of c.newHolds) {
        st.insertHold.run(
          h.id,
          h.debitAccountId,
          h.creditAccountId,
          h.asset,
          h.amount.toString(),
          h.kind,
          h.status,
          h.escrowId,
          h.payeeAccountId,
          h.timeoutMs,
          h.expiresAt,
          h.metadata,
          h.fee,
          h.createdAt,
          h.sequence,
          h.resolvedAt,
          h.resolvedSequence,
          h.resolution,
          h.releaseTransferId,
        );
      }
      for (const h of c.updatedHolds) {
        st.updateHold.run(
          h.status,
          h.resolvedAt,
          h.resolvedSequence,
          h.resolution,
          h.releaseTransferId,
          h.id,
        );
      }
      for (const d of c.newDecisions) st.insertDecision.run(d.chainEventId, d.holdId, d.action);
      for (const f of c.newFacts)
        st.insertFact.run(
          f.id,
          f.kind,
          f.documentHash,
          f.subjectAccountId,
          f.asset,
          f.amount === null ? null : f.amount.toString(),
          f.sequence,
          f.createdAt,
        );
      const hashes = hashing.finish();
      for (let i = 0; i < events.length; i++) {
        const d = events[i];
        st.insertEvent.run(
          seq - events.length + i,
          SUBJECT_KINDS[d.subjectKind],
          d.subjectId,
          d.debitAccountId,
          d.creditAccountId,
          d.createdAt,
          leaves[i].subarray(1),
          hashes[i],
        );
      }
      // Written: the cache follows (a failure later in this transaction clears it).
      // Updated accounts are the cached rows themselves; new ones join them.
      for (const a of c.newAccounts) cache.set(a.id, a);
      this.#seen = [(st.version.get() as [number, number])[0], version];
      return p.result();
    }
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
    return (
      this.#s
        .prepare(
          "SELECT * FROM ledger_holds WHERE status = 'pending' AND kind = 'escrow_hold' ORDER BY created_at, id",
        )
        .all() as Row[]
    ).map(holdFromRow);
  }
  async dueHoldIds(now: number, limit: number) {
    return this.#s
      .prepare(
        "SELECT id FROM ledger_holds WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?",
      )
      .pluck()
      .all(now, limit) as string[];
  }
  async eventCount() {
    return Number(this.stmts.nextSeq.get());
  }
  async getEvents(fromSeq: number, limit: number) {
    return (
      this.#s
        .prepare("SELECT * FROM ledger_events WHERE sequence >= ? ORDER BY sequence LIMIT ?")
        .all(fromSeq, limit) as Row[]
    ).map(eventFromRow);
  }
  async getEventsBySequence(sequences: readonly number[]) {
    if (sequences.length === 0) return [];
    const stmt = this.#s.prepare("SELECT * FROM ledger_events WHERE sequence = ?");
    return sequences
      .map((s) => stmt.get(s) as Row | undefined)
      .filter((r): r is Row => r !== undefined)
      .map(eventFromRow)
      .sort((a, b) => a.sequence - b.sequence);
  }
  async accountEventSequences(id: string) {
    return (
      this.#s
        .prepare(
          "SELECT sequence FROM ledger_events WHERE subject_kind = 1 AND subject_id = ? ORDER BY sequence",
        )
        .pluck()
        .all(id) as number[]
    ).map(Number);
  }
  async leafHashes(fromSeq: number, limit: number) {
    return (
      this.#s
        .prepare("SELECT leaf_hash FROM ledger_events WHERE sequence >= ? ORDER BY sequence LIMIT ?")
        .pluck()
        .all(fromSeq, limit) as Buffer[]
    ).map((b) => new Uint8Array(b));
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
    this.#closed = true;
    const c = this.#checkpointer;
    this.#checkpointer = undefined;
    if (c) {
      await c.close();
      if (this.#s.open) this.#s.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT}`);
    }
  }
}
