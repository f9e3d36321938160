import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { bytesToHex, type Hex } from "viem";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { nodeHasher } from "../../src/log/node-hasher";
import { MemoryTree } from "../../src/log/tree";
import { type AnchorRecord, openAnchorStore, relayerMigrations } from "../../src/relayer/anchor-store";
import { auditAgainstHeads } from "../../src/relayer/audit";
import { MerkleFrontier } from "../../src/log/frontier";
import { createPgAdvisoryLease, createRowLease } from "../../src/db/lease";
import { bumpFees, isFinal, nextAnchorSize } from "../../src/relayer/policy";
import type { AnchorSource } from "../../src/relayer/types";
import { describeWithPg } from "../support/pg";

describe("relayer: policy", () => {
  const policy = { batchSize: 100, maxDelayMs: 1000 };
  it("anchors when the batch is full or the oldest entry is old enough, never beyond maxBatch", () => {
    expect(nextAnchorSize({ policy, logSize: 50, anchoredSize: 50, now: 0 })).to.equal(undefined);
    expect(
      nextAnchorSize({ policy, logSize: 149, anchoredSize: 50, oldestUnanchoredAt: 0, now: 999 }),
    ).to.equal(undefined);
    expect(
      nextAnchorSize({ policy, logSize: 149, anchoredSize: 50, oldestUnanchoredAt: 0, now: 1000 }),
    ).to.equal(149);
    expect(nextAnchorSize({ policy, logSize: 150, anchoredSize: 50, now: 0 })).to.equal(150);
    expect(
      nextAnchorSize({ policy: { ...policy, maxBatch: 30 }, logSize: 150, anchoredSize: 50, now: 0 }),
    ).to.equal(80);
  });
  it("replacement fees rise by at least 10 % and never fall below the market", () => {
    const prev = { maxFeePerGas: 1000n, maxPriorityFeePerGas: 100n };
    const up = bumpFees(prev, { maxFeePerGas: 10n, maxPriorityFeePerGas: 1n });
    expect(up.maxFeePerGas >= 1100n && up.maxPriorityFeePerGas >= 110n).to.equal(true);
    const market = bumpFees(prev, { maxFeePerGas: 5000n, maxPriorityFeePerGas: 700n });
    expect(market).to.deep.equal({ maxFeePerGas: 5000n, maxPriorityFeePerGas: 700n });
  });
  it("finality counts the anchor's own block", () => {
    expect(isFinal(10, 10, 0)).to.equal(true);
    expect(isFinal(10, 10, 1)).to.equal(true);
    expect(isFinal(10, 11, 3)).to.equal(false);
    expect(isFinal(10, 12, 3)).to.equal(true);
  });
});

describe("relayer: frontier and audit", () => {
  it("the frontier's root equals the RFC 9162 tree's root at every size", () => {
    const tree = new MemoryTree(nodeHasher);
    const f = new MerkleFrontier();
    expect(bytesToHex(f.root())).to.equal(bytesToHex(tree.root(0)));
    for (let i = 0; i < 300; i++) {
      const leaf = nodeHasher.hashLeaf(randomBytes(40));
      tree.append(leaf);
      f.push(leaf);
      expect(bytesToHex(f.root()), `size ${i + 1}`).to.equal(bytesToHex(tree.root()));
    }
  });

  function source(ledger: Uint8Array[], tree: MemoryTree): AnchorSource {
    return {
      sync: async () => tree.size,
      root: async (n) => bytesToHex(tree.root(n)),
      consistencyProof: async () => [],
      entryTimestamp: async () => 0,
      ledgerLeafHashes: async (from, limit) => ledger.slice(from, from + limit),
      treeLeafHashes: async (from, limit) =>
        ledger.slice(from, from + limit).map((_, i) => tree.leafHash(from + i)),
    };
  }

  it("names the exact first bad size, and the batch when the tree store agrees with the altered ledger", async () => {
    const tree = new MemoryTree(nodeHasher);
    const ledger: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) {
      ledger.push(nodeHasher.hashLeaf(randomBytes(16)));
      tree.append(ledger[i]!);
    }
    const heads = [30, 60, 90].map((n) => ({ treeSize: n, rootHash: bytesToHex(tree.root(n)) as Hex }));
    expect(await auditAgainstHeads(source(ledger, tree), heads, 100)).to.equal(undefined);
    const altered = [...ledger];
    altered[41] = nodeHasher.hashLeaf(randomBytes(16));
    expect(await auditAgainstHeads(source(altered, tree), heads, 100)).to.include({
      kind: "log-mismatch",
      firstBadSize: 42,
    });
    // Without the tree's copy only the anchored batch can be named.
    const { treeLeafHashes: _, ...blind } = source(altered, tree);
    expect(await auditAgainstHeads(blind, heads, 100)).to.include({ kind: "log-mismatch", firstBadSize: 60 });
    // Altered after the last head: the tree store still has the original.
    const late = [...ledger];
    late[95] = nodeHasher.hashLeaf(randomBytes(16));
    expect(await auditAgainstHeads(source(late, tree), heads, 100)).to.include({
      kind: "ledger-tree-mismatch",
      firstBadSize: 96,
    });
    expect(await auditAgainstHeads(source(ledger, tree), heads, 80)).to.include({ kind: "log-behind-chain" });
  });
});

/** The anchor store and the row lease run the same SQL on both backends. */
function anchorStoreAndRowLease(open: () => Promise<{ db: Database; done: () => void }>): void {
  let db: Database;
  let done: () => void;
  before(async () => {
    ({ db, done } = await open());
    await migrate(db, relayerMigrations);
  });
  after(async () => {
    if (db) await closeDatabase(db);
    done?.();
  });

  const rec = (i: number, size: number, final: boolean): AnchorRecord => ({
    headIndex: i,
    treeSize: size,
    rootHash: `0x${"ab".repeat(32)}`,
    metadataHash: `0x${"00".repeat(32)}`,
    txHash: `0x${i.toString(16).padStart(64, "0")}`,
    blockNumber: 10 + i,
    blockHash: `0x${"cd".repeat(32)}`,
    blockTimestamp: 1_700_000_000 + i,
    chainId: 31337,
    contract: `0x${"11".repeat(20)}`,
    final,
  });

  it("covering() returns the first final anchor containing the leaf; list pages backwards", async () => {
    const s = openAnchorStore(db);
    await s.upsert([rec(0, 10, true), rec(1, 25, true), rec(2, 40, false)]);
    expect((await s.covering(0))!.headIndex).to.equal(0);
    expect((await s.covering(10))!.headIndex).to.equal(1);
    expect(await s.covering(30)).to.equal(undefined); // only a non-final anchor covers it
    await s.markFinal(2);
    expect((await s.covering(30))!.headIndex).to.equal(2);
    expect((await s.list({ limit: 2 })).map((r) => r.headIndex)).to.deep.equal([2, 1]);
    expect((await s.list({ limit: 2, beforeHeadIndex: 1 })).map((r) => r.headIndex)).to.deep.equal([0]);
    expect(await s.dropFrom(2)).to.equal(1);
    expect((await s.latest())!.headIndex).to.equal(1);
    expect(await s.byHeadIndex(1)).to.deep.equal(rec(1, 25, true));
  });

  it("one holder at a time; a standby takes over once the lease has expired", async () => {
    let now = 1_000_000;
    const a = createRowLease(db, { ttlMs: 1000, holder: "a", now: () => now });
    const b = createRowLease(db, { ttlMs: 1000, holder: "b", now: () => now });
    expect(await a.tryAcquire()).to.equal(true);
    expect(await b.tryAcquire()).to.equal(false);
    now += 500;
    expect(await a.tryAcquire()).to.equal(true); // renewed
    now += 900;
    expect(await b.tryAcquire()).to.equal(false);
    now += 200; // a stopped renewing 1100 ms ago
    expect(a.isHeld()).to.equal(false);
    expect(await b.tryAcquire()).to.equal(true);
    expect(await a.tryAcquire()).to.equal(false);
    await b.release();
    expect(await a.tryAcquire()).to.equal(true);
  });
}

describe("relayer: anchor store and row lease on SQLite", () => {
  anchorStoreAndRowLease(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-units-"));
    return {
      db: openDatabase(path.join(dir, "r.db")),
      done: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  });
});

describeWithPg("relayer: anchor store and row lease on PostgreSQL", (ctx) => {
  anchorStoreAndRowLease(async () => ({ db: openDatabase(ctx.url), done: () => {} }));
});

describeWithPg("relayer: PostgreSQL advisory lease", (ctx) => {
  it("one holder at a time; released when the holder's session ends", async () => {
    const a = createPgAdvisoryLease(ctx.url, { name: "t" });
    const b = createPgAdvisoryLease(ctx.url, { name: "t" });
    try {
      expect(await a.tryAcquire()).to.equal(true);
      expect(await b.tryAcquire()).to.equal(false);
      expect(await a.tryAcquire()).to.equal(true);
      await a.release();
      expect(await b.tryAcquire()).to.equal(true);
      expect(await a.tryAcquire()).to.equal(false);
    } finally {
      await a.release();
      await b.release();
    }
  });
});
