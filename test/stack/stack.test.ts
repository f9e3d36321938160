import { silentLogger } from "../../src/logging";
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, parseEscrowAccounts, parseFeeSchedule, resolveConfig } from "../../src/stack/config";
import { startStack, type RunningStack } from "../../src/stack/stack";
import { loadTrustPolicy, verifyPolicyCheckpoint } from "../../src/protocol/trust-policy";
import { stackSummary } from "../../src/stack/summary";
import { startDemo } from "../../src/stack/demo";
import { verifyReceipt } from "../../src/verify/chain";

const quiet = () => {};

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, tries = 240): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function api(s: RunningStack, method: string, p: string, body?: unknown, key = s.apiKeys.platform) {
  const res = await fetch(`${s.apiUrl}/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe("stack: configuration", () => {
  it("layers defaults, config file, environment and flags in that order", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-cfg-"));
    const file = path.join(dir, "c.json");
    fs.writeFileSync(file, JSON.stringify({ apiPort: 9000, anchorBatchSize: 5, apiHost: "0.0.0.0" }));
    const c = resolveConfig(
      { apiPort: "9100" },
      { CUSTODY_ANCHOR_BATCH_SIZE: "7", CUSTODY_DATA_DIR: dir },
      file,
    );
    expect(c.apiPort).to.equal(9100);
    expect(c.anchorBatchSize).to.equal(7);
    expect(c.apiHost).to.equal("0.0.0.0");
    expect(c.dataDir).to.equal(dir);
    expect(c.dbUrl).to.equal(path.join(dir, "ledger.sqlite"));
    expect(c.rpcUrl).to.equal("");
  });

  it("takes the PostgreSQL account cache size from --pg-account-cache / CUSTODY_PG_ACCOUNT_CACHE", () => {
    expect(resolveConfig({}, {}).pgAccountCache).to.equal(100_000);
    expect(resolveConfig({}, { CUSTODY_PG_ACCOUNT_CACHE: "0" }).pgAccountCache).to.equal(0);
    expect(resolveConfig({ pgAccountCache: 500 }, { CUSTODY_PG_ACCOUNT_CACHE: "0" }).pgAccountCache).to.equal(
      500,
    );
    expect(() => resolveConfig({ pgAccountCache: -1 }, {})).to.throw(ConfigError, /pgAccountCache/);
  });

  it("rejects bad values with a named error", () => {
    expect(() => resolveConfig({ apiPort: "eighty" }, {})).to.throw(ConfigError, /apiPort/);
    expect(() => resolveConfig({ apiPort: 70000 }, {})).to.throw(ConfigError, /65535/);
    expect(() => resolveConfig({ anchorBatchSize: 0 }, {})).to.throw(ConfigError, /anchorBatchSize/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-cfg-"));
    const file = path.join(dir, "c.json");
    fs.writeFileSync(file, JSON.stringify({ apiPortt: 1 }));
    expect(() => resolveConfig({}, {}, file)).to.throw(ConfigError, /unknown setting apiPortt/);
    expect(() => parseEscrowAccounts("EUR")).to.throw(ConfigError);
    expect(() => parseFeeSchedule('{"x":{"asset":"EUR","fixed":1.5}}')).to.throw(
      ConfigError,
      /decimal string/,
    );
    expect(parseFeeSchedule('{"x":{"asset":"EUR","fixed":"15","basisPoints":10}}').x).to.deep.equal({
      asset: "EUR",
      fixed: 15n,
      basisPoints: 10,
      min: undefined,
      max: undefined,
    });
  });
});

describe("stack: one process, resumed after a restart", function () {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), "custody-stack-"));
  const dataDir = path.join(parent, "data"); // created by the stack itself
  const config = () =>
    resolveConfig(
      { dataDir, apiPort: 0, chainPort: 0, blockTime: 0, anchorIntervalMs: 200, anchorBatchSize: 1000 },
      {},
    );
  let s: RunningStack | undefined;

  after(async () => {
    await s?.stop();
    fs.rmSync(parent, { recursive: true, force: true });
  });

  /** Every folder under the data folder is 0700 and every file 0600; returns the files seen. */
  function expectPrivate(dir: string): string[] {
    expect(fs.statSync(dir).mode & 0o777, `${dir} mode`).to.equal(0o700);
    const files: string[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) files.push(...expectPrivate(p));
      else if (e.isFile()) {
        expect(fs.statSync(p).mode & 0o777, `${p} mode`).to.equal(0o600);
        files.push(path.relative(dataDir, p));
      }
    }
    return files;
  }

  it("deploys, records transfers, anchors them, and issues receipts that verify against the chain alone", async () => {
    s = await startStack(config(), { logger: silentLogger });
    // Keys are printed by the start that creates them, and only then.
    expect(s.apiKeysCreated).to.equal(true);
    const summary = stackSummary(s);
    expect(summary).to.include(s.apiKeys.platform).and.include(s.apiKeys.auditor);
    const files = expectPrivate(dataDir);
    expect(files).to.include.members(["api-keys.json", "pseudonym.key", "deployment.json", "ledger.sqlite"]);
    const demo = startDemo(s, { tickMs: 20, say: quiet });
    await waitFor("ten demo transfers", async () =>
      (await s!.ledger.eventCount()) >= 25 ? true : undefined,
    );
    await demo.stop();
    const count = await s.ledger.eventCount();
    await waitFor("an anchor covering every entry", async () => {
      const a = await s!.relayer.anchors.latest();
      return a && a.treeSize >= count ? a : undefined;
    });
    // The newest transfer's receipt (the rules engine's facts may follow it in the log).
    const recent = await s.ledger.getEvents(Math.max(0, count - 20), 20);
    const lastTransfer = recent.filter((e) => e.entry.eventType === "TRANSFER_POSTED").at(-1)!;
    const r = await api(s, "GET", `/receipts/${lastTransfer.sequence}`);
    expect(r.status).to.equal(200);
    const verdict = await verifyReceipt(r.body, {
      rpcUrl: s.rpcUrl,
      expectedContract: s.deployment.custodyAnchor,
    });
    expect(verdict.ok, verdict.reason).to.equal(true);

    const page = await fetch(s.webUrl);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.match(/<html/i);
  });

  it("resumes with the same ledger, chain and contracts after a clean stop", async () => {
    const before = await s!.relayer.anchors.latest();
    const events = await s!.ledger.eventCount();
    const deployment = s!.deployment;
    await s!.stop();
    s = undefined;

    s = await startStack(config(), { logger: silentLogger });
    expect(s.deployment).to.deep.equal(deployment);
    expect(s.apiKeysCreated).to.equal(false);
    const summary = stackSummary(s);
    expect(summary).not.to.include(s.apiKeys.platform);
    expect(summary).not.to.include(s.apiKeys.auditor);
    expect(summary).to.include("api-keys.json");
    expectPrivate(dataDir);
    expect(await s.ledger.eventCount()).to.equal(events);
    // The chain kept its heads: the relayer finds the old anchor and audits the log against it.
    await waitFor("the relayer to reconcile", async () =>
      (await s!.relayer.anchors.latest()) ? true : undefined,
    );
    const again = await s.relayer.anchors.byHeadIndex(before!.headIndex);
    expect(again?.rootHash).to.equal(before!.rootHash);
    expect(s.relayer.status().alarm).to.equal(undefined);

    // New entries are anchored on top of the old history (the contract checks consistency).
    const t = await api(s, "POST", "/transfers", {
      id: "after-restart",
      debitAccountId: "alice",
      creditAccountId: "bob",
      amount: "100",
      kind: "transfer",
    });
    expect(t.status).to.equal(201);
    await waitFor("an anchor after the restart", async () => {
      const a = await s!.relayer.anchors.latest();
      return a && a.headIndex > before!.headIndex && a.treeSize > t.body.sequence ? a : undefined;
    });
    const r = await api(s, "GET", `/receipts/${t.body.sequence}`);
    const verdict = await verifyReceipt(r.body, {
      rpcUrl: s.rpcUrl,
      expectedContract: s.deployment.custodyAnchor,
    });
    expect(verdict.ok, verdict.reason).to.equal(true);
  });

  it("signs checkpoints with the 0600 log key of its data folder; its two witnesses cosign them after the restart too", async () => {
    expect(fs.statSync(path.join(dataDir, "log.key")).mode & 0o777).to.equal(0o600);
    const policy = loadTrustPolicy(fs.readFileSync(path.join(dataDir, "trust-policy.json"), "utf8"));
    const latest = (await s!.relayer.anchors.latest())!;
    const v = await waitFor("a checkpoint cosigned by both witnesses", async () => {
      const note = await (await fetch(`${s!.apiUrl}/tlog/checkpoint`)).text();
      try {
        return verifyPolicyCheckpoint(policy, note);
      } catch {
        return undefined;
      }
    });
    expect(v.checkpoint.size).to.be.at.least(latest.treeSize);
    expect(v.witnesses).to.have.length(2);
    const config = await api(s!, "GET", "/config");
    expect(config.body.suggestedTrustPolicy.log.vkey).to.equal(policy.policy.log.vkey);
  });
});
