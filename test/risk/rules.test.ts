import { expect } from "chai";
import fc from "fast-check";
import vectors from "../vectors/risk-conversion-v1.json";
import { InvalidRuleFileError } from "../../src/risk/errors";
import { compareConverted, majorToMinor, parseDecimal } from "../../src/risk/rates";
import { DEFAULT_RULE_FILE, DEFAULT_RULE_SOURCE, compileRuleFile } from "../../src/risk/rules-file";

describe("risk rule file (custody-risk-rules-v1)", () => {
  it("compiles the default rules with the PBOC thresholds in fen", () => {
    const r = compileRuleFile(DEFAULT_RULE_SOURCE);
    const t = Object.fromEntries(r.rules.map((x) => [x.id, x.thresholdMinor]));
    expect(t["pboc.lv.cash"]).to.equal(5_000_000n);
    expect(t["pboc.lv.company"]).to.equal(200_000_000n);
    expect(t["pboc.lv.individual.domestic"]).to.equal(50_000_000n);
    expect(t["pboc.lv.individual.crossborder"]).to.equal(20_000_000n);
    expect(r.rate("CNY")).to.deep.equal({ num: 1n, den: 1n });
    expect(r.rate("USD")).to.equal(undefined);
  });

  it("reads YAML and JSON alike", () => {
    const yaml = `format: custody-risk-rules-v1
revision: 7
currency: { code: CNY, scale: 2 }
rates: { USD: "7.1" }
rules:
  - { id: v1, type: velocity, severity: low, count: 3, windowMinutes: 10 }
`;
    const r = compileRuleFile(yaml);
    expect(r.revision).to.equal(7);
    expect(r.dayOffsetMs).to.equal(480 * 60_000);
    expect(r.rules[0]).to.include({ id: "v1", action: "alert" });
    expect(r.rate("USD")).to.deep.equal({ num: 71n, den: 10n });
  });

  const bad: [string, unknown][] = [
    ["wrong format", { ...DEFAULT_RULE_FILE, format: "custody-risk-rules-v0" }],
    [
      "float threshold",
      { ...DEFAULT_RULE_FILE, rules: [{ ...DEFAULT_RULE_FILE.rules[0], threshold: 50000 }] },
    ],
    ["unknown rule type", { ...DEFAULT_RULE_FILE, rules: [{ id: "x", type: "magic", severity: "low" }] }],
    ["unknown field", { ...DEFAULT_RULE_FILE, rules: [{ ...DEFAULT_RULE_FILE.rules[0], thresold: "1" }] }],
    [
      "duplicate ids",
      { ...DEFAULT_RULE_FILE, rules: [DEFAULT_RULE_FILE.rules[0], DEFAULT_RULE_FILE.rules[0]] },
    ],
    [
      "threshold finer than the fen",
      { ...DEFAULT_RULE_FILE, rules: [{ ...DEFAULT_RULE_FILE.rules[0], threshold: "1.001" }] },
    ],
    ["zero rate", { ...DEFAULT_RULE_FILE, rates: { USD: "0" } }],
  ];
  for (const [name, file] of bad)
    it(`refuses a file with ${name}`, () => {
      expect(() => compileRuleFile(JSON.stringify(file))).to.throw(InvalidRuleFileError);
    });
  it("refuses text that is neither JSON nor YAML", () => {
    expect(() => compileRuleFile("{ nope")).to.throw(InvalidRuleFileError);
    expect(() => compileRuleFile("")).to.throw(InvalidRuleFileError);
  });
});

describe("risk conversions (test/vectors/risk-conversion-v1.json)", () => {
  for (const v of vectors.vectors)
    it(v.desc, () => {
      const t = majorToMinor(v.threshold, v.reportScale, "threshold");
      const got = compareConverted(
        BigInt(v.amount),
        v.assetScale,
        parseDecimal(v.rate, "rate"),
        t,
        v.reportScale,
      );
      expect(got).to.equal(v.want);
    });

  it("is monotone in the amount and exact (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 18 }),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        (amount, num, rateDecimals, assetScale, threshold) => {
          const rate = { num, den: 10n ** BigInt(rateDecimals) };
          const c = compareConverted(amount, assetScale, rate, threshold, 2);
          const c1 = compareConverted(amount + 1n, assetScale, rate, threshold, 2);
          expect(c1).to.be.at.least(c);
          // Exactness: scale both sides to integers and compare directly.
          const lhs = amount * num * 100n;
          const rhs = threshold * rate.den * 10n ** BigInt(assetScale);
          expect(c).to.equal(lhs < rhs ? -1 : lhs > rhs ? 1 : 0);
        },
      ),
    );
  });
});
