import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { bytesToHex, hexToBytes, type Hex } from "viem";
import { encodeLeaf, leafEntryFromJson } from "../../src/protocol/leaf-v1";
import {
  RECEIPT_FORMAT_V1,
  ReceiptFormatError,
  createReceipt,
  parseLeafProof,
  parseReceipt,
  receiptToJson,
  verifyLeafProofOffline,
  verifyReceiptOffline,
  type ReceiptAnchor,
  type ReceiptJson,
} from "../../src/verify";
import { makeEntry, makeTree } from "../verify/support/entries";
import { refInclusionPath, refLeafHash, refRoot, refVerifyInclusion } from "../support/rfc9162";

const tree = makeTree(11);

function anchorFor(treeSize: number, headIndex = 1): ReceiptAnchor {
  return {
    chainId: 31337,
    contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    headIndex,
    treeSize,
    rootHash: tree.root(treeSize),
    txHash: `0x${"ab".repeat(32)}`,
    blockNumber: 7,
    timestamp: 1_795_000_100,
  };
}

function receiptOf(index: number, treeSize = 11): ReceiptJson {
  return createReceipt({
    entry: tree.entries[index],
    anchor: anchorFor(treeSize),
    inclusionProof: tree.proof(index, treeSize),
    issuedAt: new Date("2026-11-27T04:00:00Z"),
    context: { transferId: `t-${index}`, account: "user-1" },
  });
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe("verify/receipt: format", () => {
  it("creates a receipt whose JSON round-trips through parseReceipt", () => {
    const json = receiptOf(5);
    expect(json.format).to.equal(RECEIPT_FORMAT_V1);
    expect(json.leafIndex).to.equal(5);
    const text = JSON.stringify(json);
    expect(receiptToJson(parseReceipt(text))).to.deep.equal(json);
    expect(parseReceipt(json).entry.amount).to.equal(tree.entries[5].amount);
  });

  it("names the first bad field", () => {
    const cases: [string, (r: any) => void, string][] = [
      ["unknown top-level field", (r) => (r.extra = 1), "extra"],
      ["unknown entry field", (r) => (r.entry.note = "x"), "entry.note"],
      ["missing field", (r) => delete r.anchor.txHash, "anchor.txHash"],
      ["upper-case hash", (r) => (r.leafHash = r.leafHash.toUpperCase().replace("0X", "0x")), "leafHash"],
      ["short proof hash", (r) => (r.inclusionProof[0] = "0x1234"), "inclusionProof.0"],
      ["amount as a number", (r) => (r.entry.amount = 5), "entry.amount"],
      ["amount with a fraction", (r) => (r.entry.amount = "1.5"), "entry.amount"],
      ["amount above uint128", (r) => (r.entry.amount = (1n << 128n).toString()), "entry.amount"],
      ["negative index", (r) => (r.leafIndex = -1), "leafIndex"],
      ["fractional tree size", (r) => (r.anchor.treeSize = 1.5), "anchor.treeSize"],
      ["bad issuedAt", (r) => (r.issuedAt = "yesterday"), "issuedAt"],
      ["bad address", (r) => (r.anchor.contract = "0x1234"), "anchor.contract"],
      [
        "bad checksum",
        (r) => (r.anchor.contract = "0x5fbDB2315678afecb367f032d93F642f64180aa3"),
        "anchor.contract",
      ],
      ["other format", (r) => (r.format = "custody-receipt-v9"), "format"],
      ["unknown event type", (r) => (r.entry.eventType = "STOLEN"), "entry.eventType"],
      ["leaf version 2", (r) => (r.entry.version = 2), "entry.version"],
      ["empty asset on a transfer", (r) => (r.entry.asset = ""), "entry.asset"],
    ];
    for (const [what, mutate, field] of cases) {
      const r = clone(receiptOf(3));
      mutate(r);
      let err: unknown;
      try {
        parseReceipt(r);
      } catch (e) {
        err = e;
      }
      expect(err, what).to.be.instanceOf(ReceiptFormatError);
      expect((err as ReceiptFormatError).field, what).to.equal(field);
      expect((err as ReceiptFormatError).code).to.equal("RECEIPT_FORMAT_INVALID");
    }
  });

  it("accepts a checksummed contract address and stores it lower-case", () => {
    const r = clone(receiptOf(3));
    r.anchor.contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    expect(parseReceipt(r).anchor.contract).to.equal("0x5fbdb2315678afecb367f032d93f642f64180aa3");
  });

  it("rejects text that is not JSON and values that are not objects", () => {
    expect(() => parseReceipt("{not json")).to.throw(ReceiptFormatError, /not valid JSON/);
    expect(() => parseReceipt(null)).to.throw(ReceiptFormatError);
    expect(() => parseReceipt([])).to.throw(ReceiptFormatError);
  });

  it("loads the stored v1 fixture (old receipts stay loadable)", () => {
    const text = readFileSync(path.join(__dirname, "fixtures", "receipt-v1.json"), "utf8");
    const verdict = verifyReceiptOffline(text);
    expect(verdict.ok, verdict.reason).to.equal(true);
    expect(parseReceipt(text).entry.asset).to.equal("EUR");
  });
});

describe("verify/receipt: offline verification", () => {
  it("accepts a receipt for a fact that names no asset, as leaf-v1 allows", () => {
    // Facts (statements, alerts, snapshots...) are log entries too, and their holders get receipts.
    const entries = [
      makeEntry(0),
      makeEntry(1, { eventType: "FACT_RECORDED", asset: "", amount: 0n, code: 40 }),
    ];
    const hashes = entries.map((e) => refLeafHash(encodeLeaf(e)));
    const json = createReceipt({
      entry: entries[1],
      anchor: { ...anchorFor(2), rootHash: bytesToHex(refRoot(hashes)) },
      inclusionProof: refInclusionPath(1, hashes).map((b) => bytesToHex(b)),
      issuedAt: new Date("2026-12-02T16:00:00Z"),
    });
    expect(json.entry.asset).to.equal("");
    const v = verifyReceiptOffline(JSON.stringify(json));
    expect(v.ok, v.reason).to.equal(true);
  });

  it("accepts a valid receipt for every leaf of several tree sizes", () => {
    for (const size of [1, 2, 3, 5, 8, 11]) {
      for (let i = 0; i < size; i++) {
        const v = verifyReceiptOffline(receiptOf(i, size));
        expect(v.ok, `${i}/${size}: ${v.reason}`).to.equal(true);
        expect(v.checks.map((c) => c.name)).to.deep.equal([
          "format",
          "leafIndex",
          "leafHash",
          "inclusionProof",
        ]);
        expect(v.reason).to.equal(undefined);
      }
    }
  });

  it("is also accepted by an independent RFC 9162 verifier", () => {
    for (const size of [1, 6, 11]) {
      for (let i = 0; i < size; i++) {
        const r = receiptOf(i, size);
        const leafBytes = encodeLeaf(leafEntryFromJson(r.entry));
        const leafHash = refLeafHash(leafBytes);
        expect(`0x${leafHash.toString("hex")}`).to.equal(r.leafHash);
        const ok = refVerifyInclusion(
          r.leafIndex,
          r.anchor.treeSize,
          leafHash,
          r.inclusionProof.map((p) => hexToBytes(p)),
          hexToBytes(r.anchor.rootHash),
        );
        expect(ok, `${i}/${size}`).to.equal(true);
      }
    }
  });

  it("accepts a parsed receipt as well as JSON text", () => {
    const json = receiptOf(4);
    expect(verifyReceiptOffline(parseReceipt(json)).ok).to.equal(true);
    expect(verifyReceiptOffline(JSON.stringify(json)).ok).to.equal(true);
  });

  const forgeries: [string, (r: ReceiptJson) => void, string, RegExp][] = [
    [
      "a changed amount",
      (r) => (r.entry.amount = (BigInt(r.entry.amount) + 1n).toString()),
      "leafHash",
      /altered/,
    ],
    ["a changed salt", (r) => (r.entry.salt = `0x${"11".repeat(32)}`), "leafHash", /altered/],
    [
      "a changed credit account",
      (r) => (r.entry.creditAccount = `0x${"22".repeat(32)}`),
      "leafHash",
      /altered/,
    ],
    ["a wrong leaf index", (r) => (r.leafIndex = 6), "leafIndex", /differs from the entry's sequence 4/],
    [
      "a proof for another head",
      (r) => {
        r.anchor.treeSize = 8;
        r.anchor.rootHash = tree.root(8);
      },
      "inclusionProof",
      /does not lead to the anchored root/,
    ],
    [
      "a changed root",
      (r) => (r.anchor.rootHash = tree.root(10)),
      "inclusionProof",
      /root calculated from the proof does not match/,
    ],
    ["a truncated proof", (r) => r.inclusionProof.pop(), "inclusionProof", /proof has 3 hashes, expected 4/],
    ["an index beyond the tree", (r) => (r.anchor.treeSize = 4), "inclusionProof", /out of range/],
    ["a format error", (r) => ((r as any).extra = true), "format", /extra/],
  ];
  for (const [what, mutate, failedCheck, reason] of forgeries) {
    it(`rejects ${what}`, () => {
      const r = clone(receiptOf(4));
      mutate(r);
      const v = verifyReceiptOffline(r);
      expect(v.ok).to.equal(false);
      expect(v.failedCheck).to.equal(failedCheck);
      expect(v.reason).to.match(reason);
    });
  }

  it("rejects a proof that is right for the claimed leaf hash but not for the entry", () => {
    // Swap in another entry but keep leafHash and proof of the original: the proof proves the hash,
    // not this entry, and both the hash check and the proof check must fail.
    const r = clone(receiptOf(4));
    r.entry = clone(receiptOf(5)).entry;
    r.entry.sequence = 4;
    const v = verifyReceiptOffline(r);
    expect(v.ok).to.equal(false);
    expect(v.failedCheck).to.equal("leafHash");
    expect(v.checks.find((c) => c.name === "inclusionProof")!.ok).to.equal(false);
  });

  it("verifies leaf proofs (no entry) offline", () => {
    const { leafIndex, leafHash, anchor, inclusionProof } = receiptOf(9);
    const proof = parseLeafProof({ leafIndex, leafHash, anchor, inclusionProof, extra: "ignored" });
    expect(verifyLeafProofOffline(proof).ok).to.equal(true);
    const bad = { ...proof, leafHash: `0x${tree.leafHashes[8].toString("hex")}` as Hex };
    expect(verifyLeafProofOffline(bad).failedCheck).to.equal("inclusionProof");
  });
});
