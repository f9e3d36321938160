import { expect } from "chai";
import fc from "fast-check";
import { sha256 } from "@noble/hashes/sha2";
import {
  BalanceOutOfRangeError,
  SumPathWriter,
  addSumsInto,
  buildSumTree,
  buildSumTreeFromLeaves,
  sumTreeNode,
  sumTreePath,
} from "../../src/protocol/liabilities-tree-v1";
import { FixedLengthSha256, HmacSha256, sha256PrefixedInto } from "../../src/protocol/sha256";
import { hmac } from "@noble/hashes/hmac";
import { InvariantError } from "../../src/errors";

/**
 * The fast paths of the sum tree (nodes hashed where they lie in a level buffer, sums added in
 * 32-bit words, paths copied as words) against a plain reference: bigint sums and @noble/hashes
 * over each node's 97 input bytes, written out from the spec.
 */

const MAX64 = (1n << 64n) - 1n;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function u128(v: bigint): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

interface RefNode {
  hash: Uint8Array;
  sum: bigint;
}

/** Every level of the tree, from the leaves up, with bigint sums and one SHA-256 call per node. */
function referenceLevels(leaves: RefNode[]): RefNode[][] {
  const levels = [leaves];
  while (levels[levels.length - 1]!.length > 1) {
    const below = levels[levels.length - 1]!;
    const above: RefNode[] = [];
    for (let i = 0; i < below.length; i += 2) {
      const [l, r] = [below[i]!, below[i + 1]!];
      const input = new Uint8Array(97);
      input[0] = 1;
      input.set(l.hash, 1);
      input.set(u128(l.sum), 33);
      input.set(r.hash, 49);
      input.set(u128(r.sum), 81);
      above.push({ hash: sha256(input), sum: l.sum + r.sum });
    }
    levels.push(above);
  }
  return levels;
}

/** Balances that exercise every carry: near 0, 2^32 and 2^64, and anything below 2^64. */
const balance = fc.oneof(
  fc.constantFrom(0n, 1n, (1n << 32n) - 1n, 1n << 32n, (1n << 32n) + 1n, MAX64, MAX64 - 1n, 1n << 63n),
  fc.bigInt({ min: 0n, max: MAX64 }),
  fc.bigInt({ min: MAX64 - (1n << 33n), max: MAX64 }),
);

const treeCase = fc.integer({ min: 0, max: 7 }).chain((height) =>
  fc.tuple(
    fc.constant(height),
    fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
      minLength: 2 ** height,
      maxLength: 2 ** height,
    }),
    fc.array(balance, { minLength: 2 ** height, maxLength: 2 ** height }),
  ),
);

describe("liabilities sum tree: fast paths against a bigint + @noble/hashes reference", function () {
  it("SHA-256 compression, fixed-length, HMAC and prefixed two-block hashing give @noble/hashes' digests", function () {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 9 }),
        (data, prefix, pad) => {
          const fixed = new FixedLengthSha256(data.length);
          fixed.input.set(data);
          const out = new Uint8Array(32);
          fixed.digestInto(out, 0);
          expect(hex(out)).to.equal(hex(sha256(data)));
          const key = data.subarray(0, 64);
          const msg = new Uint8Array(data.length + 72);
          msg.set(data);
          new HmacSha256(key).hmacInto(msg, data.length, out, 0);
          expect(hex(out)).to.equal(hex(hmac(sha256, key, data)));
          if (data.length >= 63 && data.length <= 118) {
            // At any offset of a larger buffer, and written at an offset.
            const src = new Uint8Array(pad + data.length + 5).fill(0xee);
            src.set(data, pad);
            const dst = new Uint8Array(pad + 40);
            sha256PrefixedInto(prefix, src, pad, data.length, dst, pad);
            expect(hex(dst.subarray(pad, pad + 32))).to.equal(hex(sha256(Uint8Array.of(prefix, ...data))));
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(() => sha256PrefixedInto(1, new Uint8Array(200), 0, 119, new Uint8Array(32), 0)).to.throw(
      InvariantError,
      /two-block message length out of range: 119/,
    );
  });

  it("word-level sum addition equals bigint addition up to the largest sums a height-32 tree holds", function () {
    // Children of a level-32 node are each below 2^95: their sum is below 2^96.
    const below95 = fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 95n) - 1n }),
      fc.constantFrom(
        0n,
        MAX64,
        1n << 64n,
        (1n << 64n) + 1n,
        (1n << 95n) - 1n,
        (1n << 96n) - (1n << 95n) - 1n,
        ((1n << 64n) - 1n) << 31n,
        (1n << 32n) - 1n,
        ((1n << 64n) - 1n) * ((1n << 31n) - 1n),
      ),
      fc.bigInt({ min: (1n << 95n) - (1n << 40n), max: (1n << 95n) - 1n }),
    );
    fc.assert(
      fc.property(below95, below95, fc.integer({ min: 0, max: 3 }), (a, b, shift) => {
        const buf = new Uint8Array(64);
        buf.set(u128(a), 0);
        buf.set(u128(b), 16 + shift);
        const out = new Uint8Array(40).fill(0xaa);
        addSumsInto(buf, 0, 16 + shift, out, 3 + shift);
        expect(hex(out.subarray(3 + shift, 19 + shift))).to.equal(hex(u128(a + b)));
        expect(out[2 + shift]).to.equal(0xaa);
        expect(out[19 + shift]).to.equal(0xaa);
      }),
      { numRuns: 1000 },
    );
    // The largest height-32 root: 2^32 leaves of 2^64 - 1.
    const half = MAX64 << 31n;
    const buf = new Uint8Array(32);
    buf.set(u128(half), 0);
    buf.set(u128(half), 16);
    const out = new Uint8Array(16);
    addSumsInto(buf, 0, 16, out, 0);
    expect(hex(out)).to.equal(hex(u128(MAX64 << 32n)));
    // A sum of 2^96 cannot occur in a valid tree: refused, not wrapped.
    buf.set(u128(1n << 95n), 0);
    buf.set(u128(1n << 95n), 16);
    expect(() => addSumsInto(buf, 0, 16, out, 0)).to.throw(InvariantError);
  });

  it("every node of every level, the root, every path and every written path match the reference", function () {
    fc.assert(
      fc.property(treeCase, fc.integer({ min: 0, max: 7 }), ([height, hashes, balances], offset) => {
        const leafHashes = new Uint8Array(32 * hashes.length);
        hashes.forEach((h, i) => leafHashes.set(h, 32 * i));
        const tree = buildSumTree(leafHashes, balances, height);
        const ref = referenceLevels(hashes.map((hash, i) => ({ hash, sum: balances[i]! })));
        expect(tree.levels.length).to.equal(height + 1);
        for (let l = 0; l <= height; l++)
          ref[l]!.forEach((node, i) => {
            const got = sumTreeNode(tree, l, i);
            expect(hex(got.hash)).to.equal(hex(node.hash));
            expect(got.sum).to.equal(node.sum);
            expect(hex(tree.levels[l]!.subarray(48 * i + 32, 48 * i + 48))).to.equal(hex(u128(node.sum)));
          });
        expect(hex(tree.rootHash)).to.equal(hex(ref[height]![0]!.hash));
        expect(tree.rootSum).to.equal(ref[height]![0]!.sum);
        const writer = new SumPathWriter(tree);
        expect(writer.pathBytes).to.equal(48 * height);
        // Aligned (offset % 4 === 0) and unaligned offsets take different copies.
        const out = new Uint8Array(offset + writer.pathBytes + 3).fill(0x5a);
        for (let index = 0; index < 2 ** height; index++) {
          const path = sumTreePath(tree, index);
          writer.write(index, out, offset);
          let i = index;
          for (let l = 0; l < height; l++, i >>= 1) {
            const sib = ref[l]![i ^ 1]!;
            expect(hex(path[l]!.hash)).to.equal(hex(sib.hash));
            expect(path[l]!.sum).to.equal(sib.sum);
            const at = offset + 48 * l;
            expect(hex(out.subarray(at, at + 48))).to.equal(hex(sib.hash) + hex(u128(sib.sum)));
          }
          expect(hex(out.subarray(0, offset))).to.equal("5a".repeat(offset));
          expect(hex(out.subarray(offset + writer.pathBytes))).to.equal("5a5a5a");
        }
      }),
      { numRuns: 120 },
    );
  });

  it("a height-14 tree of balances 2^64 - 1 carries into the third word and matches the reference", function () {
    const height = 14;
    const n = 2 ** height;
    const hashes = Array.from({ length: n }, (_, i) => sha256(Uint8Array.of(i >> 8, i & 0xff)));
    const balances = Array.from({ length: n }, (_, i) => MAX64 - BigInt(i % 3));
    const leafHashes = new Uint8Array(32 * n);
    hashes.forEach((h, i) => leafHashes.set(h, 32 * i));
    const tree = buildSumTree(leafHashes, balances, height);
    const ref = referenceLevels(hashes.map((hash, i) => ({ hash, sum: balances[i]! })));
    expect(tree.rootSum).to.equal(ref[height]![0]!.sum);
    expect(tree.rootSum > 1n << 77n).to.equal(true);
    expect(hex(tree.rootHash)).to.equal(hex(ref[height]![0]!.hash));
    for (const l of [1, 7, 13]) {
      const got = sumTreeNode(tree, l, 1);
      expect([hex(got.hash), got.sum]).to.deep.equal([hex(ref[l]![1]!.hash), ref[l]![1]!.sum]);
    }
  });

  it("refuses leaves whose sum is 2^64 or more, and misshapen inputs", function () {
    const leaves = new Uint8Array(2 * 48);
    leaves[48 + 39] = 1; // second leaf's sum: 2^64
    expect(() => buildSumTreeFromLeaves(leaves, 1)).to.throw(BalanceOutOfRangeError);
    leaves[48 + 39] = 0;
    leaves[48 + 32] = 1; // 2^120
    expect(() => buildSumTreeFromLeaves(leaves, 1)).to.throw(BalanceOutOfRangeError);
    expect(() => buildSumTreeFromLeaves(new Uint8Array(48 * 3), 1)).to.throw(/2\^height leaves/);
    expect(() => buildSumTree(new Uint8Array(64), [1n, 1n << 64n], 1)).to.throw(BalanceOutOfRangeError);
    expect(() => buildSumTree(new Uint8Array(64), [1n, -1n], 1)).to.throw(BalanceOutOfRangeError);
    const tree = buildSumTree(new Uint8Array(64), [1n, 2n], 1);
    const writer = new SumPathWriter(tree);
    expect(() => writer.write(2, new Uint8Array(48), 0)).to.throw(/out of range/);
    expect(() => writer.write(0, new Uint8Array(48), 1)).to.throw(/does not fit/);
  });

  it("an unaligned leaf buffer is copied, not refused, and gives the same tree", function () {
    const backing = new Uint8Array(1 + 4 * 48);
    const leaves = backing.subarray(1);
    for (let i = 0; i < 4; i++) {
      leaves.fill(i + 1, 48 * i, 48 * i + 32);
      leaves[48 * i + 47] = i;
    }
    const a = buildSumTreeFromLeaves(leaves, 2);
    const b = buildSumTreeFromLeaves(leaves.slice(), 2);
    expect(hex(a.rootHash)).to.equal(hex(b.rootHash));
    expect(a.rootSum).to.equal(6n);
  });
});
