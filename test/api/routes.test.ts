import fs from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { createApiApp, startApiServer } from "../../src/api/app";
import { openApiKeyStore } from "../../src/api/auth/keys";
import { silentLogger } from "../../src/logging";
import { seedLedger, startApiStack, type ApiStack } from "./support/stack";

interface Operation {
  method: string;
  path: string;
  operationId: string;
  public: boolean;
  roles: string[];
  hasBody: boolean;
}

/** Every operation of the served OpenAPI document (which is generated from the validating schemas). */
function operationsOf(doc: any): Operation[] {
  const ops: Operation[] = [];
  for (const [p, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const roles = /Roles: ([a-z, ]+)\./.exec(op.description ?? "")?.[1].split(", ") ?? [];
      ops.push({
        method: method.toUpperCase(),
        path: p,
        operationId: op.operationId,
        public: (op.security ?? []).length === 0,
        roles,
        hasBody: Boolean(op.requestBody),
      });
    }
  }
  return ops;
}

function expectErrorShape(r: { status: number; body: any }, what: string) {
  expect(r.status, `${what}: ${JSON.stringify(r.body)}`).to.be.within(400, 499);
  expect(r.body?.error?.code, what)
    .to.be.a("string")
    .and.match(/^[A-Z_]+$/);
  expect(r.body.error.message, what).to.be.a("string");
}

describe("api: every route — success, auth failures, malformed input (fuzzed from the schemas)", function () {
  let s: ApiStack;
  let ops: Operation[];
  const later = Math.floor(Date.now() / 1000) + 86_400;

  /** A valid request per operation; the table must cover the whole OpenAPI document. */
  const valid: Record<
    string,
    { path: string; key: keyof ApiStack["keys"] | null; body?: unknown; status: number }
  > = {
    getHealth: { path: "/v1/health", key: null, status: 200 },
    getReadiness: { path: "/v1/ready", key: null, status: 200 },
    getChainConfig: { path: "/v1/config", key: null, status: 200 },
    openAccount: {
      path: "/v1/accounts",
      key: "platform",
      body: { id: "dave", type: "customer", asset: "EUR", scale: 2, metadata: { kyc: "ok" } },
      status: 201,
    },
    getAccount: { path: "/v1/accounts/alice", key: "alice", status: 200 },
    getBalance: { path: "/v1/accounts/alice/balance", key: "alice", status: 200 },
    freezeAccount: { path: "/v1/accounts/dave/freeze", key: "platform", status: 200 },
    unfreezeAccount: { path: "/v1/accounts/dave/unfreeze", key: "platform", status: 200 },
    closeAccount: { path: "/v1/accounts/dave/close", key: "platform", status: 200 },
    setAccountStatus: {
      path: "/v1/accounts/carol/status",
      key: "platform",
      body: { status: "active" },
      status: 200,
    },
    submitTransfer: {
      path: "/v1/transfers",
      key: "platform",
      body: { id: "r-1", debitAccountId: "alice", creditAccountId: "bob", amount: "5", kind: "transfer" },
      status: 201,
    },
    submitTransferBatch: {
      path: "/v1/transfers/batch",
      key: "platform",
      body: {
        transfers: [
          { id: "r-2", debitAccountId: "bob", creditAccountId: "alice", amount: "5", kind: "transfer" },
        ],
      },
      status: 201,
    },
    getTransfer: { path: "/v1/transfers/dep-alice", key: "auditor", status: 200 },
    getTransferReceipt: { path: "/v1/transfers/dep-alice/receipt", key: "alice", status: 200 },
    openEscrow: {
      path: "/v1/escrows",
      key: "platform",
      body: {
        id: "e-1",
        payer: "alice",
        payee: "bob",
        asset: "EUR",
        amount: "10",
        approvers: ["0x" + "11".repeat(20)],
        threshold: 1,
        expiresAt: later,
        agreementHash: "0x" + "22".repeat(32),
      },
      status: 201,
    },
    getEscrow: { path: "/v1/escrows/e-1", key: "bob", status: 200 },
    listEscrowReceipts: { path: "/v1/escrows/e-1/receipts", key: "auditor", status: 200 },
    getReceipt: { path: "/v1/receipts/0", key: "platform", status: 200 },
    listSubjectReceipts: { path: "/v1/receipts/by-subject/account/alice", key: "alice", status: 200 },
    getLogHead: { path: "/v1/log/head", key: null, status: 200 },
    listAnchoredHeads: { path: "/v1/log/anchors?limit=5", key: null, status: 200 },
    getAnchoredHead: { path: "/v1/log/anchors/0", key: null, status: 200 },
    getConsistencyProof: { path: "/v1/log/consistency?from=1&to=2", key: null, status: 200 },
    getProofByLeafHash: { path: "", key: null, status: 200 }, // filled in `before`
    listAuditEvents: { path: "/v1/audit/events?from=1&limit=5", key: "auditor", status: 200 },
  };

  before(async () => {
    s = await startApiStack();
    await seedLedger(s);
    await s.anchor();
    const [ev] = await s.ledger.getEvents(0, 1);
    valid.getProofByLeafHash.path = `/v1/proofs/by-leaf-hash/0x${Buffer.from(ev.leafHash).toString("hex")}`;
    const doc = await s.call("GET", "/v1/openapi.json");
    expect(doc.status).to.equal(200);
    ops = operationsOf(doc.body);
  });
  after(async () => {
    await s?.stop();
  });

  it("publishes an OpenAPI 3.1 document with every route, its roles and the one error shape", async () => {
    const doc = (await s.call("GET", "/v1/openapi.json")).body;
    expect(doc.openapi).to.equal("3.1.0");
    expect(ops.map((o) => o.operationId).sort()).to.deep.equal(Object.keys(valid).sort());
    expect(doc.components.schemas).to.include.keys(
      "Error",
      "Receipt",
      "LeafProof",
      "TransferRequest",
      "OpenEscrowRequest",
    );
    for (const o of ops.filter((x) => !x.public)) expect(o.roles.length, o.operationId).to.be.greaterThan(0);
  });

  it("answers each route's valid request with success", async () => {
    // In document order is not dependency order: accounts/escrows first, then the rest.
    const order = ["openAccount", "freezeAccount", "unfreezeAccount", "closeAccount", "openEscrow"];
    const ids = [...order, ...Object.keys(valid).filter((k) => !order.includes(k))];
    for (const id of ids) {
      const op = ops.find((o) => o.operationId === id)!;
      const v = valid[id];
      const r = await s.call(op.method, v.path, { key: v.key ? s.keys[v.key] : undefined, body: v.body });
      expect(r.status, `${id}: ${JSON.stringify(r.body)}`).to.equal(v.status);
    }
  });

  it("refuses every non-public route without a key, with a bad or revoked key, and with a disallowed role", async () => {
    const roleKey: Record<string, keyof ApiStack["keys"]> = {
      platform: "platform",
      auditor: "auditor",
      holder: "alice",
    };
    for (const op of ops.filter((o) => !o.public)) {
      const v = valid[op.operationId];
      const tries: { headers: Record<string, string> }[] = [
        { headers: {} },
        { headers: { authorization: "Bearer cal_not_a_key_at_all" } },
        { headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } },
        { headers: { authorization: `Bearer ${s.keys.revoked}` } },
      ];
      for (const t of tries) {
        const r = await s.call(op.method, v.path, { body: v.body, headers: t.headers });
        expect(r.status, `${op.operationId} ${JSON.stringify(t)}`).to.equal(401);
        expect(r.body.error.code).to.equal("UNAUTHENTICATED");
      }
      for (const role of Object.keys(roleKey).filter((x) => !op.roles.includes(x))) {
        const r = await s.call(op.method, v.path, { key: s.keys[roleKey[role]], body: v.body });
        expect(r.status, `${op.operationId} as ${role}`).to.equal(403);
        expect(r.body.error.code).to.equal("FORBIDDEN");
      }
    }
  });

  it("answers a body shorter than its Content-Length with 400 and the JSON error shape, and changes nothing", async () => {
    const before = await s.ledger.eventCount();
    const { hostname, port } = new URL(s.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(Number(port), hostname, () => {
        sock.write(
          `POST /v1/transfers HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${s.keys.platform}\r\n` +
            `Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"id":"short-1"}`,
        );
        sock.end(); // the rest of the promised 500 bytes never comes
      });
      let out = "";
      sock.on("data", (d) => (out += d.toString()));
      sock.on("close", () => resolve(out));
      sock.on("error", reject);
    });
    const [head, body] = raw.split("\r\n\r\n");
    expect(head).to.match(/^HTTP\/1\.1 400 /);
    expect(head).to.match(/content-type: application\/json/i);
    expect(JSON.parse(body!).error.code).to.equal("MALFORMED_HTTP_REQUEST");
    expect(await s.ledger.eventCount()).to.equal(before);
  });

  it("rejects malformed JSON, other content types and oversized bodies with 4xx and the error shape", async () => {
    for (const op of ops.filter((o) => o.hasBody)) {
      const v = valid[op.operationId];
      const key = s.keys[v.key!];
      const bad = await s.call(op.method, v.path, {
        key,
        rawBody: '{"id": "x",',
        headers: { "content-type": "application/json" },
      });
      expectErrorShape(bad, op.operationId);
      expect(bad.body.error.code).to.equal("MALFORMED_JSON");
      const text = await s.call(op.method, v.path, {
        key,
        rawBody: "id=x",
        headers: { "content-type": "text/plain" },
      });
      expect(text.status).to.equal(415);
      const none = await s.call(op.method, v.path, { key });
      expect(none.status).to.be.oneOf([400, 415]);
      const huge = await s.call(op.method, v.path, { key, body: { pad: "x".repeat(1024 * 1024 + 10) } });
      expect(huge.status).to.equal(413);
      expect(huge.body.error.code).to.equal("PAYLOAD_TOO_LARGE");
    }
  });

  it("never answers 5xx to fuzzed bodies, paths and queries (fast-check)", async () => {
    const jsonBody = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })),
    );
    for (const op of ops) {
      const v = valid[op.operationId];
      const key = v.key ? s.keys[v.key] : undefined;
      if (op.hasBody) {
        const base = v.body as Record<string, unknown>;
        const mutated = fc
          .tuple(
            fc.constantFrom(...Object.keys(base)),
            fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 })),
            fc.boolean(),
          )
          .map(([field, value, extra]) => {
            const b: Record<string, unknown> = { ...base, id: `fz-${Math.random().toString(36).slice(2)}` };
            if (value === undefined) delete b[field];
            else b[field] = value;
            if (extra) b.unexpected = 1;
            return b;
          });
        await fc.assert(
          fc.asyncProperty(fc.oneof(jsonBody, mutated), async (body) => {
            const r = await s.call(op.method, v.path, { key, body });
            expect(
              r.status,
              `${op.operationId} ${JSON.stringify(body)} → ${JSON.stringify(r.body)}`,
            ).to.be.below(500);
            if (r.status >= 400) expectErrorShape(r, op.operationId);
          }),
          { numRuns: 40 },
        );
      }
      const segments = op.path.split("/");
      if (op.path.includes("{")) {
        await fc.assert(
          fc.asyncProperty(fc.string({ minLength: 1, maxLength: 80 }), async (raw) => {
            const p = segments.map((seg) => (seg.startsWith("{") ? encodeURIComponent(raw) : seg)).join("/");
            const r = await s.call(op.method, p, { key, body: v.body });
            expect(r.status, `${op.operationId} ${p}`).to.be.below(500);
            if (r.status >= 400) expectErrorShape(r, op.operationId);
          }),
          { numRuns: 25 },
        );
      }
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 }), async (k, val) => {
          const base = v.path.includes("?") ? `${v.path}&` : `${v.path}?`;
          const r = await s.call(op.method, `${base}${encodeURIComponent(k)}=${encodeURIComponent(val)}`, {
            key,
            body: v.body,
          });
          expect(r.status, `${op.operationId} ?${k}=${val}`).to.be.below(500);
          if (r.status >= 400) expectErrorShape(r, op.operationId);
        }),
        { numRuns: 15 },
      );
    }
  });

  it("answers GET routes identically through express alone and through the lean GET path", async () => {
    const app = createApiApp({
      ledger: s.ledger,
      log: s.integrator.reader,
      anchors: s.relayer.anchors,
      auth: openApiKeyStore(s.db, { cacheTtlMs: 0 }),
      logger: silentLogger,
      options: { rateLimit: false },
    });
    const plain = http.createServer(app);
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", () => r()));
    const base = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    try {
      const cases: [string, string | undefined][] = [
        [valid.getTransferReceipt.path, s.keys.alice],
        ["/v1/transfers/dep-bob/receipt", s.keys.alice],
        ["/v1/transfers/dep-bob", undefined],
        ["/v1/transfers/dep-bob", "nope"],
        ["/v1/accounts/alice/balance", s.keys.auditor],
        ["/v1/accounts/%E0%A4%A/balance", s.keys.auditor],
        ["/v1/log/anchors?limit=x", undefined],
        ["/v1/log/anchors?limit=1&limit=2", undefined],
        ["/v1/log/anchors/99999", undefined],
        [valid.getProofByLeafHash.path + "/", undefined],
      ];
      for (const [p, key] of cases) {
        const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
        const [a, b] = await Promise.all([fetch(base + p, { headers }), fetch(s.url + p, { headers })]);
        expect(a.status, p).to.equal(b.status);
        const [ja, jb] = [await a.json(), await b.json()];
        if (ja.issuedAt) ja.issuedAt = jb.issuedAt = "";
        expect(ja, p).to.deep.equal(jb);
        if (a.status >= 400) expectErrorShape({ status: a.status, body: ja }, p);
      }
    } finally {
      await new Promise((r) => plain.close(r));
    }
  });

  it("changes nothing on a rejected write", async () => {
    const before = await s.ledger.eventCount();
    const r = await s.call("POST", "/v1/transfers", {
      key: s.keys.platform,
      body: {
        id: "nothing",
        debitAccountId: "alice",
        creditAccountId: "bob",
        amount: "-5",
        kind: "transfer",
      },
    });
    expect(r.status).to.equal(400);
    expect(r.body.error.issues[0].path).to.deep.equal(["amount"]);
    const floaty = await s.call("POST", "/v1/transfers", {
      key: s.keys.platform,
      body: { id: "nothing", debitAccountId: "alice", creditAccountId: "bob", amount: 5.5, kind: "transfer" },
    });
    expect(floaty.status).to.equal(400);
    expect(await s.ledger.eventCount()).to.equal(before);
  });

  it("reports readiness with the chain and the relayer, and the chain configuration", async () => {
    const ready = await s.call("GET", "/v1/ready");
    expect(ready.status).to.equal(200);
    expect(ready.body.ready).to.equal(true);
    expect(ready.body.checks.chain.ok).to.equal(true);
    expect(ready.body.checks.relayer).to.include({ ok: true, leader: true });
    const cfg = await s.call("GET", "/v1/config");
    expect(cfg.body).to.deep.equal({
      chainId: s.chain.deployment.chainId,
      rpcUrl: s.chain.node.rpcUrl,
      custodyAnchor: s.chain.deployment.custodyAnchor.toLowerCase(),
      custodyEscrow: s.chain.deployment.custodyEscrow.toLowerCase(),
    });
  });

  it("exposes Prometheus request counts and latency histograms per route template", async () => {
    const m = await s.call("GET", "/metrics");
    expect(m.status).to.equal(200);
    expect(m.headers.get("content-type")).to.match(/text\/plain/);
    expect(m.body).to.match(
      /custody_api_requests_total\{method="GET",route="\/v1\/accounts\/\{id\}\/balance",status="200"\} \d+/,
    );
    expect(m.body).to.match(
      /custody_api_requests_total\{method="POST",route="\/v1\/transfers",status="401"\} \d+/,
    );
    expect(m.body).to.match(
      /custody_api_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/v1\/health"\} \d+/,
    );
    // Raw paths (ids, hashes) never become labels.
    expect(m.body).not.to.contain("dep-alice");
  });
});

describe("api: rate limit, unknown routes and the receipt page", function () {
  let s: ApiStack;
  before(async () => {
    s = await startApiStack({ options: { rateLimit: { ratePerSecond: 0.001, burst: 3 } } });
  });
  after(async () => {
    await s?.stop();
  });

  it("limits each key (and each anonymous client) to its own budget, answering 429 with Retry-After", async () => {
    for (let i = 0; i < 3; i++)
      expect((await s.call("GET", "/v1/log/head", { key: s.keys.auditor })).status).to.equal(200);
    const limited = await s.call("GET", "/v1/log/head", { key: s.keys.auditor });
    expect(limited.status).to.equal(429);
    expect(limited.body.error.code).to.equal("RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).to.be.greaterThan(0);
    // Another key still has its budget; so has an anonymous caller.
    expect((await s.call("GET", "/v1/log/head", { key: s.keys.alice })).status).to.equal(200);
    expect((await s.call("GET", "/v1/log/head")).status).to.equal(200);
  });

  it("answers unknown routes with 404 ROUTE_NOT_FOUND in the error shape", async () => {
    for (const [m, p] of [
      ["GET", "/v1/nothing"],
      ["DELETE", "/v1/accounts/alice"],
      ["GET", "/nothing"],
    ]) {
      const r = await s.call(m, p);
      expect(r.status).to.equal(404);
      expect(r.body.error.code).to.equal("ROUTE_NOT_FOUND");
    }
  });

  it("serves the receipt page from webDir at /", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-web-"));
    fs.writeFileSync(path.join(dir, "index.html"), "<!doctype html><title>receipt checker</title>");
    const app = createApiApp({
      ledger: s.ledger,
      log: s.integrator.reader,
      anchors: s.relayer.anchors,
      auth: openApiKeyStore(s.db),
      webDir: dir,
      logger: silentLogger,
    });
    const server = await startApiServer(app);
    try {
      const page = await fetch(`${server.url}/`);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.contain("receipt checker");
      expect((await fetch(`${server.url}/v1/health`)).status).to.equal(200);
    } finally {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
