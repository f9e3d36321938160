import { randomBytes } from "node:crypto";
import { bytesToHex, type Hex } from "viem";
import type { Database } from "../../../src/db/database";
import type { Migration } from "../../../src/db/migrate";
import { nodeHasher } from "../../../src/log/node-hasher";
import { MemoryTree } from "../../../src/log/tree";
import type { AnchorSource } from "../../../src/relayer/types";

/**
 * A stand-in for ledger + log store in relayer tests: entries are rows of `test_entries` (shared by
 * every process using the database), the tree is rebuilt in memory from them on `sync`.
 */
export const testEntriesMigration: Migration = {
  id: "relayer-test/001_entries",
  sqlite:
    "CREATE TABLE test_entries (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL, created_at INTEGER NOT NULL)",
  postgres:
    "CREATE TABLE test_entries (idx BIGINT PRIMARY KEY, leaf BYTEA NOT NULL, created_at BIGINT NOT NULL)",
};

interface Row {
  idx: number | string;
  leaf: Uint8Array;
  created_at: number | string;
}

async function rows(db: Database, from: number, limit: number): Promise<Row[]> {
  if (db.kind === "sqlite") {
    return db.sqlite
      .prepare("SELECT idx, leaf, created_at FROM test_entries WHERE idx >= ? ORDER BY idx LIMIT ?")
      .all(from, limit) as Row[];
  }
  return (
    await db.pool.query(
      "SELECT idx, leaf, created_at FROM test_entries WHERE idx >= $1 ORDER BY idx LIMIT $2",
      [from, limit],
    )
  ).rows;
}

export async function appendEntries(db: Database, n: number, createdAt = Date.now()): Promise<number> {
  if (db.kind === "sqlite") {
    const s = db.sqlite;
    const next = (s.prepare("SELECT COUNT(*) AS n FROM test_entries").get() as { n: number }).n;
    const ins = s.prepare("INSERT INTO test_entries (idx, leaf, created_at) VALUES (?, ?, ?)");
    s.transaction(() => {
      for (let i = 0; i < n; i++) ins.run(next + i, randomBytes(416), createdAt);
    })();
    return next + n;
  }
  const c = await db.pool.connect();
  try {
    await c.query("BEGIN");
    await c.query("LOCK TABLE test_entries IN EXCLUSIVE MODE");
    const next = Number((await c.query("SELECT COUNT(*) AS n FROM test_entries")).rows[0].n);
    for (let i = 0; i < n; i++)
      await c.query("INSERT INTO test_entries (idx, leaf, created_at) VALUES ($1, $2, $3)", [
        next + i,
        randomBytes(416),
        createdAt,
      ]);
    await c.query("COMMIT");
    return next + n;
  } finally {
    c.release();
  }
}

/** Alters entry `idx` in place, as an insider rewriting the database would. */
export async function tamperEntry(db: Database, idx: number): Promise<void> {
  const leaf = randomBytes(416);
  if (db.kind === "sqlite")
    db.sqlite.prepare("UPDATE test_entries SET leaf = ? WHERE idx = ?").run(leaf, idx);
  else await db.pool.query("UPDATE test_entries SET leaf = $1 WHERE idx = $2", [leaf, idx]);
}

export class TableSource implements AnchorSource {
  readonly tree = new MemoryTree(nodeHasher);
  constructor(private readonly db: Database) {}

  async sync(maxLeaves = Number.MAX_SAFE_INTEGER): Promise<number> {
    const end = this.tree.size + maxLeaves;
    for (;;) {
      const want = Math.min(5000, end - this.tree.size);
      if (want <= 0) return this.tree.size;
      const r = await rows(this.db, this.tree.size, want);
      for (const row of r) this.tree.append(nodeHasher.hashLeaf(row.leaf));
      if (r.length < want) return this.tree.size;
    }
  }
  async logSize(): Promise<number> {
    if (this.db.kind === "sqlite")
      return (this.db.sqlite.prepare("SELECT COUNT(*) AS n FROM test_entries").get() as { n: number }).n;
    return Number((await this.db.pool.query("SELECT COUNT(*) AS n FROM test_entries")).rows[0].n);
  }
  async root(size: number): Promise<Hex> {
    return bytesToHex(this.tree.root(size));
  }
  async consistencyProof(size1: number, size2: number): Promise<Hex[]> {
    return this.tree.consistencyProof(size1, size2).map((h) => bytesToHex(h));
  }
  async entryTimestamp(index: number): Promise<number | undefined> {
    const r = await rows(this.db, index, 1);
    return r[0] && Number(r[0].idx) === index ? Number(r[0].created_at) : undefined;
  }
  async ledgerLeafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    return (await rows(this.db, from, limit)).map((r) => nodeHasher.hashLeaf(r.leaf));
  }
  async treeLeafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let i = from; i < Math.min(from + limit, this.tree.size); i++) out.push(this.tree.leafHash(i));
    return out;
  }
}
