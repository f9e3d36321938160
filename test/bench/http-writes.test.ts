import { expect } from "chai";
import { ledgerProblems, median, parseList } from "../../bench/http-writes";

describe("bench/http-writes helpers", () => {
  it("parseList reads comma-separated positive integers and names bad input", () => {
    expect(parseList("1,2,4")).to.deep.equal([1, 2, 4]);
    expect(parseList(" 16 , 64")).to.deep.equal([16, 64]);
    for (const bad of ["", "0", "1,,2", "2.5", "-1", "a"])
      expect(() => parseList(bad), bad).to.throw(/positive integers/);
  });

  it("median of odd and even counts; none is an error", () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(() => median([])).to.throw(RangeError);
  });

  const consistent = {
    acknowledged: 10,
    acknowledgedDistinct: 10,
    foundInLedger: 10,
    distinctEvents: 10,
    events: 25,
    minSequence: 0,
    maxSequence: 24,
  };

  it("ledgerProblems: a consistent ledger has none", () => {
    expect(ledgerProblems(consistent)).to.deep.equal([]);
    const empty = {
      ...consistent,
      acknowledged: 0,
      acknowledgedDistinct: 0,
      foundInLedger: 0,
      distinctEvents: 0,
    };
    expect(ledgerProblems({ ...empty, events: 0, minSequence: null, maxSequence: null })).to.deep.equal([]);
  });

  it("ledgerProblems names a missing transfer, a doubled acknowledgement, a shared event and a gap", () => {
    expect(ledgerProblems({ ...consistent, foundInLedger: 9, distinctEvents: 9 })).to.deep.equal([
      "1 acknowledged transfers missing from the ledger",
    ]);
    expect(ledgerProblems({ ...consistent, acknowledged: 11 })).to.deep.equal([
      "1 transfer ids acknowledged twice",
    ]);
    expect(ledgerProblems({ ...consistent, distinctEvents: 9 })).to.deep.equal([
      "acknowledged transfers share events (10 transfers, 9 events)",
    ]);
    expect(ledgerProblems({ ...consistent, maxSequence: 25 })).to.deep.equal([
      "the event sequence has gaps: 25 events over 0…25",
    ]);
    expect(ledgerProblems({ ...consistent, minSequence: 1, maxSequence: 25 })).to.deep.equal([
      "the event sequence starts at 1, not 0",
    ]);
  });
});
