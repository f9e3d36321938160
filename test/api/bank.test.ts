import { silentLogger } from "../../src/logging";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { createApiApp, startApiServer, type ApiServer } from "../../src/api/app";
import { apiMigrations, createApiKey, openApiKeyStore } from "../../src/api/auth/keys";
import { openCustodianBank, type CustodianBank } from "../../src/bank/bank";
import { writeCamt053 } from "../../src/bank/camt053-writer";
import { readLedgerDay } from "../../src/bank/ledger-view";
import { deriveStatement } from "../../src/bank/simulated-bank";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { openLedger, type Ledger } from "../../src/ledger/ledger";
import { openLogStore } from "../../src/log/store";
import { openAnchorStore } from "../../src/relayer/anchor-store";
import { relayerMigrations } from "../../src/relayer/migrations";
import { logReaderOf } from "../../src/log/reader";
import { openMirrorAndCustomers } from "../bank/support";

const IBAN = "DE89370400440532013000";
const DAY = "2026-11-30";
const CUTOFF = Date.parse(`${DAY}T17:00:00Z`);

describe("api: the custodian bank's routes", () => {
  let dir: string;
  let db: Database;
  let ledger: Ledger;
  let bank: CustodianBank;
  let server: ApiServer;
  const keys: Record<string, string> = {};
  let now = Date.parse(`${DAY}T09:00:00Z`);

  async function call(
    method: string,
    p: string,
    o: { key?: string; body?: string | object; type?: string } = {},
  ) {
    const headers: Record<string, string> = {};
    if (o.key) headers.authorization = `Bearer ${o.key}`;
    if (o.body !== undefined) headers["content-type"] = o.type ?? "application/json";
    const res = await fetch(`${server.url}${p}`, {
      method,
      headers,
      body: o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body),
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
  }

  async function statementXml(extra = false): Promise<string> {
    const view = await readLedgerDay(db, "bank-eur", "EUR", CUTOFF);
    const s = deriveStatement({
      id: `EUR-${DAY}`,
      account: IBAN,
      currency: "EUR",
      exponent: 2,
      day: DAY,
      opening: 0n,
      openingDate: DAY,
      cutoff: CUTOFF,
      movements: extra
        ? [...view.today, { ...view.today[0], transferId: "x", endToEndId: "E2E-NOT-OURS", amount: 777n }]
        : view.today,
    });
    return writeCamt053([s], { version: "08", messageId: "M1", createdAt: `${DAY}T18:00:00Z` });
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-api-bank-"));
    db = openDatabase(path.join(dir, "ledger.db"));
    await migrate(db, [...apiMigrations, ...relayerMigrations]);
    ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(7), clock: () => now });
    await openMirrorAndCustomers(ledger, IBAN);
    now = Date.parse(`${DAY}T10:00:00Z`);
    await ledger.transfer({
      id: "d1",
      debitAccountId: "bank-eur",
      creditAccountId: "alice",
      amount: 5000n,
      kind: "deposit",
      metadata: { endToEndId: "E2E-1" },
    });
    bank = await openCustodianBank({ db, ledger });
    for (const role of ["platform", "auditor", "custodian"] as const)
      keys[role] = (await createApiKey(db, { role })).key;
    keys.holder = (await createApiKey(db, { role: "holder", accounts: ["alice"] })).key;
    const app = createApiApp({
      ledger,
      log: logReaderOf(await openLogStore(db)),
      anchors: openAnchorStore(db),
      auth: openApiKeyStore(db),
      bank,
      logger: silentLogger,
      options: { rateLimit: false },
    });
    server = await startApiServer(app);
  });
  after(async () => {
    await server.close();
    await ledger.close();
    await closeDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("only the custodian role posts statements; XML and JSON feed; replay 200, conflict 409, bad input 400", async () => {
    const xml = await statementXml(true);
    expect(
      (await call("POST", "/v1/bank/statements", { key: keys.platform, body: xml, type: "application/xml" }))
        .status,
    ).to.equal(403);
    expect(
      (await call("POST", "/v1/bank/statements", { body: xml, type: "application/xml" })).status,
    ).to.equal(401);
    const bad = await call("POST", "/v1/bank/statements", {
      key: keys.custodian,
      body: xml.replace("<Cd>CLBD</Cd>", "<Cd>XXXX</Cd>"),
      type: "application/xml",
    });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal("MALFORMED_STATEMENT");
    expect(bad.body.error.message).to.contain("Document/BkToCstmrStmt/Stmt[0]/Bal");
    const first = await call("POST", "/v1/bank/statements", {
      key: keys.custodian,
      body: xml,
      type: "application/xml",
    });
    expect(first.status).to.equal(201);
    expect(first.body.statements[0]).to.include({ ledgerAccount: "bank-eur", day: DAY });
    const again = await call("POST", "/v1/bank/statements", {
      key: keys.custodian,
      body: xml,
      type: "text/xml",
    });
    expect([again.status, again.body.documentHash]).to.deep.equal([200, first.body.documentHash]);
    const conflict = await call("POST", "/v1/bank/statements", {
      key: keys.custodian,
      body: await statementXml(false),
      type: "application/xml",
    });
    expect([conflict.status, conflict.body.error.code]).to.deep.equal([409, "STATEMENT_CONFLICT"]);
    const json = await call("POST", "/v1/bank/statements", {
      key: keys.custodian,
      body: { version: "custody-bank-statement-v1" },
    });
    expect([json.status, json.body.error.code]).to.deep.equal([400, "MALFORMED_STATEMENT"]);
  });

  it("serves the day's report, the breaks feed, alarms on /v1/ready and /metrics, and resolution by a role", async () => {
    const [rec] = await bank.reconcile(DAY);
    const got = await call("GET", `/v1/reconciliation/${DAY}`, { key: keys.auditor });
    expect(got.status).to.equal(200);
    expect(got.body.reconciliations[0].reportHash).to.equal(rec.reportHash);
    expect(got.body.reconciliations[0].report.version).to.equal("custody-reconciliation-v1");
    expect((await call("GET", "/v1/reconciliation/2026-01-01", { key: keys.auditor })).status).to.equal(404);
    expect((await call("GET", `/v1/reconciliation/${DAY}`, { key: keys.holder })).status).to.equal(403);

    const feed = await call("GET", "/v1/reconciliation/breaks", { key: keys.platform });
    expect(feed.body.breaks.map((b: { class: string }) => b.class)).to.deep.equal(["bank_only"]);
    const ready = await call("GET", "/v1/ready");
    expect(ready.status).to.equal(503);
    expect(ready.body.checks.bank).to.deep.include({
      ok: false,
      openBreaks: { bank_only: 1 },
      segregationShortfall: false,
    });
    const metrics = await call("GET", "/metrics");
    expect(metrics.body).to.match(/custody_bank_open_breaks\{class="bank_only"\} 1/);
    expect(metrics.body).to.match(/custody_bank_segregation_shortfall 0/);

    const id = feed.body.breaks[0].id as string;
    const r = await call("POST", `/v1/reconciliation/breaks/${encodeURIComponent(id)}/resolve`, {
      key: keys.custodian,
      body: { explanation: "Fee credited by the bank in error; reversed on 2 Dec" },
    });
    expect(r.status).to.equal(200);
    expect(r.body.status).to.equal("resolved");
    expect(r.body.resolution.resolvedBy.role).to.equal("custodian");
    expect((await call("GET", "/v1/ready")).body.checks.bank.ok).to.equal(true);
    expect(
      (await call("GET", "/v1/reconciliation/breaks", { key: keys.platform })).body.breaks,
    ).to.deep.equal([]);
  });
});
