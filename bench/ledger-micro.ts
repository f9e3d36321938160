/**
 * npm run bench:ledger-micro
 *
 * The building blocks behind the SQLite ledger's batch path, each against the alternative it
 * replaced, in one run (medians of 30 rounds, ms per round):
 *  - 8 000 transfer pseudonyms: createHmac per id, two node:crypto one-shot SHA-256 calls over
 *    precomputed pads, and the JS compression with folded pad states (src/protocol/sha256.ts);
 *  - 8 000 leaf hashes: on the calling thread, and shared with the helper thread (leaf-hasher.ts);
 *  - 10 000 balance updates in one transaction (SQLite file, WAL): the wide accounts row by text id
 *    with decimal TEXT (the old layout), by rowid, and the narrow integer-keyed row with INTEGERs
 *    (ledger/003);
 *  - the array parameters of a PostgreSQL batch of 1 000 transfers (22 columns as the checked commit
 *    sends them): node-postgres's own conversion of JS arrays, src/db/pg-array.ts's arrayText, and
 *    its arrayBinary (the binary parameters the commit call now sends).
 * Writes bench/results/ledger-micro.json.
 */
import BetterSqlite3 from "better-sqlite3";
import { createHmac, hash, randomBytes, randomFillSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type BinaryElement, arrayBinary, arrayText } from "../src/db/pg-array";
import { Pseudonymizer } from "../src/ledger/canonical";
import { startLeafHashes } from "../src/ledger/leaf-hasher";

const ROUNDS = 30;
const rows: { case: string; variant: string; medianMs: number; minMs: number }[] = [];

function time(group: string, variant: string, f: () => void): void {
  const ts: number[] = [];
  for (let r = 0; r < ROUNDS + 3; r++) {
    const t = performance.now();
    f();
    if (r >= 3) ts.push(performance.now() - t); // the first rounds warm the JIT
  }
  ts.sort((a, b) => a - b);
  const row = { case: group, variant, medianMs: +ts[ts.length >> 1].toFixed(2), minMs: +ts[0].toFixed(2) };
  rows.push(row);
  console.log(`${group.padEnd(28)} ${variant.padEnd(44)} median ${row.medianMs} ms, min ${row.minMs} ms`);
}

// Pseudonyms of 8 000 transfer ids.
const key = new Uint8Array(32).fill(7);
const ids = Array.from({ length: 8000 }, (_, i) => `t${(i + 1e9).toString().padStart(12, "0")}`);
const k = Buffer.alloc(64);
Buffer.from(key).copy(k);
const inner = Buffer.alloc(1024);
const outer = Buffer.alloc(96);
for (let i = 0; i < 64; i++) {
  inner[i] = k[i] ^ 0x36;
  outer[i] = k[i] ^ 0x5c;
}
time("8 000 pseudonyms", "createHmac per id", () => {
  for (const id of ids) createHmac("sha256", key).update(`transfer:${id}`).digest();
});
time("8 000 pseudonyms", "two crypto.hash calls over precomputed pads", () => {
  for (const id of ids) {
    const n = inner.write(`transfer:${id}`, 64, "utf8");
    (hash("sha256", inner.subarray(0, 64 + n), "buffer") as unknown as Buffer).copy(outer, 64);
    hash("sha256", outer, "buffer");
  }
});
const pseudonyms = new Pseudonymizer(key);
const out = Buffer.alloc(32);
time("8 000 pseudonyms", "JS compression, folded pads (kept)", () => {
  for (const id of ids) pseudonyms.writeInto("transfer", id, out, 0);
});

// Leaf hashes of 8 000 leaves (0x00 ‖ 416 bytes), in shared slabs as the leaf writer cuts them.
const leaves: Buffer[] = [];
for (let s = 0; s < 8; s++) {
  const slab = Buffer.from(new SharedArrayBuffer(1000 * 417));
  randomFillSync(slab);
  for (let i = 0; i < 1000; i++) leaves.push(slab.subarray(i * 417, i * 417 + 417));
}
time("8 000 leaf hashes", "calling thread only", () => {
  for (const l of leaves) hash("sha256", l, "buffer");
});
time("8 000 leaf hashes", "shared with the helper thread (kept)", () => {
  startLeafHashes(leaves).finish();
});

// 10 000 balance updates.
const dir = mkdtempSync(join(tmpdir(), "bench-micro-"));
try {
  const db = new BetterSqlite3(join(dir, "micro.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(`
    CREATE TABLE wide (id TEXT PRIMARY KEY, pseudonym TEXT NOT NULL UNIQUE, type TEXT, asset TEXT, scale INT,
      status TEXT, limits TEXT, metadata TEXT, dp TEXT, cp TEXT, dpe TEXT, cpe TEXT, created INT, seq INT);
    CREATE TABLE narrow (k INTEGER PRIMARY KEY, dp, cp, dpe, cpe);`);
  const insWide = db.prepare(
    "INSERT INTO wide VALUES (?, ?, 'customer', 'EUR', 2, 'active', NULL, NULL, ?, ?, '0', '0', 0, ?)",
  );
  const insNarrow = db.prepare("INSERT INTO narrow VALUES (?, 0, ?, 0, 0)");
  db.transaction(() => {
    for (let i = 0; i < 10_000; i++) {
      insWide.run(`c${i}`, `0x${randomBytes(32).toString("hex")}`, "0", "1000000000000000", i);
      insNarrow.run(i + 1, 1_000_000_000_000_000n);
    }
  })();
  const accountIds = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 10_000);
  const inTransaction = (f: () => void) => () => db.transaction(f).immediate();
  let round = 0;
  const byId = db.prepare("UPDATE wide SET status = ?, dp = ?, cp = ?, dpe = ?, cpe = ? WHERE id = ?");
  time(
    "10 000 balance updates",
    "wide row by text id, decimal TEXT (before)",
    inTransaction(() => {
      round++;
      for (const i of accountIds)
        byId.run("active", String(123456789 + round * i), String(987654321 + i), "0", "0", `c${i}`);
    }),
  );
  const byRowid = db.prepare("UPDATE wide SET status = ?, dp = ?, cp = ?, dpe = ?, cpe = ? WHERE rowid = ?");
  time(
    "10 000 balance updates",
    "wide row by rowid, decimal TEXT",
    inTransaction(() => {
      round++;
      for (const i of accountIds)
        byRowid.run("active", String(123456789 + round * i), String(987654321 + i), "0", "0", i + 1);
    }),
  );
  const narrow = db.prepare("UPDATE narrow SET dp = ?, cp = ?, dpe = ?, cpe = ? WHERE k = ?");
  time(
    "10 000 balance updates",
    "narrow row by integer key, INTEGER (kept)",
    inTransaction(() => {
      round++;
      for (const i of accountIds)
        narrow.run(BigInt(123456789 + round * i), BigInt(987654321 + i), 0n, 0n, i + 1);
    }),
  );
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// The array parameters of one checked batch commit of 1 000 transfers between 10 000 accounts:
// 11 account columns of ~1 900 rows (ids, statuses, balances), 11 transfer and 4 event columns.
{
  const n = 1000;
  const accounts = 1900;
  const acc = Array.from({ length: accounts }, (_, i) => `c${(i * 7919) % 10_000}`);
  const status = acc.map(() => "active");
  const balance = acc.map((_, i) => String(10n ** 15n - BigInt(i * 37)));
  const tid = Array.from({ length: n }, (_, i) => `t${String(i).padStart(12, "0")}`);
  const debit = tid.map((_, i) => acc[i % accounts]);
  const credit = tid.map((_, i) => acc[(i * 3 + 1) % accounts]);
  const amount = tid.map((_, i) => String(1 + (i % 50)));
  const none = tid.map(() => null);
  const index = tid.map((_, i) => i);
  const created = tid.map(() => 1_796_422_210_553);
  const columns: (string | number | null)[][] = [
    ...[acc, status, balance, balance, balance, balance, status, balance, balance, balance, balance],
    ...[
      tid,
      debit,
      credit,
      tid.map(() => "EUR"),
      amount,
      tid.map(() => "transfer"),
      none,
      none,
      none,
      index,
      created,
    ],
    ...[tid, debit, credit, created],
  ];
  // node-postgres's conversion of a parameter (exported as pg.utils, untyped).
  const prepareValue = (pg as unknown as { utils: { prepareValue(v: unknown): unknown } }).utils.prepareValue;
  // Both end as the bytes node-postgres writes (byteLength is part of its cost).
  time("batch array parameters", "node-postgres from JS arrays (before)", () => {
    for (const c of columns) Buffer.byteLength(prepareValue(c) as string);
  });
  time("batch array parameters", "arrayText (before)", () => {
    for (const c of columns) Buffer.byteLength(arrayText(c));
  });
  // The element type of each column, as the commit call declares it.
  const types: BinaryElement[] = [
    ...(["text", "text", "numeric", "numeric", "numeric", "numeric"] as const),
    ...(["text", "numeric", "numeric", "numeric", "numeric"] as const),
    ...(["text", "text", "text", "text", "numeric", "text", "text", "text", "text", "int8", "int8"] as const),
    ...(["text", "text", "text", "int8"] as const),
  ];
  time("batch array parameters", "arrayBinary (kept)", () => {
    columns.forEach((c, i) => arrayBinary(types[i], c));
  });
}

mkdirSync(join(__dirname, "results"), { recursive: true });
writeFileSync(
  join(__dirname, "results", "ledger-micro.json"),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, rows }, null, 2),
);
