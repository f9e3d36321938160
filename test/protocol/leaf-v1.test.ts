import { expect } from "chai";
import fc from "fast-check";
import fs from "node:fs";
import path from "node:path";
import { Pseudonymizer, canonicalJson, sha256Hex } from "../../src/ledger/canonical";
import { type Hex, bytesToHex, decodeAbiParameters, encodeAbiParameters, hexToBytes } from "viem";
import {
  EVENT_TYPES,
  type EventTypeName,
  LEAF_V1_ABI,
  LEAF_V1_BYTES,
  type LeafEntry,
  LeafEncodingError,
  ZERO32,
  assetToBytes32,
  bytes32ToAsset,
  decodeLeaf,
  encodeLeaf,
  leafHashOf,
  leafSummary,
} from "../../src/protocol/leaf-v1";
import { prepareLeaf, sealLeaf } from "../../src/ledger/leaf-writer";
import { anyLeafEntry, word32 } from "../support/leaf-entries";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("leaf encoding v1", () => {
  it("matches the worked example in docs/leaf-encoding-v1.md", () => {
    const doc = fs.readFileSync(path.join(__dirname, "../../docs/leaf-encoding-v1.md"), "utf8");
    const words = doc.split("## Worked example")[1].split("```text")[1].split("```")[0].trim().split("\n");
    const docHash = /Leaf hash: `0x([0-9a-f]{64})`/.exec(doc)![1];

    const p = new Pseudonymizer(new Uint8Array(32).fill(0x42));
    const entry: LeafEntry = {
      version: 1,
      eventType: "TRANSFER_POSTED",
      sequence: 5,
      timestamp: Date.parse("2026-01-01T00:00:00Z"),
      salt: `0x${"11".repeat(32)}`,
      entryId: p.of("transfer", "t-0001"),
      debitAccount: p.account("alice"),
      creditAccount: p.account("bob"),
      asset: "EUR",
      amount: 2500n,
      code: 3,
      reference: `0x${"00".repeat(32)}`,
      metadataHash: sha256Hex(canonicalJson({ metadata: { note: "rent" } })),
    };
    expect(words).to.have.length(13);
    expect(hex(encodeLeaf(entry))).to.equal(words.join(""));
    expect(hex(leafHashOf(entry))).to.equal(docHash);
    const { sequence: _s, version: _v, ...rest } = entry;
    const sealed = sealLeaf(prepareLeaf(rest), 5);
    expect(hex(sealed.leafBytes)).to.equal(words.join(""));
    expect(hex(sealed.leafHash)).to.equal(docHash);
    expect(decodeLeaf(sealed.leafBytes)).to.deep.equal(entry);
  });

  it("the ledger's fast writer produces exactly encodeLeaf's bytes and hash", () => {
    fc.assert(
      fc.property(anyLeafEntry, (e) => {
        const { sequence, version: _v, ...rest } = e;
        const sealed = sealLeaf(prepareLeaf(rest), sequence);
        expect(hex(sealed.leafBytes)).to.equal(hex(encodeLeaf(e)));
        expect(hex(sealed.leafHash)).to.equal(hex(leafHashOf(e)));
      }),
      { numRuns: 300 },
    );
  });
});

/** The v1 leaf through viem's generic ABI coder: the reference the hand-written coder must equal. */
function viemEncode(e: LeafEntry): Uint8Array {
  return hexToBytes(
    encodeAbiParameters(LEAF_V1_ABI, [
      e.version,
      EVENT_TYPES[e.eventType],
      BigInt(e.sequence),
      BigInt(e.timestamp),
      e.salt,
      e.entryId,
      e.debitAccount,
      e.creditAccount,
      // A fact may name no asset: an all-zero word (docs/leaf-encoding-v1.md).
      e.eventType === "FACT_RECORDED" && e.asset === "" ? ZERO32 : assetToBytes32(e.asset),
      e.amount,
      e.code,
      e.reference,
      e.metadataHash,
    ]),
  );
}

/** decodeLeaf as it was written on viem's decoder: same results, same accept/reject decisions. */
function viemDecode(bytes: Uint8Array): LeafEntry {
  if (bytes.length !== LEAF_V1_BYTES) throw new LeafEncodingError("length");
  let v: readonly unknown[];
  try {
    v = decodeAbiParameters(LEAF_V1_ABI, bytesToHex(bytes));
  } catch {
    throw new LeafEncodingError("leaf bytes are not a valid v1 encoding");
  }
  const typeNo = v[1] as number;
  const eventType = (Object.keys(EVENT_TYPES) as EventTypeName[]).find((k) => EVENT_TYPES[k] === typeNo);
  if (!eventType) throw new LeafEncodingError(`unknown event type number ${typeNo}`);
  const entry: LeafEntry = {
    version: v[0] as number,
    eventType,
    sequence: Number(v[2] as bigint),
    timestamp: Number(v[3] as bigint),
    salt: v[4] as Hex,
    entryId: v[5] as Hex,
    debitAccount: v[6] as Hex,
    creditAccount: v[7] as Hex,
    asset: eventType === "FACT_RECORDED" && v[8] === ZERO32 ? "" : bytes32ToAsset(v[8] as Hex),
    amount: v[9] as bigint,
    code: v[10] as number,
    reference: v[11] as Hex,
    metadataHash: v[12] as Hex,
  };
  encodeLeaf(entry); // the field checks the old decoder ran through encodeLeaf
  const again = viemEncode(entry);
  if (hex(again) !== hex(bytes)) throw new LeafEncodingError("leaf bytes are not canonical");
  return entry;
}

describe("leaf encoding v1: hand-written coder against viem's ABI coder", () => {
  it("encodeLeaf writes exactly viem's bytes, and decodeLeaf gives the entry back", () => {
    fc.assert(
      fc.property(anyLeafEntry, (e) => {
        const bytes = encodeLeaf(e);
        expect(hex(bytes)).to.equal(hex(viemEncode(e)));
        expect(decodeLeaf(bytes)).to.deep.equal(e);
        expect(viemDecode(bytes)).to.deep.equal(e);
      }),
      { numRuns: 500 },
    );
  });

  it("accepts upper-case hex fields and decodes them in lower case", () => {
    fc.assert(
      fc.property(anyLeafEntry, (e) => {
        const upper = { ...e, salt: `0x${e.salt.slice(2).toUpperCase()}` as Hex };
        expect(hex(encodeLeaf(upper))).to.equal(hex(viemEncode(e)));
        expect(decodeLeaf(encodeLeaf(upper)).salt).to.equal(e.salt);
      }),
      { numRuns: 100 },
    );
  });

  it("decodeLeaf accepts and rejects altered bytes exactly as the viem-based decoder did", () => {
    const mutation = fc.record({
      entry: anyLeafEntry,
      edits: fc.array(
        fc.record({
          at: fc.integer({ min: 0, max: LEAF_V1_BYTES - 1 }),
          value: fc.integer({ min: 0, max: 255 }),
        }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
      // Most edits go to the bytes that carry structure (small uint words, the asset word).
      focus: fc.constantFrom(null, 0, 1, 2, 3, 8, 9, 10),
    });
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(mutation, ({ entry, edits, focus }) => {
        const bytes = encodeLeaf(entry);
        for (const { at, value } of edits) bytes[focus === null ? at : focus * 32 + (at % 32)] = value;
        let want: LeafEntry | Error;
        let got: LeafEntry | Error;
        try {
          want = viemDecode(bytes);
        } catch (e) {
          want = e as Error;
        }
        try {
          got = decodeLeaf(bytes);
        } catch (e) {
          got = e as Error;
        }
        if (want instanceof Error) {
          rejected++;
          expect(got, `viem rejected: ${want.message}`).to.be.instanceOf(LeafEncodingError);
          expect((got as Error).message).to.equal(want.message);
        } else {
          accepted++;
          expect(got).to.deep.equal(want);
        }
      }),
      { numRuns: 2000 },
    );
    expect(accepted).to.be.greaterThan(0);
    expect(rejected).to.be.greaterThan(0);
  });

  it("encodeLeaf rejects what viem's encoder or the field checks rejected, with LeafEncodingError", () => {
    // Every event type but FACT_RECORDED must name an asset.
    const e: LeafEntry = {
      ...fc.sample(anyLeafEntry, { numRuns: 1, seed: 7 })[0],
      eventType: "TRANSFER_POSTED",
    };
    const bad: Partial<Record<keyof LeafEntry, unknown[]>> = {
      version: [0, 2],
      eventType: ["NOPE", "toString"],
      sequence: [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, NaN, "1"],
      timestamp: [-1, 2 ** 60],
      salt: [
        "0x12",
        `0x${"zz".repeat(32)}`,
        `0X${"00".repeat(32)}`,
        `${"00".repeat(33)}`,
        5,
        `0x${"00".repeat(33)}`,
      ],
      asset: ["", "EUR ", "x".repeat(33), "é"],
      amount: [-1n, 1n << 128n, 5],
      code: [-1, 256, 1.5],
      metadataHash: [null, `0x${"0g".repeat(32)}`],
    };
    for (const [field, values] of Object.entries(bad))
      for (const v of values!) {
        expect(() => encodeLeaf({ ...e, [field]: v }), `${field} = ${String(v)}`).to.throw(LeafEncodingError);
      }
    // A fact's code must be a known fact kind; its asset may be empty.
    for (const code of [0, 4, 19, 47, 80, 255])
      expect(() => encodeLeaf({ ...e, eventType: "FACT_RECORDED", code }), `fact code ${code}`).to.throw(
        LeafEncodingError,
      );
    expect(decodeLeaf(encodeLeaf({ ...e, eventType: "FACT_RECORDED", code: 1, asset: "" })).asset).to.equal(
      "",
    );
  });

  it("the ledger's fast writer also takes 32-byte fields as bytes", () => {
    fc.assert(
      fc.property(anyLeafEntry, word32, word32, ({ sequence, version: _v, ...rest }, salt, entryId) => {
        const e: LeafEntry = {
          version: 1,
          sequence,
          ...rest,
          salt: `0x${hex(salt)}`,
          entryId: `0x${hex(entryId)}`,
        };
        const sealed = sealLeaf(prepareLeaf({ ...rest, salt, entryId }), sequence);
        expect(hex(sealed.leafBytes)).to.equal(hex(viemEncode(e)));
        expect(hex(sealed.leafHash)).to.equal(hex(leafHashOf(e)));
      }),
      { numRuns: 300 },
    );
  });
});

describe("leaf encoding v1: leafSummary", () => {
  it("reads type, code, asset and amount exactly as decodeLeaf does", () => {
    fc.assert(
      fc.property(anyLeafEntry, (e) => {
        const bytes = encodeLeaf(e);
        const full = decodeLeaf(bytes);
        expect(leafSummary(bytes)).to.deep.equal({
          eventType: full.eventType,
          code: full.code,
          asset: full.asset,
          amount: full.amount,
        });
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a wrong length, version or event type number with LeafEncodingError", () => {
    const bytes = encodeLeaf(fc.sample(anyLeafEntry, 1)[0]);
    expect(() => leafSummary(bytes.subarray(1))).to.throw(LeafEncodingError);
    const v = bytes.slice();
    v[31] = 2;
    expect(() => leafSummary(v)).to.throw(LeafEncodingError);
    const t = bytes.slice();
    t[63] = 99;
    expect(() => leafSummary(t)).to.throw(LeafEncodingError);
  });
});
