import { expect } from "chai";
import fc from "fast-check";
import pg from "pg";
import { arrayArg, arrayText } from "../../src/db/pg-array";
import { describeWithPg } from "../support/pg";

// Elements with every character the array and literal syntaxes give a meaning to.
const element = fc.oneof(
  fc.string({ unit: fc.constantFrom(...`"\\'{},; NULLnul\t\n€ü`.split("")) }),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("NULL", "null", "", " ", "{}", '""'),
);
const values = fc.array(fc.option(element, { nil: null }), { maxLength: 20 });

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
