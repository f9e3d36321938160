import { expect } from "chai";
import fc from "fast-check";
import { createHmac } from "node:crypto";
import { Pseudonymizer } from "../../src/ledger/canonical";

const reference = (key: Uint8Array, kind: string, id: string) =>
  createHmac("sha256", key).update(`${kind}:${id}`, "utf8").digest("hex");

describe("Pseudonymizer (HMAC-SHA256 from precomputed pads)", () => {
  it("equals createHmac for any key length and any id, including long and non-ASCII ones", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.constantFrom("account" as const, "transfer" as const, "hold" as const),
        fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 400 })),
        (key, kind, id) => {
          const p = new Pseudonymizer(key);
          const want = reference(key, kind, id);
          expect(p.ofBytes(kind, id).toString("hex")).to.equal(want);
          expect(p.of(kind, id)).to.equal(`0x${want}`);
          // The scratch buffers are reused: a second, shorter message must not see the first's bytes.
          expect(p.of(kind, "x")).to.equal(`0x${reference(key, kind, "x")}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("equals createHmac at the block-size key boundary (64 and 65 bytes)", () => {
    for (const n of [63, 64, 65]) {
      const key = new Uint8Array(n).map((_, i) => i);
      expect(new Pseudonymizer(key).of("account", "alice")).to.equal(
        `0x${reference(key, "account", "alice")}`,
      );
    }
  });

  it("equals createHmac for every message length across the SHA-256 padding boundaries (0 to 300 bytes)", () => {
    const key = new Uint8Array(32).map((_, i) => 255 - i);
    const p = new Pseudonymizer(key);
    // "hold:" is 5 bytes: ids of 0..295 bytes give inner messages of 5..300 bytes.
    for (let n = 0; n <= 295; n++) {
      const id = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(9).slice(0, n);
      expect(p.of("hold", id), `id of ${n} bytes`).to.equal(`0x${reference(key, "hold", id)}`);
    }
  });

  it("handles ids longer than its scratch buffer", () => {
    const key = new Uint8Array(32).fill(7);
    const id = "é".repeat(2000);
    expect(new Pseudonymizer(key).of("transfer", id)).to.equal(`0x${reference(key, "transfer", id)}`);
  });
});
