import { expect } from "chai";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { AuditReport } from "../../src/audit";
import { readHead } from "../../src/chain/actions/read-head";
import { readHeadCount } from "../../src/chain/actions/read-head-count";
import { EXIT_INVALID, EXIT_USAGE, EXIT_VALID } from "../../src/cli/context";
import { runCli } from "../../src/cli/main";
import { type ApiStack, seedLedger, startApiStack } from "../api/support/stack";
import { tempDir } from "./support";

/** `--api` mode: events through GET /v1/audit/events with an auditor key; heads anchored by the real relayer. */
describe("custody audit --api (API, real relayer, anvil)", function () {
  this.timeout(180_000);
  let s: ApiStack;
  let dir: string;

  before(async () => {
    dir = tempDir();
    s = await startApiStack();
    await seedLedger(s);
    await s.anchor();
    for (let i = 0; i < 5; i++) {
      const r = await s.call("POST", "/v1/transfers", {
        key: s.keys.platform,
        body: {
          id: `t${i}`,
          debitAccountId: "alice",
          creditAccountId: "bob",
          amount: String(100 + i),
          kind: "transfer",
        },
      });
      expect(r.status).to.equal(201);
      await s.anchor();
    }
  });

  after(async () => {
    await s?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function audit(key: string) {
    const out = path.join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
    const errs: string[] = [];
    const code = await runCli(
      [
        "audit",
        "--rpc",
        s.chain.node.rpcUrl,
        "--api",
        s.url,
        "--key",
        key,
        "--contract",
        s.chain.deployment.custodyAnchor,
        "--escrow",
        s.chain.deployment.custodyEscrow,
        "--out",
        out,
        "--no-progress",
      ],
      { out: () => {}, err: (e) => errs.push(e) },
    );
    const report = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, "utf8")) as AuditReport) : undefined;
    return { code, report: report!, stderr: errs.join("\n") };
  }

  it("the route serves auditors only", async () => {
    expect((await s.call("GET", "/v1/audit/events?from=0&limit=2", { key: s.keys.auditor })).status).to.equal(
      200,
    );
    expect((await s.call("GET", "/v1/audit/events", { key: s.keys.platform })).status).to.equal(403);
    expect((await s.call("GET", "/v1/audit/events", { key: s.keys.alice })).status).to.equal(403);
    expect((await s.call("GET", "/v1/audit/events")).status).to.equal(401);
    const r = await audit(s.keys.alice);
    expect(r.code).to.equal(EXIT_USAGE);
    expect(r.stderr).to.contain("403");
  });

  it("passes on the untouched ledger, every relayer head verified", async () => {
    const r = await audit(s.keys.auditor);
    expect(r.stderr).to.equal("");
    expect(r.code).to.equal(EXIT_VALID);
    expect(r.report.passed).to.equal(true);
    expect(r.report.source.kind).to.equal("api");
    const heads = await readHeadCount(s.chain.publicClient, s.chain.deployment.custodyAnchor);
    expect(heads).to.be.greaterThan(1);
    expect(r.report.heads).to.include({ count: heads, verified: heads });
    expect(r.report.log.events).to.equal(await s.ledger.eventCount());
  });

  it("an event changed in the database after anchoring: names the head that covers it", async () => {
    const k = (await s.ledger.eventCount()) - 3;
    const sq = s.db.kind === "sqlite" ? s.db.sqlite : undefined;
    sq!.exec("DROP TRIGGER ledger_events_no_update");
    const leaf = Buffer.from(
      sq!.prepare("SELECT leaf FROM ledger_events WHERE sequence = ?").pluck().get(k) as Buffer,
    );
    leaf.writeBigUInt64BE(leaf.readBigUInt64BE(312) + 1n, 312);
    const hash = createHash("sha256")
      .update(Buffer.concat([Buffer.from([0]), leaf]))
      .digest();
    sq!.prepare("UPDATE ledger_events SET leaf = ?, leaf_hash = ? WHERE sequence = ?").run(leaf, hash, k);
    const r = await audit(s.keys.auditor);
    expect(r.code).to.equal(EXIT_INVALID);
    // The first head whose tree covers event k.
    const n = await readHeadCount(s.chain.publicClient, s.chain.deployment.custodyAnchor);
    let covering = -1;
    for (let i = 0; i < n && covering < 0; i++)
      if ((await readHead(s.chain.publicClient, s.chain.deployment.custodyAnchor, i)).treeSize > k)
        covering = i;
    expect(r.report.firstBadHead).to.equal(covering);
    const root = r.report.findings.find((f) => f.check === "head_root")!;
    expect(root.headIndex).to.equal(covering);
    expect(root.message).to.match(/the altered event lies in \[\d+, \d+\)/);
  });
});
