import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { streamedRoots, walkHeads } from "../../src/log/head-walk";
import { toHex } from "../../src/log/hex";
import { nodeHasher } from "../../src/log/node-hasher";
import { MemoryTree } from "../../src/log/tree";

describe("log/head-walk", () => {
  const leaves = Array.from({ length: 50 }, () => nodeHasher.hashLeaf(randomBytes(8)));
  const tree = new MemoryTree(nodeHasher);
  for (const l of leaves) tree.append(l);
  const head = (treeSize: number) => ({ treeSize, rootHash: toHex(tree.root(treeSize)) });
  const reads: [number, number][] = [];
  const read = async (from: number, n: number) => {
    reads.push([from, n]);
    return leaves.slice(from, from + n);
  };

  it("streams pages once and matches the in-memory roots at every size", async () => {
    reads.length = 0;
    const roots = streamedRoots(read, 40, 16);
    for (const size of [1, 7, 16, 17, 33, 40])
      expect(toHex((await roots.rootAt(size)) as Uint8Array)).to.equal(toHex(tree.root(size)));
    expect(reads).to.deep.equal([
      [0, 16],
      [16, 16],
      [32, 8],
    ]);
  });

  it("verifies heads, counts consistent pairs, and stops at the first bad one", async () => {
    const heads = [head(10), head(20), head(40)];
    const ok = await walkHeads(streamedRoots(read, 40, 16), heads, () => {});
    expect(ok).to.deep.equal({ verified: 3, consistent: 2, verifiedSize: 40 });

    const bad = [head(10), { treeSize: 20, rootHash: toHex(tree.root(21)) }, head(40)];
    const w = await walkHeads(streamedRoots(read, 40, 16), bad);
    expect(w).to.include({ verified: 1, verifiedSize: 10 });
    expect(w.stop).to.include({ reason: "root", prevSize: 10, recomputed: toHex(tree.root(20)) });

    const order = await walkHeads(streamedRoots(read, 40, 16), [head(20), head(20)]);
    expect(order.stop).to.include({ reason: "order", prevSize: 20 });

    const inconsistent = await walkHeads(streamedRoots(read, 40, 16), heads, (_, h) => {
      if (h.treeSize === 40) throw new Error("no");
    });
    expect(inconsistent).to.include({ verified: 2, consistent: 1 });
    expect(inconsistent.stop?.reason).to.equal("consistency");
  });

  it("names how many leaves exist when the stream ends early", async () => {
    const short = async (from: number, n: number) => leaves.slice(from, Math.min(from + n, 25));
    const w = await walkHeads(streamedRoots(short, 40, 16), [head(10), head(40)]);
    expect(w.stop).to.include({ reason: "behind", available: 25 });
  });
});
