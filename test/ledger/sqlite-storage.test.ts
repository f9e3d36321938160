import { expect } from "chai";
import fs from "node:fs";
import { BackgroundCheckpointer } from "../../src/db/checkpointer";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { openLedger } from "../../src/ledger";
import { ledgerMigrations } from "../../src/ledger/migrations";
import { KEY, tempSqliteUrl } from "./support";

const MAX_U128 = 2n ** 128n - 1n;
const INT64_MAX = 2n ** 63n - 1n;

/** A ledger on a new SQLite file with a bank mirror and the given customers (EUR). */
async function openWith(...customers: string[]) {
  const { url } = tempSqliteUrl();
  const db = openDatabase(url);
  if (db.kind !== "sqlite") throw new Error("sqlite expected");
  const ledger = await openLedger(db, { pseudonymKey: KEY });
  await ledger.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
  for (const id of customers) await ledger.openAccount({ id, type: "customer", asset: "EUR", scale: 2 });
  const deposit = (id: string, to: string, amount: bigint) =>
    ledger.transfer({ id, debitAccountId: "bank", creditAccountId: to, amount, kind: "deposit" });
  return { db, sqlite: db.sqlite, ledger, deposit };
}

describe("ledger: SQLite storage (balances table, background checkpoints)", () => {
  it("ledger/003 moves balances out of an existing accounts table, exactly, and the ledger goes on", async () => {
    const { url } = tempSqliteUrl();
    const db = openDatabase(url);
    // A database as the first two migrations left it, with balances up to 2^128 - 1 as decimal TEXT.
    await migrate(db, ledgerMigrations.slice(0, 2));
    if (db.kind !== "sqlite") throw new Error("sqlite expected");
    const insert = db.sqlite.prepare(
      `INSERT INTO ledger_accounts (id, pseudonym, type, asset, scale, status, limits, metadata, debits_posted,
         credits_posted, debits_pending, credits_pending, created_at, sequence)
       VALUES (?, ?, ?, 'EUR', 2, 'active', NULL, NULL, ?, ?, ?, ?, 1, ?)`,
    );
    const before = [
      ["bank", "0x01", "bank_mirror", `${MAX_U128}`, "0", "0", "0"],
      ["alice", "0x02", "customer", "0", `${MAX_U128 - 5n}`, "0", "0"],
      ["bob", "0x03", "customer", "0", "5", "0", `${INT64_MAX + 1n}`],
      ["carol", "0x04", "customer", "12", "999999999999999999", "7", `${INT64_MAX}`],
    ] as const;
    before.forEach((r, i) => insert.run(...r, i));
    await migrate(db, ledgerMigrations);
    const rows = db.sqlite
      .prepare(
        "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts ORDER BY sequence",
      )
      .raw()
      .all();
    expect(rows).to.deep.equal(before.map(([id, , , ...b]) => [id, ...b]));
    // Small balances became INTEGERs; those beyond 64 bits stayed decimal TEXT.
    const types = db.sqlite
      .prepare(
        "SELECT typeof(debits_posted), typeof(credits_posted), typeof(credits_pending) FROM ledger_balances ORDER BY account_key",
      )
      .raw()
      .all();
    expect(types).to.deep.equal([
      ["text", "integer", "integer"],
      ["integer", "text", "integer"],
      ["integer", "integer", "text"],
      ["integer", "integer", "text"], // 19 digits: kept as written
    ]);
    const ledger = await openLedger(db, { pseudonymKey: KEY });
    await ledger.transfer({
      id: "t1",
      debitAccountId: "carol",
      creditAccountId: "bob",
      amount: 1n,
      kind: "transfer",
    });
    expect((await ledger.getBalance("carol")).debitsPosted).to.equal(13n);
    expect((await ledger.getBalance("bob")).creditsPosted).to.equal(6n);
    expect((await ledger.getBalance("bob")).creditsPending).to.equal(INT64_MAX + 1n);
    await ledger.close();
    await closeDatabase(db);
  });

  it("stores balances beyond 64 bits as decimal TEXT and reads every balance back exactly", async () => {
    const { db, sqlite, ledger, deposit } = await openWith("alice", "bob");
    await deposit("d1", "alice", MAX_U128);
    await ledger.transfer({
      id: "t1",
      debitAccountId: "alice",
      creditAccountId: "bob",
      amount: INT64_MAX + 2n,
      kind: "transfer",
    });
    const stored = sqlite
      .prepare(
        "SELECT t.id, typeof(b.debits_posted), typeof(b.credits_posted) FROM ledger_balances b JOIN ledger_account_terms t ON t.key = b.account_key ORDER BY t.id",
      )
      .raw()
      .all();
    expect(stored).to.deep.equal([
      ["alice", "text", "text"],
      ["bank", "text", "integer"],
      ["bob", "integer", "text"],
    ]);
    await ledger.close();
    // A fresh ledger on the same file reads the stored values, not a cache.
    const again = await openLedger(db, { pseudonymKey: KEY });
    expect((await again.getBalance("alice")).posted).to.equal(MAX_U128 - INT64_MAX - 2n);
    expect((await again.getBalance("bob")).posted).to.equal(INT64_MAX + 2n);
    expect((await again.checkInvariants()).ok).to.equal(true);
    await again.close();
    await closeDatabase(db);
  });

  it("a status change is stored in the account's terms, balances in ledger_balances", async () => {
    const { db, sqlite, ledger, deposit } = await openWith("alice");
    await deposit("d1", "alice", 10n);
    await ledger.setAccountStatus("alice", "frozen");
    const row = sqlite
      .prepare("SELECT status, credits_posted FROM ledger_accounts WHERE id = 'alice'")
      .raw()
      .get();
    expect(row).to.deep.equal(["frozen", "10"]);
    await ledger.close();
    await closeDatabase(db);
  });

  it("the background checkpointer copies the WAL into the database file without the writer", async () => {
    const { url, dir } = tempSqliteUrl();
    const db = openDatabase(url);
    if (db.kind !== "sqlite") throw new Error("sqlite expected");
    const s = db.sqlite;
    s.pragma("wal_autocheckpoint = 0"); // only the background thread checkpoints here
    s.exec("CREATE TABLE t (x BLOB)");
    const c = new BackgroundCheckpointer(url, { delayMs: 0 });
    const insert = s.prepare("INSERT INTO t VALUES (randomblob(4000))");
    s.transaction(() => {
      for (let i = 0; i < 500; i++) insert.run();
    })();
    const dbSizeBefore = fs.statSync(url).size;
    c.notify();
    const deadline = Date.now() + 60_000;
    while (c.completed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(c.completed).to.equal(1);
    expect(c.lastError).to.equal(null);
    // The frames are now in the database file: it grew by the ~2 MB written.
    expect(fs.statSync(url).size).to.be.greaterThan(dbSizeBefore + 500 * 4000);
    await c.close();
    // Closing twice is harmless; the database stays usable.
    await c.close();
    expect(s.prepare("SELECT count(*) FROM t").pluck().get()).to.equal(500);
    await closeDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a busy writer's WAL is rewound every 64 000 events instead of growing", async function () {
    this.timeout(300_000);
    const { db, ledger } = await openWith("alice", "bob");
    for (let b = 0; b < 30; b++)
      await ledger.transferBatch(
        Array.from({ length: 8000 }, (_, i) => ({
          id: `w${b}-${i}`,
          debitAccountId: "bank",
          creditAccountId: i % 2 ? "alice" : "bob",
          amount: 1n,
          kind: "deposit" as const,
        })),
      );
    // The WAL file is as large as it ever got: ~143 MB here when only the background thread
    // checkpoints (it never finds a gap between two transactions to rewind it), ~52 MB rewound.
    expect(fs.statSync(`${db.url}-wal`).size).to.be.below(80e6);
    await ledger.close();
    await closeDatabase(db);
  });

  it("a ledger writing in volume hands checkpoints to the background thread and stops it on close", async () => {
    const { db, sqlite, ledger } = await openWith("alice");
    const autocheckpoint = () => sqlite.pragma("wal_autocheckpoint", { simple: true });
    expect(autocheckpoint()).to.equal(16_384);
    for (let b = 0; b < 3; b++)
      await ledger.transferBatch(
        Array.from({ length: 8000 }, (_, i) => ({
          id: `d${b}-${i}`,
          debitAccountId: "bank",
          creditAccountId: "alice",
          amount: 1n,
          kind: "deposit" as const,
        })),
      );
    // Past 20 000 events the writer's own checkpoint is only the backstop.
    expect(autocheckpoint()).to.equal(65_536);
    await ledger.close();
    expect(autocheckpoint()).to.equal(16_384);
    expect((await openLedger(db, { pseudonymKey: KEY }).then((l) => l.getBalance("alice"))).posted).to.equal(
      24_000n,
    );
    await closeDatabase(db);
  });
});
