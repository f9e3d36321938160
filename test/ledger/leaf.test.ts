import { expect } from "chai";
import fc from "fast-check";
import fs from "node:fs";
import path from "node:path";
import { Pseudonymizer, canonicalJson, sha256Hex } from "../../src/ledger/canonical";
import {
  EVENT_TYPES,
  type EventTypeName,
  type LeafEntry,
  decodeLeaf,
  encodeLeaf,
  leafHashOf,
} from "../../src/ledger/leaf";
import { prepareLeaf, sealLeaf } from "../../src/ledger/leaf-writer";

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
    const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${hex(b)}` as `0x${string}`);
    const entry = fc.record({
      eventType: fc.constantFrom(...(Object.keys(EVENT_TYPES) as EventTypeName[])),
      sequence: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      salt: b32,
      entryId: b32,
      debitAccount: b32,
      creditAccount: b32,
      asset: fc.stringMatching(/^[\x21-\x7e]{1,32}$/),
      amount: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
      code: fc.integer({ min: 0, max: 255 }),
      reference: b32,
      metadataHash: b32,
    });
    fc.assert(
      fc.property(entry, ({ sequence, ...rest }) => {
        const e: LeafEntry = { version: 1, sequence, ...rest };
        const sealed = sealLeaf(prepareLeaf(rest), sequence);
        expect(hex(sealed.leafBytes)).to.equal(hex(encodeLeaf(e)));
        expect(hex(sealed.leafHash)).to.equal(hex(leafHashOf(e)));
      }),
      { numRuns: 300 },
    );
  });
});
