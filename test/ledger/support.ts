import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Database, closeDatabase, openDatabase } from "../../src/db/database";
import { type Ledger, type OpenLedgerOptions, openLedger } from "../../src/ledger";

export const KEY = new Uint8Array(32).fill(0x42);
export const FEES = {
  std: { asset: "EUR", fixed: 100n, basisPoints: 50, max: 10_000n },
  flat: { asset: "USD", fixed: 5n },
} as const;

/** Awaits a promise that must reject with `cls`; returns the error. */
export async function rejects<E extends Error>(
  p: Promise<unknown>,
  cls: abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await p;
  } catch (e) {
    expect(e, `expected ${cls.name}, got ${String(e)}`).to.be.instanceOf(cls);
    return e as E;
  }
  expect.fail(`expected ${cls.name}, but it resolved`);
}

/** Opens a ledger on a database a backend provides; tests may open several per database. */
export interface Backend {
  name: "sqlite" | "postgres";
  /** The database URL (set in a `before` hook). */
  url(): string;
}

export async function openTestLedger(
  backend: Backend,
  opts: Partial<OpenLedgerOptions> = {},
): Promise<{ ledger: Ledger; db: Database; close(): Promise<void> }> {
  const db = openDatabase(backend.url());
  const ledger = await openLedger(db, { pseudonymKey: KEY, feeSchedule: FEES, ...opts });
  return {
    ledger,
    db,
    async close() {
      await ledger.close();
      await closeDatabase(db);
    },
  };
}

export function tempSqliteUrl(name = "ledger.db"): { url: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-ledger-"));
  return { url: path.join(dir, name), dir };
}

let counter = 0;
/** A unique id prefix, so tests can share one database. */
export function uniquePrefix(): string {
  return `p${process.pid}x${Date.now().toString(36)}x${(counter++).toString(36)}`;
}

/** Raw SQL on either backend (for tamper tests). */
export async function rawExec(db: Database, sql: string): Promise<void> {
  if (db.kind === "sqlite") db.sqlite.exec(sql);
  else await db.pool.query(sql);
}
