import type pg from "pg";
import type { Hex } from "viem";
import type { Database } from "../db/database";
import { migrate } from "../db/migrate";
import { type BinaryElement, arrayArg, arrayBinary, arrayText } from "../db/pg-array";
import { type Step, type TransactionOptions, UnitOfWork, UnlockedRowsError } from "../db/unit-of-work";
import { InvariantError } from "../errors";
import { LEAF_V1_BYTES } from "../protocol/leaf-v1";
import { CheckedAccountCache } from "./checked-account-cache";
import { ACCOUNT_ROW_CHANGED, LOCKED_ROW_MOVED, ledgerMigrations } from "./migrations";
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
  transferColumns,
} from "./rows";
import {
  type AccountFilter,
  type AccountRow,
  type DecisionRow,
  type FactRow,
  type HoldRow,
  type TransferRow,
  type LedgerStore,
  type LedgerWriteStats,
  type LoadKeys,
  type LoadedState,
  type Plan,
  SUBJECT_KINDS,
  type SnapshotVisitor,
} from "./store";
import {
  type LedgerDialect,
  type LedgerTables,
  type SealedEvent,
  type TransferGroup,
  copyAccount,
  ledgerPlanner,
} from "./unit";

type Row = Record<string, unknown>;

/** SQLSTATEs after which the whole unit of work is retried from the load. */
const RETRYABLE = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "23505", // unique_violation: a concurrent writer inserted the same id first; the retry sees it
]);
const MAX_ATTEMPTS = 8;
const PAGE = 10_000;

/** A write whose answer nobody waits for: sent with the next statement that has one (see PgTx). */
interface Deferred {
  text: string;
  values: unknown[];
  /** Prepared-statement name, when the statement may be planned once (inserts). */
  name?: string;
  /** The rows it must touch: checked from its RETURNING rows (the text must end without one). */
  expect?: { rows: number; what: string };
  /**
   * A SELECT run for its effect (a function call): read by the combined statement, since a plain
   * SELECT in WITH runs only if something reads it.
   */
  select?: true;
}

/** A write that touched another number of rows than it must: an invariant broken. */
function touchedError(d: Deferred, n: number): InvariantError {
  return new InvariantError(d.expect!.what, { details: `touched ${n} of ${d.expect!.rows}` });
}

/**
 * One PostgreSQL write transaction: its connection, the row ids of the accounts it locked, and the
 * writes not sent yet. Round trips are what a group pays for (each one a wake-up of Node and of
 * the server): BEGIN travels with the first lock, and writes wait in `deferred` until a statement
 * whose answer is needed (the sequence range) or the commit, then go as one statement (each a
 * data-modifying CTE). A group of transfers is 4 round trips: BEGIN + lock, balances + sequence
 * range, inserts, COMMIT (5 when transfer ids are looked up first). A group planned from the
 * account cache skips the lock-and-load: a group of transfers is then one round trip.
 */
interface PgTx {
  client: pg.PoolClient;
  /**
   * Physical row ids of the locked accounts: stable while our row lock is held, so the balance
   * update can fetch each row directly instead of descending the primary key again.
   */
  ctids: Map<string, string>;
  /** Whether BEGIN was sent. */
  begun: boolean;
  /** Whether COMMIT was sent with the last write (commitTransfers), or the write was its own transaction. */
  committed: boolean;
  deferred: Deferred[];
  /** Load accounts under lock, not from the cache (the driver's retry after UnlockedRowsError). */
  lockRows: boolean;
  /** The accounts this transaction uses: in flight in the cache until it ends. */
  accountIds: string[];
  /**
   * When the accounts came from the cache: the cached rows the plans started from, by id. The
   * write checks that the stored rows still hold these values (see CheckedAccountCache).
   */
  expected?: Map<string, AccountRow>;
  /** Whether a write has checked `expected` (the checked commit call or account update). */
  checked: boolean;
  /** Account rows as this transaction leaves them: the cache takes them when it commits. */
  final: Map<string, AccountRow>;
}

/** Most parameters in one combined statement (the protocol allows 65 535). */
const MAX_COMBINED_PARAMS = 30_000;

/** `text` with its parameters renumbered from `offset + 1`. */
function shiftParams(text: string, offset: number): string {
  return offset === 0 ? text : text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
}

/**
 * Most events of a locked group committed with its arguments inline, in one message with COMMIT
 * (see commitTransfers). Above it, building and parsing literals costs more than the round trip
 * saved (bench:pg-profile, batches of 1 000 and 8 000: 11 144–11 959 and 12 168–14 806/s inline, 13 715–13 752 and 17 327–18 518/s bound).
 */
const INLINE_MAX_EVENTS = 256;
/** Parameter types of ledger_commit_transfers, in order (migrations.ts). */
const APPEND_TYPES = [
  ...["text[]", "text[]", "text[]", "text[]", "numeric[]", "text[]", "text[]", "text[]", "text[]"],
  ...["bigint[]", "bigint[]", "text[]", "text[]", "text[]", "bigint[]", "bytea"],
];
const COMMIT_TRANSFERS_TYPES = [
  "tid[]",
  ...["text[]", "text[]", "numeric[]", "numeric[]", "numeric[]", "numeric[]"],
  ...APPEND_TYPES,
];
/** Parameter types of ledger_commit_transfers_checked: new values, then expected values. */
const CHECKED_TYPES = [
  ...["text[]", "text[]", "numeric[]", "numeric[]", "numeric[]", "numeric[]"],
  ...["text[]", "numeric[]", "numeric[]", "numeric[]", "numeric[]"],
  ...APPEND_TYPES,
];

/**
 * A column as a bound array parameter of `type` ("text[]", …): binary where pg-array can encode
 * it (the server then skips parsing the array text), else as array text (tid[]).
 */
function boundArray(type: string, column: readonly (string | number | null)[]): Buffer | string {
  const element = BINARY_ELEMENTS[type];
  return element ? arrayBinary(element, column) : arrayText(column);
}
const BINARY_ELEMENTS: Record<string, BinaryElement | undefined> = {
  "text[]": "text",
  "numeric[]": "numeric",
  "bigint[]": "int8",
};

/** `SELECT fn($1::type1, $2::type2, …)`: a call of `fn` with bound, typed parameters. */
function callText(fn: string, types: readonly string[]): string {
  return `SELECT ${fn}(${types.map((type, i) => `$${i + 1}::${type}`).join(", ")})`;
}

/** Parameter types of ledger_update_accounts_checked (the first 11 of ledger_commit_transfers_checked). */
const CHECKED_UPDATE_TYPES = CHECKED_TYPES.slice(0, 11);

/**
 * Fewest events of a checked group committed in two calls (#commitSplit): from here on the
 * overlap it buys is worth more than its extra round trip (bench:pg-profile, b1000).
 */
const SPLIT_COMMIT_MIN_EVENTS = 256;

/** The group's leaves, each without its 0x00 prefix, end to end: the commit functions' `e_leaves`. */
function leafBytes(events: TransferGroup["events"]): Buffer {
  const leaves = Buffer.allocUnsafe(events.length * LEAF_V1_BYTES);
  for (let i = 0; i < events.length; i++) events[i].prepared.buf.copy(leaves, i * LEAF_V1_BYTES, 1);
  return leaves;
}

/** The append's array arguments but the leaves: transfer columns, then event columns. */
function appendColumns(g: TransferGroup): (string | number | null)[][] {
  const e = g.events;
  return [
    // The transfer columns in ledger_transfers' order, as the general path inserts them.
    ...transferColumns(g.transfers),
    e.map((x) => x.subjectId),
    e.map((x) => x.debitAccountId),
    e.map((x) => x.creditAccountId),
    e.map((x) => x.createdAt),
  ];
}

/** Locked account rows' balances as columns: row id (ctid), id, status, the four balances. */
function balanceColumns(tx: PgTx, rows: readonly AccountRow[]): (string | null)[][] {
  return [
    rows.map((r) => tx.ctids.get(r.id) ?? null),
    rows.map((r) => r.id),
    rows.map((r) => r.status),
    rows.map((r) => r.debitsPosted.toString()),
    rows.map((r) => r.creditsPosted.toString()),
    rows.map((r) => r.debitsPending.toString()),
    rows.map((r) => r.creditsPending.toString()),
  ];
}

/**
 * The accounts a checked write updates, as columns: id, the new status and balances (as the
 * transaction leaves them), then the expected ones (as cached). Every account the plans started
 * from is checked, changed or not: a plan may have relied on one it did not change.
 */
function checkedColumns(tx: PgTx): string[][] {
  // In id order, the order the update locks them in (it sorts them too: sorted, that costs it little).
  const ids = [...tx.expected!.keys()].sort();
  const now = ids.map((id) => tx.final.get(id)!);
  const was = ids.map((id) => tx.expected!.get(id)!);
  return [
    ids,
    now.map((r) => r.status),
    now.map((r) => r.debitsPosted.toString()),
    now.map((r) => r.creditsPosted.toString()),
    now.map((r) => r.debitsPending.toString()),
    now.map((r) => r.creditsPending.toString()),
    was.map((r) => r.status),
    was.map((r) => r.debitsPosted.toString()),
    was.map((r) => r.creditsPosted.toString()),
    was.map((r) => r.debitsPending.toString()),
    was.map((r) => r.creditsPending.toString()),
  ];
}

/**
 * PostgreSQL's side of the unit of work. Each group is one READ COMMITTED transaction that locks
 * what it reads (`SELECT … FOR UPDATE`, holds before accounts, each set in id order, so writers
 * cannot deadlock each other), so concurrent writers never spend the same balance twice. Event
 * sequences come from the one-row `ledger_log_state` counter, taken once per group, after the
 * balance updates, and held to commit: sequences are gap-free and increase in commit order
 * (docs/ledger.md, "Sequence allocation"). Every table is written with one multi-row statement.
 *
 * Statements that look rows up are sent unnamed, so each is planned with its actual arguments: a
 * named statement's generic plan, made while a table was small, kept scanning it whole after it
 * grew (~0.1 s per call at 10^6 transfers). Inserts, whose plans cannot go wrong, stay named.
 *
 * Accounts may instead come from the process's cache of committed rows (CheckedAccountCache): no
 * lock, no round trip, and the write checks them (compare-and-set) as it takes the row locks.
 */
class PostgresLedgerDialect implements LedgerDialect<PgTx> {
  readonly kind = "postgres" as const;
  readonly #pool: pg.Pool;
  readonly cache: CheckedAccountCache;

  constructor(pool: pg.Pool, cache: CheckedAccountCache) {
    this.#pool = pool;
    this.cache = cache;
  }

  async transaction<T>(body: (tx: PgTx) => Step<T>, opts?: TransactionOptions): Promise<T> {
    const client = await this.#pool.connect();
    const tx: PgTx = {
      client,
      ctids: new Map(),
      begun: false,
      committed: false,
      deferred: [],
      lockRows: opts?.lockRows ?? false,
      accountIds: [],
      checked: false,
      final: new Map(),
    };
    try {
      try {
        const value = await body(tx);
        this.#deferCheck(tx);
        if (tx.deferred.length) await this.#send(tx);
        // The cache's copies are made while COMMIT is on its way; the cache takes them once it answers.
        const commit = tx.begun && !tx.committed ? client.query("COMMIT") : undefined;
        const rows = Array.from(tx.final.values(), copyAccount);
        await commit;
        this.cache.committed(rows);
        if (tx.expected) this.cache.outcome(true);
        return value;
      } catch (thrown) {
        if (tx.begun && !tx.committed) await client.query("ROLLBACK").catch(() => {});
        // Whatever this transaction saw or wrote may not be what is stored.
        this.cache.forget(tx.accountIds);
        const e =
          (thrown as { code?: unknown }).code === ACCOUNT_ROW_CHANGED
            ? new UnlockedRowsError(String((thrown as Error).message))
            : thrown;
        if (tx.expected && e instanceof UnlockedRowsError) this.cache.outcome(false);
        throw e;
      }
    } finally {
      this.cache.leave(tx.accountIds);
      client.release();
    }
  }

  readUnlocked(tx: PgTx): boolean {
    return tx.expected !== undefined;
  }

  /**
   * The checked update of every cached account, as a deferred write: the account update of a group
   * that does not commit through ledger_commit_transfers_checked, or the check alone if none changed.
   */
  #deferCheck(tx: PgTx): void {
    if (!tx.expected || tx.checked) return; // no cached rows, or checked already
    tx.checked = true;
    tx.deferred.push({
      text: `SELECT ledger_update_accounts_checked($1::text[], $2::text[], $3::numeric[], $4::numeric[],
               $5::numeric[], $6::numeric[], $7::text[], $8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[])`,
      values: checkedColumns(tx),
      select: true,
    });
  }

  /**
   * A read with one array parameter. The transaction's first statement carries its BEGIN: both go
   * as one simple-protocol message, the array inline as an escaped literal.
   */
  async #read(tx: PgTx, text: string, keys: readonly unknown[]): Promise<Row[]> {
    if (tx.deferred.length) await this.#send(tx);
    if (tx.begun) return (await tx.client.query({ text, values: [keys] })).rows as Row[];
    tx.begun = true;
    const literal = arrayArg(keys as readonly string[]);
    const results = (await tx.client.query(
      `BEGIN; ${text.replace(/\$1(?!\d)/g, () => literal)}`,
    )) as unknown as pg.QueryResult[];
    return results[results.length - 1].rows as Row[];
  }

  /**
   * The deferred writes and then `last` (if given) as one statement; returns `last`'s rows. Each
   * write is a data-modifying CTE: they all run, whether or not the final SELECT reads them, and
   * see the same snapshot (the planner never writes one row twice in a group).
   */
  async #send(tx: PgTx, last?: { text: string; values: unknown[]; name?: string }): Promise<Row[]> {
    if (!tx.begun) {
      tx.begun = true;
      await tx.client.query("BEGIN");
    }
    let parts = tx.deferred;
    tx.deferred = [];
    const params = parts.reduce((n, d) => n + d.values.length, 0) + (last?.values.length ?? 0);
    if (params > MAX_COMBINED_PARAMS) {
      // Too many for one statement: each write alone (a group of many account openings, say).
      for (const d of parts) {
        const r = await tx.client.query(d.name ? { name: d.name, text: d.text, values: d.values } : d);
        if (d.expect && r.rowCount !== d.expect.rows) throw touchedError(d, r.rowCount ?? 0);
      }
      parts = [];
    }
    if (parts.length === 0) {
      if (!last) return [];
      return (await tx.client.query(last)).rows as Row[];
    }
    const ctes: string[] = [];
    const values: unknown[] = [];
    const counts: string[] = [];
    parts.forEach((d, i) => {
      ctes.push(`w${i} AS (${shiftParams(d.text, values.length)}${d.expect ? " RETURNING 1" : ""})`);
      values.push(...d.values);
      if (d.expect || d.select) counts.push(`(SELECT count(*) FROM w${i})::int AS n${i}`);
    });
    let select: string;
    if (last) {
      ctes.push(`f AS (${shiftParams(last.text, values.length)})`);
      values.push(...last.values);
      select = `SELECT f.*${counts.map((c) => `, ${c}`).join("")} FROM f`;
    } else select = `SELECT ${counts.length ? counts.join(", ") : "1"}`;
    const named = parts.every((d) => d.name) && (!last || last.name);
    const text = `WITH ${ctes.join(",\n")}\n${select}`;
    const name = named ? [...parts.map((d) => d.name), ...(last ? [last.name] : [])].join("+") : undefined;
    const { rows } = await tx.client.query(name ? { name, text, values } : { text, values });
    parts.forEach((d, i) => {
      const n = d.expect && rows.length ? Number((rows[0] as Row)[`n${i}`]) : d.expect ? 0 : undefined;
      if (d.expect && n !== d.expect.rows) throw touchedError(d, n ?? 0);
    });
    return rows as Row[];
  }

  /**
   * One round trip to commit: one call of `ledger_commit_transfers` (migrations.ts) and COMMIT as
   * one simple-protocol message, the arguments inline. The server numbers the events, fills each
   * sequence into its leaf and hashes it, so nothing waits on Node while the sequence counter is
   * held, and a group of transfers costs two round trips (lock-and-load, this). A large group
   * (a batch) binds its arguments instead (binary leaves, no literals to build and parse) and
   * commits in a round trip of its own, which it spreads over thousands of transfers.
   *
   * Accounts from the cache: `ledger_commit_transfers_checked`, which compares each stored row
   * with the cached one as it updates it. Nothing was sent before it, so it goes alone, as its own
   * transaction: the whole group is this one round trip. Alone, it binds its arguments whatever
   * the group's size: with no COMMIT to carry along, inline literals would only cost the server
   * their parsing (bench:pg-profile, 16 callers: ~5 µs of server CPU per transfer).
   */
  async commitTransfers(tx: PgTx, g: TransferGroup): Promise<number> {
    if (tx.deferred.length) await this.#send(tx);
    const { accounts: a, transfers: t, events: e } = g;
    const checked = tx.expected !== undefined;
    for (const r of a) tx.final.set(r.id, r);
    if (checked && !tx.begun && e.length >= SPLIT_COMMIT_MIN_EVENTS) return this.#commitSplit(tx, g);
    const fn = checked ? "ledger_commit_transfers_checked" : "ledger_commit_transfers";
    const leaves = leafBytes(e);
    const args = [...(checked ? checkedColumns(tx) : balanceColumns(tx, a)), ...appendColumns(g)];
    tx.checked = checked;
    let first: unknown;
    try {
      // Alone (nothing begun: a checked group) or large, it binds; else inline, with its COMMIT.
      if (!tx.begun || e.length > INLINE_MAX_EVENTS) {
        const types = checked ? CHECKED_TYPES : COMMIT_TRANSFERS_TYPES;
        const { rows } = await tx.client.query({
          name: fn,
          text: `${callText(fn, types)} AS first`,
          values: [...args.map((column, i) => boundArray(types[i], column)), leaves],
        });
        first = rows[0].first;
        // Without BEGIN the call was its own transaction; else COMMIT follows in transaction().
        if (!tx.begun) tx.committed = true;
      } else {
        const call = `SELECT ${fn}(${args.map(arrayArg).join(", ")}, E'\\\\x${leaves.toString("hex")}') AS first`;
        const results = (await tx.client.query(`${call}; COMMIT`)) as unknown as pg.QueryResult[];
        first = results[results.length - 2].rows[0].first;
        tx.committed = true;
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === LOCKED_ROW_MOVED)
        throw new InvariantError("a locked account row was not found by its row id", {
          details: String(err),
        });
      throw err;
    }
    return Number(first);
  }

  /**
   * A large checked group in two calls, so that Node and the server work at the same time: the
   * checked account update is sent first (after BEGIN), and while the server runs it (about half
   * of its work for a batch), Node builds the append's arguments (transfer and event columns,
   * leaves: about a fifth of its own); the append goes as soon as the update has answered, then
   * COMMIT. The sequence counter is held from the append to COMMIT (a round trip more than the
   * single call, which commits as it ends); BEGIN and COMMIT are two round trips more in all (BEGIN's
   * while Node builds the update's arguments), paid once per group of at least SPLIT_COMMIT_MIN_EVENTS.
   */
  async #commitSplit(tx: PgTx, g: TransferGroup): Promise<number> {
    tx.begun = true;
    tx.checked = true;
    // BEGIN's round trip while the update's arguments are built.
    const begin = tx.client.query("BEGIN");
    let updateValues: unknown[];
    try {
      updateValues = checkedColumns(tx).map((column, i) => boundArray(CHECKED_UPDATE_TYPES[i], column));
    } finally {
      await begin;
    }
    // Not awaited yet: the server runs it while the append's arguments are built below.
    const update = tx.client.query({
      name: "ledger_update_accounts_checked",
      text: callText("ledger_update_accounts_checked", CHECKED_UPDATE_TYPES),
      values: updateValues,
    });
    let values: unknown[];
    try {
      values = [
        ...appendColumns(g).map((column, i) => boundArray(APPEND_TYPES[i], column)),
        leafBytes(g.events),
      ];
    } finally {
      await update; // its refusal (a stale cached row) is the error thrown
    }
    const { rows } = await tx.client.query({
      name: "ledger_append_transfers",
      text: `${callText("ledger_append_transfers", APPEND_TYPES)} AS first`,
      values,
    });
    // COMMIT follows in transaction().
    return Number(rows[0].first);
  }

  retryable(e: unknown): boolean {
    const code = (e as { code?: unknown } | null)?.code;
    return typeof code === "string" && RETRYABLE.has(code);
  }

  async lockAndLoad<N extends keyof LedgerTables>(
    tx: PgTx,
    table: N,
    keys: readonly LedgerTables[N]["key"][],
  ): Promise<LedgerTables[N]["row"][]> {
    type R = LedgerTables[N]["row"];
    const q = (text: string) => this.#read(tx, text, keys);
    switch (table) {
      case "holds":
        return (
          await q(
            "SELECT h.* FROM unnest($1::text[]) AS k(id) JOIN ledger_holds h ON h.id = k.id ORDER BY h.id FOR UPDATE OF h",
          )
        ).map(holdFromRow) as R[];
      case "holdsByEscrowId":
        return (await q("SELECT * FROM ledger_holds WHERE escrow_id = ANY($1::text[])")).map(
          holdFromRow,
        ) as R[];
      case "accounts": {
        const ids = keys as readonly string[];
        const cached = tx.lockRows ? undefined : this.cache.lookup(ids);
        this.cache.enter(ids);
        tx.accountIds.push(...ids);
        if (cached) {
          tx.expected = new Map();
          return cached.map((c) => {
            tx.expected!.set(c.id, c);
            const own = copyAccount(c);
            tx.final.set(c.id, own);
            return own;
          }) as R[];
        }
        const rows = await q(
          `SELECT a.ctid::text AS row_ctid, a.* FROM unnest($1::text[]) AS k(id)
           JOIN ledger_accounts a ON a.id = k.id ORDER BY a.id FOR UPDATE OF a`,
        );
        return rows.map((r) => {
          tx.ctids.set(r.id as string, r.row_ctid as string);
          const a = accountFromRow(r);
          tx.final.set(a.id, a);
          return a;
        }) as R[];
      }
      case "transfers":
        return (
          await q("SELECT t.* FROM unnest($1::text[]) AS k(id) JOIN ledger_transfers t ON t.id = k.id")
        ).map(transferFromRow) as R[];
      case "decisions":
        return (await q("SELECT * FROM ledger_hold_decisions WHERE chain_event_id = ANY($1::text[])")).map(
          (r) => ({
            chainEventId: r.chain_event_id as string,
            holdId: r.hold_id as string,
            action: r.action as DecisionRow["action"],
          }),
        ) as R[];
      case "facts":
        return (await q("SELECT * FROM ledger_facts WHERE id = ANY($1::text[])")).map(factFromRow) as R[];
      default:
        throw new InvariantError(`no rows to load from ${String(table)}`);
    }
  }

  async nextSequences(tx: PgTx, count: number): Promise<number> {
    // A check of cached accounts takes their row locks: it must be done before the counter is
    // taken, and statements in one WITH run in no set order (it would deadlock with a writer that
    // holds the accounts and waits for the counter). Otherwise with the balance updates before it.
    this.#deferCheck(tx); // if no update checked them: accounts only read (a fact's subject)
    if (tx.deferred.some((d) => d.select)) await this.#send(tx);
    const rows = await this.#send(tx, {
      name: "ledger_take_sequences",
      text: "UPDATE ledger_log_state SET next_sequence = next_sequence + $1::bigint WHERE id = 1 RETURNING next_sequence - $1::bigint AS first",
      values: [count],
    });
    return Number(rows[0].first);
  }

  insert<N extends keyof LedgerTables>(tx: PgTx, table: N, rows: readonly LedgerTables[N]["row"][]): void {
    const defer = (d: Deferred) => void tx.deferred.push(d);
    switch (table) {
      case "accounts":
        for (const a of rows as AccountRow[]) {
          tx.final.set(a.id, a);
          defer({
            text: `INSERT INTO ledger_accounts (id, pseudonym, type, asset, scale, status, limits, metadata, debits_posted,
              credits_posted, debits_pending, credits_pending, created_at, sequence)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
            values: [
              a.id,
              a.pseudonym,
              a.type,
              a.asset,
              a.scale,
              a.status,
              limitsToJson(a.limits),
              a.metadata,
              a.debitsPosted.toString(),
              a.creditsPosted.toString(),
              a.debitsPending.toString(),
              a.creditsPending.toString(),
              a.createdAt,
              a.sequence,
            ],
          });
        }
        return;
      case "transfers": {
        const t = rows as TransferRow[];
        defer({
          name: "ledger_insert_transfers",
          text: `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, kind, metadata,
                   fee, hold_id, sequence, created_at)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[],
                   $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[])`,
          // One array per column: the rows' values transposed.
          values: transferColumns(t),
        });
        return;
      }
      case "holds":
        for (const h of rows as HoldRow[])
          defer({
            text: `INSERT INTO ledger_holds (id, debit_account_id, credit_account_id, asset, amount, kind, status, escrow_id,
              payee_account_id, timeout_ms, expires_at, metadata, fee, created_at, sequence, resolved_at,
              resolved_sequence, resolution, release_transfer_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
            values: holdValues(h),
          });
        return;
      case "decisions":
        for (const d of rows as DecisionRow[])
          defer({
            text: "INSERT INTO ledger_hold_decisions (chain_event_id, hold_id, action) VALUES ($1, $2, $3)",
            values: [d.chainEventId, d.holdId, d.action],
          });
        return;
      case "facts":
        for (const f of rows as FactRow[])
          defer({
            text: `INSERT INTO ledger_facts (id, kind, document_hash, subject_account_id, asset, amount, sequence, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
            values: factValues(f),
          });
        return;
      case "events": {
        const sealed = rows as SealedEvent[];
        // Leaves and hashes travel as two binary parameters (fixed-size records back to back)
        // instead of arrays of hex text: no hex encoding here, no hex parsing on the server.
        const leaves = Buffer.allocUnsafe(sealed.length * LEAF_V1_BYTES);
        const hashes = Buffer.allocUnsafe(sealed.length * 32);
        sealed.forEach((x, i) => {
          leaves.set(x.leaf.subarray(1), i * LEAF_V1_BYTES);
          hashes.set(x.hash, i * 32);
        });
        defer({
          name: "ledger_insert_events",
          text: `INSERT INTO ledger_events (sequence, subject_kind, subject_id, debit_account_id, credit_account_id,
                   created_at, leaf, leaf_hash)
                 SELECT $1::bigint + v.i - 1, v.k, v.s, v.d, v.c, v.t,
                   substring($6::bytea from (v.i::int - 1) * ${LEAF_V1_BYTES} + 1 for ${LEAF_V1_BYTES}),
                   substring($7::bytea from (v.i::int - 1) * 32 + 1 for 32)
                 FROM unnest($2::smallint[], $3::text[], $4::text[], $5::text[], $8::bigint[])
                   WITH ORDINALITY AS v(k, s, d, c, t, i)`,
          values: [
            sealed[0].sequence,
            sealed.map((x) => SUBJECT_KINDS[x.draft.subjectKind]),
            sealed.map((x) => x.draft.subjectId),
            sealed.map((x) => x.draft.debitAccountId),
            sealed.map((x) => x.draft.creditAccountId),
            leaves,
            hashes,
            sealed.map((x) => x.draft.createdAt),
          ],
        });
        return;
      }
      default:
        throw new InvariantError(`no rows to insert into ${String(table)}`);
    }
  }

  upsert<N extends keyof LedgerTables>(tx: PgTx, table: N, rows: readonly LedgerTables[N]["row"][]): void {
    switch (table) {
      case "accounts": {
        const updated = rows as AccountRow[];
        for (const a of updated) tx.final.set(a.id, a);
        if (tx.expected) return this.#deferCheck(tx);
        tx.deferred.push({
          text: `UPDATE ledger_accounts a SET status = v.status, debits_posted = v.dp::numeric,
                   credits_posted = v.cp::numeric, debits_pending = v.dq::numeric, credits_pending = v.cq::numeric
                 FROM unnest($1::tid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                   AS v(row_ctid, id, status, dp, cp, dq, cq)
                 WHERE a.ctid = v.row_ctid AND a.id = v.id`,
          values: balanceColumns(tx, updated),
          expect: { rows: updated.length, what: "a locked account row was not found by its row id" },
        });
        return;
      }
      case "accountStatuses":
        return; // written with the balances above
      case "holds":
        for (const h of rows as HoldRow[])
          tx.deferred.push({
            text: `UPDATE ledger_holds SET status = $2, resolved_at = $3, resolved_sequence = $4, resolution = $5,
               release_transfer_id = $6 WHERE id = $1`,
            values: [h.id, h.status, h.resolvedAt, h.resolvedSequence, h.resolution, h.releaseTransferId],
          });
        return;
      default:
        throw new InvariantError(`no rows to update in ${String(table)}`);
    }
  }
}

/** How many groups one process commits at once (each on its own pooled connection). */
const GROUPS_IN_FLIGHT = 2;
/**
 * Fewest units per group when waiting units are shared between the two slots: smaller groups pay
 * their two round trips for too few transfers. 16 callers stay one group, 64 become two of 32
 * (`bench:pg-profile -- --split-min N`, BENCHMARKS.md: 4, 8 and 16 compared).
 */
const SPLIT_MIN = 16;

/** Tuning of the PostgreSQL group commit (defaults above); benchmarks vary them. */
export interface PostgresGroupOptions {
  /** Groups one process commits at once. */
  groupsInFlight?: number;
  /** Fewest units per group when waiting units are split between free slots. */
  splitMin?: number;
  /** Account rows kept for checked writes (CheckedAccountCache); 0 locks and loads every time. */
  accountCacheSize?: number;
}

/** Default size of the account cache: ~300 bytes a row. */
const ACCOUNT_CACHE_SIZE = 100_000;

/**
 * PostgreSQL backend: writes go through the shared unit of work (src/db/unit-of-work.ts, plan code
 * in unit.ts) over PostgresLedgerDialect; concurrent calls are grouped into shared transactions.
 */
export class PostgresLedgerStore implements LedgerStore {
  readonly backend = "postgres" as const;
  readonly #db: Database & { kind: "postgres" };
  readonly #pool: pg.Pool;
  readonly #uow: UnitOfWork<LoadKeys, LoadedState, Plan<unknown>, PgTx, LedgerTables>;
  readonly #cache: CheckedAccountCache;

  constructor(db: Database & { kind: "postgres" }, clock: () => number, opts: PostgresGroupOptions = {}) {
    this.#db = db;
    this.#pool = db.pool;
    // Single calls skip the transfer-id lookup too: one round trip less per group (replays are
    // caught by the unique keys, failed plans are checked against their ids: unit.ts).
    this.#cache = new CheckedAccountCache(opts.accountCacheSize ?? ACCOUNT_CACHE_SIZE);
    this.#uow = new UnitOfWork(
      new PostgresLedgerDialect(db.pool, this.#cache),
      ledgerPlanner<PgTx>({ optimisticMinTransfers: 1 }),
      {
        clock,
        maxInFlight: opts.groupsInFlight ?? GROUPS_IN_FLIGHT,
        splitMin: opts.splitMin ?? SPLIT_MIN,
        maxAttempts: MAX_ATTEMPTS,
      },
    );
  }

  writeStats(): LedgerWriteStats {
    return {
      ...this.#uow.stats,
      accountCache: { ...this.#cache.stats, size: this.#cache.size, paused: this.#cache.paused },
    };
  }

  async migrate(): Promise<void> {
    await migrate(this.#db, ledgerMigrations);
  }

  /**
   * Fills the account cache from the stored rows, in id order, up to its size: a process that
   * starts with a full cache plans its first groups without locking (a row another process
   * changes before it is used fails its check and is locked and loaded then).
   */
  async warmAccountCache(): Promise<void> {
    let after: string | null = null;
    while (this.#cache.room > 0) {
      const limit = Math.min(PAGE, this.#cache.room);
      const { rows } =
        after === null
          ? await this.#pool.query("SELECT * FROM ledger_accounts ORDER BY id LIMIT $1", [limit])
          : await this.#pool.query("SELECT * FROM ledger_accounts WHERE id > $2 ORDER BY id LIMIT $1", [
              limit,
              after,
            ]);
      if (rows.length === 0) return;
      this.#cache.fill(rows.map(accountFromRow));
      after = rows[rows.length - 1].id as string;
    }
  }

  execute<T>(keys: LoadKeys, plan: (state: LoadedState, now: number) => Plan<T>): Promise<T> {
    return this.#uow.execute(keys, plan);
  }

  async #one(text: string, values: unknown[]): Promise<Row | undefined> {
    const { rows } = await this.#pool.query(text, values);
    return rows[0];
  }

  async getAccount(id: string) {
    const r = await this.#one("SELECT * FROM ledger_accounts WHERE id = $1", [id]);
    return r && accountFromRow(r);
  }
  async getAccountByPseudonym(p: Hex) {
    const r = await this.#one("SELECT * FROM ledger_accounts WHERE pseudonym = $1", [p.toLowerCase()]);
    return r && accountFromRow(r);
  }
  async listAccounts(f: AccountFilter) {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace("?", `$${args.length}`));
    };
    if (f.type !== undefined) add("type = ?", f.type);
    if (f.asset !== undefined) add("asset = ?", f.asset);
    if (f.status !== undefined) add("status = ?", f.status);
    if (f.after !== undefined) add("id > ?", f.after);
    args.push(f.limit);
    const { rows } = await this.#pool.query(
      `SELECT * FROM ledger_accounts ${where.length ? "WHERE " + where.join(" AND ") : ""}
       ORDER BY id LIMIT $${args.length}`,
      args,
    );
    return rows.map(accountFromRow);
  }
  async getTransfer(id: string) {
    const r = await this.#one("SELECT * FROM ledger_transfers WHERE id = $1", [id]);
    return r && transferFromRow(r);
  }
  async getHold(id: string) {
    const r = await this.#one("SELECT * FROM ledger_holds WHERE id = $1", [id]);
    return r && holdFromRow(r);
  }
  async getHoldByEscrowId(escrowId: Hex) {
    const r = await this.#one("SELECT * FROM ledger_holds WHERE escrow_id = $1", [escrowId.toLowerCase()]);
    return r && holdFromRow(r);
  }
  async getFact(id: string) {
    const r = await this.#one("SELECT * FROM ledger_facts WHERE id = $1", [id]);
    return r && factFromRow(r);
  }
  async listFacts(filter: { kind?: number; afterSequence?: number; limit: number }) {
    const { rows } = await this.#pool.query(
      `SELECT * FROM ledger_facts WHERE sequence > $1 AND ($2::smallint IS NULL OR kind = $2)
       ORDER BY sequence LIMIT $3`,
      [filter.afterSequence ?? -1, filter.kind ?? null, filter.limit],
    );
    return rows.map(factFromRow);
  }
  async listOpenEscrowHolds() {
    const { rows } = await this.#pool.query(
      "SELECT * FROM ledger_holds WHERE status = 'pending' AND kind = 'escrow_hold' ORDER BY created_at, id",
    );
    return rows.map(holdFromRow);
  }
  async dueHoldIds(now: number, limit: number) {
    const { rows } = await this.#pool.query(
      `SELECT id FROM ledger_holds WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1
       ORDER BY expires_at LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => r.id as string);
  }
  async eventCount() {
    // Committed events only: the counter row may be ahead while a writer holds it uncommitted.
    const r = await this.#one("SELECT COALESCE(MAX(sequence) + 1, 0) AS n FROM ledger_events", []);
    return Number(r!.n);
  }
  async getEvents(fromSeq: number, limit: number) {
    const { rows } = await this.#pool.query(
      "SELECT * FROM ledger_events WHERE sequence >= $1 ORDER BY sequence LIMIT $2",
      [fromSeq, limit],
    );
    return rows.map(eventFromRow);
  }
  async getEventLeaves(fromSeq: number, limit: number) {
    const { rows } = await this.#pool.query<unknown[]>({
      text: `SELECT ${EVENT_LEAF_COLUMNS} FROM ledger_events WHERE sequence >= $1 ORDER BY sequence LIMIT $2`,
      values: [fromSeq, limit],
      rowMode: "array",
    });
    return rows.map(eventLeafFromValues);
  }
  async getEventsBySequence(sequences: readonly number[]) {
    if (sequences.length === 0) return [];
    const { rows } = await this.#pool.query(
      "SELECT * FROM ledger_events WHERE sequence = ANY($1::bigint[]) ORDER BY sequence",
      [sequences],
    );
    return rows.map(eventFromRow);
  }
  async accountEventSequences(id: string) {
    const { rows } = await this.#pool.query(
      "SELECT sequence FROM ledger_events WHERE subject_kind = 1 AND subject_id = $1 ORDER BY sequence",
      [id],
    );
    return rows.map((r) => Number(r.sequence));
  }
  async leafHashes(fromSeq: number, limit: number) {
    const { rows } = await this.#pool.query(
      "SELECT leaf_hash FROM ledger_events WHERE sequence >= $1 ORDER BY sequence LIMIT $2",
      [fromSeq, limit],
    );
    return rows.map((r) => new Uint8Array(r.leaf_hash as Buffer));
  }
  async scanSnapshot(v: SnapshotVisitor) {
    const client = await this.#pool.connect();
    try {
      // One snapshot for all tables, so a live ledger is checked at a single point in time.
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const scan = async <T>(sql: string, key: string, map: (r: Row) => T, visit: (rows: T[]) => void) => {
        let after: unknown = null;
        for (;;) {
          const { rows } = await client.query(sql, [after, PAGE]);
          if (rows.length === 0) return;
          visit(rows.map(map));
          after = rows[rows.length - 1][key];
        }
      };
      const keyed = (table: string, cols = "*") =>
        `SELECT ${cols} FROM ${table} WHERE ($1::text IS NULL OR id > $1::text) ORDER BY id LIMIT $2`;
      if (v.events)
        await scan(
          `SELECT sequence, '\\x00'::bytea || leaf AS prefixed_leaf, leaf_hash FROM ledger_events
           WHERE sequence > COALESCE($1::bigint, -1) ORDER BY sequence LIMIT $2`,
          "sequence",
          (r) => ({
            sequence: Number(r.sequence),
            prefixedLeaf: r.prefixed_leaf as Buffer,
            leafHash: r.leaf_hash as Buffer,
          }),
          v.events,
        );
      if (v.accounts) await scan(keyed("ledger_accounts"), "id", accountFromRow, v.accounts);
      if (v.transferTotals) {
        // NUMERIC sums are exact: the database adds the transfers up, per account and side.
        const { rows } = await client.query(
          `SELECT id, SUM(d)::text AS debits, SUM(c)::text AS credits, SUM(n)::bigint AS n FROM (
             SELECT debit_account_id AS id, SUM(amount) AS d, 0::numeric AS c, COUNT(*) AS n
               FROM ledger_transfers GROUP BY debit_account_id
             UNION ALL
             SELECT credit_account_id, 0, SUM(amount), 0 FROM ledger_transfers GROUP BY credit_account_id
           ) s GROUP BY id`,
        );
        v.transferTotals({
          count: rows.reduce((n, r) => n + Number(r.n), 0),
          accounts: rows.map((r) => ({
            accountId: r.id as string,
            debits: BigInt(r.debits as string),
            credits: BigInt(r.credits as string),
          })),
        });
      } else if (v.transfers) await scan(keyed("ledger_transfers"), "id", transferFromRow, v.transfers);
      if (v.holds) await scan(keyed("ledger_holds"), "id", holdFromRow, v.holds);
      await client.query("COMMIT");
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }
  async close() {
    // The pool belongs to the caller's Database handle.
  }
}
