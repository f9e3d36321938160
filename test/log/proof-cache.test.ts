import { expect } from "chai";
import fc from "fast-check";
import { LogBehindError } from "../../src/log/errors";
import { ProofCache } from "../../src/log/proof-cache";
import { refInclusionPath, refLeafHash, refRoot } from "../support/rfc9162";

/** The cache must give byte-identical proofs and roots to the RFC 9162 definitions, for every size it covers. */
describe("log: proof cache (upper tree levels in memory)", () => {
  const leaves = Array.from({ length: 300 }, (_, i) => refLeafHash(Buffer.from(`leaf ${i}`)));
  const source = {
    reads: 0,
    async leafHashes(from: number, limit: number) {
      this.reads++;
      return leaves.slice(from, from + limit).map((b) => new Uint8Array(b));
    },
  };

  it("matches PATH(m, D[n]) and MTH(D[n]) for random sizes, indices and low-level counts", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 64 }),
        async (low, size, seed, pageSize) => {
          const cache = new ProofCache(source, { lowLevels: low, pageSize });
          expect(cache.covers(size)).to.equal(size < 2 ** low);
          await cache.extendTo(size);
          expect(cache.covers(size)).to.equal(true);
          // Several indices against one cache: shared right-edge hashes must stay exact.
          for (const index of [seed % size, (seed * 7 + 3) % size, size - 1, 0]) {
            const proof = await cache.inclusionProof(index, size);
            expect(proof.map((h) => Buffer.from(h).toString("hex"))).to.deep.equal(
              refInclusionPath(index, leaves.slice(0, size)).map((h) => h.toString("hex")),
            );
          }
          expect(Buffer.from(await cache.root(size)).toString("hex")).to.equal(
            refRoot(leaves.slice(0, size)).toString("hex"),
          );
          // Smaller sizes stay exact after growing.
          const smaller = 1 + (seed % size);
          expect(Buffer.from(await cache.root(smaller)).toString("hex")).to.equal(
            refRoot(leaves.slice(0, smaller)).toString("hex"),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("grows incrementally and shares one extension between concurrent callers", async () => {
    const cache = new ProofCache(source, { lowLevels: 3, pageSize: 8 });
    await cache.extendTo(100);
    const before = source.reads;
    await Promise.all([cache.extendTo(200), cache.extendTo(200), cache.extendTo(150)]);
    // 96..200 in pages of 8 leaves: 13 reads, not 3 × 13.
    expect(source.reads - before).to.equal(13);
    const proof = await cache.inclusionProof(5, 200);
    expect(proof.map((h) => Buffer.from(h).toString("hex"))).to.deep.equal(
      refInclusionPath(5, leaves.slice(0, 200)).map((h) => h.toString("hex")),
    );
  });

  it("finds leaf hashes in memory when every level is kept (the default for logs that fit the budget)", async () => {
    const cache = new ProofCache(source, { pageSize: 7 });
    expect(cache.covers(1)).to.equal(false);
    await cache.extendTo(250);
    expect(cache.lowLevels).to.equal(0);
    for (const i of [0, 1, 77, 249]) expect(cache.findLeaf(leaves[i])).to.equal(i);
    expect(cache.findLeaf(leaves[250])).to.equal(undefined);
    expect(cache.findLeaf(refLeafHash(Buffer.from("not a leaf")))).to.equal(undefined);
    // Same 8-byte prefix, different hash: not a match.
    const twin = Buffer.from(leaves[77]);
    twin[31] ^= 1;
    expect(cache.findLeaf(twin)).to.equal(undefined);
    const small = new ProofCache(source, { memoryBudgetBytes: 32 * 300 });
    await small.extendTo(300);
    expect(small.lowLevels).to.equal(1);
    expect(small.findLeaf(leaves[3])).to.equal(undefined);
  });

  it("refuses to extend past the leaves the source has", async () => {
    const cache = new ProofCache(source, { lowLevels: 2 });
    let err: unknown;
    await cache.extendTo(400).catch((e) => (err = e));
    expect(err).to.be.instanceOf(LogBehindError);
    expect((err as LogBehindError).size).to.be.below(400);
  });
});
