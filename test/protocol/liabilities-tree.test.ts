import { expect } from "chai";
import crypto from "node:crypto";
import fc from "fast-check";
import vectors from "../vectors/liabilities-tree-v1.json";
import {
  BalanceOutOfRangeError,
  TreeHeightError,
  accountLeafSecrets,
  paddingLeafSecrets,
  buildLiabilitiesTree,
  buildSumTree,
  checkBalance,
  heightFor,
  liabilityLeafHash,
  liabilityNodeHash,
  shufflePositions,
  snapshotPrk,
  sumTreePath,
} from "../../src/protocol/liabilities-tree-v1";
import {
  assetBytes32,
  balanceProofFromTree,
  bytesToHex,
  dayNumberOf,
  dayOfNumber,
  verifyBalanceProofOffline,
} from "../../src/protocol/balance-proof-v1";
import { InvalidArgumentError } from "../../src/errors";

const hex = (h: string) => Uint8Array.from(Buffer.from(h.slice(2), "hex"));
const nodeSha = (d: Uint8Array) => new Uint8Array(crypto.createHash("sha256").update(d).digest());

/** An independent encoding of the spec's byte layouts with node:crypto (no code shared with src/protocol). */
function specLeaf(key: string, salt: string, balance: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(balance);
  return (
    "0x" +
    crypto
      .createHash("sha256")
      .update(Buffer.concat([Buffer.from([0]), hex(key), hex(salt), b]))
      .digest("hex")
  );
}
function u128(v: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(v >> 64n, 0);
  b.writeBigUInt64BE(v & ((1n << 64n) - 1n), 8);
  return b;
}
function specNode(l: string, ls: bigint, r: string, rs: bigint): string {
  return (
    "0x" +
    crypto
      .createHash("sha256")
      .update(Buffer.concat([Buffer.from([1]), hex(l), u128(ls), hex(r), u128(rs)]))
      .digest("hex")
  );
}

describe("liabilities tree v1: vectors", function () {
  it("leaf and node hashes match the vectors and an independent encoding of the spec", function () {
    for (const v of vectors.leafHashes) {
      expect(bytesToHex(liabilityLeafHash(hex(v.key), hex(v.salt), BigInt(v.balance)))).to.equal(v.want);
      expect(specLeaf(v.key, v.salt, BigInt(v.balance))).to.equal(v.want);
    }
    for (const v of vectors.nodeHashes) {
      const got = liabilityNodeHash(hex(v.leftHash), BigInt(v.leftSum), hex(v.rightHash), BigInt(v.rightSum));
      expect(bytesToHex(got)).to.equal(v.want);
      expect(specNode(v.leftHash, BigInt(v.leftSum), v.rightHash, BigInt(v.rightSum))).to.equal(v.want);
    }
  });

  it("rebuilds the vector snapshot: HKDF keys and salts (checked with node:crypto), positions, root and sum", function () {
    const s = vectors.snapshot;
    const prk = snapshotPrk(hex(s.masterSecret), hex(s.nonce));
    const asset32 = assetBytes32(s.asset);
    const built = buildLiabilitiesTree({
      prk,
      asset32,
      height: s.height,
      accounts: s.accounts.map((a) => ({ pseudonym: hex(a.pseudonym), balance: BigInt(a.balance) })),
    });
    expect(bytesToHex(built.tree.rootHash)).to.equal(s.want.rootHash);
    expect(built.tree.rootSum.toString()).to.equal(s.want.rootSum);
    expect(built.tree.rootSum).to.equal(s.accounts.reduce((t, a) => t + BigInt(a.balance), 0n));
    const sorted = s.accounts.slice().sort((a, b) => (a.pseudonym < b.pseudonym ? -1 : 1));
    for (const w of s.want.leaves) {
      const leaf = built.leafAt(w.position);
      expect([leaf.slot, bytesToHex(leaf.key), bytesToHex(leaf.salt), leaf.balance.toString()]).to.deep.equal(
        [w.slot, w.key, w.salt, w.balance],
      );
      expect(specLeaf(w.key, w.salt, BigInt(w.balance))).to.equal(w.hash);
      // HKDF-SHA256 (RFC 5869) as node:crypto computes it, from the spec's info strings.
      const padIndex = Buffer.alloc(4);
      padIndex.writeUInt32BE(Math.max(0, w.slot - sorted.length));
      const info =
        w.slot < sorted.length
          ? Buffer.concat([
              Buffer.from("custody-liabilities-v1/leaf"),
              asset32,
              hex(sorted[w.slot]!.pseudonym),
            ])
          : Buffer.concat([Buffer.from("custody-liabilities-v1/padding"), asset32, padIndex]);
      const okm = Buffer.from(crypto.hkdfSync("sha256", hex(s.masterSecret), hex(s.nonce), info, 64));
      expect([
        "0x" + okm.subarray(0, 32).toString("hex"),
        "0x" + okm.subarray(32).toString("hex"),
      ]).to.deep.equal([w.key, w.salt]);
      if (w.slot < sorted.length) expect(w.balance).to.equal(sorted[w.slot]!.balance);
      else expect(w.balance).to.equal("0");
    }
  });

  it("accepts every customer's proof in the vectors with every offline check passing", function () {
    for (const p of vectors.snapshot.proofs) {
      const { verdict } = verifyBalanceProofOffline(p);
      expect(verdict.ok, verdict.reason).to.equal(true);
      expect(verdict.checks.map((c) => c.name)).to.deep.equal([
        "format",
        "balanceRange",
        "leafHash",
        "pathLength",
        "siblingSums",
        "rootHash",
        "rootSum",
      ]);
      expect(verdict.checks.every((c) => c.ok)).to.equal(true);
    }
  });

  for (const r of vectors.rejections) {
    it(`rejects a forged proof: ${r.desc}`, function () {
      const { verdict } = verifyBalanceProofOffline(r.proof);
      expect(verdict.ok).to.equal(false);
      expect(verdict.failedCheck).to.equal(r.wantCheck);
    });
  }

  it("the forged-proof list covers every attack the issue names", function () {
    const descs = vectors.rejections.map((r) => r.desc).join("\n");
    for (const attack of [
      "negative sibling sum",
      "range",
      "does not add up",
      "changed balance",
      "changed salt",
      "wrong snapshot",
    ])
      expect(descs).to.contain(attack);
  });
});

describe("liabilities tree v1: properties", function () {
  const balance = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const ledger = fc
    .uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
      maxLength: 24,
      selector: (p) => Buffer.from(p).toString("hex"),
    })
    .chain((pseudonyms) =>
      fc.tuple(
        fc.constant(pseudonyms),
        fc.array(balance, { minLength: pseudonyms.length, maxLength: pseudonyms.length }),
        fc.integer({ min: 0, max: 2 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
      ),
    );

  it("finds each account's position by pseudonym as a map of lower-case hex would, and nothing else", function () {
    fc.assert(
      fc.property(
        ledger,
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        ([pseudonyms, balances, extra, nonce], other) => {
          const accounts = pseudonyms.map((p, i) => ({ pseudonym: p, balance: balances[i]! }));
          const height = heightFor(accounts.length) + extra;
          const built = buildLiabilitiesTree({
            prk: snapshotPrk(new Uint8Array(32).fill(7), nonce),
            asset32: assetBytes32("EUR"),
            height,
            accounts,
          });
          // The reference: every position whose slot is an account, keyed by that account's hex.
          const want = new Map<string, number>();
          built.slots.forEach((slot, pos) => {
            if (slot < accounts.length)
              want.set(Buffer.from(built.accounts[slot]!.pseudonym).toString("hex"), pos);
          });
          expect(built.positionOf.size).to.equal(want.size);
          expect([...built.positionOf.values()]).to.deep.equal([...want.values()].sort((a, b) => a - b));
          for (const [key, pos] of want) {
            expect(built.positionOf.get(key)).to.equal(pos);
            if (/[a-f]/.test(key)) expect(built.positionOf.get(key.toUpperCase())).to.equal(undefined);
            expect(built.positionOf.get(`0x${key}`)).to.equal(undefined);
            expect(built.positionOf.get(key.slice(2))).to.equal(undefined);
          }
          const otherHex = Buffer.from(other).toString("hex");
          expect(built.positionOf.get(otherHex)).to.equal(want.get(otherHex));
          expect(built.positionOf.get("zz".repeat(32))).to.equal(undefined);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("root sum = total customer liabilities; every customer's proof verifies; positions are a permutation", function () {
    fc.assert(
      fc.property(ledger, ([pseudonyms, balances, extra, nonce]) => {
        const accounts = pseudonyms.map((p, i) => ({ pseudonym: p, balance: balances[i]! }));
        const height = heightFor(accounts.length) + extra;
        const prk = snapshotPrk(new Uint8Array(32).fill(7), nonce);
        const built = buildLiabilitiesTree({ prk, asset32: assetBytes32("EUR"), height, accounts });
        expect(built.tree.rootSum).to.equal(balances.reduce((t, b) => t + b, 0n));
        expect(new Set(built.slots).size).to.equal(2 ** height);
        expect(built.positionOf.size).to.equal(accounts.length);
        for (const a of accounts) {
          const pos = built.positionOf.get(Buffer.from(a.pseudonym).toString("hex"))!;
          const leaf = built.leafAt(pos);
          expect(leaf.balance).to.equal(a.balance);
          const doc = balanceProofFromTree({
            tree: built.tree,
            position: pos,
            key: leaf.key,
            salt: leaf.salt,
            balance: leaf.balance,
            account: { id: "x", pseudonym: bytesToHex(a.pseudonym) },
            snapshot: { asset: "EUR", day: "2026-12-01", logSize: 1 },
            chain: { chainId: 1, solvencyContract: `0x${"11".repeat(20)}` },
          });
          const { verdict } = verifyBalanceProofOffline(doc);
          expect(verdict.ok, verdict.reason).to.equal(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("any change to one sibling's hash or sum, or to the balance, is rejected", function () {
    fc.assert(
      fc.property(
        ledger.filter(([p]) => p.length >= 2),
        fc.nat(),
        fc.nat(),
        fc.bigInt({ min: 1n, max: 1n << 70n }),
        fc.constantFrom("hash", "sum+", "sum-", "balance"),
        ([pseudonyms, balances, , nonce], who, level, delta, what) => {
          const accounts = pseudonyms.map((p, i) => ({ pseudonym: p, balance: balances[i]! }));
          const height = heightFor(accounts.length);
          const built = buildLiabilitiesTree({
            prk: snapshotPrk(new Uint8Array(32).fill(9), nonce),
            asset32: assetBytes32("EUR"),
            height,
            accounts,
          });
          const pos = built.positionOf.get(
            Buffer.from(accounts[who % accounts.length]!.pseudonym).toString("hex"),
          )!;
          const leaf = built.leafAt(pos);
          const doc = balanceProofFromTree({
            tree: built.tree,
            position: pos,
            key: leaf.key,
            salt: leaf.salt,
            balance: leaf.balance,
            account: { id: "x", pseudonym: bytesToHex(accounts[0]!.pseudonym) },
            snapshot: { asset: "EUR", day: "2026-12-01", logSize: 1 },
            chain: { chainId: 1, solvencyContract: `0x${"11".repeat(20)}` },
          });
          const l = level % height;
          if (what === "hash") doc.path[l]!.hash = bytesToHex(nodeSha(hex(doc.path[l]!.hash)));
          else if (what === "sum+") doc.path[l]!.sum = (BigInt(doc.path[l]!.sum) + delta).toString();
          else if (what === "sum-") doc.path[l]!.sum = (BigInt(doc.path[l]!.sum) - delta).toString();
          else {
            doc.leaf.balance = (BigInt(doc.leaf.balance) + delta).toString();
            const b = BigInt(doc.leaf.balance);
            if (b < 1n << 64n) doc.leaf.hash = bytesToHex(liabilityLeafHash(leaf.key, leaf.salt, b));
          }
          expect(verifyBalanceProofOffline(doc).verdict.ok).to.equal(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("the in-place builder gives the bytes of the per-leaf HKDF, leaf and node functions (sums past 2^64 too)", function () {
    fc.assert(
      fc.property(ledger, fc.boolean(), ([pseudonyms, balances, extra, nonce], huge) => {
        const accounts = pseudonyms.map((p, i) => ({
          pseudonym: p,
          balance: huge ? (1n << 64n) - 1n - BigInt(i) : balances[i]!,
        }));
        const height = heightFor(accounts.length) + extra;
        const prk = snapshotPrk(new Uint8Array(32).fill(3), nonce);
        const asset32 = assetBytes32("EUR");
        const built = buildLiabilitiesTree({ prk, asset32, height, accounts });
        const n = built.accounts.length;
        let level = Array.from(built.slots, (_, pos) => built.leafAt(pos)).map((leaf) => {
          const want =
            leaf.slot < n
              ? accountLeafSecrets(prk, asset32, built.accounts[leaf.slot]!.pseudonym)
              : paddingLeafSecrets(prk, asset32, leaf.slot - n);
          expect([bytesToHex(leaf.key), bytesToHex(leaf.salt)]).to.deep.equal([
            bytesToHex(want.key),
            bytesToHex(want.salt),
          ]);
          return { hash: liabilityLeafHash(want.key, want.salt, leaf.balance), sum: leaf.balance };
        });
        for (let l = 0; l < height; l++) {
          // Each node as the level holds it (and proofs copy it): hash ‖ sum, 16 bytes big-endian.
          const nodes = built.tree.levels[l]!;
          expect(nodes.length).to.equal(48 * level.length);
          const view = new DataView(nodes.buffer, nodes.byteOffset);
          level.forEach((x, i) => {
            expect(bytesToHex(nodes.subarray(48 * i, 48 * i + 32))).to.equal(bytesToHex(x.hash));
            const encoded = (view.getBigUint64(48 * i + 32) << 64n) | view.getBigUint64(48 * i + 40);
            expect(encoded).to.equal(x.sum);
          });
          level = Array.from({ length: level.length / 2 }, (_, i) => {
            const [a, b] = [level[2 * i]!, level[2 * i + 1]!];
            return { hash: liabilityNodeHash(a.hash, a.sum, b.hash, b.sum), sum: a.sum + b.sum };
          });
        }
        expect(bytesToHex(built.tree.rootHash)).to.equal(bytesToHex(level[0]!.hash));
        expect(built.tree.rootSum).to.equal(level[0]!.sum);
      }),
      { numRuns: 40 },
    );
  });

  it("orders accounts bytewise by pseudonym, also when long prefixes are shared", function () {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
          maxLength: 40,
          selector: (p) => Buffer.from(p).toString("hex"),
        }),
        fc.integer({ min: 0, max: 31 }),
        (raw, shared) => {
          // The first `shared` bytes equal for all: the order is decided further in.
          const seen = new Set<string>();
          const pseudonyms = raw
            .map((p) => Uint8Array.from(p, (b, i) => (i < shared ? 0xab : b)))
            .filter(
              (p) => !seen.has(Buffer.from(p).toString("hex")) && seen.add(Buffer.from(p).toString("hex")),
            );
          const accounts = pseudonyms.map((p, i) => ({ pseudonym: p, balance: BigInt(i) }));
          const built = buildLiabilitiesTree({
            prk: snapshotPrk(new Uint8Array(32).fill(1), new Uint8Array(32)),
            asset32: assetBytes32("EUR"),
            height: heightFor(accounts.length),
            accounts,
          });
          const want = pseudonyms.map((p) => Buffer.from(p).toString("hex")).sort();
          expect(built.accounts.map((a) => Buffer.from(a.pseudonym).toString("hex"))).to.deep.equal(want);
        },
      ),
    );
  });

  it("rejects balances outside 0 ≤ b < 2^64 and repeated accounts, and changes nothing", function () {
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ max: -1n }), fc.bigInt({ min: 1n << 64n })), (b) => {
        expect(() => checkBalance(b)).to.throw(BalanceOutOfRangeError);
        expect(() =>
          buildLiabilitiesTree({
            prk: snapshotPrk(new Uint8Array(32), new Uint8Array(32)),
            asset32: assetBytes32("EUR"),
            height: 1,
            accounts: [{ pseudonym: new Uint8Array(32), balance: b }],
          }),
        ).to.throw(BalanceOutOfRangeError);
      }),
    );
    const p = new Uint8Array(32).fill(1);
    expect(() =>
      buildLiabilitiesTree({
        prk: snapshotPrk(new Uint8Array(32), new Uint8Array(32)),
        asset32: assetBytes32("EUR"),
        height: 2,
        accounts: [
          { pseudonym: p, balance: 1n },
          { pseudonym: p.slice(), balance: 2n },
        ],
      }),
    ).to.throw(InvalidArgumentError, /twice/);
    expect(() =>
      buildLiabilitiesTree({
        prk: snapshotPrk(new Uint8Array(32), new Uint8Array(32)),
        asset32: assetBytes32("EUR"),
        height: 1,
        accounts: [1, 2, 3].map((i) => ({ pseudonym: new Uint8Array(32).fill(i), balance: 1n })),
      }),
    ).to.throw(TreeHeightError);
    expect(() => heightFor(2 ** 33)).to.throw(TreeHeightError);
  });

  it("at the largest height every sum stays within its 16-byte encoding", function () {
    // 2^32 leaves of 2^64 - 1: the root sum is below 2^96, far inside 2^128.
    const worst = ((1n << 64n) - 1n) << 32n;
    expect(worst < 1n << 96n).to.equal(true);
    const tree = buildSumTree(new Uint8Array(64), [(1n << 64n) - 1n, (1n << 64n) - 1n], 1);
    expect(tree.rootSum).to.equal((1n << 65n) - 2n);
    expect(sumTreePath(tree, 1)[0]!.sum).to.equal((1n << 64n) - 1n);
  });

  it("shuffles differently per snapshot nonce and reproducibly for the same one", function () {
    const a = shufflePositions(
      snapshotPrk(new Uint8Array(32), new Uint8Array(32).fill(1)),
      assetBytes32("EUR"),
      64,
    );
    const b = shufflePositions(
      snapshotPrk(new Uint8Array(32), new Uint8Array(32).fill(1)),
      assetBytes32("EUR"),
      64,
    );
    const c = shufflePositions(
      snapshotPrk(new Uint8Array(32), new Uint8Array(32).fill(2)),
      assetBytes32("EUR"),
      64,
    );
    expect(Array.from(a)).to.deep.equal(Array.from(b));
    expect(Array.from(a)).to.not.deep.equal(Array.from(c));
  });

  it("converts business days to the contract's day numbers", function () {
    expect(dayNumberOf("1970-01-01")).to.equal(0);
    expect(dayNumberOf("2026-12-01")).to.equal(20_788);
    expect(dayOfNumber(20_788)).to.equal("2026-12-01");
    expect(() => dayNumberOf("2026-02-30")).to.throw(InvalidArgumentError);
  });
});
