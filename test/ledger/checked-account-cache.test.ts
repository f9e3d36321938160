import { expect } from "chai";
import { CheckedAccountCache } from "../../src/ledger/checked-account-cache";
import type { AccountRow } from "../../src/ledger/store";

function row(id: string, debitsPosted = 0n): AccountRow {
  return {
    id,
    pseudonym: "0x00",
    type: "customer",
    asset: "EUR",
    scale: 2,
    status: "active",
    limits: undefined,
    metadata: null,
    debitsPosted,
    creditsPosted: 0n,
    debitsPending: 0n,
    creditsPending: 0n,
    createdAt: 0,
    sequence: 0,
  } as AccountRow;
}

/** The bookkeeping of the PostgreSQL account cache; its checks are in checked-account-cache.postgres.test.ts. */
describe("CheckedAccountCache", () => {
  it("answers only when every account is cached and none is used by an unfinished transaction", () => {
    const c = new CheckedAccountCache(10);
    c.committed([row("a"), row("b")]);
    expect(c.lookup(["a", "b"])!.map((r) => r.id)).to.deep.equal(["a", "b"]);
    expect(c.lookup(["a", "x"])).to.equal(undefined);
    c.enter(["b"]);
    c.enter(["b"]);
    expect(c.lookup(["a", "b"])).to.equal(undefined);
    c.leave(["b"]);
    expect(c.lookup(["b"]), "still entered once").to.equal(undefined);
    c.leave(["b"]);
    expect(c.lookup(["b"])).to.have.length(1);
    expect(c.stats).to.include({ hits: 2, misses: 3 });
  });

  it("a committed row replaces the cached one; a failed transaction's accounts are forgotten", () => {
    const c = new CheckedAccountCache(10);
    c.committed([row("a", 1n)]);
    c.committed([row("a", 2n)]);
    expect(c.lookup(["a"])![0].debitsPosted).to.equal(2n);
    c.forget(["a"]);
    expect(c.lookup(["a"])).to.equal(undefined);
  });

  it("a warming read never replaces a committed row nor one in use, and stops at the size", () => {
    const c = new CheckedAccountCache(3);
    c.committed([row("a", 5n)]);
    c.enter(["b"]);
    c.fill([row("a", 1n), row("b", 1n), row("c", 1n), row("d", 1n), row("e", 1n)]);
    c.leave(["b"]);
    expect(c.lookup(["a"])![0].debitsPosted).to.equal(5n);
    expect(c.lookup(["b"])).to.equal(undefined);
    expect(c.size).to.equal(3);
    expect(c.room).to.equal(0);
  });

  it("beyond its size the first cached go first; size 0 caches nothing", () => {
    const c = new CheckedAccountCache(2);
    c.committed([row("a"), row("b"), row("c")]);
    expect(c.size).to.equal(2);
    expect(c.lookup(["a"])).to.equal(undefined);
    expect(c.lookup(["b", "c"])).to.have.length(2);
    const off = new CheckedAccountCache(0);
    off.committed([row("a")]);
    expect(off.lookup(["a"])).to.equal(undefined);
    expect(off.size).to.equal(0);
  });

  it("stands aside after repeated failed checks, then tries again", () => {
    const c = new CheckedAccountCache(10);
    c.committed([row("a")]);
    c.outcome(false);
    c.outcome(true);
    c.outcome(false);
    expect(c.paused, "one failure in a while is the normal case").to.equal(false);
    for (let i = 0; i < 20; i++) c.outcome(true);
    c.outcome(false);
    c.outcome(false);
    expect(c.paused).to.equal(false);
    c.outcome(false);
    expect(c.paused).to.equal(true);
    expect(c.stats).to.include({ checked: 26, stale: 5, pauses: 1 });
    for (let i = 0; i < CheckedAccountCache.PAUSE_GROUPS; i++) expect(c.lookup(["a"])).to.equal(undefined);
    expect(c.paused).to.equal(false);
    expect(c.lookup(["a"])).to.have.length(1);
  });
});
