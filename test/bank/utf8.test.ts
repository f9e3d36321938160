import { expect } from "chai";
import fc from "fast-check";
import { isUtf8 } from "node:buffer";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCamt053 } from "../../src/bank/camt053";
import { MalformedStatementError } from "../../src/bank/errors";
import { parseStatementJson } from "../../src/bank/json-feed";
import { decodeUtf8Strict, firstInvalidUtf8 } from "../../src/bank/utf8";

const fixture = (name: string) => readFileSync(join(__dirname, "fixtures", name));

function refusedAt(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(MalformedStatementError);
    expect((e as Error).message).to.match(/not UTF-8/);
    return (e as MalformedStatementError & { where: string }).where;
  }
  throw new Error("expected a MalformedStatementError");
}

describe("bank: statements must be UTF-8", () => {
  it("firstInvalidUtf8 agrees with Node's validator, and everything before the fault is UTF-8 (property)", () => {
    // Bytes near the UTF-8 edge cases: lead bytes, continuations, overlongs, surrogates, > U+10FFFF.
    const interesting = fc.constantFrom(
      0x00,
      0x41,
      0x7f,
      0x80,
      0x8f,
      0x90,
      0x9f,
      0xa0,
      0xbf,
      0xc0,
      0xc1,
      0xc2,
      0xdf,
      0xe0,
      0xed,
      0xef,
      0xf0,
      0xf4,
      0xf5,
      0xff,
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(interesting, fc.integer({ min: 0, max: 255 })), { maxLength: 24 }),
        (a) => {
          const b = Uint8Array.from(a);
          const at = firstInvalidUtf8(b);
          expect(at === -1, `valid: ${Buffer.from(b).toString("hex")}`).to.equal(isUtf8(b));
          if (at >= 0) expect(isUtf8(b.subarray(0, at))).to.equal(true);
        },
      ),
      { numRuns: 5000 },
    );
    // Valid text of every length class from any starting point.
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        expect(firstInvalidUtf8(Buffer.from(s, "utf8"))).to.equal(-1);
        expect(decodeUtf8Strict(Buffer.from(s, "utf8"))).to.equal(s);
      }),
    );
  });

  it("refuses a camt.053 statement with a byte that is not UTF-8, naming its offset", () => {
    const good = fixture("camt053-v08-cny.xml");
    const at = good.indexOf("<EndToEndId>") + "<EndToEndId>".length + 2;
    for (const bad of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const doc = Buffer.concat([good.subarray(0, at), Buffer.from(bad), good.subarray(at)]);
      expect(
        refusedAt(() => parseCamt053(doc)),
        Buffer.from(bad).toString("hex"),
      ).to.equal(`byte ${at}`);
    }
    // Cut inside a character at the very end (after the well-formed document).
    expect(refusedAt(() => parseCamt053(Buffer.concat([good, Buffer.from([0xe4, 0xb8])])))).to.equal(
      `byte ${good.length}`,
    );
    // A fault far beyond the first 1 MiB chunk is located exactly too.
    const pad = Buffer.alloc(3 << 20, 0x20);
    const far = Buffer.concat([good.subarray(0, at), pad, Buffer.from([0x80]), good.subarray(at)]);
    expect(refusedAt(() => parseCamt053(far))).to.equal(`byte ${at + pad.length}`);
    // The same bytes, valid, still parse (a multi-byte character and a BOM).
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), good]);
    expect(parseCamt053(bom).statements.length).to.equal(parseCamt053(good).statements.length);
  });

  it("refuses a JSON feed with a byte that is not UTF-8", () => {
    const good = fixture("statement-v1-eur.json");
    const at = good.indexOf('"version"') + 2;
    const doc = Buffer.concat([good.subarray(0, at), Buffer.from([0xc0, 0xaf]), good.subarray(at)]);
    expect(refusedAt(() => parseStatementJson(doc))).to.equal(`byte ${at}`);
    expect(parseStatementJson(good).statements.length).to.be.greaterThan(0);
  });
});
