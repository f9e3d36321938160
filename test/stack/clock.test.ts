import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError } from "../../src/stack/config";
import { dayOf, endOfDay, stackClock } from "../../src/stack/clock";
import { endedDays } from "../../src/stack/business-days";

describe("stack: the business clock", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-clock-"));
  const file = path.join(dir, "clock.json");
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs simulated days from the next UTC midnight, and a restart continues the calendar", () => {
    let real = Date.parse("2026-03-10T15:00:00.000Z");
    const c = stackClock(60, file, () => real);
    expect(c.simulated).to.equal(true);
    expect(c.speed).to.equal(1440);
    expect(new Date(c.now()).toISOString()).to.equal("2026-03-11T00:00:00.000Z");
    real += 30_000; // half a simulated day
    expect(new Date(c.now()).toISOString()).to.equal("2026-03-11T12:00:00.000Z");
    // Restarted later with another speed: time goes on from where it stood, never backwards.
    real += 30_000;
    const c2 = stackClock(120, file, () => real);
    expect(new Date(c2.now()).toISOString()).to.equal("2026-03-12T00:00:00.000Z");
    real += 60_000;
    expect(new Date(c2.now()).toISOString()).to.equal("2026-03-12T12:00:00.000Z");
    // The same clock on another thread (the risk engine's) from its linear form.
    const l = c2.linear;
    expect(Math.floor(l.simOrigin + (real - l.realOrigin) * l.speed)).to.equal(c2.now());
  });

  it("refuses the wall clock on a data folder that ran simulated days", () => {
    expect(() => stackClock(0, file)).to.throw(ConfigError, /simulated business days/);
    const wall = stackClock(0, path.join(dir, "none.json"), () => 42);
    expect(wall.now()).to.equal(42);
    expect(fs.existsSync(path.join(dir, "none.json"))).to.equal(false);
  });

  it("lists the ended business days and their cut-offs", () => {
    expect([...endedDays("2026-02-27", Date.parse("2026-03-02T08:00:00Z"))]).to.deep.equal([
      "2026-02-27",
      "2026-02-28",
      "2026-03-01",
    ]);
    expect([...endedDays("2026-03-02", Date.parse("2026-03-02T23:59:59Z"))]).to.deep.equal([]);
    expect(dayOf(endOfDay("2026-03-01"))).to.equal("2026-03-01");
    expect(dayOf(endOfDay("2026-03-01") + 1)).to.equal("2026-03-02");
  });
});
