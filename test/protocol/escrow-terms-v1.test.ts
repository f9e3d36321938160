import { expect } from "chai";
import {
  ESCROW_TERMS_FORMAT,
  ESCROW_TERMS_KEY,
  EscrowTermsInvalidError,
  escrowTermsIssues,
  escrowTermsOf,
  parseEscrowTerms,
  toOnChainTerms,
} from "../../src/protocol/escrow-terms-v1";
import { InvalidArgumentError } from "../../src/errors";

const A = `0x${"a1".repeat(20)}`;
const B = `0x${"B2".repeat(20)}`;
const valid = {
  format: ESCROW_TERMS_FORMAT,
  approvers: [A, B],
  payerSideMask: 1,
  threshold: 2,
  autoReleaseAt: 1_700_000_000,
  expiresAt: 1_800_000_000,
  agreementHash: `0x${"CD".repeat(32)}`,
};

describe("chain: escrow terms v1", () => {
  it("parses valid terms, lower-casing addresses and the agreement hash", () => {
    expect(escrowTermsIssues(valid)).to.deep.equal([]);
    expect(parseEscrowTerms(valid)).to.deep.equal({
      ...valid,
      approvers: [A, B.toLowerCase()],
      agreementHash: `0x${"cd".repeat(32)}`,
    });
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ["no format", { format: undefined }, "format"],
    ["another format", { format: "custody-escrow-terms-v2" }, "format"],
    ["no approvers", { approvers: [] }, "approvers"],
    [
      "17 approvers",
      { approvers: Array.from({ length: 17 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}`) },
      "approvers",
    ],
    ["a malformed approver", { approvers: [A, "0x1234"] }, "approvers"],
    [
      "the same approver twice (any case)",
      { approvers: [A, A.toUpperCase().replace("0X", "0x")] },
      "approvers",
    ],
    ["the zero address", { approvers: [A, `0x${"00".repeat(20)}`] }, "approvers"],
    ["a mask bit beyond the approvers", { payerSideMask: 4 }, "payerSideMask"],
    ["a negative mask", { payerSideMask: -1 }, "payerSideMask"],
    ["threshold 0", { threshold: 0 }, "threshold"],
    ["threshold above the approvers", { threshold: 3 }, "threshold"],
    ["a fractional threshold", { threshold: 1.5 }, "threshold"],
    ["expiresAt as a string", { expiresAt: "1800000000" }, "expiresAt"],
    ["autoReleaseAt at expiry", { autoReleaseAt: 1_800_000_000 }, "autoReleaseAt"],
    ["a missing autoReleaseAt", { autoReleaseAt: undefined }, "autoReleaseAt"],
    ["a short agreement hash", { agreementHash: "0xabcd" }, "agreementHash"],
  ];
  for (const [what, change, field] of cases)
    it(`refuses ${what}, naming ${field}`, () => {
      const t: Record<string, unknown> = { ...valid, ...change };
      for (const k of Object.keys(change)) if (change[k] === undefined) delete t[k];
      expect(escrowTermsIssues(t).map((i) => i.path.join("."))).to.include(field);
      try {
        parseEscrowTerms(t, { context: "hold h1" });
        expect.fail("parsed");
      } catch (e) {
        expect(e).to.be.instanceOf(EscrowTermsInvalidError);
        expect(e).to.be.instanceOf(InvalidArgumentError);
        expect((e as EscrowTermsInvalidError).code).to.equal("INVALID_ARGUMENT");
        expect((e as Error).message).to.contain("hold h1");
      }
    });

  it("refuses unknown fields and non-objects", () => {
    expect(escrowTermsIssues({ ...valid, extra: 1 })).to.have.length(1);
    for (const v of [null, 7, "terms", [valid]])
      expect(() => parseEscrowTerms(v)).to.throw(EscrowTermsInvalidError);
  });

  it("reads terms from hold metadata: absent → undefined, malformed → error", () => {
    expect(escrowTermsOf(undefined)).to.equal(undefined);
    expect(escrowTermsOf({ note: "x" })).to.equal(undefined);
    expect(escrowTermsOf({ [ESCROW_TERMS_KEY]: valid })?.threshold).to.equal(2);
    expect(() => escrowTermsOf({ [ESCROW_TERMS_KEY]: { ...valid, format: undefined } })).to.throw(
      EscrowTermsInvalidError,
    );
  });

  it("converts to the on-chain Terms struct with the hold's parties, asset and amount", () => {
    const hold = {
      payer: `0x${"11".repeat(32)}` as const,
      payee: `0x${"22".repeat(32)}` as const,
      asset: `0x${"45555200".padEnd(64, "0")}` as const,
      amount: 700n,
    };
    expect(toOnChainTerms(parseEscrowTerms(valid), hold)).to.deep.equal({
      ...hold,
      approvers: [A, B.toLowerCase()],
      payerSideMask: 1,
      threshold: 2,
      autoReleaseAt: 1_700_000_000n,
      expiresAt: 1_800_000_000n,
      agreementHash: `0x${"cd".repeat(32)}`,
    });
  });
});
