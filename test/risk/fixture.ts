import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { openLedger, type Ledger } from "../../src/ledger";

export const KEY = new Uint8Array(32).fill(0x42);

/** A real SQLite ledger with a cash desk, a cross-border desk and three customers (CNY, scale 2). */
export async function openRiskLedger(
  dir?: string,
  clock?: () => number,
): Promise<{ dir: string; url: string; db: Database; ledger: Ledger; close(): Promise<void> }> {
  const d = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "custody-risk-"));
  const url = path.join(d, "ledger.db");
  const db = openDatabase(url);
  const ledger = await openLedger(db, { pseudonymKey: KEY, ...(clock ? { clock } : {}) });
  return {
    dir: d,
    url,
    db,
    ledger,
    async close() {
      await ledger.close();
      await closeDatabase(db);
    },
  };
}

export async function openAccounts(ledger: Ledger): Promise<void> {
  const base = { asset: "CNY", scale: 2 } as const;
  await ledger.openAccount({ id: "cash-desk", type: "settlement", ...base, metadata: { channel: "cash" } });
  await ledger.openAccount({
    id: "swift",
    type: "settlement",
    ...base,
    metadata: { channel: "cross_border" },
  });
  await ledger.openAccount({ id: "alice", type: "customer", ...base });
  await ledger.openAccount({ id: "bob", type: "customer", ...base });
  await ledger.openAccount({ id: "acme", type: "customer", ...base, metadata: { holder: "company" } });
}

let n = 0;
export const tid = (p = "t") => `${p}-${process.pid}-${n++}`;

export function cashIn(ledger: Ledger, to: string, amount: bigint) {
  return ledger.transfer({
    id: tid("cash"),
    debitAccountId: "cash-desk",
    creditAccountId: to,
    amount,
    kind: "deposit",
  });
}

/**
 * For a PostgreSQL suite (inside describeWithPg): a ledger with the accounts above on the suite's
 * database, opened before its tests and closed after them.
 */
export function pgLedgerFixture(ctx: { url: string }): { db: Database; ledger: Ledger } {
  const env = {} as { db: Database; ledger: Ledger };
  before(async () => {
    env.db = openDatabase(ctx.url);
    env.ledger = await openLedger(env.db, { pseudonymKey: KEY });
    await openAccounts(env.ledger);
  });
  after(async () => {
    await env.ledger?.close();
    if (env.db) await closeDatabase(env.db);
  });
  return env;
}

/** Polls `check` until it returns true (each test has mocha's timeout as its only limit). */
export async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}
