import { expect } from "chai";
import fc from "fast-check";
import pg from "pg";
import { arrayArg, arrayBinary, arrayText } from "../../src/db/pg-array";
import { InvariantError } from "../../src/errors";
import { describeWithPg } from "../support/pg";

// Elements with every character the array and literal syntaxes give a meaning to.
const element = fc.oneof(
  fc.string({ unit: fc.constantFrom(...`"\\'{},; NULLnul\t\n€ü`.split("")) }),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("NULL", "null", "", " ", "{}", '""'),
);
const values = fc.array(fc.option(element, { nil: null }), { maxLength: 20 });

// Decimal integers of every size up to numeric's 2^128 range and beyond, signed, with leading zeros.
const decimal = fc.oneof(
  fc.bigInt({ min: -(2n ** 140n), max: 2n ** 140n }).map(String),
  fc.bigInt({ min: 0n, max: 99_999n }).map(String),
  fc.stringMatching(/^0{1,6}[0-9]{0,9}$/),
);

describe("PostgreSQL array text (pure)", () => {
  it("quotes strings, writes null as NULL and numbers bare", () => {
    expect(arrayText(["a", null, 3, 'q"b\\'])).to.equal('{"a",NULL,3,"q\\"b\\\\"}');
    expect(arrayText([])).to.equal("{}");
    expect(arrayArg(["it's", "b\\"])).to.equal(`E'{"it''s","b\\\\\\\\"}'`);
  });
});

describeWithPg("PostgreSQL array text: what the server reads back", (ctx) => {
  // Each test its own connection: the suite's database is dropped (with FORCE) before later hooks run.
  const withClient = async (body: (c: pg.Client) => Promise<void>) => {
    const c = new pg.Client({ connectionString: ctx.url });
    await c.connect();
    try {
      await body(c);
    } finally {
      await c.end();
    }
  };

  it("binary text[], numeric[] and bigint[] parameters read back as the values given", () =>
    withClient(async (client) => {
      await fc.assert(
        fc.asyncProperty(
          values,
          fc.array(fc.option(decimal, { nil: null }), { maxLength: 20 }),
          fc.array(fc.option(fc.maxSafeInteger(), { nil: null }), {
            maxLength: 20,
          }),
          async (texts, decimals, ints) => {
            // numeric and bigint read back as text: node-postgres would parse them into floats.
            const r = await client.query(
              "SELECT $1::text[] AS t, $2::numeric[]::text[] AS n, $3::bigint[]::text[] AS b",
              [arrayBinary("text", texts), arrayBinary("numeric", decimals), arrayBinary("int8", ints)],
            );
            expect(r.rows[0].t).to.deep.equal(texts);
            expect(r.rows[0].n).to.deep.equal(
              decimals.map((d) => (d === null ? null : BigInt(d).toString())),
            );
            expect(r.rows[0].b).to.deep.equal(ints.map((i) => (i === null ? null : String(i))));
          },
        ),
        { numRuns: 300 },
      );
    }));

  it("a binary array refuses what its type cannot hold, before anything is sent", () => {
    // Elements come from the ledger's own rows: one that does not fit is a bug, not bad input.
    expect(() => arrayBinary("numeric", ["1.5"])).to.throw(InvariantError, /decimal integer/);
    expect(() => arrayBinary("numeric", ["12a"])).to.throw(InvariantError, /decimal integer/);
    expect(() => arrayBinary("numeric", ["-"])).to.throw(InvariantError, /decimal integer/);
    expect(() => arrayBinary("int8", [2 ** 60])).to.throw(InvariantError, /safe integer/);
  });

  it("a bound text[] parameter and an inline literal both read back as the values given", () =>
    withClient(async (client) => {
      await fc.assert(
        fc.asyncProperty(values, async (vs) => {
          const bound = await client.query("SELECT $1::text[] AS a", [arrayText(vs)]);
          expect(bound.rows[0].a).to.deep.equal(vs);
          const inline = await client.query(`SELECT ${arrayArg(vs)}::text[] AS a`);
          expect(inline.rows[0].a).to.deep.equal(vs);
        }),
        { numRuns: 300 },
      );
    }));

  it("numbers and numeric text read back as numeric[] and bigint[]", () =>
    withClient(async (client) => {
      // Read back as text: node-postgres would parse numeric[] into floats.
      const r = await client.query("SELECT $1::numeric[]::text[] AS n, $2::bigint[] AS b", [
        arrayText(["340282366920938463463374607431768211455", "0", null]),
        arrayText([0, 9007199254740991, null]),
      ]);
      expect(r.rows[0].n).to.deep.equal(["340282366920938463463374607431768211455", "0", null]);
      expect(r.rows[0].b).to.deep.equal(["0", "9007199254740991", null]);
    }));
});
