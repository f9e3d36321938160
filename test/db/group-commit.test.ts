import { expect } from "chai";
import { GroupCommitQueue } from "../../src/db/group-commit";

/** A queue whose flushes stay open until the test ends them, recording each group. */
function harness(opts: {
  maxInFlight: number;
  maxGroup?: number;
  splitMin?: number;
  conflicts?: (u: number) => Iterable<unknown>;
}) {
  const groups: number[][] = [];
  const open: (() => void)[] = [];
  const q = new GroupCommitQueue<number>(
    (units) => {
      groups.push(units);
      return new Promise<void>((r) => open.push(r));
    },
    {
      maxInFlight: opts.maxInFlight,
      maxGroup: opts.maxGroup ?? Infinity,
      splitMin: opts.splitMin,
      conflicts: opts.conflicts,
    },
  );
  const turn = () => new Promise((r) => setImmediate(r));
  return { q, groups, open, turn };
}

describe("group commit queue", () => {
  it("without splitMin, units waiting together form one group, in arrival order", async () => {
    const h = harness({ maxInFlight: 2 });
    for (let i = 0; i < 64; i++) h.q.push(i);
    await h.turn();
    expect(h.groups).to.deep.equal([Array.from({ length: 64 }, (_, i) => i)]);
  });

  it("with splitMin, shares waiting units evenly among free slots, earlier units first", async () => {
    const h = harness({ maxInFlight: 2, splitMin: 8 });
    for (let i = 0; i < 64; i++) h.q.push(i);
    await h.turn();
    expect(h.groups.map((g) => g.length)).to.deep.equal([32, 32]);
    expect(h.groups.flat()).to.deep.equal(Array.from({ length: 64 }, (_, i) => i));
  });

  it("does not split below splitMin units per group, nor into slots that are busy", async () => {
    const h = harness({ maxInFlight: 2, splitMin: 8 });
    for (let i = 0; i < 15; i++) h.q.push(i);
    await h.turn();
    expect(h.groups.map((g) => g.length)).to.deep.equal([15]); // 15 < 2 × 8
    for (let i = 15; i < 47; i++) h.q.push(i);
    await h.turn();
    // One slot free: the 32 waiting go together.
    expect(h.groups.map((g) => g.length)).to.deep.equal([15, 32]);
    for (let i = 47; i < 60; i++) h.q.push(i);
    h.open.shift()!();
    await h.turn();
    await h.turn();
    // The first group ended: the 13 waiting fill its slot as one group.
    expect(h.groups.map((g) => g.length)).to.deep.equal([15, 32, 13]);
    expect(h.groups.flat()).to.deep.equal(Array.from({ length: 60 }, (_, i) => i));
  });

  it("with splitMin, fewer units than that wait beside a group in flight and then go as one group", async () => {
    const h = harness({ maxInFlight: 2, splitMin: 8 });
    for (let i = 0; i < 3; i++) h.q.push(i);
    await h.turn();
    expect(h.groups).to.deep.equal([[0, 1, 2]]);
    for (let i = 3; i < 10; i++) h.q.push(i);
    await h.turn();
    // 7 waiting beside a group in flight: a second group of them would cost more than it overlaps.
    expect(h.groups).to.have.length(1);
    h.q.push(10);
    await h.turn();
    // The 8th starts a group beside the first.
    expect(h.groups).to.deep.equal([
      [0, 1, 2],
      [3, 4, 5, 6, 7, 8, 9, 10],
    ]);
    h.q.push(11);
    h.q.push(12);
    await h.turn();
    expect(h.groups).to.have.length(2);
    h.open.shift()!();
    await h.turn();
    await h.turn();
    // A group ended while one is still in flight: 2 < 8 still wait for the other.
    expect(h.groups).to.have.length(2);
    h.open.shift()!();
    await h.turn();
    await h.turn();
    // None in flight: what waits goes, however few.
    expect(h.groups[2]).to.deep.equal([11, 12]);
  });

  it("without splitMin, a unit starts a group in any free slot at once", async () => {
    const h = harness({ maxInFlight: 2 });
    h.q.push(0);
    await h.turn();
    h.q.push(1);
    await h.turn();
    expect(h.groups).to.deep.equal([[0], [1]]);
  });

  it("never exceeds maxGroup when splitting", async () => {
    const h = harness({ maxInFlight: 2, maxGroup: 10, splitMin: 4 });
    for (let i = 0; i < 50; i++) h.q.push(i);
    await h.turn();
    expect(h.groups.map((g) => g.length)).to.deep.equal([10, 10]);
    while (h.open.length) {
      h.open.shift()!();
      await h.turn();
      await h.turn();
    }
    expect(h.groups.flat()).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    expect(Math.max(...h.groups.map((g) => g.length))).to.equal(10);
  });

  it("keeps units that share a key in one group, in arrival order; the two groups share none", async () => {
    // Unit i locks rows i and i + 1000; units 3, 20, 33 and 47 also lock row "x", 5 and 40 row "y".
    const extra: Record<number, string> = { 3: "x", 20: "x", 33: "x", 47: "x", 5: "y", 40: "y" };
    const keys = (u: number) => [u, u + 1000, ...(extra[u] ? [extra[u]] : [])];
    const h = harness({ maxInFlight: 2, splitMin: 8, conflicts: keys });
    for (let i = 0; i < 48; i++) h.q.push(i);
    await h.turn();
    expect(h.groups).to.have.length(2);
    const [a, b] = h.groups;
    expect(a.length + b.length).to.equal(48);
    for (const g of h.groups) expect(g).to.deep.equal([...g].sort((x, y) => x - y));
    const keysOf = (g: number[]) => new Set(g.flatMap(keys));
    const ka = keysOf(a);
    expect([...keysOf(b)].filter((k) => ka.has(k))).to.deep.equal([]);
    const sameGroup = (us: number[]) => h.groups.some((g) => us.every((u) => g.includes(u)));
    expect(sameGroup([3, 20, 33, 47])).to.equal(true);
    expect(sameGroup([5, 40])).to.equal(true);
  });

  it("does not split units that all share keys: they form one group", async () => {
    // A chain: unit i shares a row with unit i + 1.
    const h = harness({ maxInFlight: 2, splitMin: 8, conflicts: (u) => [u, u + 1] });
    for (let i = 0; i < 40; i++) h.q.push(i);
    await h.turn();
    expect(h.groups).to.deep.equal([Array.from({ length: 40 }, (_, i) => i)]);
  });
});
