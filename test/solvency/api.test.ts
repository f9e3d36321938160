import { silentLogger } from "../../src/logging";
import { expect } from "chai";
import { Registry } from "prom-client";
import { createApiApp, startApiServer, type ApiServer } from "../../src/api/app";
import { apiMigrations, createApiKey, openApiKeyStore } from "../../src/api/auth/keys";
import { attestReserves } from "../../src/chain/actions/attest-reserves";
import { commitSnapshot } from "../../src/chain/actions/commit-snapshot";
import { migrate } from "../../src/db/migrate";
import { MemoryLogStore } from "../../src/log/memory-store";
import { dayNumberOf, verifyBalanceProofOffline } from "../../src/protocol/balance-proof-v1";
import { SolvencySnapshots, SolvencyWatcher, attestationDocument, documentHashOf } from "../../src/solvency";
import { openSolvencyWorld, type SolvencyWorld } from "./support";
import { logReaderOf } from "../../src/log/reader";

describe("solvency over HTTP: balance proofs, and a shortfall raising the alarm end to end", function () {
  let w: SolvencyWorld;
  let server: ApiServer;
  let snapshots: SolvencySnapshots;
  let watcher: SolvencyWatcher;
  const keys: Record<string, string> = {};

  before(async function () {
    w = await openSolvencyWorld();
    await migrate(w.db, apiMigrations);
    keys.alice = (await createApiKey(w.db, { role: "holder", accounts: ["alice"] })).key;
    keys.auditor = (await createApiKey(w.db, { role: "auditor" })).key;
    keys.platform = (await createApiKey(w.db, { role: "platform" })).key;
    const address = w.chain.deployment.custodySolvency!;
    snapshots = new SolvencySnapshots({
      db: w.db,
      ledger: w.ledger,
      masterSecret: new Uint8Array(32).fill(3),
      minHeight: 3,
      facts: w.ledger,
      commit: (p) => commitSnapshot(w.chain.clientsOf(w.chain.accounts.relayer), { address, ...p }),
      chain: { chainId: w.chain.node.chainId, solvencyContract: address },
    });
    const metrics = new Registry();
    watcher = new SolvencyWatcher({
      db: w.db,
      publicClient: w.chain.clients.publicClient,
      address,
      fromBlock: w.chain.deployment.deploymentBlock,
      facts: w.ledger,
      metrics,
    });
    const app = createApiApp({
      ledger: w.ledger,
      log: logReaderOf(new MemoryLogStore()),
      anchors: {
        latest: async () => undefined,
        list: async () => [],
        covering: async () => undefined,
        byHeadIndex: async () => undefined,
      },
      auth: openApiKeyStore(w.db, { cacheTtlMs: 0 }),
      solvency: snapshots,
      solvencyStatus: watcher,
      metrics,
      logger: silentLogger,
      options: { rateLimit: false },
    });
    server = await startApiServer(app, { host: "127.0.0.1", port: 0 });
    await snapshots.take({ asset: "EUR", day: "2026-12-01", logSize: await w.anchorLog() });
  });
  after(async function () {
    await server?.close();
    await w?.close();
  });

  const get = async (path: string, key?: string) => {
    const res = await fetch(server.url + path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const text = await res.text();
    return {
      status: res.status,
      text,
      body: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    };
  };

  it("GET /v1/accounts/{id}/balance-proof gives the holder its own proof", async function () {
    const r = await get("/v1/accounts/alice/balance-proof?snapshot=liabilities:EUR:2026-12-01", keys.alice);
    expect(r.status).to.equal(200);
    expect(r.body).to.include({ version: "custody-balance-proof-v1" });
    expect((r.body as { leaf: { balance: string } }).leaf.balance).to.equal("8900");
    expect(verifyBalanceProofOffline(r.body).verdict.ok).to.equal(true);
    expect((await get("/v1/accounts/alice/balance-proof", keys.alice)).status).to.equal(200);
  });

  it("never gives a holder another customer's proof, and answers unknown snapshots with 404", async function () {
    const other = await get("/v1/accounts/bob/balance-proof", keys.alice);
    expect(other.status).to.equal(404);
    expect(other.text).to.not.contain("salt");
    expect(
      (await get("/v1/accounts/alice/balance-proof?snapshot=liabilities:EUR:1999-01-01", keys.alice)).status,
    ).to.equal(404);
    expect((await get("/v1/accounts/alice/balance-proof", keys.platform)).status).to.equal(403);
    expect((await get("/v1/accounts/alice/balance-proof")).status).to.equal(401);
    expect((await get("/v1/accounts/bob/balance-proof", keys.auditor)).status).to.equal(200);
  });

  it("a bank attestation below liabilities → ReservesShortfall on chain → /v1/ready 503 and the metric", async function () {
    expect((await watcher.poll()).ok).to.equal(true);
    expect((await get("/v1/ready")).status).to.equal(200);
    const statementHash = `0x${"5e".repeat(32)}` as const;
    await attestReserves(w.chain.clientsOf(w.chain.accounts.custodian), {
      address: w.chain.deployment.custodySolvency!,
      asset: "EUR",
      dayNumber: dayNumberOf("2026-12-01"),
      reserves: 12_000n,
      statementHash,
    });
    const status = await watcher.poll();
    expect(status.ok).to.equal(false);
    expect(status.shortfalls).to.deep.include({
      asset: "EUR",
      day: "2026-12-01",
      reserves: 12_000n,
      liabilities: 12_400n,
      txHash: status.shortfalls[0]!.txHash,
    });
    const ready = await get("/v1/ready");
    expect(ready.status).to.equal(503);
    const check = (ready.body as { checks: { solvency: { ok: boolean; message: string } } }).checks.solvency;
    expect(check.ok).to.equal(false);
    expect(check.message).to.contain("EUR 2026-12-01 (12000 < 12400)");
    const metrics = await get("/metrics");
    expect(metrics.text).to.match(/custody_reserves_shortfall\{asset="EUR",day="2026-12-01"\} 1/);
    // The attestation seen on chain is a RESERVES_ATTESTED fact whose hash covers the stored attestation.
    const fact = await w.ledger.getFact("reserves:EUR:2026-12-01");
    expect(fact.kind).to.equal("RESERVES_ATTESTED");
    expect(fact.amount).to.equal(12_000n);
    const row =
      w.db.kind === "sqlite"
        ? (w.db.sqlite.prepare("SELECT * FROM solvency_attestations").get() as Record<string, string>)
        : {};
    expect(
      documentHashOf(
        attestationDocument({
          asset: row.asset!,
          day: row.day!,
          reserves: BigInt(row.reserves!),
          statementHash: row.statement_hash as `0x${string}`,
          custodian: row.custodian as `0x${string}`,
          txHash: row.tx_hash as `0x${string}`,
        }),
      ),
    ).to.equal(fact.documentHash);
    // Polling again (or a restarted watcher rescanning) records nothing twice.
    await watcher.poll();
    expect((await w.ledger.listFacts({ kind: "RESERVES_ATTESTED" })).length).to.equal(1);
  });
});
