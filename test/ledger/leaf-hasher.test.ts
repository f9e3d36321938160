import { expect } from "chai";
import { hash, randomFillSync } from "node:crypto";
import { PARALLEL_MIN_LEAVES, startLeafHashes } from "../../src/ledger/leaf-hasher";

/** n leaves of 0x00 ‖ 416 random bytes, cut from shared slabs of `perSlab` leaves (or plain memory). */
function leaves(n: number, perSlab: number, shared = true): Buffer[] {
  const out: Buffer[] = [];
  let slab: Buffer = Buffer.alloc(0);
  for (let i = 0; i < n; i++) {
    if (i % perSlab === 0)
      slab = shared ? Buffer.from(new SharedArrayBuffer(perSlab * 417)) : Buffer.alloc(perSlab * 417);
    const l = slab.subarray((i % perSlab) * 417, (i % perSlab) * 417 + 417);
    randomFillSync(l, 1);
    out.push(l);
  }
  return out;
}

const expected = (ls: Buffer[]) => ls.map((l) => hash("sha256", l, "hex"));

describe("ledger: leaf hashes on two threads", () => {
  for (const [n, perSlab] of [
    [PARALLEL_MIN_LEAVES - 1, 1024],
    [PARALLEL_MIN_LEAVES, 1024],
    [8000, 1024],
    [5001, 333],
  ] as const) {
    it(`${n} leaves in slabs of ${perSlab}: the same hashes as one thread, in order`, () => {
      const ls = leaves(n, perSlab);
      const got = startLeafHashes(ls).finish();
      expect(got.map((h) => h.toString("hex"))).to.deep.equal(expected(ls));
    });
  }

  it("the helper thread takes chunks while the caller is busy elsewhere", async () => {
    startLeafHashes(leaves(PARALLEL_MIN_LEAVES, 1024)).finish(); // the helper is started and warm
    await new Promise((r) => setTimeout(r, 50));
    const ls = leaves(8000, 1024);
    const job = startLeafHashes(ls);
    const until = Date.now() + 100; // the caller writes other rows meanwhile
    while (Date.now() < until) {
      /* busy */
    }
    const got = job.finish();
    expect(job.helperChunks).to.be.greaterThan(0);
    expect(got.map((h) => h.toString("hex"))).to.deep.equal(expected(ls));
  });

  it("leaves in ordinary memory are hashed on the calling thread", () => {
    const ls = leaves(2000, 500, false);
    expect(
      startLeafHashes(ls)
        .finish()
        .map((h) => h.toString("hex")),
    ).to.deep.equal(expected(ls));
  });

  it("back-to-back jobs, one abandoned unfinished, do not mix their results", () => {
    const a = leaves(4096, 1024);
    startLeafHashes(a); // never finished: its writes land in its own output only
    const b = leaves(4096, 1024);
    const c = leaves(3000, 1024);
    const jb = startLeafHashes(b);
    const jc = startLeafHashes(c);
    expect(jc.finish().map((h) => h.toString("hex"))).to.deep.equal(expected(c));
    expect(jb.finish().map((h) => h.toString("hex"))).to.deep.equal(expected(b));
  });
});
