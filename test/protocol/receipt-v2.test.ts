import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ed25519 } from "@noble/curves/ed25519";
import { SIG_TYPE_ED25519, formatVerifierKey } from "../../src/protocol/note";
import { loadTrustPolicy } from "../../src/protocol/trust-policy";
import {
  RECEIPT_FORMAT_V1,
  RECEIPT_FORMAT_V2,
  ReceiptFormatError,
  anyReceiptToJson,
  createReceiptV2,
  parseAnyReceipt,
  parseReceipt,
  parseReceiptV2,
  verifyReceiptOffline,
  verifyReceiptUnderPolicyOffline,
  type ReceiptJson,
  type ReceiptV2Json,
} from "../../src/verify";

const vectors = JSON.parse(readFileSync(path.join(__dirname, "../vectors/receipt-v2.json"), "utf8")) as {
  policy: unknown;
  cases: { desc: string; receipt: ReceiptV2Json; wantFailedCheck?: string }[];
};
const v1 = JSON.parse(readFileSync(path.join(__dirname, "fixtures/receipt-v1.json"), "utf8")) as ReceiptJson;
const policy = loadTrustPolicy(vectors.policy);
const valid = vectors.cases[0].receipt;

describe("protocol: custody-receipt-v2", () => {
  describe("vectors (test/vectors/receipt-v2.json) under their trust policy", () => {
    for (const c of vectors.cases) {
      it(c.desc, () => {
        const v = verifyReceiptUnderPolicyOffline(c.receipt, policy);
        if (c.wantFailedCheck === undefined) {
          expect(v.ok, v.reason).to.equal(true);
          expect(v.checks.map((k) => k.name)).to.deep.equal([
            "format",
            "leafIndex",
            "leafHash",
            "inclusionProof",
            "checkpointAnchor",
            "trustPolicy",
            "checkpointSignature",
            "witnessQuorum",
          ]);
          expect(v.witnesses).to.have.members(["bank.example/witness", "auditor.example/witness"]);
        } else {
          expect(v.ok).to.equal(false);
          expect(v.failedCheck, v.reason).to.equal(c.wantFailedCheck);
        }
      });
    }
  });

  it("parses v1 and v2 by their format and round-trips both", () => {
    const r2 = parseAnyReceipt(JSON.stringify(valid));
    expect(r2.format).to.equal(RECEIPT_FORMAT_V2);
    expect(anyReceiptToJson(r2)).to.deep.equal(valid);
    const r1 = parseAnyReceipt(v1);
    expect(r1.format).to.equal(RECEIPT_FORMAT_V1);
    expect(anyReceiptToJson(r1)).to.deep.equal(v1);
    expect(verifyReceiptOffline(v1).ok).to.equal(true);
  });

  it("v1 receipts are still accepted under a policy, marked as not checked by witnesses", () => {
    const v = verifyReceiptUnderPolicyOffline(v1, policy);
    expect(v.ok, v.reason).to.equal(true);
    expect(v.checkpointChecked).to.equal(false);
    expect(v.checks.map((c) => c.name)).to.not.include("witnessQuorum");
  });

  it("rejects an unknown format, a v1 receipt with a checkpoint, and a v2 receipt without one", () => {
    expect(() => parseAnyReceipt({ ...valid, format: "custody-receipt-v3" }))
      .to.throw(ReceiptFormatError)
      .with.property("field", "format");
    expect(() => parseReceipt({ ...valid, format: RECEIPT_FORMAT_V1 }))
      .to.throw(ReceiptFormatError)
      .with.property("field", "checkpoint");
    const { checkpoint: _c, ...noCheckpoint } = valid;
    expect(() => parseReceiptV2(noCheckpoint))
      .to.throw(ReceiptFormatError)
      .with.property("field", "checkpoint");
    expect(() => parseReceiptV2({ ...valid, extra: 1 }))
      .to.throw(ReceiptFormatError)
      .with.property("field", "extra");
  });

  it("a v2 receipt's checkpoint must be of its anchor, offline too", () => {
    const forged = vectors.cases.find((c) => c.wantFailedCheck === "checkpointAnchor")!.receipt;
    const v = verifyReceiptOffline(forged);
    expect(v.failedCheck).to.equal("checkpointAnchor");
    expect(v.reason).to.match(/checkpoint is of size 5 .* the anchor of size 11/);
  });

  it("createReceiptV2 refuses a checkpoint of another head and builds the valid one", () => {
    const { format: _f, checkpoint, leafIndex: _l, leafHash: _h, ...rest } = valid;
    const entry = parseReceipt(v1).entry;
    const params = { ...rest, entry, issuedAt: new Date(valid.issuedAt) };
    expect(createReceiptV2({ ...params, checkpoint })).to.deep.equal(valid);
    const other = vectors.cases.find((c) => c.wantFailedCheck === "checkpointAnchor")!.receipt.checkpoint;
    expect(() => createReceiptV2({ ...params, checkpoint: other }))
      .to.throw(ReceiptFormatError)
      .with.property("field", "checkpoint");
  });

  it("a policy with another log key refuses the checkpoint; quorum 0 accepts no cosignature", () => {
    const raw = vectors.policy as { log: { vkey: string }; witnesses: { quorum: number; vkeys: string[] } };
    const noWitness = loadTrustPolicy({ ...raw, witnesses: { quorum: 0, vkeys: [] } });
    expect(verifyReceiptUnderPolicyOffline(vectors.cases[1].receipt, noWitness).ok).to.equal(true);
    const otherLog = loadTrustPolicy({
      ...raw,
      log: {
        ...raw.log,
        vkey: formatVerifierKey(
          "custody.example/log",
          SIG_TYPE_ED25519,
          ed25519.getPublicKey(new Uint8Array(32).fill(7)),
        ),
      },
    });
    expect(verifyReceiptUnderPolicyOffline(valid, otherLog).failedCheck).to.equal("checkpointSignature");
  });
});
