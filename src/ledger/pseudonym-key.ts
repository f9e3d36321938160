import { createHmac } from "node:crypto";
import type { Hex } from "viem";
import type { Database } from "../db/database";
import { all, run, tableExists } from "../db/sql";
import type { Migration } from "../db/migrate";
import { CustodyError } from "../errors";
import { decodeLeaf } from "../protocol/leaf-v1";
import { Pseudonymizer } from "./canonical";

/**
 * The pseudonym key's fingerprint, kept in the database so that every process sharing a ledger
 * proves it holds the same key before it writes a pseudonym (docs/operations.md).
 */
export const pseudonymKeyMigrations: Migration[] = [
  {
    id: "ledger-key/001_fingerprint",
    sqlite: `CREATE TABLE ledger_pseudonym_key (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      fingerprint TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`,
    postgres: `CREATE TABLE ledger_pseudonym_key (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      fingerprint TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`,
  },
];

/** The key differs from the one the ledger's pseudonyms were made with. Never carries the key. */
export class PseudonymKeyMismatchError extends CustodyError {
  override name = "PseudonymKeyMismatchError";
  readonly expectedFingerprint: string;
  readonly foundFingerprint: string;
  constructor(expected: string, found: string, details: string) {
    super("PSEUDONYM_KEY_MISMATCH", "the pseudonym key differs from the one this ledger was written with", {
      details: `${details}; fingerprint recorded ${expected}, this process's key ${found}`,
    });
    this.expectedFingerprint = expected;
    this.foundFingerprint = found;
  }
}

/** HMAC-SHA256(key, "custody-pseudonym-key-fingerprint-v1"), hex: names the key without revealing it. */
export function pseudonymKeyFingerprint(key: Uint8Array): Hex {
  return `0x${createHmac("sha256", key).update("custody-pseudonym-key-fingerprint-v1").digest("hex")}`;
}

/**
 * Records the key's fingerprint on first use and refuses a different key afterwards. On a ledger
 * written before fingerprints existed, the key must first reproduce an existing account's
 * pseudonym. Requires `pseudonymKeyMigrations` and the ledger's migrations applied.
 * Throws {@link PseudonymKeyMismatchError}.
 */
export async function ensurePseudonymKey(db: Database, key: Uint8Array): Promise<Hex> {
  const found = pseudonymKeyFingerprint(key);
  const [row] = await all<{ fingerprint: string }>(db, "SELECT fingerprint FROM ledger_pseudonym_key");
  if (row) {
    if (row.fingerprint !== found)
      throw new PseudonymKeyMismatchError(row.fingerprint, found, "refusing to start");
    return found;
  }
  const [acct] = await all<{ id: string; pseudonym: string }>(
    db,
    "SELECT id, pseudonym FROM ledger_accounts ORDER BY id LIMIT 1",
  );
  if (acct && new Pseudonymizer(key).of("account", acct.id) !== acct.pseudonym.toLowerCase()) {
    throw new PseudonymKeyMismatchError(
      "(none)",
      found,
      `the key does not reproduce account ${acct.id}'s pseudonym`,
    );
  }
  const now = new Date().toISOString();
  // Two processes starting at once: the primary key lets one insert win; both then compare.
  await run(
    db,
    "INSERT INTO ledger_pseudonym_key (id, fingerprint, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING",
    [found, now],
  );
  return ensurePseudonymKey(db, key);
}

/**
 * Read-only form of {@link ensurePseudonymKey} for tools that only read (reports): refuses a key
 * whose fingerprint differs from the recorded one; records nothing. Throws
 * {@link PseudonymKeyMismatchError}.
 */
export async function checkPseudonymKey(db: Database, key: Uint8Array): Promise<void> {
  if (!(await tableExists(db, "ledger_pseudonym_key"))) return;
  const found = pseudonymKeyFingerprint(key);
  const [row] = await all<{ fingerprint: string }>(db, "SELECT fingerprint FROM ledger_pseudonym_key");
  if (row && row.fingerprint !== found)
    throw new PseudonymKeyMismatchError(row.fingerprint, found, "refusing to read with it");
}

/** A pseudonym that the key does not reproduce. */
export interface PseudonymMismatch {
  /** `account` row, or the log event (`sequence`) whose leaf carries the pseudonym. */
  where: "account" | "event";
  sequence?: number;
  field: "pseudonym" | "entryId" | "debitAccount" | "creditAccount";
  id: string;
  stored: Hex;
  expected: Hex;
}

/**
 * Recomputes every pseudonym the ledger stores with `key`: each account row's, and in every event's
 * leaf the entry id (of its subject) and the debit and credit accounts. Returns the mismatches (at
 * most `limit`, default 1000) and how many pseudonyms were checked.
 */
export async function checkPseudonyms(
  db: Database,
  key: Uint8Array,
  opts: { limit?: number; batch?: number } = {},
): Promise<{ checked: number; mismatches: PseudonymMismatch[] }> {
  const p = new Pseudonymizer(key);
  const limit = opts.limit ?? 1000;
  const batch = opts.batch ?? 5000;
  const mismatches: PseudonymMismatch[] = [];
  let checked = 0;
  const check = (m: Omit<PseudonymMismatch, "expected">, expected: Hex) => {
    checked++;
    if (m.stored.toLowerCase() !== expected && mismatches.length < limit) mismatches.push({ ...m, expected });
  };
  const accounts = await all<{ id: string; pseudonym: string }>(
    db,
    "SELECT id, pseudonym FROM ledger_accounts ORDER BY id",
  );
  for (const a of accounts)
    check(
      { where: "account", field: "pseudonym", id: a.id, stored: a.pseudonym as Hex },
      p.of("account", a.id),
    );
  const kinds = { 1: "account", 2: "transfer", 3: "hold" } as const;
  for (let from = 0; ; from += batch) {
    const rows = await all<{
      sequence: number | string;
      subject_kind: number;
      subject_id: string;
      debit_account_id: string | null;
      credit_account_id: string | null;
      leaf: Uint8Array;
    }>(
      db,
      `SELECT sequence, subject_kind, subject_id, debit_account_id, credit_account_id, leaf
       FROM ledger_events WHERE sequence >= ? ORDER BY sequence LIMIT ?`,
      [from, batch],
    );
    for (const r of rows) {
      const e = decodeLeaf(r.leaf);
      const sequence = Number(r.sequence);
      const kind = kinds[Number(r.subject_kind) as 1 | 2 | 3];
      if (kind)
        check(
          { where: "event", sequence, field: "entryId", id: r.subject_id, stored: e.entryId },
          p.of(kind, r.subject_id),
        );
      if (r.debit_account_id !== null)
        check(
          { where: "event", sequence, field: "debitAccount", id: r.debit_account_id, stored: e.debitAccount },
          p.of("account", r.debit_account_id),
        );
      if (r.credit_account_id !== null)
        check(
          {
            where: "event",
            sequence,
            field: "creditAccount",
            id: r.credit_account_id,
            stored: e.creditAccount,
          },
          p.of("account", r.credit_account_id),
        );
    }
    if (rows.length < batch) break;
  }
  return { checked, mismatches };
}

/** A pseudonym key given as hex (env var or key file) is malformed. Never carries the key. */
export class PseudonymKeyInvalidError extends CustodyError {
  override name = "PseudonymKeyInvalidError";
  constructor(source: string) {
    super("PSEUDONYM_KEY_INVALID", `${source} must hold at least 32 bytes of hex`);
  }
}

/** Parses a hex pseudonym key (optional 0x, surrounding whitespace ignored) from `source`. */
export function parsePseudonymKey(text: string, source: string): Uint8Array {
  const hex = text.trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]{64,}$/.test(hex) || hex.length % 2 !== 0) throw new PseudonymKeyInvalidError(source);
  return Buffer.from(hex, "hex");
}
