import { createHash } from "node:crypto";
import http from "node:http";
import { expect } from "chai";
import fc from "fast-check";
import type { Database } from "../../src/db/database";
import { ed25519NoteSigner } from "../../src/protocol/note";
import {
  type ApiOperation,
  type JsonSchema,
  SchemaArbitraries,
  operationsOf,
} from "../support/openapi-arbitrary";
import { startRiskApi } from "../risk/api-stack";
import { seedLedger, startApiStack, type ApiStack } from "./support/stack";

/**
 * Property-based fuzzing of the whole API, generated from its own OpenAPI document: for every
 * operation, valid-shaped requests with random values, and invalid ones (wrong types, unknown and
 * missing fields, out-of-range values, huge strings, bad path parameters and queries, wrong content
 * types, malformed JSON, wrong or missing keys). Every answer must be below 500, every error must
 * have the documented shape, and a rejected request must change no row of the database.
 *
 * FUZZ_SEED and FUZZ_RUNS (per operation) replay or widen a run; the seed is printed on failure.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

interface FuzzRequest {
  kind: string;
  method: string;
  path: string;
  key?: string;
  contentType?: string;
  body?: string;
  /** The request is invalid or unauthorised: it must be answered 4xx. */
  mustReject: boolean;
  /** Exact statuses required (auth failures). */
  statuses?: number[];
}

/** A fingerprint of every row of every table: equal before and after means nothing changed. */
function snapshot(db: Database): string {
  if (db.kind !== "sqlite") throw new Error("the fuzz test snapshots a SQLite database");
  const h = createHash("sha256");
  const tables = db.sqlite
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all() as { name: string }[];
  for (const { name } of tables) {
    h.update(`\n#${name}\n`);
    for (const row of db.sqlite.prepare(`SELECT * FROM "${name}"`).iterate())
      h.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString("hex") : v)) + "\n");
  }
  return h.digest("hex");
}

/** An API under test: its URL, its SQLite database, one key per role, and known ids to reach past 404. */
interface FuzzTarget {
  url: string;
  db: Database;
  roleKeys: Record<string, string>;
  /** A revoked key (refused like an unknown one). */
  revokedKey?: string;
  known: string[];
  /** Whether valid-shaped requests are expected to write (they must, somewhere, when true). */
  writes: boolean;
  /** The operations to fuzz (default: all). */
  only?: (op: ApiOperation) => boolean;
  stop(): Promise<void>;
}

async function mainStack(): Promise<FuzzTarget & { s: ApiStack }> {
  const s = await startApiStack({
    bank: true,
    checkpoints: {
      origin: "custody.test/log",
      signer: ed25519NoteSigner("custody.test/log", new Uint8Array(32)),
    },
  });
  await seedLedger(s);
  await s.anchor();
  const [ev] = await s.ledger.getEvents(0, 1);
  return {
    s,
    url: s.url,
    db: s.db,
    roleKeys: {
      platform: s.keys.platform,
      auditor: s.keys.auditor,
      custodian: s.keys.custodian,
      holder: s.keys.alice,
    },
    revokedKey: s.keys.revoked,
    writes: true,
    known: [
      ...["alice", "bob", "carol", "bank", "escrow-eur", "dep-alice", "dep-bob", "EUR", "transfer"],
      ...["0", "1", "2", "000", `0x${Buffer.from(ev.leafHash).toString("hex")}`],
    ],
    stop: () => s.stop(),
  };
}

async function riskStack(): Promise<FuzzTarget> {
  const r = await startRiskApi();
  const { platform, auditor, operator, checker, holder } = r.keys;
  return {
    url: r.server.url,
    db: r.env.db,
    roleKeys: { platform, auditor, operator, checker, holder },
    writes: false,
    known: ["alice", "bob", "acme", "cash-desk", "swift", "CNY", "open", "0", "1"],
    // The rest of this document is fuzzed with a chain and a log above; this server has neither.
    only: (op) => /^\/v1\/(alerts|approvals)/.test(op.path),
    stop: () => r.stop(),
  };
}

fuzzSuite("the ledger, proof, bank and tlog API", mainStack, (ops) => {
  const ids = ops.map((o) => o.operationId);
  expect(ids).to.include.members(["openAccount", "submitTransfer", "getHashTile", "getEntryBundle"]);
  expect(ops.some((o) => o.path.startsWith("/v1/bank/"))).to.equal(true);
});
fuzzSuite("the risk API (alerts, approvals)", riskStack, (ops) => {
  expect(ops.some((o) => o.path.startsWith("/v1/alerts"))).to.equal(true);
  expect(ops.some((o) => o.path.startsWith("/v1/approvals"))).to.equal(true);
});

function fuzzSuite(
  name: string,
  start: () => Promise<FuzzTarget>,
  covers: (ops: ApiOperation[]) => void,
): void {
  describe(`api fuzz: ${name}, generated from its OpenAPI document (fast-check)`, function () {
    this.timeout(180_000);
    let t: FuzzTarget;
    let ops: ApiOperation[];
    let arbs: SchemaArbitraries;
    let roleKeys: Record<string, string>;
    let state: string;
    let initial: string;
    let successes = 0;
    const agent = new http.Agent({ keepAlive: true });

    before(async () => {
      t = await start();
      const res = await fetch(`${t.url}/v1/openapi.json`);
      const doc = await res.json();
      ops = operationsOf(doc).filter((op) => t.only?.(op) ?? true);
      arbs = new SchemaArbitraries(doc, t.known);
      roleKeys = t.roleKeys;
      state = initial = snapshot(t.db);
    });
    after(async () => {
      agent.destroy();
      await t?.stop();
    });

    it("reads every operation of the document", () => {
      expect(ops.length).to.be.greaterThan(5);
      covers(ops);
    });

    it("has a state check that sees a single changed field", () => {
      if (t.db.kind !== "sqlite") throw new Error("SQLite expected");
      const sqlite = t.db.sqlite;
      sqlite.exec("SAVEPOINT fuzz_check");
      try {
        sqlite
          .prepare(
            "UPDATE api_keys SET revoked = 1 - revoked WHERE rowid = (SELECT min(rowid) FROM api_keys)",
          )
          .run();
        expect(snapshot(t.db)).to.not.equal(state);
      } finally {
        sqlite.exec("ROLLBACK TO fuzz_check; RELEASE fuzz_check");
      }
      expect(snapshot(t.db)).to.equal(state);
    });

    /** Fills a path template, encoding values (but for `encoded`); tile indices keep their slashes. */
    function fillPath(op: ApiOperation, values: Record<string, string>, encoded?: string): string {
      const tlog = op.path.startsWith("/tlog/");
      return op.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
        if (name === encoded) return values[name];
        const e = encodeURIComponent(values[name]);
        return tlog ? e.replace(/%2F/g, "/") : e;
      });
    }

    function requestsFor(op: ApiOperation): fc.Arbitrary<FuzzRequest> {
      const rightKeys = op.public
        ? [undefined, ...Object.values(roleKeys)]
        : op.roles.map((r) => roleKeys[r]);
      const wrongKeys = Object.entries(roleKeys)
        .filter(([r]) => !op.roles.includes(r))
        .map(([, k]) => k);
      const pathValues = fc.record(
        Object.fromEntries(
          op.pathParams.map((p) => [p.name, arbs.valid(p.schema).map((v) => String(v))]),
        ) as Record<string, fc.Arbitrary<string>>,
      );
      const queryValues = fc.record(
        Object.fromEntries(op.queryParams.map((q) => [q.name, arbs.valid(q.schema).map((v) => String(v))])),
        { requiredKeys: op.queryParams.filter((q) => q.required).map((q) => q.name) as never[] },
      );
      const qs = (q: Record<string, string | undefined>) => {
        const sp = new URLSearchParams(
          Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined),
        ).toString();
        return sp ? `?${sp}` : "";
      };
      const json = op.body.find((b) => b.contentType === "application/json" && !isRawString(arbs, b.schema));
      const raws = op.body.filter((b) => b !== json);
      const validBody: fc.Arbitrary<{ contentType?: string; body?: string }> = json
        ? arbs.valid(json.schema).map((v) => ({ contentType: "application/json", body: JSON.stringify(v) }))
        : raws.length
          ? fc.record({
              contentType: fc.constantFrom(...raws.map((r) => r.contentType)),
              body: fc.oneof(fc.string({ maxLength: 200 }), fc.constant("<Document/>"), fc.constant("{}")),
            })
          : fc.constant({});
      const base = fc
        .record({
          params: pathValues,
          path: fc.constant(""),
          query: queryValues,
          key: fc.constantFrom(...rightKeys),
          body: validBody,
        })
        .map((b) => ({ ...b, path: fillPath(op, b.params) }));
      const cases: fc.Arbitrary<FuzzRequest>[] = [
        base.map((b) => ({
          kind: "valid-shaped",
          method: op.method,
          path: b.path + qs(b.query),
          key: b.key,
          ...b.body,
          mustReject: false,
        })),
      ];
      if (!op.public) {
        const bad = fc.constantFrom<string | undefined>(
          undefined,
          "cal_not_a_key_at_all",
          "",
          ...(t.revokedKey ? [t.revokedKey] : []),
          ...wrongKeys,
        );
        cases.push(
          fc.tuple(base, bad).map(([b, key]) => ({
            kind: "wrong or missing key",
            method: op.method,
            path: b.path + qs(b.query),
            key,
            ...b.body,
            mustReject: true,
            statuses: key !== undefined && wrongKeys.includes(key) ? [403] : [401],
          })),
        );
      }
      // Bad path parameters: random text, huge, broken percent-encoding, traversal.
      if (op.pathParams.length)
        cases.push(
          fc
            .tuple(
              base,
              fc.constantFrom(...op.pathParams.map((p) => p.name)),
              fc.oneof(
                fc.string({ minLength: 1, maxLength: 60, unit: "grapheme" }).map(encodeURIComponent),
                fc.constant("a".repeat(5000)),
                fc.constantFrom(
                  "%E0%A4%A",
                  "%",
                  "..",
                  "%2e%2e%2f",
                  "%00",
                  "-1",
                  "1e3",
                  "0x10",
                  "%201",
                  "1%0A",
                  "99999999999999999999",
                ),
              ),
            )
            .map(([b, name, bad]) => {
              const p = fillPath(op, { ...b.params, [name]: bad }, name);
              return {
                kind: "bad path parameter",
                method: op.method,
                path: p + qs(b.query),
                key: b.key,
                ...b.body,
                mustReject: false,
              };
            }),
        );
      // Queries: unknown parameters, out-of-range and wrongly typed values.
      const unknownQuery = fc
        .tuple(base, fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 40 }))
        .filter(([, k]) => !op.queryParams.some((q) => q.name === k))
        .map(([b, k, v]) => ({
          kind: "unknown query parameter",
          method: op.method,
          path: b.path + qs({ ...b.query, [k]: v }),
          key: b.key,
          ...b.body,
          mustReject: !op.path.startsWith("/tlog/"),
        }));
      cases.push(unknownQuery);
      for (const q of op.queryParams) {
        const bad = arbs.outOfRange(q.schema);
        if (bad)
          cases.push(
            fc.tuple(base, bad).map(([b, v]) => ({
              kind: `query ${q.name} out of range`,
              method: op.method,
              path: b.path + qs({ ...b.query, [q.name]: String(v) }),
              key: b.key,
              ...b.body,
              mustReject: true,
            })),
          );
      }
      // Bodies.
      if (json) {
        const schema = arbs.resolve(json.schema);
        const props = Object.entries(schema.properties ?? {});
        const bodyCase = (kind: string, body: fc.Arbitrary<string>, contentType = "application/json") =>
          fc.tuple(base, body).map(([b, text]) => ({
            kind,
            method: op.method,
            path: b.path + qs(b.query),
            key: b.key,
            contentType,
            body: text,
            mustReject: true,
          }));
        const validObject = arbs.valid(json.schema) as fc.Arbitrary<Record<string, unknown>>;
        if (props.length) {
          cases.push(
            bodyCase(
              "wrong type",
              fc
                .tuple(validObject, fc.constantFrom(...props))
                .chain(([o, [k, ps]]) =>
                  arbs
                    .wrongType(ps)
                    .map((v) => JSON.stringify(v === undefined ? { ...o, [k]: {} } : { ...o, [k]: v })),
                ),
            ),
            bodyCase(
              "huge string",
              fc
                .tuple(validObject, fc.constantFrom(...props.map(([k]) => k)))
                .map(([o, k]) => JSON.stringify({ ...o, [k]: "x".repeat(200_000) })),
            ),
          );
          const ranged = props
            .map(([k, ps]) => [k, arbs.outOfRange(ps)] as const)
            .filter((x): x is [string, fc.Arbitrary<unknown>] => x[1] !== undefined);
          if (ranged.length)
            cases.push(
              bodyCase(
                "out of range",
                fc
                  .tuple(validObject, fc.constantFrom(...ranged))
                  .chain(([o, [k, bad]]) => bad.map((v) => JSON.stringify({ ...o, [k]: v }))),
              ),
            );
        }
        if (schema.additionalProperties === false)
          cases.push(
            bodyCase(
              "unknown field",
              fc
                .tuple(validObject, fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }))
                .filter(([, k]) => !(k in (schema.properties ?? {})) && k !== "__proto__")
                .map(([o, k, v]) => JSON.stringify({ ...o, [k]: v })),
            ),
          );
        const required = schema.required ?? [];
        if (required.length)
          cases.push(
            bodyCase(
              "missing required field",
              fc.tuple(validObject, fc.constantFrom(...required)).map(([o, k]) => {
                const c = { ...o };
                delete c[k];
                return JSON.stringify(c);
              }),
            ),
          );
        cases.push(
          bodyCase(
            "not an object",
            fc
              .oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.integer()))
              .map((v) => JSON.stringify(v)),
          ),
          bodyCase(
            "malformed JSON",
            validObject
              .map((o) => JSON.stringify(o))
              .chain((t) => fc.integer({ min: 1, max: Math.max(1, t.length - 1) }).map((n) => t.slice(0, n))),
          ),
          fc
            .tuple(
              validObject,
              fc.constantFrom(
                "text/plain",
                "application/xml",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
              ),
            )
            .chain(([o, ct]) => bodyCase("wrong content type", fc.constant(JSON.stringify(o)), ct)),
        );
      } else if (!raws.length)
        // An operation that takes no body must refuse one.
        cases.push(
          fc.tuple(base, fc.jsonValue({ maxDepth: 2 })).map(([b, v]) => ({
            kind: "unexpected body",
            method: op.method,
            path: b.path + qs(b.query),
            key: b.key,
            contentType: "application/json",
            body: JSON.stringify(v),
            mustReject: true,
          })),
        );
      return fc.oneof(...cases);
    }

    /** Raw HTTP (fetch would normalise `..` in paths and refuses GET bodies). */
    function send(r: FuzzRequest): Promise<{ status: number; type: string; text: string }> {
      const url = new URL(t.url);
      const headers: Record<string, string> = {};
      if (r.key !== undefined) headers.authorization = `Bearer ${r.key}`;
      if (r.contentType) headers["content-type"] = r.contentType;
      const body = r.body === undefined ? undefined : Buffer.from(r.body);
      if (body) headers["content-length"] = String(body.length);
      return new Promise((resolve, reject) => {
        const req = http.request(
          { host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 0,
                type: String(res.headers["content-type"] ?? ""),
                text: Buffer.concat(chunks).toString("utf8"),
              }),
            );
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    }

    it("answers no request with 5xx, every error in its documented shape, and changes nothing on rejection", async () => {
      for (const op of ops) {
        try {
          await fc.assert(
            fc.asyncProperty(requestsFor(op), async (req) => {
              const res = await send(req);
              const what = `${op.operationId} [${req.kind}] ${req.method} ${req.path.slice(0, 300)} ${
                req.contentType ?? ""
              } ${(req.body ?? "").slice(0, 300)} → ${res.status} ${res.text.slice(0, 300)}`;
              expect(res.status, what).to.be.below(500);
              if (res.status < 300) successes++;
              if (req.mustReject) expect(res.status, what).to.be.within(400, 499);
              if (req.statuses) expect(req.statuses, what).to.include(res.status);
              const after = snapshot(t.db);
              if (res.status >= 400) {
                const documented = op.responseTypes[String(res.status)] ?? [];
                if (documented.length && !documented.includes("application/json"))
                  expect(
                    documented.some((t) => res.type.startsWith(t.split(";")[0])),
                    what,
                  ).to.equal(true);
                else {
                  expect(res.type, what).to.match(/^application\/json/);
                  const body = JSON.parse(res.text);
                  expect(body?.error?.code, what)
                    .to.be.a("string")
                    .and.match(/^[A-Z_]+$/);
                  expect(body.error.message, what).to.be.a("string");
                }
                expect(after, `state changed on a rejected request: ${what}`).to.equal(state);
              }
              state = after;
            }),
            { seed: SEED, numRuns: RUNS },
          );
        } catch (e) {
          const err = e as Error;
          err.message = `fuzz seed ${SEED} (FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}), operation ${op.operationId}: ${err.message}`;
          throw err;
        }
      }
      // Valid-shaped requests did get through (and wrote, where the target's writes are reachable).
      expect(successes, "no request succeeded: the fuzzing never got past validation").to.be.greaterThan(0);
      if (t.writes) expect(state, "no request changed anything").to.not.equal(initial);
    });
  });
}

/** A body the route takes as raw bytes (documented as a plain string). */
function isRawString(arbs: SchemaArbitraries, schema: JsonSchema): boolean {
  return arbs.typesOf(schema).every((t) => t === "string");
}
