import type { Migration } from "../db/migrate";
import { LEAF_V1_BYTES } from "../protocol/leaf-v1";
import { SUBJECT_KINDS } from "./store";

/** 1-based byte position of `sequence` in a v1 leaf: the last 8 bytes of word 2 (uint64 in a 32-byte word). */
const LEAF_SEQUENCE_AT = 2 * 32 + 24 + 1;

/**
 * The ledger's tables. Amounts and balances are decimal TEXT on SQLite (INTEGER is only 64-bit)
 * and NUMERIC on PostgreSQL. Events and transfers are append-only, enforced by triggers, so a
 * correction can only be a new (reversing) transfer.
 */
const sqliteInit = `
CREATE TABLE ledger_accounts (
  id TEXT PRIMARY KEY,
  pseudonym TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  asset TEXT NOT NULL,
  scale INTEGER NOT NULL,
  status TEXT NOT NULL,
  limits TEXT,
  metadata TEXT,
  debits_posted TEXT NOT NULL,
  credits_posted TEXT NOT NULL,
  debits_pending TEXT NOT NULL,
  credits_pending TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  sequence INTEGER NOT NULL
);
CREATE TABLE ledger_transfers (
  id TEXT PRIMARY KEY,
  debit_account_id TEXT NOT NULL,
  credit_account_id TEXT NOT NULL,
  asset TEXT NOT NULL,
  amount TEXT NOT NULL,
  kind TEXT NOT NULL,
  metadata TEXT,
  fee TEXT,
  hold_id TEXT,
  sequence INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE ledger_holds (
  id TEXT PRIMARY KEY,
  debit_account_id TEXT NOT NULL,
  credit_account_id TEXT NOT NULL,
  asset TEXT NOT NULL,
  amount TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  escrow_id TEXT UNIQUE,
  payee_account_id TEXT,
  timeout_ms INTEGER,
  expires_at INTEGER,
  metadata TEXT,
  fee TEXT,
  created_at INTEGER NOT NULL,
  sequence INTEGER NOT NULL,
  resolved_at INTEGER,
  resolved_sequence INTEGER,
  resolution TEXT,
  release_transfer_id TEXT
);
CREATE INDEX ledger_holds_due ON ledger_holds (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;
CREATE INDEX ledger_holds_open_escrow ON ledger_holds (created_at) WHERE status = 'pending' AND kind = 'escrow_hold';
CREATE TABLE ledger_hold_decisions (
  chain_event_id TEXT PRIMARY KEY,
  hold_id TEXT NOT NULL,
  action TEXT NOT NULL
);
CREATE TABLE ledger_events (
  sequence INTEGER PRIMARY KEY,
  subject_kind INTEGER NOT NULL,
  subject_id TEXT NOT NULL,
  debit_account_id TEXT,
  credit_account_id TEXT,
  created_at INTEGER NOT NULL,
  leaf BLOB NOT NULL,
  leaf_hash BLOB NOT NULL
);
CREATE INDEX ledger_events_account_subject ON ledger_events (subject_id) WHERE subject_kind = 1;
CREATE TRIGGER ledger_events_no_update BEFORE UPDATE ON ledger_events
  BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only'); END;
CREATE TRIGGER ledger_events_no_delete BEFORE DELETE ON ledger_events
  BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only'); END;
CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
  BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END;
CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
  BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END;
`;

const postgresInit = `
CREATE TABLE ledger_accounts (
  id TEXT PRIMARY KEY,
  pseudonym TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  asset TEXT NOT NULL,
  scale INTEGER NOT NULL,
  status TEXT NOT NULL,
  limits TEXT,
  metadata TEXT,
  debits_posted NUMERIC NOT NULL,
  credits_posted NUMERIC NOT NULL,
  debits_pending NUMERIC NOT NULL,
  credits_pending NUMERIC NOT NULL,
  created_at BIGINT NOT NULL,
  sequence BIGINT NOT NULL
);
CREATE TABLE ledger_transfers (
  id TEXT PRIMARY KEY,
  debit_account_id TEXT NOT NULL,
  credit_account_id TEXT NOT NULL,
  asset TEXT NOT NULL,
  amount NUMERIC(39, 0) NOT NULL,
  kind TEXT NOT NULL,
  metadata TEXT,
  fee TEXT,
  hold_id TEXT,
  sequence BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE ledger_holds (
  id TEXT PRIMARY KEY,
  debit_account_id TEXT NOT NULL,
  credit_account_id TEXT NOT NULL,
  asset TEXT NOT NULL,
  amount NUMERIC(39, 0) NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  escrow_id TEXT UNIQUE,
  payee_account_id TEXT,
  timeout_ms BIGINT,
  expires_at BIGINT,
  metadata TEXT,
  fee TEXT,
  created_at BIGINT NOT NULL,
  sequence BIGINT NOT NULL,
  resolved_at BIGINT,
  resolved_sequence BIGINT,
  resolution TEXT,
  release_transfer_id TEXT
);
CREATE INDEX ledger_holds_due ON ledger_holds (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;
CREATE INDEX ledger_holds_open_escrow ON ledger_holds (created_at) WHERE status = 'pending' AND kind = 'escrow_hold';
CREATE TABLE ledger_hold_decisions (
  chain_event_id TEXT PRIMARY KEY,
  hold_id TEXT NOT NULL,
  action TEXT NOT NULL
);
CREATE TABLE ledger_events (
  sequence BIGINT PRIMARY KEY,
  subject_kind SMALLINT NOT NULL,
  subject_id TEXT NOT NULL,
  debit_account_id TEXT,
  credit_account_id TEXT,
  created_at BIGINT NOT NULL,
  leaf BYTEA NOT NULL,
  leaf_hash BYTEA NOT NULL
);
CREATE INDEX ledger_events_account_subject ON ledger_events (subject_id) WHERE subject_kind = 1;
-- The next event sequence. Writers take it under a row lock held from their last statement to
-- commit, so sequences are gap-free and in commit order.
CREATE TABLE ledger_log_state (
  id SMALLINT PRIMARY KEY CHECK (id = 1),
  next_sequence BIGINT NOT NULL
);
INSERT INTO ledger_log_state (id, next_sequence) VALUES (1, 0);
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_events_append_only BEFORE UPDATE OR DELETE ON ledger_events
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE ON ledger_transfers
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
`;

/**
 * SQLite: balances move to a narrow table keyed by an integer, apart from the account's terms.
 * Every transfer rewrites two balances; updating a 40-byte row by integer key costs about a third of
 * updating the wide row by its text id, and a batch's WAL shrinks by the account pages it no
 * longer rewrites. Balance columns have no type affinity: the store writes an INTEGER when the value
 * fits in 64 bits and its decimal TEXT otherwise (amounts go up to 2^128 - 1). The view
 * `ledger_accounts` keeps the old shape for readers, every balance as exact decimal TEXT.
 */
const sqliteBalances = `
CREATE TABLE ledger_account_terms (
  key INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  pseudonym TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  asset TEXT NOT NULL,
  scale INTEGER NOT NULL,
  status TEXT NOT NULL,
  limits TEXT,
  metadata TEXT,
  created_at INTEGER NOT NULL,
  sequence INTEGER NOT NULL
);
CREATE TABLE ledger_balances (
  account_key INTEGER PRIMARY KEY,
  debits_posted NOT NULL,
  credits_posted NOT NULL,
  debits_pending NOT NULL,
  credits_pending NOT NULL
);
INSERT INTO ledger_account_terms (id, pseudonym, type, asset, scale, status, limits, metadata, created_at, sequence)
  SELECT id, pseudonym, type, asset, scale, status, limits, metadata, created_at, sequence
  FROM ledger_accounts ORDER BY sequence, id;
INSERT INTO ledger_balances (account_key, debits_posted, credits_posted, debits_pending, credits_pending)
  SELECT t.key,
    CASE WHEN length(a.debits_posted) < 19 THEN CAST(a.debits_posted AS INTEGER) ELSE a.debits_posted END,
    CASE WHEN length(a.credits_posted) < 19 THEN CAST(a.credits_posted AS INTEGER) ELSE a.credits_posted END,
    CASE WHEN length(a.debits_pending) < 19 THEN CAST(a.debits_pending AS INTEGER) ELSE a.debits_pending END,
    CASE WHEN length(a.credits_pending) < 19 THEN CAST(a.credits_pending AS INTEGER) ELSE a.credits_pending END
  FROM ledger_accounts a JOIN ledger_account_terms t ON t.id = a.id;
DROP TABLE ledger_accounts;
CREATE VIEW ledger_accounts AS
  SELECT t.id, t.pseudonym, t.type, t.asset, t.scale, t.status, t.limits, t.metadata,
    CAST(b.debits_posted AS TEXT) AS debits_posted, CAST(b.credits_posted AS TEXT) AS credits_posted,
    CAST(b.debits_pending AS TEXT) AS debits_pending, CAST(b.credits_pending AS TEXT) AS credits_pending,
    t.created_at, t.sequence, t.key AS account_key
  FROM ledger_account_terms t JOIN ledger_balances b ON b.account_key = t.key;
`;

/**
 * Non-money facts (FACT_RECORDED events): the row is a cache of the leaf, as transfers are; the
 * document a fact commits to lives in its owning module's tables.
 */
function factsTable(int64: string): string {
  return `
CREATE TABLE ledger_facts (
  id TEXT PRIMARY KEY,
  kind SMALLINT NOT NULL,
  document_hash TEXT NOT NULL,
  subject_account_id TEXT,
  asset TEXT,
  amount TEXT,
  sequence ${int64} NOT NULL UNIQUE,
  created_at ${int64} NOT NULL
);
CREATE INDEX ledger_facts_kind ON ledger_facts (kind, sequence);
`;
}

/** The index's name is how a store recognises its violation (TransferEventExistsError). */
export const TRANSFER_EVENT_ONCE_INDEX = "ledger_events_transfer_once";
const ENTRY_ONCE = `CREATE UNIQUE INDEX ${TRANSFER_EVENT_ONCE_INDEX} ON ledger_events (subject_id) WHERE subject_kind = 2;`;

/** SQLSTATE of `ledger_commit_transfers` when a locked account row is not where it was read. */
export const LOCKED_ROW_MOVED = "LG001";

/** SQLSTATE of `ledger_commit_transfers_checked` when a stored account row differs from the expected one. */
export const ACCOUNT_ROW_CHANGED = "LG002";

/**
 * The head of the events insert of both append versions (006/007 and 009): each event's sequence
 * written into its leaf, the leaf hashed; `u` (index i, subject s, debit d, credit c, time t) follows.
 */
const EVENTS_INSERT = `  INSERT INTO ledger_events (sequence, subject_kind, subject_id, debit_account_id, credit_account_id, created_at,
      leaf, leaf_hash)
    SELECT first + v.i - 1, ${SUBJECT_KINDS.transfer}, v.s, v.d, v.c, v.t, v.leaf, sha256('\\x00'::bytea || v.leaf)
    FROM (
      SELECT u.i, u.s, u.d, u.c, u.t,
        overlay(substring(e_leaves FROM (u.i::int - 1) * ${LEAF_V1_BYTES} + 1 FOR ${LEAF_V1_BYTES})
          PLACING int8send(first + u.i - 1) FROM ${LEAF_SEQUENCE_AT} FOR 8) AS leaf
`;

/** The end of the checked account updates (007, 009 and 010): every expected row touched, else LG002. */
const CHECKED_ROWS_TOUCHED = `  GET DIAGNOSTICS touched = ROW_COUNT;
  IF touched <> cardinality(acc_id) THEN
    RAISE EXCEPTION 'an account row changed since it was cached (% of % as expected)', touched, cardinality(acc_id)
      USING ERRCODE = '${ACCOUNT_ROW_CHANGED}';
  END IF;
`;

/** The balance update of `ledger_commit_transfers`: rows this transaction locked, found by row id. */
const LOCKED_BALANCES_UPDATE = `  UPDATE ledger_accounts a SET status = v.status, debits_posted = v.dp, credits_posted = v.cp,
      debits_pending = v.dq, credits_pending = v.cq
    FROM unnest(acc_ctid, acc_id, acc_status, acc_dp, acc_cp, acc_dq, acc_cq) AS v(row_ctid, id, status, dp, cp, dq, cq)
    WHERE a.ctid = v.row_ctid AND a.id = v.id;
  GET DIAGNOSTICS touched = ROW_COUNT;
  IF touched <> cardinality(acc_id) THEN
    RAISE EXCEPTION 'a locked account row was not found by its row id (touched % of %)', touched, cardinality(acc_id)
      USING ERRCODE = '${LOCKED_ROW_MOVED}';
  END IF;
`;

/**
 * The statements that append a group of transfers once its balances are written (in both commit
 * functions, `n` events from `first`): the sequence range, the transfer rows, the events with each
 * sequence put into its leaf and the leaf hashed.
 */
const APPEND_STATEMENTS = `  UPDATE ledger_log_state SET next_sequence = next_sequence + n WHERE id = 1 RETURNING next_sequence - n INTO first;
  INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, kind, metadata, fee, hold_id,
      sequence, created_at)
    SELECT v.id, v.d, v.c, v.a, v.amount, v.k, v.m, v.f, v.h, first + v.i, v.t
    FROM unnest(t_id, t_debit, t_credit, t_asset, t_amount, t_kind, t_metadata, t_fee, t_hold, t_index, t_created)
      AS v(id, d, c, a, amount, k, m, f, h, i, t);
${EVENTS_INSERT}      FROM unnest(e_subject, e_debit, e_credit, e_created) WITH ORDINALITY AS u(s, d, c, t, i)
    ) v;
`;

/**
 * PostgreSQL: a group of transfers written in one call (docs/ledger.md, "Sequence allocation on
 * PostgreSQL"). The server takes the group's sequences and puts each into its leaf (bytes 88 to
 * 95, docs/leaf-encoding-v1.md) before hashing it (RFC 9162: SHA-256 of 0x00 ‖ leaf), so the client
 * needs no answer between taking the sequences and committing: the caller sends this call and
 * COMMIT as one message, and the sequence counter is held only while the server runs them.
 * Transfer rows carry their event's index in the group (0-based) in place of a sequence.
 * Plans inside a function are kept per session: the statements are planned once.
 * (Migration 007 redefines it on top of ledger_append_transfers; this is the first version.)
 */
const commitTransfers = `
CREATE FUNCTION ledger_commit_transfers(
  acc_ctid tid[], acc_id text[], acc_status text[], acc_dp numeric[], acc_cp numeric[], acc_dq numeric[], acc_cq numeric[],
  t_id text[], t_debit text[], t_credit text[], t_asset text[], t_amount numeric[], t_kind text[], t_metadata text[],
  t_fee text[], t_hold text[], t_index bigint[], t_created bigint[],
  e_subject text[], e_debit text[], e_credit text[], e_created bigint[], e_leaves bytea
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint := cardinality(e_subject);
  first bigint;
  touched bigint;
BEGIN
${LOCKED_BALANCES_UPDATE}${APPEND_STATEMENTS}  RETURN first;
END;
$$;
`;

/** The transfer and event arguments every commit function passes on to ledger_append_transfers. */
const APPEND_PARAMS = `t_id text[], t_debit text[], t_credit text[], t_asset text[], t_amount numeric[], t_kind text[],
  t_metadata text[], t_fee text[], t_hold text[], t_index bigint[], t_created bigint[],
  e_subject text[], e_debit text[], e_credit text[], e_created bigint[], e_leaves bytea`;
const APPEND_ARGS = `t_id, t_debit, t_credit, t_asset, t_amount, t_kind, t_metadata, t_fee, t_hold, t_index, t_created,
    e_subject, e_debit, e_credit, e_created, e_leaves`;

/**
 * Two ways to commit a group of transfers, one append (docs/ledger.md, "Checked account cache"):
 *
 * - `ledger_append_transfers`: the group's sequences, transfer rows and events (what migration 006
 *   did after the balances); `ledger_commit_transfers` is redefined on top of it, unchanged for callers;
 * - `ledger_commit_transfers_checked`: for balances planned from the writer's cache, not from rows it
 *   locked. `ledger_update_accounts_checked` locks the accounts in id order (as the lock-and-load
 *   does), then updates each row only if its status and balances are still the expected ones. If
 *   any row differs, nothing is written (ACCOUNT_ROW_CHANGED) and the writer retries with locks.
 *   The call may be its own transaction: the group is then one round trip with no BEGIN or COMMIT.
 */
const checkedCommit = `
CREATE FUNCTION ledger_append_transfers(${APPEND_PARAMS}) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint := cardinality(e_subject);
  first bigint;
BEGIN
${APPEND_STATEMENTS}  RETURN first;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_commit_transfers(
  acc_ctid tid[], acc_id text[], acc_status text[], acc_dp numeric[], acc_cp numeric[], acc_dq numeric[], acc_cq numeric[],
  ${APPEND_PARAMS}
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  touched bigint;
BEGIN
${LOCKED_BALANCES_UPDATE}  RETURN ledger_append_transfers(${APPEND_ARGS});
END;
$$;

CREATE FUNCTION ledger_update_accounts_checked(
  acc_id text[], acc_status text[], acc_dp numeric[], acc_cp numeric[], acc_dq numeric[], acc_cq numeric[],
  old_status text[], old_dp numeric[], old_cp numeric[], old_dq numeric[], old_cq numeric[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  touched bigint;
BEGIN
  -- Locks in id order first, as the lock-and-load does: the update alone would lock in whatever
  -- order its join runs, and two writers locking shared accounts in different orders deadlock.
  PERFORM 1 FROM ledger_accounts WHERE id = ANY(acc_id) ORDER BY id FOR UPDATE;
  UPDATE ledger_accounts a SET status = v.status, debits_posted = v.dp, credits_posted = v.cp,
      debits_pending = v.dq, credits_pending = v.cq
    FROM unnest(acc_id, acc_status, acc_dp, acc_cp, acc_dq, acc_cq, old_status, old_dp, old_cp, old_dq, old_cq)
      AS v(id, status, dp, cp, dq, cq, os, odp, ocp, odq, ocq)
    WHERE a.id = v.id AND a.status = v.os AND a.debits_posted = v.odp AND a.credits_posted = v.ocp
      AND a.debits_pending = v.odq AND a.credits_pending = v.ocq;
${CHECKED_ROWS_TOUCHED}END;
$$;

CREATE FUNCTION ledger_commit_transfers_checked(
  acc_id text[], acc_status text[], acc_dp numeric[], acc_cp numeric[], acc_dq numeric[], acc_cq numeric[],
  old_status text[], old_dp numeric[], old_cp numeric[], old_dq numeric[], old_cq numeric[],
  ${APPEND_PARAMS}
) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ledger_update_accounts_checked(acc_id, acc_status, acc_dp, acc_cp, acc_dq, acc_cq,
    old_status, old_dp, old_cp, old_dq, old_cq);
  RETURN ledger_append_transfers(${APPEND_ARGS});
END;
$$;
`;

/**
 * PostgreSQL: the ledger's keys compare byte by byte (collation "C"), whatever the database's
 * default collation. Every index lookup, sort and unique check on an id compared with the
 * database's collation (strcoll, even for C.UTF-8; `bttextcmp` was 8 % of the server's CPU in a
 * batch, BENCHMARKS.md 2026-12-05). Byte order is also SQLite's and
 * JavaScript's order for the ASCII ids the ledger accepts, so listing pages and lock order agree
 * across backends. Rebuilds the indexes on these columns (not the tables), under an exclusive lock.
 */
const byteOrderKeys = `
ALTER TABLE ledger_accounts ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN pseudonym TYPE text COLLATE "C";
ALTER TABLE ledger_transfers ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE ledger_holds ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN escrow_id TYPE text COLLATE "C";
ALTER TABLE ledger_hold_decisions ALTER COLUMN chain_event_id TYPE text COLLATE "C";
ALTER TABLE ledger_events ALTER COLUMN subject_id TYPE text COLLATE "C";
ALTER TABLE ledger_facts ALTER COLUMN id TYPE text COLLATE "C";
`;

/**
 * PostgreSQL: migration 007's two functions, cheaper for the server. Their arrays are unnested
 * in the select list instead of in FROM: `FROM unnest(a, b, …)` first copies every row into a
 * tuplestore, then reads it back; set-returning functions in the select list run in step
 * (ProjectSet) and hand each row on as it is made. The arrays of a call have one length, so the
 * two forms give the same rows. And the checked update finds its rows by the row ids its lock
 * returned: joined on the id alone, it hashed the whole accounts table for every group. Together
 * with 008 and binary arguments: the server's statements 19.8 → 16.1 µs per transfer in a batch
 * (bench:pg-profile with pg_stat_statements, BENCHMARKS.md 2026-12-05).
 */
const projectedUnnest = `
CREATE OR REPLACE FUNCTION ledger_append_transfers(${APPEND_PARAMS}) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint := cardinality(e_subject);
  first bigint;
BEGIN
  UPDATE ledger_log_state SET next_sequence = next_sequence + n WHERE id = 1 RETURNING next_sequence - n INTO first;
  INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, kind, metadata, fee, hold_id,
      sequence, created_at)
    SELECT v.id, v.d, v.c, v.a, v.amount, v.k, v.m, v.f, v.h, first + v.i, v.t
    FROM (
      SELECT unnest(t_id) AS id, unnest(t_debit) AS d, unnest(t_credit) AS c, unnest(t_asset) AS a,
        unnest(t_amount) AS amount, unnest(t_kind) AS k, unnest(t_metadata) AS m, unnest(t_fee) AS f,
        unnest(t_hold) AS h, unnest(t_index) AS i, unnest(t_created) AS t
    ) v;
${EVENTS_INSERT}      FROM (
        SELECT unnest(e_subject) AS s, unnest(e_debit) AS d, unnest(e_credit) AS c, unnest(e_created) AS t,
          generate_series(1::bigint, n) AS i
      ) u
    ) v;
  RETURN first;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_update_accounts_checked(
  acc_id text[], acc_status text[], acc_dp numeric[], acc_cp numeric[], acc_dq numeric[], acc_cq numeric[],
  old_status text[], old_dp numeric[], old_cp numeric[], old_dq numeric[], old_cq numeric[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  touched bigint;
  row_ids tid[];
BEGIN
  -- Locks in id order first, as the lock-and-load does: the update alone would lock in whatever
  -- order its join runs, and two writers locking shared accounts in different orders deadlock.
  -- The locked rows' row ids: the update reads those rows alone, not the whole table.
  SELECT array_agg(l.ctid) INTO row_ids
    FROM (SELECT ctid FROM ledger_accounts WHERE id = ANY(acc_id) ORDER BY id FOR UPDATE) l;
  UPDATE ledger_accounts a SET status = v.status, debits_posted = v.dp, credits_posted = v.cp,
      debits_pending = v.dq, credits_pending = v.cq
    FROM (
      SELECT unnest(acc_id) AS id, unnest(acc_status) AS status, unnest(acc_dp) AS dp, unnest(acc_cp) AS cp,
        unnest(acc_dq) AS dq, unnest(acc_cq) AS cq, unnest(old_status) AS os, unnest(old_dp) AS odp,
        unnest(old_cp) AS ocp, unnest(old_dq) AS odq, unnest(old_cq) AS ocq
    ) v
    WHERE a.ctid = ANY(row_ids) AND a.id = v.id AND a.status = v.os AND a.debits_posted = v.odp AND a.credits_posted = v.ocp
      AND a.debits_pending = v.odq AND a.credits_pending = v.ocq;
${CHECKED_ROWS_TOUCHED}END;
$$;
`;

/**
 * PostgreSQL: the checked account update in one pass. 009 locked the rows in id order
 * (`SELECT … ORDER BY id FOR UPDATE`: an index scan, a sort and a lock record in the WAL per row),
 * then updated them by row id (a second visit and a hash join). Here the update itself visits the
 * rows in id order: the arrays, sorted by id, drive a nested loop over the primary key, and each
 * row is locked as it is updated, so the lock order is still the id order every writer uses (no
 * deadlock with lock-and-load groups or other processes' checked updates). The function's own
 * settings make the join a nested loop whatever the session's are: a hash join would read the table
 * in its physical order, and a merge join's order is its planner's choice. A row whose values
 * are not the expected ones is skipped unlocked and the whole call fails (LG002), as before; a row
 * another transaction changes meanwhile is re-read after it commits and fails the same check.
 */
const onePassCheckedUpdate = `
CREATE OR REPLACE FUNCTION ledger_update_accounts_checked(
  acc_id text[], acc_status text[], acc_dp numeric[], acc_cp numeric[], acc_dq numeric[], acc_cq numeric[],
  old_status text[], old_dp numeric[], old_cp numeric[], old_dq numeric[], old_cq numeric[]
) RETURNS void LANGUAGE plpgsql
  SET enable_nestloop = on SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
  touched bigint;
BEGIN
  UPDATE ledger_accounts a SET status = v.status, debits_posted = v.dp, credits_posted = v.cp,
      debits_pending = v.dq, credits_pending = v.cq
    FROM (
      SELECT * FROM (
        SELECT unnest(acc_id) COLLATE "C" AS id, unnest(acc_status) AS status, unnest(acc_dp) AS dp,
          unnest(acc_cp) AS cp, unnest(acc_dq) AS dq, unnest(acc_cq) AS cq, unnest(old_status) AS os,
          unnest(old_dp) AS odp, unnest(old_cp) AS ocp, unnest(old_dq) AS odq, unnest(old_cq) AS ocq
      ) u ORDER BY u.id
    ) v
    WHERE a.id = v.id AND a.status = v.os AND a.debits_posted = v.odp AND a.credits_posted = v.ocp
      AND a.debits_pending = v.odq AND a.credits_pending = v.ocq;
${CHECKED_ROWS_TOUCHED}END;
$$;
`;

/**
 * PostgreSQL: the two functions of a split commit plan their statements once per session. With the
 * default plan cache mode a session may keep making a custom plan for every call, with the call's
 * arrays put into the plan as constants (a batch's leaves alone are 416 KB): in `bench:ledger`'s
 * full run the server's backends spent ~4 % of their time planning and ~5 % in page faults for
 * that memory, which they did not on a fresh database (BENCHMARKS.md, 2026-12-05). Their plans do
 * not depend on the arrays' contents: inserts from the unnested arrays, the counter row by its key,
 * and the nested loop over the primary key that 010 fixes.
 */
const genericPlans = `
ALTER FUNCTION ledger_append_transfers SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ledger_update_accounts_checked SET plan_cache_mode = force_generic_plan;
`;

export const ledgerMigrations: Migration[] = [
  { id: "ledger/001_init", sqlite: sqliteInit, postgres: postgresInit },
  {
    // Balance updates rewrite account rows on every transfer: free space in each page lets
    // PostgreSQL update them in place (HOT) instead of touching every index.
    id: "ledger/002_accounts_fillfactor",
    sqlite: "SELECT 1;",
    postgres: "ALTER TABLE ledger_accounts SET (fillfactor = 50);",
  },
  { id: "ledger/003_sqlite_balances", sqlite: sqliteBalances, postgres: "SELECT 1;" },
  { id: "ledger/004_facts", sqlite: factsTable("INTEGER"), postgres: factsTable("BIGINT") },
  {
    // Idempotency decided by the events themselves: a transfer id has exactly one event, whatever
    // happens to the derived ledger_transfers row (deleted, the retry would otherwise apply again).
    id: "ledger/005_transfer_event_once",
    sqlite: ENTRY_ONCE,
    postgres: ENTRY_ONCE,
  },
  { id: "ledger/006_commit_transfers", sqlite: "SELECT 1;", postgres: commitTransfers },
  { id: "ledger/007_checked_commit", sqlite: "SELECT 1;", postgres: checkedCommit },
  { id: "ledger/008_byte_order_keys", sqlite: "SELECT 1;", postgres: byteOrderKeys },
  { id: "ledger/009_projected_unnest", sqlite: "SELECT 1;", postgres: projectedUnnest },
  { id: "ledger/010_one_pass_checked_update", sqlite: "SELECT 1;", postgres: onePassCheckedUpdate },
  { id: "ledger/011_generic_plans", sqlite: "SELECT 1;", postgres: genericPlans },
];
