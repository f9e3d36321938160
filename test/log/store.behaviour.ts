import { expect } from "chai";
import { toHex } from "../../src/log/hex";
import type { LogStore } from "../../src/log/store";
import { syncLog, type LeafSource } from "../../src/log/sync";
import {
  IndexOutOfRangeError,
  InvalidProofInputError,
  LogAppendConflictError,
  LogArgumentError,
} from "../../src/log/errors";
import { verifyConsistency, verifyInclusion } from "../../src/log/verify";
import { makeLeaves, refConsistency, refInclusion, refRoot } from "./reference";

const hexAll = (a: Uint8Array[]) => a.map(toHex);

export interface StoreHarness {
  /** A store on a fresh, empty database. */
  open(): Promise<LogStore>;
  /** Closes and reopens the last opened database (a restart); undefined when not persistent. */
  reopen?: () => Promise<LogStore>;
  /** A second, independent handle (own connection and cache) on the last opened database; closed by close(). */
  another?: () => Promise<LogStore>;
  close(): Promise<void>;
}

/** The LogStore contract, run against every backend. */
export function shouldBehaveLikeLogStore(h: () => StoreHarness, opts: { persistent: boolean }): void {
  const leaves = makeLeaves(300, 3);
  let harness: StoreHarness;
  beforeEach(() => {
    harness = h();
  });
  afterEach(async () => {
    await harness.close();
  });

  it("starts empty", async () => {
    const s = await harness.open();
    expect(await s.size()).to.equal(0);
    expect(toHex(await s.root())).to.equal(toHex(refRoot([])));
    expect(toHex(await s.root(0))).to.equal(toHex(refRoot([])));
  });

  it("appends in uneven batches; roots and proofs for every size equal the reference", async () => {
    const s = await harness.open();
    const cuts = [1, 2, 3, 15, 16, 17, 31, 33, 64, 100, 255, 256, 257, 300];
    let size = 0;
    for (const c of cuts) {
      size = await s.append(size, leaves.slice(size, c));
      expect(size).to.equal(c);
    }
    for (let n = 1; n <= 300; n++) {
      const prefix = leaves.slice(0, n);
      expect(toHex(await s.root(n)), `root ${n}`).to.equal(toHex(refRoot(prefix)));
    }
    for (const n of [1, 2, 5, 16, 17, 100, 256, 257, 299, 300]) {
      const prefix = leaves.slice(0, n);
      for (let i = 0; i < n; i += n > 50 ? 13 : 1)
        expect(hexAll(await s.inclusionProof(i, n)), `inclusion ${i} ${n}`).to.deep.equal(
          hexAll(refInclusion(prefix, i)),
        );
      for (let m = 1; m <= n; m += n > 50 ? 11 : 1)
        expect(hexAll(await s.consistencyProof(m, n)), `consistency ${m} ${n}`).to.deep.equal(
          hexAll(refConsistency(prefix, m)),
        );
    }
    const proof = await s.inclusionProof(123, 300);
    verifyInclusion({
      leafIndex: 123,
      treeSize: 300,
      leafHash: leaves[123],
      proof,
      rootHash: await s.root(),
    });
    verifyConsistency({
      size1: 77,
      size2: 300,
      root1: await s.root(77),
      root2: await s.root(),
      proof: await s.consistencyProof(77, 300),
    });
  });

  it("one leaf at a time gives the same tree", async () => {
    const s = await harness.open();
    for (let i = 0; i < 40; i++) await s.append(i, [leaves[i]]);
    expect(toHex(await s.root())).to.equal(toHex(refRoot(leaves.slice(0, 40))));
    expect(hexAll(await s.inclusionProof(39, 40))).to.deep.equal(
      hexAll(refInclusion(leaves.slice(0, 40), 39)),
    );
  });

  it("leafHash and findLeaf", async () => {
    const s = await harness.open();
    await s.append(0, leaves.slice(0, 50));
    expect(toHex(await s.leafHash(0))).to.equal(toHex(leaves[0]));
    expect(toHex(await s.leafHash(49))).to.equal(toHex(leaves[49]));
    expect(await s.findLeaf(leaves[17])).to.equal(17);
    expect(await s.findLeaf(leaves[60])).to.equal(undefined);
    await s.append(50, [leaves[17]]); // a repeated hash: the first index wins
    expect(await s.findLeaf(leaves[17])).to.equal(17);
    await expectReject(() => s.leafHash(51), IndexOutOfRangeError);
    await expectReject(() => s.findLeaf(new Uint8Array(5)), LogArgumentError);
  });

  it("findLeaf tells apart hashes sharing a 6-byte prefix, across epochs of the key index", async () => {
    const s = await harness.open();
    const n = 70_000; // more than one epoch (2^16 leaves)
    const hs = Array.from({ length: n }, (_, i) => {
      const h = new Uint8Array(32);
      new DataView(h.buffer).setUint32(0, i * 2654435761);
      h[31] = 1;
      return h;
    });
    const x = Uint8Array.from(hs[12]);
    x[31] = 2; // same prefix as hs[12], different hash
    const y = Uint8Array.from(hs[12]);
    y[30] = 9; // same prefix, never stored
    hs[69_999] = x;
    hs[66_000] = Uint8Array.from(hs[3]); // repeated in a later epoch
    for (let size = 0; size < n;) size = await s.append(size, hs.slice(size, size + 20_000));
    expect(await s.findLeaf(hs[12])).to.equal(12);
    expect(await s.findLeaf(x)).to.equal(69_999);
    expect(await s.findLeaf(y)).to.equal(undefined);
    expect(await s.findLeaf(hs[3])).to.equal(3);
    expect(await s.findLeaf(hs[65_536])).to.equal(65_536);
    expect(toHex(await s.leafHash(69_999))).to.equal(toHex(x));
  });

  it("a size the store has not reached is out of range, even with no proof hashes", async () => {
    const s = await harness.open();
    await expectReject(() => s.inclusionProof(0, 1), IndexOutOfRangeError);
    await expectReject(() => s.leafHash(0), IndexOutOfRangeError);
    await expectReject(() => s.root(1), IndexOutOfRangeError);
    await s.append(0, leaves.slice(0, 10));
    expect(await s.inclusionProof(0, 1)).to.deep.equal([]);
    await expectReject(() => s.consistencyProof(11, 11), IndexOutOfRangeError);
    await expectReject(() => s.consistencyProof(16, 16), IndexOutOfRangeError);
    await expectReject(() => s.root(16), IndexOutOfRangeError);
    expect(await s.consistencyProof(10, 10)).to.deep.equal([]);
  });

  it("many concurrent proofs and lookups each get their own answer", async () => {
    const s = await harness.open();
    await s.append(0, leaves.slice(0, 300));
    const jobs = Array.from({ length: 300 }, (_, i) => {
      const n = 1 + ((i * 7919) % 300);
      const idx = (i * 104729) % n;
      return { i, n, idx };
    });
    const got = await Promise.all(
      jobs.map(async ({ i, n, idx }) => ({
        inc: hexAll(await s.inclusionProof(idx, n)),
        con: hexAll(await s.consistencyProof(1 + (i % n), n)),
        found: await s.findLeaf(leaves[i]),
      })),
    );
    jobs.forEach(({ i, n, idx }, j) => {
      const prefix = leaves.slice(0, n);
      expect(got[j].inc, `inclusion ${idx} ${n}`).to.deep.equal(hexAll(refInclusion(prefix, idx)));
      expect(got[j].con, `consistency ${1 + (i % n)} ${n}`).to.deep.equal(
        hexAll(refConsistency(prefix, 1 + (i % n))),
      );
      expect(got[j].found).to.equal(i);
    });
    await Promise.all([
      expectReject(() => s.inclusionProof(0, 301), IndexOutOfRangeError),
      expectReject(() => s.consistencyProof(3, 400), IndexOutOfRangeError),
    ]);
  });

  it("rejects conflicting appends and bad input without changing anything", async () => {
    const s = await harness.open();
    await s.append(0, leaves.slice(0, 10));
    const root = toHex(await s.root());
    await expectReject(() => s.append(9, [leaves[10]]), LogAppendConflictError);
    await expectReject(() => s.append(11, [leaves[10]]), LogAppendConflictError);
    await expectReject(() => s.append(10, [leaves[10], new Uint8Array(31)]), LogArgumentError);
    await expectReject(() => s.append(-1, [leaves[10]]), LogArgumentError);
    expect(await s.size()).to.equal(10);
    expect(toHex(await s.root())).to.equal(root);
    expect(await s.append(10, [])).to.equal(10);
  });

  it("names out-of-range and malformed proof requests", async () => {
    const s = await harness.open();
    await s.append(0, leaves.slice(0, 10));
    await expectReject(() => s.inclusionProof(10, 10), IndexOutOfRangeError);
    await expectReject(() => s.inclusionProof(3, 11), IndexOutOfRangeError);
    await expectReject(() => s.inclusionProof(0, 0), InvalidProofInputError);
    await expectReject(() => s.consistencyProof(0, 5), InvalidProofInputError);
    await expectReject(() => s.consistencyProof(6, 5), InvalidProofInputError);
    await expectReject(() => s.consistencyProof(5, 11), IndexOutOfRangeError);
    await expectReject(() => s.root(11), IndexOutOfRangeError);
    expect(await s.consistencyProof(10, 10)).to.deep.equal([]);
  });

  it("syncLog appends what the source has beyond the store, in batches", async () => {
    const s = await harness.open();
    await s.append(0, leaves.slice(0, 5));
    const calls: [number, number][] = [];
    const source: LeafSource = {
      async leafHashes(from, limit) {
        calls.push([from, limit]);
        return leaves.slice(from, Math.min(from + limit, 123));
      },
    };
    expect(await syncLog(source, s, { batchSize: 50 })).to.equal(123);
    expect(calls[0]).to.deep.equal([5, 50]);
    expect(toHex(await s.root())).to.equal(toHex(refRoot(leaves.slice(0, 123))));
    expect(await syncLog(source, s)).to.equal(123);
  });

  it("syncLog stops at a short read: leaves committed meanwhile wait for the next call", async () => {
    const s = await harness.open();
    // A source that grows by 3 leaves after every read, as a ledger under steady load.
    let end = 20;
    let reads = 0;
    const source: LeafSource = {
      async leafHashes(from, limit) {
        reads++;
        const got = leaves.slice(from, Math.min(from + limit, end));
        end = Math.min(end + 3, leaves.length);
        return got;
      },
    };
    expect(await syncLog(source, s, { batchSize: 50 })).to.equal(20);
    expect(reads).to.equal(1);
    // A full read means a backlog: the call goes on until a read comes back short.
    // (Reads at 20, 70, 120 are full; the one at 170 finds 39 of the 209 there by then.)
    end = 200;
    expect(await syncLog(source, s, { batchSize: 50 })).to.equal(209);
    expect(reads).to.equal(5);
    expect(toHex(await s.root())).to.equal(toHex(refRoot(leaves.slice(0, 209))));
  });

  if (!opts.persistent) return;
  it("two handles on one database: what one appends, the other proves (no stale cached tiles)", async () => {
    const a = await harness.open();
    const b = await harness.another!();
    let size = 0;
    for (const c of [5, 17, 18, 40, 255, 256, 300]) {
      size = await (c % 2 ? a : b).append(size, leaves.slice(size, c));
      for (const s of [a, b]) {
        expect(toHex(await s.root()), `root ${c}`).to.equal(toHex(refRoot(leaves.slice(0, c))));
        expect(hexAll(await s.inclusionProof(c - 1, c)), `inclusion ${c}`).to.deep.equal(
          hexAll(refInclusion(leaves.slice(0, c), c - 1)),
        );
        expect(hexAll(await s.consistencyProof(1 + (c >> 1), c)), `consistency ${c}`).to.deep.equal(
          hexAll(refConsistency(leaves.slice(0, c), 1 + (c >> 1))),
        );
      }
      expect(await b.findLeaf(leaves[c - 1])).to.equal(c - 1);
    }
  });

  it("after a restart proofs equal those before, and old sizes still prove after more appends", async () => {
    let s = await harness.open();
    await s.append(0, leaves.slice(0, 77));
    const before = {
      root: toHex(await s.root()),
      inc: hexAll(await s.inclusionProof(40, 77)),
      con: hexAll(await s.consistencyProof(33, 77)),
    };
    s = await harness.reopen!();
    expect(await s.size()).to.equal(77);
    expect(toHex(await s.root())).to.equal(before.root);
    expect(hexAll(await s.inclusionProof(40, 77))).to.deep.equal(before.inc);
    expect(hexAll(await s.consistencyProof(33, 77))).to.deep.equal(before.con);
    await s.append(77, leaves.slice(77, 200));
    s = await harness.reopen!();
    expect(toHex(await s.root(77))).to.equal(before.root);
    expect(hexAll(await s.inclusionProof(40, 77))).to.deep.equal(before.inc);
    expect(hexAll(await s.consistencyProof(33, 77))).to.deep.equal(before.con);
    expect(toHex(await s.root())).to.equal(toHex(refRoot(leaves.slice(0, 200))));
    expect(hexAll(await s.consistencyProof(77, 200))).to.deep.equal(
      hexAll(refConsistency(leaves.slice(0, 200), 77)),
    );
  });
}

export async function expectReject(
  f: () => Promise<unknown>,
  cls: new (...a: never[]) => Error,
): Promise<void> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${cls.name}`).to.be.instanceOf(cls);
}
